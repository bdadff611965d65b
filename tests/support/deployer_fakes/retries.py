"""Retries without waiting, for the adapters' tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import stamina

from providers.deployers.retries import MAX_ATTEMPTS


@contextmanager
def instant_retries() -> Iterator[None]:
    """Calls are tried as often as the policy says (never more), with no wait between
    attempts: stamina's test mode."""
    with stamina.set_testing(True, attempts=MAX_ATTEMPTS, cap=True):
        yield
