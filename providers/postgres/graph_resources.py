"""The graph compiler's resource part: resources with their history, approvals and secret
references, resource classes, templates, and their listings. Listings filter, order and scope
their cursors with the resource store's own SQL (`resources.reads`), so that a cursor from
either read path continues the other's page."""

from __future__ import annotations

import re

from domain import read_plan as p
from providers.postgres.catalog_listings import ListingQuery
from providers.postgres.graph_base import CompilerBase
from providers.postgres.graph_values import (
    NotCompilable,
    json_list,
    required,
    where,
    with_condition,
)
from providers.postgres.keyset import scope_digest
from providers.postgres.resources.reads import (
    _CLASS_ORDER,
    _ENVIRONMENT_RANK,
    _RESOURCE_ORDER,
    _TEMPLATE_ORDER,
    _conditions,
)

R = p.Relation
L = p.ListingSource

RESOURCE_RELATIONS = frozenset(
    {
        R.SERVICE_RESOURCES,
        R.RESOURCE_SERVICE,
        R.RESOURCE_ENVIRONMENT,
        R.RESOURCE_CLASS,
        R.RESOURCE_SECRET_REFS,
        R.RESOURCE_HISTORY,
        R.RESOURCE_APPROVALS,
        R.RESOURCE_CLASS_PROVIDER,
        R.RESOURCE_CLASS_ENVIRONMENTS,
        R.RESOURCE_CLASS_APPROVER_TEAMS,
        R.TEMPLATE_ENVIRONMENTS,
        R.TEMPLATE_RESOURCES,
        R.TEMPLATE_RESOURCE_CLASS,
    }
)
"""Relations the resource part compiles."""

RESOURCE_LISTINGS = frozenset(
    {L.RESOURCES, L.ENVIRONMENT_RESOURCES, L.RESOURCE_CLASSES, L.TEMPLATES}
)
"""Listings the resource part compiles."""

_BY_ID = {
    R.RESOURCE_SERVICE: ("services", "service_id"),
    R.RESOURCE_ENVIRONMENT: ("environments", "environment_id"),
    R.RESOURCE_CLASS: ("resource_classes", "class_id"),
    R.TEMPLATE_RESOURCE_CLASS: ("resource_classes", "class_id"),
}
"""Relations to one row of a table, by a column of the parent."""

_ABOUT_A_RESOURCE = {
    R.RESOURCE_HISTORY: "resource_status_events",
    R.RESOURCE_APPROVALS: "resource_approvals",
}
"""Relations to the rows of a table about the parent resource, oldest first."""

_LINKED = {
    R.RESOURCE_CLASS_ENVIRONMENTS: (
        "resource_class_environments", "class_id", "environment_id", "environments", None,
    ),
    R.RESOURCE_CLASS_APPROVER_TEAMS: (
        "resource_class_approver_teams", "class_id", "team_id", "teams", None,
    ),
    R.TEMPLATE_ENVIRONMENTS: (
        "template_environments", "template_id", "environment_id", "environments", "position",
    ),
}  # fmt: skip
"""Relations through a link table: (link table, its parent column, its target column, the
target table, the link's order column or None for the target's id), as the store's
`CLASS_SELECT` and `TEMPLATE_SELECT` order them."""


class ResourcesSql(CompilerBase):
    def _resource_related(self, field: p.Related, parent: str) -> str:
        relation, selection = field.relation, field.selection
        if relation is R.SERVICE_RESOURCES:
            return self._service_resources(selection, parent, field.slugs)
        if relation in _BY_ID:
            table, column = _BY_ID[relation]
            return self._by_id(selection, table, f"{parent}.{column}")
        if relation in _ABOUT_A_RESOURCE:
            row = self._alias("h")
            return json_list(
                self._object(selection, row),
                f"{_ABOUT_A_RESOURCE[relation]} {row} WHERE {row}.resource_id = {parent}.id",
                f"{row}.at, {row}.id",
            )
        if relation in _LINKED:
            link_table, near, far, table, position = _LINKED[relation]
            link, target = self._alias("l"), self._alias("t")
            return json_list(
                self._object(selection, target),
                f"{link_table} {link} JOIN {table} {target} ON {target}.id = {link}.{far} "
                f"WHERE {link}.{near} = {parent}.id",
                f"{link}.{position}" if position else f"{target}.id",
            )
        if relation is R.RESOURCE_SECRET_REFS:
            ref = self._alias("k")
            return json_list(
                self._object(selection, ref),
                f"jsonb_array_elements({parent}.secret_refs) WITH ORDINALITY AS "
                f"{ref}(value, position)",
                f"{ref}.position",
            )
        if relation is R.TEMPLATE_RESOURCES:
            row = self._alias("x")
            return json_list(
                self._object(selection, row),
                f"template_resources {row} WHERE {row}.template_id = {parent}.id",
                f"{row}.position",
            )
        if relation is R.RESOURCE_CLASS_PROVIDER:
            return self._provider(selection, f"{parent}.provider_kind")
        raise NotCompilable

    def _service_resources(
        self, selection: p.Selection, parent: str, slugs: tuple[str, ...] | None
    ) -> str:
        """A service's resources not DELETED (in one environment when `slugs` names it), in
        the order of the store's `of_services`: by environment as the catalog lists them,
        then by name."""
        row, environment = self._alias("r"), self._alias("e")
        conditions = [f"{row}.service_id = {parent}.id", f"{row}.state <> 'DELETED'"]
        if slugs is not None:
            (slug,) = slugs
            conditions.append(f"{environment}.slug = {self.params.add(slug)}::text")
        rank = re.sub(r"\be\.", f"{environment}.", _ENVIRONMENT_RANK)
        return json_list(
            self._object(selection, row),
            f"resources {row} JOIN environments {environment} "
            f"ON {environment}.id = {row}.environment_id{where(conditions)}",
            f"{rank}, {environment}.name, {environment}.id, {row}.name",
        )

    def _resource_listing(self, listing: p.Listing, parent: str | None) -> ListingQuery:
        source = listing.source
        if source is L.RESOURCES:
            wanted = listing.resource_filter
            assert wanted is not None
            if wanted.owner is not None:
                # The executor reports an owner team that does not exist as NOT_FOUND.
                owner = self.params.add(wanted.owner)
                self.guards.append(f"EXISTS (SELECT 1 FROM teams WHERE slug = {owner}::text)")
            conditions = _conditions(wanted, self.params)
            return ListingQuery(
                "resources r", "r", _RESOURCE_ORDER, conditions, scope_digest("resources", wanted)
            )
        if source is L.ENVIRONMENT_RESOURCES:
            query = ListingQuery(
                "resources r", "r", _RESOURCE_ORDER, [], scope_digest("resources-by-environment")
            )
            return with_condition(query, f"r.environment_id = {required(parent)}.id")
        if source is L.RESOURCE_CLASSES:
            return ListingQuery(
                "resource_classes c", "c", _CLASS_ORDER, [], scope_digest("resource-classes")
            )
        if source is L.TEMPLATES:
            return ListingQuery("templates t", "t", _TEMPLATE_ORDER, [], scope_digest("templates"))
        raise NotCompilable
