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

Two HTTP savings for pollers, both keyed on the state: an ``ETag`` (contest, version and build
time), so that a client repeating it in ``If-None-Match`` gets a bodiless 304 until the board
changes; and a gzip copy of the body (compressed once per state), sent to clients that accept
gzip (browsers, httpx, ``curl --compressed``): the full JSON board of 300 teams × 12 problems is
about 470 KB plain and 20 KB gzipped.
"""

from __future__ import annotations

import gzip
import re
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

__all__ = ["ANON_PAGE", "ScoreboardFastPath"]

_API = re.compile(r"/api/v1/contests/([a-z0-9-]{1,64})/scoreboard")
_PAGE = re.compile(r"/contests/([a-z0-9-]{1,64})/scoreboard")
ANON_PAGE = "anon_page"
"""The key of the anonymous page's bytes among a live state's cached renderings."""
GZIP_LEVEL = 6


def _accepts_gzip(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether ``Accept-Encoding`` admits gzip (``gzip`` or ``*`` with a non-zero q)."""
    for name, value in headers:
        if name != b"accept-encoding":
            continue
        for part in value.split(b","):
            coding, _, params = part.strip().partition(b";")
            if coding.strip().lower() in (b"gzip", b"x-gzip", b"*"):
                q = params.strip().lower()
                if not q.startswith(b"q=") or _q(q[2:]) > 0:
                    return True
    return False


def _q(value: bytes) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> bytes | None:
    for name, value in headers:
        if name == wanted:
            return value
    return None


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
                if await self._answer(scope, send, match.group(1), api is not None):
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(scope: Any, send: Send, slug: str, api: bool) -> bool:
        """Answer from the live state; False when the request must take the slow path."""
        services = getattr(scope["app"].state, "services", None)
        if services is None or services.live is None:
            return False
        fast = await services.live.public_state(slug)
        if fast is None:
            return False
        contest, state = fast
        name = "json" if api else ANON_PAGE
        body = state.snapshot("json") if api else state.cached(ANON_PAGE)
        if body is None:
            return False
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        etag = f'"{contest.id}-{state.version}-{int(state.whole_at * 1000)}-{name}"'.encode()
        common = [(b"etag", etag), (b"vary", b"Accept-Encoding"), (b"cache-control", b"no-cache")]
        tags = _header(headers, b"if-none-match")
        if tags is not None and (tags.strip() == b"*" or etag in [
                t.strip().removeprefix(b"W/") for t in tags.split(b",")]):
            await send({"type": "http.response.start", "status": 304, "headers": common})
            await send({"type": "http.response.body", "body": b""})
            return True
        kind = b"application/json" if api else b"text/html; charset=utf-8"
        if _accepts_gzip(headers):
            packed = state.cached(name + ".gz")
            if packed is None:
                packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
                state.keep(name + ".gz", packed)
            body = packed
            common.append((b"content-encoding", b"gzip"))
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", kind), (b"content-length", str(len(body)).encode()), *common]})
        await send({"type": "http.response.body", "body": body})
        return True
