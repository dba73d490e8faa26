"""Redis leaderboard index for production: per board a sorted set, a hash and a marker.

Keys (one hash tag per board, so a cluster keeps them on one node):

- ``<prefix>leaderboard:{<id>}``: sorted set; score = the entry's score (negated on a ``desc``
  board: ascending order is then best first); member = 18 digits of ``updated_at`` (microseconds
  since 0001-01-01 UTC) followed by the player, so equal scores order by time, then player bytes;
- ``<prefix>leaderboard:{<id>}:players``: hash player -> those 18 digits (finds a member);
- ``<prefix>leaderboard:{<id>}:built``: present once the index mirrors the database, a hash
  of the board's ``name`` and ``about`` (given by the caller, e.g. its row as JSON);
- ``<prefix>leaderboard-name:<name>``: the id of the built board with that name (cached by
  each process, checked against ``name`` in the marker on every use);
- ``<prefix>leaderboard:{<id>}:lock``: the upkeep lock (redis-py's ``Lock``, with a TTL).

Every read is one Lua script (one round trip, atomic) that first checks the marker; writes keep
the sorted set and the hash consistent in Lua too. Scores travel as Python ``repr`` strings and
come back as Redis's round-trip formatting: the double is kept exactly. :meth:`replace` fills
temporary keys (same hash tag, with a TTL in case the builder dies) and ``RENAME``s them in.

The client may use ``decode_responses`` True or False; it is never closed here.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from server.leaderboard_index import (
    TIME_DIGITS,
    BoardKey,
    Entry,
    IndexNotBuilt,
    RankedEntry,
    check_entries,
    check_window,
    decode_time,
    encode_time,
    rank_page,
    sort_key,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.lock import Lock

__all__ = ["RedisLeaderboardIndex"]

CHUNK = 2000
"""Entries per script call while writing."""
BUILD_TTL_SECONDS = 600
"""Lifetime of a replacement under construction (removed by ``PERSIST`` once in place)."""
LOCK_SECONDS = 30.0
"""The upkeep lock expires after this unless renewed (a rebuild renews it every chunk)."""

# KEYS: zset, hash. ARGV: (player, stored score, time digits) triples.
_PUT = """
for i = 1, #ARGV, 3 do
  local player = ARGV[i]
  local old = redis.call('HGET', KEYS[2], player)
  if old then redis.call('ZREM', KEYS[1], old .. player) end
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i + 2] .. player)
  redis.call('HSET', KEYS[2], player, ARGV[i + 2])
end
return 0
"""

# KEYS: zset, hash. ARGV: players.
_REMOVE = """
for i = 1, #ARGV do
  local old = redis.call('HGET', KEYS[2], ARGV[i])
  if old then
    redis.call('ZREM', KEYS[1], old .. ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
return 0
"""

# A page travels as one bulk string, "<first position> <entries strictly better than the
# first row> " and then each member and score as "<byte length>:<bytes>": one reply to parse
# instead of 2 + 2n (redis-py's pure-Python RESP parser costs ~8 us an element).
_PACK = """
local function pack(first, rows)
  local out = {first, ' ', 0, ' '}
  if #rows > 0 then out[3] = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. rows[2]) end
  for i = 1, #rows do
    out[#out + 1] = #rows[i]
    out[#out + 1] = ':'
    out[#out + 1] = rows[i]
  end
  return table.concat(out)
end
"""

# KEYS: zset, built. ARGV: start, stop (inclusive). A packed page; nil when not built.
_PAGE = _PACK + """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
return pack(ARGV[1], redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES'))
"""

# KEYS: zset, hash, built. ARGV: player, radius. A packed page (first position -1: no such
# player); nil when not built.
_AROUND = _PACK + """
if redis.call('EXISTS', KEYS[3]) == 0 then return false end
local at = redis.call('HGET', KEYS[2], ARGV[1])
if not at then return pack(-1, {}) end
local position = redis.call('ZRANK', KEYS[1], at .. ARGV[1])
if not position then return pack(-1, {}) end
local radius = tonumber(ARGV[2])
local first = position - radius
if first < 0 then first = 0 end
return pack(first, redis.call('ZRANGE', KEYS[1], first, position + radius, 'WITHSCORES'))
"""

# KEYS: zset, built. ARGV: stored scores. Entries strictly better than each; nil: not built.
_RANKS = """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local out = {}
for i = 1, #ARGV do
  out[i] = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[i]) + 1
end
return out
"""

# KEYS: zset, built.
_COUNT = """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
return redis.call('ZCARD', KEYS[1])
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisLeaderboardIndex:
    """:class:`server.leaderboard_index.LeaderboardIndex` on Redis sorted sets."""

    def __init__(self, redis: Redis, prefix: str = "podium:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._held: dict[int, Lock] = {}
        self._names: dict[str, int] = {}
        self._put = redis.register_script(_PUT)
        self._remove = redis.register_script(_REMOVE)
        self._page = redis.register_script(_PAGE)
        self._around = redis.register_script(_AROUND)
        self._ranks = redis.register_script(_RANKS)
        self._count = redis.register_script(_COUNT)

    def key(self, board_id: int) -> str:
        """The sorted set of the board; its other keys add a suffix."""
        return f"{self._prefix}leaderboard:{{{int(board_id)}}}"

    def name_key(self, name: str) -> str:
        return f"{self._prefix}leaderboard-name:{name}"

    @asynccontextmanager
    async def lock(self, board_id: int) -> AsyncIterator[None]:
        """A Redis lock with a TTL (a dead holder frees it); waits as long as it takes."""
        lock = self._redis.lock(f"{self.key(board_id)}:lock", timeout=LOCK_SECONDS,
                                sleep=0.01, blocking=True, blocking_timeout=None)
        async with lock:
            self._held[board_id] = lock
            try:
                yield
            finally:
                self._held.pop(board_id, None)

    async def built(self, board_id: int) -> bool:
        return bool(await self._redis.exists(f"{self.key(board_id)}:built"))

    async def replace(self, board: BoardKey, chunks: AsyncIterable[Sequence[Entry]], *,
                      name: str = "", about: str = "") -> int:
        """Fill temporary keys, then ``RENAME`` them over the board's (one transaction)."""
        key = self.key(board.id)
        build = f"{key}:build:{uuid.uuid4().hex}"
        temporary = [build, f"{build}:players"]
        total = 0
        try:
            async for chunk in chunks:
                check_entries(chunk)
                for start in range(0, len(chunk), CHUNK):
                    async with self._redis.pipeline(transaction=False) as pipe:
                        args = self._args(board, chunk[start:start + CHUNK])
                        await self._put(keys=temporary, args=args, client=pipe)
                        for building in temporary:
                            pipe.expire(building, BUILD_TTL_SECONDS)
                        await pipe.execute()
                total += len(chunk)
                if (held := self._held.get(board.id)) is not None:
                    await held.reacquire()  # a long rebuild keeps its lock
            async with self._redis.pipeline(transaction=True) as pipe:
                if total:
                    pipe.rename(temporary[0], key)
                    pipe.rename(temporary[1], f"{key}:players")
                    pipe.persist(key)
                    pipe.persist(f"{key}:players")
                else:
                    pipe.delete(key, f"{key}:players")
                pipe.delete(f"{key}:built")
                pipe.hset(f"{key}:built", mapping={"name": name, "about": about})
                if name:
                    pipe.set(self.name_key(name), board.id)
                await pipe.execute()
        except BaseException:
            await self._redis.delete(*temporary)
            raise
        return await self.count(board)

    async def put(self, board: BoardKey, entries: Sequence[Entry]) -> None:
        check_entries(entries)
        keys = [self.key(board.id), f"{self.key(board.id)}:players"]
        for start in range(0, len(entries), CHUNK):
            await self._put(keys=keys, args=self._args(board, entries[start:start + CHUNK]))

    async def remove(self, board: BoardKey, players: Sequence[str]) -> None:
        keys = [self.key(board.id), f"{self.key(board.id)}:players"]
        for start in range(0, len(players), CHUNK):
            await self._remove(keys=keys, args=list(players[start:start + CHUNK]))

    async def about(self, ref: int | str) -> str | None:
        """One ``HMGET`` of the marker (a name resolves through this process's cache, or
        the name key when the cache misses or is out of date)."""
        if isinstance(ref, int) or ref.isdigit():
            return await self._about(int(ref), None)
        cached = self._names.get(ref)
        if cached is not None and (found := await self._about(cached, ref)) is not None:
            return found
        self._names.pop(ref, None)
        board_id = await self._redis.get(self.name_key(ref))
        if board_id is None:
            return None
        found = await self._about(int(board_id), ref)
        if found is not None:
            self._names[ref] = int(board_id)
        return found

    async def _about(self, board_id: int, name: str | None) -> str | None:
        stored_name, about = await self._redis.hmget(f"{self.key(board_id)}:built",
                                                     ["name", "about"])
        if about is None or (name is not None and _text(stored_name) != name):
            return None
        return _text(about)

    async def drop(self, board_id: int) -> None:
        key = self.key(board_id)
        name = await self._redis.hget(f"{key}:built", "name")
        await self._redis.delete(f"{key}:built", key, f"{key}:players")
        if name and int(await self._redis.get(self.name_key(_text(name))) or -1) == board_id:
            await self._redis.delete(self.name_key(_text(name)))

    async def count(self, board: BoardKey) -> int:
        key = self.key(board.id)
        return int(self._built_or_raise(board, await self._count(keys=[key, f"{key}:built"])))

    async def page(self, board: BoardKey, start: int, stop: int) -> list[RankedEntry]:
        check_window(start, stop)
        key = self.key(board.id)
        if stop == start:
            self._built_or_raise(board, await self._count(keys=[key, f"{key}:built"]))
            return []
        return self._ranked(board, self._built_or_raise(
            board, await self._page(keys=[key, f"{key}:built"], args=[start, stop - 1])))

    async def around(self, board: BoardKey, player: str, radius: int) -> list[RankedEntry]:
        check_window(0, radius)
        key = self.key(board.id)
        return self._ranked(board, self._built_or_raise(board, await self._around(
            keys=[key, f"{key}:players", f"{key}:built"], args=[player, radius])))

    async def ranks(self, board: BoardKey, scores: Sequence[float]) -> list[int]:
        key = self.key(board.id)
        stored = [repr(sort_key(float(s), board.descending)) for s in scores]
        out: list[int] = []
        for start in range(0, len(stored), CHUNK):
            found = self._built_or_raise(board, await self._ranks(
                keys=[key, f"{key}:built"], args=stored[start:start + CHUNK]))
            out += [int(n) for n in found]
        if not stored:
            self._built_or_raise(board, await self._count(keys=[key, f"{key}:built"]))
        return out

    @staticmethod
    def _built_or_raise(board: BoardKey, reply: Any) -> Any:
        if reply is None:
            raise IndexNotBuilt(f"leaderboard {board.id} is not indexed")
        return reply

    @staticmethod
    def _args(board: BoardKey, entries: Sequence[Entry]) -> list[bytes]:
        """Flat (player, stored score, time digits) triples, as bytes (half redis-py's cost
        of packing str arguments)."""
        args: list[bytes] = []
        for player, score, at in entries:
            args += (player.encode(), repr(sort_key(float(score), board.descending)).encode(),
                     b"%0*d" % (TIME_DIGITS, encode_time(at)))
        return args

    @staticmethod
    def _ranked(board: BoardKey, reply: bytes | str) -> list[RankedEntry]:
        """The entries of a packed page (see ``_PACK``)."""
        blob = reply.encode() if isinstance(reply, str) else reply  # decode_responses=True
        gap = blob.index(b" ")
        first = int(blob[:gap])
        end = blob.index(b" ", gap + 1)
        better = int(blob[gap + 1:end])
        items: list[bytes] = []
        at = end + 1
        while at < len(blob):
            colon = blob.index(b":", at)
            at = colon + 1 + int(blob[at:colon])
            items.append(blob[colon + 1:at])
        if first < 0:
            return []
        rows = []
        for i in range(0, len(items), 2):
            member = items[i].decode()
            rows.append((member[TIME_DIGITS:], sort_key(float(items[i + 1]), board.descending),
                         decode_time(int(member[:TIME_DIGITS]))))
        return rank_page(rows, first + 1, better + 1)
