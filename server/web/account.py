"""Account pages: log in and out, sign up, account settings, and a contestant's team."""

from __future__ import annotations

import zoneinfo
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from sqlmodel import col, select

from server import actions
from server.actions import accounts
from server.errors import ActionError
from server.i18n import available_locales, gettext as _
from server.models import Contest, RegistrationMode, TeamMember, User
from server.web.auth import (
    CurrentUser,
    current_page_user,
    require_user,
    services_of,
)
from server.web.forms import errors_of, flash, read_form, redirect, safe_next
from server.web.contestant import visible_contest
from server.web.locale import use_request_locale
from server.web.pages import render
from server.web.ratelimit import limiter_of

__all__ = ["account_router", "login_session"]

LOGIN_WINDOW = 300.0


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _drop_session(request: Request) -> None:
    """Forget the browser's session: the scope's and the stored one (so that the old id is
    worth nothing, even to someone who copied it)."""
    old = request.cookies.get("session")
    request.clear_session()
    if old:
        await request.app.stores.get("sessions").delete(old)


async def login_session(request: Request, user: User) -> None:
    """Start a fresh session for this user (a new id: no session fixation). The login time
    is recorded by ``actions.authenticate``."""
    await _drop_session(request)
    request.set_session({"user_id": user.id, "locale": user.locale or ""})
    use_request_locale(request.scope, user.locale)
    request.scope["podium_user"] = user  # type: ignore[typeddict-unknown-key]


@get("/login", name="login", include_in_schema=False)
async def login_page(request: Request, user: CurrentUser,
                     next: FromQuery[str | None] = None) -> Response[Any]:
    if user is not None:
        return redirect(request, safe_next(next))
    return await render(request, "account/login.html", form={"next": safe_next(next)},
                        errors={})


@post("/login", include_in_schema=False)
async def login(request: Request) -> Response[Any]:
    services = services_of(request)
    form = await read_form(request)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    next_url = safe_next(form.get("next"))
    limiter = limiter_of(request)
    limit = services.settings.login_rate_limit
    keys = [f"login:user:{username.lower()}", f"login:ip:{_client(request)}"]
    for key in keys:
        wait = await limiter.peek(key, limit=limit)
        if wait is not None:
            minutes = max(1, round(wait / 60))
            return await render(
                request, "account/login.html", form=form, status_code=429,
                errors={"__all__": _("Too many failed logins. Try again in %(n)d minute(s).")
                        % {"n": minutes}})
    user = await actions.authenticate(services, username, password) if username else None
    if user is None:
        for key in keys:
            await limiter.hit(key, limit=limit, window=LOGIN_WINDOW)
        return await render(request, "account/login.html", form=form, status_code=400,
                            errors={"__all__": _("Wrong username or password.")})
    await limiter.reset(keys[0])
    await login_session(request, user)
    return redirect(request, next_url)


@post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response[Any]:
    await _drop_session(request)
    request.scope["podium_user"] = None  # type: ignore[typeddict-unknown-key]
    return redirect(request, "/")


@get("/register", name="register", include_in_schema=False)
async def register_page(request: Request, user: CurrentUser,
                        next: FromQuery[str | None] = None) -> Response[Any]:
    mode = services_of(request).settings.registration
    return await render(request, "account/register.html", mode=mode,
                        form={"next": safe_next(next)}, errors={},
                        status_code=403 if mode == "closed" else 200)


@post("/register", include_in_schema=False)
async def register(request: Request) -> Response[Any]:
    services = services_of(request)
    form = await read_form(request)
    mode = services.settings.registration
    errors: dict[str, str] = {}
    status = 400
    if form.get("password", "") != form.get("password2", ""):
        errors["password2"] = _("The two passwords differ.")
    wait = await limiter_of(request).hit(f"register:ip:{_client(request)}", limit=20,
                                         window=3600)
    if wait is not None:
        errors["__all__"] = _("Too many sign-ups from this address; try again later.")
        status = 429
    if not errors:
        try:
            user = await accounts.sign_up(
                services, username=form.get("username", ""), password=form.get("password", ""),
                display_name=form.get("display_name", ""), email=form.get("email"),
                invite_code=form.get("invite_code", ""))
        except ActionError as exc:
            errors, status = errors_of(exc), exc.status_code
        else:
            await login_session(request, user)
            flash(request, _("Welcome, %(name)s! Your account is ready.")
                  % {"name": user.display_name})
            return redirect(request, safe_next(form.get("next")))
    return await render(request, "account/register.html", mode=mode, form=form, errors=errors,
                        status_code=status)


def _zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@get("/account", name="account", include_in_schema=False)
async def account_page(request: Request, user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    return await render(request, "account/settings.html",
                        form={"display_name": me.display_name, "email": me.email or "",
                              "timezone": me.timezone or "", "locale": me.locale or ""},
                        errors={}, zones=_zones(), locales=available_locales())


@post("/account", include_in_schema=False)
async def account_save(request: Request, user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    services = services_of(request)
    form = await read_form(request)
    errors: dict[str, str] = {}
    zone = form.get("timezone", "").strip()
    if zone and zone not in zoneinfo.available_timezones():
        errors["timezone"] = _("Unknown time zone.")
    locale = form.get("locale", "").strip()
    if locale and locale not in available_locales():
        errors["locale"] = _("Unknown language.")
    display = form.get("display_name", "").strip()
    if not display or len(display) > 128:
        errors["display_name"] = _("Enter a name of 1 to 128 characters.")
    new_password = form.get("new_password", "")
    if new_password:
        if await actions.authenticate(services, me.username, form.get("password", "")) is None:
            errors["password"] = _("Your current password is wrong.")
        elif new_password != form.get("new_password2", ""):
            errors["new_password2"] = _("The two passwords differ.")
    if not errors and new_password:
        try:
            await actions.set_password(services, me.id, new_password, actor=me)  # type: ignore[arg-type]
        except ActionError as exc:
            errors = {"new_password": exc.message}
    if errors:
        return await render(request, "account/settings.html", form=form, errors=errors,
                            zones=_zones(), locales=available_locales(), status_code=400)
    try:
        await actions.update_user(services, me.id, display_name=display,  # type: ignore[arg-type]
                                  email=form.get("email", ""), timezone=zone, locale=locale,
                                  actor=me)
    except ActionError as exc:
        return await render(request, "account/settings.html", form=form,
                            errors=errors_of(exc), zones=_zones(),
                            locales=available_locales(), status_code=exc.status_code)
    request.session["locale"] = locale  # the next requests' language (server/web/locale.py)
    use_request_locale(request.scope, locale)
    flash(request, _("Your account is saved."))
    return redirect(request, "/account")


async def _team_page(request: Request, contest: Contest, me: User, *, form: dict[str, str]
                     | None = None, errors: dict[str, str] | None = None,
                     status_code: int = 200) -> Response[Any]:
    services = services_of(request)
    team = await accounts.team_of_user(services, contest.id, me.id)  # type: ignore[arg-type]
    members: list[tuple[TeamMember, User]] = []
    if team is not None:
        async with services.db.read() as session:
            members = list(await session.exec(
                select(TeamMember, User).join(User, User.id == TeamMember.user_id)  # type: ignore[arg-type]
                .where(TeamMember.team_id == team.id).order_by(col(TeamMember.id))))
    return await render(
        request, "account/team.html", contest=contest, team=team, members=members,
        form=form or {}, errors=errors or {}, status_code=status_code,
        open_registration=contest.registration_mode in {
            RegistrationMode.OPEN.value, RegistrationMode.CODE.value,
            RegistrationMode.APPROVAL.value},
        needs_approval=contest.registration_mode == RegistrationMode.APPROVAL.value,
        needs_code=contest.registration_mode == RegistrationMode.CODE.value,
        max_size=accounts.MAX_TEAM_SIZE)


@get("/contests/{slug:str}/team", name="team", include_in_schema=False)
async def team_page(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    return await _team_page(request, await visible_contest(request, slug, me), me)


@post("/contests/{slug:str}/team/create", include_in_schema=False)
async def team_create(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    form = await read_form(request)
    try:
        team = await accounts.register_team(
            services_of(request), contest.id, me, name=form.get("name", ""),  # type: ignore[arg-type]
            registration_code=form.get("registration_code", ""))
    except ActionError as exc:
        return await _team_page(request, contest, me, form=form, errors=errors_of(exc),
                                status_code=exc.status_code)
    flash(request, _("Team %(name)s is registered. Teammates join it with the code %(code)s.")
          % {"name": team.name, "code": team.join_code})
    return redirect(request, f"/contests/{contest.slug}/team")


@post("/contests/{slug:str}/team/join", include_in_schema=False)
async def team_join(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    form = await read_form(request)
    try:
        team = await accounts.join_team(services_of(request), contest.id, me,  # type: ignore[arg-type]
                                        code=form.get("code", ""))
    except ActionError as exc:
        return await _team_page(request, contest, me, form=form, errors=errors_of(exc),
                                status_code=exc.status_code)
    flash(request, _("You joined team %(name)s.") % {"name": team.name})
    return redirect(request, f"/contests/{contest.slug}/team")


@post("/contests/{slug:str}/team/leave", include_in_schema=False)
async def team_leave(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    try:
        await accounts.leave_team(services_of(request), contest.id, me)  # type: ignore[arg-type]
    except ActionError as exc:
        return await _team_page(request, contest, me, errors=errors_of(exc),
                                status_code=exc.status_code)
    flash(request, _("You left the team."))
    return redirect(request, f"/contests/{contest.slug}/team")


account_router = Router(
    path="/",
    route_handlers=[login_page, login, logout, register_page, register, account_page,
                    account_save, team_page, team_create, team_join, team_leave],
    dependencies={"user": Provide(current_page_user)},
)
