"""The MCP endpoint's tools, as data: each one's typed arguments, the FIXED GraphQL document
it runs (through `/graphql`'s own path: limits, rate limit, fast path, policy, audit), and the
Mutation field it calls, if any. `MCP_MUTATIONS` is what the parity table lists for MCP.

Arguments are pydantic models: their JSON Schema is the tool's `inputSchema`, and whatever
they refuse (unknown arguments, oversized strings, a slug that is no slug, `first` out of
range) is refused before any document runs. Their dump, by the serialization aliases, is the
document's variables (a mutation's wrapped in `input`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.catalog.rules import SLUG_PATTERN
from resolvers.paging import MAX_PAGE_SIZE

Slug = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=f"^{SLUG_PATTERN}$")]
Text = Annotated[str, StringConstraints(max_length=4000)]
Search = Annotated[str, StringConstraints(max_length=200)]
Version = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=200)]
NodeId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
First = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description=f"At most {MAX_PAGE_SIZE}.")]
Parameters = Annotated[dict[str, Any], Field(max_length=100)]
MAX_ENVIRONMENTS = 50


class Arguments(BaseModel):
    """A query tool's arguments: their dump is the document's variables."""

    model_config = ConfigDict(extra="forbid", strict=False)

    def variables(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)

    def note(self) -> str | None:
        """What the result should also tell the agent (a dry run's next step)."""
        return None


class MutationArguments(Arguments):
    """A mutation tool's arguments: their dump is the mutation's `input`."""

    def variables(self) -> dict[str, Any]:
        return {"input": super().variables()}


ERRORS = "errors { code message path }"
DEPLOYMENT = (
    "id number version commitSha kind state statusMessage createdAt finishedAt "
    "service { slug } environment { slug tier } requestedBy { name }"
)
RESOURCE = "id name state statusMessage service { slug } environment { slug } class { slug }"
PLAN = "actions parameters requiredApprovals warnings"


# --- the catalog ----------------------------------------------------------------------------


class SearchServices(Arguments):
    query: Search | None = Field(
        None,
        serialization_alias="search",
        description="Matched (case-insensitively) against slug, name and description.",
    )
    owner: Slug | None = Field(None, description="A team's slug: services it or a sub-team owns.")
    first: First = 20


SEARCH_SERVICES = """
query McpSearchServices($search: String, $owner: String, $first: Int!) {
  services(first: $first, filter: {search: $search, owner: $owner}) {
    totalCount
    nodes { slug name description lifecycle tier tags system owner { slug } }
  }
}"""


class ServiceSlug(Arguments):
    service: Slug = Field(serialization_alias="slug", description="The service's slug.")


GET_SERVICE = """
query McpGetService($slug: String!) {
  service(slug: $slug) {
    slug name description lifecycle tier tags system repositoryUrl
    links { title url }
    owners { role team { slug name } }
    dependsOn { slug name }
    dependents { slug name }
    environments {
      environment { slug tier protection { requiredApprovals frozen freezeReason } }
      current { id number version state finishedAt }
      pending { id number version kind state }
      live { health version replicas readyReplicas message }
    }
    deployments(first: 10) {
      nodes { id number version kind state createdAt environment { slug } }
    }
  }
}"""

WHO_OWNS = """
query McpWhoOwns($slug: String!) {
  service(slug: $slug) {
    slug name
    owners {
      role
      team { slug name parent { slug } members(first: 50) { nodes { handle name email } } }
    }
  }
}"""


class WhatRunsWhere(Arguments):
    query: Search | None = Field(
        None, serialization_alias="search", description="Only services matching this."
    )
    owner: Slug | None = Field(None, description="Only services this team (or a sub-team) owns.")
    environments: list[Slug] | None = Field(
        None,
        max_length=MAX_ENVIRONMENTS,
        description="Environment slugs, in the order wanted; all environments by default.",
    )
    first: First = 20


WHAT_RUNS_WHERE = """
query McpWhatRunsWhere($search: String, $owner: String, $environments: [String!], $first: Int!) {
  releaseMatrix(
    filter: {search: $search, owner: $owner}, environments: $environments, first: $first
  ) {
    totalCount
    nodes {
      service { slug }
      cells {
        environment { slug }
        current { version state finishedAt }
        pending { version state }
      }
    }
  }
}"""


# --- deployments: reads ---------------------------------------------------------------------


class DeploymentHistory(Arguments):
    service: Slug
    environment: Slug | None = Field(None, description="Only this environment's deployments.")
    first: First = 20


DEPLOYMENT_HISTORY = f"""
query McpDeploymentHistory($service: String!, $environment: String, $first: Int!) {{
  deployments(first: $first, filter: {{service: $service, environment: $environment}}) {{
    totalCount
    nodes {{ {DEPLOYMENT} }}
  }}
}}"""


class CompareEnvironments(Arguments):
    service: Slug
    from_environment: Slug = Field(serialization_alias="from")
    to_environment: Slug = Field(serialization_alias="to")


COMPARE_ENVIRONMENTS = """
query McpCompareEnvironments($service: String!, $from: String!, $to: String!) {
  compareEnvironments(service: $service, from: $from, to: $to) {
    inSync
    from { id number version commitSha state finishedAt environment { slug } }
    to { id number version commitSha state finishedAt environment { slug } }
  }
}"""


class DeploymentMetrics(Arguments):
    environment: Slug
    service: Slug | None = Field(None, description="Only this service's deployments.")
    team: Slug | None = Field(None, description="Only the deployments of this team's services.")
    days: int = Field(30, ge=1, le=366, description="The window: the last `days` days.")

    def variables(self) -> dict[str, Any]:
        since = datetime.now(UTC) - timedelta(days=self.days)
        values = self.model_dump(exclude_none=True, exclude={"days"})
        return {**values, "since": since.isoformat()}


DEPLOYMENT_METRICS = """
query McpDeploymentMetrics(
  $environment: String!, $service: String, $team: String, $since: DateTime!
) {
  deploymentMetrics(environment: $environment, service: $service, team: $team, since: $since) {
    deployments succeeded failed rolledBack deploymentsPerDay changeFailureRate
    meanTimeToRestoreSeconds medianLeadTimeSeconds
  }
}"""


# --- deployments: acting --------------------------------------------------------------------


class Deploy(MutationArguments):
    service: Slug
    environment: Slug
    version: Version
    commit_sha: Key | None = Field(None, serialization_alias="commitSha")
    description: Text | None = None
    idempotency_key: Key | None = Field(
        None,
        serialization_alias="idempotencyKey",
        description="Send the same key again to get the same deployment, not a second one.",
    )


DEPLOY = f"""
mutation McpDeploy($input: DeployInput!) {{
  deploy(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}"""


class Promote(MutationArguments):
    service: Slug
    from_environment: Slug = Field(serialization_alias="fromEnvironment")
    to_environment: Slug = Field(serialization_alias="toEnvironment")
    confirm: bool = Field(
        False, description="False (the default): only answer the plan. True: promote."
    )
    idempotency_key: Key | None = Field(None, serialization_alias="idempotencyKey")

    def variables(self) -> dict[str, Any]:
        values = self.model_dump(by_alias=True, exclude_none=True, exclude={"confirm"})
        return {"input": {**values, "dryRun": not self.confirm}}

    def note(self) -> str | None:
        if self.confirm:
            return None
        return "dry run: nothing changed; call promote again with confirm: true to act"


PROMOTE = f"""
mutation McpPromote($input: PromoteInput!) {{
  promote(input: $input) {{
    deployment {{ {DEPLOYMENT} }}
    plan {{ fromVersion toVersion requiredApprovals frozen }}
    {ERRORS}
  }}
}}"""


class Rollback(MutationArguments):
    service: Slug
    environment: Slug
    to_deployment: NodeId | None = Field(
        None,
        serialization_alias="toDeployment",
        description="The id of an earlier successful deployment here; the previous one by default.",
    )
    idempotency_key: Key | None = Field(None, serialization_alias="idempotencyKey")


ROLLBACK = f"""
mutation McpRollback($input: RollbackInput!) {{
  rollback(input: $input) {{ deployment {{ {DEPLOYMENT} }} {ERRORS} }}
}}"""


class ApproveDeployment(MutationArguments):
    deployment: NodeId = Field(description="The deployment's id (as the other tools show it).")
    comment: Text | None = None


APPROVE_DEPLOYMENT = f"""
mutation McpApproveDeployment($input: ApproveDeploymentInput!) {{
  approveDeployment(input: $input) {{
    deployment {{ {DEPLOYMENT} approvals {{ decision comment }} }}
    {ERRORS}
  }}
}}"""


class FreezeEnvironment(MutationArguments):
    environment: Slug
    reason: Text | None = None


FREEZE_ENVIRONMENT = f"""
mutation McpFreezeEnvironment($input: FreezeEnvironmentInput!) {{
  freezeEnvironment(input: $input) {{
    environment {{ slug tier protection {{ frozen freezeReason }} }}
    {ERRORS}
  }}
}}"""


# --- self service: resources and templates --------------------------------------------------


class Listing(Arguments):
    first: First = 50


LIST_RESOURCE_CLASSES = """
query McpResourceClasses($first: Int!) {
  resourceClasses(first: $first) {
    totalCount
    nodes {
      slug name description type requiresApproval parametersSchema defaults
      environments { slug }
    }
  }
}"""

LIST_TEMPLATES = """
query McpTemplates($first: Int!) {
  templates(first: $first) {
    totalCount
    nodes {
      slug name description firstVersion parametersSchema service
      environments { slug }
    }
  }
}"""


class RequestResource(MutationArguments):
    service: Slug
    environment: Slug
    resource_class: Slug = Field(
        serialization_alias="class", description="The resource class's slug."
    )
    name: Slug = Field(description="Unique per service and environment.")
    parameters: Parameters | None = Field(
        None, description="What the class's parametersSchema allows."
    )
    dry_run: bool = Field(False, serialization_alias="dryRun", description="Only answer the plan.")
    idempotency_key: Key | None = Field(None, serialization_alias="idempotencyKey")


REQUEST_RESOURCE = f"""
mutation McpRequestResource($input: RequestResourceInput!) {{
  requestResource(input: $input) {{ resource {{ {RESOURCE} }} plan {{ {PLAN} }} {ERRORS} }}
}}"""


class CreateServiceFromTemplate(MutationArguments):
    template: Slug
    slug: Slug = Field(description="The new service's slug.")
    owner: Slug = Field(description="The primary owner team's slug.")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    description: Text | None = None
    parameters: Parameters | None = Field(
        None, description="What the template's parametersSchema allows."
    )
    dry_run: bool = Field(False, serialization_alias="dryRun", description="Only answer the plan.")
    idempotency_key: Key | None = Field(None, serialization_alias="idempotencyKey")


CREATE_SERVICE_FROM_TEMPLATE = f"""
mutation McpCreateServiceFromTemplate($input: CreateServiceFromTemplateInput!) {{
  createServiceFromTemplate(input: $input) {{
    service {{ slug name owner {{ slug }} }}
    resources {{ {RESOURCE} }}
    deployments {{ {DEPLOYMENT} }}
    plan {{ {PLAN} }}
    {ERRORS}
  }}
}}"""


# --- the table ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class McpTool:
    name: str
    title: str
    description: str
    arguments: type[Arguments]
    document: str
    root: str
    """The document's one top-level field: the tool's result (a mutation's payload)."""
    mutation: str | None = None
    """The Mutation field it calls; None for a read."""
    destructive: bool = False
    """It may change production (tool annotations are static: whatever the environment)."""
    missing: str | None = None
    """When `root` answers null: the NOT_FOUND message, `{}` standing for the arguments."""

    @property
    def read_only(self) -> bool:
        return self.mutation is None


_PRODUCTION = (
    " It acts on production when the environment is a production one: confirm with the user first."
)

TOOLS: tuple[McpTool, ...] = (
    McpTool(
        "search_services",
        "Search services",
        "Find services by a text search and/or owner team; slugs, names, owners.",
        SearchServices,
        SEARCH_SERVICES,
        "services",
    ),
    McpTool(
        "get_service",
        "Get a service",
        "One service: owners, dependencies and dependents, what runs in each environment "
        "(with live health from its provider), and its recent deployments.",
        ServiceSlug,
        GET_SERVICE,
        "service",
        missing="no service `{service}`",
    ),
    McpTool(
        "who_owns",
        "Who owns a service",
        "The teams owning a service (primary first) and their members.",
        ServiceSlug,
        WHO_OWNS,
        "service",
        missing="no service `{service}`",
    ),
    McpTool(
        "what_runs_where",
        "What runs where",
        "A release matrix: for each service, the version running and pending in each environment.",
        WhatRunsWhere,
        WHAT_RUNS_WHERE,
        "releaseMatrix",
    ),
    McpTool(
        "deployment_history",
        "Deployment history",
        "A service's deployments, newest first, optionally of one environment.",
        DeploymentHistory,
        DEPLOYMENT_HISTORY,
        "deployments",
    ),
    McpTool(
        "compare_environments",
        "Compare environments",
        "What one service runs in two environments, and whether they are in sync.",
        CompareEnvironments,
        COMPARE_ENVIRONMENTS,
        "compareEnvironments",
    ),
    McpTool(
        "deployment_metrics",
        "Deployment metrics",
        "Delivery metrics (DORA) of an environment over the last `days` days: deployments, "
        "change failure rate, time to restore, lead time; of one service or a team's.",
        DeploymentMetrics,
        DEPLOYMENT_METRICS,
        "deploymentMetrics",
    ),
    McpTool(
        "deploy",
        "Deploy",
        "Deploy a version of a service to an environment (needs the `deploy` scope); the "
        "environment may require approvals first." + _PRODUCTION,
        Deploy,
        DEPLOY,
        "deploy",
        mutation="deploy",
        destructive=True,
    ),
    McpTool(
        "promote",
        "Promote",
        "Deploy what succeeded in one environment to another. A dry run by default: it "
        "answers the plan (versions, approvals, freeze) and changes nothing; call again with "
        "`confirm: true` to act." + _PRODUCTION,
        Promote,
        PROMOTE,
        "promote",
        mutation="promote",
        destructive=True,
    ),
    McpTool(
        "rollback",
        "Roll back",
        "Redeploy an earlier successful version of a service in an environment (the previous "
        "one by default)." + _PRODUCTION,
        Rollback,
        ROLLBACK,
        "rollback",
        mutation="rollback",
        destructive=True,
    ),
    McpTool(
        "approve_deployment",
        "Approve a deployment",
        "Approve a deployment waiting for approval (needs the `approve` scope and an approver "
        "team); once approved enough, it starts." + _PRODUCTION,
        ApproveDeployment,
        APPROVE_DEPLOYMENT,
        "approveDeployment",
        mutation="approveDeployment",
        destructive=True,
    ),
    McpTool(
        "freeze_environment",
        "Freeze an environment",
        "Freeze an environment: no deployment starts there until it is unfrozen." + _PRODUCTION,
        FreezeEnvironment,
        FREEZE_ENVIRONMENT,
        "freezeEnvironment",
        mutation="freezeEnvironment",
        destructive=True,
    ),
    McpTool(
        "list_resource_classes",
        "List resource classes",
        "The resource classes on offer (databases, caches, buckets...), with the JSON Schema "
        "of their parameters.",
        Listing,
        LIST_RESOURCE_CLASSES,
        "resourceClasses",
    ),
    McpTool(
        "list_templates",
        "List templates",
        "The golden-path templates a new service can be created from.",
        Listing,
        LIST_TEMPLATES,
        "templates",
    ),
    McpTool(
        "request_resource",
        "Request a resource",
        "Ask for a resource of a class for a service in an environment; `dry_run` answers "
        "the plan only. Some classes wait for an approval.",
        RequestResource,
        REQUEST_RESOURCE,
        "requestResource",
        mutation="requestResource",
    ),
    McpTool(
        "create_service_from_template",
        "Create a service from a template",
        "The golden path: a new service with its owner, defaults and resources in one step; "
        "`dry_run` answers the plan only.",
        CreateServiceFromTemplate,
        CREATE_SERVICE_FROM_TEMPLATE,
        "createServiceFromTemplate",
        mutation="createServiceFromTemplate",
    ),
)

TOOLS_BY_NAME: dict[str, McpTool] = {tool.name: tool for tool in TOOLS}

MCP_MUTATIONS: frozenset[str] = frozenset(
    tool.mutation for tool in TOOLS if tool.mutation is not None
)
"""The Mutation fields an agent can call through MCP (the parity table's MCP column)."""

SERVICE_DOCUMENT_TOOL = TOOLS_BY_NAME["get_service"]
"""What `paved://service/{slug}` reads."""
