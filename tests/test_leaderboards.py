"""Leaderboards: modes, ranks and ties, caps, lazy resets, reads at 10k, the practice feed.

Every test runs on SQLite and PostgreSQL, each with the embedded mode's memory index and with
production's Redis (index, queue and bus).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import event
from sqlmodel import col, select

from server import actions
from server.actions import leaderboards as lb
from server.actions.leaderboard_upkeep import sync_players
from server.leaderboard_index.memory import MemoryLeaderboardIndex
from server.leaderboard_index.redis import RedisLeaderboardIndex
from server.models import AuditEntry, LeaderboardEntry
from server.services import Services
from tests.conftest import REDIS_URL
from tests.factories import make_world, solve


@pytest.fixture(params=["memory", "redis"])
async def services(request: pytest.FixtureRequest, make_settings: Any, db_url: str,
                   redis_prefix: str) -> AsyncIterator[Services]:
    """The app's services with the memory index (embedded) or the Redis one (production)."""
    redis_url = REDIS_URL if request.param == "redis" else None
    built = await Services.create(make_settings(database_url=db_url, redis_url=redis_url))
    try:
        yield built
    finally:
        await built.close()
        if redis_url is not None:
            client = Redis.from_url(redis_url)
            try:
                keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*", count=1000)]
                if keys:
                    await client.delete(*keys)
            finally:
                await client.aclose()


def _rows(entries: list[lb.RankedEntry | None]) -> list[tuple[str, float, int] | None]:
    return [None if e is None else (e.player, e.score, e.rank) for e in entries]


async def _audit_actions(services: Services) -> list[str]:
    async with services.db.session() as session:
        return [a.action for a in await session.exec(
            select(AuditEntry).order_by(col(AuditEntry.id)))]


def test_period_start_boundaries() -> None:
    now = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # a Thursday
    assert lb.period_start("never", now) is None
    assert lb.period_start("daily", now) == datetime(2026, 11, 26, tzinfo=UTC)
    assert lb.period_start("weekly", now) == datetime(2026, 11, 23, tzinfo=UTC)
    assert lb.period_start("monthly", now) == datetime(2026, 11, 1, tzinfo=UTC)


async def test_create_validates_and_refuses_duplicates(services: Services) -> None:
    board = await lb.create_leaderboard(services, slug="school", title="School",
                                        sort_order="asc", max_entries=3)
    assert (board.sort_order, board.update_mode, board.reset_period, board.public) == (
        "asc", "best", "never", True)
    for bad in ({"sort_order": "up"}, {"reset_period": "hourly"}, {"update_mode": "max"},
                {"max_entries": 0}, {"slug": "12"}, {"slug": "a b"}):
        kwargs = {"slug": "other", **bad}
        with pytest.raises(actions.Invalid):
            await lb.create_leaderboard(services, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(actions.Conflict):
        await lb.create_leaderboard(services, slug="school")
    assert (await lb.get_leaderboard(services, str(board.id))).slug == "school"
    assert (await lb.get_leaderboard(services, "school")).id == board.id
    with pytest.raises(actions.NotFound):
        await lb.get_leaderboard(services, "nope")
    assert "leaderboard.create" in await _audit_actions(services)


async def test_update_modes_and_ties(services: Services) -> None:
    await lb.create_leaderboard(services, slug="best")
    await lb.submit_scores(services, "best", [("ann", 10), ("bob", 20), ("cat", 10)])
    assert _rows(await lb.submit_scores(services, "best", [("ann", 5), ("bob", 25)])) == [
        ("ann", 10.0, 2), ("bob", 25.0, 1)]
    # ann reached 10 before cat: equal rank, ann listed first; dan ties later still
    await lb.submit_scores(services, "best", [("dan", 10), ("eve", 1)])
    assert _rows(await lb.top(services, "best", 10)) == [  # type: ignore[arg-type]
        ("bob", 25.0, 1), ("ann", 10.0, 2), ("cat", 10.0, 2), ("dan", 10.0, 2), ("eve", 1.0, 5)]

    await lb.create_leaderboard(services, slug="golf", sort_order="asc")
    await lb.submit_scores(services, "golf", [("ann", 70), ("bob", 72)])
    await lb.submit_scores(services, "golf", [("ann", 75), ("bob", 68)])
    assert _rows(await lb.top(services, "golf")) == [  # type: ignore[arg-type]
        ("bob", 68.0, 1), ("ann", 70.0, 2)]

    await lb.create_leaderboard(services, slug="inc", update_mode="increment")
    await lb.submit_scores(services, "inc", [("ann", 1), ("ann", 2), ("bob", 2)])
    assert _rows(await lb.top(services, "inc")) == [  # type: ignore[arg-type]
        ("ann", 3.0, 1), ("bob", 2.0, 2)]

    await lb.create_leaderboard(services, slug="rep", update_mode="replace")
    await lb.submit_scores(services, "rep", [("ann", 9), ("bob", 5)])
    await lb.submit_scores(services, "rep", [("ann", 1)])
    assert _rows(await lb.top(services, "rep")) == [  # type: ignore[arg-type]
        ("bob", 5.0, 1), ("ann", 1.0, 2)]
    # a mode given with the batch overrides the board's
    await lb.submit_scores(services, "rep", [("bob", 1)], mode="increment")
    assert (await lb.player_entry(services, "rep", "bob")).score == 6.0

    for bad in ([], [("", 1.0)], [("x" * 129, 1.0)], [("ann", float("nan"))],
                [("ann", float("inf"))]):
        with pytest.raises(actions.Invalid):
            await lb.submit_scores(services, "rep", bad)


async def test_reads_by_rank_around_player_and_count(services: Services) -> None:
    await lb.create_leaderboard(services, slug="b")
    await lb.submit_scores(services, "b", [(f"p{i}", float(i // 2)) for i in range(10)])
    # scores 4,4,3,3,2,2,1,1,0,0 (p8,p9 have 4; p0,p1 have 0)
    assert await lb.count_entries(services, "b") == 10
    assert _rows(await lb.by_rank(services, "b", 3, 5)) == [  # type: ignore[arg-type]
        ("p6", 3.0, 3), ("p7", 3.0, 3), ("p4", 2.0, 5)]
    assert _rows(await lb.by_rank(services, "b", 4, 4)) == [("p7", 3.0, 3)]  # type: ignore[arg-type]
    assert await lb.by_rank(services, "b", 11, 20) == []
    assert _rows(await lb.players_around(services, "b", "p5", 2)) == [  # type: ignore[arg-type]
        ("p7", 3.0, 3), ("p4", 2.0, 5), ("p5", 2.0, 5), ("p2", 1.0, 7), ("p3", 1.0, 7)]
    assert _rows(await lb.players_around(services, "b", "p9", 1)) == [  # type: ignore[arg-type]
        ("p8", 4.0, 1), ("p9", 4.0, 1), ("p6", 3.0, 3)]
    assert _rows(await lb.players_around(services, "b", "p0", 0)) == [("p0", 0.0, 9)]  # type: ignore[arg-type]
    entry = await lb.player_entry(services, "b", "p3")
    assert (entry.score, entry.rank) == (1.0, 7)
    with pytest.raises(actions.NotFound):
        await lb.player_entry(services, "b", "ghost")
    for call in (lb.top(services, "b", 0), lb.top(services, "b", 1001),
                 lb.by_rank(services, "b", 0, 3), lb.by_rank(services, "b", 5, 4),
                 lb.players_around(services, "b", "p1", -1)):
        with pytest.raises(actions.Invalid):
            await call


async def test_cap_drops_the_worst(services: Services) -> None:
    await lb.create_leaderboard(services, slug="cap", max_entries=3)
    result = await lb.submit_scores(services, "cap", [("a", 5), ("b", 7), ("c", 5), ("d", 1)])
    assert _rows(result) == [("a", 5.0, 2), ("b", 7.0, 1), ("c", 5.0, 2), None]
    # c tied a but came later: it is the worse of the two and drops for e
    await lb.submit_scores(services, "cap", [("e", 6)])
    assert [e.player for e in await lb.top(services, "cap", 10)] == ["b", "e", "a"]
    assert await lb.count_entries(services, "cap") == 3
    assert _rows(await lb.submit_scores(services, "cap", [("f", 0)])) == [None]


async def test_manual_reset_remove_and_delete(services: Services) -> None:
    admin = await actions.create_user(services, "root", password="root-password", role="admin")
    await lb.create_leaderboard(services, slug="m")
    await lb.submit_scores(services, "m", [("a", 1), ("b", 2)], actor=admin)
    await lb.remove_player(services, "m", "a", actor=admin)
    with pytest.raises(actions.NotFound):
        await lb.remove_player(services, "m", "a", actor=admin)
    assert [e.player for e in await lb.top(services, "m")] == ["b"]
    assert await lb.reset_leaderboard(services, "m", actor=admin) == 1
    assert await lb.count_entries(services, "m") == 0
    await lb.delete_leaderboard(services, "m", actor=admin)
    with pytest.raises(actions.NotFound):
        await lb.top(services, "m")
    assert (await _audit_actions(services))[-5:] == [
        "leaderboard.create", "leaderboard.scores", "leaderboard.remove_player",
        "leaderboard.reset", "leaderboard.delete"]


@pytest.mark.parametrize("period", ["daily", "weekly", "monthly"])
async def test_periods_reset_lazily(services: Services, period: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    await lb.create_leaderboard(services, slug="p", reset_period=period,
                                update_mode="increment")
    await lb.submit_scores(services, "p", [("a", 3), ("b", 1)])
    assert await lb.count_entries(services, "p") == 2
    later = datetime.now(UTC) + timedelta(days=40)
    monkeypatch.setattr(lb, "utcnow", lambda: later)  # 40 days on: the period has passed
    assert await lb.count_entries(services, "p") == 0
    assert await lb.top(services, "p") == []
    with pytest.raises(actions.NotFound):
        await lb.player_entry(services, "p", "a")
    assert _rows(await lb.submit_scores(services, "p", [("a", 1)])) == [("a", 1.0, 1)]
    assert await lb.count_entries(services, "p") == 1
    fresh = await lb.get_leaderboard(services, "p")
    assert fresh.period_started_at == lb.period_start(period, later)
    assert (await lb.read_leaderboard(services, "p")).period_started_at == fresh.period_started_at
    assert "leaderboard.reset" in await _audit_actions(services)


async def test_ten_thousand_entries_rank_correctly(services: Services) -> None:
    rng = random.Random(4)
    await lb.create_leaderboard(services, slug="big", update_mode="replace")
    scores = [(f"player{i:05d}", float(rng.randrange(2000))) for i in range(10_000)]
    result = await lb.submit_scores(services, "big", scores)
    # one batch: every entry has the same time, so ties order by player name
    expected = sorted(scores, key=lambda p: (-p[1], p[0]))
    rank: dict[str, int] = {}
    for position, (player, score) in enumerate(expected, 1):
        previous = expected[position - 2] if position > 1 else None
        rank[player] = rank[previous[0]] if previous and previous[1] == score else position
    assert [e.rank for e in result if e] == [rank[p] for p, _ in scores]
    want = [(p, s, rank[p]) for p, s in expected]
    assert await lb.count_entries(services, "big") == 10_000
    assert _rows(await lb.top(services, "big", 100)) == want[:100]  # type: ignore[arg-type]
    assert _rows(await lb.by_rank(services, "big", 4001, 4200)) == want[4000:4200]  # type: ignore[arg-type]
    for player in ("player00000", "player05000", expected[0][0], expected[-1][0]):
        index = next(i for i, row in enumerate(want) if row[0] == player)
        around = await lb.players_around(services, "big", player, 25)
        assert _rows(around) == want[max(0, index - 25):index + 26]  # type: ignore[arg-type]
        assert (await lb.player_entry(services, "big", player)).rank == rank[player]


async def test_practice_accepts_feed_the_practice_board(services: Services) -> None:
    world = await make_world(services, slug="gym", problems=(("A", 1.0), ("B", 1.0)))
    await actions.update_contest(services, world.contest.id, is_practice=True)
    world.contest.is_practice = True
    other = await make_world(services, slug="real", problems=(("A", 1.0),))
    await solve(services, other, 0, "A", "AC", 5)  # not practice: no board yet
    with pytest.raises(actions.NotFound):
        await lb.get_leaderboard(services, lb.PRACTICE_SLUG)

    await solve(services, world, 0, "A", "WA", 1)
    await solve(services, world, 0, "A", "AC", 2)
    await solve(services, world, 0, "A", "AC", 3)  # the same problem again: no change
    await solve(services, world, 1, "B", "AC", 4)
    await solve(services, world, 0, "B", "AC", 5)
    user0, user1 = (f"user:{u.id}" for u in world.users)
    assert _rows(await lb.top(services, lb.PRACTICE_SLUG)) == [  # type: ignore[arg-type]
        (user0, 2.0, 1), (user1, 1.0, 2)]
    board = await lb.get_leaderboard(services, lb.PRACTICE_SLUG)
    assert (board.update_mode, board.public) == ("increment", True)

    # a rejudge takes user1's only accept away, and gives it back
    from server.actions.judging import claim_job, create_judge_host, finish_job, rejudge
    from server.judge_protocol import JudgeResult

    host, _ = await create_judge_host(services, "practice-judge")
    await services.queue.purge()

    async def judge_all(verdict: str) -> None:
        while (job := await claim_job(services, host, timeout=0)) is not None:
            await finish_job(services, host, job.job_id,
                             JudgeResult(submission_id=job.submission_id, verdict=verdict))

    await rejudge(services, world.contest.id, problem="B", verdicts=["AC"])
    await judge_all("WA")
    assert _rows(await lb.top(services, lb.PRACTICE_SLUG)) == [  # type: ignore[arg-type]
        (user0, 1.0, 1), (user1, 0.0, 2)]
    await rejudge(services, world.contest.id, problem="B")
    await judge_all("AC")
    assert [(e.player, e.score) for e in await lb.top(services, lb.PRACTICE_SLUG)] == [
        (user0, 2.0), (user1, 1.0)]


# ------------------------------------------------------------------------ the sorted index


async def _db_order(services: Services, ref: str) -> list[tuple[str, float, int]]:
    """The board's order and ranks from its database rows alone (the source of truth)."""
    board = await lb.get_leaderboard(services, ref)
    async with services.db.session() as session:
        entries = list(await session.exec(select(LeaderboardEntry).where(
            LeaderboardEntry.leaderboard_id == board.id)))
    desc = board.sort_order == "desc"
    entries.sort(key=lambda e: (-e.score if desc else e.score, e.updated_at, e.player))
    return [(e.player, e.score, 1 + sum((o.score > e.score) if desc else (o.score < e.score)
                                        for o in entries)) for e in entries]


async def _index_order(services: Services, ref: str) -> list[tuple[str, float, int]]:
    count = await lb.count_entries(services, ref)
    rows = await lb.by_rank(services, ref, 1, count) if count else []
    return [(e.player, e.score, e.rank) for e in rows]


async def _forget_index(services: Services) -> None:
    """What a Redis flush (or a new embedded process) does to the index."""
    if services.redis is None:
        services.leaderboard_index = MemoryLeaderboardIndex()
        return
    keys = [k async for k in services.redis.scan_iter(
        match=f"{services.settings.redis_prefix}leaderboard:*", count=1000)]
    assert keys
    await services.redis.delete(*keys)


async def test_a_lost_index_is_rebuilt_from_the_database(services: Services) -> None:
    if services.redis is None:
        assert isinstance(services.leaderboard_index, MemoryLeaderboardIndex)
    else:
        assert isinstance(services.leaderboard_index, RedisLeaderboardIndex)
    board = await lb.create_leaderboard(services, slug="lost")
    await lb.submit_scores(services, "lost", [("ann", 5), ("bob", 7), ("cat", 5)])
    await lb.submit_scores(services, "lost", [("dan", 5), ("ann", 9), ("eve", 1)])
    want = await _db_order(services, "lost")
    assert want[:2] == [("ann", 9.0, 1), ("bob", 7.0, 2)]
    assert await _index_order(services, "lost") == want

    await _forget_index(services)
    assert not await services.leaderboard_index.built(board.id or 0)
    assert _rows(await lb.top(services, "lost", 3)) == want[:3]  # type: ignore[arg-type]
    assert await services.leaderboard_index.built(board.id or 0)
    assert await _index_order(services, "lost") == want

    # a write while the index is missing: the sync skips it, the rebuild for its ranks sees it
    await _forget_index(services)
    assert _rows(await lb.submit_scores(services, "lost", [("cat", 8)])) == [("cat", 8.0, 2)]
    assert await services.leaderboard_index.built(board.id or 0)
    assert (await lb.player_entry(services, "lost", "cat")).rank == 2
    assert await _index_order(services, "lost") == await _db_order(services, "lost")

    # another process over the same database (and Redis) reads the same board
    other = await Services.create(services.settings)
    try:
        assert await _index_order(other, "lost") == await _db_order(services, "lost")
    finally:
        await other.close()


async def test_the_index_equals_the_database_after_random_writes(services: Services) -> None:
    rng = random.Random(11)
    await lb.create_leaderboard(services, slug="hi", update_mode="best")
    await lb.create_leaderboard(services, slug="golf", sort_order="asc", update_mode="replace",
                                max_entries=12)
    await lb.create_leaderboard(services, slug="xp", update_mode="increment", max_entries=15)
    players = [f"p{i}" for i in range(20)] + ["B", "a", "é"]
    for step in range(40):
        slug = rng.choice(["hi", "golf", "xp"])
        action = rng.random()
        if action < 0.8:
            batch = [(rng.choice(players), float(rng.choice([0, 1, 2, 2.5, -1, 3])))
                     for _ in range(rng.randrange(1, 8))]
            await lb.submit_scores(services, slug, batch)
        elif action < 0.95:
            present = [row[0] for row in await _db_order(services, slug)]
            if present:
                await lb.remove_player(services, slug, rng.choice(present))
        else:
            await lb.reset_leaderboard(services, slug)
        if step % 5 == 4:
            for name in ("hi", "golf", "xp"):
                assert await _index_order(services, name) == await _db_order(services, name)
    for name in ("hi", "golf", "xp"):
        want = await _db_order(services, name)
        assert await _index_order(services, name) == want
        for position, (player, score, rank) in enumerate(want):
            around = _rows(await lb.players_around(services, name, player, 2))
            assert around == want[max(0, position - 2):position + 3]
            entry = await lb.player_entry(services, name, player)
            assert (entry.score, entry.rank) == (score, rank)
    assert len(await _db_order(services, "golf")) <= 12


async def test_a_sync_copies_the_database_whatever_the_write_said(services: Services) -> None:
    """Writers may reach the index in another order than they committed: each sync copies
    the rows as they are now, so the last one leaves the index equal to the database."""
    board = await lb.create_leaderboard(services, slug="s")
    await lb.submit_scores(services, "s", [("ann", 5), ("bob", 3)])
    async with services.db.session() as session:  # a later commit the index has not seen
        row = await session.get(LeaderboardEntry, (board.id, "bob"))
        assert row is not None
        row.score = 50.0
        session.add(row)
        gone = await session.get(LeaderboardEntry, (board.id, "ann"))
        await session.delete(gone)
        await session.commit()
    before = await lb.top(services, "s")
    assert _rows(before) == [("ann", 5.0, 1), ("bob", 3.0, 2)]  # type: ignore[arg-type]
    await sync_players(services, board, ["ann", "bob"])  # a sync of an older write
    assert _rows(await lb.top(services, "s")) == [("bob", 50.0, 1)]  # type: ignore[arg-type]


async def test_concurrent_writers_lose_nothing(services: Services) -> None:
    await lb.create_leaderboard(services, slug="race", update_mode="increment")
    await lb.submit_scores(services, "race", [("ann", 0)])
    await asyncio.gather(*(lb.submit_scores(services, "race", [("ann", 1), (f"p{n}", n)])
                           for n in range(12)))
    assert (await lb.player_entry(services, "race", "ann")).score == 12.0
    want = await _db_order(services, "race")
    assert len(want) == 13
    assert await _index_order(services, "race") == want


async def test_scores_are_exact_and_out_of_range_is_refused(services: Services) -> None:
    await lb.create_leaderboard(services, slug="f", update_mode="increment")
    exact = [("a", 0.1), ("b", 0.30000000000000004), ("c", 2**53), ("d", -0.0),
             ("e", 5e-324), ("f", 1.7976931348623157e308), ("g", -(2**53)), ("h", 1 / 3)]
    result = await lb.submit_scores(services, "f", exact)
    assert [(e.player, e.score.hex()) for e in result if e] == [
        (p, (float(s) + 0.0).hex()) for p, s in exact]
    for player, score in exact:
        assert (await lb.player_entry(services, "f", player)).score.hex() == (
            float(score) + 0.0).hex()
    assert [e.player for e in await lb.top(services, "f", 10)] == [
        "f", "c", "h", "b", "a", "e", "d", "g"]
    for bad in ([("x", 2**53 + 1)], [("x", 10**400)], [("x", True)], [("x", "7")],
                [("f", 1.7976931348623157e308)]):  # the last one: an increment past the max
        with pytest.raises(actions.Invalid):
            await lb.submit_scores(services, "f", bad)  # type: ignore[arg-type]
    assert (await lb.player_entry(services, "f", "f")).score == 1.7976931348623157e308
    assert await lb.count_entries(services, "f") == len(exact)
    assert (await _audit_actions(services)).count("leaderboard.scores") == 1


async def test_ties_order_by_code_point_and_the_cap_agrees(services: Services) -> None:
    await lb.create_leaderboard(services, slug="cp", max_entries=3)
    result = await lb.submit_scores(services, "cp", [("b", 1), ("B", 1), ("é", 1), ("a", 1)])
    assert _rows(result) == [("b", 1.0, 1), ("B", 1.0, 1), None, ("a", 1.0, 1)]
    assert [e.player for e in await lb.top(services, "cp")] == ["B", "a", "b"]
    assert await _index_order(services, "cp") == await _db_order(services, "cp")


async def test_a_deleted_board_leaves_no_index(services: Services) -> None:
    old = await lb.create_leaderboard(services, slug="old")
    await lb.submit_scores(services, "old", [("ann", 1), ("bob", 2)])
    await lb.delete_leaderboard(services, "old")
    assert not await services.leaderboard_index.built(old.id or 0)
    new = await lb.create_leaderboard(services, slug="new")  # SQLite may reuse the id
    assert await lb.count_entries(services, "new") == 0
    assert await lb.top(services, new.id or 0) == []


async def test_reads_of_a_built_board_query_no_database(services: Services) -> None:
    created = await lb.create_leaderboard(services, slug="q", sort_order="asc", public=False)
    await lb.submit_scores(services, "q", [("a", 1), ("b", 2)])
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(services.db.engine.sync_engine, "before_cursor_execute", record)
    try:
        board = await lb.read_leaderboard(services, "q")
        by_id = await lb.read_leaderboard(services, str(created.id))
        top = [(e.player, e.rank) for e in await lb.top(services, "q")]
        assert top == [("a", 1), ("b", 2)]
        assert len(await lb.players_around(services, board, "b", 1)) == 2
        assert (await lb.player_entry(services, "q", "b")).rank == 2
        assert len(await lb.by_rank(services, "q", 2, 2)) == 1
        assert await lb.count_entries(services, "q") == 2
    finally:
        event.remove(services.db.engine.sync_engine, "before_cursor_execute", record)
    assert statements == []
    assert by_id == board
    assert (board.id, board.slug, board.sort_order, board.public, board.created_at) == (
        created.id, "q", "asc", False, created.created_at)
    await lb.reset_leaderboard(services, "q")  # moves period_started_at: the copy follows
    assert (await lb.read_leaderboard(services, "q")).period_started_at == (
        await lb.get_leaderboard(services, "q")).period_started_at
    await lb.delete_leaderboard(services, "q")
    for ref in ("q", str(created.id)):
        with pytest.raises(actions.NotFound):
            await lb.read_leaderboard(services, ref)
