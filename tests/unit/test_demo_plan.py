"""The demo organisation and its deployment history as planned: valid, consistent data, before
any database sees it."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from demo.acme import (
    CONTRIBUTORS,
    DEPENDENCIES,
    ENVIRONMENTS,
    MEMBERSHIPS,
    SERVICES,
    TEAMS,
    USERS,
)
from demo.history import PIPELINE, DemoCatalog, plan_history
from domain.deployments.model import Requester

SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def test_slugs_handles_and_sizes_are_valid() -> None:
    slugs = [t.slug for t in TEAMS] + [s.slug for s in SERVICES] + [e.slug for e in ENVIRONMENTS]
    slugs += [u.handle for u in USERS]
    assert all(SLUG.fullmatch(slug) for slug in slugs), [s for s in slugs if not SLUG.fullmatch(s)]
    names = [t.name for t in TEAMS] + [s.name for s in SERVICES] + [u.name for u in USERS]
    assert all(0 < len(name) <= 200 for name in names)
    for service in SERVICES:
        assert service.tier is None or 1 <= service.tier <= 4
        assert len(service.tags) <= 50
        assert len(set(service.tags)) == len(service.tags)
        assert all(0 < len(tag) <= 63 for tag in service.tags)
        assert all(link.url.startswith("https://") for link in service.links)
        assert service.repository_url is None or service.repository_url.startswith("https://")


def test_keys_are_unique() -> None:
    for keys in (
        [t.slug for t in TEAMS],
        [u.handle for u in USERS],
        [u.email.lower() for u in USERS],
        [s.slug for s in SERVICES],
        [e.slug for e in ENVIRONMENTS],
    ):
        assert len(set(keys)) == len(keys)


def test_references_resolve() -> None:
    teams = {t.slug for t in TEAMS}
    services = {s.slug for s in SERVICES}
    seen: set[str] = set()
    for team in TEAMS:  # parents come first, so they exist when a sub-team is created
        assert team.parent is None or team.parent in seen
        seen.add(team.slug)
    assert set(MEMBERSHIPS) == {u.handle for u in USERS}
    for member_of in MEMBERSHIPS.values():
        assert 1 <= len(member_of) <= 2
        assert len(set(member_of)) == len(member_of)
        assert set(member_of) <= teams
    owners = {s.slug: s.owner for s in SERVICES}
    assert set(owners.values()) <= teams
    for slug, contributors in CONTRIBUTORS.items():
        assert slug in services
        assert set(contributors) <= teams
        assert owners[slug] not in contributors
        assert len(set(contributors)) == len(contributors)
    for slug, targets in DEPENDENCIES.items():
        assert slug in services
        assert set(targets) <= services
        assert slug not in targets
        assert len(set(targets)) == len(targets)


def test_dependency_graph_is_acyclic() -> None:
    done: set[str] = set()

    def visit(slug: str, path: tuple[str, ...]) -> None:
        assert slug not in path, f"cycle: {' -> '.join((*path, slug))}"
        if slug in done:
            return
        for target in DEPENDENCIES.get(slug, ()):
            visit(target, (*path, slug))
        done.add(slug)

    for service in SERVICES:
        visit(service.slug, ())


def test_planning_is_deterministic() -> None:
    from demo.history import DemoService
    from domain.access.model import ActorKind

    people = tuple(Requester(ActorKind.USER, n, f"User {n}") for n in range(1, 5))
    catalog = DemoCatalog(
        services=(
            DemoService(1, "a", 1, "PRODUCTION", people[:2], Requester(ActorKind.CLIENT, 1, "CI")),
            DemoService(2, "b", None, "EXPERIMENTAL", people[1:3], None),
        ),
        environments={slug: n for n, slug in enumerate(PIPELINE, 1)},
        approvers={"production": people[2:]},
    )
    now = datetime(2025, 6, 1, tzinfo=UTC)
    first, second = plan_history(catalog, now), plan_history(catalog, now)
    assert first == second
    assert len(first) > 20
    assert all(d.environment != "production" for d in first if d.service_id == 2)
