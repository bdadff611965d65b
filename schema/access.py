"""Actors and their credentials: `viewer`, API clients and API tokens (never their secrets)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.access import model as access
from resolvers import access_queries as aq
from resolvers.global_ids import encode_id
from schema.catalog import CatalogInfo, Team, User
from schema.common import Actor, Node

ApiScope = strawberry.enum(access.Scope, name="ApiScope")


@strawberry.type(description="A bot or CI job, owned by a team and acting for it.")
class ApiClient(Node, Actor):
    record: strawberry.Private[access.ApiClientRecord]
    slug: str

    @strawberry.field
    async def team(self, info: CatalogInfo) -> Team:
        return Team.from_record(await aq.team_of_client(info.context, self.record))


@strawberry.type(
    description="The built-in administrator of development mode: requests without credentials."
)
class LocalAdmin(Actor):
    pass


@strawberry.type(description="An API token's metadata; its secret is shown once, at creation.")
class ApiToken(Node):
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The token's first characters; not secret.")
    scopes: list[access.Scope]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


async def viewer_of(info: CatalogInfo) -> Actor:
    found = await aq.viewer(info.context)
    if isinstance(found, access.ApiClientRecord):
        return ApiClient.from_record(found)
    if found is not None:
        return User.from_record(found)
    return LocalAdmin(id=strawberry.ID(encode_id("LocalAdmin", 0)), name="local admin")
