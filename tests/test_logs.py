"""The request log line: one per request, with the status the client got."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

from server.logs import RequestLogMiddleware

SCOPE = {"type": "http", "method": "POST", "path": "/api/judge/v1/claim"}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def test_a_request_cancelled_at_shutdown_is_logged_as_499_not_500() -> None:
    async def waits_forever(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(3600)

    async def send(message: Any) -> None:
        pass

    middleware = RequestLogMiddleware(waits_forever)
    with capture_logs() as logs:
        task = asyncio.ensure_future(middleware(SCOPE, _receive, send))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert [(e["event"], e["status"], e["path"]) for e in logs] == [
        ("request", 499, "/api/judge/v1/claim")]


async def test_a_crash_is_logged_as_500_and_a_response_with_its_status() -> None:
    async def crashes(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    async def answers(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        pass

    with capture_logs() as logs:
        with pytest.raises(RuntimeError):
            await RequestLogMiddleware(crashes)(SCOPE, _receive, send)
        await RequestLogMiddleware(answers)(SCOPE, _receive, send)
    assert [e["status"] for e in logs] == [500, 204]
