"""Asserting that the code under test refuses with a given error code."""

from __future__ import annotations

from collections.abc import Awaitable

import pytest

from domain.errors import CatalogError, ErrorCode


async def refusal(code: ErrorCode, awaitable: Awaitable[object]) -> CatalogError:
    """The error `awaitable` raises, which must carry `code`."""
    with pytest.raises(CatalogError) as caught:
        await awaitable
    assert caught.value.code is code, caught.value.message
    return caught.value
