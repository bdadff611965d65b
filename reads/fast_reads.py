"""The fast read path: queries of stored data (the catalog, deployments, resources) answered by
one SQL statement that returns the response JSON, without resolving fields in Python.

Anything it cannot answer exactly (mutations, introspection, provider-backed fields,
documents or arguments the executor would answer with an error) gets None, and the
endpoint hands the request to the standard executor, which stays the reference.
Documents are parsed and validated once per text; prepared reads are cached per
(document, operation, variables), and asyncpg prepares each SQL text once per connection.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, specified_rules
from strawberry.schema.schema import validate_document

from domain.read_plan import CatalogGraphReader, PreparedRead
from reads.graph_map import NotPlannable
from reads.planner import plan_operation

log = logging.getLogger(__name__)


def _variables_key(variables: Mapping[str, Any] | None) -> bytes:
    return orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if variables else b""


CACHE_SIZE = 1024


class FastReads:
    def __init__(
        self, schema: GraphQLSchema, reader: CatalogGraphReader, cache_size: int = CACHE_SIZE
    ) -> None:
        self._schema = schema
        self._reader = reader
        self._document = functools.lru_cache(maxsize=cache_size)(self._valid_document)
        self._prepared = functools.lru_cache(maxsize=cache_size)(self._prepare)

    async def answer(
        self, query: str, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> bytes | None:
        """The whole response body, or None when the executor must answer."""
        read = self._prepared(query, operation_name, _variables_key(variables))
        if read is None:
            return None
        data = await read()
        if data is None:
            return None
        return b'{"data":' + data.encode() + b"}"

    def volatile(
        self, query: str, variables: Mapping[str, Any] | None, operation_name: str | None
    ) -> bool:
        """Whether two answers to this request may differ on unchanged data."""
        read = self._prepared(query, operation_name, _variables_key(variables))
        return read is not None and read.volatile

    def _valid_document(self, query: str) -> DocumentNode | None:
        try:
            document = parse(query)
        except GraphQLError:
            return None
        if validate_document(self._schema, document, tuple(specified_rules)):
            return None
        return document

    def _prepare(
        self, query: str, operation_name: str | None, variables_key: bytes
    ) -> PreparedRead | None:
        document = self._document(query)
        if document is None:
            return None
        variables = orjson.loads(variables_key) if variables_key else None
        try:
            plan = plan_operation(self._schema, document, operation_name, variables)
        except NotPlannable:
            return None
        return self._reader.prepare(plan)
