"""Rejudging (one submission, a problem, a contest, by verdict) and the judge queue's priority.

Judge hosts are driven through the same actions the judge API calls (claim_job, finish_job),
on a real database (SQLite and PostgreSQL) and the in-memory queue.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from server import actions
from server.actions.errors import Invalid, NotFound
from server.actions.judging import (
    MAX_JUDGE_ATTEMPTS,
    claim_job,
    create_judge_host,
    finish_job,
    judgings_of,
    list_rejudgings,
    rejudge,
    requeue_unjudged,
)
from server.judge_protocol import JudgeResult
from server.models import AuditEntry, Judging, JudgeHost, Rejudging, Submission
from server.queue import HIGH, LOW, REJUDGE_BAND
from server.services import Services
from tests.factories import World, make_world, solve


async def _submit(services: Services, world: World, team: int, label: str = "A") -> Submission:
    return await actions.submit(
        services, contest=world.contest.id, team_id=world.teams[team].id, problem=label,
        language="python3", files={"main.py": b"print(1)\n"}, user=world.users[team])


async def _judge(services: Services, host: JudgeHost, verdict: str) -> Any:
    """Claim the next job and post ``verdict`` for it; returns the job."""
    job = await claim_job(services, host, timeout=0)
    assert job is not None
    await finish_job(services, host, job.job_id,
                     JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                                 verdict=verdict))
    return job


async def _solved(services: Services, world: World, team: int) -> int:
    board = await actions.scoreboard(services, world.contest, public=False)
    row = next(r for r in board.rows if r.team.id == world.teams[team].id)
    return sum(cell.solved for cell in row.cells)


async def _get(services: Services, model: Any, ident: int) -> Any:
    async with services.db.session() as session:
        return await session.get(model, ident)


async def _history(services: Services, submission_id: int) -> list[tuple[str | None, bool]]:
    return [(j.verdict, j.is_current) for j in await judgings_of(services, submission_id)]


async def test_an_accepted_submission_rejudged_wrong_loses_its_solve(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await _submit(services, world, 0)
    first = await _judge(services, host, "AC")
    assert await _solved(services, world, 0) == 1

    rejudging = await rejudge(services, "spring", submission_id=sub.id, reason="new tests",
                              actor=world.admin)
    assert (rejudging.submission_count, rejudging.reason, rejudging.created_by) == (
        1, "new tests", world.admin.id)
    assert rejudging.finished_at is None
    stored = await _get(services, Submission, sub.id)
    assert (stored.status, stored.verdict) == ("queued", "AC")  # the verdict stays until...
    assert await _solved(services, world, 0) == 1

    second = await _judge(services, host, "WA")
    assert second.job_id != first.job_id
    stored = await _get(services, Submission, sub.id)
    assert (stored.status, stored.verdict) == ("judged", "WA")  # ...the new one arrives
    assert await _solved(services, world, 0) == 0
    assert await _history(services, sub.id) == [("WA", True), ("AC", False)]
    newest = (await judgings_of(services, sub.id))[0]
    assert (newest.rejudging_id, newest.job_key, newest.judge_host) == (
        rejudging.id, second.job_id, "judge-1")
    assert stored.current_judging_id == newest.id
    assert (await _get(services, Rejudging, rejudging.id)).finished_at is not None

    [summary] = await list_rejudgings(services, "spring")
    assert (summary.judged, summary.pending, summary.changes) == (1, 0, {"AC->WA": 1})
    async with services.db.session() as session:
        entry = (await session.exec(select(AuditEntry).where(
            AuditEntry.action == "judging.rejudge"))).one()
    assert (entry.actor_id, entry.object_id, entry.data["submissions"]) == (
        world.admin.id, str(rejudging.id), [sub.id])


async def test_a_wrong_answer_rejudged_accepted_gains_the_solve(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await solve(services, world, 1, "B", "WA", 10)
    assert await _solved(services, world, 1) == 0
    await rejudge(services, world.contest.id, problem="B")
    await _judge(services, host, "AC")
    assert await _solved(services, world, 1) == 1
    assert await _history(services, sub.id) == [("AC", True), ("WA", False)]


async def test_a_late_result_of_the_old_job_never_overwrites(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    slow, _ = await create_judge_host(services, "judge-slow")
    sub = await _submit(services, world, 0)
    old = await claim_job(services, slow, timeout=0)  # judging when the rejudge comes
    assert old is not None
    await rejudge(services, "spring", submission_id=sub.id)
    new = await claim_job(services, host, timeout=0)
    assert new is not None and new.job_id != old.job_id and new.submission_id == sub.id

    await finish_job(services, host, new.job_id,
                     JudgeResult(submission_id=sub.id, verdict="WA"))
    await finish_job(services, slow, old.job_id,  # posted late: history only
                     JudgeResult(submission_id=sub.id, verdict="AC"))
    await finish_job(services, slow, old.job_id,  # and posted twice: still once
                     JudgeResult(submission_id=sub.id, verdict="AC"))
    stored = await _get(services, Submission, sub.id)
    assert (stored.status, stored.verdict) == ("judged", "WA")
    assert await _solved(services, world, 0) == 0
    assert sorted(await _history(services, sub.id), key=str) == [("AC", False), ("WA", True)]
    assert (await services.queue.stats()).in_progress == 0


async def test_the_old_result_first_then_the_rejudge_still_decides(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await _submit(services, world, 0)
    old = await claim_job(services, host, timeout=0)
    assert old is not None
    await rejudge(services, "spring", submission_id=sub.id)
    await finish_job(services, host, old.job_id, JudgeResult(submission_id=sub.id, verdict="AC"))
    stored = await _get(services, Submission, sub.id)
    assert (stored.status, stored.verdict) == ("queued", None)  # still waiting for the rejudge
    assert await _solved(services, world, 0) == 0
    await _judge(services, host, "TLE")
    assert (await _get(services, Submission, sub.id)).verdict == "TLE"
    assert await _history(services, sub.id) == [("TLE", True), ("AC", False)]
    [summary] = await list_rejudgings(services, "spring")
    assert (summary.judged, summary.changes) == (1, {})  # it had no verdict when rejudged


async def test_a_job_waiting_when_the_rejudge_came_is_skipped(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await _submit(services, world, 0)  # its first job still waits
    rejudging = await rejudge(services, "spring")
    assert rejudging.submission_count == 1
    job = await claim_job(services, host, timeout=0)
    assert job is not None and job.submission_id == sub.id
    assert await claim_job(services, host, timeout=0) is None  # the first job was dropped
    assert (await services.queue.stats()) .in_progress == 1
    [pending] = await judgings_of(services, sub.id)
    assert (pending.job_key, pending.verdict, pending.rejudging_id) == (
        job.job_id, None, rejudging.id)


async def test_a_second_rejudge_replaces_the_first(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await solve(services, world, 0, "A", "AC", 5)
    first = await rejudge(services, "spring", submission_id=sub.id, reason="one")
    second = await rejudge(services, "spring", submission_id=sub.id, reason="two")
    job = await claim_job(services, host, timeout=0)
    assert job is not None
    assert await claim_job(services, host, timeout=0) is None  # the first rejudge's job: dropped
    assert (await _get(services, Rejudging, first.id)).finished_at is not None  # replaced
    await finish_job(services, host, job.job_id, JudgeResult(submission_id=sub.id, verdict="RTE"))
    assert (await _get(services, Rejudging, second.id)).finished_at is not None
    history = await judgings_of(services, sub.id)
    assert [(j.verdict, j.is_current, j.rejudging_id) for j in history] == [
        ("RTE", True, second.id), (None, False, first.id), ("AC", False, None)]
    assert history[1].error == f"replaced by rejudging {second.id}"
    summaries = {s.rejudging.id: s for s in await list_rejudgings(services, "spring")}
    assert [s.rejudging.id for s in await list_rejudgings(services, "spring")] == [
        second.id, first.id]
    assert (summaries[first.id].judged, summaries[first.id].pending) == (0, 0)
    assert summaries[second.id].changes == {"AC->RTE": 1}


async def test_scopes_and_verdict_filters(services: Services) -> None:
    world = await make_world(services, teams=3)
    subs = {
        "a-ac": await solve(services, world, 0, "A", "AC", 5),
        "a-tle": await solve(services, world, 1, "A", "TLE", 6),
        "b-je": await solve(services, world, 1, "B", "JE", 7),
        "b-wa": await solve(services, world, 2, "B", "WA", 8),
        "b-tle": await solve(services, world, 2, "B", "TLE", 9),
    }
    await services.queue.purge()

    async def queued_ids() -> set[int]:
        async with services.db.session() as session:
            return set(await session.exec(select(Submission.id).where(
                Submission.status == "queued")))

    by_verdict = await rejudge(services, "spring", verdicts=["TLE", "JE", "TLE"])
    assert (by_verdict.submission_count, by_verdict.verdicts) == (3, ["TLE", "JE"])
    assert await queued_ids() == {subs["a-tle"].id, subs["b-je"].id, subs["b-tle"].id}
    assert (await services.queue.stats()).waiting == 3

    by_slug = await rejudge(services, "spring", problem="spring-a", verdicts=["AC"])
    assert (by_slug.submission_count, by_slug.problem_id) == (1, subs["a-ac"].problem_id)
    by_label = await rejudge(services, "spring", problem="B", verdicts=["WA"])
    assert by_label.submission_count == 1
    whole = await rejudge(services, "spring")
    assert whole.submission_count == 5 and whole.problem_id is None

    with pytest.raises(Invalid, match="nothing to rejudge"):
        await rejudge(services, "spring", problem="A", verdicts=["CE"])
    with pytest.raises(Invalid, match="unknown verdict 'XYZ'"):
        await rejudge(services, "spring", verdicts=["XYZ"])
    with pytest.raises(NotFound, match="problem 'Z' is not in contest"):
        await rejudge(services, "spring", problem="Z")
    other = await make_world(services, slug="autumn", teams=1)
    elsewhere = await solve(services, other, 0, "A", "AC", 5)
    with pytest.raises(NotFound, match=f"submission {elsewhere.id} is not in contest"):
        await rejudge(services, "spring", submission_id=elsewhere.id)
    with pytest.raises(NotFound):
        await rejudge(services, "no-such-contest")


async def test_judge_errors_of_a_rejudge_retry_in_its_own_judging(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await solve(services, world, 0, "A", "AC", 5)
    await services.queue.purge()
    rejudging = await rejudge(services, "spring", submission_id=sub.id)
    attempts = []
    for _ in range(MAX_JUDGE_ATTEMPTS):
        job = await _judge(services, host, "JE")
        attempts.append(job.attempt)
    assert attempts == [1, 2, 3]
    assert await claim_job(services, host, timeout=0) is None
    history = await judgings_of(services, sub.id)
    assert [(j.verdict, j.is_current, j.rejudging_id) for j in history] == [
        ("JE", True, rejudging.id), ("AC", False, None)]
    assert (await _get(services, Submission, sub.id)).status == "error"
    assert await _solved(services, world, 0) == 0  # a judge error is never charged, nor solved


async def test_requeue_after_a_lost_queue_keeps_the_rejudges(services: Services) -> None:
    world = await make_world(services)
    host, _ = await create_judge_host(services, "judge-1")
    judged = await solve(services, world, 0, "A", "AC", 5)
    await rejudge(services, "spring", submission_id=judged.id)
    fresh = await _submit(services, world, 1)
    await services.queue.purge()
    assert await requeue_unjudged(services) == 2
    first = await services.queue.claim("w")
    second = await services.queue.claim("w")
    assert first is not None and second is not None
    assert (first.payload["submission_id"], first.band) == (fresh.id, 0)
    assert (second.payload["submission_id"], second.band) == (judged.id, REJUDGE_BAND)
    assert "judging_id" in second.payload and "judging_id" not in first.payload


# ------------------------------------------------------------------ priority


async def _claim_order(services: Services) -> list[int]:
    order = []
    while (job := await services.queue.claim("w")) is not None:
        order.append(job.payload["submission_id"])
    return order


async def test_a_team_with_fewer_pending_submissions_goes_first(services: Services) -> None:
    world = await make_world(services)
    busy = [await _submit(services, world, 0) for _ in range(5)]
    quiet = await _submit(services, world, 1)
    busy_next = await _submit(services, world, 0)  # 5 pending before it: band 3
    quiet_next = await _submit(services, world, 1)  # 1 pending before it: band 1
    order = await _claim_order(services)
    assert order.index(quiet_next.id) < order.index(busy_next.id)
    assert order == [busy[0].id, quiet.id, busy[1].id, quiet_next.id, busy[2].id,
                     busy[3].id, busy[4].id, busy_next.id]


async def test_judged_and_rejudged_submissions_are_not_pending(services: Services) -> None:
    world = await make_world(services)
    for minutes in range(4):
        await solve(services, world, 0, "A", "WA", minutes)
    await rejudge(services, "spring")
    await services.queue.purge()
    sub = await _submit(services, world, 0)
    job = await services.queue.claim("w")
    assert job is not None and (job.payload["submission_id"], job.band) == (sub.id, 0)


async def test_contest_before_practice_and_fresh_before_rejudges(services: Services) -> None:
    world = await make_world(services)
    practice = await make_world(services, slug="practice", teams=1)
    await actions.update_contest(services, "practice", is_practice=True)
    judged = await solve(services, world, 1, "A", "WA", 5)
    await services.queue.purge()
    in_practice = await _submit(services, practice, 0)
    await rejudge(services, "spring", submission_id=judged.id)
    fresh = await _submit(services, world, 0)
    jobs = []
    while (job := await services.queue.claim("w")) is not None:
        jobs.append((job.payload["submission_id"], job.priority, job.band))
    assert jobs == [(fresh.id, HIGH, 0), (judged.id, HIGH, REJUDGE_BAND),
                    (in_practice.id, LOW, 0)]


async def test_judgings_of_lists_newest_first(services: Services) -> None:
    world = await make_world(services)
    sub = await solve(services, world, 0, "A", "WA", 5)
    await actions.record_verdict(services, sub.id, "AC")
    async with services.db.session() as session:
        ids = list(await session.exec(select(Judging.id).order_by(col(Judging.id).desc())))
    assert [j.id for j in await judgings_of(services, sub.id)] == ids
    with pytest.raises(NotFound):
        await judgings_of(services, 9999)


async def test_rejudge_on_the_redis_queue(make_settings: Any, db_url: str,
                                          redis_cleanup: None) -> None:
    """Production wiring: the rejudge queued by one web process is judged through another."""
    from server.queue.redis import RedisJudgeQueue
    from tests.conftest import REDIS_URL

    settings = make_settings(database_url=db_url, redis_url=REDIS_URL)
    services = await Services.create(settings)
    other = await Services.create(settings)
    try:
        assert isinstance(other.queue, RedisJudgeQueue)
        world = await make_world(services)
        host, _ = await create_judge_host(services, "judge-1")
        sub = await _submit(services, world, 0)
        old = await claim_job(other, host, timeout=1)
        assert old is not None
        rejudging = await rejudge(services, "spring", submission_id=sub.id)
        fresh = await _submit(services, world, 1)
        first = await claim_job(other, host, timeout=1)
        second = await claim_job(other, host, timeout=1)
        assert first is not None and second is not None
        assert (first.submission_id, second.submission_id) == (fresh.id, sub.id)
        assert second.job_id.startswith(f"{HIGH}b{REJUDGE_BAND}:")
        await finish_job(other, host, second.job_id,
                         JudgeResult(submission_id=sub.id, verdict="WA"))
        await finish_job(other, host, old.job_id, JudgeResult(submission_id=sub.id, verdict="AC"))
        await finish_job(other, host, first.job_id,
                         JudgeResult(submission_id=fresh.id, verdict="AC"))
        assert (await _get(services, Submission, sub.id)).verdict == "WA"
        assert await _solved(services, world, 0) == 0 and await _solved(services, world, 1) == 1
        assert (await _get(services, Rejudging, rejudging.id)).finished_at is not None
        assert await services.index.rank(world.contest.id, world.teams[1].id) == 1
        assert (await other.queue.stats()).in_progress == 0
    finally:
        await other.close()
        await services.close()
