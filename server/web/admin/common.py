"""What every admin page shares: the staff guard, contest lookup, rendering."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from server import actions
from server.actions.base import contest_by_ref
from server.i18n import gettext as _
from server.models import Contest, User
from server.web.auth import MANAGER_ROLES, STAFF_ROLES, current_user, services_of
from server.web.pages import render

__all__ = ["admin_contest", "render_admin", "require_manager", "staff_guard"]


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any],
                      _handler: BaseRouteHandler) -> None:
    """401 without a login, 403 for contestants: admin pages are for jury, organizers, admins."""
    user = await current_user(connection)  # type: ignore[arg-type]
    if user is None:
        raise NotAuthorizedException(_("log in as jury, organizer or admin to see this page"))
    if user.role not in STAFF_ROLES:
        raise PermissionDeniedException(_("jury, organizers and admins only"))


def require_manager(user: User | None) -> User:
    """Organizers and admins (the jury may look and judge, not change the contest)."""
    if user is None or user.role not in MANAGER_ROLES:
        raise PermissionDeniedException(_("organizers and admins only"))
    return user


async def admin_contest(request: Request, slug: str) -> Contest:
    async with services_of(request).db.read() as session:
        try:
            return await contest_by_ref(session, slug)
        except actions.NotFound:
            raise NotFoundException(_("contest %(slug)r does not exist") % {"slug": slug}) from None


async def render_admin(request: Request, template: str, *, contest: Contest | None = None,
                       section: str = "", status_code: int = 200, **context: Any) -> Response[str]:
    """An admin page: ``admin/…`` templates, always from the default theme."""
    if not template.startswith("admin/"):
        raise ValueError("admin pages render admin/ templates")
    return await render(request, template, contest=contest, section=section,
                        status_code=status_code, admin=True, **context)
