"""One database session for a request's reads (:meth:`server.db.Database.read`).

A page reads in several small blocks (the user, the contest, the team, the page's own rows);
each used to check a connection out of the pool, ping it, begin and roll back a transaction.
This middleware lets them share one session per HTTP request, closed when the response is
sent. WebSockets are long-lived and keep their own short sessions.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from server.db import shared_reads

__all__ = ["SharedReadsMiddleware"]


class SharedReadsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = getattr(scope["app"].state, "services", None) if scope["type"] == "http" \
            else None
        if services is None:
            await self.app(scope, receive, send)
            return
        async with shared_reads(services.db):
            await self.app(scope, receive, send)
