"""Organizer and jury pages under ``/admin`` (staff only; never from a contestant theme).

Each module here exports ``route_handlers``; this package mounts them all behind the staff
guard. Templates live in ``themes/default/templates/admin/`` and extend ``admin/base.html``.
"""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide

from server.web.admin import contests, judging, people
from server.web.admin.common import staff_guard
from server.web.auth import current_page_user

__all__ = ["admin_router"]

admin_router = Router(
    path="/admin",
    route_handlers=[*contests.route_handlers, *people.route_handlers, *judging.route_handlers],
    dependencies={"user": Provide(current_page_user)},
    guards=[staff_guard],
    include_in_schema=False,
)
