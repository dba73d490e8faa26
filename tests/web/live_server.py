"""A real uvicorn server on 127.0.0.1 running in the test's own event loop.

Tests reach the app's services (``server.app.state.services``) directly, record verdicts through
the actions, and talk to the server with real HTTP and WebSocket clients (httpx, websockets).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
import websockets
from litestar import Litestar

from server.app import create_app
from server.services import Services
from server.settings import Settings

__all__ = ["LiveServer", "live_server", "recv_json", "recv_text", "settle"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, app: Litestar, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    @property
    def services(self) -> Services:
        return self.app.state.services  # type: ignore[no-any-return]

    def connect(self, path: str, **kwargs: Any) -> Any:
        """A websockets client connection (an async context manager)."""
        return websockets.connect(self.ws_url + path, open_timeout=10, **kwargs)


@asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", ws="websockets-sansio",
                            ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the server did not start")
    try:
        yield LiveServer(app, port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


async def recv_text(ws: Any, timeout: float = 10.0) -> str:
    message = await asyncio.wait_for(ws.recv(), timeout)
    return message if isinstance(message, str) else message.decode()


async def recv_json(ws: Any, timeout: float = 10.0) -> dict[str, Any]:
    return json.loads(await recv_text(ws, timeout))  # type: ignore[no-any-return]


async def settle(ws: Any, first: float = 10.0, quiet: float = 0.5) -> list[dict[str, Any]]:
    """Every JSON message until none arrives for ``quiet`` seconds (the first may take longer).

    A submission is shown as pending when it is stored, then again when its verdict arrives:
    one action in a test may produce several messages."""
    messages = [await recv_json(ws, first)]
    while True:
        try:
            messages.append(await recv_json(ws, quiet))
        except TimeoutError:
            return messages
