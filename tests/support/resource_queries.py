"""A hypothesis strategy for read queries over resources, their classes and templates.

It walks the real schema from the roots that lead to them, drawing sub-selections (aliases,
the Actor interface's inline fragments, connections' edges, nodes, pageInfo and totalCount)
down to a depth, and arguments steered toward a seeded catalog: its slugs and unknown ones,
small pages and refused sizes, real cursors (continuing their listing or from another one)
and forged ones, and filters of every condition. Types beside the resource family keep a few
fields, so that the queries stay about resources; provider-backed fields are left out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from hypothesis import strategies as st
from hypothesis.strategies import DrawFn

from domain.resources.model import ResourceState

ROOTS = ("resources", "resourceClasses", "templates", "service", "environment", "environments")
NARROWED = {
    "Query": ROOTS,
    "Service": ("id", "slug", "name", "owner", "resources"),
    "Environment": ("id", "slug", "name", "tier", "resources"),
    "Team": ("id", "slug", "name", "parent"),
    "User": ("id", "handle", "name"),
    "ApiClient": ("id", "slug", "name", "team"),
    "Provider": ("name", "kind"),
}
"""The fields drawn from types beside the resource family (theirs are all drawn)."""
EXECUTOR_ONLY = frozenset({("Resource", "live"), ("Provider", "capabilities")})
"""Provider-backed: a query selecting them is only ever the executor's."""
FORGED_CURSOR = "bm90LWEtY3Vyc29y"
SIZES = (None, None, None, "0", "1", "2", "2", "3", "5", "12")


@dataclass(frozen=True, slots=True)
class SeededCatalog:
    services: Sequence[str]
    environments: Sequence[str]
    teams: Sequence[str]
    classes: Sequence[str]
    cursors: Mapping[str, Sequence[str]]
    """Cursors of the seeded listings' first pages, by field (`Query.resources`)."""


def resource_queries(
    schema: GraphQLSchema, catalog: SeededCatalog, depth: int = 5
) -> st.SearchStrategy[str]:
    query_type = schema.query_type
    assert query_type is not None

    @st.composite
    def query(draw: DrawFn) -> str:
        return "{ " + _Walk(draw, schema, catalog).selection(query_type, depth) + " }"

    return query()


def _quoted(values: Sequence[str]) -> list[str]:
    return [json.dumps(value) for value in values]


class _Walk:
    def __init__(self, draw: DrawFn, schema: GraphQLSchema, catalog: SeededCatalog) -> None:
        self._draw = draw
        self._schema = schema
        self._catalog = catalog

    def selection(self, shown: GraphQLObjectType | GraphQLInterfaceType, depth: int) -> str:
        names = [
            name
            for name in NARROWED.get(shown.name, tuple(shown.fields))
            if (shown.name, name) not in EXECUTOR_ONLY
            and (depth > 0 or is_leaf_type(get_named_type(shown.fields[name].type)))
        ]
        most = 3 if shown is self._schema.query_type else 5
        chosen: list[str] = (
            self._draw(st.lists(st.sampled_from(names), min_size=1, max_size=most, unique=True))
            if names
            else []
        )
        parts = [self._field(shown, name, depth) for name in chosen] or ["__typename"]
        if isinstance(shown, GraphQLInterfaceType) and depth > 0:
            for possible in self._schema.get_possible_types(shown):
                if self._draw(st.booleans()):
                    parts.append(f"... on {possible.name} {{ {self.selection(possible, 0)} }}")
        return " ".join(parts)

    def _field(self, shown: GraphQLObjectType | GraphQLInterfaceType, name: str, depth: int) -> str:
        field = shown.fields[name]
        alias = self._draw(st.sampled_from(("", "", "", f"{name}A: ")))
        head = f"{alias}{name}{self._arguments(shown.name, name, field)}"
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return head
        assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
        return f"{head} {{ {self.selection(named, depth - 1)} }}"

    def _arguments(self, type_name: str, field_name: str, field: GraphQLField) -> str:
        given: list[str] = []
        for name, argument in field.args.items():
            required = isinstance(argument.type, GraphQLNonNull) and (
                argument.default_value is Undefined
            )
            value = self._value(type_name, field_name, name)
            if value is None and required:
                value = '"nope"'
            if value is not None:
                given.append(f"{name}: {value}")
        return f"({', '.join(given)})" if given else ""

    def _value(self, type_name: str, field_name: str, name: str) -> str | None:
        """A GraphQL literal for the argument, or None to leave it out."""
        catalog, draw = self._catalog, self._draw
        if name == "first":  # now and then a size the executor refuses
            return draw(st.sampled_from([*SIZES * 5, "101", "-1"]))
        if name == "after":  # mostly the listing's own cursors, now and then a refused one
            listing = f"{type_name}.{field_name}"
            own = _quoted(catalog.cursors.get(listing, ()))
            other = next(
                (json.dumps(c[0]) for key, c in catalog.cursors.items() if key != listing and c),
                None,
            )
            refused = [json.dumps(FORGED_CURSOR), *([other] if other else [])]
            return draw(st.sampled_from([*[None] * 6, "null", "null", *own * 4, *refused]))
        if name == "slug":
            slugs = catalog.services if field_name == "service" else catalog.environments
            return draw(st.sampled_from([*_quoted(slugs), '"nope"']))
        if name == "environment" and (type_name, field_name) == ("Service", "resources"):
            return draw(st.sampled_from([None, "null", *_quoted(catalog.environments), '"nope"']))
        if name == "filter":
            return None if draw(st.booleans()) else self._filter()
        return None

    def _filter(self) -> str:
        catalog = self._catalog
        states = st.lists(st.sampled_from([state.value for state in ResourceState]), max_size=3)
        choices = {
            "service": st.sampled_from([*_quoted(catalog.services), '"nope"', "null"]),
            "environment": st.sampled_from([*_quoted(catalog.environments), '"nope"']),
            "class": st.sampled_from([*_quoted(catalog.classes), '"nope"']),
            "states": states.map(lambda chosen: f"[{', '.join(chosen)}]") | st.just("null"),
            "owner": st.sampled_from([*_quoted(catalog.teams), '"nope"']),
        }
        keys = self._draw(
            st.lists(st.sampled_from(list(choices)), unique=True, min_size=1, max_size=3)
        )
        return "{" + ", ".join(f"{key}: {self._draw(choices[key])}" for key in keys) + "}"
