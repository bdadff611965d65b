"""The systems a run can compare: Paved Road, its peer PostGraphile 5, and the floor (one
hand-written SQL statement per request, no GraphQL: `bench.floor`)."""

from __future__ import annotations

PAVED = "paved"
POSTGRAPHILE = "postgraphile"
FLOOR = "floor"
SYSTEMS = (PAVED, POSTGRAPHILE, FLOOR)
LABELS = {PAVED: "Paved Road", POSTGRAPHILE: "PostGraphile", FLOOR: "floor (hand-written SQL)"}
# The floor answers the bodies Paved Road gets, with Paved Road's JSON.
SHAPE_OF = {FLOOR: PAVED}


def parse_systems(text: str) -> tuple[str, ...]:
    """`paved,postgraphile,floor` -> the known systems named, in the canonical order."""
    named = {part.strip() for part in text.split(",") if part.strip()}
    unknown = named - set(SYSTEMS)
    if unknown or not named:
        known = ", ".join(SYSTEMS)
        raise ValueError(f"unknown systems {sorted(unknown)}; choose from {known}")
    return tuple(system for system in SYSTEMS if system in named)
