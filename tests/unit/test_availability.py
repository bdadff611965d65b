"""Which failures are a database outage (answered UNAVAILABLE) and which are bugs (INTERNAL):
`providers/postgres/availability.py`, the one place that tells them apart."""

from __future__ import annotations

import asyncpg
import asyncpg.exceptions as pg
import pytest

from domain.errors import ErrorCode, Unavailable
from providers.postgres.availability import outage

OUTAGES: list[BaseException] = [
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    FileNotFoundError(2, "no socket"),  # a Unix socket gone with its server
    TimeoutError(),  # the pool's acquire timeout
    pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    pg.CannotConnectNowError("the database system is starting up"),
    pg.AdminShutdownError("terminating connection due to administrator command"),
    pg.TooManyConnectionsError("sorry, too many clients already"),
    pg.QueryCanceledError("canceling statement due to statement timeout"),
    pg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
    asyncpg.InterfaceError("cannot call Transaction.__aexit__(): connection is closed"),
    pg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    pg.InvalidCachedStatementError("cached statement plan is invalid due to a schema change"),
]
BUGS: list[BaseException] = [
    KeyError("x"),
    ValueError("x"),
    pg.UniqueViolationError("duplicate key value violates unique constraint"),
    pg.UndefinedTableError('relation "teams" does not exist'),
    asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=lambda error: type(error).__name__)
def test_an_outage_is_unavailable(error: BaseException) -> None:
    down = outage(error)
    assert isinstance(down, Unavailable)
    assert down.code is ErrorCode.UNAVAILABLE
    assert "unavailable" in down.message  # nothing of the driver's words


@pytest.mark.parametrize("error", BUGS, ids=lambda error: type(error).__name__)
def test_a_bug_is_not(error: BaseException) -> None:
    assert outage(error) is None


def test_what_an_error_was_raised_from_counts() -> None:
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionRefusedError(111, "Connection refused")
    assert outage(wrapped) is not None
    # A bug raised while handling an outage is still a bug.
    bug = KeyError("a bug while handling it")
    bug.__context__ = ConnectionRefusedError(111, "Connection refused")
    assert outage(bug) is None
