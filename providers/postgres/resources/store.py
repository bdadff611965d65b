"""The resource store on PostgreSQL (the `ResourceStore` port).

Every change is one transaction (`AuditedTransactions`): with an audit entry (`audited`), each
call that returns (idempotent replays included) records the entry once in that transaction,
with the events the change emitted; a refused call records nothing (the caller audits
refusals). Provisioning leases (`claim`, `renew`, `release`; see `leases.py`) and taking the
due first deployments are bookkeeping of the processes: no audit, no event.

Idempotency keys are unique per requesting actor (kind and id): one namespace for resource
requests, another for services made from templates. The same key for another input (another
fingerprint) is a CONFLICT at `idempotencyKey`; a key lives as long as its resource (or
service).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from domain.catalog.services import ServiceDraft, ServiceRecord
from domain.deployments.model import ApprovalDecision, Requester
from domain.events.changes import as_json
from domain.resources.model import (
    ResourceClassDraft,
    ResourceClassPatch,
    ResourceClassRecord,
    ResourceDraft,
    ResourceRecord,
    ResourceState,
    SecretRef,
    TemplateDraft,
    TemplatePatch,
    TemplateRecord,
)
from domain.resources.ports import FirstDeployment
from providers.postgres.audited import AuditedStore
from providers.postgres.deployments import checks
from providers.postgres.resources import (
    approvals,
    changes,
    classes,
    leases,
    requests,
    templates,
    transitions,
)
from providers.postgres.resources.reads import ResourceReader
from providers.postgres.resources.rows import locked_resource
from providers.postgres.writes.common import Connection

T = TypeVar("T")


def _fingerprint(
    idempotency_key: str | None, given: Mapping[str, Any] | None, default: Any
) -> str | None:
    """The SHA-256 that tells a replay from another use of the key: of `given` (the client's
    own input) or else of `default` (the arguments themselves); None without a key."""
    if idempotency_key is None:
        return None
    return checks.fingerprint(as_json(given if given is not None else default))


class PostgresResourceStore(AuditedStore, ResourceReader):
    """`PostgresResourceStore(pool, audit_log=None, *, transactions=None)`."""

    async def _change(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        return await self._transactions.run(work)

    # --- classes and templates ------------------------------------------------------------

    async def create_class(self, draft: ResourceClassDraft) -> ResourceClassRecord:
        return await self._change(lambda c: classes.create_class(c, draft))

    async def update_class(
        self, slug: str, expected_version: int | None, patch: ResourceClassPatch
    ) -> ResourceClassRecord:
        return await self._change(lambda c: classes.update_class(c, slug, expected_version, patch))

    async def delete_class(self, slug: str) -> ResourceClassRecord:
        return await self._change(lambda c: classes.delete_class(c, slug))

    async def create_template(self, draft: TemplateDraft) -> TemplateRecord:
        return await self._change(lambda c: templates.create_template(c, draft))

    async def update_template(
        self, slug: str, expected_version: int | None, patch: TemplatePatch
    ) -> TemplateRecord:
        return await self._change(
            lambda c: templates.update_template(c, slug, expected_version, patch)
        )

    async def delete_template(self, slug: str) -> TemplateRecord:
        return await self._change(lambda c: templates.delete_template(c, slug))

    # --- resources ------------------------------------------------------------------------

    async def request(
        self, draft: ResourceDraft, fingerprint: Mapping[str, Any] | None = None
    ) -> tuple[ResourceRecord, bool]:
        """`fingerprint`: the input that defines "the same request" (by default the draft's
        name, service, environment, class and parameters)."""
        checks.idempotency_key(draft.idempotency_key)
        default = {
            "name": draft.name, "service": draft.service_id,
            "environment": draft.environment_id, "class": draft.class_id,
            "parameters": draft.parameters,
        }  # fmt: skip
        digest = _fingerprint(draft.idempotency_key, fingerprint, default)
        return await self._change(lambda c: requests.request(c, draft, digest))

    async def create_service_with_resources(
        self,
        service: ServiceDraft,
        resources: Sequence[ResourceDraft],
        first_deployments: Sequence[FirstDeployment],
        idempotency_key: str | None,
        fingerprint: Mapping[str, Any] | None,
        *,
        requester: Requester | None = None,
    ) -> tuple[ServiceRecord, list[ResourceRecord], bool]:
        """The drafts' `service_id`s are ignored: their service is the new one. The key
        belongs to `requester`, by default the requester of the first resource or first
        deployment, else the actor of the audit entry (one of them is needed with a key).
        `fingerprint` by default: the service draft and the resources and first deployments
        asked for."""
        checks.idempotency_key(idempotency_key)
        who = requester or self._requester_of(resources, first_deployments)
        if idempotency_key is not None and who is None:
            raise ValueError("an idempotency key needs a requester")
        default = {
            "service": service,
            "resources": [
                {"name": r.name, "environment": r.environment_id, "class": r.class_id,
                 "parameters": r.parameters}
                for r in resources
            ],
            "firstDeployments": [
                {"environment": f.environment_id, "version": f.version} for f in first_deployments
            ],
        }  # fmt: skip
        digest = _fingerprint(idempotency_key, fingerprint, default)
        return await self._change(
            lambda c: requests.create_service_with_resources(
                c, service, resources, first_deployments, who, idempotency_key, digest
            )
        )

    def _requester_of(
        self, resources: Sequence[ResourceDraft], first_deployments: Sequence[FirstDeployment]
    ) -> Requester | None:
        asked = [draft.requester for draft in resources]
        asked += [first.requester for first in first_deployments]
        if asked:
            return asked[0]
        entry = self._transactions.entry
        if entry is None:
            return None
        return Requester(entry.actor_kind, entry.actor_id, entry.actor_name)

    async def update_parameters(
        self, resource_id: int, expected_version: int | None, parameters: Mapping[str, Any]
    ) -> ResourceRecord:
        return await self._change(
            lambda c: changes.update_parameters(c, resource_id, expected_version, parameters)
        )

    async def request_delete(
        self, resource_id: int, expected_version: int | None
    ) -> ResourceRecord:
        return await self._change(
            lambda c: changes.request_delete(c, resource_id, expected_version)
        )

    async def decide(
        self,
        resource_id: int,
        actor: Requester,
        decision: ApprovalDecision,
        comment: str | None,
        prevent_self_approval: bool,
    ) -> ResourceRecord:
        checks.text(comment, "comment")
        return await self._change(
            lambda c: approvals.decide(
                c, resource_id, actor, decision, comment, prevent_self_approval
            )
        )

    async def transition(
        self,
        resource_id: int,
        to_state: ResourceState,
        *,
        message: str | None,
        source: str,
        outputs: Mapping[str, Any] | None = None,
        secret_refs: Sequence[SecretRef] | None = None,
        system: bool = False,
    ) -> ResourceRecord:
        async def work(connection: Connection) -> ResourceRecord:
            row = await locked_resource(connection, resource_id)
            return await transitions.apply(
                connection, row, to_state, message=message, source=source, outputs=outputs,
                secret_refs=secret_refs, system=system,
            )  # fmt: skip

        return await self._change(work)

    # --- provisioning leases and first deployments (no audit: bookkeeping) ----------------

    async def claim(
        self,
        owner: str,
        lease_seconds: float,
        *,
        ids: Sequence[int] | None = None,
        limit: int = 100,
    ) -> list[ResourceRecord]:
        return await leases.claim(self._pool, owner, lease_seconds, ids, limit)

    async def renew(self, owner: str, ids: Sequence[int], lease_seconds: float) -> set[int]:
        return await leases.renew(self._pool, owner, ids, lease_seconds)

    async def release(self, owner: str, ids: Sequence[int] | None = None) -> int:
        return await leases.release(self._pool, owner, ids)

    async def due_first_deployments(self, service_id: int) -> list[FirstDeployment]:
        return await requests.due_first_deployments(self._pool, service_id)
