"""The Redis clients of a process: a pool that waits for a free connection when all are busy.

redis-py's default pool (``Redis.from_url``) holds 100 connections and, since redis-py 6,
fails a command with ``MaxConnectionsError`` when all are in use: a crowd of 2,500
scoreboard sockets connecting to one web process at once made some of them fail. A blocking
pool queues such commands instead (up to ``timeout`` seconds) and keeps the number of
connections per process bounded, whatever the load.

redis-py 8 also reads with a 5 s ``socket_timeout`` by default (older versions: none), which
failed every judge's long-poll claim (``XREAD BLOCK`` up to 60 s) with a 500 after 5 s, and a
pub/sub listener quiet for 5 s. :data:`SOCKET_TIMEOUT` is longer than any blocking command
Podium sends.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

__all__ = ["MAX_CONNECTIONS", "SOCKET_TIMEOUT", "redis_client"]

MAX_CONNECTIONS = 64
"""Connections per client (a process has three: services, sessions, channels)."""
SOCKET_TIMEOUT = 90.0
"""Seconds a reply may take: longer than the longest blocking command (a 60 s claim)."""


def redis_client(url: str, *, max_connections: int = MAX_CONNECTIONS,
                 timeout: float = 30.0) -> Redis:
    """A client on ``url`` whose commands wait for a free connection (at most ``timeout``
    seconds) rather than fail when ``max_connections`` are busy."""
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections,
                                           timeout=timeout, socket_timeout=SOCKET_TIMEOUT)
    return Redis.from_pool(pool)  # closing the client closes its pool
