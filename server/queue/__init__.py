"""The durable judge queue: at-least-once delivery of judging jobs to workers, with leases.

Two implementations behind one :class:`JudgeQueue` protocol:

- :class:`server.queue.memory.MemoryJudgeQueue` for the embedded mode (one process);
- :class:`server.queue.redis.RedisJudgeQueue` for production (Redis Streams, a consumer group).

Life of a job: :meth:`~JudgeQueue.enqueue` makes it *waiting*; :meth:`~JudgeQueue.claim` hands
it to one worker (*in progress*, ``attempts`` counts deliveries); the worker renews its lease
with :meth:`~JudgeQueue.heartbeat` and finishes with :meth:`~JudgeQueue.ack`. A supervisor
calls :meth:`~JudgeQueue.reclaim` periodically: jobs whose worker was silent for longer than the
lease become waiting again and go to the next claimer, ahead of newer jobs of their band.
A job is therefore delivered at least once; handlers must be idempotent (check ``attempts``).

Order: a job has a *priority* (:data:`HIGH` contest work, :data:`LOW` practice) and a *band*
(0 … :data:`BANDS` - 1) inside it. Claims take the lowest (priority, band) that has a waiting
job, and the earliest enqueued job inside it; a reclaimed job keeps its priority, band and place.
:func:`band_for` is the policy the server uses: a team with fewer pending submissions first,
rejudges after every fresh submission of their priority.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "BANDS",
    "HIGH",
    "LANES",
    "LOW",
    "PENDING_BANDS",
    "PRIORITIES",
    "REJUDGE_BAND",
    "Job",
    "JudgeQueue",
    "QueueStats",
    "band_for",
    "check_band",
    "check_priority",
    "check_worker",
    "make_queue",
]

HIGH = 0
"""Priority of contest submissions: always claimed before any :data:`LOW` job."""
LOW = 1
"""Priority of practice submissions."""
PRIORITIES = (HIGH, LOW)

BANDS = 5
"""Bands inside each priority; band 0 is claimed first."""
PENDING_BANDS = 4
"""Bands 0-3: a fresh submission's band is its team's other pending submissions, capped at 3."""
REJUDGE_BAND = 4
"""The band of rejudges: after every fresh submission of the same priority."""
LANES = tuple((priority, band) for priority in PRIORITIES for band in range(BANDS))
"""Every (priority, band) in claim order."""


def band_for(*, pending: int = 0, rejudge: bool = False) -> int:
    """The band of a job: :data:`REJUDGE_BAND` for a rejudge, else ``min(pending, 3)`` where
    ``pending`` counts the team's submissions still waiting for their first verdict."""
    if rejudge:
        return REJUDGE_BAND
    return min(max(pending, 0), PENDING_BANDS - 1)


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery of a job to a worker."""

    id: str
    """Opaque job id, the same on every delivery; pass it to heartbeat/ack."""
    payload: dict[str, Any]
    """The JSON payload given to :meth:`JudgeQueue.enqueue` (a fresh copy)."""
    attempts: int
    """Deliveries so far, this one included: 1 on the first claim."""
    worker: str
    """The worker that holds the job."""
    priority: int = HIGH
    """The priority it was enqueued with."""
    band: int = 0
    """The band it was enqueued with (kept when it is reclaimed)."""


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A snapshot of the queue."""

    waiting: int
    """Jobs that can be claimed now (new and reclaimed ones)."""
    in_progress: int
    """Jobs held by a worker and not acknowledged."""
    oldest_waiting_seconds: float | None
    """Seconds since the oldest waiting job was enqueued; None when nothing waits."""


@runtime_checkable
class JudgeQueue(Protocol):
    """At-least-once job queue with two priorities of :data:`BANDS` bands each, long-poll
    claims and leases."""

    async def enqueue(self, payload: dict[str, Any], *, priority: int = HIGH,
                      band: int = 0) -> str:
        """Add a job; ``priority`` is :data:`HIGH` (0, contest) or :data:`LOW` (1, practice),
        ``band`` 0 … :data:`BANDS` - 1 orders jobs inside a priority (0 first).

        Returns the job id. Raises ``TypeError``/``ValueError`` for a payload that is not a
        JSON-serialisable dict, ``ValueError`` for another priority or band.
        """
        ...

    async def claim(self, worker: str, *, timeout: float = 0.0) -> Job | None:
        """Take the next job for ``worker``, waiting up to ``timeout`` seconds for one.

        High priority first, then the lowest band; within a band, the earliest enqueued first
        (a reclaimed job keeps its band and place). ``timeout=0`` never waits. Returns None
        when nothing came in time.
        """
        ...

    async def heartbeat(self, job_id: str, worker: str) -> bool:
        """Renew the lease of a job ``worker`` holds; False if it no longer holds it."""
        ...

    async def ack(self, job_id: str) -> bool:
        """Mark a delivered job done and forget it; True if this call did it.

        Also accepts a job reclaimed since its delivery (its work is done: no need to run it
        again). False, changing nothing, for an unknown id, a job acked already (so a second
        ack is harmless) or a job never claimed.
        """
        ...

    async def reclaim(self, lease_seconds: float) -> int:
        """Make claimable again every job whose last claim or heartbeat is at least
        ``lease_seconds`` old; returns how many. Their next delivery counts one more attempt."""
        ...

    async def stats(self) -> QueueStats:
        """Counts of waiting and in-progress jobs and the age of the oldest waiting one."""
        ...

    async def purge(self) -> None:
        """Drop every job, waiting or in progress (tests, rebuilds)."""
        ...


def check_priority(priority: int) -> int:
    """``priority`` if it is :data:`HIGH` or :data:`LOW`, else ``ValueError``."""
    if priority not in PRIORITIES or isinstance(priority, bool):
        raise ValueError(f"priority must be {HIGH} (high) or {LOW} (low), not {priority!r}")
    return priority


def check_band(band: int) -> int:
    """``band`` if it is an int in 0 … :data:`BANDS` - 1, else ``ValueError``."""
    if not isinstance(band, int) or isinstance(band, bool) or not 0 <= band < BANDS:
        raise ValueError(f"band must be an int from 0 to {BANDS - 1}, not {band!r}")
    return band


def check_worker(worker: str) -> str:
    """``worker`` if it is a usable worker name, else ``ValueError``.

    Names starting with ``~`` are reserved for the queue's own bookkeeping.
    """
    if not isinstance(worker, str) or not worker or worker.startswith("~"):
        raise ValueError(
            f"a worker name must be a non-empty string not starting with '~', not {worker!r}"
        )
    return worker


def make_queue(redis: Redis | None, prefix: str = "podium:") -> JudgeQueue:
    """The Redis Streams queue when a client is given, else the in-memory queue.

    The Redis queue keeps its keys under ``<prefix>queue:`` and does not close the client.
    """
    if redis is None:
        from server.queue.memory import MemoryJudgeQueue

        return MemoryJudgeQueue()
    from server.queue.redis import RedisJudgeQueue

    return RedisJudgeQueue(redis, prefix)
