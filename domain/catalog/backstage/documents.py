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


class _Refused(Exception):
    def __init__(self, reason: str, event: yaml.Event) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = event.start_mark.line if event.start_mark is not None else 0


_RESOLVER = yaml.resolver.Resolver()
_SCALAR_TAGS = "tag:yaml.org,2002:"
_MAP, _SEQ = f"{_SCALAR_TAGS}map", f"{_SCALAR_TAGS}seq"
_BOOLEANS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_NO_KEY = object()


def _scalar(event: yaml.ScalarEvent) -> Any:
    """A scalar as plain data: text, numbers, booleans, null; timestamps stay text."""
    tag = event.tag
    if tag is None or tag == "!":
        if not event.implicit[0]:
            return event.value  # quoted: text
        tag = str(_RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit))  # type: ignore[no-untyped-call]
    if not tag.startswith(_SCALAR_TAGS):
        raise _Refused(f"the tag {event.tag} is not accepted", event)
    kind, value = tag.removeprefix(_SCALAR_TAGS), event.value
    if kind == "str":
        return value
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
    if kind in ("timestamp", "binary"):
        return value
    raise _Refused(f"the tag {event.tag} is not accepted", event)


class _Builder:
    """Plain data from the parser's events, one document after the other, without recursion
    (so no nesting can exhaust a stack); aliases, tags other than YAML's own, keys that are
    not scalars, too deep or too many nodes refused on the way (that document only)."""

    def __init__(self) -> None:
        self.documents: list[tuple[int, Any]] = []
        """(0-based line of the document's start, its data or why it was refused)."""
        self._begin(0)

    def _begin(self, line: int) -> None:
        self.line = line
        self.stack: list[Any] = []
        self.keys: list[Any] = []
        self.document: Any = None
        self.nodes = 0
        self.refused: _Refused | None = None

    def _add(self, value: Any, event: yaml.Event) -> None:
        if not self.stack:
            self.document = value
            return
        container = self.stack[-1]
        if type(container) is list:
            container.append(value)
        elif self.keys[-1] is _NO_KEY:
            if isinstance(value, dict | list):
                raise _Refused("only scalars may be mapping keys", event)
            self.keys[-1] = value
        else:
            container[self.keys[-1]] = value
            self.keys[-1] = _NO_KEY

    def feed(self, event: yaml.Event) -> None:
        kind = type(event)
        if kind is yaml.DocumentStartEvent:
            self._begin(event.start_mark.line if event.start_mark is not None else 0)
            return
        if kind is yaml.DocumentEndEvent:
            self.documents.append((self.line, self.refused or self.document))
            return
        if self.refused is not None or kind in (yaml.StreamStartEvent, yaml.StreamEndEvent):
            return
        try:
            self._node(event, kind)
        except _Refused as refused:
            self.refused = refused

    def _node(self, event: yaml.Event, kind: type) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} YAML nodes", event)
        if kind is yaml.ScalarEvent:
            self._add(_scalar(event), event)  # type: ignore[arg-type]
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if len(self.stack) >= MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", event)
            tag = event.tag  # type: ignore[attr-defined]
            if tag not in (None, "!", _MAP, _SEQ):
                raise _Refused(f"the tag {tag} is not accepted", event)
            self.stack.append({} if kind is yaml.MappingStartEvent else [])
            self.keys.append(_NO_KEY)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self.nodes -= 1
            self.keys.pop()
            self._add(self.stack.pop(), event)
        elif kind is yaml.AliasEvent:
            raise _Refused(f"YAML aliases (*{event.anchor}) are not accepted", event)  # type: ignore[attr-defined]


def _built(text: str) -> list[tuple[int, Any]]:
    builder = _Builder()
    for event in yaml.parse(text, Loader=_LOADER):
        builder.feed(event)
    return builder.documents


def _described(what: str | None, mark: Any, start: int) -> str | None:
    """A parser's message with the file's line it points at."""
    if not what:
        return None
    return f"{what} (line {start + mark.line + 1})" if mark is not None else what


def read(file: str, text: str) -> list[Document]:
    """Every non-empty document of `file`, each parsed or with the reason it was not: the
    whole file in one pass when it parses, else document by document (cut at `---` lines), so
    that one that does not parse fails alone."""
    try:
        return _numbered(file, _built(text))
    except (yaml.YAMLError, ValueError, TypeError):
        pass
    documents: list[Document] = []
    for start, chunk in split(text):
        if not chunk.strip():
            continue
        index = len(documents) + 1
        try:
            found = _built(chunk)
        except yaml.MarkedYAMLError as error:
            problem = _described(error.problem, error.problem_mark, start)
            context = _described(error.context, error.context_mark, start)
            what = ", ".join(part for part in (problem, context) if part) or "invalid YAML"
            documents.append(Document(file, index, start + 1, problem=what))
            continue
        except (yaml.YAMLError, ValueError, TypeError) as error:
            what = f"invalid YAML: {type(error).__name__} (line {start + 1})"
            documents.append(Document(file, index, start + 1, problem=what))
            continue
        for line, data in found:
            documents += _numbered(
                file, [(start + line, data)], first=len(documents) + 1, start=start
            )
    return documents


def _numbered(
    file: str, found: list[tuple[int, Any]], first: int = 1, start: int = 0
) -> list[Document]:
    """`found` documents (0-based line, data or refusal) numbered from `first`, the empty
    ones left out; a refusal's line counted from `start`."""
    documents: list[Document] = []
    for line, data in found:
        index = first + len(documents)
        if isinstance(data, _Refused):
            where = f"{data.reason} (line {start + data.line + 1})"
            documents.append(Document(file, index, line + 1, problem=where))
        elif data is not None:
            documents.append(Document(file, index, line + 1, data=data))
    return documents
