"""Who is asking: bearer tokens for the API, sessions for pages; object-level checks."""

from __future__ import annotations

from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlmodel import select

from server.actions import user_for_token
from server.i18n import gettext as _
from server.models import Contest, Role, TeamMember, User, Visibility
from server.services import Services

__all__ = [
    "MANAGER_ROLES",
    "STAFF_ROLES",
    "admins_only",
    "managers_only",
    "staff_only",
    "CurrentUser",
    "can_see_contest",
    "current_api_user",
    "current_page_user",
    "current_user",
    "is_staff",
    "require_staff",
    "require_user",
    "services_of",
    "team_of",
]

STAFF_ROLES = frozenset({Role.ADMIN.value, Role.ORGANIZER.value, Role.JURY.value})
MANAGER_ROLES = frozenset({Role.ADMIN.value, Role.ORGANIZER.value})

CurrentUser: TypeAlias = NamedDependency[User | None]
"""A handler parameter ``user: CurrentUser`` receives the router's ``user`` dependency."""


def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def current_api_user(request: Request) -> User | None:
    """The API's user: bearer tokens only, so a browser's cookies cannot forge API writes."""
    return await current_user(request, allow_session=False)


async def current_page_user(request: Request) -> User | None:
    """The pages' user: a bearer token or the session cookie."""
    return await current_user(request)


async def current_user(request: Request, *, allow_session: bool = True) -> User | None:
    """The authenticated user (bearer token, or session for pages), cached on the request."""
    if "podium_user" in request.scope:
        return request.scope["podium_user"]  # type: ignore[typeddict-item,no-any-return]
    services = services_of(request)
    user: User | None = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(_("use 'Authorization: Bearer <token>'"))
        user = await user_for_token(services, token.strip())
        if user is None:
            raise NotAuthorizedException(_("invalid or expired token"))
    elif allow_session and "session" in request.scope and request.session.get("user_id"):
        async with services.db.read() as session:
            user = await session.get(User, request.session["user_id"])
        if user is not None and not user.is_active:
            user = None
    request.scope["podium_user"] = user  # type: ignore[typeddict-unknown-key]
    return user


def is_staff(user: User | None) -> bool:
    return user is not None and user.role in STAFF_ROLES


def require_user(user: User | None) -> User:
    if user is None:
        raise NotAuthorizedException(_("authentication required"))
    return user


def _role_guard(roles: frozenset[str], refusal: str) -> Any:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any],
                    _handler: BaseRouteHandler) -> None:
        # The route's own user dependency decides how (token only for the API, token or
        # session for pages); guards run before the body is read.
        allow_session = not connection.scope["path"].startswith("/api/")
        user = await current_user(connection, allow_session=allow_session)  # type: ignore[arg-type]
        if user is None:
            raise NotAuthorizedException(_("authentication required"))
        if user.role not in roles:
            raise PermissionDeniedException(refusal)

    return guard


staff_only = _role_guard(STAFF_ROLES, "jury, organizers and admins only")
"""Route guard: jury, organizers and admins (401 without credentials, 403 for others)."""
managers_only = _role_guard(MANAGER_ROLES, "organizers only")
"""Route guard: organizers and admins."""
admins_only = _role_guard(frozenset({Role.ADMIN.value}), "admins only")
"""Route guard: admins."""


def require_staff(user: User | None, *, manage: bool = False) -> User:
    user = require_user(user)
    allowed = MANAGER_ROLES if manage else STAFF_ROLES
    if user.role not in allowed:
        raise PermissionDeniedException(
            "organizers only" if manage else "jury, organizers and admins only"
        )
    return user


async def team_of(services: Services, contest_id: int, user: User | None) -> int | None:
    """The id of the user's team in the contest, if any."""
    if user is None:
        return None
    async with services.db.read() as session:
        member = (await session.exec(select(TeamMember).where(
            TeamMember.contest_id == contest_id, TeamMember.user_id == user.id))).first()
    return member.team_id if member else None


async def can_see_contest(services: Services, contest: Contest, user: User | None) -> bool:
    if is_staff(user):
        return True
    if contest.visibility == Visibility.PUBLIC.value:
        return True
    if contest.visibility == Visibility.PRIVATE.value:
        return await team_of(services, contest.id, user) is not None  # type: ignore[arg-type]
    return False
