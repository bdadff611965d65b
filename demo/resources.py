"""Loads Acme's self-service infrastructure (`demo/self_service.py` plans it) through the
resource store's methods: the classes and the template, then every step of every resource in
time order, as the use cases and the provisioning runner make them (a template run is
`create_service_with_resources`, a request `request`, an approval `decide`, a provider's
answer `transition`, a deletion `request_delete`; a resource READY in the template's first
environment takes its service's first deployment, `due_first_deployments`). Each step's result
is checked against the plan.

The store stamps every change with the database's clock; the demo's history happened before
the load, so once everything is written the planned times are set on the classes, the
template, the services made from it, the resources, their history and their approvals.

Run it inside the demo's one transaction (`demo/organisation.py`): it writes through the
store, whose changes are savepoints there.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from demo.history import FirstRelease
from demo.self_service import (
    CLASSES,
    TEMPLATE,
    Action,
    DemoClass,
    PlannedResource,
    PlannedRun,
    SelfServicePlan,
    Step,
    plan_self_service,
)
from domain.access.model import ActorKind
from domain.deployments.model import ApprovalDecision, InvalidProviderSettings, Requester
from domain.resources import parameters as p
from domain.resources.model import (
    ProvisionRequest,
    ResourceClassDraft,
    ResourceDraft,
    ResourceRecord,
    ResourceState,
    TemplateDraft,
    TemplateResource,
)
from domain.resources.outputs import without_secrets
from domain.resources.ports import FirstDeployment
from providers.postgres.reads import PostgresCatalogReader
from providers.postgres.resources import PostgresResourceStore
from providers.postgres.writes.common import Connection
from providers.resources.registry import validate_settings
from providers.resources.simulated_outputs import ready_outputs

_FIRST_DEPLOYMENT_AFTER = timedelta(seconds=0.3)
"""How soon after its last resource became READY the runner made a first deployment."""


def check_class(demo_class: DemoClass) -> None:
    """What saving a class checks, short of the network: its schema, its defaults, its
    provider settings (ValueError naming the class)."""
    where = f"demo resource class {demo_class.slug}"
    p.check_schema(demo_class.parameters_schema, ["parametersSchema"])
    problems = [
        problem
        for problem in p.validate(demo_class.parameters_schema, demo_class.defaults, ["defaults"])
        if "is a required property" not in problem.message
    ]
    if problems:
        raise ValueError(f"{where}: {problems[0].message}")
    try:
        validate_settings(demo_class.provider_kind, demo_class.provider_settings)
    except InvalidProviderSettings as refused:
        raise ValueError(f"{where}: {refused.message}") from None


@dataclass(frozen=True, slots=True)
class LoadedSelfService:
    resources: int
    first_releases: dict[int, FirstRelease]
    """By service id: the first deployments of the services made from the template."""


@dataclass(slots=True)
class _Ids:
    environments: dict[str, int]
    teams: dict[str, int]
    users: dict[str, Requester]
    services: dict[str, int]
    classes: dict[str, int] = field(default_factory=dict)
    resources: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(service, environment, name) -> resource id."""


class _Loader:
    def __init__(self, pool: asyncpg.Pool, plan: SelfServicePlan, ids: _Ids) -> None:
        self.store = PostgresResourceStore(pool)
        self.plan = plan
        self.ids = ids
        self.first_releases: dict[int, FirstRelease] = {}

    async def catalog(self) -> None:
        ids = self.ids
        for demo_class in CLASSES:
            check_class(demo_class)
            created = await self.store.create_class(
                ResourceClassDraft(
                    slug=demo_class.slug,
                    name=demo_class.name,
                    type=demo_class.type,
                    provider_kind=demo_class.provider_kind,
                    provider_settings=demo_class.provider_settings,
                    parameters_schema=demo_class.parameters_schema,
                    defaults=demo_class.defaults,
                    description=demo_class.description,
                    environment_ids=tuple(ids.environments[e] for e in demo_class.environments),
                    requires_approval=demo_class.requires_approval,
                    approver_team_ids=tuple(ids.teams[t] for t in demo_class.approver_teams),
                )
            )
            ids.classes[demo_class.slug] = created.id
        await self.store.create_template(
            TemplateDraft(
                slug=TEMPLATE.slug,
                name=TEMPLATE.name,
                description=TEMPLATE.description,
                parameters_schema=TEMPLATE.parameters_schema,
                service=TEMPLATE.service,
                environment_ids=tuple(ids.environments[e] for e in TEMPLATE.environments),
                resources=tuple(
                    TemplateResource(ids.classes[r.resource_class], r.name, r.parameters)
                    for r in TEMPLATE.resources
                ),
                first_version=TEMPLATE.first_version,
            )
        )

    def draft(self, planned: PlannedResource, service_id: int) -> ResourceDraft:
        return ResourceDraft(
            name=planned.name,
            service_id=service_id,
            environment_id=self.ids.environments[planned.environment],
            class_id=self.ids.classes[planned.resource_class.slug],
            parameters=planned.parameters,
            required_approvals=planned.required_approvals,
            requester=self.ids.users[planned.requester],
        )

    async def run(self, planned: PlannedRun) -> None:
        """The template run: the service and all its resources, and its first deployment
        remembered until its resources in the first environment are READY."""
        requester = self.ids.users[planned.run.requester]
        first = []
        if TEMPLATE.first_version is not None:
            target = self.ids.environments[TEMPLATE.environments[0]]
            first.append(FirstDeployment(0, target, TEMPLATE.first_version, requester))
        service, made, _ = await self.store.create_service_with_resources(
            planned.service, [self.draft(r, 0) for r in planned.resources], first, None, None
        )
        self.ids.services[service.slug] = service.id
        for resource, record in zip(planned.resources, made, strict=True):
            self.remember(resource, record)

    async def request(self, planned: PlannedResource) -> None:
        draft = self.draft(planned, self.ids.services[planned.service])
        record, _ = await self.store.request(draft)
        self.remember(planned, record)

    def remember(self, planned: PlannedResource, record: ResourceRecord) -> None:
        where = (record.name, record.environment_id)
        if where != (planned.name, self.ids.environments[planned.environment]):
            raise RuntimeError(f"demo resource {planned.name}: the store made {record.name}")
        _check_state(planned, planned.steps[0], record)
        self.ids.resources[(planned.service, planned.environment, planned.name)] = record.id

    async def step(self, planned: PlannedResource, step: Step) -> None:
        resource_id = self.ids.resources[(planned.service, planned.environment, planned.name)]
        store = self.store
        if step.action is Action.APPROVE:
            assert step.actor is not None
            approver = self.ids.users[step.actor]
            moved = await store.decide(
                resource_id, approver, ApprovalDecision.APPROVED, None, prevent_self_approval=True
            )
        elif step.action is Action.DELETE:
            moved = await store.request_delete(resource_id, None)
        else:
            outputs, refs = None, None
            if step.state is ResourceState.READY:
                outputs, refs = ready_outputs(self.provision_request(planned, resource_id))
            moved = await store.transition(
                resource_id, step.state, message=step.message,
                source=f"provider:{planned.resource_class.provider_kind}",
                outputs=None if outputs is None else without_secrets(outputs), secret_refs=refs,
            )  # fmt: skip
        _check_state(planned, step, moved)
        if moved.state is ResourceState.READY and planned.environment == TEMPLATE.environments[0]:
            await self.first_deployments(moved.service_id, step.at)

    def provision_request(self, planned: PlannedResource, resource_id: int) -> ProvisionRequest:
        resource_class = planned.resource_class
        return ProvisionRequest(
            resource_id, planned.name, planned.service, planned.environment, resource_class.slug,
            resource_class.type, planned.parameters, resource_class.provider_settings,
        )  # fmt: skip

    async def first_deployments(self, service_id: int, ready_at: datetime) -> None:
        for due in await self.store.due_first_deployments(service_id):
            at = ready_at + _FIRST_DEPLOYMENT_AFTER
            self.first_releases[service_id] = FirstRelease(due.version, due.requester, at)


def _check_state(planned: PlannedResource, step: Step, record: ResourceRecord) -> None:
    if record.state is not step.state:
        raise RuntimeError(
            f"demo resource {planned.service}/{planned.environment}/{planned.name}: "
            f"{step.action.value} left it {record.state.value}, not {step.state.value}"
        )


def _work(loader: _Loader) -> list[tuple[datetime, Callable[[], Awaitable[None]]]]:
    """Every write of the plan after the catalog's, in time order."""
    work: list[tuple[datetime, Callable[[], Awaitable[None]]]] = []
    for run in loader.plan.runs:
        work.append((run.at, functools.partial(loader.run, run)))
        work.extend(
            (s.at, functools.partial(loader.step, r, s)) for r in run.resources for s in r.steps[1:]
        )
    for asked in loader.plan.requests:
        work.append((asked.requested_at, functools.partial(loader.request, asked)))
        work.extend((s.at, functools.partial(loader.step, asked, s)) for s in asked.steps[1:])
    work.sort(key=lambda item: item[0])  # stable: a run before its resources' next steps
    return work


async def load_self_service(pool: asyncpg.Pool, now: datetime | None = None) -> LoadedSelfService:
    """Write the plan ending at `now` (default: the database's clock); what was loaded."""
    async with pool.acquire() as connection:
        if now is None:
            now = await connection.fetchval("SELECT now()")
        assert now is not None
    plan = plan_self_service(now)
    loader = _Loader(pool, plan, await _ids(pool, plan))
    await loader.catalog()
    for _, write in _work(loader):
        await write()
    made = {run.run.slug: loader.ids.services[run.run.slug] for run in plan.runs}
    missing = [slug for slug, service in made.items() if service not in loader.first_releases]
    if TEMPLATE.first_version is not None and missing:
        raise RuntimeError(f"demo services {missing} never had their first deployment")
    async with pool.acquire() as connection:
        await _set_times(connection, plan, loader.ids)
    return LoadedSelfService(len(plan.resources()), loader.first_releases)


async def _ids(pool: asyncpg.Pool, plan: SelfServicePlan) -> _Ids:
    reader = PostgresCatalogReader(pool)
    resources = plan.resources()
    environments = {e for c in CLASSES for e in c.environments} | set(TEMPLATE.environments)
    environments |= {r.environment for r in resources}
    handles = {r.requester for r in resources}
    handles |= {s.actor for r in resources for s in r.steps if s.actor is not None}
    teams = {t for c in CLASSES for t in c.approver_teams}
    found_environments = await reader.environments_by_slug(sorted(environments))
    found_users = await reader.users_by_handle(sorted(handles))
    found_teams = await reader.teams_by_slug(sorted(teams))
    found_services = await reader.services_by_slug(sorted({r.service for r in plan.requests}))
    missing = (environments - set(found_environments)) | (handles - set(found_users))
    missing |= teams - set(found_teams)
    missing |= {r.service for r in plan.requests} - set(found_services)
    if missing:
        raise ValueError(f"the demo's resources need {sorted(missing)} in the catalog")
    return _Ids(
        environments={slug: e.id for slug, e in found_environments.items()},
        teams={slug: t.id for slug, t in found_teams.items()},
        users={h: Requester(ActorKind.USER, u.id, u.name) for h, u in found_users.items()},
        services={slug: s.id for slug, s in found_services.items()},
    )


_CLASS_TIMES = """
UPDATE resource_classes c SET created_at = t.at, updated_at = t.at
FROM unnest($1::text[], $2::timestamptz[]) AS t(slug, at) WHERE c.slug = t.slug
"""
_TEMPLATE_TIMES = "UPDATE templates SET created_at = $2, updated_at = $2 WHERE slug = $1"
_SERVICE_TIMES = """
UPDATE services s SET created_at = t.at, updated_at = t.at
FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, at) WHERE s.id = t.id
"""
_RESOURCE_TIMES = """
UPDATE resources r SET created_at = t.created, updated_at = t.updated, ready_at = t.ready
FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[])
     AS t(id, created, updated, ready)
WHERE r.id = t.id
"""
_HISTORY_TIMES = """
WITH numbered AS (
    SELECT id, resource_id, row_number() OVER (PARTITION BY resource_id ORDER BY id) AS n
    FROM resource_status_events WHERE resource_id = ANY($1::bigint[])
), planned AS (
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS t(resource_id, n, at)
)
UPDATE resource_status_events e SET at = planned.at
FROM numbered JOIN planned USING (resource_id, n) WHERE e.id = numbered.id
"""
_APPROVAL_TIMES = """
UPDATE resource_approvals a SET at = t.at
FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[]) AS t(resource_id, actor_id, at)
WHERE a.resource_id = t.resource_id AND a.actor_id = t.actor_id
"""


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


async def _set_times(connection: Connection, plan: SelfServicePlan, ids: _Ids) -> None:
    """The planned times on everything the store stamped with its clock; RuntimeError when
    the history written is not the history planned, step for step."""
    await connection.execute(
        _CLASS_TIMES, [c.slug for c in CLASSES], [plan.now - c.age for c in CLASSES]
    )
    await connection.execute(_TEMPLATE_TIMES, TEMPLATE.slug, plan.now - TEMPLATE.age)
    await connection.execute(
        _SERVICE_TIMES, [ids.services[r.run.slug] for r in plan.runs], [r.at for r in plan.runs]
    )
    resources: list[tuple[int, datetime, datetime, datetime | None]] = []
    history: list[tuple[int, int, datetime]] = []
    approvals: list[tuple[int, int | None, datetime]] = []
    for planned in plan.resources():
        resource_id = ids.resources[(planned.service, planned.environment, planned.name)]
        ready = next((s.at for s in planned.steps if s.state.value == "READY"), None)
        resources.append((resource_id, planned.requested_at, planned.steps[-1].at, ready))
        history.extend((resource_id, n, s.at) for n, s in enumerate(planned.steps, 1))
        approvals.extend(
            (resource_id, ids.users[s.actor].actor_id, s.at)
            for s in planned.steps
            if s.actor is not None
        )
    await connection.execute(_RESOURCE_TIMES, *_columns(resources, 4))
    written = await connection.fetchval(
        "SELECT count(*) FROM resource_status_events WHERE resource_id = ANY($1::bigint[])",
        [row[0] for row in resources],
    )
    changed = await connection.execute(_HISTORY_TIMES, *_columns(history, 3))
    if written != len(history) or changed != f"UPDATE {len(history)}":
        raise RuntimeError(
            f"the demo planned {len(history)} resource states and {written} were written"
        )
    await connection.execute(_APPROVAL_TIMES, *_columns(approvals, 3))
