"""`paved query FILE_OR_- [--var key=value ...]`: any GraphQL document, its data as JSON."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer

from cli.api_client import Api
from cli.catalog_common import pairs
from cli.framework import ApiUrlOption, ClientCall, print_json, usage_error

MAX_DOCUMENT_BYTES = 1_000_000


def variable_value(text: str) -> Any:
    """A `--var` value: its JSON value when it parses as JSON (`3`, `true`, `null`,
    `["a"]`, `{"k": 1}`, `"quoted"`), else the text itself."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _document(source: str) -> str:
    try:
        if source == "-":
            raw = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        else:
            with open(source, "rb") as file:
                raw = file.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise usage_error(f"cannot read {source}: {error.strerror or error}") from None
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise usage_error(f"{source}: a document of more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise usage_error(f"{source}: not UTF-8 text") from None
    if not text.strip():
        raise usage_error(f"{source}: an empty document")
    return text


def register(root: typer.Typer) -> None:
    root.command(
        "query",
        epilog="Example: echo 'query($s: String!) { service(slug: $s) { name } }'"
        " | paved query - --var s=payments-api",
    )(query)


def query(
    source: Annotated[
        str, typer.Argument(metavar="FILE_OR_-", help="the document's file, or - for stdin")
    ],
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="KEY=VALUE",
            help="a variable: JSON when the value parses as JSON, else a string; repeat",
        ),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="accepted: the data is printed as JSON anyway")
    ] = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Send any GraphQL document (query or mutation) and print its data as JSON."""
    variables = {key: variable_value(value) for key, value in pairs(var, "--var") or ()}
    document = _document(source)

    async def work(api: Api) -> int:
        print_json(await api(document, **variables))
        return 0

    return ClientCall(work, api_url)
