"""Live scoreboards on the web: the page, its WebSocket, the JSON socket, freeze controls.

- ``GET /contests/{slug}/scoreboard`` — the page (public view; ``?view=jury`` for staff). It
  works without JavaScript; with it, the HTMX WebSocket extension connects to
- ``WS /contests/{slug}/scoreboard/ws`` — HTML fragments (``hx-swap-oob``), and
- ``WS /api/v1/contests/{slug}/scoreboard/ws`` — JSON: a ``snapshot`` first, then ``delta``
  messages (``version``, ``base``); send ``{"type": "resync"}`` for a new snapshot.

Both sockets check ``Origin`` (the server's own host or ``PODIUM_ALLOWED_ORIGINS``; a client
without an Origin header is not a browser and may connect), authorize the contest like the
pages do, and give the jury view to staff only. Each socket has its own backlog (channels
``dropleft``): when a message is missing, the socket sends a snapshot of the stored state.
The freeze controls (``/api/v1/contests/{slug}/freeze``, ``unfreeze``, ``reveal``) are for the
jury.
"""

from __future__ import annotations

import asyncio
import logging
import contextlib
import json
from typing import Any

from litestar import Controller, Request, Response, WebSocket, get, post, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    ValidationException,
    WebSocketDisconnect,
)
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK
from pydantic import BaseModel, Field

from server import actions
from server.actions import freeze
from server.actions.base import contest_by_ref
from server.i18n import gettext as _
from server.models import Contest
from server.plugins import PluginError
from server.scoreboard.live import SNAPSHOT_BASE, parse_header
from server.web.fastpath import ANON_PAGE
from server.web.auth import (
    CurrentUser,
    can_see_contest,
    current_user,
    is_staff,
    require_staff,
    services_of,
    staff_only,
)

__all__ = ["FreezeController", "origin_allowed", "scoreboard_page", "scoreboard_socket_html",
           "scoreboard_socket_json"]

log = logging.getLogger("podium.live")
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def origin_allowed(socket: WebSocket, allowed: tuple[str, ...] | frozenset[str] = ()) -> bool:
    """A browser's ``Origin`` must be this server (same host) or one of ``allowed``."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser: no ambient cookies to abuse
    origin = origin.rstrip("/")
    host = socket.headers.get("host", "")
    return origin in {f"http://{host}", f"https://{host}"} or origin in set(allowed)


async def _contest(services: Any, slug: str, user: Any) -> Contest | None:
    async with services.db.read() as session:
        try:
            contest = await contest_by_ref(session, slug)
        except actions.NotFound:
            return None
    if not await can_see_contest(services, contest, user):
        return None
    return contest


def _view(view: str, user: Any) -> str:
    if view not in ("public", "jury"):
        raise ValidationException(_("view must be public or jury"))
    if view == "jury":
        require_staff(user)
    return view


async def _unavailable(services: Any, contest: Contest) -> str:
    try:
        services.plugins.for_contest(contest).scoring_rule()
    except PluginError as exc:
        return str(exc)
    return "the scoreboard could not be built"


async def board_html(request: Request, contest: Contest, view: str) -> tuple[str | None, str | None]:
    """``(html, None)``: the live board's current HTML; ``(None, error)`` when unavailable."""
    services = services_of(request)
    state = await services.live.state(contest, view)
    if state is None:
        return None, await _unavailable(services, contest)
    if view == "public":
        services.live.remember(contest, state)
    return state.board_html(), None


@get(["/contests/{slug:str}/scoreboard", "/contests/{slug:str}/reveal"], name="scoreboard",
     include_in_schema=False)
async def scoreboard_page(request: Request, slug: FromPath[str], user: CurrentUser,
                          view: FromQuery[str] = "public",
                          theme: FromQuery[str | None] = None) -> Response[str]:
    """The live scoreboard; ``/reveal`` is the same board in large type for the projector while
    the jury steps through the reveal (``POST /api/v1/contests/{slug}/reveal/next``).

    ``?theme=NAME`` shows the page in another available theme (``projector`` for a big screen)
    whatever the contest's own; the rows themselves stay those of the contest's theme."""
    from server.web.pages import render

    if theme is not None and theme not in request.app.state.themes.themes:
        raise ValidationException(_("no theme named %(theme)r") % {"theme": theme})
    services = services_of(request)
    anonymous = view == "public" and user is None
    fast = await services.live.public_state(slug) if anonymous else None
    if fast is not None:  # a public contest, authorised at this version: no database
        contest, state = fast
        html, error = state.board_html(), None
    else:
        found = await _contest(services, slug, user)
        if found is None:
            raise NotFoundException(_("contest %(slug)r does not exist") % {"slug": slug})
        contest = found
        view = _view(view, user)
        html, error = await board_html(request, contest, view)
        fast = await services.live.public_state(slug) if anonymous else None
    query = "?view=jury" if view == "jury" else ""
    reveal = request.url.path.endswith("/reveal")
    # An anonymous page may be served again to others (the fast path): no per-visitor CSRF
    # token in it (it has no form to protect).
    no_token: dict[str, Any] = (
        {"csrf_token": "", "csrf_input": lambda: ""} if user is None else {})
    response = await render(request, "scoreboard.html", contest=contest, view=view,
                            theme=theme,
                            board_html=html, board_error=error, reveal_page=reveal,
                            ws_url=f"/contests/{contest.slug}/scoreboard/ws{query}", **no_token)
    if fast is not None and not request.query_params and not reveal:
        # The page an anonymous visitor gets at this version: the fast path serves it again.
        fast[1].keep(ANON_PAGE, response.content.encode())
    return response


async def _serve(socket: WebSocket, slug: str, view: str, fmt: str, *, allow_session: bool
                 ) -> None:
    try:
        await _serve_socket(socket, slug, view, fmt, allow_session=allow_session)
    except (WebSocketDisconnect, OSError):
        pass  # the client left (during the handshake, say): nothing went wrong here
    except Exception:  # Litestar closes with 4500 and logs nothing outside debug mode
        log.exception("scoreboard socket for %s failed", slug)
        raise


async def _serve_socket(socket: WebSocket, slug: str, view: str, fmt: str, *,
                        allow_session: bool) -> None:
    services = socket.app.state.services
    if not origin_allowed(socket, services.settings.allowed_origins):
        await socket.close(code=CLOSE_FORBIDDEN, reason="origin not allowed")
        return
    try:
        user = await current_user(socket, allow_session=allow_session)  # type: ignore[arg-type]
    except NotAuthorizedException as exc:
        await socket.close(code=CLOSE_FORBIDDEN, reason=str(exc.detail)[:120])
        return
    # Anonymous spectators of a public contest connect without the database (a crowd that
    # connects at once must not queue on the connection pool); others are authorised fully.
    fast = (await services.live.public_state(slug)
            if user is None and view == "public" else None)
    contest = fast[0] if fast is not None else await _contest(services, slug, user)
    if contest is None:
        await socket.close(code=CLOSE_NOT_FOUND, reason="no such contest")
        return
    if view not in ("public", "jury") or (view == "jury" and not is_staff(user)):
        await socket.close(code=CLOSE_FORBIDDEN, reason="the jury view is for staff")
        return
    live = services.live
    channels = socket.app.plugins.get(ChannelsPlugin)
    await socket.accept()
    assert contest.id is not None
    await _listen_to_contest(socket.app.state, channels, live.channels(contest.id))
    subscriber = await channels.subscribe([live.channel(contest.id, view, fmt)])
    receiver = asyncio.create_task(_receive(socket, subscriber, fmt))
    try:
        state = await live.state(contest, view)
        if state is None:
            await socket.close(code=1011, reason="the scoreboard is unavailable")
            return
        if view == "public":
            live.remember(contest, state)
        await socket.send_text(state.snapshot(fmt).decode())
        last = state.version
        async for message in subscriber.iter_events():
            if message == b"resync":
                state = await live.state(contest, view)
            else:
                base, version, body = parse_header(message)
                if version <= last:
                    continue  # older than what this socket already shows
                if base in (SNAPSHOT_BASE, last):
                    await socket.send_text(body.decode())
                    last = version
                    continue
                state = await live.state(contest, view)  # a gap: send the stored state
            if state is not None:
                await socket.send_text(state.snapshot(fmt).decode())
                last = state.version
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
        await channels.unsubscribe(subscriber)


async def _listen_to_contest(state: Any, channels: ChannelsPlugin, names: list[str]) -> None:
    """Subscribe this process to all of a contest's live channels at once, one contest at a
    time: concurrent first subscriptions on one Redis pub/sub connection can lose one. A
    keeper subscriber, drained as messages come, holds them for the process's lifetime."""
    keepers = state.setdefault("live_keepers", {})
    if names[0] in keepers:
        return
    lock = state.setdefault("live_keepers_lock", asyncio.Lock())
    async with lock:
        if names[0] not in keepers:
            keeper = await channels.subscribe(names)
            keepers[names[0]] = (keeper, asyncio.create_task(_drain(keeper)))


async def _drain(keeper: Any) -> None:
    """The keeper subscriber's messages are not for anyone: drop them as they come."""
    async for _event in keeper.iter_events():
        pass


async def _receive(socket: WebSocket, subscriber: Any, fmt: str) -> None:
    """Read what the client sends: a resync request, or the end of the connection."""
    try:
        while True:
            text = await socket.receive_text()
            if fmt == "json":
                try:
                    kind = json.loads(text).get("type")
                except (ValueError, AttributeError):
                    kind = None
                if kind == "resync":
                    subscriber.put_nowait(b"resync")
    except Exception:
        pass
    finally:
        subscriber.put_nowait(None)  # ends the sending loop


@websocket("/contests/{slug:str}/scoreboard/ws", name="scoreboard-ws")
async def scoreboard_socket_html(socket: WebSocket, slug: FromPath[str],
                                 view: FromQuery[str] = "public") -> None:
    await _serve(socket, slug, view, "html", allow_session=True)


@websocket("/api/v1/contests/{slug:str}/scoreboard/ws", name="scoreboard-ws-json")
async def scoreboard_socket_json(socket: WebSocket, slug: FromPath[str],
                                 view: FromQuery[str] = "public") -> None:
    await _serve(socket, slug, view, "json", allow_session=False)


class RevealIn(BaseModel):
    steps: int = Field(1, ge=1, le=10_000, description="How many pending cells to reveal.")


class FreezeController(Controller):
    """Freeze, unfreeze and reveal (jury)."""

    path = "/contests"

    @post("/{slug:str}/freeze", guards=[staff_only], status_code=HTTP_200_OK,
          summary="Freeze the public scoreboard now (jury)")
    async def freeze(self, request: Request, slug: FromPath[str], user: CurrentUser
                     ) -> dict[str, Any]:
        actor = require_staff(user)
        contest = await freeze.freeze_now(services_of(request), slug, actor=actor)
        return {"slug": contest.slug, "freeze_at": contest.freeze_at, "frozen": True}

    @post("/{slug:str}/unfreeze", guards=[staff_only], status_code=HTTP_200_OK,
          summary="Show every result on the public scoreboard now (jury)")
    async def unfreeze(self, request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> dict[str, Any]:
        actor = require_staff(user)
        contest = await freeze.unfreeze(services_of(request), slug, actor=actor)
        return {"slug": contest.slug, "frozen": False}

    @get("/{slug:str}/reveal", guards=[staff_only], summary="The reveal's progress (jury)")
    async def reveal_status(self, request: Request, slug: FromPath[str], user: CurrentUser
                            ) -> dict[str, Any]:
        require_staff(user)
        return await freeze.reveal_status(services_of(request), slug)

    @post("/{slug:str}/reveal", guards=[staff_only], status_code=HTTP_200_OK,
          summary="Start the reveal of an ended contest's frozen scoreboard (jury)")
    async def start_reveal(self, request: Request, slug: FromPath[str], user: CurrentUser
                           ) -> dict[str, Any]:
        actor = require_staff(user)
        return await freeze.start_reveal(services_of(request), slug, actor=actor)

    @post("/{slug:str}/reveal/next", guards=[staff_only], status_code=HTTP_200_OK,
          summary="Reveal the next pending cells (jury)")
    async def reveal_next(self, request: Request, slug: FromPath[str], user: CurrentUser,
                          data: JSONBody[RevealIn | None] = None) -> dict[str, Any]:
        actor = require_staff(user)
        steps = data.steps if data is not None else 1
        return await freeze.reveal_next(services_of(request), slug, steps=steps, actor=actor)

