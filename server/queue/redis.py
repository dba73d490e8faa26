"""Redis Streams judge queue for production: many workers, many processes, survives restarts.

Layout under ``<prefix>queue:{q}:`` (the ``{q}`` hash tag keeps every key in one cluster slot):

- one stream per lane (priority, band): ``p0`` … ``p0b4`` then ``p1`` … ``p1b4`` (band 0 is
  plain ``p<priority>``), entries ``{"p": <payload JSON>}``, read through the consumer group
  ``judges``. An entry stays in the stream until it is acknowledged (``XACK`` + ``XDEL``), so
  ``XLEN`` - pending = jobs never delivered.
- ``wake``: a one-entry stream that :meth:`RedisJudgeQueue.reclaim` appends to, so that
  long-polling claimers notice reclaimed jobs.

A job id is ``<priority>:<stream entry id>`` (band 0) or ``<priority>b<band>:<stream entry id>``.
Claimed jobs are in the group's pending entries
list (PEL) under the worker's name; ``XPENDING`` gives the delivery count (``attempts``) and the
idle time (the lease). :meth:`~RedisJudgeQueue.reclaim` moves expired entries to the reserved
consumer ``~reclaimed`` with ``XCLAIM … JUSTID`` (delivery count unchanged); ``claim`` takes
those first (per stream, so a reclaimed job keeps its band), with a plain ``XCLAIM`` that
counts a delivery. Claims walk the streams in lane order. Every multi-step operation is one
Lua script, hence atomic: two workers never get the same delivery, and a heartbeat can never
take over a job that was reclaimed meanwhile.

A long-poll ``claim`` runs the claim script and, when it finds nothing, waits with ``XREAD
BLOCK`` for an entry newer than the ones the script saw, then tries again. ``XREAD`` claims
nothing, so a wake-up never takes a job a worker does not want, and the best lane always
goes first. The client's ``socket_timeout`` must be longer than the longest claim timeout
(:func:`server.redis_client.redis_client` sees to it; redis-py 8's default is 5 s). The client may use ``decode_responses`` True or False; it is never
closed here. Needs Redis >= 6.2 (``XPENDING … IDLE``, exclusive ranges).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import TYPE_CHECKING, Any

from server.queue import LANES, Job, QueueStats, check_band, check_priority, check_worker

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["GROUP", "RECLAIMED", "RedisJudgeQueue"]

GROUP = "judges"
"""The consumer group every worker reads through."""
RECLAIMED = "~reclaimed"
"""The consumer that holds reclaimed jobs until a worker claims them."""

_JOB_ID = re.compile(r"^([0-9]+)(?:b([0-9]+))?:([0-9]+-[0-9]+)$")

# Creates the group (and the stream) unless it exists; BUSYGROUP is expected and ignored.
_ENSURE = """
local function ensure(key)
  redis.pcall('XGROUP', 'CREATE', key, ARGV[1], '0', 'MKSTREAM')
end
"""

# KEYS: the lane streams in claim order, then wake. ARGV: group, worker, reclaimed consumer.
# Returns {lane, entry id, payload, deliveries} or {-1, last id of every key}.
_CLAIM = _ENSURE + """
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return '{}'
end
for i = 1, #KEYS - 1 do
  local key = KEYS[i]
  ensure(key)
  while true do
    local parked = redis.call('XPENDING', key, ARGV[1], '-', '+', 1, ARGV[3])
    if #parked == 0 then break end
    local id = parked[1][1]
    local claimed = redis.call('XCLAIM', key, ARGV[1], ARGV[2], 0, id)
    local entry = claimed[1]
    if entry and type(entry[2]) == 'table' then
      local pending = redis.call('XPENDING', key, ARGV[1], id, id, 1)
      return {i - 1, id, field(entry[2], 'p'), pending[1][4]}
    end
    redis.call('XACK', key, ARGV[1], id)  -- the entry was deleted: forget it
  end
  local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1,
                          'STREAMS', key, '>')
  if read then
    local entry = read[1][2][1]
    return {i - 1, entry[1], field(entry[2], 'p'), 1}
  end
end
local last = {-1}
for i = 1, #KEYS do
  local newest = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
  if #newest > 0 then last[i + 1] = newest[1][1] else last[i + 1] = '0-0' end
end
return last
"""

# KEYS: the lane streams, then wake. ARGV: group, min idle ms, reclaimed consumer.
_RECLAIM = _ENSURE + """
local total = 0
for i = 1, #KEYS - 1 do
  local key = KEYS[i]
  ensure(key)
  local start = '-'
  while true do
    local page = redis.call('XPENDING', key, ARGV[1], 'IDLE', ARGV[2], start, '+', 500)
    if #page == 0 then break end
    local ids = {}
    for _, p in ipairs(page) do
      if p[2] ~= ARGV[3] then ids[#ids + 1] = p[1] end
    end
    if #ids > 0 then
      local claimed = redis.call('XCLAIM', key, ARGV[1], ARGV[3], ARGV[2],
                                 unpack(ids), 'JUSTID')
      total = total + #claimed
    end
    if #page < 500 then break end
    start = '(' .. page[#page][1]
  end
end
if total > 0 then
  redis.call('XADD', KEYS[#KEYS], 'MAXLEN', 1, '*', 'reclaimed', total)
end
return total
"""

# KEYS: stream. ARGV: group, entry id, worker. Returns 1 if renewed.
_HEARTBEAT = _ENSURE + """
ensure(KEYS[1])
local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #held == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'IDLE', 0, 'JUSTID')
return 1
"""

# KEYS: stream. ARGV: group, entry id. Returns 1 if acknowledged.
_ACK = _ENSURE + """
ensure(KEYS[1])
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if n == 1 then redis.call('XDEL', KEYS[1], ARGV[2]) end
return n
"""

# KEYS: the lane streams. ARGV: group, reclaimed consumer.
# Returns {seconds, microseconds, then per stream: waiting, in progress, oldest waiting id}.
_STATS = _ENSURE + """
local t = redis.call('TIME')
local out = {t[1], t[2]}
for i = 1, #KEYS do
  local key = KEYS[i]
  ensure(key)
  local length = redis.call('XLEN', key)
  local summary = redis.call('XPENDING', key, ARGV[1])
  local pending = summary[1]
  local parked = 0
  if type(summary[4]) == 'table' then
    for _, c in ipairs(summary[4]) do
      if c[1] == ARGV[2] then parked = tonumber(c[2]) end
    end
  end
  local oldest = ''
  local first = redis.call('XPENDING', key, ARGV[1], '-', '+', 1, ARGV[2])
  if #first > 0 then
    oldest = first[1][1]
  else
    local delivered = '0-0'
    for _, g in ipairs(redis.call('XINFO', 'GROUPS', key)) do
      local info = {}
      for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
      if info['name'] == ARGV[1] then delivered = info['last-delivered-id'] end
    end
    local new = redis.call('XRANGE', key, '(' .. delivered, '+', 'COUNT', 1)
    if #new > 0 then oldest = new[1][1] end
  end
  out[#out + 1] = length - pending + parked
  out[#out + 1] = pending - parked
  out[#out + 1] = oldest
end
return out
"""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _job_id(lane: int, entry_id: str) -> str:
    priority, band = LANES[lane]
    return f"{priority}{f'b{band}' if band else ''}:{entry_id}"


def _entry_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class RedisJudgeQueue:
    """:class:`server.queue.JudgeQueue` on Redis Streams; see the module docstring."""

    def __init__(self, redis: Redis, prefix: str = "podium:") -> None:
        self._redis = redis
        base = f"{prefix}queue:{{q}}:"
        self._streams = [f"{base}p{priority}" + (f"b{band}" if band else "")
                         for priority, band in LANES]
        self._wake = f"{base}wake"
        self._claim_script = redis.register_script(_CLAIM)
        self._reclaim_script = redis.register_script(_RECLAIM)
        self._heartbeat_script = redis.register_script(_HEARTBEAT)
        self._ack_script = redis.register_script(_ACK)
        self._stats_script = redis.register_script(_STATS)

    @property
    def keys(self) -> list[str]:
        """Every Redis key the queue uses."""
        return [*self._streams, self._wake]

    async def enqueue(self, payload: dict[str, Any], *, priority: int = 0, band: int = 0) -> str:
        """``XADD`` the job to its lane's stream; returns ``<priority>[b<band>]:<entry id>``."""
        lane = LANES.index((check_priority(priority), check_band(band)))
        if not isinstance(payload, dict):
            raise TypeError(f"a payload must be a dict, not {type(payload).__name__}")
        entry_id = await self._redis.xadd(self._streams[lane], {"p": json.dumps(payload)})
        return _job_id(lane, _text(entry_id))

    async def claim(self, worker: str, *, timeout: float = 0.0) -> Job | None:
        """Take the next job, waiting up to ``timeout`` seconds (``XREAD BLOCK``)."""
        check_worker(worker)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            reply = await self._claim_script(
                keys=[*self._streams, self._wake], args=[GROUP, worker, RECLAIMED]
            )
            lane = int(reply[0])
            if lane >= 0:
                entry_id, payload, deliveries = _text(reply[1]), reply[2], int(reply[3])
                priority, band = LANES[lane]
                return Job(_job_id(lane, entry_id), json.loads(payload), deliveries, worker,
                           priority, band)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            # BLOCK 0 would wait forever: always at least one millisecond.
            newest = {key: _text(last) for key, last in zip(self.keys, reply[1:], strict=True)}
            await self._redis.xread(newest, count=1, block=max(1, math.ceil(remaining * 1000)))

    async def heartbeat(self, job_id: str, worker: str) -> bool:
        """Reset the idle time of the job's pending entry if ``worker`` holds it."""
        parsed = self._parse(job_id)
        if parsed is None:
            return False
        key, entry_id = parsed
        return bool(await self._heartbeat_script(keys=[key], args=[GROUP, entry_id, worker]))

    async def ack(self, job_id: str) -> bool:
        """``XACK`` and ``XDEL`` the job's entry."""
        parsed = self._parse(job_id)
        if parsed is None:
            return False
        key, entry_id = parsed
        return bool(await self._ack_script(keys=[key], args=[GROUP, entry_id]))

    async def reclaim(self, lease_seconds: float) -> int:
        """Move entries idle for at least ``lease_seconds`` to the reclaimed consumer."""
        min_idle_ms = max(0, math.ceil(lease_seconds * 1000))
        return int(
            await self._reclaim_script(
                keys=[*self._streams, self._wake], args=[GROUP, min_idle_ms, RECLAIMED]
            )
        )

    async def stats(self) -> QueueStats:
        """One atomic snapshot of every stream (ages by the Redis server's clock)."""
        reply = await self._stats_script(keys=self._streams, args=[GROUP, RECLAIMED])
        now_ms = int(reply[0]) * 1000 + int(reply[1]) / 1000
        waiting = in_progress = 0
        oldest_ms: int | None = None
        for i in range(2, len(reply), 3):
            waiting += int(reply[i])
            in_progress += int(reply[i + 1])
            oldest_id = _text(reply[i + 2])
            if oldest_id:
                ms = _entry_ms(oldest_id)
                oldest_ms = ms if oldest_ms is None else min(oldest_ms, ms)
        age = None if oldest_ms is None else max(0.0, (now_ms - oldest_ms) / 1000)
        return QueueStats(waiting=waiting, in_progress=in_progress, oldest_waiting_seconds=age)

    async def purge(self) -> None:
        """Delete the streams (with their group) and the wake-up stream."""
        await self._redis.delete(*self.keys)

    def _parse(self, job_id: str) -> tuple[str, str] | None:
        match = _JOB_ID.match(job_id) if isinstance(job_id, str) else None
        if match is None or (match.group(2) is not None and int(match.group(2)) == 0):
            return None  # band 0 is spelt without "b0"
        lane = (int(match.group(1)), int(match.group(2) or 0))
        if lane not in LANES:
            return None
        return self._streams[LANES.index(lane)], match.group(3)
