"""The events of changes, from the records before and after them."""

from __future__ import annotations

from typing import Any

from domain.deployments.model import DeploymentRecord, DeploymentState
from domain.events.changes import as_json, changed_fields, described
from domain.events.model import EventDraft, EventType, SubjectKind
from domain.resources.model import ResourceRecord, ResourceState

_REFERENCE = {
    SubjectKind.SERVICE: "service_id",
    SubjectKind.TEAM: "team_id",
    SubjectKind.ENVIRONMENT: "environment_id",
    SubjectKind.DEPLOYMENT: "deployment_id",
}


def about(
    type_: EventType, kind: SubjectKind, subject_id: int, data: dict[str, Any], **refs: int | None
) -> EventDraft:
    """An event on `kind` `subject_id`, which it also concerns (`service_id` of a service...);
    `refs` name the other rows it concerns."""
    reference = _REFERENCE.get(kind)
    if reference is not None:
        refs = {reference: subject_id, **refs}
    return EventDraft(type_, kind, subject_id, data, **refs)


def created(type_: EventType, kind: SubjectKind, record: Any, **refs: int | None) -> EventDraft:
    """A new record: its fields are the data."""
    return about(type_, kind, record.id, described(record), **refs)


def deleted(type_: EventType, kind: SubjectKind, record: Any, **refs: int | None) -> EventDraft:
    """A deleted record: its last fields are the data (the subject itself is gone)."""
    return about(type_, kind, record.id, described(record), **refs)


def updated(
    type_: EventType, kind: SubjectKind, before: Any, after: Any, **refs: int | None
) -> EventDraft:
    """The changed fields with their old and new values (none when the change only counted a
    new version: it is still a committed change)."""
    return about(type_, kind, after.id, changed_fields(before, after), **refs)


def deployment(type_: EventType, record: DeploymentRecord, **data: Any) -> EventDraft:
    """An event on a deployment: which one (number and version of its service in its
    environment) and `data`."""
    described_data = {
        "number": record.number,
        "version": record.version,
        "kind": record.kind.value,
        **{name: as_json(value) for name, value in data.items()},
    }
    return about(
        type_,
        SubjectKind.DEPLOYMENT,
        record.id,
        described_data,
        service_id=record.service_id,
        environment_id=record.environment_id,
    )


def state_changed(
    record: DeploymentRecord, source: DeploymentState, target: DeploymentState, **data: Any
) -> EventDraft:
    return deployment(
        EventType.DEPLOYMENT_STATE_CHANGED, record, **{"from": source, "to": target}, **data
    )


def resource(type_: EventType, record: ResourceRecord, **data: Any) -> EventDraft:
    """An event on a resource: which one (its name and class in its service x environment)
    and `data`. Never its provider's settings: a class's settings are not the resource's."""
    described_data = {
        "name": record.name,
        "classId": record.class_id,
        **{name: as_json(value) for name, value in data.items()},
    }
    return about(
        type_,
        SubjectKind.RESOURCE,
        record.id,
        described_data,
        service_id=record.service_id,
        environment_id=record.environment_id,
    )


def resource_state_changed(
    record: ResourceRecord, source: ResourceState, target: ResourceState, message: str | None
) -> EventDraft:
    return resource(
        EventType.RESOURCE_STATE_CHANGED, record, **{"from": source, "to": target}, message=message
    )
