"""The catalog import on PostgreSQL (the `CatalogImporter` port): the catalog read once, the
plan made (`domain.catalog.backstage.plan`), and what it says written set by set, in ONE
transaction with the import's one audit record and the events of what changed.

Every write is one statement for all the rows of its kind (`unnest` of arrays), so an import
of thousands of entities costs a few dozen statements, not thousands. An import that changes
nothing, or a dry run, runs no write statement at all (the audit record aside)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from domain.audit.model import AuditEntry
from domain.catalog.backstage.model import (
    ImportAction,
    ImportResult,
    ImportSummary,
    Mapped,
    ServiceCandidate,
)
from domain.catalog.backstage.plan import (
    Plan,
    ServiceState,
    Snapshot,
    TeamState,
    UserState,
    plan,
)
from domain.catalog.records import TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from domain.errors import Conflict
from domain.events import describe
from domain.events.changes import described
from domain.events.model import EventType, SubjectKind
from providers.postgres import rows
from providers.postgres.audited import AuditedStore
from providers.postgres.outbox import emit
from providers.postgres.writes.common import Connection

# One import at a time; the team hierarchy's lock too, since imports move teams.
_IMPORT_LOCK_KEY = 0x696D706F7274
_HIERARCHY_LOCK_KEY = 0x7465616D73

# Joins of aggregates, not subqueries per row: right after a large import the planner has no
# statistics of the new rows yet, and a per-row subquery planned blind costs seconds.
_TEAMS = """
SELECT t.*, p.slug AS parent_slug, c.team_id IS NOT NULL AS has_clients
FROM teams t
LEFT JOIN teams p ON p.id = t.parent_id
LEFT JOIN (SELECT DISTINCT team_id FROM api_clients) c ON c.team_id = t.id
"""
_USERS = """
SELECT u.*, coalesce(m.slugs, '{}') AS team_slugs
FROM users u
LEFT JOIN (SELECT m.user_id, array_agg(t.slug) AS slugs
           FROM team_members m JOIN teams t ON t.id = m.team_id GROUP BY m.user_id) m
       ON m.user_id = u.id
"""
_SERVICES = """
SELECT s.*, o.owner_slug, coalesce(o.slugs, '{}') AS owner_slugs,
       coalesce(d.slugs, '{}') AS dependency_slugs, r.service_id IS NOT NULL AS has_resources
FROM services s
LEFT JOIN (SELECT o.service_id, array_agg(t.slug) AS slugs,
                  max(t.slug) FILTER (WHERE o.role = 'PRIMARY') AS owner_slug
           FROM service_owners o JOIN teams t ON t.id = o.team_id GROUP BY o.service_id) o
       ON o.service_id = s.id
LEFT JOIN (SELECT sd.service_id, array_agg(d.slug) AS slugs
           FROM service_dependencies sd JOIN services d ON d.id = sd.depends_on_id
           GROUP BY sd.service_id) d
       ON d.service_id = s.id
LEFT JOIN (SELECT DISTINCT service_id FROM resources WHERE state <> 'DELETED') r
       ON r.service_id = s.id
"""


async def snapshot(connection: Connection) -> Snapshot:
    """The whole catalog as an import compares with it: three statements."""
    found = Snapshot()
    for row in await connection.fetch(_TEAMS):
        found.teams[row["slug"]] = TeamState(
            rows.team(row), row["parent_slug"], row["imported_ref"], row["has_clients"]
        )
    for row in await connection.fetch(_USERS):
        found.users[row["handle"]] = UserState(
            rows.user(row), frozenset(row["team_slugs"]), row["imported_ref"]
        )
    for row in await connection.fetch(_SERVICES):
        found.services[row["slug"]] = ServiceState(
            rows.service(row),
            row["owner_slug"],
            frozenset(row["owner_slugs"]),
            frozenset(row["dependency_slugs"]),
            row["imported_ref"],
            row["has_resources"],
        )
    return found


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclasses.dataclass(slots=True)
class _Written:
    """The records as the import leaves them, by slug (handle), and what it emitted."""

    teams: dict[str, TeamRecord]
    users: dict[str, UserRecord]
    services: dict[str, ServiceRecord]


class _Writer:
    def __init__(self, connection: Connection, before: Snapshot, changes: Plan) -> None:
        self.c = connection
        self.before = before
        self.plan = changes
        self.now = _Written(
            {slug: state.record for slug, state in before.teams.items()},
            {handle: state.record for handle, state in before.users.items()},
            {slug: state.record for slug, state in before.services.items()},
        )

    async def write(self) -> _Written:
        await self._delete_services()
        await self._delete_users()
        await self._teams()
        await self._delete_teams()
        await self._users()
        await self._members()
        await self._services()
        await self._owners()
        await self._dependencies()
        await self._touch_services()
        return self.now

    async def _teams(self) -> None:
        p = self.plan
        created: dict[str, TeamRecord] = {}
        if p.create_teams:
            found = await self.c.fetch(
                "INSERT INTO teams (slug, name, description, imported_ref) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                "RETURNING *",
                [t.key for t in p.create_teams],
                [t.name for t in p.create_teams],
                [t.description for t in p.create_teams],
                [str(t.ref) for t in p.create_teams],
            )
            created = {row["slug"]: rows.team(row) for row in found}
            self.now.teams.update(created)
        bumped: set[str] = set()
        if p.update_teams:
            found = await self.c.fetch(
                "UPDATE teams t SET name = u.name, description = u.description, "
                "version = t.version + 1, updated_at = now() "
                "FROM unnest($1::text[], $2::text[], $3::text[]) AS u(slug, name, description) "
                "WHERE t.slug = u.slug RETURNING t.*",
                [t.key for t in p.update_teams],
                [t.name for t in p.update_teams],
                [t.description for t in p.update_teams],
            )
            for row in found:
                self.now.teams[row["slug"]] = rows.team(row)
                bumped.add(row["slug"])
        if p.parents:
            moved = sorted(p.parents)
            found = await self.c.fetch(
                "UPDATE teams t SET parent_id = p.id, version = t.version + u.bump::int, "
                "updated_at = now() "
                "FROM unnest($1::text[], $2::text[], $3::bool[]) AS u(slug, parent, bump) "
                "LEFT JOIN teams p ON p.slug = u.parent WHERE t.slug = u.slug RETURNING t.*",
                moved,
                [p.parents[slug] for slug in moved],
                [slug not in created and slug not in bumped for slug in moved],
            )
            for row in found:
                self.now.teams[row["slug"]] = rows.team(row)
        for slug in created:
            team = self.now.teams[slug]
            emit(describe.created(EventType.TEAM_CREATED, SubjectKind.TEAM, team))
        for slug in sorted(bumped | (set(p.parents) - set(created))):
            before = self.before.teams[slug].record
            emit(
                describe.updated(
                    EventType.TEAM_UPDATED, SubjectKind.TEAM, before, self.now.teams[slug]
                )
            )

    async def _delete_teams(self) -> None:
        gone = self.plan.delete_teams
        if not gone:
            return
        await self.c.execute("UPDATE teams SET parent_id = NULL WHERE slug = ANY($1::text[])", gone)
        await self.c.execute("DELETE FROM teams WHERE slug = ANY($1::text[])", gone)
        for slug in gone:
            record = self.now.teams.pop(slug)
            emit(describe.deleted(EventType.TEAM_DELETED, SubjectKind.TEAM, record))

    async def _users(self) -> None:
        p = self.plan
        if p.create_users:
            found = await self.c.fetch(
                "INSERT INTO users (handle, name, email, imported_ref) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                "RETURNING *",
                [u.key for u in p.create_users],
                [u.name for u in p.create_users],
                [u.email for u in p.create_users],
                [str(u.ref) for u in p.create_users],
            )
            self.now.users.update({row["handle"]: rows.user(row) for row in found})
        if p.update_users:
            found = await self.c.fetch(
                "UPDATE users t SET name = u.name, email = u.email, "
                "version = t.version + 1, updated_at = now() "
                "FROM unnest($1::text[], $2::text[], $3::text[]) AS u(handle, name, email) "
                "WHERE t.handle = u.handle RETURNING t.*",
                [u.key for u in p.update_users],
                [u.name for u in p.update_users],
                [u.email for u in p.update_users],
            )
            self.now.users.update({row["handle"]: rows.user(row) for row in found})

    async def _delete_users(self) -> None:
        gone = self.plan.delete_users
        if not gone:
            return
        left = await self.c.fetch(
            "SELECT t.id AS team_id, t.slug, u.handle FROM team_members m "
            "JOIN teams t ON t.id = m.team_id JOIN users u ON u.id = m.user_id "
            "WHERE u.handle = ANY($1::text[]) ORDER BY t.slug, u.handle",
            gone,
        )
        await self.c.execute("DELETE FROM users WHERE handle = ANY($1::text[])", gone)
        for row in left:
            _membership(row["team_id"], row["slug"], row["handle"], "REMOVED")
        for handle in gone:
            self.now.users.pop(handle, None)

    async def _members(self) -> None:
        for pairs, change in (
            (self.plan.remove_members, "REMOVED"),
            (self.plan.add_members, "ADDED"),
        ):
            if not pairs:
                continue
            if change == "REMOVED":
                sql = (
                    "DELETE FROM team_members m USING "
                    "unnest($1::text[], $2::text[]) AS x(team, handle), teams t, users u "
                    "WHERE t.slug = x.team AND u.handle = x.handle "
                    "AND m.team_id = t.id AND m.user_id = u.id RETURNING t.id, t.slug, u.handle"
                )
            else:
                sql = (
                    "WITH added AS (INSERT INTO team_members (team_id, user_id) "
                    "SELECT t.id, u.id FROM unnest($1::text[], $2::text[]) AS x(team, handle) "
                    "JOIN teams t ON t.slug = x.team JOIN users u ON u.handle = x.handle "
                    "ON CONFLICT DO NOTHING RETURNING team_id, user_id) "
                    "SELECT t.id, t.slug, u.handle FROM added a JOIN teams t ON t.id = a.team_id "
                    "JOIN users u ON u.id = a.user_id"
                )
            found = await self.c.fetch(sql, [t for t, _ in pairs], [u for _, u in pairs])
            for row in sorted(found, key=lambda r: (r["slug"], r["handle"])):
                _membership(row["id"], row["slug"], row["handle"], change)

    def _service_columns(self, services: Sequence[ServiceCandidate]) -> list[list[Any]]:
        return [
            [s.key for s in services],
            [s.name for s in services],
            [s.description for s in services],
            [s.lifecycle.value for s in services],
            [_json(list(s.tags)) for s in services],
            [_json([{"title": link.title, "url": link.url} for link in s.links]) for s in services],
            [s.repository_url for s in services],
            [s.system for s in services],
        ]

    async def _services(self) -> None:
        p = self.plan
        unnest = (
            "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
            "$7::text[], $8::text[]) AS u(slug, name, description, lifecycle, tags, links, "
            "repository_url, system)"
        )
        if p.create_services:
            found = await self.c.fetch(
                "INSERT INTO services (slug, name, description, lifecycle, tags, links, "
                "repository_url, system, imported_ref) "
                "SELECT u.slug, u.name, u.description, u.lifecycle, "
                "ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), u.links::jsonb, "
                f"u.repository_url, u.system, r.ref FROM {unnest} "
                "JOIN unnest($9::text[], $10::text[]) AS r(slug, ref) ON r.slug = u.slug "
                "RETURNING *",
                *self._service_columns(p.create_services),
                [s.key for s in p.create_services],
                [str(s.ref) for s in p.create_services],
            )
            self.now.services.update({row["slug"]: rows.service(row) for row in found})
        if p.update_services:
            found = await self.c.fetch(
                "UPDATE services s SET name = u.name, description = u.description, "
                "lifecycle = u.lifecycle, "
                "tags = ARRAY(SELECT jsonb_array_elements_text(u.tags::jsonb)), "
                "links = u.links::jsonb, repository_url = u.repository_url, system = u.system, "
                f"version = s.version + 1, updated_at = now() FROM {unnest} "
                "WHERE s.slug = u.slug RETURNING s.*",
                *self._service_columns(p.update_services),
            )
            for row in found:
                after = rows.service(row)
                self.now.services[after.slug] = after
                before = self.before.services[after.slug].record
                emit(
                    describe.updated(EventType.SERVICE_UPDATED, SubjectKind.SERVICE, before, after)
                )

    async def _owners(self) -> None:
        owners = self.plan.owners
        if not owners:
            return
        slugs = sorted(owners)
        teams = [owners[slug] for slug in slugs]
        await self.c.execute(
            "DELETE FROM service_owners o USING unnest($1::text[], $2::text[]) AS x(slug, team), "
            "services s, teams t WHERE s.slug = x.slug AND t.slug = x.team "
            "AND o.service_id = s.id AND (o.role = 'PRIMARY' OR o.team_id = t.id)",
            slugs,
            teams,
        )
        found = await self.c.fetch(
            "INSERT INTO service_owners (service_id, team_id, role) "
            "SELECT s.id, t.id, 'PRIMARY' FROM unnest($1::text[], $2::text[]) AS x(slug, team) "
            "JOIN services s ON s.slug = x.slug JOIN teams t ON t.slug = x.team "
            "RETURNING service_id, team_id",
            slugs,
            teams,
        )
        team_ids = {row["service_id"]: row["team_id"] for row in found}
        created = {s.key for s in self.plan.create_services}
        for slug in slugs:
            service = self.now.services[slug]
            if slug in created:
                data = {**described(service), "owner": owners[slug]}
                emit(
                    describe.about(
                        EventType.SERVICE_CREATED,
                        SubjectKind.SERVICE,
                        service.id,
                        data,
                        team_id=team_ids.get(service.id),
                    )
                )
                continue
            state = self.before.services[slug]
            contributors = sorted(state.owners - {state.owner, owners[slug]})
            old = ([{"team": state.owner, "role": "PRIMARY"}] if state.owner else []) + [
                {"team": team, "role": "CONTRIBUTOR"}
                for team in sorted(state.owners - {state.owner})
            ]
            new = [{"team": owners[slug], "role": "PRIMARY"}] + [
                {"team": team, "role": "CONTRIBUTOR"} for team in contributors
            ]
            data = {"service": slug, "owners": {"old": old, "new": new}}
            emit(describe.about(EventType.OWNERSHIP_CHANGED, SubjectKind.SERVICE, service.id, data))

    async def _dependencies(self) -> None:
        for pairs, event in (
            (self.plan.remove_dependencies, EventType.DEPENDENCY_REMOVED),
            (self.plan.add_dependencies, EventType.DEPENDENCY_ADDED),
        ):
            if not pairs:
                continue
            if event is EventType.DEPENDENCY_REMOVED:
                sql = (
                    "DELETE FROM service_dependencies d USING unnest($1::text[], $2::text[]) "
                    "AS x(slug, dep), services s, services t WHERE s.slug = x.slug "
                    "AND t.slug = x.dep AND d.service_id = s.id AND d.depends_on_id = t.id "
                    "RETURNING s.id, s.slug, t.slug AS dep"
                )
            else:
                sql = (
                    "WITH added AS (INSERT INTO service_dependencies (service_id, depends_on_id) "
                    "SELECT s.id, t.id FROM unnest($1::text[], $2::text[]) AS x(slug, dep) "
                    "JOIN services s ON s.slug = x.slug JOIN services t ON t.slug = x.dep "
                    "ON CONFLICT DO NOTHING RETURNING service_id, depends_on_id) "
                    "SELECT s.id, s.slug, t.slug AS dep FROM added a "
                    "JOIN services s ON s.id = a.service_id "
                    "JOIN services t ON t.id = a.depends_on_id"
                )
            found = await self.c.fetch(sql, [s for s, _ in pairs], [d for _, d in pairs])
            for row in sorted(found, key=lambda r: (r["slug"], r["dep"])):
                data = {"service": row["slug"], "dependsOn": row["dep"]}
                emit(describe.about(event, SubjectKind.SERVICE, row["id"], data))

    async def _touch_services(self) -> None:
        """A service whose owner or dependencies changed counts one new version, as the
        mutations that change them do (once, with its fields' change if any)."""
        p = self.plan
        created = {s.key for s in p.create_services}
        bumped = {s.key for s in p.update_services}
        moved = (
            set(p.owners)
            | {s for s, _ in p.add_dependencies}
            | {s for s, _ in p.remove_dependencies}
        )
        touched = sorted(moved - created - bumped)
        if not touched:
            return
        found = await self.c.fetch(
            "UPDATE services SET version = version + 1, updated_at = now() "
            "WHERE slug = ANY($1::text[]) RETURNING *",
            touched,
        )
        self.now.services.update({row["slug"]: rows.service(row) for row in found})

    async def _delete_services(self) -> None:
        gone = self.plan.delete_services
        if not gone:
            return
        owners = await self.c.fetch(
            "SELECT s.slug AS service, o.team_id, t.slug, o.role FROM service_owners o "
            "JOIN services s ON s.id = o.service_id JOIN teams t ON t.id = o.team_id "
            "WHERE s.slug = ANY($1::text[]) ORDER BY o.role DESC, t.slug",
            gone,
        )
        await self.c.execute("DELETE FROM services WHERE slug = ANY($1::text[])", gone)
        for slug in gone:
            service = self.now.services.pop(slug)
            own = [row for row in owners if row["service"] == slug]
            primary = next((row["team_id"] for row in own if row["role"] == "PRIMARY"), None)
            data = {
                **described(service),
                "owners": [{"team": row["slug"], "role": row["role"]} for row in own],
            }
            emit(
                describe.about(
                    EventType.SERVICE_DELETED,
                    SubjectKind.SERVICE,
                    service.id,
                    data,
                    team_id=primary,
                )
            )


def _membership(team_id: int, team: str, user: str, change: str) -> None:
    data = {"team": team, "user": user, "change": change}
    emit(describe.about(EventType.MEMBERSHIP_CHANGED, SubjectKind.TEAM, team_id, data))


def _targets(results: list[ImportResult], now: _Written) -> None:
    for result in results:
        if result.action not in (
            ImportAction.CREATED,
            ImportAction.UPDATED,
            ImportAction.UNCHANGED,
        ):
            continue
        assert result.slug is not None
        kind = result.kind.lower()
        found: dict[str, Any] = (
            now.teams if kind == "group" else now.users if kind == "user" else now.services
        )
        result.target = found.get(result.slug)


@dataclasses.dataclass(frozen=True, slots=True)
class _Done:
    results: list[ImportResult]
    summary: ImportSummary


class PostgresCatalogImporter(AuditedStore):
    async def import_catalog(
        self, mapped: Mapped, *, dry_run: bool, prune: bool
    ) -> list[ImportResult]:
        async def work(connection: Connection) -> _Done:
            await connection.execute(
                "SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)",
                _IMPORT_LOCK_KEY,
                _HIERARCHY_LOCK_KEY,
            )
            before = await snapshot(connection)
            changes = plan(mapped, before, prune=prune)
            if dry_run:
                for result in changes.results:
                    if result.action is ImportAction.CREATED:
                        result.target = None
                return _Done(changes.results, ImportSummary.of(changes.results))
            writer = _Writer(connection, before, changes)
            now = await writer.write() if changes.writes else writer.now
            _targets(changes.results, now)
            return _Done(changes.results, ImportSummary.of(changes.results))

        def with_summary(entry: AuditEntry, done: _Done) -> AuditEntry:
            return dataclasses.replace(
                entry, input={**entry.input, "summary": done.summary.as_dict()}
            )

        try:
            done = await self._transactions.run(work, amend=with_summary)
        except (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError):
            # Another change committed between the snapshot and the writes (the import lock
            # orders imports, not the other mutations): nothing was written.
            raise Conflict("the catalog changed while the import ran; import again") from None
        return done.results
