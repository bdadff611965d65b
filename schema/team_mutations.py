"""Mutations on teams, users and memberships."""

from __future__ import annotations

from typing import Self

import strawberry

from domain.catalog.records import TeamRecord, UserRecord
from resolvers import catalog_mutations as m
from resolvers.auditing import Outcome
from resolvers.global_ids import encode_id
from schema.catalog import Team, User
from schema.common import UserError, user_errors
from schema.mutation_fields import mutation


@strawberry.type
class TeamPayload:
    team: Team | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[TeamRecord]) -> Self:
        return cls(team=_team(outcome.value), errors=user_errors(outcome.errors))


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

    @classmethod
    def from_outcome(cls, outcome: Outcome[TeamRecord]) -> Self:
        deleted = strawberry.ID(encode_id("Team", outcome.value.id)) if outcome.value else None
        return cls(deleted_id=deleted, errors=user_errors(outcome.errors))


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[UserError]

    @classmethod
    def from_outcome(cls, outcome: Outcome[UserRecord]) -> Self:
        return cls(user=_user(outcome.value), errors=user_errors(outcome.errors))


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

    @classmethod
    def from_outcome(cls, outcome: Outcome[tuple[TeamRecord, UserRecord]]) -> Self:
        team, user = outcome.value if outcome.value else (None, None)
        return cls(team=_team(team), user=_user(user), errors=user_errors(outcome.errors))


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


@strawberry.type
class TeamMutation:
    create_team = mutation(m.create_team, CreateTeamPayload)
    update_team = mutation(m.update_team, UpdateTeamPayload)
    delete_team = mutation(m.delete_team, DeleteTeamPayload)
    create_user = mutation(m.create_user, CreateUserPayload)
    update_user = mutation(m.update_user, UpdateUserPayload)
    add_team_member = mutation(m.add_team_member, AddTeamMemberPayload)
    remove_team_member = mutation(m.remove_team_member, RemoveTeamMemberPayload)
