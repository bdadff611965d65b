"""Pure rules: no database, no HTTP."""

from __future__ import annotations

import pytest

from domain.catalog.changes import OwnerAssignment, TeamPatch
from domain.catalog.records import OwnershipRole
from domain.catalog.rules import (
    check_no_team_cycle,
    check_not_self_dependency,
    check_owner_assignments,
)
from domain.errors import InvalidCursor, ValidationFailed
from providers.postgres.keyset import SortKey, decode_cursor, encode_cursor
from resolvers import validation as v
from resolvers.drafts import patch
from resolvers.global_ids import decode_id, encode_id
from resolvers.paging import page_request

PRIMARY, CONTRIBUTOR = OwnershipRole.PRIMARY, OwnershipRole.CONTRIBUTOR


def test_exactly_one_primary_owner() -> None:
    check_owner_assignments([OwnerAssignment("a", PRIMARY), OwnerAssignment("b", CONTRIBUTOR)])
    with pytest.raises(ValidationFailed, match="exactly one PRIMARY"):
        check_owner_assignments([OwnerAssignment("a", CONTRIBUTOR)])
    with pytest.raises(ValidationFailed, match="exactly one PRIMARY"):
        check_owner_assignments([OwnerAssignment("a", PRIMARY), OwnerAssignment("b", PRIMARY)])


def test_owner_listed_twice_names_its_position() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_owner_assignments([OwnerAssignment("a", PRIMARY), OwnerAssignment("a", CONTRIBUTOR)])
    assert refused.value.path == ("input", "owners", "1", "team")


def test_self_dependency_and_cycles_are_refused() -> None:
    check_not_self_dependency("a", "b")
    with pytest.raises(ValidationFailed):
        check_not_self_dependency("a", "a")
    check_no_team_cycle(1, "one", [2, 3])
    with pytest.raises(ValidationFailed) as refused:
        check_no_team_cycle(1, "one", [5, 1, 7])
    assert refused.value.path == ("input", "parent")


@pytest.mark.parametrize("slug", ["a", "ab", "a-b", "a1", "9", "x" * 63, "payments-api"])
def test_valid_slugs(slug: str) -> None:
    v.validate(v.CreateTeam, {"slug": slug, "name": "Team"})


@pytest.mark.parametrize("slug", ["", "-a", "a-", "A", "a_b", "a b", "x" * 64, "é", "a.b"])
def test_invalid_slugs_name_the_field(slug: str) -> None:
    with pytest.raises(v.InvalidInput) as refused:
        v.validate(v.CreateTeam, {"slug": slug, "name": "Team"})
    assert [error.path for error in refused.value.errors] == [("input", "slug")]


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"name": "x" * 201}, ("input", "name")),
        ({"name": "   "}, ("input", "name")),
        ({"description": "x" * 4001}, ("input", "description")),
        ({"tier": 0}, ("input", "tier")),
        ({"tier": 5}, ("input", "tier")),
        ({"tags": ["t"] * 51}, ("input", "tags")),
        ({"tags": ["x" * 64]}, ("input", "tags", "0")),
        ({"links": [{"title": "t", "url": "ftp://x.example"}]}, ("input", "links", "0", "url")),
        ({"links": [{"title": "t", "url": "https://x.example"}] * 51}, ("input", "links")),
        ({"repositoryUrl": "not a url"}, ("input", "repositoryUrl")),
    ],
)
def test_service_bounds(data: dict[str, object], path: tuple[str, ...]) -> None:
    base: dict[str, object] = {"slug": "svc", "name": "Service", "owner": "team"}
    with pytest.raises(v.InvalidInput) as refused:
        v.validate(v.CreateService, base | data)
    assert path in [error.path for error in refused.value.errors]


def test_service_at_the_bounds_is_valid() -> None:
    v.validate(
        v.CreateService,
        {
            "slug": "svc",
            "name": "x" * 200,
            "owner": "team",
            "description": "d" * 4000,
            "tier": 4,
            "tags": [f"t{i}" for i in range(50)],
            "links": [{"title": "t", "url": f"http://x.example/{i}"} for i in range(50)],
        },
    )


def test_every_problem_is_reported() -> None:
    with pytest.raises(v.InvalidInput) as refused:
        v.validate(v.CreateService, {"slug": "Bad", "name": "", "owner": "t", "tier": 9})
    paths = {error.path for error in refused.value.errors}
    assert paths == {("input", "slug"), ("input", "name"), ("input", "tier")}


def test_null_for_a_required_update_field_is_refused() -> None:
    with pytest.raises(v.InvalidInput) as refused:
        v.validate(v.UpdateTeam, {"team": "t", "name": None})
    assert refused.value.errors[0].path == ("input", "name")
    model = v.validate(v.UpdateTeam, {"team": "t", "description": None})
    assert patch(TeamPatch, model) == TeamPatch(description=None)


def test_page_request_limits() -> None:
    assert page_request().first == 20
    assert page_request(first=100).first == 100
    assert page_request(last=5, before="c").backward
    with pytest.raises(ValidationFailed, match="at most 100"):
        page_request(first=101)
    with pytest.raises(ValidationFailed, match="at most 100"):
        page_request(last=1000)
    with pytest.raises(ValidationFailed):
        page_request(first=-1)
    with pytest.raises(ValidationFailed):
        page_request(first=1, last=1)


def test_global_ids_round_trip_and_reject_garbage() -> None:
    assert decode_id(encode_id("Service", 42)) == ("Service", 42)
    for garbage in ["", "!!!", "U2VydmljZQ", encode_id("Service", 1) + "x", "a" * 500]:
        assert decode_id(garbage) is None


NAME_ID = (SortKey("t.name", "text"), SortKey("t.id", "bigint"))


def test_cursors_belong_to_their_listing() -> None:
    cursor = encode_cursor("scope-a", ["Name", "7"])
    assert decode_cursor(cursor, "scope-a", NAME_ID, "after") == ["Name", "7"]
    with pytest.raises(InvalidCursor, match="another filter or order"):
        decode_cursor(cursor, "scope-b", NAME_ID, "after")
    with pytest.raises(InvalidCursor, match="not a valid cursor"):
        decode_cursor("garbage!", "scope-a", NAME_ID, "after")
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, "scope-a", (*NAME_ID, SortKey("t.id", "bigint")), "after")
