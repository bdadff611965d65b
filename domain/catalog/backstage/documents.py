"""YAML files as Backstage entities, each document parsed on its own: one that does not parse
fails alone (with its line), the others of its file still count.

Hostile YAML is refused per document as it is read: aliases (`*name`, the billion-laughs
expansion), nesting deeper than `MAX_DEPTH`, more than `MAX_NODES` nodes, tags other than
YAML's own (`!!python/...`). Only plain data is built, from libyaml's parser events, in one
pass and without recursion."""

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


class _Refused(Exception):
    def __init__(self, reason: str, event: yaml.Event) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = event.start_mark.line if event.start_mark is not None else 0


_RESOLVER = yaml.resolver.Resolver()
_SCALAR_TAGS = "tag:yaml.org,2002:"
_MAP, _SEQ = f"{_SCALAR_TAGS}map", f"{_SCALAR_TAGS}seq"
_BOOLEANS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


def _scalar(event: yaml.ScalarEvent) -> Any:
    """A scalar as plain data: text, numbers, booleans, null; timestamps stay text."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = str(_RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit))  # type: ignore[no-untyped-call]
    if not tag.startswith(_SCALAR_TAGS):
        raise _Refused(f"the tag {event.tag} is not accepted", event)
    kind, value = tag.removeprefix(_SCALAR_TAGS), event.value
    if kind == "null":
        return None
    if kind == "bool":
        return _BOOLEANS.get(value.lower(), value)
    if kind in ("int", "float"):
        try:
            number = value.replace("_", "")
            return int(number, 0) if kind == "int" else float(number)
        except ValueError:
            return value
    if kind in ("str", "timestamp", "binary"):
        return value
    raise _Refused(f"the tag {event.tag} is not accepted", event)


def _built(text: str) -> Any:
    """The one document of `text` as plain data, built from the parser's events without
    recursion (so no nesting can exhaust a stack); aliases, tags other than YAML's own, keys
    that are not scalars, too deep or too many nodes refused on the way."""
    stack: list[tuple[Any, Any]] = []
    """Open collections: (the dict or list, the key awaiting its value, for a dict)."""
    pending_key: list[Any] = []
    document: Any = None
    documents = nodes = 0

    def add(value: Any, event: yaml.Event) -> None:
        nonlocal document
        if not stack:
            document = value
            return
        container, _ = stack[-1]
        if isinstance(container, list):
            container.append(value)
        elif pending_key[-1] is _NO_KEY:
            if isinstance(value, dict | list):
                raise _Refused("only scalars may be mapping keys", event)
            pending_key[-1] = value
        else:
            container[pending_key[-1]] = value
            pending_key[-1] = _NO_KEY

    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_NODES:
                raise _Refused(f"more than {MAX_NODES} YAML nodes", event)
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(f"YAML aliases (*{event.anchor}) are not accepted", event)
        if isinstance(event, yaml.ScalarEvent):
            add(_scalar(event), event)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event)
            if event.tag not in (None, "!", _MAP, _SEQ):
                raise _Refused(f"the tag {event.tag} is not accepted", event)
            container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
            stack.append((container, None))
            pending_key.append(_NO_KEY)
        elif isinstance(event, yaml.CollectionEndEvent):
            container, _ = stack.pop()
            pending_key.pop()
            add(container, event)
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Refused("more than one document", event)
    return document


_NO_KEY = object()


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
            data = _built(chunk)
        except _Refused as refused:
            where = f"{refused.reason} (line {start + refused.line + 1})"
            documents.append(Document(file, index, start + 1, problem=where))
            continue
        except yaml.MarkedYAMLError as error:
            problem = _described(error.problem, error.problem_mark, start)
            context = _described(error.context, error.context_mark, start)
            what = ", ".join(part for part in (problem, context) if part) or "invalid YAML"
            documents.append(Document(file, index, start + 1, problem=what))
            continue
        except (yaml.YAMLError, ValueError, TypeError) as error:
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
