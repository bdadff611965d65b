"""Resource classes, templates and resources written straight through the resource store, for
the read tests: over an existing catalog (services, environments, teams, users), resources of
several services, environments, classes and requesters, in every state, with approvals,
history, outputs and secret references, and JSON values that are awkward to render."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from itertools import cycle
from typing import Any

import asyncpg

from domain.access.model import ActorKind
from domain.deployments.model import ApprovalDecision, Requester
from domain.resources.model import (
    ResourceClassDraft,
    ResourceClassRecord,
    ResourceDraft,
    ResourceRecord,
    ResourceState,
    SecretRef,
    TemplateDraft,
    TemplateResource,
)
from providers.postgres.resources.store import PostgresResourceStore

S = ResourceState
LOCAL_ADMIN = Requester(ActorKind.LOCAL_ADMIN, None, "local admin")
GONE = Requester(ActorKind.USER, 999_999, "Gone Person")
STATES = (
    S.READY, S.REQUESTED, S.WAITING_APPROVAL, S.PROVISIONING, S.UPDATING, S.FAILED, S.DELETING,
    S.DELETED,
)  # fmt: skip
AWKWARD_JSON: dict[str, Any] = {
    "label": 'quote " backslash \\ new\nline é 東京 🚀',
    "ratio": 0.1,
    "whole": 1.0,
    "negative": -17,
    "big": 9_007_199_254_740_993,
    "tiny": 1e-7,
    "nothing": None,
    "flags": [True, False, None, [], {}],
    "nested": {"b": {"c": [1, 2.5, "x"]}, "a": ""},
}
"""Text, numbers, nulls and nesting the two read paths must render alike."""


async def seed_resources(
    pool: asyncpg.Pool, services: int = 6, *, prefix: str = ""
) -> PostgresResourceStore:
    """Three classes, three templates and `services` x (up to) three environments resources,
    over the catalog in the tables (at least one service, environment, team and user); the
    slugs of classes and templates start with `prefix` (beside a catalog that has its own)."""
    store = PostgresResourceStore(pool)
    service_ids = [row["id"] for row in await _ids(pool, "services", services)]
    environment_ids = [row["id"] for row in await _ids(pool, "environments", 3)]
    team_ids = [row["id"] for row in await _ids(pool, "teams", 3)]
    users = await pool.fetch("SELECT id, name FROM users ORDER BY id LIMIT 2")
    clients = await pool.fetch("SELECT id, name FROM api_clients ORDER BY id LIMIT 1")
    requesters = [
        *(Requester(ActorKind.USER, row["id"], row["name"]) for row in users),
        *(Requester(ActorKind.CLIENT, row["id"], row["name"]) for row in clients),
        LOCAL_ADMIN,
        GONE,
    ]
    classes = await _classes(store, environment_ids, team_ids, prefix)
    await _templates(store, classes, environment_ids, prefix)
    states = cycle(STATES)
    who = cycle(requesters)
    for index, service_id in enumerate(service_ids):
        for offset, environment_id in enumerate(environment_ids):
            resource_class = classes[(index + offset) % len(classes)]
            draft = ResourceDraft(
                name=f"{resource_class.type}-{index % 2}",
                service_id=service_id,
                environment_id=environment_id,
                class_id=resource_class.id,
                parameters={"size": "SML"[index % 3], "index": index, **AWKWARD_JSON},
                required_approvals=0,
                requester=next(who),
            )
            await _in_state(store, draft, next(states), requesters)
    # Several in one service and environment, sorted by name; a name taken again once DELETED.
    for name, state in (("alpha", S.DELETED), ("zeta", S.READY), ("alpha", S.REQUESTED)):
        draft = ResourceDraft(
            name, service_ids[0], environment_ids[0], classes[0].id, {"index": 0}, 0, LOCAL_ADMIN
        )
        await _in_state(store, draft, state, requesters)
    return store


async def _ids(pool: asyncpg.Pool, table: str, limit: int) -> list[asyncpg.Record]:
    found = await pool.fetch(f"SELECT id FROM {table} ORDER BY id LIMIT $1", limit)
    assert found, f"seed_resources needs {table}"
    return list(found)


async def _classes(
    store: PostgresResourceStore,
    environment_ids: Sequence[int],
    team_ids: Sequence[int],
    prefix: str,
) -> list[ResourceClassRecord]:
    schema = {"type": "object", "properties": {"size": {"enum": ["S", "M", "L"]}}}
    return [
        await store.create_class(
            ResourceClassDraft(
                slug=f"{prefix}postgres", name="PostgreSQL", type="postgres", provider_kind="simulated",
                provider_settings={"durationSeconds": 0}, parameters_schema=schema,
                defaults={"size": "S", "version": 16}, description="Managed 'PostgreSQL'",
            )
        ),
        await store.create_class(
            ResourceClassDraft(
                slug=f"{prefix}redis", name="Redis", type="redis", provider_kind="webhook",
                provider_settings={"url": "https://hooks.example/redis"},
                parameters_schema={**schema, "description": AWKWARD_JSON["label"]},
                environment_ids=tuple(reversed(environment_ids[-2:])), requires_approval=True,
                approver_team_ids=tuple(reversed(team_ids[:2])),
            )
        ),
        await store.create_class(
            ResourceClassDraft(
                slug=f"{prefix}bucket", name="Bucket", type="bucket", provider_kind="crossplane",
                provider_settings={}, parameters_schema={"type": "object"},
                defaults=AWKWARD_JSON, environment_ids=tuple(environment_ids[:1]),
            )
        ),
    ]  # fmt: skip


async def _templates(
    store: PostgresResourceStore,
    classes: Sequence[ResourceClassRecord],
    environment_ids: Sequence[int],
    prefix: str,
) -> None:
    postgres, redis, _ = classes
    await store.create_template(
        TemplateDraft(
            slug=f"{prefix}python-http", name="Python HTTP service",
            parameters_schema={"type": "object", "properties": {"size": {"default": "S"}}},
            service={"lifecycle": "PRODUCTION", "tags": ["python", "http"], "tier": "${tier}"},
            environment_ids=tuple(reversed(environment_ids)),
            resources=(
                TemplateResource(redis.id, "cache", AWKWARD_JSON),
                TemplateResource(postgres.id, "db", {"size": "${size}"}),
            ),
            first_version="1.0.0", description="The golden path",
        )
    )  # fmt: skip
    await store.create_template(
        TemplateDraft(slug=f"{prefix}bare", name="Bare", parameters_schema={"type": "object"})
    )
    await store.create_template(
        TemplateDraft(
            slug=f"{prefix}worker", name="Worker", parameters_schema={},
            environment_ids=tuple(environment_ids[:1]),
            resources=(TemplateResource(postgres.id, "db"),), first_version="0.1.0",
        )
    )  # fmt: skip


async def _in_state(
    store: PostgresResourceStore,
    draft: ResourceDraft,
    state: ResourceState,
    requesters: Sequence[Requester],
) -> ResourceRecord:
    """A new resource brought to `state` the way its provider and users would."""
    waiting = state is S.WAITING_APPROVAL
    if waiting:
        draft = dataclasses.replace(draft, required_approvals=len(requesters) + 1)
    rejected = state is S.FAILED and draft.parameters["index"] % 2 == 1
    if rejected:
        draft = dataclasses.replace(draft, required_approvals=2)
    record, _ = await store.request(draft)
    if waiting:
        for actor in requesters:  # every kind of actor, none enough to approve it
            await store.decide(record.id, actor, ApprovalDecision.APPROVED, "fine by me", False)
        return record
    if rejected:
        approver, rejecter = requesters[-2:]
        await store.decide(record.id, approver, ApprovalDecision.APPROVED, None, False)
        return await store.decide(record.id, rejecter, ApprovalDecision.REJECTED, "no", False)
    if state is S.REQUESTED:
        return record
    if state is S.DELETED:
        return await store.request_delete(record.id, None)
    record = await store.transition(
        record.id, S.PROVISIONING, message="building", source="provider:simulated"
    )
    if state is S.PROVISIONING:
        return record
    if state is S.FAILED:
        return await store.transition(
            record.id, S.FAILED, message='quota "exceeded"\nretry later', source="provider:sim"
        )
    record = await store.transition(
        record.id, S.READY, message="ready", source="provider:simulated",
        outputs={"host": f"{draft.name}.internal", "port": 5432, **AWKWARD_JSON},
        secret_refs=[SecretRef(f"{draft.name}-creds", "kubernetes", "password"),
                     SecretRef("shared", "vault")],
    )  # fmt: skip
    if state is S.UPDATING:
        return await store.update_parameters(record.id, None, {**draft.parameters, "size": "L"})
    if state is S.DELETING:
        return await store.request_delete(record.id, None)
    return record
