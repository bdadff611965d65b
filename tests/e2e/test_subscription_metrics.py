"""`/metrics` counts subscriptions (by operation, bounded as HTTP requests' are, transport and
outcome), those open now, and WebSocket connections (accepted, refused, unauthenticated): real
graphql-transport-ws and SSE clients against an app served on a socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.e2e.test_observability_metrics import Samples, scrape, value
from tests.support.served import served_app, served_settings
from tests.support.subscribers import sse_stream, ws_client

FOLLOW = "subscription Follow { events { type } }"
OTHER_NAME = "subscription Watch { events { type } }"
ANONYMOUS = "subscription { events { cursor } }"
SUBSCRIPTIONS = "paved_graphql_subscriptions_total"
ACTIVE = "paved_graphql_subscriptions_active"
CONNECTIONS = "paved_websocket_connections_total"
OPEN = "paved_websocket_connections_open"


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never {what}")


async def test_subscriptions_and_websocket_connections_are_counted(
    migrated_url: str, pool: asyncpg.Pool
) -> None:
    settings = served_settings(
        migrated_url, max_subscriptions_per_actor=10, max_subscriptions_per_connection=5,
        metrics_operation_names=1,
    )  # fmt: skip
    async with (
        served_app(settings) as served,
        httpx.AsyncClient(base_url=served.url.removesuffix("/graphql"), timeout=10) as http,
    ):
        # Refused at the upgrade (no subprotocol), and at connection_init (a bad credential).
        with pytest.raises(InvalidStatus):
            async with connect(served.ws_url):
                pass
        with pytest.raises(ConnectionClosed) as closed:
            async with ws_client(served.ws_url, "Bearer pvd_not-a-token"):
                pass
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403

        async with ws_client(served.ws_url) as ws:
            await ws.subscribe("1", FOLLOW)
            await ws.subscribe("2", FOLLOW)
            await ws.subscribe("3", ANONYMOUS)
            await ws.subscribe("4", OTHER_NAME)  # a second name: beyond the one kept
            await ws.subscribe("5", "query Teams { teams { totalCount } }")
            refused = await ws.receive()
            assert (refused["type"], refused["id"]) == ("error", "5"), refused
            async with sse_stream(http, served.url, FOLLOW):
                seen = await scrape(http)
                assert value(seen, ACTIVE, transport="websocket") == 4
                assert value(seen, ACTIVE, transport="sse") == 1
                assert value(seen, OPEN) == 1
            ok = {"outcome": "ok", "code": ""}
            assert value(seen, SUBSCRIPTIONS, operation="Follow", transport="websocket", **ok) == 2
            assert value(seen, SUBSCRIPTIONS, operation="Follow", transport="sse", **ok) == 1
            # Anonymous operations and names beyond the kept ones share one label value.
            assert value(seen, SUBSCRIPTIONS, operation="_other", transport="websocket", **ok) == 2
            assert value(seen, SUBSCRIPTIONS, operation="_other", transport="websocket",
                         outcome="request_error", code="BAD_REQUEST") == 1  # fmt: skip
            assert value(seen, CONNECTIONS, outcome="accepted") == 1
            assert value(seen, CONNECTIONS, outcome="refused") == 1
            assert value(seen, CONNECTIONS, outcome="unauthenticated") == 1

            await ws.send({"id": "1", "type": "complete"})
            await until("one subscription less", lambda: _active_is(http, "websocket", 3))
            await until("the SSE stream ended", lambda: _active_is(http, "sse", 0))

        async def all_closed() -> bool:
            seen = await scrape(http)
            return value(seen, OPEN) == 0 and value(seen, ACTIVE, transport="websocket") == 0

        await until("all closed", all_closed)


async def _active_is(http: httpx.AsyncClient, transport: str, count: int) -> bool:
    seen: Samples = await scrape(http)
    return value(seen, ACTIVE, transport=transport) == count
