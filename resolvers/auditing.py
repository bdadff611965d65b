"""Every mutation attempt leaves exactly one audit record (`resolvers.use_cases` sees to it).

Accepted writes are recorded by the audited port (catalog writer, access store, deployment
store) inside the change's own transaction; refusals (invalid input, denied by policy) are
recorded here, after the fact, since nothing was written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from domain.access.model import Forbidden
from domain.audit.model import AuditEntry, AuditOutcome
from domain.errors import CatalogError
from resolvers.context import Context
from resolvers.request_stats import note_refusals

T = TypeVar("T")
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
        channel=context.channel,
    )


async def record_refusal(
    context: Context, entry: AuditEntry, errors: list[CatalogError]
) -> Outcome[T]:
    """Record a refused attempt (DENIED when the policy refused it, else INVALID)."""
    denied = any(isinstance(error, Forbidden) for error in errors)
    note_refusals(error.code.value for error in errors)
    await context.audit.append(
        dataclasses.replace(
            entry,
            outcome=AuditOutcome.DENIED if denied else AuditOutcome.INVALID,
            error_codes=tuple(error.code.value for error in errors),
        )
    )
    return Outcome(errors=errors)
