"""The permission table: role, scopes, ownership and action, one cell per case."""

from __future__ import annotations

import pytest

from domain.access.model import LOCAL_ADMIN, ActorKind, Forbidden, Principal, Scope
from domain.access.policy import Action, decide, require, role_scopes

OWNERS = frozenset({1})  # the service's (or environment's approver) teams
OTHER = frozenset({2})

R, W, D, AP, AD = Scope.READ, Scope.WRITE, Scope.DEPLOY, Scope.APPROVE, Scope.ADMIN


def user(scopes: set[Scope], teams: frozenset[int], admin: bool = False) -> Principal:
    granted = frozenset(scopes) & role_scopes(ActorKind.USER, admin)
    return Principal(ActorKind.USER, 7, "u", granted, is_admin=admin, team_ids=teams)


def client(scopes: set[Scope], team: frozenset[int]) -> Principal:
    granted = frozenset(scopes) & role_scopes(ActorKind.CLIENT, False)
    return Principal(ActorKind.CLIENT, 9, "ci", granted, team_ids=team)


ADMIN_ALL = user({R, W, D, AP, AD}, OTHER, admin=True)
ADMIN_NO_ADMIN_SCOPE = user({R, W}, OTHER, admin=True)
ADMIN_READ_ONLY = user({R, AD}, OTHER, admin=True)
MEMBER_RW = user({R, W}, OWNERS)
MEMBER_READ = user({R}, OWNERS)
MEMBER_ALL_BUT_ADMIN = user({R, W, D, AP}, OWNERS)
MEMBER_ASKS_ADMIN = user({R, W, AD}, OWNERS)  # not an admin: the admin scope is dropped
OUTSIDER_RW = user({R, W, D, AP}, OTHER)
NO_SCOPES = user(set(), OWNERS)
CLIENT_OWNER = client({R, W, D}, OWNERS)
CLIENT_OWNER_READ = client({R}, OWNERS)
CLIENT_OTHER = client({R, W, D, AP, AD}, OTHER)

CELLS = [
    # reading the catalog (node/nodes on any team's objects included) needs `read` only
    (MEMBER_READ, Action.READ_CATALOG, OTHER, True),
    (OUTSIDER_RW, Action.READ_CATALOG, OWNERS, True),
    (CLIENT_OTHER, Action.READ_CATALOG, OWNERS, True),
    (NO_SCOPES, Action.READ_CATALOG, OWNERS, False),
    (user({W}, OWNERS), Action.READ_CATALOG, OWNERS, False),
    (LOCAL_ADMIN, Action.READ_CATALOG, OWNERS, True),
    # changing a service: `write` and membership of an owner team, or admin
    (MEMBER_RW, Action.CHANGE_SERVICE, OWNERS, True),
    (MEMBER_READ, Action.CHANGE_SERVICE, OWNERS, False),
    (OUTSIDER_RW, Action.CHANGE_SERVICE, OWNERS, False),
    (ADMIN_ALL, Action.CHANGE_SERVICE, OWNERS, True),
    (ADMIN_NO_ADMIN_SCOPE, Action.CHANGE_SERVICE, OWNERS, False),
    (ADMIN_READ_ONLY, Action.CHANGE_SERVICE, OWNERS, False),
    (CLIENT_OWNER, Action.CHANGE_SERVICE, OWNERS, True),
    (CLIENT_OWNER_READ, Action.CHANGE_SERVICE, OWNERS, False),
    (CLIENT_OTHER, Action.CHANGE_SERVICE, OWNERS, False),
    (MEMBER_ASKS_ADMIN, Action.CHANGE_SERVICE, OTHER, False),
    (LOCAL_ADMIN, Action.CHANGE_SERVICE, OWNERS, True),
    # creating a service: `write`, owned by a team the actor belongs to
    (MEMBER_RW, Action.CREATE_SERVICE, OWNERS, True),
    (MEMBER_RW, Action.CREATE_SERVICE, OTHER, False),
    (MEMBER_READ, Action.CREATE_SERVICE, OWNERS, False),
    (ADMIN_ALL, Action.CREATE_SERVICE, OWNERS, True),
    (CLIENT_OWNER, Action.CREATE_SERVICE, OWNERS, True),
    (CLIENT_OTHER, Action.CREATE_SERVICE, OWNERS, False),
    # teams, users, environments and API clients: admins only (role and scope)
    (ADMIN_ALL, Action.MANAGE_TEAMS, OTHER, True),
    (ADMIN_NO_ADMIN_SCOPE, Action.MANAGE_TEAMS, OTHER, False),
    (MEMBER_ASKS_ADMIN, Action.MANAGE_TEAMS, OWNERS, False),
    (MEMBER_ALL_BUT_ADMIN, Action.MANAGE_USERS, OWNERS, False),
    (ADMIN_ALL, Action.MANAGE_USERS, OTHER, True),
    (ADMIN_ALL, Action.MANAGE_ENVIRONMENTS, OTHER, True),
    (OUTSIDER_RW, Action.MANAGE_ENVIRONMENTS, OTHER, False),
    (CLIENT_OTHER, Action.MANAGE_API_CLIENTS, OTHER, False),
    (ADMIN_ALL, Action.MANAGE_API_CLIENTS, OTHER, True),
    (LOCAL_ADMIN, Action.MANAGE_API_CLIENTS, OTHER, True),
    # tokens: users manage their own; admins anyone's
    (MEMBER_READ, Action.MANAGE_OWN_TOKENS, OWNERS, True),
    (CLIENT_OWNER, Action.MANAGE_OWN_TOKENS, OWNERS, False),
    (MEMBER_RW, Action.MANAGE_ANY_TOKENS, OWNERS, False),
    (ADMIN_ALL, Action.MANAGE_ANY_TOKENS, OTHER, True),
    # the audit log: admins
    (ADMIN_ALL, Action.READ_AUDIT_LOG, OTHER, True),
    (MEMBER_ALL_BUT_ADMIN, Action.READ_AUDIT_LOG, OWNERS, False),
    # deploying: `deploy` and membership of an owner team, or admin
    (MEMBER_ALL_BUT_ADMIN, Action.DEPLOY, OWNERS, True),
    (MEMBER_RW, Action.DEPLOY, OWNERS, False),
    (OUTSIDER_RW, Action.DEPLOY, OWNERS, False),
    (CLIENT_OWNER, Action.DEPLOY, OWNERS, True),
    (ADMIN_ALL, Action.DEPLOY, OWNERS, True),
    # approving: `approve` and membership of an approver team, or admin
    (MEMBER_ALL_BUT_ADMIN, Action.APPROVE, OWNERS, True),
    (OUTSIDER_RW, Action.APPROVE, OWNERS, False),
    (CLIENT_OWNER, Action.APPROVE, OWNERS, False),
    (ADMIN_ALL, Action.APPROVE, OWNERS, True),
]


@pytest.mark.parametrize(("principal", "action", "teams", "allowed"), CELLS)
def test_permission_table(
    principal: Principal, action: Action, teams: frozenset[int], allowed: bool
) -> None:
    decision = decide(principal, action, teams)
    assert decision.allowed is allowed, decision.reason
    if allowed:
        require(principal, action, teams)
    else:
        with pytest.raises(Forbidden) as refused:
            require(principal, action, teams)
        assert refused.value.code.value == "FORBIDDEN"
        assert refused.value.message == decision.reason


def test_the_table_is_large_enough() -> None:
    assert len(CELLS) >= 40


def test_clients_never_hold_the_admin_scope() -> None:
    assert Scope.ADMIN not in CLIENT_OTHER.scopes
    assert Scope.ADMIN not in MEMBER_ASKS_ADMIN.scopes
    assert Scope.ADMIN in ADMIN_ALL.scopes
