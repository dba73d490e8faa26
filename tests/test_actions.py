"""Actions: each validates, commits, audits, then publishes and calls hooks."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from server import actions
from server.actions.errors import Conflict, Forbidden, Invalid, NotFound
from server.models import (
    AuditEntry,
    Judging,
    Submission,
    SubmissionFile,
    SubmissionStatus,
    TeamMember,
    utcnow,
)
from server.services import Services
from tests.factories import make_world, solve


async def _all(services: Services, query: Any) -> list[Any]:
    async with services.db.session() as session:
        return list(await session.exec(query))


async def test_submit_stores_queues_audits_and_publishes(services: Services) -> None:
    world = await make_world(services)
    async with services.bus.subscribe(f"contest:{world.contest.id}") as events:
        submission = await actions.submit(
            services, contest="spring", team_id=world.teams[0].id, problem="A",
            language="python3", files={"main.py": b"print(42)\n"}, user=world.users[0])
        topic, event = await asyncio.wait_for(events.__anext__(), 5)
    assert (topic, event["type"], event["id"]) == (
        f"contest:{world.contest.id}", "submission.created", submission.id)
    assert submission.status == SubmissionStatus.QUEUED.value
    files = await _all(services, select(SubmissionFile))
    assert [(f.filename, f.content) for f in files] == [("main.py", b"print(42)\n")]
    job = await services.queue.claim("test-worker")
    assert job is not None and job.payload == {"submission_id": submission.id,
                                               "contest_id": world.contest.id}
    audit = await _all(services, select(AuditEntry).where(
        AuditEntry.action == "submission.create"))
    assert [(a.object_id, a.actor_id) for a in audit] == [(str(submission.id),
                                                           world.users[0].id)]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"problem": "Z"}, NotFound, "problem 'Z' is not in contest"),
        ({"language": "cobol"}, Invalid, "no language named 'cobol'"),
        ({"language": "java"}, Invalid, "not enabled for this contest"),
        ({"files": {}}, Invalid, "at least one source file"),
        ({"files": {"../evil.py": b"x"}}, Invalid, "not allowed"),
        ({"files": {"big.py": b"x" * (256 * 1024 + 1)}}, Invalid, "the limit is"),
        ({"user_index": 1}, Forbidden, "not a member of this team"),
        ({"user_index": None}, Forbidden, "log in to submit"),
    ],
)
async def test_submit_rejects_bad_input_and_stores_nothing(
    services: Services, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    world = await make_world(services)
    args: dict[str, Any] = {"problem": "A", "language": "python3",
                            "files": {"main.py": b"print(1)"}}
    change = dict(change)  # the parameter is shared by the database variants
    user_index = change.pop("user_index", 0)
    args.update(change)
    with pytest.raises(error, match=message):
        await actions.submit(services, contest=world.contest.id, team_id=world.teams[0].id,
                             user=None if user_index is None else world.users[user_index],
                             **args)
    assert await _all(services, select(Submission)) == []
    assert (await services.queue.stats()).waiting == 0


async def test_contestants_cannot_submit_outside_the_contest(services: Services) -> None:
    world = await make_world(services)
    await actions.update_contest(services, "spring", end_at=utcnow() - timedelta(minutes=1))
    with pytest.raises(Forbidden, match="not running"):
        await actions.submit(services, contest="spring", team_id=world.teams[0].id,
                             problem="A", language="python3", files={"a.py": b"1"},
                             user=world.users[0])
    with pytest.raises(Forbidden, match="only trusted callers"):
        await actions.submit(services, contest="spring", team_id=world.teams[0].id,
                             problem="A", language="python3", files={"a.py": b"1"},
                             user=world.users[0], at=utcnow())
    staff = await actions.submit(services, contest="spring", team_id=world.teams[0].id,
                                 problem="A", language="python3", files={"a.py": b"1"},
                                 user=world.admin)
    assert staff.user_id == world.admin.id


async def test_record_verdict_is_idempotent_per_job(services: Services) -> None:
    world = await make_world(services)
    sub = await solve(services, world, 0, "A", "", 10)
    first = await actions.record_verdict(services, sub.id, "AC", job_key="job-1",
                                         judge_host="h1", runs=())
    again = await actions.record_verdict(services, sub.id, "WA", job_key="job-1",
                                         judge_host="h2")
    assert again.id == first.id and again.verdict == "AC"
    judgings = await _all(services, select(Judging))
    assert len(judgings) == 1
    board = await actions.scoreboard(services, world.contest, public=False)
    assert board.rows[0].team.id == world.teams[0].id and board.rows[0].score.points == 100


async def test_a_rejudge_keeps_history_and_moves_the_score(services: Services) -> None:
    world = await make_world(services)
    sub = await solve(services, world, 0, "B", "AC", 30)
    await actions.record_verdict(services, sub.id, "WA", job_key="rejudge-1")
    judgings = await _all(services, select(Judging).order_by(col(Judging.id)))
    assert [(j.verdict, j.is_current) for j in judgings] == [("AC", False), ("WA", True)]
    board = await actions.scoreboard(services, world.contest, public=False)
    row = next(r for r in board.rows if r.team.id == world.teams[0].id)
    assert row.score.points == 0 and row.cells[1].attempts == 1
    audit = await _all(services, select(AuditEntry.data).where(
        AuditEntry.action == "judging.verdict"))
    assert [a["verdict"] for a in audit] == ["AC", "WA"]


async def test_judge_errors_are_never_charged(services: Services) -> None:
    world = await make_world(services)
    sub = await solve(services, world, 0, "A", "JE", 5)
    async with services.db.session() as session:
        stored = await session.get(Submission, sub.id)
    assert stored is not None and stored.status == SubmissionStatus.ERROR.value
    board = await actions.scoreboard(services, world.contest, public=False)
    cell = next(r for r in board.rows if r.team.id == world.teams[0].id).cells[0]
    assert (cell.attempts, cell.solved) == (0, False)


async def test_record_verdict_rejects_bad_input(services: Services) -> None:
    world = await make_world(services)
    sub = await solve(services, world, 0, "A", "", 5)
    with pytest.raises(Invalid, match="unknown verdict"):
        await actions.record_verdict(services, sub.id, "OK")
    with pytest.raises(Invalid, match="fraction"):
        await actions.record_verdict(services, sub.id, "AC", score=5)
    with pytest.raises(NotFound):
        await actions.record_verdict(services, 10_000, "AC")
    assert await _all(services, select(Judging)) == []


async def test_standings_order_ties_and_index(services: Services) -> None:
    world = await make_world(services, teams=4)
    await solve(services, world, 0, "A", "AC", 10)
    await solve(services, world, 1, "A", "AC", 10)
    await solve(services, world, 2, "B", "WA", 5)
    await solve(services, world, 2, "B", "AC", 50)
    await solve(services, world, 3, "A", "WA", 1)
    board = await actions.scoreboard(services, world.contest, public=False)
    ranks = {r.team.id: r.rank for r in board.rows}
    t = [team.id for team in world.teams]
    assert ranks == {t[2]: 1, t[0]: 2, t[1]: 2, t[3]: 4}
    assert board.rows[0].cells[1].first_to_solve
    assert await services.index.rank(world.contest.id, t[2]) == 1
    assert await services.index.rank(world.contest.id, t[1]) == 2
    assert [team for team, _ in await services.index.top(world.contest.id, 4)] == [
        t[2], t[0], t[1], t[3]]


async def test_public_board_hides_results_after_the_freeze(services: Services) -> None:
    world = await make_world(services, freeze=True)  # freeze 90 min after the start
    await solve(services, world, 0, "A", "AC", 30)
    await solve(services, world, 1, "A", "AC", 100)  # after the freeze
    public = await actions.scoreboard(services, world.contest, public=True)
    jury = await actions.scoreboard(services, world.contest, public=False)
    assert public.frozen and not jury.frozen
    late = next(r for r in public.rows if r.team.id == world.teams[1].id)
    assert (late.score.points, late.cells[0].solved, late.cells[0].pending) == (0, False, 1)
    assert next(r for r in jury.rows if r.team.id == world.teams[1].id).score.points == 100
    await actions.update_contest(services, "spring", unfrozen=True)
    thawed = await actions.scoreboard(services, await _contest(services), public=True)
    assert not thawed.frozen
    assert next(r for r in thawed.rows if r.team.id == world.teams[1].id).score.points == 100


async def _contest(services: Services) -> Any:
    from server.models import Contest

    async with services.db.session() as session:
        return (await session.exec(select(Contest).where(Contest.slug == "spring"))).one()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"end_at": "start"}, "must end after it starts"),
        ({"freeze_at": "late"}, "freeze must be between"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"scoring_rule": "nope"}, "no scoring rule named 'nope'"),
        ({"visibility": "secret"}, "visibility must be one of"),
        ({"theme": "nope"}, "no theme named"),
        ({"slug": "Bad Slug"}, "slug must be"),
        ({"start_at": "naive"}, "needs a time zone"),
    ],
)
async def test_create_contest_validates(services: Services, changes: dict[str, Any],
                                        message: str) -> None:
    start = utcnow()
    args: dict[str, Any] = {"slug": "c1", "title": "C", "start_at": start,
                            "end_at": start + timedelta(hours=1)}
    for key, value in changes.items():
        if value == "start":
            args[key] = start
        elif value == "late":
            args[key] = start + timedelta(hours=2)
        elif value == "naive":
            args[key] = start.replace(tzinfo=None)
        else:
            args[key] = value
    with pytest.raises(Invalid, match=message):
        await actions.create_contest(services, **args)
    assert await _all(services, select(func.count()).select_from(AuditEntry)) == [0]


async def test_duplicates_are_conflicts(services: Services) -> None:
    world = await make_world(services)
    with pytest.raises(Conflict, match="already exists"):
        await actions.create_user(services, "spring-user0", password="whatever-123")
    with pytest.raises(Conflict, match="already in a team"):
        await actions.create_team(services, "spring", name="another",
                                  member_ids=[world.users[0].id])
    with pytest.raises(Conflict):
        await actions.add_contest_problem(services, "spring", "spring-b", label="Z")
    members = await _all(services, select(TeamMember))
    assert len(members) == 2


async def test_passwords_and_tokens(services: Services) -> None:
    user = await actions.create_user(services, "carol", password="correct horse")
    assert user.password_hash and "correct" not in user.password_hash
    assert await actions.authenticate(services, "carol", "wrong password") is None
    assert (await actions.authenticate(services, "carol", "correct horse")).id == user.id
    token = await actions.create_api_token(services, user.id, name="ci")
    assert (await actions.user_for_token(services, token)).id == user.id
    assert await actions.user_for_token(services, token + "x") is None
    with pytest.raises(Invalid, match="at least 8"):
        await actions.create_user(services, "dave", password="short")
    expired = await actions.create_api_token(services, user.id,
                                             expires_at=utcnow() - timedelta(seconds=1))
    assert await actions.user_for_token(services, expired) is None


async def test_contest_changes_are_audited(services: Services) -> None:
    world = await make_world(services)
    await actions.update_contest(services, "spring", actor=world.admin,
                                 freeze_at=world.start + timedelta(hours=4))
    await actions.update_contest(services, "spring", actor=world.admin, title="Renamed")
    await actions.update_contest(services, "spring", actor=world.admin, title="Renamed")
    await actions.update_contest(services, "spring", actor=world.admin,
                                 registration_code_hash="0" * 64)
    entries = await _all(services, select(AuditEntry).where(
        AuditEntry.action == "contest.update").order_by(AuditEntry.id))
    assert [sorted(e.data) for e in entries] == [  # an unchanged title is no change
        ["freeze_at"], ["title"], ["registration_code_hash"]]
    assert entries[1].data == {"title": "Renamed"}
    assert entries[2].data == {"registration_code_hash": "(changed)"}  # never the hash
    assert {e.actor_id for e in entries} == {world.admin.id}


async def test_contest_state_change_reaches_enabled_plugins(make_settings: Any,
                                                            db_url: str) -> None:
    from server.hooks import hookimpl
    from server.services import build_registry

    seen: list[tuple[str, str]] = []

    class Watcher:
        @hookimpl
        def podium_contest_state_changed(self, old: str, new: str) -> None:
            seen.append((old, new))

    settings = make_settings(database_url=db_url)
    services = await Services.create(settings, registry=build_registry(
        settings, {"watcher": Watcher()}))
    try:
        await make_world(services, plugins={"watcher": {}})
        await actions.update_contest(services, "spring", end_at=utcnow() - timedelta(seconds=5))
    finally:
        await services.close()
    assert seen == [("running", "ended")]


async def test_actions_on_the_redis_backends(make_settings: Any, db_url: str,
                                             redis_cleanup: None) -> None:
    """Production wiring: events on Redis pub/sub, jobs on Redis Streams, the index in Redis."""
    from redis.asyncio import Redis

    from server.bus.redis import RedisEventBus
    from server.queue.redis import RedisJudgeQueue
    from server.scoreboard.index_redis import RedisStandingsIndex
    from tests.conftest import REDIS_URL

    settings = make_settings(database_url=db_url, redis_url=REDIS_URL)
    services = await Services.create(settings)
    other = await Services.create(settings)  # a second web process on the same Redis
    try:
        assert isinstance(services.bus, RedisEventBus)
        assert isinstance(services.queue, RedisJudgeQueue)
        assert isinstance(services.index, RedisStandingsIndex)
        assert (await services.ready())["redis"] == "ok"
        world = await make_world(services)
        async with other.bus.subscribe(f"contest:{world.contest.id}") as events:
            sub = await solve(services, world, 1, "B", "", 20)
            topic, event = await asyncio.wait_for(events.__anext__(), 5)
        assert event == {"type": "submission.created", "contest_id": world.contest.id,
                         "id": sub.id, "team_id": world.teams[1].id, "problem": "B",
                         "language": "python3"}
        job = await other.queue.claim("judge-1", timeout=2)
        assert job is not None and job.payload["submission_id"] == sub.id
        await actions.record_verdict(services, sub.id, "AC", job_key=job.id)
        assert await other.queue.ack(job.id)
        assert await other.index.rank(world.contest.id, world.teams[1].id) == 1
        assert await other.index.score(world.contest.id, world.teams[1].id) > 0
        client = Redis.from_url(REDIS_URL)
        try:
            assert await client.exists(f"{settings.redis_prefix}standings:{{{world.contest.id}}}")
        finally:
            await client.aclose()
    finally:
        await other.close()
        await services.close()


async def test_the_public_board_names_no_problem_before_the_start(services: Services) -> None:
    world = await make_world(services)
    await actions.update_contest(services, "spring", start_at=utcnow() + timedelta(hours=1),
                                 end_at=utcnow() + timedelta(hours=3))
    contest = await _contest(services)
    public = await actions.scoreboard(services, contest, public=True)
    jury = await actions.scoreboard(services, contest, public=False)
    assert public.problems == [] and all(r.cells == [] for r in public.rows)
    assert [p.label for p in jury.problems] == ["A", "B"]
    assert len(public.rows) == len(world.teams)


async def test_submissions_refreshed_later_are_coalesced_and_drained(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.actions import standings

    world = await make_world(services, teams=4)
    calls: list[list[int]] = []
    real = standings.refresh_teams

    async def counting(services_: Services, contest_id: int, team_ids: Any) -> Any:
        calls.append(list(team_ids))
        await asyncio.sleep(0.05)  # a refresh takes a while: submissions pile up meanwhile
        return await real(services_, contest_id, team_ids)

    monkeypatch.setattr(standings, "refresh_teams", counting)
    for team, user in zip(world.teams[:3], world.users[:3], strict=True):
        await actions.submit(services, contest="spring", team_id=team.id, problem="A",
                             language="python3", files={"a.py": b"print(1)"}, user=user,
                             refresh_later=True)
    assert ("refresh", world.contest.id) in services.background  # answered before the boards
    assert calls == []  # the refresh waits a moment for more
    await asyncio.sleep(standings.REFRESH_WINDOW + 0.02)  # the first refresh is running now
    await actions.submit(services, contest="spring", team_id=world.teams[3].id, problem="A",
                         language="python3", files={"a.py": b"print(1)"}, user=world.users[3],
                         refresh_later=True)
    await services.drain()
    assert services.background == {}
    assert sorted(calls[0]) == sorted(t.id for t in world.teams[:3])  # one refresh for three
    assert calls[1:] == [[world.teams[3].id]]  # what came during it: the next one
    assert len(calls) == 2
    board = await actions.scoreboard(services, world.contest, public=False)
    assert all(row.cells[0].pending == 1 for row in board.rows)  # every try shows as pending
