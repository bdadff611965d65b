"""Cost-based rate limiting: one token bucket per actor, in this process's memory.

A request costs its static node estimate (at least 1 point). Each bucket holds up to
`points` and refills continuously at `refill_per_second`; a request that finds too few
points in its actor's bucket is refused without taking any. Several server processes
each keep their own buckets, so an actor may spend `points` in every one of them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_ACTORS = 100_000


@dataclass(frozen=True, slots=True)
class Charge:
    requested: int
    remaining: int


class RateLimited(Exception):
    def __init__(self, requested: int, remaining: int, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded: retry after {retry_after} s")
        self.requested = requested
        self.remaining = remaining
        self.retry_after = retry_after


@dataclass(slots=True)
class _Bucket:
    points: float
    at: float


class RateLimiter:
    def __init__(
        self,
        points: int,
        refill_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_actors: int = MAX_ACTORS,
    ) -> None:
        if points < 1 or refill_per_second <= 0:
            raise ValueError("a rate limiter needs points >= 1 and a positive refill rate")
        self.points = points
        self.refill_per_second = refill_per_second
        self._clock = clock
        self._max_actors = max_actors
        # Insertion order is recency: the least recently seen actor comes first.
        self._buckets: dict[str, _Bucket] = {}

    def charge(self, actor: str, cost: int) -> Charge:
        """Takes `cost` points from the actor's bucket, or raises RateLimited.

        A cost above the bucket's size needs a full bucket, and empties it."""
        now = self._clock()
        bucket = self._buckets.pop(actor, None)
        if bucket is None:
            bucket = _Bucket(float(self.points), now)
        else:
            elapsed = max(now - bucket.at, 0.0)
            bucket = _Bucket(
                min(self.points, bucket.points + elapsed * self.refill_per_second), now
            )
        self._buckets[actor] = bucket
        if len(self._buckets) > self._max_actors:
            # A forgotten actor starts again with a full bucket.
            del self._buckets[next(iter(self._buckets))]
        needed = min(cost, self.points)
        if bucket.points < needed:
            missing = needed - bucket.points
            raise RateLimited(
                cost,
                math.floor(bucket.points),
                max(1, math.ceil(missing / self.refill_per_second)),
            )
        bucket.points -= needed
        return Charge(cost, math.floor(bucket.points))
