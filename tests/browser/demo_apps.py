"""Paved Road served over a real socket on a database holding the demo organisation, as
`make run` starts it, for the browser tests.

The demo is loaded once into a template database; each app gets a copy of it
(`CREATE DATABASE ... TEMPLATE`), which takes a fraction of the time of loading it again, so
a test that changes data can have an app of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from demo.organisation import load_demo_if_empty
from providers.postgres.database import create_pool
from tests.browser.background import BackgroundLoop
from tests.support.processes import database_name, migrated_scratch_database, with_database
from tests.support.served import Served, served_app, served_settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DemoApp:
    """A served app with the demo data, running in `loop`."""

    served: Served
    loop: BackgroundLoop
    database_url: str
    _stack: AsyncExitStack

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>`: what pages are loaded from, and the only place they may
        send requests to."""
        return self.served.url.removesuffix("/graphql")

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        """Run `coroutine` in the app's event loop (a test cannot await: see `background`)."""
        return self.loop.run(coroutine, timeout)

    def close(self) -> None:
        self.loop.run(self._stack.aclose())


class DemoTemplate:
    """A database with every migration and the demo organisation, copied for each app."""

    def __init__(self, loop: BackgroundLoop, server_dsn: str) -> None:
        self._loop = loop
        self._server_dsn = server_dsn
        self._stack = AsyncExitStack()
        self._name: str | None = None

    def app(self, *, port: int | None = None, **settings: Any) -> DemoApp:
        """A new app on a new copy of the demo; `settings` as for `served_settings`, `port`
        as for `served_app` (chosen beforehand with `free_port` when a setting names it)."""
        return self._loop.run(self._app(settings, port))

    def close(self) -> None:
        self._loop.run(self._stack.aclose())

    async def _app(self, settings: dict[str, Any], port: int | None) -> DemoApp:
        if self._name is None:
            self._name = await self._prepare()
        stack = AsyncExitStack()
        try:
            url = await stack.enter_async_context(_copy_of(self._server_dsn, self._name))
            served = await stack.enter_async_context(
                served_app(served_settings(url, **settings), port=port)
            )
        except BaseException:
            await stack.aclose()
            raise
        return DemoApp(served, self._loop, url, stack)

    async def _prepare(self) -> str:
        url = await self._stack.enter_async_context(migrated_scratch_database(self._server_dsn))
        pool = await create_pool(url, min_size=1, max_size=1)
        try:
            await load_demo_if_empty(pool)
        finally:
            await pool.close()
        return database_name(url)


@asynccontextmanager
async def _copy_of(server_dsn: str, template: str) -> AsyncIterator[str]:
    """A new database copied from the database `template`, dropped afterwards; yields its DSN."""
    name = f"paved_browser_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        try:
            yield with_database(server_dsn, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
