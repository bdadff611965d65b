"""The chain's head as the sealer logs it: `SEQ:HASH`, or `SEQ:HASH:SIG` signed with the seal
key; what `paved audit verify --expect-head` accepts."""

from __future__ import annotations

import pytest

from domain.audit.seals import ExpectedHead, SealHead, parse_expected, seal_line, signed_by

HASH = "ab" * 32
KEY = b"the seal key"


def test_a_signed_seal_reads_back_and_checks() -> None:
    line = seal_line(SealHead(42, HASH), KEY)
    expected = parse_expected(line)
    assert (expected.seq, expected.hash) == (42, HASH)
    assert signed_by(expected, KEY)
    assert not signed_by(expected, b"another key")
    assert not signed_by(ExpectedHead(43, HASH, expected.signature), KEY)
    assert not signed_by(ExpectedHead(42, "cd" * 32, expected.signature), KEY)


def test_an_unsigned_seal_is_seq_and_hash() -> None:
    assert seal_line(SealHead(7, HASH), None) == f"7:{HASH}"
    expected = parse_expected(f" 7:{HASH}\n")
    assert expected == ExpectedHead(7, HASH)
    assert not signed_by(expected, KEY)


@pytest.mark.parametrize(
    "text", ["", "7", f"0:{HASH}", f"-1:{HASH}", "7:abc", f"7:{HASH.upper()}", f"7:{HASH}:xyz"]
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="SEQ:HASH"):
        parse_expected(text)


def test_records_chained_before_sealers_hash_as_they_always_did() -> None:
    """Hashes computed by the in-transaction chaining of before migration 0016 (pinned): the
    fields a record without `sealed_at` covers have not changed."""
    from datetime import UTC, datetime

    from providers.postgres.audit_chain import chain_hash, hashed_fields

    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    columns = {
        "actor_kind": "user", "actor_id": 7, "actor_name": "ada", "token_id": 3,
        "operation": "createService", "targets": ["Service:pay", "Team:platform"],
        "input": '{"slug": "pay", "tier": 1}', "outcome": "ACCEPTED", "error_codes": [],
        "request_id": "req-1", "idempotency_key": "idem-1", "channel": "mcp",
    }  # fmt: skip
    assert chain_hash(None, hashed_fields(at, columns)) == (
        "add9f03cc569d739e2ee526b278cfe277beb91381c61d1aa333786a825377aa5"
    )
    assert chain_hash("ab" * 32, hashed_fields(at, {**columns, "channel": None})) == (
        "df64b0b69ee7ed47ab422c5f4c4f0fcabc1971e622629240acd56b3935acb2f2"
    )
    sealed = hashed_fields(at, columns, (5, 9, at))
    assert (sealed["id"], sealed["seal_seq"], sealed["sealed_at"]) == (5, 9, sealed["at"])
