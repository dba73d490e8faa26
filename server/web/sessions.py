"""Server-side sessions that cost nothing when nothing changed.

Litestar's server-side backend writes the session to the store and sets its cookie on every
response: one Redis round trip (and a Set-Cookie) per page view, even when the page only read
the session. This backend skips

- both, when the request carried no session cookie and the session is empty (an anonymous
  reader: nothing to delete or to clear);
- both, when the session equals the one loaded and it was last written less than
  ``RENEW_EVERY`` seconds ago. The expiry still slides: the first response after that writes
  it again with a fresh ``max_age`` (kept in the session as ``_renewed``).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)

__all__ = ["RENEW_EVERY", "LazySessionBackend", "LazySessionConfig"]

#: An unchanged session is written again (its expiry renewed) at most this often, in seconds.
RENEW_EVERY = 3600
_LOADED = "podium.session_loaded"  # scope key: a copy of the session as it was loaded


class LazySessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: Any) -> dict[str, Any]:
        data = await super().load_from_connection(connection)
        connection.scope[_LOADED] = copy.deepcopy(data)  # what the response compares with
        return data

    async def store_in_message(self, scope_session: Any, message: Any, connection: Any) -> None:
        if not scope_session and self.config.key not in connection.cookies:
            return  # no session before, none now (Empty, or the empty dict of a new visitor)
        if isinstance(scope_session, dict) and scope_session:
            loaded = connection.scope.get(_LOADED)
            now = int(time.time())
            if (loaded and scope_session == loaded
                    and now - int(scope_session.get("_renewed", 0)) < RENEW_EVERY):
                return  # read, not changed, renewed recently
            scope_session["_renewed"] = now
        await super().store_in_message(scope_session, message, connection)


@dataclass
class LazySessionConfig(ServerSideSessionConfig):
    _backend_class = LazySessionBackend  # type: ignore[assignment]
