"""Both systems must answer each query with the same data before either is measured.

Responses are mapped to one plain structure: PostGraphile's field names are renamed to Paved
Road's (`allServices` -> `services`, `ownersList` -> `owners`, ...), and global ids, which
each system encodes its own way, are only required to be non-empty strings. Where renaming is
not enough (the release matrix), the query reshapes each system's answer first
(`BenchQuery.reshape`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bench.systems import LABELS, POSTGRAPHILE

_RENAMES: Mapping[str, Mapping[str, str]] = {
    POSTGRAPHILE: {
        "serviceBySlug": "service",
        "allServices": "services",
        "ownersList": "owners",
        "dependsOnList": "dependsOn",
    },
}

ID_FIELD = "id"
ID_PLACEHOLDER = "<non-empty id>"


class EquivalenceError(RuntimeError):
    pass


def normalize(system: str, value: Any, path: str = "data") -> Any:
    """`value` with the system's field names mapped to the common ones and ids checked and
    replaced by a placeholder."""
    renames = _RENAMES.get(system, {})
    if isinstance(value, dict):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            name = renames.get(key, key)
            if name == ID_FIELD:
                if not isinstance(item, str) or not item:
                    raise EquivalenceError(
                        f"{LABELS[system]}: {path}.{key} is not a non-empty id: {item!r}"
                    )
                plain[name] = ID_PLACEHOLDER
            else:
                plain[name] = normalize(system, item, f"{path}.{name}")
        return plain
    if isinstance(value, list):
        return [normalize(system, item, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def first_difference(left: Any, right: Any, path: str = "data") -> str | None:
    """Where two normalized structures first differ, or None when they are equal."""
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            return f"{path}: keys {sorted(left)} != {sorted(right)}"
        for key in left:
            found = first_difference(left[key], right[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{path}: {len(left)} items != {len(right)} items"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    if left != right or type(left) is not type(right):
        return f"{path}: {json.dumps(left)[:200]} != {json.dumps(right)[:200]}"
    return None


def require_equivalent(title: str, answers: Mapping[str, Any]) -> int:
    """Raise unless every system's normalized answer equals the first one's; returns the
    number of items compared at the top level (nodes of a page, or 1)."""
    normalized = {system: normalize(system, data) for system, data in answers.items()}
    (reference, expected), *others = normalized.items()
    for system, actual in others:
        difference = first_difference(expected, actual)
        if difference:
            raise EquivalenceError(
                f"{title}: {LABELS[reference]} and {LABELS[system]} answer differently "
                f"(normalized): {difference}"
            )
    root = next(iter(expected.values()), None)
    if isinstance(root, dict) and isinstance(root.get("nodes"), list):
        return len(root["nodes"])
    return 1
