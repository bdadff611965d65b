"""What the planner knows of the graph beyond stored fields: which (type, field) is a relation,
an actor, a JSON column a resolver renders as it is, a nested or root listing, a root lookup;
each maps to the read plan's vocabulary that the graph reader compiles."""

from __future__ import annotations

from domain import read_plan as p


class NotPlannable(Exception):
    """The executor answers this operation (or its error) itself."""


E = p.Entity


R = p.Relation


NODE_TYPES = {
    entity.value: entity
    for entity in (
        E.TEAM, E.USER, E.SERVICE, E.ENVIRONMENT, E.DEPLOYMENT, E.RESOURCE, E.RESOURCE_CLASS,
        E.TEMPLATE,
    )
}  # fmt: skip


ID_TYPES = frozenset(NODE_TYPES.values()) | {E.API_CLIENT, E.LOCAL_ADMIN, E.FORMER_ACTOR}


RELATED: dict[tuple[p.Entity, str], tuple[p.Relation, bool, p.Entity]] = {
    (E.TEAM, "parent"): (R.TEAM_PARENT, False, E.TEAM),
    (E.TEAM, "children"): (R.TEAM_CHILDREN, True, E.TEAM),
    (E.USER, "teams"): (R.USER_TEAMS, True, E.TEAM),
    (E.SERVICE, "owner"): (R.SERVICE_OWNER, False, E.TEAM),
    (E.SERVICE, "owners"): (R.SERVICE_OWNERS, True, E.OWNERSHIP),
    (E.SERVICE, "dependsOn"): (R.SERVICE_DEPENDS_ON, True, E.SERVICE),
    (E.SERVICE, "dependents"): (R.SERVICE_DEPENDENTS, True, E.SERVICE),
    (E.SERVICE, "links"): (R.SERVICE_LINKS, True, E.LINK),
    (E.SERVICE, "environments"): (R.SERVICE_ENVIRONMENTS, True, E.SERVICE_ENVIRONMENT),
    (E.OWNERSHIP, "team"): (R.OWNERSHIP_TEAM, False, E.TEAM),
    (E.ENVIRONMENT, "provider"): (R.ENVIRONMENT_PROVIDER, False, E.PROVIDER),
    (E.ENVIRONMENT, "protection"): (R.ENVIRONMENT_PROTECTION, False, E.PROTECTION),
    (E.PROTECTION, "approverTeams"): (R.PROTECTION_APPROVER_TEAMS, True, E.TEAM),
    (E.DEPLOYMENT, "service"): (R.DEPLOYMENT_SERVICE, False, E.SERVICE),
    (E.DEPLOYMENT, "environment"): (R.DEPLOYMENT_ENVIRONMENT, False, E.ENVIRONMENT),
    (E.DEPLOYMENT, "provider"): (R.DEPLOYMENT_PROVIDER, False, E.PROVIDER),
    (E.DEPLOYMENT, "promotedFrom"): (R.DEPLOYMENT_PROMOTED_FROM, False, E.DEPLOYMENT),
    (E.DEPLOYMENT, "rollbackOf"): (R.DEPLOYMENT_ROLLBACK_OF, False, E.DEPLOYMENT),
    (E.DEPLOYMENT, "rollbackTo"): (R.DEPLOYMENT_ROLLBACK_TO, False, E.DEPLOYMENT),
    (E.DEPLOYMENT, "previous"): (R.DEPLOYMENT_PREVIOUS, False, E.DEPLOYMENT),
    (E.DEPLOYMENT, "history"): (R.DEPLOYMENT_HISTORY, True, E.STATUS_EVENT),
    (E.DEPLOYMENT, "approvals"): (R.DEPLOYMENT_APPROVALS, True, E.APPROVAL),
    (E.SERVICE_ENVIRONMENT, "environment"): (
        R.SERVICE_ENVIRONMENT_ENVIRONMENT, False, E.ENVIRONMENT
    ),
    (E.SERVICE_ENVIRONMENT, "current"): (R.SERVICE_ENVIRONMENT_CURRENT, False, E.DEPLOYMENT),
    (E.SERVICE_ENVIRONMENT, "pending"): (R.SERVICE_ENVIRONMENT_PENDING, True, E.DEPLOYMENT),
    (E.RELEASE_ROW, "service"): (R.RELEASE_ROW_SERVICE, False, E.SERVICE),
    (E.COMPARISON, "from"): (R.COMPARISON_FROM, False, E.DEPLOYMENT),
    (E.COMPARISON, "to"): (R.COMPARISON_TO, False, E.DEPLOYMENT),
    (E.API_CLIENT, "team"): (R.API_CLIENT_TEAM, False, E.TEAM),
    (E.RESOURCE, "service"): (R.RESOURCE_SERVICE, False, E.SERVICE),
    (E.RESOURCE, "environment"): (R.RESOURCE_ENVIRONMENT, False, E.ENVIRONMENT),
    (E.RESOURCE, "class"): (R.RESOURCE_CLASS, False, E.RESOURCE_CLASS),
    (E.RESOURCE, "secretRefs"): (R.RESOURCE_SECRET_REFS, True, E.SECRET_REF),
    (E.RESOURCE, "history"): (R.RESOURCE_HISTORY, True, E.RESOURCE_STATUS_EVENT),
    (E.RESOURCE, "approvals"): (R.RESOURCE_APPROVALS, True, E.APPROVAL),
    (E.RESOURCE_CLASS, "provider"): (R.RESOURCE_CLASS_PROVIDER, False, E.PROVIDER),
    (E.RESOURCE_CLASS, "environments"): (R.RESOURCE_CLASS_ENVIRONMENTS, True, E.ENVIRONMENT),
    (E.RESOURCE_CLASS, "approverTeams"): (R.RESOURCE_CLASS_APPROVER_TEAMS, True, E.TEAM),
    (E.TEMPLATE, "environments"): (R.TEMPLATE_ENVIRONMENTS, True, E.ENVIRONMENT),
    (E.TEMPLATE, "resources"): (R.TEMPLATE_RESOURCES, True, E.TEMPLATE_RESOURCE),
    (E.TEMPLATE_RESOURCE, "class"): (R.TEMPLATE_RESOURCE_CLASS, False, E.RESOURCE_CLASS),
}  # fmt: skip


RENDERED_COLUMNS = {
    (E.RESOURCE, "parameters"): "parameters",
    (E.RESOURCE, "outputs"): "outputs",
    (E.RESOURCE_CLASS, "parametersSchema"): "parameters_schema",
    (E.RESOURCE_CLASS, "defaults"): "defaults",
    (E.TEMPLATE, "parametersSchema"): "parameters_schema",
    (E.TEMPLATE, "service"): "service",
}
"""Fields whose resolver only renders a JSON column as it is stored: read as that column."""


ACTORS = {
    (E.DEPLOYMENT, "requestedBy"): p.ActorColumns.REQUESTED_BY,
    (E.APPROVAL, "actor"): p.ActorColumns.APPROVAL,
    (E.RESOURCE, "requestedBy"): p.ActorColumns.REQUESTED_BY,
}


NESTED_LISTINGS = {
    (E.TEAM, "members"): p.ListingSource.TEAM_MEMBERS,
    (E.TEAM, "services"): p.ListingSource.TEAM_SERVICES,
    (E.SERVICE, "deployments"): p.ListingSource.SERVICE_DEPLOYMENTS,
    (E.ENVIRONMENT, "deployments"): p.ListingSource.ENVIRONMENT_DEPLOYMENTS,
    (E.ENVIRONMENT, "resources"): p.ListingSource.ENVIRONMENT_RESOURCES,
}


ROOT_LOOKUPS = {
    "service": (E.SERVICE, p.LookupKey.SLUG, "slug"),
    "team": (E.TEAM, p.LookupKey.SLUG, "slug"),
    "user": (E.USER, p.LookupKey.HANDLE, "handle"),
    "environment": (E.ENVIRONMENT, p.LookupKey.SLUG, "slug"),
}


ROOT_LISTINGS = {
    "services": p.ListingSource.SERVICES,
    "teams": p.ListingSource.TEAMS,
    "users": p.ListingSource.USERS,
    "environments": p.ListingSource.ENVIRONMENTS,
    "deployments": p.ListingSource.DEPLOYMENTS,
    "releaseMatrix": p.ListingSource.RELEASE_MATRIX,
    "resources": p.ListingSource.RESOURCES,
    "resourceClasses": p.ListingSource.RESOURCE_CLASSES,
    "templates": p.ListingSource.TEMPLATES,
}


LISTED_ENTITY = {
    p.ListingSource.SERVICES: E.SERVICE,
    p.ListingSource.TEAM_SERVICES: E.SERVICE,
    p.ListingSource.TEAMS: E.TEAM,
    p.ListingSource.USERS: E.USER,
    p.ListingSource.TEAM_MEMBERS: E.USER,
    p.ListingSource.ENVIRONMENTS: E.ENVIRONMENT,
    p.ListingSource.DEPLOYMENTS: E.DEPLOYMENT,
    p.ListingSource.SERVICE_DEPLOYMENTS: E.DEPLOYMENT,
    p.ListingSource.ENVIRONMENT_DEPLOYMENTS: E.DEPLOYMENT,
    p.ListingSource.RELEASE_MATRIX: E.RELEASE_ROW,
    p.ListingSource.RESOURCES: E.RESOURCE,
    p.ListingSource.ENVIRONMENT_RESOURCES: E.RESOURCE,
    p.ListingSource.RESOURCE_CLASSES: E.RESOURCE_CLASS,
    p.ListingSource.TEMPLATES: E.TEMPLATE,
}


CONNECTION_TYPES = {E.RELEASE_ROW: ("ReleaseMatrixConnection", "ReleaseMatrixRowEdge")}


PAGE_FIELDS = {field.value: field for field in p.PageField}
