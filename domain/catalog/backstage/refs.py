"""Backstage entity references: `[kind:][namespace/]name`, compared without regard to case,
the kind defaulting by the field that holds the reference and the namespace to `default`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_NAMESPACE = "default"


class RefError(ValueError):
    """A reference that is no reference (empty, not text, a kind missing where one is needed)."""


@dataclass(frozen=True, slots=True)
class EntityRef:
    """Kind, namespace and name as written; equal (and hashed) by their lower-case forms."""

    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.lower(), self.namespace.lower(), self.name.lower())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EntityRef) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        """Backstage's `stringifyEntityRef`: `kind:namespace/name`, the kind lower case."""
        return f"{self.kind.lower()}:{self.namespace}/{self.name}"


def parse_ref(
    value: Any, default_kind: str | None, default_namespace: str = DEFAULT_NAMESPACE
) -> EntityRef:
    """`value` (a string, or a `{kind, namespace, name}` mapping) as a reference; the kind is
    `default_kind` when not written (a `RefError` when there is neither)."""
    if isinstance(value, dict):
        name = value.get("name")
        if not isinstance(name, str) or not name:
            raise RefError("a reference needs a name")
        written = value.get("kind") or default_kind
        return _ref(written, value.get("namespace") or default_namespace, name)
    if not isinstance(value, str) or not value.strip():
        raise RefError("a reference must be a non-empty string")
    text = value.strip()
    kind: str | None = default_kind
    namespace = default_namespace
    colon = text.find(":")
    if colon != -1:
        kind, text = text[:colon], text[colon + 1 :]
    slash = text.find("/")
    if slash != -1:
        namespace, text = text[:slash], text[slash + 1 :]
    if not text or not namespace:
        raise RefError(f"'{value}' is not an entity reference")
    return _ref(kind, namespace, text)


def _ref(kind: Any, namespace: Any, name: str) -> EntityRef:
    if not isinstance(kind, str) or not kind:
        raise RefError(f"the reference '{name}' needs a kind (such as `component:{name}`)")
    if not isinstance(namespace, str):
        raise RefError("a reference's namespace must be a string")
    return EntityRef(kind, namespace, name)
