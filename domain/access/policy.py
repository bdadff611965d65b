"""Who may do what: every permission decision in one place, apart from where it is enforced.

A decision needs the principal (actor, roles, the credential's scopes) and, for actions on
owned things, the teams that own the thing. Scopes are already narrowed to the actor's roles
when the principal is built, so a token never grants more than its scopes and its scopes
never more than the actor may do.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

from domain.access.model import ActorKind, Forbidden, Principal, Scope


class Action(enum.StrEnum):
    READ_CATALOG = "read the catalog"
    CREATE_SERVICE = "create services"
    CHANGE_SERVICE = "change this service"
    MANAGE_TEAMS = "manage teams"
    MANAGE_USERS = "manage users"
    MANAGE_ENVIRONMENTS = "manage environments"
    MANAGE_API_CLIENTS = "manage API clients"
    MANAGE_OWN_TOKENS = "manage your own API tokens"
    MANAGE_ANY_TOKENS = "manage API tokens of others"
    READ_AUDIT_LOG = "read the audit log"
    DEPLOY = "deploy this service"
    APPROVE = "approve deployments to this environment"
    MANAGE_WEBHOOKS = "manage this webhook"
    MANAGE_RESOURCE_CATALOG = "manage resource classes and templates"
    MANAGE_RESOURCES = "manage this service's resources"
    IMPORT_CATALOG = "import the catalog"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str


_ADMIN_ONLY = frozenset(
    {
        Action.MANAGE_TEAMS,
        Action.MANAGE_USERS,
        Action.MANAGE_ENVIRONMENTS,
        Action.MANAGE_API_CLIENTS,
        Action.MANAGE_ANY_TOKENS,
        Action.READ_AUDIT_LOG,
        Action.MANAGE_RESOURCE_CATALOG,
        Action.IMPORT_CATALOG,
    }
)
_OWNED = {
    Action.CREATE_SERVICE: Scope.WRITE,
    Action.CHANGE_SERVICE: Scope.WRITE,
    Action.DEPLOY: Scope.DEPLOY,
    Action.APPROVE: Scope.APPROVE,
    Action.MANAGE_WEBHOOKS: Scope.WRITE,
    Action.MANAGE_RESOURCES: Scope.WRITE,
}


def role_scopes(kind: ActorKind, is_admin: bool) -> frozenset[Scope]:
    """The most any credential of this actor can grant."""
    if kind is ActorKind.LOCAL_ADMIN or (kind is ActorKind.USER and is_admin):
        return frozenset(Scope)
    return frozenset(Scope) - {Scope.ADMIN}


def acts_as_admin(principal: Principal) -> bool:
    return principal.is_admin and principal.has(Scope.ADMIN)


def decide(principal: Principal, action: Action, teams: Collection[int] = frozenset()) -> Decision:
    """`teams`: for CREATE_SERVICE the new primary owner; for CHANGE_SERVICE and DEPLOY the
    service's owner teams (primary and contributors), and for MANAGE_RESOURCES those of the
    resource's service; for APPROVE the approver teams; for
    MANAGE_WEBHOOKS the webhook's team (none: a webhook only admins manage)."""
    if action is Action.READ_CATALOG:
        return _needs(principal, Scope.READ, action)
    if action in _ADMIN_ONLY:
        if acts_as_admin(principal):
            return Decision(True, "admin")
        return Decision(False, f"only admins may {action.value}")
    if action is Action.MANAGE_OWN_TOKENS:
        if principal.kind is ActorKind.USER:
            return Decision(True, "your own tokens")
        return Decision(False, f"only users may {action.value}")
    scope = _OWNED[action]
    if not principal.has(scope):
        return Decision(False, f"{action.value} needs the `{scope.value}` scope")
    if acts_as_admin(principal):
        return Decision(True, "admin")
    if principal.team_ids.intersection(teams):
        return Decision(True, "member of an owning team")
    return Decision(False, f"only members of the owning teams may {action.value}")


def require(principal: Principal, action: Action, teams: Collection[int] = frozenset()) -> None:
    decision = decide(principal, action, teams)
    if not decision.allowed:
        raise Forbidden(decision.reason)


def _needs(principal: Principal, scope: Scope, action: Action) -> Decision:
    if principal.has(scope):
        return Decision(True, f"`{scope.value}` scope")
    return Decision(False, f"{action.value} needs the `{scope.value}` scope")
