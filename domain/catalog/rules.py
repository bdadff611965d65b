"""Catalog rules that need no database: checked by the store before it writes."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.catalog.changes import OwnerAssignment
from domain.catalog.records import OwnershipRole
from domain.errors import ValidationFailed

SLUG_PATTERN = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
"""Slugs and handles: 1-63 lowercase letters, digits or hyphens, not starting or ending with a
hyphen (a DNS label, so they fit in hostnames and Kubernetes names)."""
SLUG = re.compile(SLUG_PATTERN)

MAX_TAGS_PER_SERVICE = 50
MAX_LINKS_PER_SERVICE = 50
MAX_OWNERS_PER_SERVICE = 50


def check_owner_assignments(owners: Sequence[OwnerAssignment]) -> None:
    """A service has exactly one PRIMARY owner team, and names each team once."""
    seen: set[str] = set()
    for index, owner in enumerate(owners):
        if owner.team in seen:
            raise ValidationFailed(
                f"team '{owner.team}' is listed more than once",
                ["input", "owners", str(index), "team"],
            )
        seen.add(owner.team)
    primaries = sum(1 for owner in owners if owner.role is OwnershipRole.PRIMARY)
    if primaries != 1:
        raise ValidationFailed(
            f"a service needs exactly one PRIMARY owner team, got {primaries}", ["input", "owners"]
        )


def check_not_self_dependency(service: str, depends_on: str) -> None:
    if service == depends_on:
        raise ValidationFailed(
            f"service '{service}' cannot depend on itself", ["input", "dependsOn"]
        )


def check_no_team_cycle(team_id: int, team_slug: str, new_parent_ancestry: Sequence[int]) -> None:
    """`new_parent_ancestry` is the proposed parent followed by its ancestors."""
    if team_id in new_parent_ancestry:
        raise ValidationFailed(
            f"team '{team_slug}' cannot be placed under itself or one of its sub-teams",
            ["input", "parent"],
        )


def describe_names(names: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    more = len(names) - limit
    return f"{shown} and {more} more" if more > 0 else shown
