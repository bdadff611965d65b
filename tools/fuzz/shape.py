"""Does a GraphQL answer have the shape the schema promises for its query? The answer's `data`
is run through graphql-core's executor as the root value, each field read back from it by its
response key: a missing field, a null where the type is non-null, a value its scalar or enum
cannot serialize, a list that is not one, an object of an unknown type, all become errors.
Fields the server reported an error for may be null (or missing, below a null)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from graphql import (
    FieldNode,
    GraphQLAbstractType,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    NameNode,
    SelectionSetNode,
    Visitor,
    build_schema,
    execute_sync,
    get_named_type,
    parse,
    print_ast,
    visit,
)

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"
# What the executor's serializers would coerce (`"1"` for an Int, `1` for a String) must be
# the JSON type itself.
_STRICT_SCALARS: dict[str, tuple[type, ...]] = {
    "String": (str,),
    "ID": (str,),
    "Boolean": (bool,),
    "Int": (int,),
    "Float": (int, float),
}


@functools.cache
def committed_schema() -> GraphQLSchema:
    """The committed SDL, which the suite keeps equal to the served schema."""
    return build_schema(SDL.read_text())


class _AddTypename(Visitor):
    def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> SelectionSetNode | None:
        names = {s.name.value for s in node.selections if isinstance(s, FieldNode) and not s.alias}
        if "__typename" in names:
            return None
        typename = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
        return SelectionSetNode(selections=(*node.selections, typename))


def with_typenames(query: str) -> str:
    """`query` asking `__typename` in every selection set (what tells an answer's objects'
    types apart); a query that does not parse is sent as it is."""
    try:
        document = parse(query)
    except GraphQLError:
        return query
    return print_ast(visit(document, _AddTypename()))


class ShapeProblem(Exception):
    pass


def _read(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
    if not isinstance(source, Mapping):
        raise ShapeProblem(f"not an object: {source!r}"[:200])
    key = info.path.key
    if key not in source:
        raise ShapeProblem("missing from the answer")
    value = source[key]
    expected = _STRICT_SCALARS.get(get_named_type(info.return_type).name)
    if expected is not None and value is not None:
        for item in _leaves(value):
            if item is not None and type(item) not in expected:
                raise ShapeProblem(f"{item!r} is no {get_named_type(info.return_type).name}"[:200])
    return value


def _leaves(value: Any) -> Iterable[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _type_of(
    value: Any, _info: GraphQLResolveInfo[Any], abstract: GraphQLAbstractType
) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("__typename"), str):
        name: str = value["__typename"]
        return name
    raise ShapeProblem(f"no __typename for a {abstract.name}")


def problems(query: str, answer: Any, schema: GraphQLSchema | None = None) -> list[str]:
    """What is wrong with `answer` as an answer to `query` (empty: nothing)."""
    if not isinstance(answer, dict):
        return [f"the answer is not a JSON object: {answer!r}"[:200]]
    found = [f"unexpected top-level key {key!r}" for key in answer if key not in _TOP_LEVEL]
    errors = answer.get("errors")
    if errors is not None and (not isinstance(errors, list) or not errors):
        found.append("`errors` is not a non-empty list")
        errors = None
    for error in errors or []:
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            found.append(f"an error without a message: {error!r}"[:200])
    if "data" not in answer:
        if not errors:
            found.append("neither data nor errors")
        return found
    data = answer["data"]
    if data is None:
        return found
    try:
        document = parse(query)
    except GraphQLError:
        return [*found, "data for a query that does not parse"]
    failed = {tuple(e["path"]) for e in errors or [] if isinstance(e.get("path"), list)}
    result = execute_sync(
        schema or committed_schema(),
        document,
        root_value=data,
        field_resolver=_read,
        type_resolver=_type_of,
    )
    for error in result.errors or []:
        path = tuple(error.path or ())
        if any(path[: len(p)] == p for p in failed):
            continue
        found.append(f"at {'.'.join(map(str, path)) or '(root)'}: {error.message}")
    if not failed and result.errors is None and result.data != data:
        found.append("the data holds other fields than the query asks for")
    return found


_TOP_LEVEL = {"data", "errors", "extensions"}
