"""The HTTP server: uvicorn, ending subscriptions cleanly when it shuts down."""

from __future__ import annotations

import socket

import uvicorn
from starlette.applications import Starlette

from api.subscriptions import Subscriptions


class PavedServer(uvicorn.Server):
    """On shutdown, first says so to readiness probes (`/readyz` answers 503 from then on),
    stops accepting connections and ends every subscription
    (WebSockets close with 1001, SSE streams send `complete`); then uvicorn lets in-flight
    requests finish (`timeout_graceful_shutdown`) and runs the app's shutdown."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._app.state.draining = True
        subscriptions: Subscriptions | None = getattr(self._app.state, "subscriptions", None)
        if subscriptions is not None:
            for server in self.servers:
                server.close()
            await subscriptions.close_all()
        await super().shutdown(sockets)
