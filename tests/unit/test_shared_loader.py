"""A loader's shared answer outlives a cancelled caller (graphql-core cancels the siblings of
a field that failed)."""

from __future__ import annotations

import asyncio

import pytest
from graphql.pyutils import gather_with_cancel
from strawberry.dataloader import DataLoader

from resolvers.shared_loader import SharedLoader


async def _doubled(keys: list[int]) -> list[int]:
    await asyncio.sleep(0.02)
    return [key * 2 for key in keys]


async def _second_after_the_first_is_cancelled(loader: DataLoader[int, int]) -> int:
    """Two callers of one key; the first is cancelled while the batch runs."""
    first = asyncio.ensure_future(loader.load(1))
    second = asyncio.ensure_future(loader.load(1))
    await asyncio.sleep(0)
    first.cancel()
    answer = await second
    assert first.cancelled()
    return answer


async def test_a_cancelled_caller_leaves_the_others_their_answer() -> None:
    loader: SharedLoader[int, int] = SharedLoader(load_fn=_doubled)
    assert await _second_after_the_first_is_cancelled(loader) == 2
    assert await loader.load(1) == 2  # the cache holds the answer, not a cancellation


async def test_a_failed_sibling_field_does_not_cancel_the_same_key_elsewhere() -> None:
    """As the executor runs fields: a failing field's siblings are cancelled; a field of
    another branch waiting on the same key still gets its answer."""
    loader: SharedLoader[int, int] = SharedLoader(load_fn=_doubled)

    async def failing() -> int:
        await asyncio.sleep(0.005)
        raise ValueError("this field failed")

    async def sibling() -> int:
        return await loader.load(7)

    async def elsewhere() -> int:
        return await loader.load(7)

    other_branch = asyncio.ensure_future(elsewhere())
    with pytest.raises(ValueError, match="this field failed"):
        await gather_with_cancel(failing(), sibling())
    assert await other_branch == 14


async def test_without_the_shield_the_other_branch_would_be_cancelled() -> None:
    """What the shield is for: strawberry's loader hands the same future to every caller."""
    loader: DataLoader[int, int] = DataLoader(load_fn=_doubled)
    with pytest.raises(asyncio.CancelledError):
        await _second_after_the_first_is_cancelled(loader)
