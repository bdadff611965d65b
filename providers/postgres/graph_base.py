"""What every part of the graph compiler shares: the statement's parameters and guards,
aliases, JSON objects, and the operations each part asks of the whole compiler."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from domain import read_plan as p
from providers.postgres.catalog_listings import ListingQuery
from providers.postgres.graph_values import (
    MAX_FIELDS_PER_OBJECT,
    NotCompilable,
    constant,
    text,
)
from providers.postgres.keyset import Params


class CompilerBase(ABC):
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
        parts = [f"{text(key)}, {value}" for key, value in pairs]
        if len(parts) > MAX_FIELDS_PER_OBJECT:
            raise NotCompilable
        return f"json_build_object({', '.join(parts)})"

    def _id_named(self, table: str, slug: str) -> str:
        """The id of the row with this slug, guarded: the executor reports a slug that names
        nothing as an error."""
        named = f"FROM {table} WHERE slug = {self.params.add(slug)}::text"
        self.guards.append(f"EXISTS (SELECT 1 {named})")
        return f"(SELECT id {named})"

    def _virtual(self, selection: p.Selection, id_sql: str, values: dict[str, str]) -> str:
        """An object that is no row of its own: its fields' SQL given."""

        def value(field: p.Field) -> str:
            if isinstance(field, p.Constant):
                return constant(field)
            if isinstance(field, p.GlobalId):
                return id_sql
            if isinstance(field, p.Stored):
                return values[field.name]
            raise NotCompilable

        return self.fields((field.key, value(field)) for field in selection.fields)

    def _by_id(self, selection: p.Selection, table: str, id_sql: str) -> str:
        """The row of `table` whose id is `id_sql`, or null."""
        row = self._alias("r")
        return (
            f"(SELECT {self._object(selection, row)} FROM {table} {row} WHERE {row}.id = {id_sql})"
        )

    def _provider(self, selection: p.Selection, kind: str) -> str:
        """A Provider: its name is its kind (capabilities are the executor's)."""
        return self._virtual(selection, "NULL", {"name": kind, "kind": kind})

    @abstractmethod
    def _object(self, selection: p.Selection, alias: str) -> str: ...

    @abstractmethod
    def _connection(self, connection: p.Connection, parent: str | None) -> str: ...

    @abstractmethod
    def _listing(self, listing: p.Listing, parent: str | None) -> ListingQuery: ...
