"""The API token format: shape, checksum, hashing; no database."""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable

import pytest

from domain.access.tokens import (
    HEAD_LENGTH,
    MARKER,
    TOKEN_LENGTH,
    contains_token,
    hash_token,
    looks_like_token,
    new_token,
)

URLSAFE = string.ascii_letters + string.digits + "_-"


def test_a_new_token_has_the_documented_shape() -> None:
    issued = new_token()
    secret = issued.secret
    assert secret.startswith("paved_")
    assert len(secret) == TOKEN_LENGTH == 6 + 43 + 6
    assert all(character in URLSAFE for character in secret[len(MARKER) : -6])
    assert all(character in string.ascii_letters + string.digits for character in secret[-6:])
    assert looks_like_token(secret)
    assert issued.prefix == secret[:HEAD_LENGTH]
    assert len(issued.prefix) == 12
    assert issued.secret_hash == hashlib.sha256(secret.encode()).digest() == hash_token(secret)


def test_tokens_are_unique_and_their_repr_hides_the_secret() -> None:
    issued = [new_token() for _ in range(200)]
    assert len({token.secret for token in issued}) == 200
    assert all(looks_like_token(token.secret) for token in issued)
    assert issued[0].secret not in repr(issued[0])
    assert issued[0].prefix in repr(issued[0])


def test_the_checksum_detects_any_changed_character() -> None:
    secret = new_token().secret
    for position in range(len(MARKER), len(secret)):
        alphabet = URLSAFE if position < len(secret) - 6 else string.ascii_letters + string.digits
        for replacement in alphabet:
            if replacement == secret[position]:
                continue
            changed = secret[:position] + replacement + secret[position + 1 :]
            assert not looks_like_token(changed), (position, replacement)


def test_two_swapped_characters_are_detected() -> None:
    secret = new_token().secret
    body = list(secret)
    for position in range(len(MARKER), len(secret) - 7):
        if body[position] != body[position + 1]:
            body[position], body[position + 1] = body[position + 1], body[position]
            assert not looks_like_token("".join(body))
            break


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1],
        lambda s: s + "a",
        lambda s: "Paved_" + s[6:],
        lambda s: "paved-" + s[6:],
        lambda s: s[:10] + "+" + s[11:],
        lambda s: s[:-3] + "_" + s[-2:],
        lambda s: " " + s,
        lambda s: "",
    ],
    ids=[
        "short",
        "long",
        "marker-case",
        "marker-dash",
        "bad-body",
        "bad-checksum",
        "space",
        "empty",
    ],
)
def test_malformed_text_is_not_a_token(mangle: Callable[[str], str]) -> None:
    assert not looks_like_token(mangle(new_token().secret))


def test_a_token_is_found_inside_text() -> None:
    secret = new_token().secret
    assert contains_token(f"Bearer {secret}")
    assert contains_token(f"token={secret}&x=1")
    changed = secret[:-1] + ("y" if secret.endswith("x") else "x")
    assert not contains_token(f"Bearer {changed}")
    assert not contains_token("paved_ is the marker of Paved Road tokens")
