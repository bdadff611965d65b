"""A DataLoader whose answers survive the cancellation of any one caller.

A loader hands every caller of a key the same future. graphql-core cancels the sibling fields
of a field that failed, and a cancelled task cancels the future it awaits: without a shield,
every other part of the query waiting on that key would get `CancelledError`, which no
resolver catches and which ends the whole request as if the server were shutting down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import TypeVar

from strawberry.dataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    def load(self, key: K) -> Awaitable[V]:
        """The shared answer behind a shield: cancelling this caller cancels only its wait."""
        return asyncio.shield(super().load(key))
