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
