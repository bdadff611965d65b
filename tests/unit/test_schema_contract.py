"""The committed SDL is the public contract: the code's schema must match it."""

from __future__ import annotations

from importlib.resources import files

from schema.build import schema_sdl

COMMITTED = files("schema").joinpath("schema.graphql")


def test_code_schema_matches_the_committed_sdl() -> None:
    assert schema_sdl() == COMMITTED.read_text(encoding="utf-8"), (
        "The GraphQL schema drifted from schema/schema.graphql. If the change is intended "
        "(additive, or removing a field deprecated earlier), run `make schema` and commit it."
    )


def test_contract_names_are_present() -> None:
    sdl = COMMITTED.read_text(encoding="utf-8")
    for declaration in (
        "interface Node",
        "enum Lifecycle",
        "enum EnvironmentTier",
        "enum OwnershipRole",
        "enum ErrorCode",
        "type UserError",
        "type Team implements Node",
        "type User implements Node",
        "type Service implements Node",
        "type Environment implements Node",
        "input ServiceFilter",
        "input ServiceOrder",
        "enum ServiceOrderField",
        "enum OrderDirection",
        "type ServiceConnection",
        "type PageInfo",
        "createTeam(input: CreateTeamInput!): CreateTeamPayload!",
        "removeServiceDependency(input: RemoveServiceDependencyInput!): "
        "RemoveServiceDependencyPayload!",
        "deleteEnvironment(input: DeleteEnvironmentInput!): DeleteEnvironmentPayload!",
        "services(first: Int, after: String, last: Int, before: String, "
        "filter: ServiceFilter, orderBy: ServiceOrder): ServiceConnection!",
    ):
        assert declaration in sdl, declaration
