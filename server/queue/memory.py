"""In-process judge queue for the embedded mode (one process, one event loop).

Jobs live in a dict; each lane (priority, band) keeps a heap of waiting jobs ordered by enqueue
sequence, so a reclaimed job goes back ahead of newer jobs of its band, as on Redis. Heap items of
jobs acknowledged after a reclaim go stale and are skipped lazily. Long-poll
claimers wait on futures that :meth:`MemoryJudgeQueue.enqueue` and
:meth:`MemoryJudgeQueue.reclaim` resolve; nothing polls. Nothing survives a restart, so job
ids carry a random token of the instance: a job id is never reused by the next process (it is
the idempotency key of a judging).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import secrets
import time
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from server.queue import LANES, Job, QueueStats, check_band, check_priority, check_worker

__all__ = ["MemoryJudgeQueue"]


@dataclass(slots=True)
class _Entry:
    seq: int
    lane: int
    """Index in :data:`server.queue.LANES`."""
    data: str
    enqueued_at: float
    attempts: int = 0
    worker: str | None = None
    """The holder while in progress; None while waiting."""
    renewed_at: float = 0.0


class MemoryJudgeQueue:
    """:class:`server.queue.JudgeQueue` on asyncio primitives; see :mod:`server.queue`."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (seconds, monotonic) is replaceable for tests."""
        self._clock = clock
        self._seq = itertools.count(1)
        self._run = secrets.token_hex(4)
        self._jobs: dict[str, _Entry] = {}
        self._waiting: list[list[tuple[int, str]]] = [[] for _ in LANES]
        self._waiting_count = 0
        self._waiters: set[asyncio.Future[None]] = set()

    async def enqueue(self, payload: dict[str, Any], *, priority: int = 0, band: int = 0) -> str:
        """Add a job; returns its id, ``<priority>b<band>-<instance token>-<sequence>``."""
        lane = LANES.index((check_priority(priority), check_band(band)))
        if not isinstance(payload, dict):
            raise TypeError(f"a payload must be a dict, not {type(payload).__name__}")
        data = json.dumps(payload)
        seq = next(self._seq)
        job_id = f"{priority}b{band}-{self._run}-{seq}"
        self._jobs[job_id] = _Entry(seq, lane, data, self._clock())
        heapq.heappush(self._waiting[lane], (seq, job_id))
        self._waiting_count += 1
        self._wake()
        return job_id

    async def claim(self, worker: str, *, timeout: float = 0.0) -> Job | None:
        """Take the next job, waiting up to ``timeout`` seconds."""
        check_worker(worker)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            job = self._take(worker)
            if job is not None:
                return job
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            waiter = loop.create_future()
            self._waiters.add(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)

    async def heartbeat(self, job_id: str, worker: str) -> bool:
        """Renew the lease if ``worker`` holds the job."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.worker is None or entry.worker != worker:
            return False
        entry.renewed_at = self._clock()
        return True

    async def ack(self, job_id: str) -> bool:
        """Forget a delivered job (in progress, or reclaimed since)."""
        entry = self._jobs.get(job_id)
        if entry is None or entry.attempts == 0:
            return False
        del self._jobs[job_id]
        if entry.worker is None:
            self._waiting_count -= 1  # its heap item goes stale; _head() skips it
        return True

    async def reclaim(self, lease_seconds: float) -> int:
        """Put back every in-progress job silent for at least ``lease_seconds``."""
        now = self._clock()
        count = 0
        for job_id, entry in self._jobs.items():
            if entry.worker is not None and now - entry.renewed_at >= lease_seconds:
                entry.worker = None
                heapq.heappush(self._waiting[entry.lane], (entry.seq, job_id))
                count += 1
        self._waiting_count += count
        if count:
            self._wake()
        return count

    async def stats(self) -> QueueStats:
        """Waiting and in-progress counts, age of the oldest waiting job."""
        heads = [self._head(lane) for lane in range(len(LANES))]
        times = [self._jobs[job_id].enqueued_at for job_id in heads if job_id is not None]
        return QueueStats(
            waiting=self._waiting_count,
            in_progress=len(self._jobs) - self._waiting_count,
            oldest_waiting_seconds=self._clock() - min(times) if times else None,
        )

    async def purge(self) -> None:
        """Drop every job."""
        self._jobs.clear()
        for heap in self._waiting:
            heap.clear()
        self._waiting_count = 0

    def _take(self, worker: str) -> Job | None:
        for lane, (priority, band) in enumerate(LANES):
            job_id = self._head(lane)
            if job_id is not None:
                heapq.heappop(self._waiting[lane])
                self._waiting_count -= 1
                entry = self._jobs[job_id]
                entry.worker = worker
                entry.attempts += 1
                entry.renewed_at = self._clock()
                return Job(job_id, json.loads(entry.data), entry.attempts, worker, priority, band)
        return None

    def _head(self, lane: int) -> str | None:
        """The first waiting job of a lane, after dropping stale heap items."""
        heap = self._waiting[lane]
        while heap:
            job_id = heap[0][1]
            entry = self._jobs.get(job_id)
            if entry is not None and entry.worker is None:
                return job_id
            heapq.heappop(heap)
        return None

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
