"""The resource store's port (`ResourceStore`) and the adapters' registry (`ProvisionerKinds`).

Each change is one transaction; refusals are `CatalogError`s whose `path` names the input
field at fault. With an audit entry (`audited`), every change records the entry once, in its
own transaction, with the events it emits.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.audit.model import AuditEntry
from domain.catalog.records import Page, PageRequest
from domain.catalog.services import ServiceDraft, ServiceRecord
from domain.deployments.model import ApprovalDecision, ProviderCapability, Requester
from domain.resources.model import (
    Provisioner,
    ResourceApprovalRecord,
    ResourceClassDraft,
    ResourceClassPatch,
    ResourceClassRecord,
    ResourceDraft,
    ResourceRecord,
    ResourceState,
    ResourceStatusEvent,
    SecretRef,
    TemplateDraft,
    TemplatePatch,
    TemplateRecord,
)


@dataclass(frozen=True, slots=True)
class ResourceFilter:
    """Every field set narrows a listing: by slug (an unknown slug matches nothing);
    `owner`: services any of whose owner teams is that team or one of its sub-teams."""

    service: str | None = None
    environment: str | None = None
    resource_class: str | None = None
    states: tuple[ResourceState, ...] | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class FirstDeployment:
    """A template's first deployment, made once every resource of its service in its
    environment is READY."""

    service_id: int
    environment_id: int
    version: str
    requester: Requester


class ResourceStore(Protocol):
    def audited(self, entry: AuditEntry) -> ResourceStore: ...

    # --- classes and templates (admins) ---------------------------------------------------

    async def create_class(self, draft: ResourceClassDraft) -> ResourceClassRecord:
        """CONFLICT at `slug` when taken."""
        ...

    async def update_class(
        self, slug: str, expected_version: int | None, patch: ResourceClassPatch
    ) -> ResourceClassRecord:
        """NOT_FOUND at `resourceClass`; CONFLICT at `expectedVersion`."""
        ...

    async def delete_class(self, slug: str) -> ResourceClassRecord:
        """PRECONDITION_FAILED (naming them) while resources not DELETED or templates use it."""
        ...

    async def create_template(self, draft: TemplateDraft) -> TemplateRecord: ...
    async def update_template(
        self, slug: str, expected_version: int | None, patch: TemplatePatch
    ) -> TemplateRecord: ...
    async def delete_template(self, slug: str) -> TemplateRecord: ...

    # --- resources ------------------------------------------------------------------------

    async def request(
        self, draft: ResourceDraft, fingerprint: Mapping[str, Any] | None = None
    ) -> tuple[ResourceRecord, bool]:
        """The new resource (REQUESTED, or WAITING_APPROVAL when approvals are required) and
        True; or, for an idempotency key the requester used before, the first one and False
        (CONFLICT at `idempotencyKey` when `fingerprint` differs). CONFLICT at `name` when a
        resource not DELETED has that name in that service x environment."""
        ...

    async def create_service_with_resources(
        self,
        service: ServiceDraft,
        resources: Sequence[ResourceDraft],
        first_deployments: Sequence[FirstDeployment],
        idempotency_key: str | None,
        fingerprint: Mapping[str, Any] | None,
    ) -> tuple[ServiceRecord, list[ResourceRecord], bool]:
        """A template's service, its owner and its resources in ONE transaction (a refusal
        of any part writes nothing); the first deployments are remembered, made once the
        resources are READY. The `service_id` of `resources` and `first_deployments` is
        ignored: they belong to the new service. Replays of the idempotency key return the
        first answer and False."""
        ...

    async def update_parameters(
        self, resource_id: int, expected_version: int | None, parameters: Mapping[str, Any]
    ) -> ResourceRecord:
        """New parameters: READY or FAILED -> UPDATING (PRECONDITION_FAILED otherwise)."""
        ...

    async def request_delete(
        self, resource_id: int, expected_version: int | None
    ) -> ResourceRecord:
        """DELETING, or DELETED at once when nothing was built yet (REQUESTED,
        WAITING_APPROVAL); PRECONDITION_FAILED when DELETED already."""
        ...

    async def decide(
        self,
        resource_id: int,
        actor: Requester,
        decision: ApprovalDecision,
        comment: str | None,
        prevent_self_approval: bool,
    ) -> ResourceRecord:
        """Record an approval or rejection of a WAITING_APPROVAL resource; enough approvals
        make it REQUESTED, a rejection FAILED. PRECONDITION_FAILED when it waits for none,
        or (with `prevent_self_approval`) when its requester decides; CONFLICT when this
        actor decided already."""
        ...

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
        """Move it (the state machine decides: PRECONDITION_FAILED otherwise); the same
        state again only updates message/outputs (no history entry)."""
        ...

    # --- provisioning leases (as for rollouts) --------------------------------------------

    async def claim(
        self,
        owner: str,
        lease_seconds: float,
        *,
        ids: Sequence[int] | None = None,
        limit: int = 100,
    ) -> list[ResourceRecord]:
        """Take the leases of driven resources (`states.DRIVEN`) nobody holds, whose lease
        lapsed, or that `owner` holds already; never waits for another claimer."""
        ...

    async def renew(self, owner: str, ids: Sequence[int], lease_seconds: float) -> set[int]: ...
    async def release(self, owner: str, ids: Sequence[int] | None = None) -> int: ...

    async def due_first_deployments(self, service_id: int) -> list[FirstDeployment]:
        """Remembered first deployments of this service whose environment's resources are
        all READY now; taken (deleted) in the same statement, so each is returned once."""
        ...

    # --- reads (one statement each) -------------------------------------------------------

    async def classes_by_ids(self, ids: Sequence[int]) -> dict[int, ResourceClassRecord]: ...
    async def classes_by_slugs(self, slugs: Sequence[str]) -> dict[str, ResourceClassRecord]: ...
    async def class_page(self, page: PageRequest) -> Page[ResourceClassRecord]: ...
    async def templates_by_ids(self, ids: Sequence[int]) -> dict[int, TemplateRecord]: ...
    async def templates_by_slugs(self, slugs: Sequence[str]) -> dict[str, TemplateRecord]: ...
    async def template_page(self, page: PageRequest) -> Page[TemplateRecord]: ...
    async def by_ids(self, ids: Sequence[int]) -> dict[int, ResourceRecord]: ...
    async def by_idempotency_key(
        self, requester: Requester, idempotency_key: str
    ) -> ResourceRecord | None: ...
    async def page(
        self, page: PageRequest, resource_filter: ResourceFilter
    ) -> Page[ResourceRecord]: ...
    async def of_services(
        self, service_ids: Sequence[int], environment_slug: str | None
    ) -> dict[int, list[ResourceRecord]]:
        """Each service's resources (DELETED ones left out), by environment then name."""
        ...

    async def environment_pages(
        self, environment_ids: Sequence[int], page: PageRequest
    ) -> dict[int, Page[ResourceRecord]]: ...
    async def count(self, resource_filter: ResourceFilter) -> int: ...
    async def environment_counts(self, environment_ids: Sequence[int]) -> dict[int, int]: ...
    async def class_count(self) -> int: ...
    async def template_count(self) -> int: ...
    async def history(self, ids: Sequence[int]) -> dict[int, list[ResourceStatusEvent]]: ...
    async def approvals(self, ids: Sequence[int]) -> dict[int, list[ResourceApprovalRecord]]: ...


class ProvisionerKinds(Protocol):
    """The resource adapters this server can build, under its provider policy (where
    secrets may come from, which addresses may be reached)."""

    def build(
        self, kind: str, settings: Mapping[str, Any], *, clock: Callable[[], float] = ...
    ) -> Provisioner:
        """Raises `InvalidProviderSettings` for settings no adapter accepts."""
        ...

    async def check(self, kind: str, settings: Mapping[str, Any]) -> None:
        """What saving a class checks: raises `InvalidProviderSettings` naming the setting."""
        ...

    def capabilities(self, kind: str, settings: Mapping[str, Any]) -> list[ProviderCapability]: ...

    def kinds(self) -> Collection[str]: ...
