"""The deployment store on PostgreSQL: creating (numbers, freezes, one unfinished deployment,
idempotency under concurrency), transitions and their history, approvals, recorded
deployments, auditing, and the reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from domain.access.model import ActorKind, Forbidden
from domain.audit.model import AuditEntry, AuditOutcome
from domain.catalog.changes import EnvironmentDraft, EnvironmentPatch
from domain.catalog.records import EnvironmentTier, PageRequest
from domain.deployments.model import ApprovalDecision, DeploymentKind, DeploymentRecord, Requester
from domain.deployments.model import DeploymentState as S
from domain.deployments.ports import (
    DeploymentFilter,
    DeploymentStore,
    ProtectionChoice,
    ProviderChoice,
    RecordedDeployment,
)
from domain.errors import CatalogError, ErrorCode
from providers.postgres.audit_log import PostgresAuditLog
from providers.postgres.database import create_pool
from providers.postgres.deployments import PostgresDeploymentStore
from tests.support.refusals import refusal

ADA = Requester(ActorKind.USER, 1, "Ada")
BOB = Requester(ActorKind.USER, 2, "Bob")
CAROL = Requester(ActorKind.USER, 3, "Carol")
CI = Requester(ActorKind.CLIENT, 1, "pay-ci")
DEPLOY = DeploymentKind.DEPLOY


@pytest.fixture
async def store(pool: asyncpg.Pool) -> PostgresDeploymentStore:
    """Services `api` and `web`, environments `staging` and `production`, team `release`."""
    await pool.execute(
        "INSERT INTO users (handle, name, email) VALUES ('ada', 'Ada', 'a@x.io'),"
        " ('bob', 'Bob', 'b@x.io'), ('carol', 'Carol', 'c@x.io')"
    )
    await pool.execute("INSERT INTO teams (slug, name) VALUES ('release', 'Release')")
    await pool.execute("INSERT INTO services (slug, name) VALUES ('api', 'API'), ('web', 'Web')")
    await pool.execute(
        "INSERT INTO environments (slug, name, tier) VALUES ('staging', 'Staging', 'STAGING'),"
        " ('production', 'Production', 'PRODUCTION')"
    )
    return PostgresDeploymentStore(pool, PostgresAuditLog(pool))


@pytest.fixture(scope="module")
async def wide_pool(migrated_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Enough connections for requests that really run at the same time."""
    pool = await create_pool(migrated_url, min_size=1, max_size=25)
    yield pool
    await pool.close()


async def deploy(
    store: PostgresDeploymentStore, version: str, service: str = "api", env: str = "staging"
) -> DeploymentRecord:
    record, created = await store.create(service, env, version, None, None, DEPLOY, ADA)
    assert created
    return record


async def succeed(store: PostgresDeploymentStore, deployment_id: int) -> DeploymentRecord:
    await store.transition(
        deployment_id, S.IN_PROGRESS, raw_status="Progressing", message=None, source="provider:t"
    )
    return await store.transition(
        deployment_id, S.SUCCEEDED, raw_status="Healthy", message="done", source="provider:t"
    )


def test_the_adapter_implements_the_port(pool: asyncpg.Pool) -> None:
    port: DeploymentStore = PostgresDeploymentStore(pool)
    assert port is not None


# --- creating ---------------------------------------------------------------------------


async def test_create_queues_numbers_and_links_the_previous(store: PostgresDeploymentStore) -> None:
    first, created = await store.create("api", "staging", "1.0.0", "abc1234", "first", DEPLOY, ADA)
    assert created
    assert (first.number, first.state, first.kind, first.provider) == (
        1, S.QUEUED, DEPLOY, "simulated",
    )  # fmt: skip
    assert (first.commit_sha, first.description, first.previous_id) == ("abc1234", "first", None)
    assert first.requested_by == ADA
    assert first.started_at is None
    assert first.finished_at is None
    await succeed(store, first.id)
    second = await deploy(store, "1.1.0")
    assert (second.number, second.previous_id) == (2, first.id)
    other = await deploy(store, "1.0.0", env="production")
    assert other.number == 1
    history = await store.history([first.id])
    assert [(e.state, e.source) for e in history[first.id]] == [
        (S.QUEUED, "api"), (S.IN_PROGRESS, "provider:t"), (S.SUCCEEDED, "provider:t"),
    ]  # fmt: skip


async def test_unknown_service_or_environment(store: PostgresDeploymentStore) -> None:
    error = await refusal(
        ErrorCode.NOT_FOUND, store.create("nope", "staging", "1", None, None, DEPLOY, ADA)
    )
    assert error.path == ("input", "service")
    error = await refusal(
        ErrorCode.NOT_FOUND, store.create("api", "nope", "1", None, None, DEPLOY, ADA)
    )
    assert error.path == ("input", "environment")
    error = await refusal(
        ErrorCode.VALIDATION, store.create("api", "staging", " ", None, None, DEPLOY, ADA)
    )
    assert error.path == ("input", "version")


async def test_a_frozen_environment_refuses_with_its_reason(
    store: PostgresDeploymentStore,
) -> None:
    protection = await store.freeze("production", "end-of-year freeze")
    assert (protection.frozen, protection.freeze_reason) == (True, "end-of-year freeze")
    error = await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.create("api", "production", "1", None, None, DEPLOY, ADA),
    )
    assert "end-of-year freeze" in error.message
    assert error.path == ("input", "environment")
    await deploy(store, "1")  # staging is not frozen
    protection = await store.unfreeze("production")
    assert (protection.frozen, protection.freeze_reason) == (False, None)
    await deploy(store, "1", env="production")


async def test_one_unfinished_deployment_per_service_and_environment(
    store: PostgresDeploymentStore,
) -> None:
    first = await deploy(store, "1")
    error = await refusal(
        ErrorCode.CONFLICT, store.create("api", "staging", "2", None, None, DEPLOY, BOB)
    )
    assert f"#1 (id {first.id})" in error.message
    assert error.path == ("input", "service")
    await deploy(store, "2", service="web")
    await store.transition(first.id, S.CANCELED, raw_status=None, message=None, source="api")
    await deploy(store, "2")


async def test_concurrent_creates_let_exactly_one_through(
    store: PostgresDeploymentStore, wide_pool: asyncpg.Pool
) -> None:
    wide = PostgresDeploymentStore(wide_pool)
    results = await asyncio.gather(
        *(wide.create("api", "staging", f"1.{n}", None, None, DEPLOY, ADA) for n in range(20)),
        return_exceptions=True,
    )
    created = [result for result in results if isinstance(result, tuple)]
    refused = [result for result in results if isinstance(result, CatalogError)]
    assert len(created) == 1
    assert len(refused) == 19
    assert {error.code for error in refused} == {ErrorCode.CONFLICT}
    assert await store.count(DeploymentFilter()) == 1


async def test_fifty_concurrent_replays_make_one_deployment(
    store: PostgresDeploymentStore, wide_pool: asyncpg.Pool
) -> None:
    wide = PostgresDeploymentStore(wide_pool)
    results = await asyncio.gather(
        *(
            wide.create("api", "staging", "2.0", None, None, DEPLOY, ADA, idempotency_key="k-1")
            for _ in range(50)
        )
    )
    assert len({record.id for record, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 49 + [True]
    assert await store.count(DeploymentFilter()) == 1
    # Replays after the fact, and after a freeze, still answer the first result.
    await store.freeze("staging", "incident")
    again, created = await store.create(
        "api", "staging", "2.0", None, None, DEPLOY, ADA, idempotency_key="k-1"
    )
    assert (again.id, created) == (results[0][0].id, False)
    found = await store.by_idempotency_key(ADA, "k-1")
    assert found is not None
    assert found.id == again.id


async def test_keys_are_kept_beyond_a_day(
    store: PostgresDeploymentStore, pool: asyncpg.Pool
) -> None:
    first, _ = await store.create(
        "api", "staging", "2.0", None, None, DEPLOY, ADA, idempotency_key="nightly-2.0"
    )
    await pool.execute(
        "UPDATE deployments SET created_at = created_at - interval '30 days' WHERE id = $1",
        first.id,
    )
    again, created = await store.create(
        "api", "staging", "2.0", None, None, DEPLOY, ADA, idempotency_key="nightly-2.0"
    )
    assert (again.id, created) == (first.id, False)
    await refusal(
        ErrorCode.CONFLICT,
        store.create(
            "api", "staging", "2.1", None, None, DEPLOY, ADA, idempotency_key="nightly-2.0"
        ),
    )


async def test_a_key_reused_for_other_input_conflicts(store: PostgresDeploymentStore) -> None:
    first, _ = await store.create(
        "api", "staging", "2.0", None, None, DEPLOY, ADA, idempotency_key="k"
    )
    error = await refusal(
        ErrorCode.CONFLICT,
        store.create("api", "staging", "2.1", None, None, DEPLOY, ADA, idempotency_key="k"),
    )
    assert error.path == ("input", "idempotencyKey")
    # On another service x environment too (a different lock: the unique index decides).
    await refusal(
        ErrorCode.CONFLICT,
        store.create("web", "production", "2.0", None, None, DEPLOY, ADA, idempotency_key="k"),
    )
    # Keys are per actor: Bob's `k` is his own.
    bobs, created = await store.create(
        "web", "staging", "2.0", None, None, DEPLOY, BOB, idempotency_key="k"
    )
    assert created
    assert bobs.id != first.id


async def test_concurrent_reuse_of_a_key_on_different_pairs(
    store: PostgresDeploymentStore, wide_pool: asyncpg.Pool
) -> None:
    wide = PostgresDeploymentStore(wide_pool)
    results = await asyncio.gather(
        *(
            wide.create(service, env, "3.0", None, None, DEPLOY, CI, idempotency_key="shared")
            for service in ("api", "web")
            for env in ("staging", "production")
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(result, tuple) for result in results) == 1
    assert all(
        isinstance(result, tuple)
        or (isinstance(result, CatalogError) and result.code is ErrorCode.CONFLICT)
        for result in results
    )
    assert await store.count(DeploymentFilter()) == 1


# --- transitions ------------------------------------------------------------------------


async def test_transitions_set_times_details_and_history(store: PostgresDeploymentStore) -> None:
    queued = await deploy(store, "1")
    started = await store.transition(
        queued.id, S.IN_PROGRESS, raw_status="Progressing", message="rolling out",
        source="provider:k8s", external_id="rs-1", url="https://k8s/x", log_url="https://log",
    )  # fmt: skip
    assert started.started_at is not None
    assert started.finished_at is None
    assert (started.external_id, started.url, started.log_url) == (
        "rs-1", "https://k8s/x", "https://log",
    )  # fmt: skip
    assert (started.raw_status, started.status_message) == ("Progressing", "rolling out")
    same = await store.transition(
        queued.id, S.IN_PROGRESS, raw_status="Progressing", message="2/3 ready", source="p"
    )
    assert same.status_message == "2/3 ready"
    failed = await store.transition(
        queued.id, S.FAILED, raw_status="Degraded", message="crash loop", source="provider:k8s"
    )
    assert failed.finished_at is not None
    assert failed.started_at is not None
    assert failed.finished_at >= failed.started_at
    assert failed.external_id == "rs-1"
    events = (await store.history([queued.id]))[queued.id]
    assert [(e.state, e.raw_status, e.message) for e in events] == [
        (S.QUEUED, None, "requested"),
        (S.IN_PROGRESS, "Progressing", "rolling out"),
        (S.IN_PROGRESS, "Progressing", "2/3 ready"),
        (S.FAILED, "Degraded", "crash loop"),
    ]
    # Terminal: a repeated report changes nothing, another state is refused.
    again = await store.transition(queued.id, S.FAILED, raw_status="x", message="y", source="p")
    assert again == failed
    error = await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.transition(queued.id, S.SUCCEEDED, raw_status=None, message=None, source="p"),
    )
    assert "from FAILED to SUCCEEDED" in error.message
    await refusal(
        ErrorCode.NOT_FOUND,
        store.transition(10**9, S.FAILED, raw_status=None, message=None, source="p"),
    )


async def test_system_transitions_are_not_reportable(store: PostgresDeploymentStore) -> None:
    first = await succeed(store, (await deploy(store, "1")).id)
    error = await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.transition(first.id, S.INACTIVE, raw_status=None, message=None, source="p"),
    )
    assert "only the platform" in error.message


async def test_a_newer_success_makes_the_previous_inactive(store: PostgresDeploymentStore) -> None:
    first = await succeed(store, (await deploy(store, "1")).id)
    second = await deploy(store, "2")
    current = await store.current([first.service_id], [first.environment_id])
    assert current[(first.service_id, first.environment_id)].id == first.id
    await succeed(store, second.id)
    found = await store.by_ids([first.id, second.id])
    assert (found[first.id].state, found[second.id].state) == (S.INACTIVE, S.SUCCEEDED)
    assert found[first.id].finished_at == first.finished_at
    current = await store.current([first.service_id], [first.environment_id])
    assert current[(first.service_id, first.environment_id)].id == second.id
    assert [e.state for e in (await store.history([first.id]))[first.id]][-1] is S.INACTIVE


async def test_a_rollback_marks_what_it_replaced_rolled_back(
    store: PostgresDeploymentStore,
) -> None:
    good = await succeed(store, (await deploy(store, "1")).id)
    bad = await succeed(store, (await deploy(store, "2")).id)
    # Only the current deployment can be rolled back.
    await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.create(
            "api", "staging", "1", None, None, DeploymentKind.ROLLBACK, ADA,
            rollback_of_id=good.id,
        ),
    )  # fmt: skip
    await refusal(
        ErrorCode.VALIDATION,
        store.create("api", "staging", "1", None, None, DeploymentKind.ROLLBACK, ADA),
    )
    rollback, _ = await store.create(
        "api", "staging", good.version, None, None, DeploymentKind.ROLLBACK, ADA,
        rollback_of_id=bad.id,
    )  # fmt: skip
    assert (rollback.kind, rollback.previous_id, rollback.rollback_of_id) == (
        DeploymentKind.ROLLBACK, bad.id, bad.id,
    )  # fmt: skip
    await succeed(store, rollback.id)
    found = await store.by_ids([good.id, bad.id, rollback.id])
    assert [found[d.id].state for d in (good, bad, rollback)] == [
        S.INACTIVE, S.ROLLED_BACK, S.SUCCEEDED,
    ]  # fmt: skip


async def test_a_promotion_comes_from_a_success_elsewhere(store: PostgresDeploymentStore) -> None:
    staged = await deploy(store, "1")
    promote = DeploymentKind.PROMOTION
    await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.create(
            "api", "production", "1", None, None, promote, ADA, promoted_from_id=staged.id
        ),
    )
    await succeed(store, staged.id)
    promoted, _ = await store.create(
        "api", "production", "1", None, None, promote, ADA, promoted_from_id=staged.id
    )
    assert (promoted.kind, promoted.promoted_from_id) == (promote, staged.id)


# --- approvals --------------------------------------------------------------------------


async def test_two_approvals_queue_a_protected_deployment(store: PostgresDeploymentStore) -> None:
    protection = await store.set_protection("production", 2, ["release"], True)
    team_id = protection.approver_team_ids[0]
    assert (protection.required_approvals, protection.prevent_self_approval) == (2, True)
    waiting = await deploy(store, "1", env="production")
    assert waiting.state is S.WAITING_APPROVAL
    error = await refusal(
        ErrorCode.FORBIDDEN, store.approve(waiting.id, ADA, ApprovalDecision.APPROVED, None, None)
    )
    assert isinstance(error, Forbidden)
    await refusal(
        ErrorCode.FORBIDDEN,
        store.approve(waiting.id, BOB, ApprovalDecision.APPROVED, None, [team_id + 1]),
    )
    # Reports cannot skip the approvals.
    await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.transition(waiting.id, S.IN_PROGRESS, raw_status=None, message=None, source="p"),
    )
    await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.transition(waiting.id, S.QUEUED, raw_status=None, message=None, source="p"),
    )
    once = await store.approve(waiting.id, BOB, ApprovalDecision.APPROVED, "lgtm", [team_id])
    assert once.state is S.WAITING_APPROVAL
    await refusal(
        ErrorCode.CONFLICT,
        store.approve(waiting.id, BOB, ApprovalDecision.APPROVED, None, [team_id]),
    )
    twice = await store.approve(waiting.id, CAROL, ApprovalDecision.APPROVED, None, None)
    assert twice.state is S.QUEUED
    approvals = (await store.approvals([waiting.id]))[waiting.id]
    assert [(a.actor, a.decision, a.comment) for a in approvals] == [
        (BOB, ApprovalDecision.APPROVED, "lgtm"), (CAROL, ApprovalDecision.APPROVED, None),
    ]  # fmt: skip
    await refusal(
        ErrorCode.PRECONDITION_FAILED,
        store.approve(waiting.id, CI, ApprovalDecision.APPROVED, None, None),
    )
    assert (await store.history([waiting.id]))[waiting.id][-1].state is S.QUEUED


async def test_a_rejection_cancels(store: PostgresDeploymentStore) -> None:
    await store.set_protection("production", 1, [], False)
    waiting = await deploy(store, "1", env="production")
    canceled = await store.approve(waiting.id, BOB, ApprovalDecision.REJECTED, "not today", None)
    assert canceled.state is S.CANCELED
    assert canceled.finished_at is not None
    assert canceled.status_message == "rejected by Bob: not today"


async def test_self_approval_when_allowed(store: PostgresDeploymentStore) -> None:
    await store.set_protection("production", 1, ["release"], False)
    waiting = await deploy(store, "1", env="production")
    assert (await store.approve(waiting.id, ADA, ApprovalDecision.APPROVED, None, None)).state is (
        S.QUEUED
    )


# --- recorded deployments ---------------------------------------------------------------


async def test_a_report_waits_for_whoever_holds_the_current_deployment(
    store: PostgresDeploymentStore, pool: asyncpg.Pool
) -> None:
    """The current deployment is locked in the statement that finds the target: a report
    waits for a transaction holding that row (without the pair's lock), then sees what it
    committed. Here that transaction replaced it: the report replaces nothing."""
    before, _ = await store.record(RecordedDeployment("api", "staging", "1.0", S.SUCCEEDED), CI)
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM deployments WHERE id = $1 FOR UPDATE", before.id)
        report = asyncio.create_task(
            store.record(RecordedDeployment("api", "staging", "1.1", S.SUCCEEDED), CI)
        )
        await asyncio.sleep(0.3)
        assert not report.done()
        await holder.execute("UPDATE deployments SET state = 'INACTIVE' WHERE id = $1", before.id)
    after, created = await report
    assert created
    assert (after.state, after.previous_id) == (S.SUCCEEDED, None)
    history = (await store.history([before.id]))[before.id]
    assert [event.state for event in history] == [S.SUCCEEDED]


async def test_reports_and_deployments_name_what_does_not_exist(
    store: PostgresDeploymentStore,
) -> None:
    for service, environment, path in (
        ("nope", "staging", "service"),
        ("api", "nope", "environment"),
    ):
        with pytest.raises(CatalogError) as recorded:
            await store.record(RecordedDeployment(service, environment, "1", S.SUCCEEDED), CI)
        with pytest.raises(CatalogError) as created:
            await store.create(service, environment, "1", None, None, DEPLOY, ADA)
        for refused in (recorded.value, created.value):
            assert (refused.code, refused.path) == (ErrorCode.NOT_FOUND, ("input", path))


async def test_recorded_deployments_are_idempotent_by_external_id(
    store: PostgresDeploymentStore,
) -> None:
    committed = datetime(2024, 1, 1, tzinfo=UTC)
    report = RecordedDeployment(
        "api", "staging", "9.0", S.IN_PROGRESS, commit_sha="abcdef1", committed_at=committed,
        external_id="gh-42", url="https://ci/42",
    )  # fmt: skip
    first, created = await store.record(report, CI)
    assert created
    assert (first.kind, first.state, first.provider) == (
        DeploymentKind.RECORDED, S.IN_PROGRESS, "recorded",
    )  # fmt: skip
    assert first.committed_at == committed
    assert first.started_at is not None
    again, created = await store.record(report, CI)
    assert (again.id, created) == (first.id, False)
    done, created = await store.record(
        RecordedDeployment(
            "api", "staging", "9.0", S.SUCCEEDED, commit_sha="abcdef1", external_id="gh-42"
        ),
        CI,
    )
    assert (done.id, done.state, created) == (first.id, S.SUCCEEDED, False)
    assert done.finished_at is not None
    await refusal(
        ErrorCode.CONFLICT,
        store.record(
            RecordedDeployment("api", "staging", "9.1", S.SUCCEEDED, external_id="gh-42"), CI
        ),
    )
    await refusal(
        ErrorCode.VALIDATION,
        store.record(RecordedDeployment("api", "staging", "9.1", S.INACTIVE), CI),
    )
    # A frozen environment still takes reports; a newer success replaces the current one.
    await store.freeze("staging", "freeze")
    newer, _ = await store.record(RecordedDeployment("api", "staging", "9.2", S.SUCCEEDED), CI)
    assert (await store.by_ids([first.id]))[first.id].state is S.INACTIVE
    # A late report of an older success lands as history.
    late, _ = await store.record(
        RecordedDeployment(
            "api", "staging", "8.0", S.SUCCEEDED,
            started_at=committed, finished_at=committed + timedelta(minutes=5),
        ),
        CI,
    )  # fmt: skip
    assert late.state is S.INACTIVE
    assert (await store.by_ids([newer.id]))[newer.id].state is S.SUCCEEDED


# --- auditing ---------------------------------------------------------------------------


async def test_audited_changes_record_one_entry_in_their_transaction(
    store: PostgresDeploymentStore, pool: asyncpg.Pool
) -> None:
    async def audit_count() -> int:
        return int(await pool.fetchval("SELECT count(*) FROM audit_events"))

    def entry(operation: str) -> AuditEntry:
        return AuditEntry(operation, AuditOutcome.ACCEPTED, ActorKind.USER, 1, "Ada")

    before = await audit_count()
    record, _ = await store.audited(entry("deploy")).create(
        "api", "staging", "1", None, None, DEPLOY, ADA
    )
    assert await audit_count() == before + 1
    await refusal(
        ErrorCode.CONFLICT,
        store.audited(entry("deploy")).create("api", "staging", "2", None, None, DEPLOY, ADA),
    )
    assert await audit_count() == before + 1
    await store.audited(entry("cancelDeployment")).transition(
        record.id, S.CANCELED, raw_status=None, message=None, source="api"
    )
    await store.audited(entry("freezeEnvironment")).freeze("production", "x")
    assert await audit_count() == before + 3
    operations = await pool.fetch("SELECT operation FROM audit_events ORDER BY id")
    assert [row["operation"] for row in operations][-3:] == [
        "deploy", "cancelDeployment", "freezeEnvironment",
    ]  # fmt: skip
    # Without an audit entry, nothing is written.
    await store.unfreeze("production")
    assert await audit_count() == before + 3


async def test_an_environment_and_its_provider_and_protection_are_one_audited_change(
    store: PostgresDeploymentStore, pool: asyncpg.Pool
) -> None:
    async def audit_count() -> int:
        return int(await pool.fetchval("SELECT count(*) FROM audit_events"))

    async def stored(slug: str) -> tuple[object, ...] | None:
        row = await pool.fetchrow(
            "SELECT name, version, provider_kind, provider_settings, required_approvals, "
            "prevent_self_approval, ARRAY(SELECT t.slug FROM environment_approver_teams a "
            "JOIN teams t ON t.id = a.team_id WHERE a.environment_id = e.id ORDER BY t.slug) "
            "AS approvers FROM environments e WHERE slug = $1",
            slug,
        )
        return None if row is None else tuple(row)

    create = AuditEntry("createEnvironment", AuditOutcome.ACCEPTED, ActorKind.USER, 1, "Ada")
    update = AuditEntry("updateEnvironment", AuditOutcome.ACCEPTED, ActorKind.USER, 1, "Ada")
    hooks = {"url": "https://hooks", "secretEnv": "HOOK_SECRET"}
    before = await audit_count()
    created = await store.audited(create).create_environment(
        EnvironmentDraft("qa", "QA", EnvironmentTier.TESTING),
        ProviderChoice("webhook", hooks),
        ProtectionChoice(2, ("release",), False),
    )
    assert (created.slug, created.version) == ("qa", 1)
    assert await stored("qa") == ("QA", 1, "webhook", hooks, 2, False, ["release"])
    assert await audit_count() == before + 1

    # Any part refused: nothing of the change is written, and nothing is recorded (the caller
    # records the refusal).
    await refusal(
        ErrorCode.NOT_FOUND,
        store.audited(create).create_environment(
            EnvironmentDraft("uat", "UAT", EnvironmentTier.TESTING),
            ProviderChoice("simulated", {}),
            ProtectionChoice(1, ("release", "ghosts"), True),
        ),
    )
    await refusal(
        ErrorCode.CONFLICT,
        store.audited(create).create_environment(
            EnvironmentDraft("qa", "QA again", EnvironmentTier.TESTING),
            ProviderChoice("simulated", {}),
            None,
        ),
    )
    await refusal(
        ErrorCode.NOT_FOUND,
        store.audited(update).update_environment(
            "qa", 1, EnvironmentPatch(name="QA 2"), ProviderChoice("simulated", {}),
            ProtectionChoice(0, ("ghosts",), True),
        ),
    )  # fmt: skip
    assert await stored("uat") is None
    assert await stored("qa") == ("QA", 1, "webhook", hooks, 2, False, ["release"])
    assert await audit_count() == before + 1

    # Accepted: one new version for all of it; what is not given stays.
    updated = await store.audited(update).update_environment(
        "qa", 1, EnvironmentPatch(name="QA 2"), ProviderChoice("simulated", {}), None
    )
    assert (updated.name, updated.version) == ("QA 2", 2)
    assert await stored("qa") == ("QA 2", 2, "simulated", {}, 2, False, ["release"])
    await store.audited(update).update_environment(
        "qa", None, EnvironmentPatch(), None, ProtectionChoice(0, (), True)
    )
    assert await stored("qa") == ("QA 2", 3, "simulated", {}, 0, True, [])
    await refusal(
        ErrorCode.CONFLICT,
        store.audited(update).update_environment("qa", 2, EnvironmentPatch(), None, None),
    )
    assert await audit_count() == before + 3
    operations = await pool.fetch("SELECT operation FROM audit_events ORDER BY id")
    assert [row["operation"] for row in operations][-3:] == [
        "createEnvironment", "updateEnvironment", "updateEnvironment",
    ]  # fmt: skip


async def test_a_deployment_keeps_the_provider_it_was_created_with(
    store: PostgresDeploymentStore, pool: asyncpg.Pool
) -> None:
    hooks = {"url": "https://hooks", "secretEnv": "HOOK_SECRET"}
    await store.set_provider("staging", "webhook", hooks)
    first = await deploy(store, "1")
    await store.set_provider("staging", "simulated", {"durationSeconds": 1})
    second = await deploy(store, "1", service="web")
    recorded, _ = await store.record(
        RecordedDeployment("api", "production", "9", S.SUCCEEDED, external_id="ci-9"), CI
    )
    providers = await store.deployment_providers([first.id, second.id, recorded.id, 999])
    assert providers.keys() == {first.id, second.id}
    assert (first.provider, providers[first.id].kind) == ("webhook", "webhook")
    assert dict(providers[first.id].settings) == hooks
    assert providers[first.id].environment_id == first.environment_id
    assert (second.provider, providers[second.id].kind) == ("simulated", "simulated")
    assert dict(providers[second.id].settings) == {"durationSeconds": 1}


# --- reads ------------------------------------------------------------------------------


async def test_listings_newest_first_with_filters_and_cursors(
    store: PostgresDeploymentStore,
) -> None:
    made = []
    for version in ("1", "2", "3"):
        record = await deploy(store, version)
        made.append(await succeed(store, record.id))
    made.append(await deploy(store, "1", service="web", env="production"))
    page = await store.page(PageRequest(first=2), DeploymentFilter())
    assert [edge.node.id for edge in page.edges] == [made[3].id, made[2].id]
    assert page.has_next_page
    rest = await store.page(PageRequest(first=5, after=page.end_cursor), DeploymentFilter())
    assert [edge.node.id for edge in rest.edges] == [made[1].id, made[0].id]
    staging = DeploymentFilter(service="api", states=(S.INACTIVE,))
    assert [e.node.id for e in (await store.page(PageRequest(first=5), staging)).edges] == [
        made[1].id, made[0].id,
    ]  # fmt: skip
    assert await store.count(DeploymentFilter(environment="production")) == 1
    assert await store.count(DeploymentFilter(environment="nowhere")) == 0
    api, web = made[0].service_id, made[3].service_id
    pages = await store.service_pages([api, web], PageRequest(first=1), DeploymentFilter())
    assert [pages[api].edges[0].node.id, pages[web].edges[0].node.id] == [made[2].id, made[3].id]
    assert pages[api].has_next_page
    by_env = await store.environment_pages(
        [made[3].environment_id], PageRequest(first=5), DeploymentFilter()
    )
    assert [e.node.id for e in by_env[made[3].environment_id].edges] == [made[3].id]
    pending = await store.pending([api, web], [made[0].environment_id, made[3].environment_id])
    assert pending == {(web, made[3].environment_id): [made[3]]}
    assert [d.id for d in await store.unfinished()] == [made[3].id]


async def test_environment_settings_reads(
    store: PostgresDeploymentStore, pool: asyncpg.Pool
) -> None:
    ids = {row["slug"]: row["id"] for row in await pool.fetch("SELECT id, slug FROM environments")}
    version = await pool.fetchval("SELECT version FROM environments WHERE slug = 'production'")
    await store.set_provider("production", "webhook", {"url": "https://hooks", "secretEnv": "X"})
    await store.set_protection("production", 1, ["release"], False)
    await store.freeze("production", "audit")
    providers = await store.providers(list(ids.values()))
    assert (providers[ids["production"]].kind, dict(providers[ids["production"]].settings)) == (
        "webhook", {"url": "https://hooks", "secretEnv": "X"},
    )  # fmt: skip
    assert providers[ids["staging"]].kind == "simulated"
    protection = await store.protection(list(ids.values()))
    production = protection[ids["production"]]
    assert (production.required_approvals, production.frozen, production.freeze_reason) == (
        1, True, "audit",
    )  # fmt: skip
    assert len(production.approver_team_ids) == 1
    assert protection[ids["staging"]].approver_team_ids == ()
    assert (
        await pool.fetchval("SELECT version FROM environments WHERE slug = 'production'")
        == version + 3
    )
    await refusal(ErrorCode.NOT_FOUND, store.set_protection("production", 1, ["ghosts"], True))
    await refusal(ErrorCode.VALIDATION, store.set_provider("production", "Bad Kind", {}))
    await refusal(ErrorCode.NOT_FOUND, store.freeze("nowhere", "x"))


# --- release matrix ---------------------------------------------------------------------


async def test_release_matrix_shape_and_statement_count(
    store: PostgresDeploymentStore, migrated_url: str
) -> None:
    from domain.catalog.services import ServiceFilter
    from tests.support.statements import StatementLog

    live = await succeed(store, (await deploy(store, "1")).id)
    waiting = await deploy(store, "2")
    prod = await succeed(store, (await deploy(store, "1", service="web", env="production")).id)
    log = StatementLog()
    logged = await create_pool(migrated_url, min_size=1, max_size=1, query_logger=log.record)
    try:
        counting = PostgresDeploymentStore(logged)
        await counting.release_matrix(PageRequest(first=1), ServiceFilter())  # warm the types
        with log.capture() as statements:
            page = await counting.release_matrix(
                PageRequest(first=1), ServiceFilter(), ["production", "staging"]
            )
        assert len(statements) == 2
        with log.capture() as statements:
            rest = await counting.release_matrix(
                PageRequest(first=50, after=page.end_cursor), ServiceFilter()
            )
        assert len(statements) == 2
    finally:
        await logged.close()
    assert page.has_next_page
    (row,) = [edge.node for edge in page.edges]
    assert row.service.slug == "api"
    assert [cell.environment.slug for cell in row.cells] == ["production", "staging"]
    assert [cell.current for cell in row.cells] == [None, live]
    assert [cell.pending for cell in row.cells] == [(), (waiting,)]
    (web,) = [edge.node for edge in rest.edges]
    assert web.service.slug == "web"
    # Without a list: every environment, staging before production.
    assert [(c.environment.slug, c.current) for c in web.cells] == [
        ("staging", None), ("production", prod),
    ]  # fmt: skip
    await refusal(
        ErrorCode.NOT_FOUND, store.release_matrix(PageRequest(first=5), ServiceFilter(), ["x"])
    )
