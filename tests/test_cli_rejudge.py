"""`podium rejudge`, run as a user runs it (a separate process), on both databases and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from server import migrate
from server.actions.judging import requeue_unjudged
from server.models import Rejudging, Submission
from server.queue import REJUDGE_BAND
from server.queue.redis import RedisJudgeQueue
from server.services import Services
from server.settings import Settings
from tests.conftest import REDIS_URL
from tests.factories import make_world, solve
from tests.test_cli import run


def _env(settings: Settings) -> dict[str, str]:
    return {"PODIUM_DATABASE_URL": settings.effective_database_url,
            "PODIUM_REDIS_URL": REDIS_URL, "PODIUM_REDIS_PREFIX": settings.redis_prefix,
            "PODIUM_SECRET_KEY": "test-secret-key"}


async def test_rejudge_queues_and_reports(make_settings: Any, db_url: str, tmp_path: Path,
                                          redis_cleanup: None) -> None:
    settings = make_settings(database_url=db_url, redis_url=REDIS_URL)
    services = await Services.create(settings)
    try:
        world = await make_world(services)
        accepted = await solve(services, world, 0, "A", "AC", 5)
        slow = await solve(services, world, 1, "A", "TLE", 6)
        await solve(services, world, 1, "B", "TLE", 7)
        await services.queue.purge()
    finally:
        await services.close()
    env, data = _env(settings), tmp_path / "cli-data"

    result = run("rejudge", "spring", "--problem", "A", "--verdict", "tle", "--verdict", "JE",
                 "--reason", "limits raised", data_dir=data, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "rejudging 1: queued 1 submission\n"
    assert result.stderr == ""
    one = run("rejudge", "spring", "--submission", str(accepted.id), data_dir=data, env=env)
    assert one.stdout == "rejudging 2: queued 1 submission\n"
    everything = run("rejudge", "spring", data_dir=data, env=env)
    assert everything.stdout == "rejudging 3: queued 3 submissions\n"

    for args, message in [
        (["nope"], "contest 'nope' does not exist"),
        (["spring", "--problem", "Z"], "problem 'Z' is not in contest 'spring'"),
        (["spring", "--verdict", "XX"], "unknown verdict 'XX'"),
        (["spring", "--verdict", "CE"], "nothing to rejudge"),
        (["spring", "--submission", "999"], "submission 999 is not in contest 'spring'"),
    ]:
        bad = run("rejudge", *args, data_dir=data, env=env)
        assert bad.returncode == 2, bad.stderr
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("podium: error: "), bad.stderr
        assert message in lines[0]

    services = await Services.create(settings)
    try:
        assert isinstance(services.queue, RedisJudgeQueue)
        jobs = []
        while (job := await services.queue.claim("w")) is not None:
            jobs.append(job)
        assert [j.band for j in jobs] == [REJUDGE_BAND] * 5
        assert [j.payload["rejudging_id"] for j in jobs] == [1, 2, 3, 3, 3]
        assert jobs[0].payload["submission_id"] == slow.id
        async with services.db.session() as session:
            rejudgings = list(await session.exec(select(Rejudging).order_by(Rejudging.id)))
            statuses = set(await session.exec(select(Submission.status)))
        assert [(r.reason, r.verdicts, r.submission_count) for r in rejudgings] == [
            ("limits raised", ["TLE", "JE"], 1), ("", [], 1), ("", [], 3)]
        assert statuses == {"queued"}
    finally:
        await services.close()


async def test_rejudge_in_the_embedded_mode_says_when_it_is_judged(
        make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()  # no URLs: SQLite in the data dir, the queue in memory
    assert settings.is_embedded
    migrate.upgrade(settings.effective_database_url)
    services = await Services.create(settings)
    try:
        world = await make_world(services)
        judged = await solve(services, world, 0, "A", "WA", 5)
    finally:
        await services.close()
    result = run("rejudge", "spring", "--submission", str(judged.id), data_dir=settings.data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "rejudging 1: queued 1 submission\n"
    assert result.stderr.startswith("note: the embedded judge queue lives in the `podium serve`")
    services = await Services.create(settings)  # as `podium serve` starts
    try:
        assert await requeue_unjudged(services) == 1
        job = await services.queue.claim("w")
        assert job is not None and (job.payload["submission_id"], job.band) == (
            judged.id, REJUDGE_BAND)
    finally:
        await services.close()
