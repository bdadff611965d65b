"""The systems a run can compare: Paved Road and its peer, PostGraphile 5."""

from __future__ import annotations

PAVED = "paved"
POSTGRAPHILE = "postgraphile"
SYSTEMS = (PAVED, POSTGRAPHILE)
LABELS = {PAVED: "Paved Road", POSTGRAPHILE: "PostGraphile"}


def parse_systems(text: str) -> tuple[str, ...]:
    """`paved,postgraphile` -> the known systems named, in the canonical order."""
    named = {part.strip() for part in text.split(",") if part.strip()}
    unknown = named - set(SYSTEMS)
    if unknown or not named:
        known = ", ".join(SYSTEMS)
        raise ValueError(f"unknown systems {sorted(unknown)}; choose from {known}")
    return tuple(system for system in SYSTEMS if system in named)
