"""YAML files as Backstage entities, each document parsed on its own: one that does not parse
fails alone (with its line), the others of its file still count.

Hostile YAML is refused per document before it is built: aliases (`*name`, the billion-laughs
expansion), nesting deeper than `MAX_DEPTH`, more than `MAX_NODES` nodes. Only plain data is
built (`yaml.CSafeLoader`/`SafeLoader`: no Python objects)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 32
"""Mappings and sequences nested in one document; entities need a handful."""
MAX_NODES = 100_000
"""Scalars, mappings and sequences in one document (an inline API definition is one scalar)."""

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of a file: `index` counts from 1 among the file's non-empty
    documents, `line` is where it starts in the file (1-based)."""

    file: str
    index: int
    line: int
    data: Any = None
    problem: str | None = None
    """Why it could not be read (with the file's line), when it could not."""

    @property
    def location(self) -> str:
        return f"{self.file}#{self.index}"


def split(text: str) -> Iterator[tuple[int, str]]:
    """The documents of a YAML stream as (first line, 0-based; text), cut at `---`/`...` lines;
    a `---` line's own content (`--- !tag`, `--- |`) stays with the document it opens."""
    lines = text.splitlines(keepends=True)
    start, chunk = 0, []
    for number, line in enumerate(lines):
        marker = _SEPARATOR.match(line)
        if marker is None:
            chunk.append(line)
            continue
        yield start, "".join(chunk)
        if marker.group(1) == "---":
            start, chunk = number, [line]
        else:
            start, chunk = number + 1, []
    yield start, "".join(chunk)


def _line(event: yaml.Event) -> int:
    return event.start_mark.line if event.start_mark is not None else 0


def _refusal(text: str) -> tuple[str, int] | None:
    """Why `text` is refused before it is built (and the 0-based line), if it is."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            return f"YAML aliases (*{event.anchor}) are not accepted", _line(event)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH} levels", _line(event)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                return f"more than {MAX_NODES} YAML nodes", _line(event)
    return None


def _described(what: str | None, mark: Any, start: int) -> str | None:
    """A parser's message with the file's line it points at."""
    if not what:
        return None
    return f"{what} (line {start + mark.line + 1})" if mark is not None else what


def read(file: str, text: str) -> list[Document]:
    """Every non-empty document of `file`, each parsed or with the reason it was not."""
    documents: list[Document] = []
    for start, chunk in split(text):
        if not chunk.strip():
            continue
        index = len(documents) + 1
        try:
            refused = _refusal(chunk)
            if refused is not None:
                reason, line = refused
                documents.append(
                    Document(file, index, start + 1, problem=f"{reason} (line {start + line + 1})")
                )
                continue
            data = yaml.load(chunk, Loader=_LOADER)  # noqa: S506 (a safe loader)
        except yaml.MarkedYAMLError as error:
            problem = _described(error.problem, error.problem_mark, start)
            context = _described(error.context, error.context_mark, start)
            what = ", ".join(part for part in (problem, context) if part) or "invalid YAML"
            documents.append(Document(file, index, start + 1, problem=what))
            continue
        except (yaml.YAMLError, RecursionError, ValueError) as error:
            reason = type(error).__name__
            documents.append(
                Document(
                    file, index, start + 1, problem=f"invalid YAML: {reason} (line {start + 1})"
                )
            )
            continue
        if data is None:
            continue
        documents.append(Document(file, index, start + 1, data=data))
    return documents
