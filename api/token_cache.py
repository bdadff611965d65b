"""API tokens verified once per process, trusted until PostgreSQL says otherwise.

A request with a bearer token costs no statement of its own once its token was verified: the
identity found then is kept in memory, keyed by a keyed hash of the secret, and used again
while ALL of these hold:

- the process listens on `paved_access` (the event feed's LISTEN connection,
  `providers/postgres/notifications.py`). Every change to what a token's principal may do
  (revoked or deleted tokens, administration, memberships, a deleted client or user...) is
  announced there by triggers in the database (migration 0014), whichever process or command
  made it; each notice drops the entries it names. While the connection is down nothing is
  cached, and the whole cache is dropped when it is lost and again when LISTEN holds anew,
  so nothing learnt across a gap is trusted;
- the token has not expired: `expires_at` is compared with the clock on every request;
- the entry is younger than `max_age_seconds` (defence in depth against a connection that
  died without anyone noticing yet);
- it is among the `size` most recently used (LRU).

Only tokens the database confirmed are kept: an unknown, forged, revoked or expired token is
looked up each time (as before the cache) and never fills it. A lookup that raced with a
notice is not kept (`_generation`). In the process that made a change, `settle()` (called by
the mutation runner after the commit) drops everything at once, sends a marker notice after
the commit and waits until every process listening on `paved_access` answered it with an
acknowledgement naming its listening backend. PostgreSQL delivers notices in commit order
and each process handles them in order, so an acknowledgement proves that process already
dropped what the change named: its next request cannot be answered from a stale entry. A
process that does not answer within `settle_seconds` (hung, or gone with its connection)
is not waited for longer.

The last use of each token is noted in memory at most once per `use_interval_seconds` and
written in one batch every `flush_seconds` (and on shutdown), never on a request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from domain.access.model import ActorKind
from domain.access.ports import TokenIdentity
from domain.background import start_background

log = logging.getLogger(__name__)

CHANNEL = "paved_access"
"""Where the database announces changes to what tokens may do (migration 0014)."""
_SETTLE = "settle:"
_ACK = "ack:"


class TokenLookup(Protocol):
    async def authenticate(self, secret: str) -> TokenIdentity | None: ...


RecordUses = Callable[[Mapping[int, datetime]], Awaitable[None]]
Announce = Callable[[str], Awaitable[None]]
Listeners = Callable[[], Awaitable[set[int]]]
"""The backends listening on `CHANNEL` now, one per process with a token cache."""


@dataclass(frozen=True, slots=True)
class TokenCacheSettings:
    size: int = 10_000
    max_age_seconds: float = 30.0
    use_interval_seconds: float = 60.0
    """A token's last use is noted at most this often."""
    flush_seconds: float = 10.0
    """How often noted uses are written."""
    settle_seconds: float = 2.0
    """The longest `settle` waits for the acknowledgements of its marker notice."""


@dataclass(slots=True)
class _Entry:
    key: bytes
    identity: TokenIdentity
    cached_at: float


@dataclass(slots=True)
class _Settling:
    acknowledged: set[int]
    expected: set[int] | None
    done: asyncio.Future[None]

    def check(self) -> None:
        expected = self.expected
        if expected is not None and expected <= self.acknowledged and not self.done.done():
            self.done.set_result(None)


class TokenCache:
    """`lookup`: the store, asked on a miss (on the request's pool: the one statement a miss
    costs). `record_uses` writes noted uses; `announce` sends a notice on `CHANNEL`;
    `listeners` names the backends listening there."""

    def __init__(
        self,
        lookup: TokenLookup,
        *,
        record_uses: RecordUses,
        announce: Announce | None = None,
        listeners: Listeners | None = None,
        settings: TokenCacheSettings = TokenCacheSettings(),
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._lookup = lookup
        self._record_uses = record_uses
        self._announce = announce
        self._listeners = listeners
        self.settings = settings
        self._clock = clock
        self._now = now
        # Keys are keyed BLAKE2b MACs under a key of this process: neither the secret nor its
        # stored hash is held, and where an entry sits in the table tells an attacker nothing.
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._generation = 0
        self._trusted = False
        self._backend: int | None = None
        self._settling: dict[str, _Settling] = {}
        self._acknowledging: set[asyncio.Task[None]] = set()
        self._noted: dict[int, float] = {}
        self._pending: dict[int, datetime] = {}
        self._flusher: asyncio.Task[None] | None = None
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def trusted(self) -> bool:
        """Whether notices arrive, so that verified tokens may be kept."""
        return self._trusted

    # --- requests ---------------------------------------------------------------------

    async def authenticate(self, secret: str) -> TokenIdentity | None:
        """The identity of a live token, from memory when verified before, else from the
        store; None for anything else."""
        # Only verified tokens are ever kept: a hit needs no check of the text; a miss goes to
        # the store, which refuses malformed text without asking the database.
        key = hashlib.blake2b(secret.encode(), key=self._key, digest_size=32).digest()
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and hmac.compare_digest(entry.key, key):
            identity = entry.identity
            if now - entry.cached_at > self.settings.max_age_seconds:
                del self._entries[key]
            elif _expired(identity, self._now):
                del self._entries[key]
                return None
            else:
                self._entries.move_to_end(key)
                self.hits += 1
                self._note_use(identity, now)
                return identity
        generation = self._generation
        found = await self._lookup.authenticate(secret)
        self.misses += 1
        if found is None:
            return None
        if self._trusted and generation == self._generation:
            self._entries[key] = _Entry(key, found, now)
            while len(self._entries) > self.settings.size:
                self._entries.popitem(last=False)
        self._note_use(found, now)
        return found

    # --- notices ----------------------------------------------------------------------

    def notice(self, payload: str) -> None:
        """A notice on `CHANNEL`: drop what it names (everything when it names nothing
        known)."""
        if payload.startswith(_SETTLE):
            self._acknowledge(payload.removeprefix(_SETTLE))
            return
        if payload.startswith(_ACK):
            marker, _, backend = payload.removeprefix(_ACK).partition(":")
            settling = self._settling.get(marker)
            if settling is not None and backend.isdigit():
                settling.acknowledged.add(int(backend))
                settling.check()
            return
        self._generation += 1
        kind, _, number = payload.partition(":")
        if not number.isdigit() or kind not in ("token", "user", "client"):
            self._entries.clear()
            return
        named = int(number)
        actor = ActorKind.USER if kind == "user" else ActorKind.CLIENT
        stale = [
            key
            for key, entry in self._entries.items()
            if (entry.identity.token.id == named if kind == "token" else
                (entry.identity.kind, entry.identity.actor_id) == (actor, named))
        ]  # fmt: skip
        for key in stale:
            del self._entries[key]

    def _acknowledge(self, marker: str) -> None:
        """Every notice sent before the marker was handled: say so to the process waiting."""
        if self._announce is None or self._backend is None:
            return
        task = start_background(self._send(f"{_ACK}{marker}:{self._backend}"), "token-settle-ack")
        self._acknowledging.add(task)
        task.add_done_callback(self._acknowledged)

    async def _send(self, payload: str) -> None:
        assert self._announce is not None
        await self._announce(payload)

    def _acknowledged(self, task: asyncio.Task[None]) -> None:
        self._acknowledging.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not acknowledge a change of access: %s", task.exception())

    def listening(self, backend: int | None = None) -> None:
        """LISTEN holds (again), on the PostgreSQL backend `backend`: start afresh, then
        keep what is verified from now on."""
        self._forget()
        self._backend = backend
        self._trusted = True

    def lost(self) -> None:
        """The LISTEN connection is gone: notices may be missed, so keep nothing."""
        self._forget()
        self._trusted = False
        self._backend = None
        for settling in self._settling.values():
            if not settling.done.done():
                settling.done.set_result(None)

    def _forget(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def settle(self) -> None:
        """After this process committed a change to what some token may do: forget every
        token now, and return once every process listening acknowledged a marker notice
        sent after the commit (each had handled the change's own notices, earlier in commit
        order, by then). Never raises: the change is committed."""
        self._forget()
        if self._announce is None or not self._trusted:
            return
        marker = secrets.token_hex(8)
        settling = _Settling(set(), None, asyncio.get_running_loop().create_future())
        self._settling[marker] = settling
        try:
            async with asyncio.timeout(self.settings.settle_seconds):
                await self._announce(_SETTLE + marker)
                listening = None if self._listeners is None else await self._listeners()
                own = set() if self._backend is None else {self._backend}
                settling.expected = own if listening is None else own | listening
                settling.check()
                await settling.done
        except Exception:
            log.warning(
                "not every process acknowledged a change of access in time (%d of %s)",
                len(settling.acknowledged),
                "?" if settling.expected is None else len(settling.expected),
                exc_info=True,
            )
        finally:
            del self._settling[marker]

    # --- last use ---------------------------------------------------------------------

    def _note_use(self, identity: TokenIdentity, now: float) -> None:
        token = identity.token
        interval = self.settings.use_interval_seconds
        last = self._noted.get(token.id)
        if last is not None and now - last < interval:
            return
        wall = self._now()
        if last is None and token.last_used_at is not None:
            age = (wall - token.last_used_at).total_seconds()
            if 0 <= age < interval:
                self._noted[token.id] = now - age
                return
        if len(self._noted) >= 2 * self.settings.size:
            self._noted = {key: at for key, at in self._noted.items() if now - at < interval}
        self._noted[token.id] = now
        self._pending[token.id] = wall

    @property
    def pending_uses(self) -> dict[int, datetime]:
        return dict(self._pending)

    async def flush(self) -> None:
        """Write the uses noted so far; kept for the next flush if the write fails."""
        if not self._pending:
            return
        uses, self._pending = self._pending, {}
        try:
            await self._record_uses(uses)
        except Exception:
            for token_id, at in uses.items():
                if token_id not in self._pending:
                    self._pending[token_id] = at
            raise

    def start(self) -> None:
        self._flusher = start_background(self._flush_forever(), "token-uses-flush")

    async def stop(self) -> None:
        """Stop flushing periodically, then write what is left."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        try:
            await self.flush()
        except Exception:
            log.warning("could not note the last use of %d tokens", len(self._pending))

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.flush_seconds)
            try:
                await self.flush()
            except Exception:  # the database may be restarting: the next round retries
                log.warning("could not note the last use of tokens; retrying", exc_info=True)


def _expired(identity: TokenIdentity, now: Callable[[], datetime]) -> bool:
    expires_at = identity.token.expires_at
    return expires_at is not None and expires_at <= now()
