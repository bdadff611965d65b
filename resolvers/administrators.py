"""Who is an administrator: granted from the server's terminal (`paved user create --admin`),
not over the API. Audited like any mutation, under the operation `grantAdministrator`."""

from __future__ import annotations

from domain.access.policy import Action
from domain.access.ports import AccessStore
from domain.catalog.records import UserRecord
from resolvers import validation as v
from resolvers.context import Context
from resolvers.use_cases import Transaction, UseCase, access


class GrantAdministrator(v.InputModel):
    user: v.Reference


async def _grant(
    context: Context, grant: GrantAdministrator, tx: Transaction[AccessStore]
) -> UserRecord:
    return await tx.port.set_admin(grant.user, True)


grant_administrator = UseCase(
    operation="grantAdministrator",
    model=GrantAdministrator,
    action=Action.MANAGE_USERS,
    targets=[("User", "user")],
    port=access,
    change=_grant,
)
