"""The read fast path: anonymous scoreboard reads served straight from the live state.

The JSON scoreboard (``/api/v1/contests/<slug>/scoreboard``) and the scoreboard page
(``/contests/<slug>/scoreboard``) are what a crowd of spectators polls. For a request without
credentials (no ``Authorization`` header, no session cookie) and without a query, this ASGI
middleware answers from :meth:`server.scoreboard.live.LiveBoards.public_state` — the public
board at its current version, for a public contest this process authorised at that version —
before the rest of the stack (sessions, CSRF, dependency injection, the request log) runs. The
JSON body is the state's snapshot; the page is the one the normal handler last rendered for an
anonymous visitor at that version. Anything else falls through to the normal handlers, which
authorise, build and remember. Since every change bumps the version (and the version is checked
in Redis on every read), a change is never hidden by this cache.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["ANON_PAGE", "ScoreboardFastPath"]

_API = re.compile(r"/api/v1/contests/([a-z0-9-]{1,64})/scoreboard")
_PAGE = re.compile(r"/contests/([a-z0-9-]{1,64})/scoreboard")
ANON_PAGE = "anon_page"
"""The key of the anonymous page's bytes among a live state's cached renderings."""


def _anonymous(headers: list[tuple[bytes, bytes]], session_key: bytes) -> bool:
    for name, value in headers:
        if name == b"authorization":
            return False
        if name == b"cookie" and session_key in value and session_key + b"null" not in value:
            return False
    return True


class ScoreboardFastPath:
    def __init__(self, app: ASGIApp, session_key: str = "session") -> None:
        self.app = app
        self.session_key = session_key.encode() + b"="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            path = scope["path"]
            api = _API.fullmatch(path)
            match = api or _PAGE.fullmatch(path)
            if match and _anonymous(scope["headers"], self.session_key):  # type: ignore[arg-type]
                body = await self._body(scope, match.group(1), api is not None)
                if body is not None:
                    kind = b"application/json" if api else b"text/html; charset=utf-8"
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-type", kind), (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-cache")]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _body(scope: Any, slug: str, api: bool) -> bytes | None:
        services = getattr(scope["app"].state, "services", None)
        if services is None or services.live is None:
            return None
        fast = await services.live.public_state(slug)
        if fast is None:
            return None
        state = fast[1]
        return state.snapshot("json") if api else state.cached(ANON_PAGE)
