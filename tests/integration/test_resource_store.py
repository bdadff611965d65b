"""The resource store on PostgreSQL: classes and templates, requests (approvals, uniqueness per
service x environment, idempotency), the state machine through `transition`, provisioning
leases, a template's service with its resources in one transaction and its first deployments,
what deleting services, environments and classes requires, the events of each change, and the
reads (pages, filters, batches)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import pytest

from domain.access.model import ActorKind
from domain.audit.model import AuditEntry, AuditOutcome
from domain.catalog.records import PageRequest
from domain.catalog.services import ServiceDraft
from domain.deployments.model import ApprovalDecision, Requester
from domain.errors import ErrorCode
from domain.resources import states
from domain.resources.model import (
    ResourceClassDraft,
    ResourceClassPatch,
    ResourceDraft,
    ResourceRecord,
    SecretRef,
    TemplateDraft,
    TemplatePatch,
    TemplateResource,
)
from domain.resources.model import ResourceState as S
from domain.resources.ports import FirstDeployment, ResourceFilter, ResourceStore
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from providers.postgres.resources import PostgresResourceStore
from providers.postgres.resources.leases import RELEASED_CHANNEL
from providers.postgres.writes import PostgresCatalogWriter
from tests.support.refusals import refusal

ADA = Requester(ActorKind.USER, 1, "Ada")
BOB = Requester(ActorKind.USER, 2, "Bob")
CAROL = Requester(ActorKind.USER, 3, "Carol")
CI = Requester(ActorKind.CLIENT, 1, "pay-ci")
ADA_ACTOR = (ActorKind.USER, 1, "Ada")
SCHEMA = {
    "type": "object",
    "properties": {"size": {"type": "string"}, "engine": {"type": "string"}},
}
SETTINGS = {"url": "https://provisioner.example", "secretEnv": "PROVISIONER_TOKEN"}
LEASE = 30.0


class Ids:
    """The ids of the fixture's rows, by slug."""

    def __init__(self, found: list[asyncpg.Record]) -> None:
        self._ids = {(row["kind"], row["slug"]): row["id"] for row in found}

    def service(self, slug: str) -> int:
        return int(self._ids[("service", slug)])

    def environment(self, slug: str) -> int:
        return int(self._ids[("environment", slug)])

    def team(self, slug: str) -> int:
        return int(self._ids[("team", slug)])


@pytest.fixture
async def ids(pool: asyncpg.Pool) -> Ids:
    """Teams `payments` (sub-team `payments-core`, its sub-team `ledger`) and `web`; services
    `api` (owned by `payments-core`), `web` (by `web`, `ledger` contributing) and `other` (by
    `web`); environments `staging` and `production`."""
    await pool.execute(
        "INSERT INTO teams (slug, name) VALUES ('payments', 'Payments'), ('web', 'Web');"
        "INSERT INTO teams (slug, name, parent_id) "
        "SELECT 'payments-core', 'Core', id FROM teams WHERE slug = 'payments';"
        "INSERT INTO teams (slug, name, parent_id) "
        "SELECT 'ledger', 'Ledger', id FROM teams WHERE slug = 'payments-core';"
        "INSERT INTO services (slug, name) VALUES ('api', 'API'), ('web', 'Web'), "
        "('other', 'Other');"
        "INSERT INTO service_owners (service_id, team_id, role) "
        "SELECT s.id, t.id, o.role FROM (VALUES ('api', 'payments-core', 'PRIMARY'), "
        "('web', 'web', 'PRIMARY'), ('web', 'ledger', 'CONTRIBUTOR'), "
        "('other', 'web', 'PRIMARY')) AS o(service, team, role) "
        "JOIN services s ON s.slug = o.service JOIN teams t ON t.slug = o.team;"
        "INSERT INTO environments (slug, name, tier) VALUES ('staging', 'Staging', 'STAGING'), "
        "('production', 'Production', 'PRODUCTION');"
    )
    found = await pool.fetch(
        "SELECT 'service' AS kind, slug, id FROM services UNION ALL "
        "SELECT 'environment', slug, id FROM environments UNION ALL "
        "SELECT 'team', slug, id FROM teams"
    )
    return Ids(found)


@pytest.fixture
def store(pool: asyncpg.Pool, ids: Ids) -> PostgresResourceStore:
    return PostgresResourceStore(pool, PostgresAuditLog(pool))


async def postgres_class(
    store: PostgresResourceStore, slug: str = "postgres", **fields: Any
) -> int:
    values: dict[str, Any] = {
        "slug": slug, "name": slug.title(), "type": "database", "provider_kind": "webhook",
        "provider_settings": SETTINGS, "parameters_schema": SCHEMA,
        "defaults": {"size": "small"}, **fields,
    }  # fmt: skip
    return (await store.create_class(ResourceClassDraft(**values))).id


def draft(
    ids: Ids,
    class_id: int,
    name: str = "db",
    service: str = "api",
    environment: str = "staging",
    *,
    approvals: int = 0,
    requester: Requester = ADA,
    key: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> ResourceDraft:
    return ResourceDraft(
        name, ids.service(service), ids.environment(environment), class_id,
        dict(parameters or {"size": "small"}), approvals, requester, key,
    )  # fmt: skip


async def requested(store: PostgresResourceStore, resource: ResourceDraft) -> ResourceRecord:
    record, created = await store.request(resource)
    assert created
    return record


async def ready(store: PostgresResourceStore, resource_id: int) -> ResourceRecord:
    await store.transition(resource_id, S.PROVISIONING, message="creating", source="provider:t")
    return await store.transition(
        resource_id, S.READY, message="up", source="provider:t",
        outputs={"host": "db.internal", "port": 5432},
        secret_refs=[SecretRef("db-credentials", "kubernetes", "password")],
    )  # fmt: skip


async def events(pool: asyncpg.Pool, resource_id: int | None = None) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT * FROM events WHERE subject_kind = 'Resource' "
        "AND ($1::bigint IS NULL OR subject_id = $1) ORDER BY id",
        resource_id,
    )


def first(size: int = 50, after: str | None = None) -> PageRequest:
    return PageRequest(first=size, after=after)


def test_the_adapter_implements_the_port(pool: asyncpg.Pool) -> None:
    port: ResourceStore = PostgresResourceStore(pool)
    assert port is not None


# --- classes ----------------------------------------------------------------------------


async def test_a_class_is_created_read_changed_and_versioned(
    store: PostgresResourceStore, ids: Ids
) -> None:
    created = await store.create_class(
        ResourceClassDraft(
            "postgres", "PostgreSQL", "database", "webhook", SETTINGS, SCHEMA,
            defaults={"size": "small"}, description="Managed PostgreSQL",
            environment_ids=(ids.environment("production"), ids.environment("staging")),
            requires_approval=True, approver_team_ids=(ids.team("payments"),),
        )
    )  # fmt: skip
    assert (created.slug, created.name, created.type, created.provider_kind) == (
        "postgres", "PostgreSQL", "database", "webhook",
    )  # fmt: skip
    assert created.provider_settings == SETTINGS
    assert (created.parameters_schema, created.defaults) == (SCHEMA, {"size": "small"})
    assert created.environment_ids == tuple(
        sorted((ids.environment("production"), ids.environment("staging")))
    )
    assert (created.requires_approval, created.approver_team_ids) == (True, (ids.team("payments"),))
    assert created.version == 1
    assert (await store.classes_by_ids([created.id, 999])) == {created.id: created}
    assert (await store.classes_by_slugs(["postgres", "nope"])) == {"postgres": created}

    changed = await store.update_class(
        "postgres", 1,
        ResourceClassPatch({"name": "Postgres", "environment_ids": (), "approver_team_ids": ()}),
    )  # fmt: skip
    assert (changed.name, changed.environment_ids, changed.approver_team_ids) == (
        "Postgres",
        (),
        (),
    )
    assert changed.version == 2
    assert changed.description == "Managed PostgreSQL"  # left as it was

    error = await refusal(
        ErrorCode.CONFLICT, store.update_class("postgres", 1, ResourceClassPatch({"name": "x"}))
    )
    assert error.path == ("input", "expectedVersion")
    error = await refusal(
        ErrorCode.NOT_FOUND, store.update_class("nope", None, ResourceClassPatch({}))
    )
    assert error.path == ("input", "resourceClass")
    # Patches name fields from code; anything else is refused before any SQL runs.
    for name in ("provider", "version", "name = 'x', slug"):
        with pytest.raises(ValueError, match="not fields"):
            await store.update_class("postgres", None, ResourceClassPatch({name: "x"}))
    assert (await store.classes_by_slugs(["postgres"]))["postgres"] == changed


async def test_class_slugs_are_unique_and_links_must_exist(
    store: PostgresResourceStore, ids: Ids
) -> None:
    await postgres_class(store)
    error = await refusal(ErrorCode.CONFLICT, postgres_class(store))
    assert error.path == ("input", "slug")
    await postgres_class(store, "redis")
    error = await refusal(
        ErrorCode.CONFLICT,
        store.update_class("redis", None, ResourceClassPatch({"slug": "postgres"})),
    )
    assert error.path == ("input", "slug")
    error = await refusal(ErrorCode.NOT_FOUND, postgres_class(store, "s3", environment_ids=(999,)))
    assert error.path == ("input", "environments")
    error = await refusal(
        ErrorCode.NOT_FOUND, postgres_class(store, "s3", approver_team_ids=(ids.team("web"), 998))
    )
    assert error.path == ("input", "approverTeams")
    assert "998" in error.message
    assert set(await store.classes_by_slugs(["s3", "postgres", "redis"])) == {"postgres", "redis"}


async def test_classes_are_paged_by_slug(store: PostgresResourceStore) -> None:
    for slug in ("redis", "postgres", "bucket", "queue", "cache"):
        await postgres_class(store, slug)
    page = await store.class_page(first(2))
    assert [edge.node.slug for edge in page.edges] == ["bucket", "cache"]
    assert page.has_next_page
    rest = await store.class_page(first(10, page.end_cursor))
    assert [edge.node.slug for edge in rest.edges] == ["postgres", "queue", "redis"]
    assert not rest.has_next_page
    assert rest.has_previous_page
    back = await store.class_page(PageRequest(last=2, before=rest.edges[0].cursor))
    assert [edge.node.slug for edge in back.edges] == ["bucket", "cache"]
    templates = await store.template_page(first())
    error = await refusal(ErrorCode.VALIDATION, store.template_page(first(2, page.end_cursor)))
    assert error.path == ("after",)  # a class cursor is no template cursor
    assert templates.edges == []


# --- templates --------------------------------------------------------------------------


async def test_a_template_keeps_its_environments_and_resources_in_order(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg, redis = await postgres_class(store), await postgres_class(store, "redis")
    production, staging = ids.environment("production"), ids.environment("staging")
    created = await store.create_template(
        TemplateDraft(
            "web-service", "Web service", {"type": "object"},
            service={"lifecycle": "EXPERIMENTAL", "tags": ["web"]},
            environment_ids=(production, staging),
            resources=(
                TemplateResource(redis, "cache"),
                TemplateResource(pg, "db", {"size": "${size}"}),
            ),
            first_version="0.1.0", description="A web service with a database",
        )
    )  # fmt: skip
    assert created.environment_ids == (production, staging)
    assert [(r.class_id, r.name, dict(r.parameters)) for r in created.resources] == [
        (redis, "cache", {}), (pg, "db", {"size": "${size}"}),
    ]  # fmt: skip
    assert (created.first_version, created.service["tags"]) == ("0.1.0", ["web"])
    assert await store.templates_by_slugs(["web-service"]) == {"web-service": created}
    assert await store.templates_by_ids([created.id]) == {created.id: created}

    changed = await store.update_template(
        "web-service", 1,
        TemplatePatch({"environment_ids": (staging,), "resources": (TemplateResource(pg, "db"),)}),
    )  # fmt: skip
    assert changed.environment_ids == (staging,)
    assert [r.name for r in changed.resources] == ["db"]
    assert (changed.version, changed.first_version) == (2, "0.1.0")

    error = await refusal(
        ErrorCode.CONFLICT,
        store.update_template(
            "web-service", None,
            TemplatePatch({"resources": (TemplateResource(pg, "db"), TemplateResource(redis, "db"))}),
        ),
    )  # fmt: skip
    assert error.path == ("input", "resources")
    error = await refusal(
        ErrorCode.NOT_FOUND,
        store.update_template(
            "web-service", None, TemplatePatch({"resources": (TemplateResource(999, "x"),)})
        ),
    )
    assert error.path == ("input", "resources")
    error = await refusal(
        ErrorCode.CONFLICT, store.create_template(TemplateDraft("web-service", "Again", {}))
    )
    assert error.path == ("input", "slug")
    error = await refusal(
        ErrorCode.CONFLICT, store.update_template("web-service", 1, TemplatePatch({"name": "x"}))
    )
    assert error.path == ("input", "expectedVersion")
    # Refusals wrote nothing.
    assert await store.templates_by_ids([created.id]) == {created.id: changed}

    deleted = await store.delete_template("web-service")
    assert deleted == changed
    assert await store.templates_by_ids([created.id]) == {}
    error = await refusal(ErrorCode.NOT_FOUND, store.delete_template("web-service"))
    assert error.path == ("input", "template")


# --- requesting -------------------------------------------------------------------------


async def test_a_request_starts_requested_with_its_history(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg = await postgres_class(store)
    record = await requested(store, draft(ids, pg, parameters={"size": "large"}))
    assert (record.name, record.state, record.class_id) == ("db", S.REQUESTED, pg)
    assert (record.service_id, record.environment_id) == (
        ids.service("api"),
        ids.environment("staging"),
    )
    assert record.parameters == {"size": "large"}
    assert (record.outputs, record.secret_refs, record.ready_at) == ({}, (), None)
    assert (record.requested_by, record.required_approvals, record.version) == (ADA, 0, 1)
    assert record.action_started_at is not None  # a provider works on it from now
    history = await store.history([record.id, 999])
    assert [(e.state, e.source) for e in history[record.id]] == [(S.REQUESTED, "api")]
    assert history[999] == []


async def test_a_request_names_what_it_lacks(store: PostgresResourceStore, ids: Ids) -> None:
    pg = await postgres_class(store)
    for field, resource in (
        ("service", ResourceDraft("db", 999, ids.environment("staging"), pg, {}, 0, ADA)),
        ("environment", ResourceDraft("db", ids.service("api"), 999, pg, {}, 0, ADA)),
        ("resourceClass", draft(ids, 999)),
    ):
        error = await refusal(ErrorCode.NOT_FOUND, store.request(resource))
        assert error.path == ("input", field)
    assert (await store.page(first(), ResourceFilter())).edges == []


async def test_names_are_unique_per_service_and_environment_until_deleted(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    db = await requested(store, draft(ids, pg))
    error = await refusal(ErrorCode.CONFLICT, store.request(draft(ids, pg, requester=BOB)))
    assert error.path == ("input", "name")
    assert "'db'" in error.message
    assert "'api'" in error.message
    assert "'staging'" in error.message
    # The same name elsewhere is another resource.
    await requested(store, draft(ids, pg, environment="production"))
    await requested(store, draft(ids, pg, service="web"))
    # Once DELETED, its name is free again; the DELETED one stays in the history.
    await store.request_delete(db.id, None)
    again = await requested(store, draft(ids, pg))
    assert again.id != db.id
    count = await pool.fetchval("SELECT count(*) FROM resources WHERE name = 'db'")
    assert count == 4


async def test_an_idempotency_key_replays_the_first_request(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg = await postgres_class(store)
    first_one, created = await store.request(draft(ids, pg, key="k1"))
    assert created
    assert first_one.idempotency_key == "k1"
    again, created = await store.request(draft(ids, pg, key="k1"))
    assert (again, created) == (first_one, False)
    assert await store.by_idempotency_key(ADA, "k1") == first_one
    assert await store.by_idempotency_key(BOB, "k1") is None
    # Another input under the same key is refused.
    error = await refusal(
        ErrorCode.CONFLICT, store.request(draft(ids, pg, key="k1", parameters={"size": "xl"}))
    )
    assert error.path == ("input", "idempotencyKey")
    # The client's own fingerprint decides when given.
    error = await refusal(
        ErrorCode.CONFLICT, store.request(draft(ids, pg, key="k1"), fingerprint={"v": 2})
    )
    assert error.path == ("input", "idempotencyKey")
    # Keys are per requester.
    other, created = await store.request(draft(ids, pg, "cache", key="k1", requester=BOB))
    assert created
    assert other.id != first_one.id
    for hostile in (" ", "k" * 201):
        error = await refusal(ErrorCode.VALIDATION, store.request(draft(ids, pg, "x", key=hostile)))
        assert error.path == ("input", "idempotencyKey")


@pytest.fixture(scope="module")
async def wide_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Enough connections for requests that really run at the same time."""
    pool = await create_pool(migrated_url, min_size=1, max_size=12)
    yield pool
    await pool.close()


async def test_concurrent_replays_of_a_key_make_one_resource(
    store: PostgresResourceStore, ids: Ids, wide_pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    racing = PostgresResourceStore(wide_pool)
    results = await asyncio.gather(*(racing.request(draft(ids, pg, key="race")) for _ in range(10)))
    assert sorted(created for _, created in results) == [False] * 9 + [True]
    assert len({record.id for record, _ in results}) == 1


# --- the state machine --------------------------------------------------------------------


async def test_every_pair_of_states_through_transition(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    """Each allowed move succeeds (the platform's own only with `system`), staying is a
    refresh, anything else is PRECONDITION_FAILED and changes nothing."""
    pg = await postgres_class(store)
    names = (f"r{index}" for index in itertools.count())
    for source, target in itertools.product(S, S):
        record = await requested(store, draft(ids, pg, next(names)))
        await pool.execute("UPDATE resources SET state = $2 WHERE id = $1", record.id, source)
        permitted = target in states.TRANSITIONS[source]
        system_only = (source, target) in states.SYSTEM_ONLY
        move = store.transition(record.id, target, message="m", source="provider:t")
        if source == target or (permitted and not system_only):
            moved = await move
            assert moved.state is target, (source, target)
            continue
        error = await refusal(ErrorCode.PRECONDITION_FAILED, move)
        assert error.path == ("input", "state")
        assert source.value in error.message
        assert target.value in error.message
        assert (await store.by_ids([record.id]))[record.id].state is source
        if permitted:  # only the platform makes it
            moved = await store.transition(
                record.id, target, message="m", source="approval", system=True
            )
            assert moved.state is target, (source, target)


async def test_a_transition_records_history_outputs_and_ready_time(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg = await postgres_class(store)
    record = await requested(store, draft(ids, pg))
    provisioning = await store.transition(
        record.id, S.PROVISIONING, message="creating", source="provider:webhook"
    )
    assert provisioning.action_started_at == record.action_started_at  # the same action
    up = await ready(store, record.id)
    assert up.state is S.READY
    assert up.ready_at is not None
    assert up.outputs == {"host": "db.internal", "port": 5432}
    assert up.secret_refs == (SecretRef("db-credentials", "kubernetes", "password"),)
    # The second PROVISIONING report said nothing new: no version of its own.
    assert (up.status_message, up.version, up.action_started_at) == ("up", 3, None)
    # The same state again: new words and outputs, no history, no event.
    before = len(await events(store._pool, record.id))
    same = await store.transition(
        record.id, S.READY, message="still up", source="provider:t", outputs={"host": "h2"}
    )
    assert (same.status_message, same.outputs, same.version) == ("still up", {"host": "h2"}, 4)
    assert same.secret_refs == up.secret_refs  # not given: kept
    unchanged = await store.transition(record.id, S.READY, message=None, source="provider:t")
    assert unchanged == same  # nothing new: not even a version
    assert len(await events(store._pool, record.id)) == before
    # Ready again after an update keeps the first ready time.
    updating = await store.update_parameters(record.id, None, {"size": "large"})
    assert updating.action_started_at is not None
    again = await store.transition(record.id, S.READY, message=None, source="provider:t")
    assert again.ready_at == up.ready_at
    history = (await store.history([record.id]))[record.id]
    assert [(e.state, e.message, e.source) for e in history] == [
        (S.REQUESTED, "requested", "api"),
        (S.PROVISIONING, "creating", "provider:webhook"),
        (S.READY, "up", "provider:t"),
        (S.UPDATING, "parameters changed", "api"),
        (S.READY, None, "provider:t"),
    ]
    error = await refusal(
        ErrorCode.NOT_FOUND, store.transition(999, S.READY, message=None, source="t")
    )
    assert error.path == ("input", "resource")


# --- approvals ----------------------------------------------------------------------------


async def test_approvals_reach_the_required_count(store: PostgresResourceStore, ids: Ids) -> None:
    pg = await postgres_class(store)
    waiting = await requested(store, draft(ids, pg, approvals=2))
    assert (waiting.state, waiting.required_approvals) == (S.WAITING_APPROVAL, 2)
    assert waiting.action_started_at is None  # nobody works on it yet
    error = await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.decide(waiting.id, ADA, ApprovalDecision.APPROVED, None, True),
    )
    assert error.path == ("input", "resource")
    still = await store.decide(waiting.id, BOB, ApprovalDecision.APPROVED, "ok", True)
    assert still.state is S.WAITING_APPROVAL
    error = await refusal(
        ErrorCode.CONFLICT, store.decide(waiting.id, BOB, ApprovalDecision.APPROVED, None, True)
    )
    assert error.path == ("input", "resource")
    # Without the rule, the requester's own approval counts.
    approved = await store.decide(waiting.id, ADA, ApprovalDecision.APPROVED, None, False)
    assert (approved.state, approved.status_message) == (S.REQUESTED, "approved (2 of 2)")
    assert approved.action_started_at is not None
    decisions = (await store.approvals([waiting.id]))[waiting.id]
    assert [(d.actor, d.decision, d.comment) for d in decisions] == [
        (BOB, ApprovalDecision.APPROVED, "ok"), (ADA, ApprovalDecision.APPROVED, None),
    ]  # fmt: skip
    error = await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.decide(waiting.id, CAROL, ApprovalDecision.APPROVED, None, True),
    )
    assert "not waiting for approval" in error.message
    error = await refusal(
        ErrorCode.NOT_FOUND, store.decide(999, CAROL, ApprovalDecision.APPROVED, None, True)
    )
    assert error.path == ("input", "resource")
    long_comment = "x" * 2001
    error = await refusal(
        ErrorCode.VALIDATION,
        store.decide(waiting.id, CAROL, ApprovalDecision.REJECTED, long_comment, True),
    )
    assert error.path == ("input", "comment")


async def test_a_rejection_fails_the_request(store: PostgresResourceStore, ids: Ids) -> None:
    pg = await postgres_class(store)
    waiting = await requested(store, draft(ids, pg, approvals=1))
    rejected = await store.decide(waiting.id, BOB, ApprovalDecision.REJECTED, "too big", True)
    assert (rejected.state, rejected.status_message) == (S.FAILED, "rejected by Bob: too big")
    history = (await store.history([waiting.id]))[waiting.id]
    assert [(e.state, e.source) for e in history] == [
        (S.WAITING_APPROVAL, "api"), (S.FAILED, "approval"),
    ]  # fmt: skip


# --- changing and deleting ------------------------------------------------------------------


async def test_new_parameters_update_a_ready_or_failed_resource(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg = await postgres_class(store)
    record = await requested(store, draft(ids, pg))
    error = await refusal(
        ErrorCode.PRECONDITION_FAILED, store.update_parameters(record.id, None, {"size": "xl"})
    )
    assert error.path == ("input", "resource")
    up = await ready(store, record.id)
    error = await refusal(
        ErrorCode.CONFLICT, store.update_parameters(record.id, up.version - 1, {"size": "xl"})
    )
    assert error.path == ("input", "expectedVersion")
    updating = await store.update_parameters(record.id, up.version, {"size": "xl"})
    assert (updating.state, updating.parameters) == (S.UPDATING, {"size": "xl"})
    assert updating.version == up.version + 1
    failed = await store.transition(record.id, S.FAILED, message="quota", source="provider:t")
    retried = await store.update_parameters(record.id, None, {"size": "large"})
    assert (retried.state, retried.parameters) == (S.UPDATING, {"size": "large"})
    assert failed.version + 1 == retried.version
    error = await refusal(ErrorCode.NOT_FOUND, store.update_parameters(999, None, {}))
    assert error.path == ("input", "resource")


async def test_deleting_is_immediate_until_something_is_built(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg = await postgres_class(store)
    fresh = await requested(store, draft(ids, pg, "a"))
    waiting = await requested(store, draft(ids, pg, "b", approvals=1))
    built = await requested(store, draft(ids, pg, "c"))
    await ready(store, built.id)
    assert (await store.request_delete(fresh.id, fresh.version)).state is S.DELETED
    assert (await store.request_delete(waiting.id, None)).state is S.DELETED
    deleting = await store.request_delete(built.id, None)
    assert (deleting.state, deleting.status_message) == (S.DELETING, "deletion requested")
    assert (await store.request_delete(built.id, None)) == deleting  # asked again: as it is
    error = await refusal(ErrorCode.PRECONDITION_FAILED, store.request_delete(fresh.id, None))
    assert error.path == ("input", "resource")
    error = await refusal(ErrorCode.CONFLICT, store.request_delete(built.id, 1))
    assert error.path == ("input", "expectedVersion")
    error = await refusal(ErrorCode.NOT_FOUND, store.request_delete(999, None))
    assert error.path == ("input", "resource")
    gone = await store.transition(built.id, S.DELETED, message="removed", source="provider:t")
    assert gone.state is S.DELETED


# --- leases -------------------------------------------------------------------------------


async def leases(pool: asyncpg.Pool) -> dict[int, str | None]:
    found = await pool.fetch("SELECT id, leased_by FROM resources ORDER BY id")
    return {row["id"]: row["leased_by"] for row in found}


async def test_each_driven_resource_is_claimed_by_one_owner(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    driven = [await requested(store, draft(ids, pg, f"d{index}")) for index in range(4)]
    waiting = await requested(store, draft(ids, pg, "w", approvals=1))
    done = await requested(store, draft(ids, pg, "done"))
    await ready(store, done.id)
    mine = await store.claim("one", LEASE, limit=3)
    theirs = await store.claim("two", LEASE)
    assert [r.id for r in mine] == [r.id for r in driven[:3]]
    assert [r.id for r in theirs] == [driven[3].id]
    assert await store.claim("three", LEASE) == []
    held = await leases(pool)
    assert (held[waiting.id], held[done.id]) == (None, None)  # nobody works on them
    # A claim by the holder renews it; another's lease is not taken.
    assert [r.id for r in await store.claim("one", LEASE, ids=[driven[0].id, driven[3].id])] == [
        driven[0].id
    ]
    assert await store.renew("one", [driven[0].id, driven[3].id], LEASE) == {driven[0].id}
    assert await store.renew("one", [], LEASE) == set()
    # Leaving the driven states drops the lease.
    await store.transition(driven[0].id, S.PROVISIONING, message=None, source="provider:t")
    assert (await leases(pool))[driven[0].id] == "one"
    await store.transition(driven[0].id, S.READY, message=None, source="provider:t")
    assert (await leases(pool))[driven[0].id] is None
    assert await store.renew("one", [driven[0].id], LEASE) == set()


async def test_a_lapsed_lease_is_taken_over(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    record = await requested(store, draft(ids, pg))
    assert [r.id for r in await store.claim("dead", 0.05)] == [record.id]
    assert await store.claim("alive", LEASE) == []
    await asyncio.sleep(0.1)
    assert [r.id for r in await store.claim("alive", LEASE)] == [record.id]
    assert await store.renew("dead", [record.id], LEASE) == set()
    assert (await leases(pool))[record.id] == "alive"


async def test_release_gives_leases_back_and_tells_the_others(
    store: PostgresResourceStore, ids: Ids, migrated_url: str
) -> None:
    pg = await postgres_class(store)
    records = [await requested(store, draft(ids, pg, f"r{index}")) for index in range(3)]
    await store.claim("one", LEASE)
    listener = await asyncpg.connect(migrated_url)
    woken = asyncio.Event()
    await listener.add_listener(RELEASED_CHANNEL, lambda *_: woken.set())
    try:
        assert await store.release("one", [records[0].id]) == 1  # some: nobody told
        assert await store.release("two") == 0  # none: nobody told
        await asyncio.sleep(0.2)
        assert not woken.is_set()
        assert await store.release("one") == 2  # the rest, as the process stops
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await listener.close()
    assert [r.id for r in await store.claim("two", LEASE)] == [r.id for r in records]


# --- a template's service -------------------------------------------------------------------


def new_service(slug: str = "checkout", owner: str = "payments") -> ServiceDraft:
    return ServiceDraft(slug, slug.title(), owner, tags=("template",))


def template_resources(ids: Ids, class_id: int, *names: str) -> list[ResourceDraft]:
    """Resources for the new service (its id unknown yet: 0) in staging and production."""
    return [
        ResourceDraft(name, 0, ids.environment(environment), class_id, {"size": "small"}, 0, ADA)
        for environment in ("staging", "production")
        for name in names
    ]


def firsts(ids: Ids) -> list[FirstDeployment]:
    return [
        FirstDeployment(0, ids.environment(environment), "0.1.0", ADA)
        for environment in ("staging", "production")
    ]


async def test_a_service_is_made_with_its_resources_in_one_transaction(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    service, made, created = await store.create_service_with_resources(
        new_service(), template_resources(ids, pg, "db", "cache"), firsts(ids), None, None
    )
    assert created
    assert (service.slug, service.tags) == ("checkout", ("template",))
    assert [(r.name, r.service_id, r.state) for r in made] == [
        (name, service.id, S.REQUESTED) for name in ("db", "cache", "db", "cache")
    ]
    owner = await pool.fetchval(
        "SELECT t.slug FROM service_owners o JOIN teams t ON t.id = o.team_id "
        "WHERE o.service_id = $1 AND o.role = 'PRIMARY'",
        service.id,
    )
    assert owner == "payments"
    by_service = await store.of_services([service.id], None)
    assert sorted(r.id for r in by_service[service.id]) == sorted(r.id for r in made)
    stored = await pool.fetch("SELECT * FROM first_deployments ORDER BY environment_id")
    assert [(row["service_id"], row["version"]) for row in stored] == [(service.id, "0.1.0")] * 2


async def count_rows(pool: asyncpg.Pool) -> tuple[int, ...]:
    return tuple(
        await pool.fetchrow(
            "SELECT (SELECT count(*) FROM services), (SELECT count(*) FROM resources), "
            "(SELECT count(*) FROM first_deployments), (SELECT count(*) FROM template_runs), "
            "(SELECT count(*) FROM events), (SELECT count(*) FROM service_owners)"
        )
        or ()
    )


async def test_a_refused_part_leaves_no_service(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    before = await count_rows(pool)
    twice = template_resources(ids, pg, "db", "db")  # the same name twice per environment
    error = await refusal(
        ErrorCode.CONFLICT,
        store.create_service_with_resources(new_service(), twice, firsts(ids), "k", None),
    )
    assert error.path == ("input", "template")
    unknown_class = [*template_resources(ids, pg, "db"), *template_resources(ids, 999, "x")]
    error = await refusal(
        ErrorCode.NOT_FOUND,
        store.create_service_with_resources(new_service(), unknown_class, firsts(ids), "k", None),
    )
    assert error.path == ("input", "template")
    unknown_environment = [FirstDeployment(0, 999, "0.1.0", ADA)]
    error = await refusal(
        ErrorCode.NOT_FOUND,
        store.create_service_with_resources(
            new_service(), template_resources(ids, pg, "db"), unknown_environment, "k", None
        ),
    )
    assert error.path == ("input", "template")
    error = await refusal(
        ErrorCode.CONFLICT,
        store.create_service_with_resources(
            new_service("api"), template_resources(ids, pg, "db"), [], "k", None
        ),
    )
    assert error.path == ("input", "slug")
    error = await refusal(
        ErrorCode.NOT_FOUND,
        store.create_service_with_resources(
            new_service(owner="nobody"), template_resources(ids, pg, "db"), [], "k", None
        ),
    )
    assert error.path == ("input", "owner")
    assert await count_rows(pool) == before
    # The key was not spent by the refusals.
    _, _, created = await store.create_service_with_resources(
        new_service(), template_resources(ids, pg, "db"), firsts(ids), "k", None
    )
    assert created


async def test_a_replayed_template_run_returns_the_first_answer(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    resources = template_resources(ids, pg, "db")
    service, made, created = await store.create_service_with_resources(
        new_service(), resources, firsts(ids), "run-1", {"template": "web", "slug": "checkout"}
    )
    assert created
    await ready(store, made[0].id)
    before = await count_rows(pool)
    again, again_made, created = await store.create_service_with_resources(
        new_service(), resources, firsts(ids), "run-1", {"template": "web", "slug": "checkout"}
    )
    assert not created
    assert again == service
    assert [r.id for r in again_made] == [r.id for r in made]
    assert again_made[0].state is S.READY  # as they are now
    assert await count_rows(pool) == before
    error = await refusal(
        ErrorCode.CONFLICT,
        store.create_service_with_resources(
            new_service("other-slug"), resources, firsts(ids), "run-1",
            {"template": "web", "slug": "other-slug"},
        ),
    )  # fmt: skip
    assert error.path == ("input", "idempotencyKey")
    assert "'checkout'" in error.message
    # Another requester's key is its own.
    error = await refusal(
        ErrorCode.CONFLICT,
        store.create_service_with_resources(
            new_service(), [], [], "run-1", {"template": "web", "slug": "checkout"},
            requester=BOB,
        ),
    )  # fmt: skip
    assert error.path == ("input", "slug")  # a new run: the slug is taken
    # With nothing else to name it, the key is the audited actor's.
    audited = store.audited(AuditEntry("createService", AuditOutcome.ACCEPTED, *ADA_ACTOR))
    bare, none, created = await audited.create_service_with_resources(
        new_service("bare"), [], [], "run-2", None
    )
    assert (bare.slug, none, created) == ("bare", [], True)
    replayed, _, created = await store.create_service_with_resources(
        new_service("bare"), [], [], "run-2", None, requester=ADA
    )
    assert (replayed, created) == (bare, False)
    with pytest.raises(ValueError, match="requester"):
        await store.create_service_with_resources(new_service("x"), [], [], "run-3", None)


async def test_concurrent_template_runs_with_one_key_make_one_service(
    store: PostgresResourceStore, ids: Ids, wide_pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    racing = PostgresResourceStore(wide_pool)
    results = await asyncio.gather(
        *(
            racing.create_service_with_resources(
                new_service(), template_resources(ids, pg, "db"), firsts(ids), "race", None
            )
            for _ in range(8)
        )
    )
    assert sorted(created for _, _, created in results) == [False] * 7 + [True]
    assert len({service.id for service, _, _ in results}) == 1


async def test_first_deployments_are_due_once_every_resource_is_ready(
    store: PostgresResourceStore, ids: Ids, wide_pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    service, made, _ = await store.create_service_with_resources(
        new_service(), template_resources(ids, pg, "db", "cache"), firsts(ids), None, None
    )
    staging = [r for r in made if r.environment_id == ids.environment("staging")]
    production = [r for r in made if r.environment_id == ids.environment("production")]
    assert await store.due_first_deployments(service.id) == []
    await ready(store, staging[0].id)
    assert await store.due_first_deployments(service.id) == []
    await ready(store, staging[1].id)
    due = await store.due_first_deployments(service.id)
    assert due == [FirstDeployment(service.id, ids.environment("staging"), "0.1.0", ADA)]
    assert await store.due_first_deployments(service.id) == []  # taken
    # A DELETED resource no longer holds it back; concurrent callers get it once.
    await ready(store, production[0].id)
    await store.request_delete(production[1].id, None)
    await store.transition(production[1].id, S.DELETED, message=None, source="provider:t")
    racing = PostgresResourceStore(wide_pool)
    results = await asyncio.gather(*(racing.due_first_deployments(service.id) for _ in range(6)))
    assert sorted(len(result) for result in results) == [0] * 5 + [1]
    assert await store.due_first_deployments(ids.service("api")) == []


# --- what deleting requires -------------------------------------------------------------


async def test_a_service_with_resources_is_not_deleted(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    writer = PostgresCatalogWriter(pool)
    pg = await postgres_class(store)
    db = await requested(store, draft(ids, pg))
    cache = await requested(store, draft(ids, pg, "cache", environment="production"))
    error = await refusal(ErrorCode.PRECONDITION_FAILED, writer.delete_service("api", None))
    assert error.path == ("input", "service")
    assert "still has resources: cache (production), db (staging)" in error.message
    await store.request_delete(db.id, None)  # REQUESTED: DELETED at once
    await store.transition(cache.id, S.FAILED, message="quota", source="provider:t")
    error = await refusal(ErrorCode.PRECONDITION_FAILED, writer.delete_service("api", None))
    assert "cache (production)" in error.message
    assert "db" not in error.message
    await store.request_delete(cache.id, None)
    await store.transition(cache.id, S.DELETED, message=None, source="provider:t")
    await writer.delete_service("api", None)
    assert await store.by_ids([db.id, cache.id]) == {}  # gone with their service


async def test_an_environment_with_resources_or_the_only_one_of_a_class_is_not_deleted(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    writer = PostgresCatalogWriter(pool)
    staging = ids.environment("staging")
    pg = await postgres_class(store)
    only_staging = await postgres_class(store, "staging-only", environment_ids=(staging,))
    both = await postgres_class(
        store, "both", environment_ids=(staging, ids.environment("production"))
    )
    db = await requested(store, draft(ids, pg, service="web"))
    error = await refusal(ErrorCode.PRECONDITION_FAILED, writer.delete_environment("staging", None))
    assert error.path == ("input", "environment")
    assert "still has resources: web/db" in error.message
    await store.request_delete(db.id, None)
    error = await refusal(ErrorCode.PRECONDITION_FAILED, writer.delete_environment("staging", None))
    assert "'staging-only'" in error.message
    assert "'both'" not in error.message
    await store.update_class("staging-only", None, ResourceClassPatch({"environment_ids": ()}))
    await writer.delete_environment("staging", None)
    found = await store.classes_by_ids([only_staging, both])
    assert found[only_staging].environment_ids == ()
    assert found[both].environment_ids == (ids.environment("production"),)


async def test_a_class_in_use_is_not_deleted(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    db = await requested(store, draft(ids, pg))
    await store.create_template(
        TemplateDraft("web-service", "Web", {}, resources=(TemplateResource(pg, "db"),))
    )
    error = await refusal(ErrorCode.PRECONDITION_FAILED, store.delete_class("postgres"))
    assert error.path == ("input", "resourceClass")
    assert "api/db (staging)" in error.message
    assert "'web-service'" in error.message
    await store.delete_template("web-service")
    error = await refusal(ErrorCode.PRECONDITION_FAILED, store.delete_class("postgres"))
    assert "web-service" not in error.message
    await store.request_delete(db.id, None)
    deleted = await store.delete_class("postgres")
    assert deleted.id == pg
    assert await store.classes_by_ids([pg]) == {}
    assert await store.by_ids([db.id]) == {}  # its DELETED resources went with it
    error = await refusal(ErrorCode.NOT_FOUND, store.delete_class("postgres"))
    assert error.path == ("input", "resourceClass")


# --- events and audit -----------------------------------------------------------------------


async def test_each_change_leaves_its_events(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    pg = await postgres_class(store)
    waiting = await requested(store, draft(ids, pg, approvals=1, parameters={"size": "large"}))
    await store.decide(waiting.id, BOB, ApprovalDecision.APPROVED, "fine", True)
    await store.transition(waiting.id, S.PROVISIONING, message="creating", source="provider:t")
    await store.transition(waiting.id, S.PROVISIONING, message="still", source="provider:t")
    await store.transition(waiting.id, S.READY, message="up", source="provider:t")
    await store.update_parameters(waiting.id, None, {"size": "xl"})
    refused = store.update_parameters(waiting.id, None, {"size": "xxl"})
    await refusal(ErrorCode.PRECONDITION_FAILED, refused)  # UPDATING: nothing written
    found = await events(pool, waiting.id)
    assert [(row["type"], row["data"].get("from"), row["data"].get("to")) for row in found] == [
        ("RESOURCE_REQUESTED", None, None),
        ("RESOURCE_APPROVAL_REQUESTED", None, None),
        ("RESOURCE_APPROVED", None, None),
        ("RESOURCE_STATE_CHANGED", "WAITING_APPROVAL", "REQUESTED"),
        ("RESOURCE_STATE_CHANGED", "REQUESTED", "PROVISIONING"),
        ("RESOURCE_STATE_CHANGED", "PROVISIONING", "READY"),
        ("RESOURCE_STATE_CHANGED", "READY", "UPDATING"),
        ("RESOURCE_UPDATED", None, None),
    ]
    for row in found:
        assert (row["subject_id"], row["service_id"]) == (waiting.id, ids.service("api"))
        assert row["environment_id"] == ids.environment("staging")
        assert row["team_id"] == ids.team("payments-core")  # the service's primary owner
        assert (row["data"]["name"], row["data"]["classId"]) == ("db", pg)
        assert "provisioner.example" not in str(row["data"])  # never the class's settings
        assert "PROVISIONER_TOKEN" not in str(row["data"])
    requested_data, _, approved_data, moved, *_, updated = (row["data"] for row in found)
    assert (requested_data["state"], requested_data["parameters"]) == (
        "WAITING_APPROVAL", {"size": "large"},
    )  # fmt: skip
    assert (approved_data["by"], approved_data["comment"]) == ("Bob", "fine")
    assert moved["message"] == "approved (1 of 1)"
    assert updated["parameters"] == {"old": {"size": "large"}, "new": {"size": "xl"}}

    rejected = await requested(store, draft(ids, pg, "other", approvals=1))
    await store.decide(rejected.id, BOB, ApprovalDecision.REJECTED, "no", True)
    found = await events(pool, rejected.id)
    assert [row["type"] for row in found][-2:] == ["RESOURCE_REJECTED", "RESOURCE_STATE_CHANGED"]
    assert found[-1]["data"]["message"] == "rejected by Bob: no"


async def test_changes_are_audited_in_their_transaction(
    store: PostgresResourceStore, ids: Ids, pool: asyncpg.Pool
) -> None:
    async def audit_count() -> int:
        return int(await pool.fetchval("SELECT count(*) FROM audit_events"))

    def entry(operation: str) -> AuditEntry:
        return AuditEntry(operation, AuditOutcome.ACCEPTED, *ADA_ACTOR)

    before = await audit_count()
    pg = (await store.audited(entry("createResourceClass")).create_class(
        ResourceClassDraft("postgres", "PG", "database", "webhook", {}, SCHEMA)
    )).id  # fmt: skip
    record, _ = await store.audited(entry("requestResource")).request(draft(ids, pg))
    await store.audited(entry("deleteResource")).request_delete(record.id, None)
    assert await audit_count() == before + 3
    refused = store.audited(entry("deleteResource")).request_delete(record.id, None)
    await refusal(ErrorCode.PRECONDITION_FAILED, refused)
    await store.transition(record.id, S.DELETED, message=None, source="provider:t")
    assert await audit_count() == before + 3  # a refusal and an unaudited store: nothing
    actors = await pool.fetch("SELECT DISTINCT actor_name FROM events")
    assert [row["actor_name"] for row in actors] == ["Ada"]


# --- reads --------------------------------------------------------------------------------


async def test_pages_filter_by_service_environment_class_state_and_owner(
    store: PostgresResourceStore, ids: Ids
) -> None:
    pg, redis = await postgres_class(store), await postgres_class(store, "redis")
    api_db = await requested(store, draft(ids, pg))
    api_cache = await requested(store, draft(ids, redis, "cache", environment="production"))
    web_db = await requested(store, draft(ids, pg, service="web"))
    other_db = await requested(store, draft(ids, pg, service="other"))
    await ready(store, web_db.id)
    gone = await requested(store, draft(ids, pg, "gone"))
    await store.request_delete(gone.id, None)

    async def names(**conditions: Any) -> list[int]:
        page = await store.page(first(), ResourceFilter(**conditions))
        return [edge.node.id for edge in page.edges]

    everything = [api_db.id, api_cache.id, web_db.id, other_db.id, gone.id]
    assert await names() == everything
    assert await names(service="api") == [api_db.id, api_cache.id, gone.id]
    assert await names(environment="production") == [api_cache.id]
    assert await names(resource_class="redis") == [api_cache.id]
    assert await names(states=(S.READY, S.DELETED)) == [web_db.id, gone.id]
    assert await names(service="api", states=(S.REQUESTED,)) == [api_db.id, api_cache.id]
    for unknown in ("service", "environment", "resource_class", "owner"):
        assert await names(**{unknown: "nope"}) == []
    # Owners: the team and its sub-teams, primary or contributing.
    assert await names(owner="payments") == [api_db.id, api_cache.id, web_db.id, gone.id]
    assert await names(owner="payments-core") == [api_db.id, api_cache.id, web_db.id, gone.id]
    assert await names(owner="ledger") == [web_db.id]
    assert await names(owner="web") == [web_db.id, other_db.id]

    assert await store.count(ResourceFilter()) == len(everything)
    assert await store.count(ResourceFilter(owner="ledger")) == 1
    assert await store.count(ResourceFilter(service="nope")) == 0
    assert (await store.class_count(), await store.template_count()) == (2, 0)

    page = await store.page(first(2), ResourceFilter())
    assert [edge.node.id for edge in page.edges] == everything[:2]
    rest = await store.page(first(10, page.end_cursor), ResourceFilter())
    assert [edge.node.id for edge in rest.edges] == everything[2:]
    error = await refusal(
        ErrorCode.VALIDATION, store.page(first(10, page.end_cursor), ResourceFilter(service="api"))
    )
    assert error.path == ("after",)  # a cursor of another filter
    for forged in ("bm9wZQ", "W10", "x" * 5000):
        error = await refusal(ErrorCode.VALIDATION, store.page(first(1, forged), ResourceFilter()))
        assert error.path == ("after",)


async def test_batched_reads(store: PostgresResourceStore, ids: Ids) -> None:
    pg = await postgres_class(store)
    staging_db = await requested(store, draft(ids, pg, "db"))
    prod_db = await requested(store, draft(ids, pg, "db", environment="production"))
    prod_cache = await requested(store, draft(ids, pg, "cache", environment="production"))
    gone = await requested(store, draft(ids, pg, "a-gone"))
    await store.request_delete(gone.id, None)
    web_db = await requested(store, draft(ids, pg, service="web", environment="production"))
    api, web, other = ids.service("api"), ids.service("web"), ids.service("other")

    by_service = await store.of_services([api, web, other], None)
    # By environment (as the catalog lists them: staging before production), then name.
    assert [r.id for r in by_service[api]] == [staging_db.id, prod_cache.id, prod_db.id]
    assert [r.id for r in by_service[web]] == [web_db.id]
    assert by_service[other] == []
    in_production = await store.of_services([api], "production")
    assert [r.id for r in in_production[api]] == [prod_cache.id, prod_db.id]
    assert (await store.of_services([api], "nope"))[api] == []

    production = ids.environment("production")
    pages = await store.environment_pages([production, ids.environment("staging")], first(2))
    assert [e.node.id for e in pages[production].edges] == [prod_db.id, prod_cache.id]
    assert pages[production].has_next_page
    assert [e.node.id for e in pages[ids.environment("staging")].edges] == [
        staging_db.id, gone.id,
    ]  # fmt: skip
    counted = await store.environment_counts([production, ids.environment("staging"), 999])
    assert counted == {production: 3, ids.environment("staging"): 2, 999: 0}
    more = await store.environment_pages([production], first(2, pages[production].end_cursor))
    assert [e.node.id for e in more[production].edges] == [web_db.id]

    found = await store.by_ids([staging_db.id, web_db.id, 999])
    assert set(found) == {staging_db.id, web_db.id}
    assert found[web_db.id] == web_db
