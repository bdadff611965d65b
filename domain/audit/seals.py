"""The latest seal of the audit chain, as it leaves the database: `SEQ:HASH`, optionally
followed by `:SIG`, an HMAC-SHA256 over both made with a key the database never holds.

Kept outside the database (the sealer's log lines), an earlier head lets `paved audit verify`
notice the newest records removed, or the chain rewritten and re-hashed: the chain must still
reach that seal_seq with that hash. The signature shows a head came from a sealer holding the
key, not from whoever can write the logs."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

_TOKEN = re.compile(r"([1-9][0-9]{0,18}):([0-9a-f]{64})(?::([0-9a-f]{64}))?")


@dataclass(frozen=True, slots=True)
class SealHead:
    """The chain's newest sealed record: its place, its hash, when it was sealed."""

    seq: int
    hash: str
    at: datetime | None = None

    @property
    def token(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True, slots=True)
class ExpectedHead:
    """A head recorded earlier, its signature when the seal line carried one."""

    seq: int
    hash: str
    signature: str | None = None


def signature(head: SealHead | ExpectedHead, key: bytes) -> str:
    message = f"paved-audit-seal:{head.seq}:{head.hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def seal_line(head: SealHead, key: bytes | None) -> str:
    """`SEQ:HASH`, with `:SIG` when there is a key."""
    if key is None:
        return head.token
    return f"{head.token}:{signature(head, key)}"


def parse_expected(text: str) -> ExpectedHead:
    """`SEQ:HASH` or `SEQ:HASH:SIG`; ValueError otherwise."""
    found = _TOKEN.fullmatch(text.strip())
    if found is None:
        raise ValueError("expected SEQ:HASH or SEQ:HASH:SIG (a seal as the sealer logs it)")
    return ExpectedHead(int(found.group(1)), found.group(2), found.group(3))


def signed_by(expected: ExpectedHead, key: bytes) -> bool:
    return expected.signature is not None and hmac.compare_digest(
        expected.signature, signature(expected, key)
    )
