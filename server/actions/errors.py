"""Action errors live in :mod:`server.errors` (importable without the database layer)."""

from server.errors import ActionError, Conflict, Forbidden, Invalid, NotFound

__all__ = ["ActionError", "Conflict", "Forbidden", "Invalid", "NotFound"]
