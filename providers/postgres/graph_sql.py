"""`ReadPlan` -> one SQL statement whose single value is the response's `data` as JSON.

PostgreSQL builds the JSON itself (`json_build_object`, `json_agg` in correlated
subqueries), so the API process neither decodes rows nor resolves fields. Values are
rendered exactly as the GraphQL executor renders them: global IDs and cursors are
encoded here the way `resolvers.global_ids` and `keyset` encode them, and
timestamps as Python's `datetime.isoformat()` writes them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain import read_plan as p
from providers.postgres import catalog_listings as listings
from providers.postgres.catalog_listings import ListingQuery
from providers.postgres.deployments.metrics import metrics_select
from providers.postgres.deployments.reads import listing_query as deployment_listing
from providers.postgres.deployments.rows import UNFINISHED_SQL
from providers.postgres.keyset import Params, build_window

# json_build_object takes at most 100 arguments: 50 keys and their values.
MAX_FIELDS_PER_OBJECT = 50


class NotCompilable(Exception):
    """The plan has a shape this compiler does not render exactly; the executor answers."""


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    arguments: tuple[Any, ...]


_TABLES = {
    p.Entity.TEAM: "teams",
    p.Entity.USER: "users",
    p.Entity.SERVICE: "services",
    p.Entity.ENVIRONMENT: "environments",
    p.Entity.DEPLOYMENT: "deployments",
}
_TIMESTAMPS = frozenset({"created_at", "updated_at", "started_at", "finished_at", "at"})
_FLOATS = frozenset(
    {"deployments_per_day", "change_failure_rate", "mean_time_to_restore_seconds",
     "median_lead_time_seconds"}
)  # fmt: skip
_DEPLOYMENT_LINKS = {
    p.Relation.DEPLOYMENT_PROMOTED_FROM: "promoted_from_id",
    p.Relation.DEPLOYMENT_ROLLBACK_OF: "rollback_of_id",
    p.Relation.DEPLOYMENT_ROLLBACK_TO: "rollback_to_id",
    p.Relation.DEPLOYMENT_PREVIOUS: "previous_id",
}
_SERVICE_LISTINGS = frozenset(
    {p.ListingSource.SERVICES, p.ListingSource.TEAM_SERVICES, p.ListingSource.RELEASE_MATRIX}
)
_DEPLOYMENT_LISTED_BY = {
    p.ListingSource.SERVICE_DEPLOYMENTS: "service_id",
    p.ListingSource.ENVIRONMENT_DEPLOYMENTS: "environment_id",
}
_ENVIRONMENT_ORDER = ", ".join(key.expression for key in listings.environments().ordering.keys)


def compile_plan(plan: p.ReadPlan) -> Statement:
    """Raises `NotCompilable`, or `CatalogError` for arguments the executor would refuse."""
    compiler = _Compiler()
    data = compiler.fields((field.key, compiler.root_field(field)) for field in plan.fields)
    if compiler.guards:
        sql = f"SELECT CASE WHEN {' AND '.join(compiler.guards)} THEN {data}::text END"
    else:
        sql = f"SELECT {data}::text"
    return Statement(sql, tuple(compiler.params.values))


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'::text"


def _base64url(text_sql: str) -> str:
    """SQL for the unpadded URL-safe base64 of a text (PostgreSQL wraps lines at 76)."""
    return (
        f"rtrim(translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')"
    )


def _global_id(entity: p.Entity, alias: str) -> str:
    return _id_of(entity, f"{alias}.id")


def _id_of(entity: p.Entity, id_sql: str) -> str:
    return _base64url(f"'{entity.value}:' || {id_sql}")


def _float(value: str) -> str:
    """A float8 as Python writes it: `2.0`, not PostgreSQL's `2` (same digits otherwise)."""
    return (
        f"CASE WHEN {value} = trunc({value}) AND abs({value}) < 1e15 "
        f"THEN ({value}::text || '.0')::json ELSE to_json({value}) END"
    )


def _isoformat(value: str) -> str:
    utc = f"({value} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN to_char({utc}, 'US') = '000000' THEN '' ELSE to_char({utc}, '.US') END "
        "|| '+00:00')"
    )


def _cursor(scope: str, alias: str, arity: int) -> str:
    """Matches `keyset.encode_cursor`: base64url of the compact JSON `[scope, [keys...]]`."""
    keys = " || ',' || ".join(f"to_json({alias}._k{index})::text" for index in range(arity))
    return _base64url(f"'[\"{scope}\",[' || {keys} || ']]'")


def _where(conditions: Sequence[str]) -> str:
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _json_list(element: str, source: str, order_by: str) -> str:
    return f"(SELECT coalesce(json_agg({element} ORDER BY {order_by}), '[]'::json) FROM {source})"


class _Compiler:
    def __init__(self) -> None:
        self.params = Params()
        self.guards: list[str] = []
        self._aliases = 0
        self._cell_services: dict[str, str] = {}
        """A ServiceEnvironment's environment alias -> the SQL of its service's id."""

    def _alias(self, prefix: str) -> str:
        self._aliases += 1
        return f"{prefix}{self._aliases}"

    @staticmethod
    def fields(pairs: Any) -> str:
        parts = [f"{_text(key)}, {value}" for key, value in pairs]
        if len(parts) > MAX_FIELDS_PER_OBJECT:
            raise NotCompilable
        return f"json_build_object({', '.join(parts)})"

    # -- roots -------------------------------------------------------------------------

    def root_field(self, field: p.RootField) -> str:
        if isinstance(field, p.Constant):
            return _constant(field)
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

    def _id_named(self, table: str, slug: str) -> str:
        """The id of the row with this slug, guarded: the executor reports a slug that names
        nothing as an error."""
        named = f"FROM {table} WHERE slug = {self.params.add(slug)}::text"
        self.guards.append(f"EXISTS (SELECT 1 {named})")
        return f"(SELECT id {named})"

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

    def _lookup(self, lookup: p.Lookup) -> str:
        entity = lookup.selection.entity
        alias = self._alias("r")
        sql_type = "bigint" if lookup.by is p.LookupKey.ID else "text"
        value = self.params.add(lookup.value)
        return (
            f"(SELECT {self._object(lookup.selection, alias)} FROM {_TABLES[entity]} {alias} "
            f"WHERE {alias}.{lookup.by.value} = {value}::{sql_type})"
        )

    # -- objects -----------------------------------------------------------------------

    def _object(self, selection: p.Selection, alias: str) -> str:
        return self.fields(
            (field.key, self._field(selection.entity, field, alias)) for field in selection.fields
        )

    def _field(self, entity: p.Entity, field: p.Field, alias: str) -> str:
        if isinstance(field, p.Constant):
            return _constant(field)
        if isinstance(field, p.GlobalId):
            return _global_id(entity, alias)
        if isinstance(field, p.Stored):
            return self._stored(entity, field.name, alias)
        if isinstance(field, p.Related):
            return self._related(field, alias)
        if isinstance(field, p.ActorOf):
            return self._actor(field, alias)
        return self._connection(field, parent=alias)

    def _stored(self, entity: p.Entity, name: str, alias: str) -> str:
        if entity is p.Entity.LINK:
            return f"({alias}.value ->> {_text(name)})"
        if entity is p.Entity.COMPARISON:
            source, target = f"{alias}f", f"{alias}t"
            return (
                f"coalesce({source}.version = {target}.version AND ({source}.commit_sha IS NULL "
                f"OR {target}.commit_sha IS NULL OR {source}.commit_sha = {target}.commit_sha), "
                "false)"
            )
        if name in _TIMESTAMPS:
            return _isoformat(f"{alias}.{name}")
        if entity is p.Entity.METRICS and name in _FLOATS:
            return _float(f"{alias}.{name}")
        return f"{alias}.{name}"

    def _virtual(self, selection: p.Selection, id_sql: str, values: dict[str, str]) -> str:
        """An object that is no row of its own: its fields' SQL given."""

        def value(field: p.Field) -> str:
            if isinstance(field, p.Constant):
                return _constant(field)
            if isinstance(field, p.GlobalId):
                return id_sql
            if isinstance(field, p.Stored):
                return values[field.name]
            raise NotCompilable

        return self.fields((field.key, value(field)) for field in selection.fields)

    def _provider(self, selection: p.Selection, kind: str) -> str:
        """A Provider: its name is its kind (capabilities are the executor's)."""
        return self._virtual(selection, "NULL", {"name": kind, "kind": kind})

    def _actor(self, field: p.ActorOf, parent: str) -> str:
        """Mirrors `schema.deployments.actor_of`: the built-in local admin, the user or API
        client while it exists, else the name it had (a FormerActor)."""
        kind, actor_id, name = (
            f"{parent}.{field.columns.value}{part}" for part in ("kind", "id", "name")
        )
        local_admin = self._virtual(
            field.local_admin, _id_of(p.Entity.LOCAL_ADMIN, "0"), {"name": _text("local admin")}
        )
        former = self._virtual(
            field.former_actor,
            _id_of(p.Entity.FORMER_ACTOR, f"coalesce({actor_id}, 0)"),
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

    def _related(self, field: p.Related, parent: str) -> str:
        relation, selection = field.relation, field.selection
        if relation in _DEPLOYMENT_RELATIONS:
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
            return _json_list(
                self._object(selection, team),
                f"teams {team} WHERE {team}.parent_id = {parent}.id",
                f"{team}.name, {team}.id",
            )
        if relation is p.Relation.USER_TEAMS:
            member, team = self._alias("m"), self._alias("t")
            return _json_list(
                self._object(selection, team),
                f"team_members {member} JOIN teams {team} ON {team}.id = {member}.team_id "
                f"WHERE {member}.user_id = {parent}.id",
                f"{team}.name, {team}.id",
            )
        if relation is p.Relation.SERVICE_OWNERS:
            owner = self._alias("o")
            return _json_list(
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
            return _json_list(
                self._object(selection, service),
                f"service_dependencies {edge} JOIN services {service} "
                f"ON {service}.id = {edge}.{far} WHERE {edge}.{near} = {parent}.id",
                f"{service}.name, {service}.id",
            )
        link = self._alias("l")
        return _json_list(
            self._object(selection, link),
            f"jsonb_array_elements({parent}.links) WITH ORDINALITY AS {link}(value, position)",
            f"{link}.position",
        )

    # -- deployments -------------------------------------------------------------------

    def _by_id(self, selection: p.Selection, table: str, id_sql: str) -> str:
        row = self._alias("r")
        return (
            f"(SELECT {self._object(selection, row)} FROM {table} {row} WHERE {row}.id = {id_sql})"
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
            return _json_list(element, f"environments {environment}", order)
        wanted = self.params.add(list(slugs))
        return _json_list(
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
            return _json_list(
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
            return _json_list(
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
            return _json_list(
                self._object(selection, row),
                f"deployments {row} WHERE {row}.service_id = {self._cell_services[parent]} "
                f"AND {row}.environment_id = {parent}.id AND {row}.state IN {UNFINISHED_SQL}",
                f"{row}.created_at, {row}.id",
            )
        if relation in (R.COMPARISON_FROM, R.COMPARISON_TO):
            row = f"{parent}f" if relation is R.COMPARISON_FROM else f"{parent}t"
            return f"CASE WHEN {row}.id IS NULL THEN NULL ELSE {self._object(selection, row)} END"
        raise NotCompilable

    # -- connections -------------------------------------------------------------------

    def _listing(self, listing: p.Listing, parent: str | None) -> ListingQuery:
        source = listing.source
        if source in _SERVICE_LISTINGS:
            assert listing.service_filter is not None
            guard = listings.owner_team_exists(listing.service_filter, self.params)
            if guard is not None:
                self.guards.append(guard)
            if source is p.ListingSource.TEAM_SERVICES:
                query = listings.team_services(listing.service_filter, self.params)
                return _with_condition(query, listings.owned_by(_required(parent)))
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
            return _with_condition(listings.team_members(), listings.member_of(_required(parent)))
        if source is p.ListingSource.DEPLOYMENTS:
            assert listing.deployment_filter is not None
            return deployment_listing(listing.deployment_filter, self.params)
        if source in _DEPLOYMENT_LISTED_BY:
            assert listing.deployment_filter is not None
            column = _DEPLOYMENT_LISTED_BY[source]
            query = deployment_listing(listing.deployment_filter, self.params, column)
            return _with_condition(query, f"d.{column} = {_required(parent)}.id")
        return listings.environments()

    def _connection(self, connection: p.Connection, parent: str | None) -> str:
        query = self._listing(connection.listing, parent)
        total = f"(SELECT count(*) FROM {query.source}{_where(query.conditions)})"
        page = connection.listing.page
        # Built even when no row is selected: it refuses a cursor the way the executor does.
        window = build_window(query.ordering, page, query.scope, self.params)
        if all(isinstance(part, p.TotalCount | p.Constant) for part in connection.fields):
            return self.fields(
                (part.key, _constant(part) if isinstance(part, p.Constant) else total)
                for part in connection.fields
            )
        rows = self._alias("w")
        arity = len(query.ordering.keys)
        cursor = _cursor(query.scope, rows, arity)
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
                return _boolean(page.before is not None) if page.backward else more
            if field is p.PageField.HAS_PREVIOUS_PAGE:
                return more if page.backward else _boolean(page.after is not None)
            order = shown if field is p.PageField.START_CURSOR else reverse
            return f"(array_agg({cursor} ORDER BY {rows}._rn {order}) {visible})[1]"

        def edge_value(field: p.Cursor | p.EdgeNode | p.Constant) -> str:
            if isinstance(field, p.Cursor):
                return cursor
            if isinstance(field, p.EdgeNode):
                return self._object(field.selection, rows)
            return _constant(field)

        def part_value(part: p.Edges | p.Nodes | p.PageInfo | p.TotalCount | p.Constant) -> str:
            if isinstance(part, p.Edges):
                return listed(self.fields((f.key, edge_value(f)) for f in part.fields))
            if isinstance(part, p.Nodes):
                return listed(self._object(part.selection, rows))
            if isinstance(part, p.PageInfo):
                return self.fields(
                    (f.key, _constant(f) if isinstance(f, p.Constant) else page_value(f.field))
                    for f in part.fields
                )
            if isinstance(part, p.TotalCount):
                return total
            return _constant(part)

        body = self.fields((part.key, part_value(part)) for part in connection.fields)
        window_rows = (
            f"SELECT {query.alias}.*, {window.key_columns}, "
            f"row_number() OVER (ORDER BY {window.order_by}) AS _rn FROM {query.source}"
            f"{_where([*query.conditions, *window.conditions])} "
            f"ORDER BY {window.order_by} LIMIT {window.limit}"
        )
        # One row even when the window is empty and nothing selected aggregates over it.
        return f"(SELECT {body} FROM ({window_rows}) AS {rows} GROUP BY ())"


def _with_condition(query: ListingQuery, condition: str) -> ListingQuery:
    return ListingQuery(
        query.source, query.alias, query.ordering, [condition, *query.conditions], query.scope
    )


def _required(parent: str | None) -> str:
    if parent is None:
        raise NotCompilable
    return parent


def _constant(field: p.Constant) -> str:
    return "NULL::text" if field.value is None else _text(field.value)


def _boolean(value: bool) -> str:
    return "true" if value else "false"


_DEPLOYMENT_RELATIONS = frozenset(p.Relation) - {
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
