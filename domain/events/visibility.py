"""Who may read which events: the readers of their subject, by the same policy as queries."""

from __future__ import annotations

from dataclasses import dataclass

from domain.access.model import Principal, Scope
from domain.access.policy import acts_as_admin
from domain.events.model import EventRecord, SubjectKind

CATALOG_SUBJECTS = frozenset(
    {
        SubjectKind.SERVICE,
        SubjectKind.TEAM,
        SubjectKind.ENVIRONMENT,
        SubjectKind.DEPLOYMENT,
        SubjectKind.RESOURCE,
    }
)
"""Subjects readable by whoever may read the catalog: a deployment's or a resource's events are
read like its service."""


@dataclass(frozen=True, slots=True)
class EventVisibility:
    """What one reader may see. Catalog, deployment and resource events: whoever may read the
    catalog (the `read` scope). A webhook's events: the members of its team, and admins. A
    subject this rule does not name: nobody."""

    reads_catalog: bool
    all_webhooks: bool
    team_ids: frozenset[int]

    @classmethod
    def of(cls, principal: Principal) -> EventVisibility:
        return cls(
            reads_catalog=principal.has(Scope.READ),
            all_webhooks=acts_as_admin(principal),
            team_ids=principal.team_ids,
        )

    def allows(self, event: EventRecord) -> bool:
        if not self.reads_catalog:
            return False
        if event.subject_kind is SubjectKind.WEBHOOK:
            return self.all_webhooks or event.team_id in self.team_ids
        return event.subject_kind in CATALOG_SUBJECTS
