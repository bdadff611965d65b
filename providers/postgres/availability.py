"""Which failures mean "the database cannot answer now": the one place asyncpg's and the
operating system's errors are told apart from bugs.

An outage is answered `UNAVAILABLE` (HTTP 503 with `Retry-After` when nothing ran; a
payload or GraphQL error otherwise), never `INTERNAL`. It covers: the server unreachable
(connection refused, reset, DNS, a socket gone), a connection lost mid-statement
(`ConnectionDoesNotExistError`, class 08), the server shutting down, starting up or crashed
(`AdminShutdownError`, `CannotConnectNowError`, class 57), out of connections or resources
(`TooManyConnectionsError`, class 53), a statement cut by `statement_timeout`
(`QueryCanceledError`, 57014), a pool that had no connection within its acquire timeout
(`TimeoutError`), a standby reached during a failover (read-only transaction, 25006), a
pool or connection already closed, a pooled connection the restart left half-used, and a
prepared statement a migration just invalidated."""

from __future__ import annotations

import asyncpg
import asyncpg.exceptions

from domain.errors import Unavailable

_OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, socket.gaierror, ...
    TimeoutError,  # the pool's acquire timeout, a connect timeout
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    # A migration ran under this process (a rolling upgrade): asyncpg drops the prepared
    # statement, and the same request succeeds when sent again.
    asyncpg.exceptions.InvalidCachedStatementError,
)
_BROKEN = "another operation"
"""asyncpg's `InternalClientError` on a pooled connection whose server went away while it
was in use ("cannot switch to state ...; another operation is in progress"): met right after
a restart, never otherwise (no connection is shared between tasks here)."""
_CLOSED = ("connection is closed", "pool is closing", "pool is closed")
_CHAIN = 5
"""How far the causes of an error are followed."""


def outage(error: BaseException) -> Unavailable | None:
    """`Unavailable` when `error` (or what it was raised from) means the database could
    not answer."""
    seen: BaseException | None = error
    for _ in range(_CHAIN):
        if seen is None:
            return None
        if isinstance(seen, Unavailable):
            return seen
        if isinstance(seen, _OUTAGES):
            return Unavailable()
        if isinstance(seen, asyncpg.InterfaceError) and any(
            closed in str(seen) for closed in _CLOSED
        ):
            return Unavailable()
        if isinstance(seen, asyncpg.exceptions.InternalClientError) and _BROKEN in str(seen):
            return Unavailable()
        seen = seen.__cause__
    return None
