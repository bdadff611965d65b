"""`ReadPlan` -> one SQL statement whose single value is the response's `data` as JSON.

PostgreSQL builds the JSON itself (`json_build_object`, `json_agg` in correlated
subqueries), so the API process neither decodes rows nor resolves fields. Values are
rendered exactly as the GraphQL executor renders them: global IDs and cursors are
encoded here the way `resolvers.global_ids` and `keyset` encode them, and
timestamps as Python's `datetime.isoformat()` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain import read_plan as p
from providers.postgres import catalog_listings as listings
from providers.postgres.catalog_listings import ListingQuery
from providers.postgres.deployments.reads import listing_query as deployment_listing
from providers.postgres.graph_deployments import DEPLOYMENT_RELATIONS, DeploymentsSql
from providers.postgres.graph_resources import RESOURCE_LISTINGS, RESOURCE_RELATIONS, ResourcesSql
from providers.postgres.graph_values import (
    FLOATS,
    MAX_FIELDS_PER_OBJECT,
    TABLES,
    TIMESTAMPS,
    NotCompilable,
    boolean,
    constant,
    cursor_of,
    float_value,
    global_id,
    isoformat,
    json_list,
    required,
    text,
    where,
    with_condition,
)
from providers.postgres.keyset import Params, build_window


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    arguments: tuple[Any, ...]


_SERVICE_LISTINGS = frozenset(
    {p.ListingSource.SERVICES, p.ListingSource.TEAM_SERVICES, p.ListingSource.RELEASE_MATRIX}
)
_DEPLOYMENT_LISTED_BY = {
    p.ListingSource.SERVICE_DEPLOYMENTS: "service_id",
    p.ListingSource.ENVIRONMENT_DEPLOYMENTS: "environment_id",
}


def compile_plan(plan: p.ReadPlan) -> Statement:
    """Raises `NotCompilable`, or `CatalogError` for arguments the executor would refuse."""
    compiler = _Compiler()
    data = compiler.fields((field.key, compiler.root_field(field)) for field in plan.fields)
    if compiler.guards:
        sql = f"SELECT CASE WHEN {' AND '.join(compiler.guards)} THEN {data}::text END"
    else:
        sql = f"SELECT {data}::text"
    return Statement(sql, tuple(compiler.params.values))


class _Compiler(DeploymentsSql, ResourcesSql):
    """The catalog's objects, relations and connections; deployments' and resources' from
    their parts."""

    # -- roots -------------------------------------------------------------------------

    def root_field(self, field: p.RootField) -> str:
        if isinstance(field, p.Constant):
            return constant(field)
        if isinstance(field, p.Lookup):
            return self._lookup(field)
        if isinstance(field, p.LookupList):
            items = [self._lookup(item) if item else "NULL" for item in field.items]
            if len(items) > 2 * MAX_FIELDS_PER_OBJECT:
                raise NotCompilable
            return f"json_build_array({', '.join(items)})"
        if isinstance(field, p.Comparison):
            return self._comparison(field)
        if isinstance(field, p.Metrics):
            return self._metrics(field)
        return self._connection(field, parent=None)

    def _lookup(self, lookup: p.Lookup) -> str:
        entity = lookup.selection.entity
        alias = self._alias("r")
        sql_type = "bigint" if lookup.by is p.LookupKey.ID else "text"
        value = self.params.add(lookup.value)
        return (
            f"(SELECT {self._object(lookup.selection, alias)} FROM {TABLES[entity]} {alias} "
            f"WHERE {alias}.{lookup.by.value} = {value}::{sql_type})"
        )

    # -- objects -----------------------------------------------------------------------

    def _object(self, selection: p.Selection, alias: str) -> str:
        return self.fields(
            (field.key, self._field(selection.entity, field, alias)) for field in selection.fields
        )

    def _field(self, entity: p.Entity, field: p.Field, alias: str) -> str:
        if isinstance(field, p.Constant):
            return constant(field)
        if isinstance(field, p.GlobalId):
            return global_id(entity, alias)
        if isinstance(field, p.Stored):
            return self._stored(entity, field.name, alias)
        if isinstance(field, p.Related):
            return self._related(field, alias)
        if isinstance(field, p.ActorOf):
            return self._actor(field, alias)
        return self._connection(field, parent=alias)

    def _stored(self, entity: p.Entity, name: str, alias: str) -> str:
        if entity in (p.Entity.LINK, p.Entity.SECRET_REF):  # elements of a JSON array
            return f"({alias}.value ->> {text(name)})"
        if entity is p.Entity.COMPARISON:
            source, target = f"{alias}f", f"{alias}t"
            return (
                f"coalesce({source}.version = {target}.version AND ({source}.commit_sha IS NULL "
                f"OR {target}.commit_sha IS NULL OR {source}.commit_sha = {target}.commit_sha), "
                "false)"
            )
        if name in TIMESTAMPS:
            return isoformat(f"{alias}.{name}")
        if entity is p.Entity.METRICS and name in FLOATS:
            return float_value(f"{alias}.{name}")
        return f"{alias}.{name}"

    def _related(self, field: p.Related, parent: str) -> str:
        relation, selection = field.relation, field.selection
        if relation in RESOURCE_RELATIONS:
            return self._resource_related(field, parent)
        if relation in DEPLOYMENT_RELATIONS:
            return self._deployment_related(field, parent)
        if relation is p.Relation.OWNERSHIP_TEAM:
            return self._object(selection, f"{parent}t")
        if relation is p.Relation.TEAM_PARENT:
            team = self._alias("t")
            return (
                f"(SELECT {self._object(selection, team)} FROM teams {team} "
                f"WHERE {team}.id = {parent}.parent_id)"
            )
        if relation is p.Relation.SERVICE_OWNER:
            owner, team = self._alias("o"), self._alias("t")
            return (
                f"(SELECT {self._object(selection, team)} FROM service_owners {owner} "
                f"JOIN teams {team} ON {team}.id = {owner}.team_id "
                f"WHERE {owner}.service_id = {parent}.id AND {owner}.role = 'PRIMARY')"
            )
        if relation is p.Relation.TEAM_CHILDREN:
            team = self._alias("t")
            return json_list(
                self._object(selection, team),
                f"teams {team} WHERE {team}.parent_id = {parent}.id",
                f"{team}.name, {team}.id",
            )
        if relation is p.Relation.USER_TEAMS:
            member, team = self._alias("m"), self._alias("t")
            return json_list(
                self._object(selection, team),
                f"team_members {member} JOIN teams {team} ON {team}.id = {member}.team_id "
                f"WHERE {member}.user_id = {parent}.id",
                f"{team}.name, {team}.id",
            )
        if relation is p.Relation.SERVICE_OWNERS:
            owner = self._alias("o")
            return json_list(
                self._object(selection, owner),
                f"service_owners {owner} JOIN teams {owner}t ON {owner}t.id = {owner}.team_id "
                f"WHERE {owner}.service_id = {parent}.id",
                f"{owner}.role DESC, {owner}t.name, {owner}t.id",
            )
        if relation in (p.Relation.SERVICE_DEPENDS_ON, p.Relation.SERVICE_DEPENDENTS):
            edge, service = self._alias("d"), self._alias("s")
            near, far = ("service_id", "depends_on_id")
            if relation is p.Relation.SERVICE_DEPENDENTS:
                near, far = far, near
            return json_list(
                self._object(selection, service),
                f"service_dependencies {edge} JOIN services {service} "
                f"ON {service}.id = {edge}.{far} WHERE {edge}.{near} = {parent}.id",
                f"{service}.name, {service}.id",
            )
        link = self._alias("l")
        return json_list(
            self._object(selection, link),
            f"jsonb_array_elements({parent}.links) WITH ORDINALITY AS {link}(value, position)",
            f"{link}.position",
        )

    # -- connections -------------------------------------------------------------------

    def _listing(self, listing: p.Listing, parent: str | None) -> ListingQuery:
        source = listing.source
        if source in RESOURCE_LISTINGS:
            return self._resource_listing(listing, parent)
        if source in _SERVICE_LISTINGS:
            assert listing.service_filter is not None
            guard = listings.owner_team_exists(listing.service_filter, self.params)
            if guard is not None:
                self.guards.append(guard)
            if source is p.ListingSource.TEAM_SERVICES:
                query = listings.team_services(listing.service_filter, self.params)
                return with_condition(query, listings.owned_by(required(parent)))
            if listing.environments is not None:  # the release matrix's cells
                self.guards.append(
                    "(SELECT count(*) FROM environments WHERE slug = ANY("
                    f"{self.params.add(list(listing.environments))}::text[])) = "
                    f"{len(listing.environments)}"
                )
            assert listing.order is not None
            return listings.services(listing.service_filter, listing.order, self.params)
        if source is p.ListingSource.TEAMS:
            return listings.teams(listing.search, self.params)
        if source is p.ListingSource.USERS:
            return listings.users(listing.search, self.params)
        if source is p.ListingSource.TEAM_MEMBERS:
            return with_condition(listings.team_members(), listings.member_of(required(parent)))
        if source is p.ListingSource.DEPLOYMENTS:
            assert listing.deployment_filter is not None
            return deployment_listing(listing.deployment_filter, self.params)
        if source in _DEPLOYMENT_LISTED_BY:
            assert listing.deployment_filter is not None
            column = _DEPLOYMENT_LISTED_BY[source]
            query = deployment_listing(listing.deployment_filter, self.params, column)
            return with_condition(query, f"d.{column} = {required(parent)}.id")
        return listings.environments()

    def _connection(self, connection: p.Connection, parent: str | None) -> str:
        query = self._listing(connection.listing, parent)
        total = f"(SELECT count(*) FROM {query.source}{where(query.conditions)})"
        page = connection.listing.page
        if all(isinstance(part, p.TotalCount | p.Constant) for part in connection.fields):
            # No row is selected, but a cursor is still refused the way the executor does;
            # the window's parameters stay out of the statement, which does not use them.
            build_window(query.ordering, page, query.scope, Params())
            return self.fields(
                (part.key, constant(part) if isinstance(part, p.Constant) else total)
                for part in connection.fields
            )
        window = build_window(query.ordering, page, query.scope, self.params)
        rows = self._alias("w")
        arity = len(query.ordering.keys)
        cursor = cursor_of(query.scope, rows, arity)
        visible = f"FILTER (WHERE {rows}._rn <= {page.size})"
        shown = "DESC" if page.backward else "ASC"
        reverse = "ASC" if page.backward else "DESC"
        more = f"(count(*) > {page.size})"

        def listed(element: str) -> str:
            return (
                f"coalesce(json_agg({element} ORDER BY {rows}._rn {shown}) {visible}, '[]'::json)"
            )

        def page_value(field: p.PageField) -> str:
            if field is p.PageField.HAS_NEXT_PAGE:
                return boolean(page.before is not None) if page.backward else more
            if field is p.PageField.HAS_PREVIOUS_PAGE:
                return more if page.backward else boolean(page.after is not None)
            order = shown if field is p.PageField.START_CURSOR else reverse
            return f"(array_agg({cursor} ORDER BY {rows}._rn {order}) {visible})[1]"

        def edge_value(field: p.Cursor | p.EdgeNode | p.Constant) -> str:
            if isinstance(field, p.Cursor):
                return cursor
            if isinstance(field, p.EdgeNode):
                return self._object(field.selection, rows)
            return constant(field)

        def part_value(part: p.Edges | p.Nodes | p.PageInfo | p.TotalCount | p.Constant) -> str:
            if isinstance(part, p.Edges):
                return listed(self.fields((f.key, edge_value(f)) for f in part.fields))
            if isinstance(part, p.Nodes):
                return listed(self._object(part.selection, rows))
            if isinstance(part, p.PageInfo):
                return self.fields(
                    (f.key, constant(f) if isinstance(f, p.Constant) else page_value(f.field))
                    for f in part.fields
                )
            if isinstance(part, p.TotalCount):
                return total
            return constant(part)

        body = self.fields((part.key, part_value(part)) for part in connection.fields)
        window_rows = (
            f"SELECT {query.alias}.*, {window.key_columns}, "
            f"row_number() OVER (ORDER BY {window.order_by}) AS _rn FROM {query.source}"
            f"{where([*query.conditions, *window.conditions])} "
            f"ORDER BY {window.order_by} LIMIT {window.limit}"
        )
        # One row even when the window is empty and nothing selected aggregates over it.
        return f"(SELECT {body} FROM ({window_rows}) AS {rows} GROUP BY ())"
