"""Running the app with uvicorn: in the foreground (`serve_forever`, the CLI) or in a background
thread on a free loopback port for as long as a `with` block lasts (`running_server`, tests)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from videofocus.errors import ConfigError


def _config(app: FastAPI, host: str, port: int, shutdown_grace: float, log_level: str = "warning") -> uvicorn.Config:
    # uvicorn waits up to `shutdown_grace` s for open requests before running the app's shutdown.
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=shutdown_grace)


class _Server(uvicorn.Server):
    """uvicorn's server, which at shutdown first closes the app's engine: queued and running requests
    get `shutdown_grace` seconds to finish and then a 503, and requests arriving meanwhile a 503 with
    Retry-After, where uvicorn alone would drop their connections."""

    def __init__(self, config: uvicorn.Config, shutdown_grace: float):
        super().__init__(config)
        self.shutdown_grace = shutdown_grace

    async def shutdown(self, sockets=None) -> None:
        engine = getattr(self.config.app.state, "engine", None)
        if engine is not None:
            await asyncio.to_thread(engine.close, self.shutdown_grace)
        await super().shutdown(sockets)


def serve_forever(app: FastAPI, *, host: str, port: int, shutdown_grace: float) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM): then stop taking requests and let the open ones finish."""
    _Server(_config(app, host, port, shutdown_grace, log_level="info"), shutdown_grace).run()


@contextmanager
def running_server(app: FastAPI, *, host: str = "127.0.0.1", port: int = 0, shutdown_grace: float = 10.0,
                   start_timeout: float = 30.0) -> Iterator[str]:
    """Serve `app` on a background thread; yields the base URL (e.g. http://127.0.0.1:41234; the
    OpenAI API is under /v1). Port 0 takes a free port. Leaving the block shuts the server down as
    Ctrl-C would, giving open requests `shutdown_grace` seconds."""
    server = _Server(_config(app, host, port, shutdown_grace), shutdown_grace)
    thread = threading.Thread(target=server.run, name="videofocus-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise ConfigError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    bound_host, bound_port = server.servers[0].sockets[0].getsockname()[:2]
    try:
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join()
