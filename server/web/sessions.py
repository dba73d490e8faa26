"""Server-side sessions that cost nothing for anonymous readers.

Litestar's server-side backend deletes a (freshly generated) session id in the store and sets a
null cookie on every response whose session is empty — one Redis round trip per anonymous
request. This backend skips both when the request carried no session cookie: there is nothing
to delete or to clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)

__all__ = ["LazySessionBackend", "LazySessionConfig"]


class LazySessionBackend(ServerSideSessionBackend):
    async def store_in_message(self, scope_session: Any, message: Any, connection: Any) -> None:
        if not scope_session and self.config.key not in connection.cookies:
            return  # no session before, none now (Empty, or the empty dict of a new visitor)
        await super().store_in_message(scope_session, message, connection)


@dataclass
class LazySessionConfig(ServerSideSessionConfig):
    _backend_class = LazySessionBackend  # type: ignore[assignment]
