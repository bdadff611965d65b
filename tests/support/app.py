"""The app run in-process: started through its lifespan, called over HTTP without a socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2 as httpx
from starlette.applications import Starlette

from api.app import create_app
from api.bootstrap import Container, Overrides
from api.settings import Settings
from domain.events.model import ORIGIN


@asynccontextmanager
async def started_app(
    settings: Settings, overrides: Overrides | None = None
) -> AsyncIterator[Starlette]:
    """The app built from `settings`, its lifespan entered for the block."""
    app = create_app(settings, overrides)
    async with app.router.lifespan_context(app):
        yield app


def in_process_client(app: Starlette) -> httpx.AsyncClient:
    """A client calling `app` in-process as http://localhost; close it (`async with`)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


async def forget_providers(app: Starlette) -> None:
    """Ids restart with each test's empty catalog: what the runner and the adapters remember
    of earlier deployments must go with them."""
    container: Container = app.state.container
    await container.rollouts.forget_everything()
    await container.provisioning.forget_everything()
    container.deployers.forget()
    container.live.forget()
    container.circuits.forget()
    container.feed.position = ORIGIN  # the outbox's ids restart too
