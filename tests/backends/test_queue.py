"""The judge queue, against the memory and the Redis implementation."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from server.queue import (
    BANDS,
    HIGH,
    LOW,
    REJUDGE_BAND,
    JudgeQueue,
    QueueStats,
    band_for,
    make_queue,
)
from server.queue.memory import MemoryJudgeQueue
from server.queue.redis import RedisJudgeQueue
from tests.backends.conftest import Backend, RedisFactory

__all__: list[str] = []

LEASE = 0.1
"""A lease short enough for tests; sleeping ``EXPIRE`` lets it lapse."""
EXPIRE = 0.2


@pytest.fixture
async def queue(backend: Backend) -> AsyncIterator[JudgeQueue]:
    yield make_queue(backend.redis, backend.prefix)


async def claim_ids(queue: JudgeQueue, worker: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        job = await queue.claim(worker)
        assert job is not None
        ids.append(job.id)
    return ids


def test_factory_picks_the_implementation(redis_client: object) -> None:
    assert isinstance(make_queue(None, "x:"), MemoryJudgeQueue)
    assert isinstance(make_queue(redis_client, "x:"), RedisJudgeQueue)  # type: ignore[arg-type]
    assert isinstance(make_queue(None, "x:"), JudgeQueue)


async def test_first_claim(queue: JudgeQueue) -> None:
    payload = {"submission": 42, "files": ["a.py"], "limits": {"time": 1.5}, "note": "é"}
    job_id = await queue.enqueue(payload)
    job = await queue.claim("w1")
    assert job is not None
    assert (job.id, job.payload, job.attempts, job.worker) == (job_id, payload, 1, "w1")
    assert await queue.claim("w2") is None


async def test_high_priority_first_then_fifo(queue: JudgeQueue) -> None:
    low_a = await queue.enqueue({"n": "low a"}, priority=LOW)
    high_a = await queue.enqueue({"n": "high a"}, priority=HIGH)
    low_b = await queue.enqueue({"n": "low b"}, priority=LOW)
    high_b = await queue.enqueue({"n": "high b"})
    high_c = await queue.enqueue({"n": "high c"}, priority=0)
    assert len({low_a, high_a, low_b, high_b, high_c}) == 5
    assert await claim_ids(queue, "w", 5) == [high_a, high_b, high_c, low_a, low_b]
    assert await queue.claim("w") is None


async def test_timeout_zero_returns_at_once(queue: JudgeQueue) -> None:
    started = time.monotonic()
    assert await queue.claim("w", timeout=0) is None
    assert await queue.claim("w") is None
    assert time.monotonic() - started < 0.5  # no long poll (a loaded machine: margin)


async def test_long_poll_times_out(queue: JudgeQueue) -> None:
    started = time.monotonic()
    assert await queue.claim("w", timeout=0.3) is None
    assert 0.29 <= time.monotonic() - started < 1.0


async def test_long_poll_wakes_up_on_enqueue(queue: JudgeQueue) -> None:
    waiter = asyncio.create_task(queue.claim("w", timeout=10))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    started = time.monotonic()
    job_id = await queue.enqueue({"n": 1}, priority=LOW)
    job = await asyncio.wait_for(waiter, 10)
    assert time.monotonic() - started < 1.0
    assert job is not None and job.id == job_id


async def test_cancelled_long_poll_loses_no_job(queue: JudgeQueue) -> None:
    waiter = asyncio.create_task(queue.claim("w1", timeout=10))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    job_id = await queue.enqueue({"n": 1})
    job = await queue.claim("w2", timeout=1)
    assert job is not None and (job.id, job.attempts, job.worker) == (job_id, 1, "w2")


async def test_long_poll_wakes_up_on_reclaim(queue: JudgeQueue) -> None:
    job_id = await queue.enqueue({"n": 1})
    await queue.claim("crashed")
    waiter = asyncio.create_task(queue.claim("w2", timeout=10))
    await asyncio.sleep(0.1)
    assert not waiter.done()
    started = time.monotonic()
    assert await queue.reclaim(0) == 1
    job = await asyncio.wait_for(waiter, 10)
    assert time.monotonic() - started < 1.0
    assert job is not None and (job.id, job.attempts, job.worker) == (job_id, 2, "w2")


async def test_each_job_goes_to_one_of_many_waiting_workers(queue: JudgeQueue) -> None:
    workers = [asyncio.create_task(queue.claim(f"w{i}", timeout=0.5)) for i in range(4)]
    await asyncio.sleep(0.05)
    ids = [await queue.enqueue({"n": n}) for n in range(2)]
    jobs = await asyncio.gather(*workers)
    got = [job.id for job in jobs if job is not None]
    assert sorted(got) == sorted(ids)
    assert sum(job is None for job in jobs) == 2


async def test_concurrent_workers_never_share_a_delivery(queue: JudgeQueue) -> None:
    ids = {await queue.enqueue({"n": n}, priority=n % 2) for n in range(60)}
    seen: Counter[str] = Counter()

    async def work(worker: str) -> None:
        while (job := await queue.claim(worker, timeout=0.05)) is not None:
            seen[job.id] += 1
            assert job.attempts == 1
            assert await queue.ack(job.id)

    await asyncio.gather(*(work(f"w{i}") for i in range(6)))
    assert set(seen) == ids
    assert set(seen.values()) == {1}
    assert await queue.stats() == QueueStats(0, 0, None)


async def test_lease_expiry_reclaim_and_another_worker(queue: JudgeQueue) -> None:
    job_id = await queue.enqueue({"n": 1})
    first = await queue.claim("w1")
    assert first is not None and first.attempts == 1
    assert await queue.reclaim(LEASE) == 0  # still fresh
    await asyncio.sleep(EXPIRE)
    assert await queue.reclaim(LEASE) == 1
    assert await queue.reclaim(LEASE) == 0  # counted once
    second = await queue.claim("w2")
    assert second is not None
    assert (second.id, second.payload, second.attempts) == (job_id, {"n": 1}, 2)
    assert second.worker == "w2"
    assert not await queue.heartbeat(job_id, "w1")
    assert await queue.heartbeat(job_id, "w2")
    await asyncio.sleep(EXPIRE)
    assert await queue.reclaim(LEASE) == 1
    third = await queue.claim("w3")
    assert third is not None and (third.attempts, third.worker) == (3, "w3")
    assert await queue.ack(job_id)
    assert await queue.claim("w1") is None


async def test_heartbeat_keeps_the_lease(queue: JudgeQueue) -> None:
    job_id = await queue.enqueue({"n": 1})
    assert await queue.claim("w1") is not None
    for _ in range(4):  # 4 x 0.06 s > LEASE: only the heartbeats keep it
        await asyncio.sleep(0.06)
        assert await queue.heartbeat(job_id, "w1")
        assert await queue.reclaim(LEASE) == 0
    assert not await queue.heartbeat(job_id, "w2")  # not the holder: no takeover
    await asyncio.sleep(EXPIRE)
    assert await queue.reclaim(LEASE) == 1
    assert not await queue.heartbeat(job_id, "w1")


async def test_reclaimed_job_keeps_its_place(queue: JudgeQueue) -> None:
    old = await queue.enqueue({"n": "old"})
    newer = await queue.enqueue({"n": "newer"})
    low = await queue.enqueue({"n": "low"}, priority=LOW)
    assert (await queue.claim("w1")).id == old  # type: ignore[union-attr]
    assert await queue.reclaim(0) == 1
    again = await queue.claim("w2")
    assert again is not None and (again.id, again.attempts) == (old, 2)
    assert await claim_ids(queue, "w2", 2) == [newer, low]


async def test_reclaimed_high_job_before_new_high_and_low(queue: JudgeQueue) -> None:
    low = await queue.enqueue({"n": "low"}, priority=LOW)
    assert (await queue.claim("w1")).id == low  # type: ignore[union-attr]
    high = await queue.enqueue({"n": "high"})
    assert (await queue.claim("w1")).id == high  # type: ignore[union-attr]
    fresh = await queue.enqueue({"n": "fresh"})
    assert await queue.reclaim(0) == 2
    assert await claim_ids(queue, "w2", 3) == [high, fresh, low]


async def test_ack(queue: JudgeQueue) -> None:
    job_id = await queue.enqueue({"n": 1})
    assert not await queue.ack(job_id)  # never claimed: stays queued
    assert await queue.claim("w") is not None
    assert await queue.ack(job_id)
    assert not await queue.ack(job_id)  # second ack
    assert not await queue.heartbeat(job_id, "w")
    assert await queue.reclaim(0) == 0
    assert await queue.claim("w") is None
    assert not await queue.ack("no-such-job")
    assert not await queue.ack("0:1-0")
    assert not await queue.heartbeat("garbage", "w")


async def test_ack_of_a_reclaimed_job_finishes_it(queue: JudgeQueue) -> None:
    job_id = await queue.enqueue({"n": 1})
    await queue.claim("slow")
    assert await queue.reclaim(0) == 1
    assert (await queue.stats()).waiting == 1
    assert await queue.ack(job_id)  # the slow worker finished after all
    assert await queue.stats() == QueueStats(0, 0, None)
    assert await queue.claim("w") is None


async def test_stats(queue: JudgeQueue) -> None:
    empty = await queue.stats()
    assert (empty.waiting, empty.in_progress, empty.oldest_waiting_seconds) == (0, 0, None)
    first = await queue.enqueue({"n": 1}, priority=LOW)
    await asyncio.sleep(0.3)
    await queue.enqueue({"n": 2})
    await queue.enqueue({"n": 3})
    stats = await queue.stats()
    assert (stats.waiting, stats.in_progress) == (3, 0)
    assert stats.oldest_waiting_seconds is not None
    assert 0.28 <= stats.oldest_waiting_seconds < 2.0

    high = await queue.claim("w")
    assert high is not None and high.payload == {"n": 2}
    stats = await queue.stats()
    assert (stats.waiting, stats.in_progress) == (2, 1)
    assert stats.oldest_waiting_seconds is not None and stats.oldest_waiting_seconds >= 0.28

    assert await queue.ack(high.id)
    await queue.claim("w")
    stats = await queue.stats()
    assert (stats.waiting, stats.in_progress) == (1, 1)

    low = await queue.claim("w")
    assert low is not None and low.id == first
    stats = await queue.stats()
    assert (stats.waiting, stats.in_progress, stats.oldest_waiting_seconds) == (0, 2, None)

    assert await queue.reclaim(0) == 2
    stats = await queue.stats()
    assert (stats.waiting, stats.in_progress) == (2, 0)
    assert stats.oldest_waiting_seconds is not None and stats.oldest_waiting_seconds >= 0.28


async def test_purge(queue: JudgeQueue) -> None:
    await queue.enqueue({"n": 1})
    await queue.enqueue({"n": 2}, priority=LOW)
    held = await queue.claim("w")
    assert held is not None
    await queue.purge()
    assert await queue.stats() == QueueStats(0, 0, None)
    assert await queue.claim("w") is None
    assert not await queue.ack(held.id)
    assert await queue.reclaim(0) == 0
    job_id = await queue.enqueue({"n": 3})  # usable again
    job = await queue.claim("w", timeout=1)
    assert job is not None and (job.id, job.attempts) == (job_id, 1)


async def test_validation(queue: JudgeQueue) -> None:
    for priority in (2, -1, True):
        with pytest.raises(ValueError):
            await queue.enqueue({}, priority=priority)
    with pytest.raises(TypeError):
        await queue.enqueue({"x": {1, 2}})
    with pytest.raises(TypeError):
        await queue.enqueue(["x"])  # type: ignore[arg-type]
    for worker in ("", "~reclaimed"):
        with pytest.raises(ValueError):
            await queue.claim(worker)
    assert await queue.stats() == QueueStats(0, 0, None)


async def test_redis_queue_is_shared_by_instances_and_clients(
    redis_client: object, redis_factory: RedisFactory, redis_prefix: str
) -> None:
    producer = RedisJudgeQueue(redis_client, redis_prefix)  # type: ignore[arg-type]
    worker_side = RedisJudgeQueue(await redis_factory(decode_responses=True), redis_prefix)
    elsewhere = RedisJudgeQueue(redis_client, redis_prefix + "other:")  # type: ignore[arg-type]
    waiter = asyncio.create_task(worker_side.claim("remote", timeout=5))
    await asyncio.sleep(0.05)
    await elsewhere.enqueue({"n": "another installation"})
    job_id = await producer.enqueue({"n": 1})
    job = await asyncio.wait_for(waiter, 5)
    assert job is not None and (job.id, job.payload, job.worker) == (job_id, {"n": 1}, "remote")
    assert await worker_side.heartbeat(job_id, "remote")
    assert await producer.reclaim(0) == 1
    again = await worker_side.claim("other")
    assert again is not None and again.attempts == 2
    assert await producer.ack(job_id)
    assert (await elsewhere.stats()).waiting == 1


async def test_redis_claim_timeout_zero_never_blocks(
    redis_client: object, redis_prefix: str
) -> None:
    queue = RedisJudgeQueue(redis_client, redis_prefix)  # type: ignore[arg-type]
    started = time.monotonic()
    for _ in range(5):
        assert await queue.claim("w", timeout=0) is None
        assert await queue.claim("w", timeout=-1) is None
    assert time.monotonic() - started < 0.5


# ------------------------------------------------------------------ priority bands


async def test_fewer_pending_first(queue: JudgeQueue) -> None:
    """A team with 5 pending submissions and a team with 1: the second team's job goes first."""
    busy = await queue.enqueue({"team": "busy"}, band=band_for(pending=5))
    quiet = await queue.enqueue({"team": "quiet"}, band=band_for(pending=1))
    job = await queue.claim("w")
    assert job is not None and (job.id, job.band) == (quiet, 1)
    job = await queue.claim("w")
    assert job is not None and (job.id, job.band) == (busy, 3)


def test_band_policy() -> None:
    assert [band_for(pending=n) for n in range(7)] == [0, 1, 2, 3, 3, 3, 3]
    assert band_for(pending=-1) == 0
    assert band_for(pending=0, rejudge=True) == REJUDGE_BAND == BANDS - 1


async def test_contest_before_practice_whatever_the_band(queue: JudgeQueue) -> None:
    practice = await queue.enqueue({"n": "practice"}, priority=LOW, band=0)
    rejudge = await queue.enqueue({"n": "contest rejudge"}, band=REJUDGE_BAND)
    busy = await queue.enqueue({"n": "contest, busy team"}, band=band_for(pending=9))
    fresh = await queue.enqueue({"n": "contest, fresh"})
    assert await claim_ids(queue, "w", 4) == [fresh, busy, rejudge, practice]


async def test_fifo_inside_a_band(queue: JudgeQueue) -> None:
    ids = [await queue.enqueue({"n": n}, band=2) for n in range(5)]
    other = await queue.enqueue({"n": "other band"}, band=3)
    assert await claim_ids(queue, "w", 6) == [*ids, other]


async def test_every_lane_is_distinct_and_ordered(queue: JudgeQueue) -> None:
    lanes = [(priority, band) for priority in (LOW, HIGH) for band in reversed(range(BANDS))]
    ids = {await queue.enqueue({"lane": list(lane)}, priority=lane[0], band=lane[1]): lane
           for lane in lanes}
    assert len(ids) == 2 * BANDS
    got = []
    while (job := await queue.claim("w")) is not None:
        assert (job.priority, job.band) == tuple(job.payload["lane"]) == ids[job.id]
        assert await queue.heartbeat(job.id, "w")
        got.append((job.priority, job.band))
    assert got == sorted(lanes)
    assert (await queue.stats()).in_progress == 2 * BANDS


async def test_reclaimed_jobs_keep_their_band(queue: JudgeQueue) -> None:
    held = await queue.enqueue({"n": "held"}, band=2)
    assert (await queue.claim("crashed")).id == held  # type: ignore[union-attr]
    later = await queue.enqueue({"n": "later, same band"}, band=2)
    better = await queue.enqueue({"n": "better band"}, band=1)
    worse = await queue.enqueue({"n": "worse band"}, band=3)
    practice = await queue.enqueue({"n": "practice"}, priority=LOW)
    assert await queue.reclaim(0) == 1
    jobs = []
    while (job := await queue.claim("w2")) is not None:
        jobs.append(job)
    assert [j.id for j in jobs] == [better, held, later, worse, practice]
    again = jobs[1]
    assert (again.band, again.priority, again.attempts) == (2, HIGH, 2)
    assert await queue.ack(held) and not await queue.heartbeat(held, "crashed")


async def test_long_poll_wakes_up_for_any_band(queue: JudgeQueue) -> None:
    waiter = asyncio.create_task(queue.claim("w", timeout=10))
    await asyncio.sleep(0.1)
    job_id = await queue.enqueue({"n": 1}, priority=LOW, band=REJUDGE_BAND)
    job = await asyncio.wait_for(waiter, 10)
    assert job is not None and (job.id, job.priority, job.band) == (job_id, LOW, REJUDGE_BAND)


async def test_band_validation_and_foreign_ids(queue: JudgeQueue) -> None:
    for band in (BANDS, -1, True, 1.0, "1"):
        with pytest.raises(ValueError):
            await queue.enqueue({}, band=band)  # type: ignore[arg-type]
    job_id = await queue.enqueue({"n": 1}, band=3)
    for bogus in ("0b0:1-0", "0b9:1-0", "7b1:1-0", "0b3:", job_id + "x"):
        assert not await queue.ack(bogus)
        assert not await queue.heartbeat(bogus, "w")
    stats = await queue.stats()
    assert (stats.waiting, stats.in_progress) == (1, 0)


async def test_memory_job_ids_differ_between_instances() -> None:
    """Job ids are judging idempotency keys: a restarted embedded server must not reuse them."""
    first, second = MemoryJudgeQueue(), MemoryJudgeQueue()
    assert await first.enqueue({"n": 1}) != await second.enqueue({"n": 1})


async def test_redis_band_zero_keeps_the_old_key_and_id_format(
    redis_client: object, redis_prefix: str
) -> None:
    queue = RedisJudgeQueue(redis_client, redis_prefix)  # type: ignore[arg-type]
    assert queue.keys[0] == f"{redis_prefix}queue:{{q}}:p0"
    assert queue.keys[BANDS] == f"{redis_prefix}queue:{{q}}:p1"
    assert queue.keys[REJUDGE_BAND] == f"{redis_prefix}queue:{{q}}:p0b{REJUDGE_BAND}"
    assert len(queue.keys) == 2 * BANDS + 1
    plain = await queue.enqueue({"n": 1})
    banded = await queue.enqueue({"n": 2}, priority=LOW, band=2)
    assert plain.startswith("0:") and banded.startswith("1b2:")
    claimed = [await queue.claim("w"), await queue.claim("w")]
    assert [j.id for j in claimed if j is not None] == [plain, banded]
    assert await queue.ack(plain) and await queue.ack(banded)
