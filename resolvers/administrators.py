"""Who is an administrator: granted from the server's terminal (`paved user create --admin`),
not over the API. Audited like any mutation, under the operation `grantAdministrator`."""

from __future__ import annotations

from domain.access.policy import Action, require
from domain.access.ports import AccessStore
from domain.catalog.records import UserRecord
from resolvers import validation as v
from resolvers.auditing import Input, Outcome, attempt_with, target
from resolvers.context import Context


class GrantAdministrator(v.InputModel):
    user: v.Reference


async def grant_administrator(context: Context, data: Input) -> Outcome[UserRecord]:
    async def act(store: AccessStore) -> UserRecord:
        require(context.principal, Action.MANAGE_USERS)
        model = v.validate(GrantAdministrator, data)
        return await store.set_admin(model.user, True)

    return await attempt_with(
        context,
        "grantAdministrator",
        data,
        [target("User", data.get("user"))],
        context.access.audited,
        act,
    )
