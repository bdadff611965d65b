"""A GraphQL client over the in-process app."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx


class GraphQLClient:
    def __init__(self, client: httpx.AsyncClient, token: str | None = None) -> None:
        self.http = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def with_token(self, token: str) -> GraphQLClient:
        """The same client, sending `token` as its credential."""
        return GraphQLClient(self.http, token)

    async def __call__(self, query: str, /, **variables: Any) -> dict[str, Any]:
        """Run an operation that must succeed without GraphQL errors; return `data`."""
        body = await self.raw(query, variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def mutate(self, name: str, fields: str, /, **input_fields: Any) -> dict[str, Any]:
        """Run mutation `name(input: ...)` and return its payload."""
        query = (
            f"mutation($input: {name[0].upper()}{name[1:]}Input!) "
            f"{{ {name}(input: $input) {{ {fields} errors {{ code message path }} }} }}"
        )
        data = await self(query, input=input_fields)
        payload: dict[str, Any] = data[name]
        return payload


def aliased(count: int, prefix: str = "a") -> str:
    """`count` aliased `__typename` fields (`a0: __typename a1: __typename ...`): a selection
    as wide as asked that costs nothing to answer."""
    return " ".join(f"{prefix}{index}: __typename" for index in range(count))
