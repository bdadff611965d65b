"""The app served over a real socket, in the test's event loop: for clients of real protocols
(WebSocket, Server-Sent Events) and for shutdown as `paved serve` does it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from cryptography.fernet import Fernet
from pydantic import SecretStr
from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import Container, Overrides
from api.http_protocol import CoalescingHttpProtocol
from api.server import PavedServer
from api.settings import Settings
from tests.support.network import free_port
from tests.support.waiting import until

HOST = "127.0.0.1"


def served_settings(url: str, **changes: Any) -> Settings:
    """Settings for a served app on database `url`: short intervals, small limits (3
    subscriptions per actor, 2 per connection, 30 queued events per subscriber)."""
    values: dict[str, Any] = {
        "database_url": url,
        "demo": False,
        "pool_min_size": 1,
        "pool_max_size": 6,
        "rollout_poll_seconds": 0.05,
        "event_poll_seconds": 0.2,
        "subscription_keepalive_seconds": 0.5,
        "max_subscriptions_per_actor": 3,
        "max_subscriptions_per_connection": 2,
        "subscriber_queue_size": 30,
        # Production refuses to start without it; webhooks are not what these apps test.
        "webhook_encryption_key": SecretStr(Fernet.generate_key().decode()),
        "webhook_delivery": False,
        **changes,
    }
    return Settings(**values)


@dataclass(frozen=True, slots=True)
class Served:
    app: Starlette
    server: PavedServer
    url: str
    """`http://127.0.0.1:<port>/graphql`"""
    ws_url: str
    """`ws://127.0.0.1:<port>/graphql`"""

    @property
    def container(self) -> Container:
        container: Container = self.app.state.container
        return container

    async def feed_caught_up(self) -> None:
        """Returns once a live-only subscription made afterwards starts after every event
        committed so far: this server's event feed has read them, or (with nobody
        subscribed) has seen their notice and looks the newest up for the next subscriber."""
        newest = await self.container.ports.events.newest()
        feed = self.container.feed
        await until(
            lambda: feed.position >= newest or (feed.behind and not feed.subscribers),
            "the feed caught up",
        )

    async def shutdown(self) -> None:
        """What SIGTERM does."""
        self.server.should_exit = True


@asynccontextmanager
async def served_app(
    settings: Settings, overrides: Overrides | None = None, *, port: int | None = None
) -> AsyncIterator[Served]:
    """`port`: one chosen beforehand (by `free_port`), when the settings must name it."""
    app = create_app(settings, overrides)
    port = port or free_port(HOST)
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        http=CoalescingHttpProtocol,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = PavedServer(config, app)
    # The test runner keeps its own signal handlers.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped before it started")
            await asyncio.sleep(0.01)
        yield Served(app, server, f"http://{HOST}:{port}/graphql", f"ws://{HOST}:{port}/graphql")
    finally:
        server.should_exit = True
        await task
