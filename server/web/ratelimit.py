"""Fixed-window rate limits, shared by every web process through Redis (memory when embedded).

``await limiter.hit("login:user:alice", limit=10, window=300)`` counts one event and returns
``None`` while the key is under its limit, else the seconds until the window ends.
"""

from __future__ import annotations

import math
import time

from litestar import Request
from redis.asyncio import Redis

__all__ = ["RateLimiter", "limiter_of"]


class RateLimiter:
    def __init__(self, redis: Redis | None, prefix: str = "podium:") -> None:
        self.redis = redis
        self.prefix = f"{prefix}rate:"
        self._memory: dict[str, tuple[float, int]] = {}

    async def hit(self, key: str, *, limit: int, window: float) -> float | None:
        """Count one event; ``None`` if allowed, else seconds to wait."""
        count, ttl = await self._incr(key, window)
        return None if count <= limit else max(ttl, 1.0)

    async def peek(self, key: str, *, limit: int) -> float | None:
        """Whether the key has used up its limit (``limit`` events counted in this window),
        without counting one: ``None`` if another event is allowed, else seconds to wait."""
        if self.redis is not None:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(self.prefix + key)
                pipe.pttl(self.prefix + key)
                raw, ttl = await pipe.execute()
            return None if raw is None or int(raw) < limit else max(ttl / 1000, 1.0)
        now = time.monotonic()
        ends, count = self._memory.get(key, (0.0, 0))
        return None if ends <= now or count < limit else max(ends - now, 1.0)

    async def reset(self, key: str) -> None:
        if self.redis is not None:
            await self.redis.delete(self.prefix + key)
        else:
            self._memory.pop(key, None)

    async def _incr(self, key: str, window: float) -> tuple[int, float]:
        if self.redis is not None:
            name = self.prefix + key
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.pexpire(name, math.ceil(window * 1000), nx=True)
                pipe.pttl(name)
                count, _, ttl = await pipe.execute()
            return int(count), max(ttl, 0) / 1000
        now = time.monotonic()
        ends, count = self._memory.get(key, (0.0, 0))
        if ends <= now:
            ends, count = now + window, 0
            if len(self._memory) > 100_000:  # forget finished windows now and then
                self._memory = {k: v for k, v in self._memory.items() if v[0] > now}
        self._memory[key] = (ends, count + 1)
        return count + 1, ends - now


def limiter_of(request: Request) -> RateLimiter:
    """The app's rate limiter (Redis-backed in production, so shared by every process)."""
    state = request.app.state
    limiter = getattr(state, "limiter", None)
    if limiter is None:
        services = state.services
        limiter = state.limiter = RateLimiter(services.redis, services.settings.redis_prefix)
    return limiter  # type: ignore[no-any-return]
