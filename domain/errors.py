"""Errors a port raises on purpose; their messages are safe to show to clients."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class ErrorCode(enum.StrEnum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    FORBIDDEN = "FORBIDDEN"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RATE_LIMITED = "RATE_LIMITED"
    PROVIDER_ERROR = "PROVIDER_ERROR"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class CatalogError(Exception):
    """A refused change or lookup. `path` names the input field at fault, if any."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, path: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = tuple(path) if path is not None else None

    @property
    def extensions(self) -> dict[str, str]:
        """Read by graphql-core when this error surfaces as a GraphQL error."""
        return {"code": self.code.value}


class ValidationFailed(CatalogError):
    code = ErrorCode.VALIDATION


class NotFound(CatalogError):
    code = ErrorCode.NOT_FOUND


class Conflict(CatalogError):
    code = ErrorCode.CONFLICT


class PreconditionFailed(CatalogError):
    code = ErrorCode.PRECONDITION_FAILED


class InvalidCursor(CatalogError):
    code = ErrorCode.VALIDATION


class ProviderFailure(CatalogError):
    """A provider adapter failed or did not answer in time; the message is safe to show."""

    code = ErrorCode.PROVIDER_ERROR


class ProviderPaused(ProviderFailure):
    """The provider's circuit is open: it was not asked. `retry_at` (Unix time) is when it
    may be asked again; work waiting on it is retried then, not failed."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


UNAVAILABLE_MESSAGE = "the database is unavailable at the moment; retry shortly"


class Unavailable(CatalogError):
    """The database could not answer (unreachable, restarting, failing over, out of
    connections, or a statement cut by its timeout): nothing is wrong with the request, and
    the same request may succeed when retried (a write with its `idempotencyKey`)."""

    code = ErrorCode.UNAVAILABLE

    def __init__(self, message: str = UNAVAILABLE_MESSAGE) -> None:
        super().__init__(message)


def no_outage(_: BaseException) -> Unavailable | None:
    """The outage classifier of ports without a database failure to tell apart."""
    return None
