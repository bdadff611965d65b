"""The handle a first OIDC login gets: derived from the identity, made unique with a number."""

from __future__ import annotations

import pytest

from providers.postgres.access_store import first_free_handle, handle_base


@pytest.mark.parametrize(
    ("email", "subject", "expected"),
    [
        ("Ada.Lovelace@example.com", "s", "ada-lovelace"),
        ("  josé+work@example.com", "s", "jose-work"),
        (None, "auth0|1234", "auth0-1234"),
        ("___@example.com", "s", "user"),
        (f"{'x' * 80}@example.com", "s", "x" * 50),
        (f"{'a' * 49}-b@example.com", "s", "a" * 49),
    ],
)
def test_handles_derived_from_identities_follow_the_handle_rule(
    email: str | None, subject: str, expected: str
) -> None:
    assert handle_base(email, subject) == expected


def test_a_taken_handle_gets_the_first_free_number() -> None:
    assert first_free_handle("ada", set()) == "ada"
    assert first_free_handle("ada", {"ada"}) == "ada-2"
    assert first_free_handle("ada", {"ada", "ada-2", "ada-3", "ada-5"}) == "ada-4"
