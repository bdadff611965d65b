"""Validation remembered by shape still refuses what only the literals make invalid."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx
import pytest
from graphql import DocumentNode, GraphQLError, validate
from graphql.language.parser import Parser
from strawberry.schema.schema import validate_document

from schema import validation_cache


async def _errors(client: httpx.AsyncClient, query: str) -> list[str]:
    answer = (await client.post("/graphql", json={"query": query})).json()
    return [error["message"] for error in answer.get("errors", [])]


async def test_a_known_shape_with_conflicting_arguments_is_refused(
    client: httpx.AsyncClient,
) -> None:
    same = '{ a: service(slug: "x") { slug } a: service(slug: "x") { slug } }'
    assert await _errors(client, same) == []
    other = '{ a: service(slug: "x") { slug } a: service(slug: "y") { slug } }'
    [conflict] = await _errors(client, other)
    assert "conflict" in conflict


async def test_a_known_shape_with_a_literal_its_scalar_refuses_is_refused(
    client: httpx.AsyncClient,
) -> None:
    good = '{ events(filter: { since: "2026-01-01T00:00:00Z" }) { totalCount } }'
    assert await _errors(client, good) == []
    [bad] = await _errors(client, '{ events(filter: { since: "not a time" }) { totalCount } }')
    assert "DateTime" in bad or "since" in bad


async def _create_team(client: httpx.AsyncClient, slug: str, field: str = "") -> Any:
    """`createTeam`'s payload, written inline (under the alias `field` when given)."""
    alias = f"{field}: " if field else ""
    made = await client.post(
        "/graphql",
        json={
            "query": f'mutation {{ {alias}createTeam(input: {{ slug: "{slug}", name: "T" }}) '
            "{ team { slug } errors { code } } }"
        },
    )
    return made.json()["data"][field or "createTeam"]


async def test_a_known_shape_still_answers_its_own_literals(client: httpx.AsyncClient) -> None:
    for slug in ("one", "two", "three"):
        assert await _create_team(client, slug) == {"team": {"slug": slug}, "errors": []}


async def test_a_new_mutation_text_is_parsed_once(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint's check parses it; the executor takes that parse."""
    parsed: list[str] = []
    parse_document = Parser.parse_document

    def counting(parser: Parser) -> DocumentNode:
        parsed.append(parser._lexer.source.body)
        return parse_document(parser)

    monkeypatch.setattr(Parser, "parse_document", counting)
    query = 'mutation { createTeam(input: { slug: "once", name: "O" }) { errors { code } } }'
    made = await client.post("/graphql", json={"query": query})
    assert made.json()["data"] == {"createTeam": {"errors": []}}
    assert parsed == [query]


async def test_a_known_shape_whose_literals_cannot_matter_runs_no_rule(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[str] = []

    def value_rules(*args: Any) -> list[GraphQLError]:
        ran.append("value rules")
        return validate(*args)

    def every_rule(*args: Any) -> list[GraphQLError]:
        ran.append("every rule")
        return validate_document(*args)

    monkeypatch.setattr(validation_cache, "validate", value_rules)
    monkeypatch.setattr(validation_cache, "validate_document", every_rule)
    for slug in ("free-one", "free-two", "free-three"):
        assert await _create_team(client, slug, "free") == {"team": {"slug": slug}, "errors": []}
    assert ran == ["every rule"]  # the first text of the shape only
    # A bad text of that shape is still refused, by the use case's own rules as before.
    refused = await _create_team(client, "Not A Slug", "free")
    assert refused["errors"] == [{"code": "VALIDATION"}]
    assert ran == ["every rule"]
