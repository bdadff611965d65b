"""Unit tests run without a database: asking for one is a mistake, named at once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def database_url() -> str:
    pytest.fail("a unit test asked for PostgreSQL: it belongs in tests/integration or tests/e2e")
