"""Idempotency keys in the use-case runner: the key an attempt claims, the reference its
answer is kept as, and the answer read back from it on a replay (`domain/idempotency.py`).

The reference is the use case's value as JSON, typed by the change's return annotation (so
one declaration serves every mutation): records, tuples, the plans and runs some mutations
answer. On a replay, each record it names (top level or in a tuple) is read again by its id,
so the answer shows the object as it is now; one that is gone (a deletion's) is answered as
it was. A secret shown once (a token's, a webhook's) is never kept: a use case's `conceal`
blanks it, and a replay answers it as null."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import typing
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter

from domain.access.model import ApiClientRecord, ApiTokenRecord
from domain.catalog.records import EnvironmentRecord, TeamRecord, UserRecord
from domain.catalog.services import ServiceRecord
from domain.deployments.model import DeploymentRecord
from domain.errors import Conflict, ValidationFailed
from domain.idempotency import MAX_KEY_LENGTH, FirstUse, KeyClaim
from domain.resources.model import ResourceClassRecord, ResourceRecord, TemplateRecord
from domain.webhooks.model import DeliveryRecord, WebhookRecord
from resolvers import nodes
from resolvers.auditing import Input
from resolvers.context import Context
from resolvers.global_ids import encode_id

KEY_FIELD = "idempotencyKey"
KEY_DESCRIPTION = (
    "Sent again with the same key and input (by the same actor, within 24 hours), the "
    "mutation answers its first result and does nothing more; the same key with another "
    "input is a CONFLICT."
)

_NODE_TYPES: dict[type, str] = {
    TeamRecord: "Team",
    UserRecord: "User",
    ServiceRecord: "Service",
    EnvironmentRecord: "Environment",
    ApiClientRecord: "ApiClient",
    ApiTokenRecord: "ApiToken",
    DeploymentRecord: "Deployment",
    WebhookRecord: "Webhook",
    DeliveryRecord: "WebhookDelivery",
    ResourceRecord: "Resource",
    ResourceClassRecord: "ResourceClass",
    TemplateRecord: "Template",
}
_PENDING_CHECKS = 20
_PENDING_PAUSE = 0.05


def key_claim(context: Context, operation: str, data: Input) -> KeyClaim | None:
    """The claim of the key `data` carries, checked before any SQL; None without a key."""
    key = data.get(KEY_FIELD)
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            f"an idempotency key is 1 to {MAX_KEY_LENGTH} characters, not blank",
            ["input", KEY_FIELD],
        )
    principal = context.principal
    return KeyClaim(
        actor_kind=principal.kind.value,
        actor_id=principal.actor_id,
        key=key,
        operation=operation,
        input_hash=input_hash(operation, data),
        attempt=uuid.uuid4().hex,
    )


R = TypeVar("R")


def without_secret(made: tuple[R, str]) -> tuple[R, str]:
    """A `conceal`: the record, without the secret shown once (a replay answers it as null)."""
    return made[0], ""


def input_hash(operation: str, data: Input) -> str:
    """What "the same request" means: the operation and the input as sent, but the key."""
    sent = {name: value for name, value in data.items() if name != KEY_FIELD}
    canonical = orjson.dumps(
        {"operation": operation, "input": sent},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        default=str,
    )
    return hashlib.sha256(canonical).hexdigest()


def without_key(model_fields: typing.Mapping[str, Any], data: Input) -> Input:
    """The input for a model that does not declare the key itself."""
    declared = any(
        (info.alias or name) == KEY_FIELD or name == "idempotency_key"
        for name, info in model_fields.items()
    )
    if declared or KEY_FIELD not in data:
        return data
    return {name: value for name, value in data.items() if name != KEY_FIELD}


def refuse_other_use(claim: KeyClaim, first: FirstUse) -> None:
    if (first.operation, first.input_hash) != (claim.operation, claim.input_hash):
        raise Conflict(
            f"idempotency key '{claim.key}' was used for another request (another operation "
            "or input); send a new key for a new request",
            ["input", KEY_FIELD],
        )


@functools.cache
def _adapter(change: Callable[..., Any]) -> TypeAdapter[Any]:
    returned = typing.get_type_hints(change)["return"]
    return TypeAdapter(returned)


def reference(change: Callable[..., Any], value: Any) -> Any:
    """The JSON the answer is kept as (secrets concealed beforehand)."""
    return _adapter(change).dump_python(value, mode="json")


async def first_answer(
    context: Context, change: Callable[..., Any], claim: KeyClaim, first: FirstUse
) -> Any:
    """The first use's answer, its records read again; waits a moment for a reference still
    being written by an attempt that has just committed."""
    assert context.idempotency is not None
    found: FirstUse | None = first
    for _ in range(_PENDING_CHECKS):
        if found is not None and found.result is not None:
            break
        await asyncio.sleep(_PENDING_PAUSE)
        found = await context.idempotency.first_use(claim)
    if found is None or found.result is None:
        raise Conflict(
            f"the request with idempotency key '{claim.key}' was made, but its answer was not "
            "kept; read the object it changed instead",
            ["input", KEY_FIELD],
        )
    value = _adapter(change).validate_python(found.result)
    if isinstance(value, tuple):
        return tuple([await _fresh(context, item) for item in value])
    return await _fresh(context, value)


async def _fresh(context: Context, value: Any) -> Any:
    type_name = _NODE_TYPES.get(type(value))
    if type_name is None:
        return value
    again = await nodes.node(context, encode_id(type_name, value.id))
    return again if isinstance(again, type(value)) else value
