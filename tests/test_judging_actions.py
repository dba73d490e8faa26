"""The server side of judging: test data, judge hosts, claim / heartbeat / result, retries."""

from __future__ import annotations

import hashlib

import pytest
from sqlmodel import select

from server import actions
from server.actions.errors import Conflict, Invalid
from server.actions.judging import (
    add_test_case,
    blob_store,
    claim_job,
    create_judge_host,
    finish_job,
    heartbeat_job,
    judge_host_for_token,
    requeue_unjudged,
)
from server.judge_protocol import JudgeResult, RunReport
from server import models
from server.models import Judging, JudgingRun, Submission
from server.services import Services
from tests.factories import make_world


async def _world_with_tests(services: Services):  # type: ignore[no-untyped-def]
    world = await make_world(services, teams=2, problems=(("A", 100.0),))
    await add_test_case(services, "spring-a", name="secret/2", input=b"2\n", answer=b"4\n",
                        group="secret", group_points=30)
    await add_test_case(services, "spring-a", name="sample/1", input=b"1\n", answer=b"2\n",
                        group="sample", is_sample=True)
    return world


async def test_test_data_goes_to_the_blob_store(services: Services) -> None:
    await _world_with_tests(services)
    store = blob_store(services)
    digest = hashlib.sha256(b"4\n").hexdigest()
    assert store.read(digest) == b"4\n"
    assert oct(store.path(digest).stat().st_mode)[-3:] == "444"
    async with services.db.session() as session:
        groups = list(await session.exec(select(models.TestGroup).order_by(models.TestGroup.ordinal)))
    assert [(g.name, g.points, g.is_sample) for g in groups] == [
        ("secret", 30, False), ("sample", 0, True)]
    with pytest.raises(Conflict):
        await add_test_case(services, "spring-a", name="sample/1", input=b"", answer=b"")


async def test_claim_builds_the_whole_job(services: Services) -> None:
    world = await _world_with_tests(services)
    host, token = await create_judge_host(services, "judge-1")
    assert (await judge_host_for_token(services, token)).id == host.id
    assert await judge_host_for_token(services, token + "x") is None
    assert await claim_job(services, host, timeout=0) is None
    sub = await actions.submit(services, contest="spring", team_id=world.teams[0].id,
                               problem="A", language="python3",
                               files={"main.py": b"print(int(input())*2)\n"},
                               user=world.users[0])
    job = await claim_job(services, host, timeout=1)
    assert job is not None
    assert (job.submission_id, job.language, job.checker, job.time_limit_ms) == (
        sub.id, "python3", "exact", 1000)
    assert [f.data() for f in job.files] == [b"print(int(input())*2)\n"]
    assert [t.name for t in job.tests] == ["sample/1", "secret/2"]  # samples first
    assert [(g.name, g.points) for g in job.groups] == [("secret", 30), ("sample", 0)]
    async with services.db.session() as session:
        assert (await session.get(Submission, sub.id)).status == "judging"
    await heartbeat_job(services, host, job.job_id)
    other, _ = await create_judge_host(services, "judge-2")
    with pytest.raises(Conflict, match="no longer yours"):
        await heartbeat_job(services, other, job.job_id)


async def test_results_are_recorded_once_with_their_runs(services: Services) -> None:
    world = await _world_with_tests(services)
    host, _ = await create_judge_host(services, "judge-1")
    await actions.submit(services, contest="spring", team_id=world.teams[0].id, problem="A",
                         language="python3", files={"main.py": b"x"}, user=world.users[0])
    job = await claim_job(services, host, timeout=1)
    result = JudgeResult(
        submission_id=job.submission_id, verdict="WA", max_time_ms=12,
        runs=[RunReport(test_case_id=job.tests[0].id, verdict="AC", cpu_ms=10),
              RunReport(test_case_id=job.tests[1].id, verdict="WA", cpu_ms=12,
                        checker_message="first difference at line 1, column 1")])
    await finish_job(services, host, job.job_id, result)
    await finish_job(services, host, job.job_id, result)
    async with services.db.session() as session:
        judgings = list(await session.exec(select(Judging)))
        runs = list(await session.exec(select(JudgingRun).order_by(JudgingRun.id)))
    assert [(j.verdict, j.judge_host, j.job_key) for j in judgings] == [
        ("WA", "judge-1", job.job_id)]
    assert [r.verdict for r in runs] == ["AC", "WA"]
    assert (await services.queue.stats()).in_progress == 0


async def test_judge_errors_are_retried_then_recorded(services: Services) -> None:
    world = await _world_with_tests(services)
    host, _ = await create_judge_host(services, "judge-1")
    sub = await actions.submit(services, contest="spring", team_id=world.teams[1].id,
                               problem="A", language="python3", files={"main.py": b"x"},
                               user=world.users[1])
    attempts = []
    for _ in range(3):
        job = await claim_job(services, host, timeout=1)
        assert job is not None and job.submission_id == sub.id
        attempts.append(job.attempt)
        await finish_job(services, host, job.job_id, JudgeResult(
            submission_id=sub.id, attempt=job.attempt, verdict="JE", error="disk full"))
    assert attempts == [1, 2, 3]
    assert await claim_job(services, host, timeout=0) is None
    async with services.db.session() as session:
        stored = await session.get(Submission, sub.id)
        judgings = list(await session.exec(select(Judging)))
    assert (stored.status, stored.verdict) == ("error", "JE")
    assert [(j.verdict, j.error) for j in judgings] == [("JE", "disk full")]
    board = await actions.scoreboard(services, world.contest, public=False)
    cell = next(r for r in board.rows if r.team.id == world.teams[1].id).cells[0]
    assert cell.attempts == 0  # never charged


async def test_requeue_puts_unjudged_submissions_back(services: Services) -> None:
    world = await _world_with_tests(services)
    for index in range(2):
        await actions.submit(services, contest="spring", team_id=world.teams[index].id,
                             problem="A", language="python3", files={"main.py": b"x"},
                             user=world.users[index])
    await services.queue.purge()
    assert await requeue_unjudged(services) == 2
    assert (await services.queue.stats()).waiting == 2


async def test_judge_host_names_are_checked(services: Services) -> None:
    with pytest.raises(Invalid, match="judge host name"):
        await create_judge_host(services, "bad name!")
    await create_judge_host(services, "ok")
    with pytest.raises(Conflict):
        await create_judge_host(services, "ok")


async def test_a_failing_board_refresh_does_not_hide_the_verdict(
        services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The verdict is stored before the boards refresh; when the refresh fails, it is logged
    and the team still hears of its verdict (``judging.finished`` on the contest's topic)."""
    import asyncio

    from server.actions import submissions

    world = await _world_with_tests(services)
    sub = await actions.submit(services, contest="spring", team_id=world.teams[0].id,
                               problem="A", language="python3", files={"a.py": b"print(1)\n"},
                               user=world.users[0])

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the board is on fire")

    monkeypatch.setattr(submissions, "refresh_teams", broken)
    async with services.bus.subscribe(f"contest:{world.contest.id}") as events:
        await submissions.record_verdict(services, sub.id, "AC", job_key="on-fire")

        async def finished() -> dict[str, object]:
            async for _topic, event in events:
                if event.get("type") == "judging.finished":
                    return event
            raise AssertionError("the bus ended")

        event = await asyncio.wait_for(finished(), 5)
    assert (event["submission_id"], event["verdict"]) == (sub.id, "AC")
    assert "refreshing the standings failed" in caplog.text
    async with services.db.session() as session:
        assert (await session.get(Submission, sub.id)).verdict == "AC"
