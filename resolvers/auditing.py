"""Every mutation attempt leaves exactly one audit record.

Accepted writes are recorded by the audited port (catalog writer, access store) inside the
change's own transaction;
refusals (invalid input, denied by policy) are recorded here, after the fact, since
nothing was written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from domain.access.model import AuditEntry, AuditOutcome, Forbidden
from domain.catalog.ports import CatalogWriter
from domain.errors import CatalogError
from resolvers import validation as v
from resolvers.context import Context

T = TypeVar("T")
P = TypeVar("P")
Input = dict[str, Any]


@dataclass(slots=True)
class Outcome(Generic[T]):
    value: T | None = None
    errors: list[CatalogError] = field(default_factory=list)


def target(type_name: str, key: object) -> str | None:
    """`<Type>:<slug>`, the audit log's name for an object, when the input names one."""
    return f"{type_name}:{key}" if isinstance(key, str) and key else None


def audit_entry(
    context: Context, operation: str, data: Input, targets: Sequence[str | None]
) -> AuditEntry:
    principal = context.principal
    idempotency_key = data.get("idempotencyKey")
    return AuditEntry(
        operation=operation,
        outcome=AuditOutcome.ACCEPTED,
        actor_kind=principal.kind,
        actor_id=principal.actor_id,
        actor_name=principal.name,
        token_id=principal.token_id,
        targets=tuple(name for name in targets if name is not None),
        input=data,
        request_id=context.request_id,
        idempotency_key=idempotency_key if isinstance(idempotency_key, str) else None,
    )


async def attempt_with(
    context: Context,
    operation: str,
    data: Input,
    targets: Sequence[str | None],
    audited: Callable[[AuditEntry], P],
    act: Callable[[P], Awaitable[T]],
) -> Outcome[T]:
    """Run `act` on a port made by `audited(entry)` (a catalog writer, the access or the
    deployment store), which records the acceptance in the change's own transaction."""
    entry = audit_entry(context, operation, data, targets)
    return await _recorded(context, entry, lambda: act(audited(entry)))


async def attempt(
    context: Context,
    operation: str,
    data: Input,
    targets: Sequence[str | None],
    act: Callable[[CatalogWriter], Awaitable[T]],
) -> Outcome[T]:
    return await attempt_with(context, operation, data, targets, context.writer.audited, act)


async def attempt_without_change(
    context: Context,
    operation: str,
    data: Input,
    targets: Sequence[str | None],
    act: Callable[[], Awaitable[T]],
) -> Outcome[T]:
    """For attempts that change nothing when accepted (a dry run): recorded right after."""
    entry = audit_entry(context, operation, data, targets)
    outcome = await _recorded(context, entry, act)
    if not outcome.errors:
        await context.audit.append(entry)
    return outcome


async def _recorded(
    context: Context, entry: AuditEntry, act: Callable[[], Awaitable[T]]
) -> Outcome[T]:
    try:
        value = await act()
    except v.InvalidInput as invalid:
        return await record_refusal(context, entry, list(invalid.errors))
    except CatalogError as refused:
        return await record_refusal(context, entry, [refused])
    context.forget_loaded()
    return Outcome(value=value)


async def record_refusal(
    context: Context, entry: AuditEntry, errors: list[CatalogError]
) -> Outcome[T]:
    """Record a refused attempt (DENIED when the policy refused it, else INVALID)."""
    denied = any(isinstance(error, Forbidden) for error in errors)
    await context.audit.append(
        dataclasses.replace(
            entry,
            outcome=AuditOutcome.DENIED if denied else AuditOutcome.INVALID,
            error_codes=tuple(error.code.value for error in errors),
        )
    )
    return Outcome(errors=errors)
