"""What Schemathesis is told about Paved Road (`SCHEMATHESIS_HOOKS=tools.fuzz.hooks`, set by
`make fuzz`): values for the `JSON` scalar, `__typename` asked in every selection set (how the
answer's shape is checked, `tools/fuzz/shape.py`), and the checks of our own:

- `status_below_500`: no answer is a 5xx (Schemathesis' `not_a_server_error` also counts any
  GraphQL error with a `path` as a server failure, and ours are refusals with codes);
- `no_internal_error`: `INTERNAL` is reserved for bugs, in the top-level errors and in a
  mutation payload's `errors`;
- `answer_fits_the_schema`: the answer has the shape the schema promises for the query."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import graphql
import schemathesis
from hypothesis import strategies as st

from tools.fuzz.shape import problems, with_typenames


def _json_node(value: Any) -> graphql.ValueNode:
    if value is None:
        return graphql.NullValueNode()
    if isinstance(value, bool):
        return graphql.BooleanValueNode(value=value)
    if isinstance(value, int):
        return graphql.IntValueNode(value=str(value))
    if isinstance(value, float):
        return graphql.FloatValueNode(value=repr(value))
    if isinstance(value, str):
        return graphql.StringValueNode(value=value)
    if isinstance(value, list):
        return graphql.ListValueNode(values=tuple(_json_node(item) for item in value))
    fields = tuple(
        graphql.ObjectFieldNode(name=graphql.NameNode(value=key), value=_json_node(item))
        for key, item in value.items()
    )
    return graphql.ObjectValueNode(fields=fields)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,8}", fullmatch=True), children, max_size=3
        )
    ),
    max_leaves=8,
)


@schemathesis.hook
def after_load_schema(context: Any, schema: Any) -> None:
    schemathesis.graphql.scalar("JSON", _JSON_VALUES.map(_json_node))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if isinstance(case.body, str):
        case.body = with_typenames(case.body)
    return case


def internal_errors(body: Any) -> Iterator[Any]:
    """Every error object (top-level, or a payload's `errors` at any depth) coded INTERNAL."""
    if isinstance(body, dict):
        extensions = body.get("extensions")
        if body.get("code") == "INTERNAL" or (
            isinstance(extensions, dict) and extensions.get("code") == "INTERNAL"
        ):
            yield body
        for key, value in body.items():
            if key != "extensions":
                yield from internal_errors(value)
    elif isinstance(body, list):
        for item in body:
            yield from internal_errors(item)


def _answer(response: Any) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


@schemathesis.check
def status_below_500(ctx: Any, response: Any, case: Any) -> None:
    """No answer is a server error."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.content[:500]!r}")


@schemathesis.check
def no_internal_error(ctx: Any, response: Any, case: Any) -> None:
    """No error in the answer has the code INTERNAL."""
    found = list(internal_errors(_answer(response)))
    if found:
        raise AssertionError(f"INTERNAL in the answer: {json.dumps(found[0])[:500]}")


@schemathesis.check
def answer_fits_the_schema(ctx: Any, response: Any, case: Any) -> None:
    """The answer is a GraphQL response whose data has the shape the schema promises."""
    if response.status_code >= 500 or not isinstance(case.body, str):
        return
    if response.status_code != 200 and not response.content:
        return
    wrong = problems(case.body, _answer(response))
    if wrong:
        raise AssertionError("; ".join(wrong)[:1000])
