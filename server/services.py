"""The services of one app instance (or one CLI command): database, plugins, bus, queue, index.

The embedded mode uses the in-memory bus, queue and index; production uses Redis for all three.
Everything here is built from the settings; nothing is global.
"""

from __future__ import annotations

import asyncio

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TYPE_CHECKING

from redis.asyncio import Redis

from server.bus import EventBus, make_bus
from server.db import Database
from server.leaderboard_index import LeaderboardIndex, make_leaderboard_index
from server.plugins import PluginRegistry
from server.queue import JudgeQueue, make_queue
from server.scoreboard.index import StandingsIndex, make_index
from server.scoreboard.live import (
    LiveBoards,
    LiveState,
    MemoryLiveStore,
    PartialRows,
    RedisLiveStore,
)
from server.redis_client import redis_client
from server.settings import Settings

if TYPE_CHECKING:
    from server.models import Contest
    from server.scoreboard.engine import Board

__all__ = ["Services", "build_registry"]

log = logging.getLogger("podium")


def build_registry(settings: Settings, extra: dict[str, object] | None = None) -> PluginRegistry:
    """Discover, register and validate the plugins the settings allow."""
    registry = PluginRegistry(allow=settings.plugins, block=settings.disable_plugins)
    registry.load_entrypoints()
    for name, plugin in (extra or {}).items():
        registry.register(plugin, name)
    registry.finalize()
    return registry


@dataclass
class Services:
    settings: Settings
    db: Database
    plugins: PluginRegistry
    bus: EventBus
    queue: JudgeQueue
    index: StandingsIndex
    leaderboard_index: LeaderboardIndex
    redis: Redis | None = None
    live: LiveBoards | None = None
    """Live scoreboards (rendered once per change, published on the channels)."""
    background: dict[object, Any] = field(default_factory=dict)
    """Coalescing background work by key (see ``actions.standings.refresh_soon``); ``close``
    waits for it."""

    @classmethod
    async def create(
        cls,
        settings: Settings,
        *,
        registry: PluginRegistry | None = None,
        start_plugins: bool = True,
        publish: Callable[[bytes, list[str]], Awaitable[None]] | None = None,
    ) -> Services:
        """Build every service. ``publish`` sends live-scoreboard messages on the channels
        (the app's channels backend); without it a Redis deployment publishes through Redis
        directly (a CLI command's changes reach every web process) and the embedded mode
        publishes nothing (no socket lives outside the server process)."""
        settings.check()
        registry = registry or build_registry(settings)
        db = Database(settings.effective_database_url, echo=settings.sql_echo,
                      pool_size=settings.db_pool_size)
        redis = redis_client(settings.redis_url) if settings.redis_url else None
        prefix = settings.redis_prefix
        services = cls(
            settings=settings,
            db=db,
            plugins=registry,
            bus=make_bus(redis, prefix),
            queue=make_queue(redis, prefix),
            index=make_index(redis, prefix),
            leaderboard_index=make_leaderboard_index(redis, prefix),
            redis=redis,
        )
        if publish is None and redis is not None:
            from litestar.channels.backends.redis import RedisChannelsPubSubBackend

            publish = RedisChannelsPubSubBackend(redis=redis).publish
        from server.themes import ThemeEnvironments

        async def source(contest_id: int) -> tuple[Contest, dict[str, Board | None]] | None:
            from server.actions.standings import live_boards

            return await live_boards(services, contest_id)

        async def partial(contest_id: int, team_ids: set[int],
                          published: dict[str, LiveState]) -> PartialRows | None:
            from server.actions.standings import live_rows

            return await live_rows(services, contest_id, team_ids, published)

        store = RedisLiveStore(redis, prefix) if redis is not None else MemoryLiveStore()
        from server.scoreboard.team_details import team_details

        services.live = LiveBoards(store, ThemeEnvironments(registry), source, publish,
                                   prefix=prefix,
                                   details=lambda contest_id: team_details(db, contest_id),
                                   partial=partial, locale=settings.default_locale)
        await services.bus.start()
        if start_plugins:
            await registry.broadcast("podium_startup", services=services)
        return services

    async def drain(self) -> None:
        """Wait until the background work started so far (and what it started) is done."""
        while self.background:
            await asyncio.gather(*(entry.task for entry in list(self.background.values())),
                                 return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        if self.live is not None:
            await self.live.close()
        await self.plugins.broadcast("podium_shutdown", services=self)
        await self.bus.stop()
        await self.db.dispose()
        if self.redis is not None:
            await self.redis.aclose()

    async def ready(self) -> dict[str, str]:
        """Check every backing service; raises on the first one that does not answer."""
        status = {}
        await self.db.ping()
        status["database"] = self.db.dialect
        if self.redis is not None:
            await self.redis.ping()
            status["redis"] = "ok"
        return status
