"""One runner for every mutation: policy, validation, one audited transaction, then the work
that must wait for the commit.

A mutation is declared once, as a `UseCase`: its operation (the audit log's name for it), its
input model (`resolvers.validation`), the policy action every caller needs, the further checks
that need the validated input, the targets it audits, and the change itself. `run` does the
rest, in this order:

1. `action`: refused (DENIED) before the input is even read;
2. validation of the input as sent (INVALID with every problem and its path);
3. `check`: policy on the objects the input names, references that must exist;
4. the change, in ONE transaction: the port it writes through (`Transaction.port`) records the
   attempt's audit record in the change's own transaction (`_in_transaction` is the one place
   a port is bound to the record);
5. after the commit: this request's loaded data is forgotten, then the work the change asked
   for (`Transaction.after_commit`, such as handing a deployment to its provider) runs.

Every attempt leaves exactly one audit record: an accepted change's is written with it; a
refusal's (DENIED, INVALID, with the error codes) right after, since nothing was written; a
preview (`preview`, for an input with `dryRun`) changes nothing and is recorded as accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from domain.access.policy import Action, require
from domain.access.ports import AccessStore
from domain.audit.model import AuditEntry, ClaimingEntry
from domain.catalog.ports import CatalogWriter
from domain.deployments.ports import DeploymentStore
from domain.errors import CatalogError
from domain.idempotency import KeyClaim, KeyInUse
from resolvers import idempotency as keys
from resolvers import validation as v
from resolvers.auditing import Input, Outcome, audit_entry, record_refusal, target
from resolvers.context import Context

log = logging.getLogger(__name__)

M = TypeVar("M", bound=v.InputModel)
P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)
T = TypeVar("T")

AfterCommit = Callable[[], Awaitable[None]]


class Auditable(Protocol[P_co]):
    """A write port whose changes can also record an audit entry, in their own transaction."""

    def audited(self, entry: AuditEntry) -> P_co: ...


def catalog(context: Context) -> CatalogWriter:
    return context.writer


def deployments(context: Context) -> DeploymentStore:
    return context.deployments


def access(context: Context) -> AccessStore:
    return context.access


@dataclass(slots=True)
class Transaction(Generic[P]):
    """What a use case's change is given: the port its write goes through (which commits the
    attempt's audit record with it), and where to leave the work for after the commit."""

    port: P
    followups: list[AfterCommit] = field(default_factory=list)

    def after_commit(self, work: AfterCommit) -> None:
        self.followups.append(work)


@dataclass(frozen=True, slots=True)
class UseCase(Generic[M, P, T]):
    """One mutation, declared once; calling it with the input as sent runs it."""

    operation: str
    model: type[M]
    port: Callable[[Context], Auditable[P]]
    change: Callable[[Context, M, Transaction[P]], Awaitable[T]]
    targets: Sequence[tuple[str, str]] = ()
    """(type, input field) pairs: the audit log's `<Type>:<slug>` names, from the input as sent."""
    action: Action | None = None
    check: Callable[[Context, M], Awaitable[None]] | None = None
    preview: Callable[[Context, M], Awaitable[T]] | None = None
    """The answer without the change, for an input whose `dry_run` is set."""
    conceal: Callable[[T], T] | None = None
    """The answer as its idempotency key keeps it: without a secret shown only once."""
    audited_input: Callable[[Input], Input] | None = None
    """What the audit record keeps of the input, when not all of it (an import's files)."""
    changes_access: bool = False
    """Whether the change may alter what an API token's principal may do (revocations,
    memberships...): after the commit, the request waits for the process's token cache to
    settle (`Context.access_changed`)."""

    async def __call__(self, context: Context, data: Input) -> Outcome[T]:
        """Run it on `data`: the input as sent (camelCase keys, only the fields given)."""
        return await run(context, self, data)

    def named_targets(self, data: Input) -> list[str | None]:
        fields = self.model.model_fields
        return [target(kind, data.get(fields[name].alias or name)) for kind, name in self.targets]


async def run(context: Context, use_case: UseCase[M, P, T], data: Input) -> Outcome[T]:
    kept = data if use_case.audited_input is None else use_case.audited_input(data)
    entry = audit_entry(context, use_case.operation, kept, use_case.named_targets(data))
    transaction: Transaction[P] | None = None
    claim: KeyClaim | None = None
    try:
        model, claim = _admitted(context, use_case, data)
        if claim is not None and (replayed := await _replayed(context, use_case, claim)):
            await context.audit.append(entry)
            return replayed
        if use_case.check is not None:
            await use_case.check(context, model)
        if use_case.preview is not None and getattr(model, "dry_run", False) is True:
            value = await use_case.preview(context, model)
        else:
            claiming = entry if claim is None else ClaimingEntry.of(entry, claim)
            transaction = _in_transaction(context, use_case, claiming)
            value = await use_case.change(context, model, transaction)
    except KeyInUse:
        assert claim is not None
        return await _after_the_other(context, use_case, claim, entry)
    except v.InvalidInput as invalid:
        return await record_refusal(context, entry, list(invalid.errors))
    except CatalogError as refused:
        return await record_refusal(context, entry, [refused])
    except Exception as error:
        down = context.outage(error)
        if down is None:
            raise
        # Nothing can be recorded while the database is away; whether a change that failed
        # at its commit was made, a retry with the same idempotency key finds out.
        log.warning("%s: the database is unavailable (%r)", use_case.operation, error)
        return Outcome(errors=[down])
    context.forget_loaded()
    if transaction is None:
        await context.audit.append(entry)
        return Outcome(value=value)
    if claim is not None:
        await _remember(context, use_case, claim, value)
    if use_case.changes_access and context.access_changed is not None:
        await context.access_changed()
    await _follow_up(context, use_case.operation, transaction.followups)
    return Outcome(value=value)


async def _after_the_other(
    context: Context, use_case: UseCase[M, P, T], claim: KeyClaim, entry: AuditEntry
) -> Outcome[T]:
    """Another attempt with this key committed first (this one's change was rolled back):
    its answer, or CONFLICT when its input was another."""
    try:
        replayed = await _replayed(context, use_case, claim)
    except CatalogError as refused:
        return Outcome(errors=[refused])
    if replayed is None:
        raise KeyInUse(claim.key)
    await context.audit.append(entry)
    return replayed


def _admitted(
    context: Context, use_case: UseCase[M, P, T], data: Input
) -> tuple[M, KeyClaim | None]:
    """The validated input and the claim of its idempotency key, once the actor may make
    this attempt (both checked before any SQL)."""
    if use_case.action is not None:
        require(context.principal, use_case.action)
    model = v.validate(use_case.model, keys.without_key(use_case.model.model_fields, data))
    if context.idempotency is None:
        return model, None
    return model, keys.key_claim(context, use_case.operation, data)


async def _replayed(
    context: Context, use_case: UseCase[M, P, T], claim: KeyClaim
) -> Outcome[T] | None:
    """The first answer given under `claim`'s key, if it was used; CONFLICT (raised) when it
    was used for another request."""
    assert context.idempotency is not None
    first = await context.idempotency.first_use(claim)
    if first is None:
        return None
    keys.refuse_other_use(claim, first)
    value: T = await keys.first_answer(context, use_case.change, claim, first)
    return Outcome(value=value)


async def _remember(
    context: Context, use_case: UseCase[M, P, T], claim: KeyClaim, value: T
) -> None:
    """Keep the committed answer's reference. The change is made: failing to keep it must not
    fail the answer (a replay then says the answer was not kept)."""
    assert context.idempotency is not None
    kept = value if use_case.conceal is None else use_case.conceal(value)
    try:
        await context.idempotency.remember(claim, keys.reference(use_case.change, kept))
    except Exception as error:
        if context.outage(error) is None:
            raise
        log.warning("%s: its idempotency key's answer was not kept (%r)", claim.operation, error)


async def _follow_up(context: Context, operation: str, followups: list[AfterCommit]) -> None:
    """The work a committed change left. The change is made: a database outage now must not
    turn its answer into a failure the client would retry (the runners' sweeps take up what
    was not handed over)."""
    for work in followups:
        try:
            await work()
        except Exception as error:
            if context.outage(error) is None:
                raise
            log.warning("%s: its follow-up waits for the database (%r)", operation, error)


def _in_transaction(
    context: Context, use_case: UseCase[M, P, T], entry: AuditEntry
) -> Transaction[P]:
    """The change's one transaction: the port records `entry` in the transaction of the
    change made through it."""
    return Transaction(use_case.port(context).audited(entry))
