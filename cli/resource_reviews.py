"""`paved resources approve|reject|update|report`, through /graphql: the verbs of `resources`
on Typer (`list`, `request` and `delete` are still the argparse parser's, `cli/resources.py`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Api
from cli.catalog_common import ResourceState, given, json_value, mutate, mutation, pairs, sub_app
from cli.framework import ApiUrlOption, ClientCall, JsonOption, usage_error
from cli.output import show_fields

REVIEWED_FIELDS = """
  id name state statusMessage version parameters outputs secretRefs { name key store }
  class { slug } service { slug } environment { slug }
"""

APPROVE_RESOURCE = mutation("approveResource", f"resource {{ {REVIEWED_FIELDS} }}")
REJECT_RESOURCE = mutation("rejectResource", f"resource {{ {REVIEWED_FIELDS} }}")
UPDATE_RESOURCE = mutation("updateResource", f"resource {{ {REVIEWED_FIELDS} }}")
REPORT_RESOURCE_STATUS = mutation("reportResourceStatus", f"resource {{ {REVIEWED_FIELDS} }}")

VERBS = frozenset({"approve", "reject", "update", "report"})
"""The verbs of `paved resources` this module has (`cli.main` routes them here)."""

app = sub_app("resources", "Self-service infrastructure: approve, reject, update, report.")

ResourceId = Annotated[str, typer.Argument(metavar="ID", help="the resource's id")]
Comment = Annotated[str | None, typer.Option("--comment", metavar="TEXT")]


def _show(resource: dict[str, Any]) -> None:
    show_fields(
        [
            ("id", resource["id"]),
            ("resource", f"{resource['service']['slug']}/{resource['name']}"),
            ("class", resource["class"]["slug"]),
            ("environment", resource["environment"]["slug"]),
            ("state", resource["state"]),
            ("status", resource["statusMessage"]),
            ("version", resource["version"]),
        ]
    )


def _run(
    document: str, field: str, input_: dict[str, Any], json: bool, api_url: str | None
) -> ClientCall:
    async def work(api: Api) -> int:
        payload = await mutate(api, document, field, input_, json=json)
        if not json:
            _show(payload["resource"])
        return 0

    return ClientCall(work, api_url)


@app.command(epilog="Example: paved resources approve UmVzb3VyY2U6Nw --comment 'sized right'")
def approve(
    resource: ResourceId, comment: Comment = None, json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:  # fmt: skip
    """Approve a resource waiting for approval."""
    input_ = given(resource=resource, comment=comment)
    return _run(APPROVE_RESOURCE, "approveResource", input_, json, api_url)


@app.command(epilog="Example: paved resources reject UmVzb3VyY2U6Nw --comment 'too large'")
def reject(
    resource: ResourceId, comment: Comment = None, json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:  # fmt: skip
    """Reject a resource waiting for approval."""
    input_ = given(resource=resource, comment=comment)
    return _run(REJECT_RESOURCE, "rejectResource", input_, json, api_url)


@app.command(epilog="Example: paved resources update UmVzb3VyY2U6Nw --param size=L")
def update(
    resource: ResourceId,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", metavar="KEY=VALUE", help="a parameter (JSON when it parses); repeat"
        ),
    ] = None,
    parameters: Annotated[
        str | None,
        typer.Option("--parameters", metavar="JSON", help="all the parameters, or @FILE"),
    ] = None,
    expected_version: Annotated[
        int | None,
        typer.Option("--expected-version", metavar="N", help="refuse (CONFLICT) unless at N"),
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Change a resource's parameters (the new whole set)."""
    from cli.raw_query import variable_value

    if (param is None) == (parameters is None):
        raise usage_error("give the parameters: --param KEY=VALUE... or --parameters JSON")
    values = (
        json_value(parameters, "--parameters")
        if parameters is not None
        else {key: variable_value(value) for key, value in pairs(param, "--param") or ()}
    )
    input_ = given(resource=resource, parameters=values, expectedVersion=expected_version)
    return _run(UPDATE_RESOURCE, "updateResource", input_, json, api_url)


@app.command(
    epilog="Example: paved resources report UmVzb3VyY2U6Nw --state ready"
    " --output host=db.internal --secret-ref password=vault:db/pass"
)
def report(
    resource: ResourceId,
    state: Annotated[ResourceState, typer.Option("--state", case_sensitive=False)],
    message: Annotated[str | None, typer.Option("--message", metavar="TEXT")] = None,
    output: Annotated[
        list[str] | None,
        typer.Option("--output", metavar="KEY=VALUE", help="an output (JSON when it parses)"),
    ] = None,
    secret_ref: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-ref", metavar="NAME=STORE:KEY", help="where a secret is kept; repeat"
        ),
    ] = None,
    json: JsonOption = False,
    api_url: ApiUrlOption = None,
) -> ClientCall:
    """Report a resource's new state (what a provider's API client tells)."""
    from cli.raw_query import variable_value

    outputs = pairs(output, "--output")
    refs = []
    for name, where in pairs(secret_ref, "--secret-ref") or ():
        store, _, key = where.partition(":")
        if not store:
            raise usage_error(f"--secret-ref: expected NAME=STORE[:KEY], not {name}={where}")
        refs.append(given(name=name, store=store, key=key or None))
    input_ = given(
        resource=resource,
        state=state.value,
        message=message,
        outputs=None if outputs is None else {k: variable_value(v) for k, v in outputs},
        secretRefs=refs if secret_ref is not None else None,
    )
    return _run(REPORT_RESOURCE_STATUS, "reportResourceStatus", input_, json, api_url)


def register(root: typer.Typer) -> None:
    root.add_typer(app)
