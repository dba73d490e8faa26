"""HTML pages, rendered through the theme loader chain."""

from __future__ import annotations

from typing import Any

from urllib.parse import urlencode

from litestar import Request, Response, Router, get
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape
from litestar.di import Provide
from sqlmodel import col, select

from server.models import Contest, User, utcnow
from server.themes import ThemeEnvironments, template_filters
from server.web.live import scoreboard_page
from server.web.forms import pop_flashes
from server.web.locale import use_request_locale
from server.web.auth import (
    MANAGER_ROLES,
    current_page_user,
    CurrentUser,
    can_see_contest,
    current_user,
    is_staff,
    services_of,
)

__all__ = ["page_router", "render", "render_error", "template_filters"]


def _page_context(request: Request, user: User | None) -> dict[str, Any]:
    """What every page template gets: the CSRF token, flashed messages, the locale."""
    locale = use_request_locale(request.scope, user.locale if user is not None else None)
    token = ScopeState.from_scope(request.scope).csrf_token
    token = token if isinstance(token, str) else ""
    return {
        "request": request,
        "user": user,
        "csrf_token": token,
        "csrf_input": lambda: Markup(
            f'<input type="hidden" name="_csrf_token" value="{escape(token)}">'),
        "flashes": pop_flashes(request),
        "locale": locale,
        "is_staff": is_staff(user),
        "is_manager": user is not None and user.role in MANAGER_ROLES,
        "now": utcnow(),
    }


async def render(
    request: Request, template: str, *, contest: Contest | None = None, status_code: int = 200,
    theme: str | None = None, **context: Any,
) -> Response[str]:
    """Render a page with the contest's theme (or the default), plus plugin template vars.
    ``theme`` overrides the theme (a name the caller checked is available)."""
    services = services_of(request)
    themes: ThemeEnvironments = request.app.state.themes
    user: User | None = await current_user(request)
    extra: dict[str, Any] = {}
    if contest is not None:
        plugins = services.plugins.for_contest(contest)
        for result in await plugins.emit("podium_template_vars", template=template,
                                         contest=contest, user=user):
            extra.update(result)
        links = [link for result in await plugins.emit("podium_menu_links", contest=contest,
                                                       user=user) for link in result]
        extra.setdefault("menu_links", links)
    else:  # outside a contest: every loaded plugin, without contest settings
        for result in await services.plugins.broadcast(
                "podium_template_vars", template=template, contest=None, user=user,
                settings=None):
            extra.update(result)
    env = themes.get(theme or (
        contest.theme if contest is not None else services.settings.default_theme))
    base = _page_context(request, user)
    html = env.get_template(template).render({**base, "contest": contest, **extra, **context})
    return Response(html, media_type="text/html; charset=utf-8", status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> Response[str]:
    """An error page (synchronous: exception handlers cannot await), in the default theme.

    A 401 shows a link to the login page that comes back here."""
    services = services_of(request)
    themes: ThemeEnvironments = request.app.state.themes
    env = themes.get(services.settings.default_theme)
    user = request.scope.get("podium_user")
    base = _page_context(request, user)  # type: ignore[arg-type]
    next_url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = env.get_template("error.html").render(
        **base, contest=None, status=status_code, message=message,
        login_url=f"/login?{urlencode({'next': next_url})}")
    return Response(html, media_type="text/html; charset=utf-8", status_code=status_code)


@get("/", name="home", summary="Contest list", include_in_schema=False)
async def home(request: Request, user: CurrentUser) -> Response[str]:
    services = services_of(request)
    async with services.db.read() as session:
        contests = list(await session.exec(select(Contest).order_by(col(Contest.start_at).desc())))
    now = utcnow()
    visible = [c for c in contests if await can_see_contest(services, c, user)]
    return await render(request, "contests.html", contests=visible,
                        states={c.id: c.state_at(now).value for c in visible})


page_router = Router(path="/", route_handlers=[home, scoreboard_page],
                     dependencies={"user": Provide(current_page_user)})
