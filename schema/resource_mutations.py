"""Mutations on resource classes, resources and templates."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.resources import model
from resolvers import resource_mutations as m
from resolvers import template_mutations as t
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.catalog import Service
from schema.common import UserError, user_errors
from schema.deployments import Deployment
from schema.mutation_fields import mutation
from schema.resources import Resource, ResourceClass, ResourcePlan, Template


@strawberry.type
class ResourceClassPayload:
    resource_class: ResourceClass | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.ResourceClassRecord]) -> Self:
        found = ResourceClass.from_record(outcome.value) if outcome.value else None
        return cls(resource_class=found, errors=user_errors(outcome.errors))


@strawberry.type
class DeleteResourceClassPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.ResourceClassRecord]) -> Self:
        value = outcome.value
        deleted = strawberry.ID(encode_id("ResourceClass", value.id)) if value else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class RequestResourcePayload:
    resource: Resource | None = strawberry.field(description="Null for a dry run.")
    plan: ResourcePlan | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[m.Requested]) -> Self:
        if outcome.value is None:
            return cls(resource=None, plan=None, errors=user_errors(outcome.errors))
        plan, resource = outcome.value
        return cls(
            resource=Resource.from_optional(resource),
            plan=ResourcePlan.from_record(plan),
            errors=[],
        )


@strawberry.type
class ResourcePayload:
    resource: Resource | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.ResourceRecord]) -> Self:
        found = Resource.from_record(outcome.value) if outcome.value else None
        return cls(resource=found, errors=user_errors(outcome.errors))


@strawberry.type
class TemplatePayload:
    template: Template | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.TemplateRecord]) -> Self:
        found = Template.from_record(outcome.value) if outcome.value else None
        return cls(template=found, errors=user_errors(outcome.errors))


@strawberry.type
class DeleteTemplatePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[model.TemplateRecord]) -> Self:
        value = outcome.value
        deleted = strawberry.ID(encode_id("Template", value.id)) if value else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class CreateServiceFromTemplatePayload:
    service: Service | None = strawberry.field(description="Null for a dry run.")
    resources: list[Resource] = strawberry.field(description="Requested in every environment.")
    deployments: list[Deployment] = strawberry.field(
        description="The first deployment, when it could start at once (its environment "
        "asks for no resource); otherwise it starts once they are READY."
    )
    plan: ResourcePlan | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[t.TemplateRun]) -> Self:
        run = outcome.value
        if run is None:
            return cls(
                service=None, resources=[], deployments=[], plan=None,
                errors=user_errors(outcome.errors),
            )  # fmt: skip
        return cls(
            service=Service.from_optional(run.service),
            resources=[Resource.from_record(record) for record in run.resources],
            deployments=[Deployment.from_record(record) for record in run.deployments],
            plan=ResourcePlan.from_record(run.plan),
            errors=[],
        )


@strawberry.type
class ResourceMutation:
    create_resource_class = mutation(m.create_resource_class, ResourceClassPayload)
    update_resource_class = mutation(m.update_resource_class, ResourceClassPayload)
    delete_resource_class = mutation(m.delete_resource_class, DeleteResourceClassPayload)
    request_resource = mutation(
        m.request_resource,
        RequestResourcePayload,
        "Ask for a resource of a class for a service in an environment (the service's owner "
        "teams, with `write`); `dryRun` answers the plan only.",
    )
    update_resource = mutation(m.update_resource, ResourcePayload)
    delete_resource = mutation(m.delete_resource, ResourcePayload)
    approve_resource = mutation(m.approve_resource, ResourcePayload)
    reject_resource = mutation(m.reject_resource, ResourcePayload)
    report_resource_status = mutation(
        m.report_resource_status,
        ResourcePayload,
        "What a provider's API client reports (the webhook provider's status comes back here).",
    )
    create_template = mutation(t.create_template, TemplatePayload)
    update_template = mutation(t.update_template, TemplatePayload)
    delete_template = mutation(t.delete_template, DeleteTemplatePayload)
    create_service_from_template = mutation(
        t.create_service_from_template,
        CreateServiceFromTemplatePayload,
        "The golden path: a new service with its owner, defaults and resources in one step.",
    )
