"""The graph compiler's deployment part: deployments and what links to them, environments'
providers and protection, what runs where (the release matrix's cells), comparisons, metrics
and the actors who requested or approved."""

from __future__ import annotations

import re

from domain import read_plan as p
from providers.postgres import catalog_listings as listings
from providers.postgres.deployments.metrics import metrics_select
from providers.postgres.deployments.rows import UNFINISHED_SQL
from providers.postgres.graph_base import CompilerBase
from providers.postgres.graph_resources import RESOURCE_RELATIONS
from providers.postgres.graph_values import (
    NotCompilable,
    id_of,
    json_list,
    text,
)

_DEPLOYMENT_LINKS = {
    p.Relation.DEPLOYMENT_PROMOTED_FROM: "promoted_from_id",
    p.Relation.DEPLOYMENT_ROLLBACK_OF: "rollback_of_id",
    p.Relation.DEPLOYMENT_ROLLBACK_TO: "rollback_to_id",
    p.Relation.DEPLOYMENT_PREVIOUS: "previous_id",
}
_ENVIRONMENT_ORDER = ", ".join(key.expression for key in listings.environments().ordering.keys)

DEPLOYMENT_RELATIONS = (
    frozenset(p.Relation)
    - RESOURCE_RELATIONS
    - {
        p.Relation.TEAM_PARENT,
        p.Relation.TEAM_CHILDREN,
        p.Relation.USER_TEAMS,
        p.Relation.SERVICE_OWNER,
        p.Relation.SERVICE_OWNERS,
        p.Relation.SERVICE_DEPENDS_ON,
        p.Relation.SERVICE_DEPENDENTS,
        p.Relation.SERVICE_LINKS,
        p.Relation.OWNERSHIP_TEAM,
    }
)
"""Relations the deployment part compiles (every one but the catalog's and the resources')."""


class DeploymentsSql(CompilerBase):
    def _comparison(self, field: p.Comparison) -> str:
        service = self._id_named("services", field.service)
        alias = self._alias("c")

        def current(environment: str) -> str:
            return (
                f"(SELECT d.id FROM deployments d WHERE d.state = 'SUCCEEDED' "
                f"AND d.service_id = {service} AND d.environment_id = {environment})"
            )

        source = current(self._id_named("environments", field.source))
        target = current(self._id_named("environments", field.target))
        return (
            f"(SELECT {self._object(field.selection, alias)} FROM "
            f"(SELECT {source} AS source, {target} AS target) ids "
            f"LEFT JOIN deployments {alias}f ON {alias}f.id = ids.source "
            f"LEFT JOIN deployments {alias}t ON {alias}t.id = ids.target)"
        )

    def _metrics(self, field: p.Metrics) -> str:
        self._id_named("environments", field.environment)
        if field.service is not None:
            self._id_named("services", field.service)
        if field.team is not None:
            self._id_named("teams", field.team)
        if field.until is None:
            self.guards.append(f"{self.params.add(field.since)}::timestamptz < now()")
        alias = self._alias("m")
        select = metrics_select(
            self.params, field.environment, field.service, field.team, field.since, field.until
        )
        return f"(SELECT {self._object(field.selection, alias)} FROM ({select}) {alias})"

    def _actor(self, field: p.ActorOf, parent: str) -> str:
        """Mirrors `schema.deployments.actor_of`: the built-in local admin, the user or API
        client while it exists, else the name it had (a FormerActor)."""
        kind, actor_id, name = (
            f"{parent}.{field.columns.value}{part}" for part in ("kind", "id", "name")
        )
        local_admin = self._virtual(
            field.local_admin, id_of(p.Entity.LOCAL_ADMIN, "0"), {"name": text("local admin")}
        )
        former = self._virtual(
            field.former_actor,
            id_of(p.Entity.FORMER_ACTOR, f"coalesce({actor_id}, 0)"),
            {"name": name},
        )
        user, client = self._alias("u"), self._alias("a")
        return (
            f"CASE WHEN {kind} = 'local-admin' OR {actor_id} IS NULL THEN {local_admin} "
            f"WHEN {kind} = 'client' THEN coalesce(("
            f"SELECT {self._object(field.api_client, client)} "
            f"FROM api_clients {client} WHERE {client}.id = {actor_id}), {former}) "
            f"ELSE coalesce((SELECT {self._object(field.user, user)} FROM users {user} "
            f"WHERE {user}.id = {actor_id}), {former}) END"
        )

    def _current(self, selection: p.Selection, service_id: str, environment_id: str) -> str:
        row = self._alias("d")
        return (
            f"(SELECT {self._object(selection, row)} FROM deployments {row} "
            f"WHERE {row}.service_id = {service_id} AND {row}.environment_id = {environment_id} "
            f"AND {row}.state = 'SUCCEEDED')"
        )

    def _cells(self, selection: p.Selection, service_id: str, slugs: tuple[str, ...] | None) -> str:
        """One ServiceEnvironment per environment: the given ones in their order, else all in
        the environments listing's order."""
        environment = self._alias("e")
        self._cell_services[environment] = service_id
        element = self._object(selection, environment)
        if slugs is None:
            order = re.sub(r"\be\.", f"{environment}.", _ENVIRONMENT_ORDER)
            return json_list(element, f"environments {environment}", order)
        wanted = self.params.add(list(slugs))
        return json_list(
            element,
            f"unnest({wanted}::text[]) WITH ORDINALITY AS {environment}w(slug, position) "
            f"JOIN environments {environment} ON {environment}.slug = {environment}w.slug",
            f"{environment}w.position",
        )

    def _deployment_related(self, field: p.Related, parent: str) -> str:
        relation, selection = field.relation, field.selection
        R = p.Relation
        if relation is R.DEPLOYMENT_SERVICE:
            return self._by_id(selection, "services", f"{parent}.service_id")
        if relation is R.DEPLOYMENT_ENVIRONMENT:
            return self._by_id(selection, "environments", f"{parent}.environment_id")
        if relation in _DEPLOYMENT_LINKS:
            return self._by_id(selection, "deployments", f"{parent}.{_DEPLOYMENT_LINKS[relation]}")
        if relation is R.DEPLOYMENT_PROVIDER:
            return self._provider(selection, f"{parent}.provider")
        if relation in (R.DEPLOYMENT_HISTORY, R.DEPLOYMENT_APPROVALS):
            table = (
                "deployment_events" if relation is R.DEPLOYMENT_HISTORY else "deployment_approvals"
            )
            row = self._alias("h")
            return json_list(
                self._object(selection, row),
                f"{table} {row} WHERE {row}.deployment_id = {parent}.id",
                f"{row}.at, {row}.id",
            )
        if relation is R.API_CLIENT_TEAM:
            return self._by_id(selection, "teams", f"{parent}.team_id")
        return self._environment_related(field, parent)

    def _environment_related(self, field: p.Related, parent: str) -> str:
        relation, selection = field.relation, field.selection
        R = p.Relation
        if relation is R.ENVIRONMENT_PROVIDER:
            return self._provider(selection, f"{parent}.provider_kind")
        if relation is R.ENVIRONMENT_PROTECTION:
            return self._object(selection, parent)
        if relation is R.PROTECTION_APPROVER_TEAMS:
            approver, team = self._alias("a"), self._alias("t")
            return json_list(
                self._object(selection, team),
                f"environment_approver_teams {approver} JOIN teams {team} "
                f"ON {team}.id = {approver}.team_id WHERE {approver}.environment_id = {parent}.id",
                f"{team}.id",
            )
        return self._what_runs_where(field, parent)

    def _what_runs_where(self, field: p.Related, parent: str) -> str:
        relation, selection = field.relation, field.selection
        R = p.Relation
        if relation is R.SERVICE_CURRENT_DEPLOYMENT:
            assert field.slugs is not None
            (slug,) = field.slugs
            environment = self._id_named("environments", slug)
            return self._current(selection, f"{parent}.id", environment)
        if relation is R.SERVICE_ENVIRONMENTS:
            return self._cells(selection, f"{parent}.id", None)
        if relation is R.RELEASE_ROW_CELLS:
            return self._cells(selection, f"{parent}.id", field.slugs)
        if relation in (R.RELEASE_ROW_SERVICE, R.SERVICE_ENVIRONMENT_ENVIRONMENT):
            return self._object(selection, parent)
        if relation is R.SERVICE_ENVIRONMENT_CURRENT:
            return self._current(selection, self._cell_services[parent], f"{parent}.id")
        if relation is R.SERVICE_ENVIRONMENT_PENDING:
            row = self._alias("d")
            return json_list(
                self._object(selection, row),
                f"deployments {row} WHERE {row}.service_id = {self._cell_services[parent]} "
                f"AND {row}.environment_id = {parent}.id AND {row}.state IN {UNFINISHED_SQL}",
                f"{row}.created_at, {row}.id",
            )
        if relation in (R.COMPARISON_FROM, R.COMPARISON_TO):
            row = f"{parent}f" if relation is R.COMPARISON_FROM else f"{parent}t"
            return f"CASE WHEN {row}.id IS NULL THEN NULL ELSE {self._object(selection, row)} END"
        raise NotCompilable
