"""Mutations on teams, users and memberships."""

from __future__ import annotations

import strawberry
from strawberry import UNSET

from domain.catalog.records import TeamRecord, UserRecord
from resolvers import catalog_mutations as m
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.catalog import CatalogInfo, Team, User
from schema.common import UserError, user_errors
from schema.inputs import sent_fields


@strawberry.input
class CreateTeamInput:
    slug: str
    name: str
    description: str | None = UNSET
    parent: str | None = strawberry.field(default=UNSET, description="Slug of the parent team.")


@strawberry.input
class UpdateTeamInput:
    team: str
    expected_version: int | None = UNSET
    name: str | None = UNSET
    description: str | None = UNSET
    parent: str | None = strawberry.field(
        default=UNSET, description="Slug of the new parent team; null makes it top-level."
    )


@strawberry.input
class DeleteTeamInput:
    team: str
    expected_version: int | None = UNSET


@strawberry.input
class CreateUserInput:
    handle: str
    name: str
    email: str


@strawberry.input
class UpdateUserInput:
    user: str
    expected_version: int | None = UNSET
    name: str | None = UNSET
    email: str | None = UNSET


@strawberry.input
class AddTeamMemberInput:
    team: str
    user: str


@strawberry.input
class RemoveTeamMemberInput:
    team: str
    user: str


@strawberry.type
class TeamPayload:
    team: Team | None
    errors: list[UserError]


@strawberry.type
class CreateTeamPayload(TeamPayload):
    pass


@strawberry.type
class UpdateTeamPayload(TeamPayload):
    pass


@strawberry.type
class DeleteTeamPayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[UserError]


@strawberry.type
class CreateUserPayload(UserPayload):
    pass


@strawberry.type
class UpdateUserPayload(UserPayload):
    pass


@strawberry.type
class MembershipPayload:
    team: Team | None
    user: User | None
    errors: list[UserError]


@strawberry.type
class AddTeamMemberPayload(MembershipPayload):
    pass


@strawberry.type
class RemoveTeamMemberPayload(MembershipPayload):
    pass


def _team(record: TeamRecord | None) -> Team | None:
    return Team.from_record(record) if record else None


def _user(record: UserRecord | None) -> User | None:
    return User.from_record(record) if record else None


def _membership(
    outcome: Outcome[tuple[TeamRecord, UserRecord]], payload: type[MembershipPayload]
) -> MembershipPayload:
    team, user = outcome.value if outcome.value else (None, None)
    return payload(team=_team(team), user=_user(user), errors=user_errors(outcome.errors))


@strawberry.type
class TeamMutation:
    @strawberry.mutation
    async def create_team(self, info: CatalogInfo, input: CreateTeamInput) -> CreateTeamPayload:
        outcome = await m.create_team(info.context, sent_fields(input))
        return CreateTeamPayload(team=_team(outcome.value), errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def update_team(self, info: CatalogInfo, input: UpdateTeamInput) -> UpdateTeamPayload:
        outcome = await m.update_team(info.context, sent_fields(input))
        return UpdateTeamPayload(team=_team(outcome.value), errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def delete_team(self, info: CatalogInfo, input: DeleteTeamInput) -> DeleteTeamPayload:
        outcome = await m.delete_team(info.context, sent_fields(input))
        deleted = strawberry.ID(encode_id("Team", outcome.value.id)) if outcome.value else None
        return DeleteTeamPayload(deleted_id=deleted, errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def create_user(self, info: CatalogInfo, input: CreateUserInput) -> CreateUserPayload:
        outcome = await m.create_user(info.context, sent_fields(input))
        return CreateUserPayload(user=_user(outcome.value), errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def update_user(self, info: CatalogInfo, input: UpdateUserInput) -> UpdateUserPayload:
        outcome = await m.update_user(info.context, sent_fields(input))
        return UpdateUserPayload(user=_user(outcome.value), errors=user_errors(outcome.errors))

    @strawberry.mutation
    async def add_team_member(
        self,
        info: CatalogInfo,
        input: AddTeamMemberInput,
    ) -> AddTeamMemberPayload:
        outcome = await m.add_team_member(info.context, sent_fields(input))
        return _membership(outcome, AddTeamMemberPayload)  # type: ignore[return-value]

    @strawberry.mutation
    async def remove_team_member(
        self,
        info: CatalogInfo,
        input: RemoveTeamMemberInput,
    ) -> RemoveTeamMemberPayload:
        outcome = await m.remove_team_member(info.context, sent_fields(input))
        return _membership(outcome, RemoveTeamMemberPayload)  # type: ignore[return-value]
