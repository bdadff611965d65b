"""The checks `make fuzz` adds to Schemathesis (tools/fuzz): what they call a bad answer."""

from __future__ import annotations

from typing import Any

import pytest

from tools.fuzz.hooks import internal_errors
from tools.fuzz.shape import problems, with_typenames

QUERY = with_typenames(
    '{ service(slug: "a") { slug lifecycle tier owner { slug } } node(id: "x") { id } }'
)


def answer(**service: Any) -> dict[str, Any]:
    fields = {"__typename": "Service", "slug": "a", "lifecycle": "PRODUCTION", "tier": 1}
    fields["owner"] = {"__typename": "Team", "slug": "pay"}
    return {"data": {"__typename": "Query", "service": {**fields, **service}, "node": None}}


def test_every_selection_set_asks_for_the_typename() -> None:
    assert QUERY.count("__typename") == 4
    assert with_typenames("{ not a query") == "{ not a query"


def test_a_fitting_answer_has_no_problem() -> None:
    assert problems(QUERY, answer()) == []
    assert problems(QUERY, answer(tier=None, owner=None)) == []


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"slug": None}, "at service.slug: Cannot return null for non-nullable field"),
        ({"slug": 7}, "at service.slug: 7 is no String"),
        ({"lifecycle": "RETIRED"}, "at service.lifecycle: Enum 'Lifecycle' cannot represent"),
        ({"tier": 2**31}, "at service.tier: Int cannot represent non 32-bit"),
        ({"tier": "1"}, "at service.tier: '1' is no Int"),
        ({"tier": True}, "at service.tier: True is no Int"),
        ({"owner": {"slug": "pay"}}, "the data holds other fields than the query asks for"),
        ({"owner": {"__typename": "Team"}}, "at service.owner.slug: missing from the answer"),
        ({"__typename": "Team"}, "the data holds other fields than the query asks for"),
        ({"extra": 1}, "the data holds other fields than the query asks for"),
    ],
)
def test_an_answer_that_breaks_the_schema_is_named(changes: dict[str, Any], problem: str) -> None:
    found = problems(QUERY, answer(**changes))
    assert len(found) == 1, found
    assert found[0].startswith(problem), found


def test_a_missing_field_is_a_problem() -> None:
    broken = answer()
    del broken["data"]["service"]["lifecycle"]
    assert problems(QUERY, broken) == ["at service.lifecycle: missing from the answer"]


def test_an_object_of_the_wrong_type_behind_an_interface_is_a_problem() -> None:
    broken = answer()
    broken["data"]["node"] = {"__typename": "Nothing", "id": "x"}
    assert problems(QUERY, broken)[0].startswith(
        "at node: Abstract type 'Node' was resolved to a type 'Nothing'"
    )
    broken["data"]["node"] = {"id": "x"}
    assert problems(QUERY, broken) == ["at node: no __typename for a Node"]


def test_a_field_with_an_error_may_be_null() -> None:
    data = {"__typename": "Query", "service": None, "node": None}
    failed = {"errors": [{"message": "no", "path": ["service"]}], "data": data}
    assert problems(QUERY, failed) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([1], "the answer is not a JSON object: [1]"),
        ({}, "neither data nor errors"),
        ({"errors": []}, "`errors` is not a non-empty list"),
        ({"errors": [{"code": "X"}]}, "an error without a message: {'code': 'X'}"),
        ({"data": None, "errors": [{"message": "m"}], "trace": 1}, "unexpected top-level key"),
    ],
)
def test_a_malformed_response_is_a_problem(body: Any, problem: str) -> None:
    assert any(found.startswith(problem) for found in problems(QUERY, body))


def test_internal_errors_are_found_at_the_top_and_in_payloads() -> None:
    top = {"errors": [{"message": "m", "extensions": {"code": "INTERNAL"}}], "data": None}
    payload = {"data": {"createTeam": {"errors": [{"code": "INTERNAL", "message": "m"}]}}}
    refused = {"data": {"createTeam": {"errors": [{"code": "VALIDATION", "message": "m"}]}}}
    assert len(list(internal_errors(top))) == 1
    assert len(list(internal_errors(payload))) == 1
    assert list(internal_errors(refused)) == []
