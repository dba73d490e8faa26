"""Errors an action raises for bad input; the web layer maps them to 4xx, the CLI to exit 2."""

from __future__ import annotations

from server import i18n

__all__ = ["ActionError", "Conflict", "Forbidden", "Invalid", "NotFound"]


class ActionError(Exception):
    """Base of every error an action raises on purpose. ``str(err)`` is for users.

    ``message`` is a msgid marked with ``N_`` (extracted for translation), with
    ``%(name)s`` placeholders filled from ``params``; it is translated into the current
    request's language when raised (English on the command line and where no catalog has it).
    """

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, **params: object) -> None:
        text = i18n.gettext(message)
        if params:
            try:
                text %= params
            except (KeyError, TypeError, ValueError):  # a catalog entry with other placeholders
                text = message % params
        super().__init__(text)
        self.message = text
        self.msgid = message
        self.params = params
        self.field = field


class Invalid(ActionError):
    status_code = 400


class NotFound(ActionError):
    status_code = 404


class Conflict(ActionError):
    status_code = 409


class Forbidden(ActionError):
    status_code = 403
