"""Turns connection arguments into a validated `PageRequest`."""

from __future__ import annotations

from domain.catalog.records import PageRequest
from domain.errors import ValidationFailed

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def page_request(
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> PageRequest:
    if first is not None and last is not None:
        raise ValidationFailed("pass `first` or `last`, not both", ["first"])
    for name, size in (("first", first), ("last", last)):
        if size is None:
            continue
        if size < 0:
            raise ValidationFailed(f"`{name}` must not be negative, got {size}", [name])
        if size > MAX_PAGE_SIZE:
            raise ValidationFailed(f"`{name}` may be at most {MAX_PAGE_SIZE}, got {size}", [name])
    if last is not None or (first is None and before is not None and after is None):
        return PageRequest(
            last=last if last is not None else DEFAULT_PAGE_SIZE, before=before, after=after
        )
    return PageRequest(
        first=first if first is not None else DEFAULT_PAGE_SIZE, after=after, before=before
    )
