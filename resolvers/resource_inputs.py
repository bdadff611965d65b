"""The inputs of the resource, resource class and template mutations, each declared once
(their GraphQL input types are generated from them)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field

from domain.resources.model import ResourceState
from resolvers import validation as v
from resolvers.deployment_inputs import IdempotencyKey, Text, Version

MAX_ENVIRONMENTS = 50
MAX_APPROVER_TEAMS = 20
MAX_TEMPLATE_RESOURCES = 20
MAX_SECRET_REFS = 20

Json = dict[str, Any]
References = Annotated[list[v.Reference], Field(max_length=MAX_ENVIRONMENTS)]
ResourceType = Annotated[str, Field(pattern=v.SLUG_PATTERN)]
SecretName = Annotated[str, Field(min_length=1, max_length=253)]


class CreateResourceClass(v.InputModel):
    slug: v.Slug
    name: v.Name
    type: ResourceType = Field(description="What it is: postgres, redis, bucket, queue...")
    provider: v.ProviderInput
    parameters_schema: Json = Field(
        description="JSON Schema (draft 2020-12) of what a requester may set."
    )
    description: v.Description | None = None
    defaults: Json = Field(default_factory=dict, description="Applied before validation.")
    environments: References = Field(
        default_factory=list, description="Slugs of where it may be requested; none: anywhere."
    )
    requires_approval: bool = False
    approver_teams: Annotated[list[v.Reference], Field(max_length=MAX_APPROVER_TEAMS)] = Field(
        default_factory=list, description="Slugs of the teams whose members approve requests."
    )


class ResourceClassChange(v.InputModel):
    resource_class: v.Reference = Field(description="Slug of the resource class.")
    expected_version: int | None = None


_ClassChanges = v.changes_of(CreateResourceClass, ResourceClassChange, leaving_out={"slug"})


class UpdateResourceClass(_ClassChanges):  # type: ignore[valid-type,misc]
    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {"type", "provider", "parametersSchema", "defaults", "environments", "requiresApproval",
         "approverTeams"}
    )  # fmt: skip


class DeleteResourceClass(v.InputModel):
    resource_class: v.Reference = Field(description="Slug of the resource class.")


class RequestResource(v.InputModel):
    service: v.Reference
    environment: v.Reference
    resource_class: v.Reference = Field(alias="class", description="Slug of the resource class.")
    name: v.Slug = Field(description="Unique per service and environment.")
    parameters: Json = Field(default_factory=dict)
    dry_run: bool = Field(default=False, description="Only answer the plan; change nothing.")
    idempotency_key: IdempotencyKey | None = None


class UpdateResource(v.InputModel):
    resource: v.NodeId
    expected_version: int | None = None
    parameters: Json = Field(description="The new parameters (defaults applied again).")


class DeleteResource(v.InputModel):
    resource: v.NodeId
    expected_version: int | None = None


class DecideResource(v.InputModel):
    resource: v.NodeId
    comment: Text | None = None


class SecretRefInput(v.InputModel):
    name: SecretName
    key: Annotated[str, Field(max_length=253)] | None = None
    store: Annotated[str, Field(min_length=1, max_length=63)]


class ReportResourceStatus(v.InputModel):
    resource: v.NodeId
    state: ResourceState
    message: Text | None = None
    outputs: Json | None = Field(default=None, description="Non-secret outputs: host, port...")
    secret_refs: Annotated[list[SecretRefInput], Field(max_length=MAX_SECRET_REFS)] | None = None


class TemplateResourceInput(v.InputModel):
    resource_class: v.Reference = Field(alias="class", description="Slug of the resource class.")
    name: v.Slug
    parameters: Json = Field(
        default_factory=dict, description="String values may use `${param}` of the template."
    )


class CreateTemplate(v.InputModel):
    slug: v.Slug
    name: v.Name
    parameters_schema: Json = Field(description="JSON Schema (draft 2020-12) of its parameters.")
    description: v.Description | None = None
    service: Json = Field(
        default_factory=dict,
        description="Defaults of the new service: lifecycle, tier, tags, links, system, "
        "description (string values may use `${param}`).",
    )
    environments: References = Field(
        default_factory=list, description="Slugs of where the new service gets its resources."
    )
    resources: Annotated[list[TemplateResourceInput], Field(max_length=MAX_TEMPLATE_RESOURCES)] = (
        Field(default_factory=list)
    )
    first_version: Version | None = Field(
        default=None,
        description="Deployed to the first environment once its resources are READY.",
    )


class TemplateChange(v.InputModel):
    template: v.Reference = Field(description="Slug of the template.")
    expected_version: int | None = None


_TemplateChanges = v.changes_of(CreateTemplate, TemplateChange, leaving_out={"slug"})


class UpdateTemplate(_TemplateChanges):  # type: ignore[valid-type,misc]
    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {"parametersSchema", "service", "environments", "resources"}
    )


class DeleteTemplate(v.InputModel):
    template: v.Reference = Field(description="Slug of the template.")


class CreateServiceFromTemplate(v.InputModel):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"parameters"})

    template: v.Reference = Field(description="Slug of the template.")
    slug: v.Slug
    name: v.Name | None = Field(default=None, description="By default the slug.")
    description: v.Description | None = None
    owner: v.Reference = Field(description="Slug of the primary owner team.")
    parameters: Json = Field(default_factory=dict)
    dry_run: bool = Field(default=False, description="Only answer the plan; change nothing.")
    idempotency_key: IdempotencyKey | None = None
