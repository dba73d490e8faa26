"""The request's language, set before anything runs: a message a handler or an action makes
(a form error, a flash) is in the viewer's language, not only the page rendered after it.

Order: the signed-in user's saved language (kept in the session at login and when saved, so
this costs no database read), else the best match of ``Accept-Language``, else
``PODIUM_DEFAULT_LOCALE``. Pages negotiate again with the user's row (``_page_context``), which
gives the same answer unless the language was changed in another session.
"""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from server import i18n

__all__ = ["LocaleMiddleware", "use_request_locale"]


def use_request_locale(scope: Scope, saved: str | None) -> str:
    """Negotiate the request's language (``saved``: the user's, if known) and make it the
    current one; returns it."""
    accept = next((value.decode("latin-1") for name, value in scope["headers"]
                   if name == b"accept-language"), "")
    settings = getattr(scope["app"].state, "settings", None)
    fallback = settings.default_locale if settings is not None else i18n.DEFAULT_LOCALE
    locale = i18n.negotiate(accept, saved, fallback)
    i18n.set_locale(locale)
    return locale


class LocaleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            session: Any = scope.get("session")
            use_request_locale(scope, session.get("locale") if isinstance(session, dict)
                               else None)
        await self.app(scope, receive, send)
