"""Identical live subscriptions share one execution.

Subscribers that send the same document and variables with the same credential, and ask for
live events only (no `after`, no resume point, no first read of one deployment), would each
run the same GraphQL execution on every event and get the same answer. They join one
`Broadcast` instead: it runs the subscription once and hands each result to every member's
bounded queue. A member gets the results of events committed after it joined (the feed's
position then), like a subscription of its own; one that does not read is dropped with
RATE_LIMITED, the others go on; the last one to leave ends the shared subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from graphql import FieldNode, OperationDefinitionNode

from domain.errors import ErrorCode
from domain.events.cursors import position_of
from domain.events.model import Position
from resolvers.event_feed import StreamPosition

log = logging.getLogger(__name__)

_ROOT_FIELDS = {"events": "after", "deploymentUpdated": "deployment"}
"""Root fields that can be shared, and the argument that makes a subscription its own (a
replay, or a first read of one deployment)."""

_END: dict[str, Any] = {}
_TOO_SLOW = {
    "data": None,
    "errors": [
        {
            "message": "you did not read events fast enough and were dropped; subscribe again "
            "with `after` set to the cursor of the last event you received",
            "extensions": {"code": ErrorCode.RATE_LIMITED.value},
        }
    ],
}


def shareable(operation: OperationDefinitionNode) -> bool:
    """Whether the subscription is live only: one root field that can be shared, without the
    argument that makes it a subscription of its own."""
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return False
    field = selections[0]
    own = _ROOT_FIELDS.get(field.name.value)
    return own is not None and all(argument.name.value != own for argument in field.arguments or ())


class Member:
    """One subscriber of a broadcast: its queue of results and its position."""

    def __init__(self, broadcast: Broadcast, after: Position, capacity: int) -> None:
        self._broadcast = broadcast
        self.after = after
        """The feed's position when it joined: it gets the results of later events."""
        self.stream = StreamPosition(subscribed=broadcast.stream.subscribed)
        self._capacity = capacity
        self._pending: deque[tuple[dict[str, Any], str | None]] = deque()
        self._signal = asyncio.Event()
        self._done = False

    def offer(self, sent: dict[str, Any], cursor: str | None) -> None:
        if self._done:
            return
        if len(self._pending) >= self._capacity:
            self._pending.clear()
            self._pending.append((_TOO_SLOW, cursor))
            self._done = True
        else:
            self._pending.append((sent, cursor))
        self._signal.set()

    def end(self) -> None:
        if not self._done:
            self._pending.append((_END, None))
            self._done = True
        self._signal.set()

    async def results(self) -> AsyncGenerator[dict[str, Any], None]:
        try:
            while True:
                while not self._pending:
                    self._signal.clear()
                    await self._signal.wait()
                sent, cursor = self._pending.popleft()
                if sent is _END:
                    return
                if cursor is not None:
                    self.stream.last_cursor = cursor
                yield sent
                if sent is _TOO_SLOW:
                    return
        finally:
            await self._broadcast.leave(self)


class Broadcast:
    """One running subscription whose results go to every member."""

    def __init__(
        self,
        results: AsyncGenerator[dict[str, Any], None],
        stream: StreamPosition,
        on_empty: Callable[[Broadcast], None],
    ) -> None:
        self.stream = stream
        self._results = results
        self._on_empty = on_empty
        self._members: set[Member] = set()
        self.finished = False
        self._task = asyncio.create_task(self._forward(), name="subscription-broadcast")

    def join(self, after: Position, capacity: int) -> Member:
        member = Member(self, after, capacity)
        self._members.add(member)
        return member

    async def leave(self, member: Member) -> None:
        self._members.discard(member)
        if not self._members and not self.finished:
            self.finished = True
            self._on_empty(self)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _forward(self) -> None:
        try:
            async for sent in self._results:
                cursor = self.stream.last_cursor
                position = None if cursor is None else position_of(cursor)
                ends = sent.get("data") is None and bool(sent.get("errors"))
                for member in list(self._members):
                    if position is None or position > member.after or ends:
                        member.offer(sent, cursor)
                if ends:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a shared subscription failed")
        finally:
            if not self.finished:
                self.finished = True
                self._on_empty(self)
            for member in list(self._members):
                member.end()
            with contextlib.suppress(Exception):
                await self._results.aclose()
