"""Leaderboards: modes, ranks and ties, caps, lazy resets, SQL reads at 10k, the practice feed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from server import actions
from server.actions import leaderboards as lb
from server.models import AuditEntry, Leaderboard
from server.services import Services
from tests.factories import make_world, solve


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
async def test_periods_reset_lazily(services: Services, period: str) -> None:
    board = await lb.create_leaderboard(services, slug="p", reset_period=period,
                                        update_mode="increment")
    await lb.submit_scores(services, "p", [("a", 3), ("b", 1)])
    assert await lb.count_entries(services, "p") == 2
    async with services.db.session() as session:  # as if the board was last reset long ago
        row = await session.get(Leaderboard, board.id)
        assert row is not None
        row.period_started_at = row.period_started_at - timedelta(days=40)
        session.add(row)
        await session.commit()
    assert await lb.count_entries(services, "p") == 0
    assert await lb.top(services, "p") == []
    with pytest.raises(actions.NotFound):
        await lb.player_entry(services, "p", "a")
    assert _rows(await lb.submit_scores(services, "p", [("a", 1)])) == [("a", 1.0, 1)]
    assert await lb.count_entries(services, "p") == 1
    fresh = await lb.get_leaderboard(services, "p")
    assert fresh.period_started_at == lb.period_start(period, datetime.now(UTC))
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
