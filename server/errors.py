"""Errors an action raises for bad input; the web layer maps them to 4xx, the CLI to exit 2."""

from __future__ import annotations

__all__ = ["ActionError", "Conflict", "Forbidden", "Invalid", "NotFound"]


class ActionError(Exception):
    """Base of every error an action raises on purpose. ``str(err)`` is for users."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(ActionError):
    status_code = 400


class NotFound(ActionError):
    status_code = 404


class Conflict(ActionError):
    status_code = 409


class Forbidden(ActionError):
    status_code = 403
