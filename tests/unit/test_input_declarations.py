"""Each input is declared once, as a pydantic model: the GraphQL input type, the update input
and the domain drafts and patches follow from it. No database, no HTTP."""

from __future__ import annotations

import dataclasses

import pytest

from domain.catalog.changes import (
    KEEP,
    EnvironmentDraft,
    EnvironmentPatch,
    TeamDraft,
    TeamPatch,
    UserDraft,
    UserPatch,
)
from domain.catalog.services import Lifecycle, Link, ServiceDraft, ServicePatch
from resolvers import validation as v
from resolvers.drafts import draft, patch
from schema.inputs import graphql_input, sent_fields


@pytest.mark.parametrize(
    ("made", "declared_by"),
    [
        (TeamDraft, v.CreateTeam),
        (TeamPatch, v.UpdateTeam),
        (UserDraft, v.CreateUser),
        (UserPatch, v.UpdateUser),
        (ServiceDraft, v.CreateService),
        (ServicePatch, v.UpdateService),
        (EnvironmentDraft, v.CreateEnvironment),
        (EnvironmentPatch, v.UpdateEnvironment),
    ],
)
def test_every_draft_and_patch_field_is_declared_by_its_input(
    made: type[object], declared_by: type[v.InputModel]
) -> None:
    fields = {field.name for field in dataclasses.fields(made)}  # type: ignore[arg-type]
    assert fields <= set(declared_by.model_fields)


def test_a_draft_takes_every_field_by_name() -> None:
    service = v.validate(
        v.CreateService,
        {
            "slug": "pay", "name": "Pay", "owner": "core", "tags": ["a"],
            "links": [{"title": "Docs", "url": "https://docs"}],
        },
    )  # fmt: skip
    assert draft(ServiceDraft, service) == ServiceDraft(
        slug="pay",
        name="Pay",
        owner="core",
        lifecycle=Lifecycle.EXPERIMENTAL,
        tags=("a",),
        links=(Link("Docs", "https://docs"),),
    )


def test_a_patch_takes_only_the_fields_sent() -> None:
    sent = v.validate(v.UpdateService, {"service": "pay", "tier": None, "tags": ["b"]})
    assert patch(ServicePatch, sent) == ServicePatch(tier=None, tags=("b",))
    assert patch(ServicePatch, sent).name is KEEP


def test_an_update_input_is_its_create_input_made_optional() -> None:
    created = [name for name in v.CreateService.model_fields if name not in {"slug", "owner"}]
    assert list(v.UpdateService.model_fields) == ["service", "expected_version", *created]
    assert {"name", "description", "tier", "tags", "links", "repository_url"} <= set(created)
    assert all(not field.is_required() for field in list(v.UpdateService.model_fields.values())[1:])
    with pytest.raises(v.InvalidInput) as refused:
        v.validate(v.UpdateService, {"service": "pay", "tier": 9, "name": None})
    assert [error.path for error in refused.value.errors] == [
        ("input", "name"),
        ("input", "tier"),
    ]


def test_the_graphql_input_tells_a_field_left_out_from_one_sent_as_null() -> None:
    update_team = graphql_input(v.UpdateTeam, "UpdateTeamInput")
    assert sent_fields(update_team(team="core")) == {"team": "core"}
    assert sent_fields(update_team(team="core", parent=None, expected_version=2)) == {
        "team": "core",
        "expectedVersion": 2,
        "parent": None,
    }
    assert graphql_input(v.UpdateTeam, "UpdateTeamInput") is update_team
