"""HTML pages, rendered through the theme loader chain."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.params import FromPath
from litestar.exceptions import NotFoundException
from sqlmodel import col, select

from server import actions
from server.actions.base import contest_by_ref
from server.models import Contest, ContestProblem, Problem, User, utcnow
from server.plugins import PluginError
from server.themes import ThemeEnvironments, template_filters
from server.web.live import board_html, scoreboard_page
from server.web.auth import (
    current_page_user,
    CurrentUser,
    can_see_contest,
    current_user,
    is_staff,
    services_of,
)

__all__ = ["page_router", "render", "render_error", "template_filters"]


async def render(
    request: Request, template: str, *, contest: Contest | None = None, status_code: int = 200,
    **context: Any,
) -> Response[str]:
    """Render a page with the contest's theme (or the default), plus plugin template vars."""
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
    env = themes.get(contest.theme if contest is not None else services.settings.default_theme)
    html = env.get_template(template).render(
        request=request, user=user, contest=contest, now=utcnow(), **extra, **context)
    return Response(html, media_type="text/html; charset=utf-8", status_code=status_code)


def render_error(request: Request, status_code: int, message: str) -> Response[str]:
    """An error page (synchronous: exception handlers cannot await), in the default theme."""
    services = services_of(request)
    themes: ThemeEnvironments = request.app.state.themes
    env = themes.get(services.settings.default_theme)
    html = env.get_template("error.html").render(
        request=request, user=request.scope.get("podium_user"), contest=None, now=utcnow(),
        status=status_code, message=message)
    return Response(html, media_type="text/html; charset=utf-8", status_code=status_code)


@get("/", name="home", summary="Contest list", include_in_schema=False)
async def home(request: Request, user: CurrentUser) -> Response[str]:
    services = services_of(request)
    async with services.db.session() as session:
        contests = list(await session.exec(select(Contest).order_by(col(Contest.start_at).desc())))
    now = utcnow()
    visible = [c for c in contests if await can_see_contest(services, c, user)]
    return await render(request, "contests.html", contests=visible,
                        states={c.id: c.state_at(now).value for c in visible})


@get("/contests/{slug:str}", name="contest", include_in_schema=False)
async def contest_page(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[str]:
    services = services_of(request)
    async with services.db.session() as session:
        try:
            contest = await contest_by_ref(session, slug)
        except actions.NotFound:
            raise NotFoundException(f"contest {slug!r} does not exist") from None
        problems = list(await session.exec(
            select(ContestProblem, Problem)
            .join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
            .where(ContestProblem.contest_id == contest.id)
            .order_by(col(ContestProblem.ordinal), col(ContestProblem.label))))
    if not await can_see_contest(services, contest, user):
        raise NotFoundException(f"contest {slug!r} does not exist")
    state = contest.state_at(utcnow()).value
    if state == "scheduled" and not is_staff(user):
        problems = []
    html, board_error = await board_html(request, contest, "public")
    return await render(request, "contest.html", contest=contest, state=state,
                        problems=problems, board_html=html, board_error=board_error,
                        ws_url=f"/contests/{contest.slug}/scoreboard/ws")


page_router = Router(path="/", route_handlers=[home, contest_page, scoreboard_page],
                     dependencies={"user": Provide(current_page_user)})
