"""Redis standings index for production: one sorted set per contest.

Key ``<prefix>standings:{<contest id>}``. A sorted set orders equal scores by member bytes, so
the index stores ``-score`` (ascending order is then best first) and the team id zero-padded
to 20 digits as the member (byte order is then numeric order): an ascending ``ZRANGE`` gives
exactly "best first, ties by team id ascending". Scores below 2**53 are exact as doubles.
:meth:`RedisStandingsIndex.rank` and :meth:`~RedisStandingsIndex.around` are small Lua
scripts (one round trip, atomic); :meth:`~RedisStandingsIndex.replace` builds a temporary key
(same hash tag, with a TTL in case the builder dies) and ``RENAME``s it over the old one.

The client may use ``decode_responses`` True or False; it is never closed here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from server.scoreboard.index import check_score, check_scores, check_team, check_window

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStandingsIndex"]

BUILD_CHUNK = 5000
"""Members per ``ZADD`` while building a replacement."""
BUILD_TTL_SECONDS = 600
"""Lifetime of a replacement under construction (removed by ``PERSIST`` once in place)."""

# KEYS: board. ARGV: member. 1 + members with a strictly smaller stored (negated) score.
_RANK = """
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not s then return false end
return redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. s) + 1
"""

# KEYS: board. ARGV: member, radius. Flat member, score pairs.
_AROUND = """
local r = redis.call('ZRANK', KEYS[1], ARGV[1])
if not r then return {} end
local radius = tonumber(ARGV[2])
local first = r - radius
if first < 0 then first = 0 end
return redis.call('ZRANGE', KEYS[1], first, r + radius, 'WITHSCORES')
"""


def _member(team_id: int) -> str:
    return f"{team_id:020d}"


def _row(member: bytes | str, stored: bytes | str | float) -> tuple[int, int]:
    return int(member), -int(float(stored))


class RedisStandingsIndex:
    """:class:`server.scoreboard.index.StandingsIndex` on Redis sorted sets."""

    def __init__(self, redis: Redis, prefix: str = "podium:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._rank_script = redis.register_script(_RANK)
        self._around_script = redis.register_script(_AROUND)

    def key(self, contest_id: int) -> str:
        """The sorted set that holds the contest's index."""
        return f"{self._prefix}standings:{{{int(contest_id)}}}"

    async def set(self, contest_id: int, team_id: int, score: int) -> None:
        """``ZADD`` one team."""
        check_team(team_id)
        check_score(score)
        await self._redis.zadd(self.key(contest_id), {_member(team_id): -score})

    async def set_many(self, contest_id: int, scores: Mapping[int, int]) -> None:
        """``ZADD`` several teams, in chunks."""
        items = check_scores(scores)
        key = self.key(contest_id)
        for start in range(0, len(items), BUILD_CHUNK):
            await self._redis.zadd(key, self._mapping(items[start : start + BUILD_CHUNK]))

    async def replace(self, contest_id: int, scores: Mapping[int, int]) -> None:
        """Build a temporary sorted set, then ``RENAME`` it over the contest's key."""
        items = check_scores(scores)
        key = self.key(contest_id)
        if not items:
            await self._redis.delete(key)
            return
        temporary = f"{key}:build:{uuid.uuid4().hex}"
        try:
            for start in range(0, len(items), BUILD_CHUNK):
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.zadd(temporary, self._mapping(items[start : start + BUILD_CHUNK]))
                    pipe.expire(temporary, BUILD_TTL_SECONDS)
                    await pipe.execute()
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.rename(temporary, key)
                pipe.persist(key)
                await pipe.execute()
        except BaseException:
            await self._redis.delete(temporary)
            raise

    async def remove(self, contest_id: int, team_id: int) -> None:
        """``ZREM`` one team."""
        await self._redis.zrem(self.key(contest_id), _member(check_team(team_id)))

    async def score(self, contest_id: int, team_id: int) -> int | None:
        """``ZSCORE``, negated back."""
        stored = await self._redis.zscore(self.key(contest_id), _member(check_team(team_id)))
        return None if stored is None else -int(stored)

    async def rank(self, contest_id: int, team_id: int) -> int | None:
        """Competition rank through ``ZSCORE`` + ``ZCOUNT`` in one script."""
        member = _member(check_team(team_id))
        rank = await self._rank_script(keys=[self.key(contest_id)], args=[member])
        return None if rank is None else int(rank)

    async def top(self, contest_id: int, limit: int, offset: int = 0) -> list[tuple[int, int]]:
        """Ascending ``ZRANGE`` of the window."""
        check_window(limit, offset)
        if limit == 0:
            return []
        rows = await self._redis.zrange(
            self.key(contest_id), offset, offset + limit - 1, withscores=True
        )
        return [_row(member, stored) for member, stored in rows]

    async def around(self, contest_id: int, team_id: int, radius: int) -> list[tuple[int, int]]:
        """``ZRANK`` + ``ZRANGE`` in one script."""
        check_window(radius)
        member = _member(check_team(team_id))
        flat = await self._around_script(keys=[self.key(contest_id)], args=[member, radius])
        return [_row(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]

    async def count(self, contest_id: int) -> int:
        """``ZCARD``."""
        return int(await self._redis.zcard(self.key(contest_id)))

    async def clear(self, contest_id: int) -> None:
        """``DEL`` the contest's key."""
        await self._redis.delete(self.key(contest_id))

    @staticmethod
    def _mapping(items: Sequence[tuple[int, int]]) -> dict[str, int]:
        return {_member(team_id): -score for team_id, score in items}
