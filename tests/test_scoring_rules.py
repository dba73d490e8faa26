"""The built-in scoring rules ioi, weighted, dynamic and atcoder on small hand-made contests,
through the real actions (submit + record_verdict) and the stored standings."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from plugins.scoring.dynamic import DynamicSettings, value
from server import actions
from server.actions import Invalid
from server.components import ProblemInfo
from server.models import Problem, Standing
from server.models import TestCase as CaseRow
from server.models import TestGroup as GroupRow
from server.services import Services
from tests.factories import World, make_world, solve


async def _configure(services: Services, world: World, settings: dict[str, Any]) -> None:
    await actions.update_contest(services, world.contest.id, scoring_settings=settings,
                                 actor=world.admin)


async def _board(services: Services, world: World) -> list[tuple[int, int, float]]:
    """(team index, rank, points), best first."""
    index = {t.id: i for i, t in enumerate(world.teams)}
    board = await actions.scoreboard(services, world.contest, public=False)
    return [(index[r.team.id], r.rank, round(r.score.points, 4)) for r in board.rows]


async def _stored(services: Services, world: World) -> dict[int, Standing]:
    index = {t.id: i for i, t in enumerate(world.teams)}
    async with services.db.session() as session:
        rows = await session.exec(select(Standing).where(
            Standing.contest_id == world.contest.id))
        return {index[s.team_id]: s for s in rows}


# --------------------------------------------------------------------------- ioi


async def _groups(services: Services, slug: str, points: tuple[float, ...]) -> list[int]:
    """Give a problem one test per group (plus a sample group); returns the test ids."""
    tests = []
    async with services.db.session() as session:
        problem = (await session.exec(select(Problem).where(Problem.slug == slug))).one()
        sample = GroupRow(problem_id=problem.id, name="sample", is_sample=True, points=0)
        session.add(sample)
        await session.flush()
        session.add(CaseRow(problem_id=problem.id, group_id=sample.id, name="sample/1",
                             is_sample=True, input_hash="0" * 64, answer_hash="0" * 64))
        for ordinal, p in enumerate(points, start=1):
            group = GroupRow(problem_id=problem.id, name=f"group{ordinal}", ordinal=ordinal,
                              points=p)
            session.add(group)
            await session.flush()
            case = CaseRow(problem_id=problem.id, group_id=group.id, name=f"group{ordinal}/1",
                            input_hash="1" * 64, answer_hash="1" * 64)
            session.add(case)
            await session.flush()
            tests.append(case.id)
        await session.commit()
    return tests


async def _judged(services: Services, world: World, team: int, label: str, minutes: float,
                  verdicts: dict[int, str], score: float) -> None:
    sub = await solve(services, world, team, label, "", minutes)
    accepted = all(v == "AC" for v in verdicts.values())
    await actions.record_verdict(
        services, sub.id, "AC" if accepted else "WA", score=score, job_key=f"job-{sub.id}",
        runs=[{"test_case_id": t, "verdict": v} for t, v in verdicts.items()])


async def test_ioi_modes_give_different_totals_on_the_same_submissions(
        services: Services) -> None:
    world = await make_world(services, scoring_rule="ioi", teams=3,
                             problems=(("A", 100.0), ("B", 50.0)))
    t1, t2 = await _groups(services, "spring-a", (40.0, 60.0))
    # team 0 gets group 1 in one submission and group 2 in another, B half right
    await _judged(services, world, 0, "A", 10, {t1: "AC", t2: "WA"}, 0.4)
    await _judged(services, world, 0, "A", 20, {t1: "WA", t2: "AC"}, 0.6)
    await solve(services, world, 0, "B", "WA", 25)
    # team 1 solves A at once; team 2 only group 2
    await _judged(services, world, 1, "A", 30, {t1: "AC", t2: "AC"}, 1.0)
    await _judged(services, world, 2, "A", 5, {t1: "WA", t2: "AC"}, 0.6)

    # default mode: best result per subtask across submissions (IOI since 2017)
    assert (await _stored(services, world))[0].points == 100
    assert await _board(services, world) == [(0, 1, 100), (1, 1, 100), (2, 3, 60)]
    cell = (await _stored(services, world))[0].cells[0]
    assert (cell["points"], cell["solved"], cell["time"], cell["attempts"]) == (
        100, True, 1200, 2)

    await _configure(services, world, {"mode": "best_submission"})
    stored = await _stored(services, world)
    assert (stored[0].points, stored[1].points, stored[2].points) == (60, 100, 60)
    assert await _board(services, world) == [(1, 1, 100), (0, 2, 60), (2, 2, 60)]

    await _configure(services, world, {"mode": "best_subtask"})
    assert (await _stored(services, world))[0].points == 100


async def test_ioi_group_results_are_read_in_chunks(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole contest's judgings are read in chunks of ids (the drivers bound a statement's
    parameters): chunks of one give the same rows."""
    world = await make_world(services, scoring_rule="ioi", teams=2, problems=(("A", 100.0),))
    t1, t2 = await _groups(services, "spring-a", (40.0, 60.0))
    await _judged(services, world, 0, "A", 10, {t1: "AC", t2: "WA"}, 0.4)
    await _judged(services, world, 0, "A", 20, {t1: "WA", t2: "AC"}, 0.6)
    await _judged(services, world, 1, "A", 5, {t1: "WA", t2: "AC"}, 0.6)
    before = {i: (s.points, s.cells) for i, s in (await _stored(services, world)).items()}
    assert (before[0][0], before[1][0]) == (100, 60)
    monkeypatch.setattr("server.scoreboard.engine._IN_CHUNK", 1)
    await actions.rebuild_standings(services, world.contest.id)
    assert {i: (s.points, s.cells) for i, s in (await _stored(services, world)).items()} == before


async def test_ioi_scores_without_runs_and_partial_scores(services: Services) -> None:
    world = await make_world(services, scoring_rule="ioi", teams=2)
    sub = await solve(services, world, 0, "B", "", 3)
    await actions.record_verdict(services, sub.id, "WA", score=0.25, job_key="j-b")
    await solve(services, world, 0, "A", "AC", 4)   # no score: the problem's points
    await solve(services, world, 1, "B", "AC", 1)
    await solve(services, world, 1, "A", "CE", 2)
    assert await _board(services, world) == [(1, 1, 200), (0, 2, 150)]


async def test_ioi_settings_are_validated(services: Services) -> None:
    world = await make_world(services, scoring_rule="ioi")
    with pytest.raises(Invalid) as err:
        await _configure(services, world, {"mode": "best_of_all"})
    assert err.value.field == "scoring_settings"


# --------------------------------------------------------------------------- weighted

WEIGHTED = {"modules": {"coding": 60, "quiz": 40},
            "problems": {"A": "coding", "B": "quiz", "C": "coding"}}


async def test_weighted_scores_modules_orders_by_total_time_with_dense_ranks(
        services: Services) -> None:
    world = await make_world(services, scoring_rule="weighted", teams=5,
                             problems=(("A", 100.0), ("B", 10.0), ("C", 100.0), ("D", 5.0)))
    await _configure(services, world, WEIGHTED)
    await solve(services, world, 0, "A", "AC", 10)   # 100/200 × 60 = 30, time 600 s
    await solve(services, world, 1, "B", "AC", 20)   # 10/10 × 40 = 40
    await solve(services, world, 2, "C", "AC", 5)    # 30, time 300 s
    await solve(services, world, 3, "A", "AC", 5)    # 30, time 300 s: tied with team 2
    await solve(services, world, 3, "D", "AC", 1)    # D is in no module: counts nothing
    sub = await solve(services, world, 4, "B", "", 50)
    await actions.record_verdict(services, sub.id, "WA", score=0.5, job_key="w-4")  # 20
    assert await _board(services, world) == [
        (1, 1, 40), (2, 2, 30), (3, 2, 30), (0, 3, 30), (4, 4, 20)]
    stored = await _stored(services, world)
    assert (stored[0].penalty, stored[3].penalty) == (600, 300)
    assert stored[2].rank_score == stored[3].rank_score > stored[0].rank_score

    await solve(services, world, 0, "B", "AC", 60)    # 70 in all
    assert (await _board(services, world))[0] == (0, 1, 70)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modules": {"coding": 60, "quiz": 30}}, "must sum to 100, not 90"),
        ({"modules": {"coding": 120, "quiz": -20}}, "must not be negative"),
        ({"modules": {}}, "at least one module"),
        ({"modules": {"coding": 100}, "problems": {"A": "quiz"}}, "unknown modules: quiz"),
    ],
)
async def test_weighted_rejects_bad_modules_with_a_field_error(
        services: Services, data: dict[str, Any], message: str) -> None:
    world = await make_world(services, scoring_rule="weighted")
    with pytest.raises(Invalid, match=message) as err:
        await _configure(services, world, data)
    assert err.value.field == "scoring_settings"
    with pytest.raises(Invalid, match=message):
        await actions.create_contest(
            services, slug="weighted-bad", title="x", start_at=world.start,
            end_at=world.start + timedelta(hours=1), scoring_rule="weighted",
            scoring_settings=data)


# --------------------------------------------------------------------------- dynamic


async def test_dynamic_new_solve_lowers_every_earlier_solvers_score(
        services: Services) -> None:
    world = await make_world(services, scoring_rule="dynamic", teams=5)
    await _configure(services, world, {"curve": "linear", "initial": 100, "floor": 40,
                                       "decay": 20})
    expected = {1: 100, 2: 80, 3: 60, 4: 40}
    for n in range(1, 5):
        await solve(services, world, n - 1, "A", "AC", 10 * n)
        stored = await _stored(services, world)
        assert [stored[t].points for t in range(n)] == [expected[n]] * n
        board = await _board(services, world)
        assert board[:n] == [(t, 1 + t, expected[n]) for t in range(n)]   # earlier first
        assert board[n:] == [(t, n + 1, 0) for t in range(n, 5)]
    version = (await _stored(services, world))[1].version
    await solve(services, world, 4, "A", "WA", 50)    # no new solve: nobody else changes
    await solve(services, world, 0, "B", "AC", 55)    # B: first solve, A's value unchanged
    stored = await _stored(services, world)
    assert stored[0].points == 40 + 100 and stored[1].points == 40   # initial: 100 for all
    assert stored[1].version == version   # untouched by the solves that changed no value
    assert await _board(services, world) == [(0, 1, 140), (1, 2, 40), (2, 3, 40),
                                             (3, 4, 40), (4, 5, 0)]
    # a full rebuild gives the identical stored board
    before = {t: (s.points, s.rank_score, s.cells) for t, s in stored.items()}
    await actions.rebuild_standings(services, world.contest.id)
    after = {t: (s.points, s.rank_score, s.cells) for t, s in
             (await _stored(services, world)).items()}
    assert after == before


async def test_dynamic_public_board_counts_no_solve_after_the_freeze(
        services: Services) -> None:
    world = await make_world(services, scoring_rule="dynamic", teams=2, freeze=True)
    await _configure(services, world, {"initial": 100, "floor": 10, "decay": 30})
    await solve(services, world, 0, "A", "AC", 10)
    await solve(services, world, 1, "A", "AC", 100)   # after the freeze (90 minutes)
    jury = await actions.scoreboard(services, world.contest, public=False)
    assert [r.score.points for r in jury.rows] == [70, 70]
    public = await actions.scoreboard(services, world.contest, public=True)
    assert public.frozen
    assert [(r.score.points, r.cells[0].pending) for r in public.rows] == [(100, 0), (0, 1)]


async def test_dynamic_curves_and_floor() -> None:
    problem = ProblemInfo(id=1, label="A", points=500, ordinal=0)
    linear = DynamicSettings(curve="linear", floor=100, decay=50)
    assert [value(problem, n, linear) for n in (0, 1, 2, 9, 100)] == [500, 500, 450, 100, 100]
    log = DynamicSettings(curve="logarithmic", initial=300, floor=50, decay=100)
    assert value(problem, 1, log) == 300
    assert value(problem, 3, log) == round(300 - 100 * math.log(3), 6)
    assert value(problem, 10**6, log) == 50


async def test_dynamic_settings_are_validated(services: Services) -> None:
    world = await make_world(services, scoring_rule="dynamic")
    for bad in ({"initial": 10, "floor": 20}, {"curve": "quadratic"}, {"decay": -1}):
        with pytest.raises(Invalid) as err:
            await _configure(services, world, bad)
        assert err.value.field == "scoring_settings"


# --------------------------------------------------------------------------- atcoder


async def test_atcoder_orders_by_score_then_last_increase_plus_penalty(
        services: Services) -> None:
    world = await make_world(services, scoring_rule="atcoder", teams=5)
    await solve(services, world, 0, "A", "WA", 1)
    await solve(services, world, 0, "A", "AC", 10)   # 100 at 10 min + 5 = 15 min
    await solve(services, world, 0, "A", "WA", 11)   # after the increase: no penalty
    await solve(services, world, 1, "A", "AC", 14)   # 100 at 14 min
    await solve(services, world, 2, "B", "CE", 2)    # compile error: no try
    await solve(services, world, 2, "A", "AC", 12)   # 100 at 12 min
    await solve(services, world, 3, "B", "WA", 2)    # a try on an unscored problem: free
    await solve(services, world, 3, "A", "AC", 15)   # 100 at 15 min: tied with team 0
    await solve(services, world, 4, "B", "AC", 100)  # 200
    assert await _board(services, world) == [
        (4, 1, 200), (2, 2, 100), (1, 3, 100), (0, 4, 100), (3, 4, 100)]
    stored = await _stored(services, world)
    assert (stored[0].penalty, stored[0].last_time) == (300, 600)
    assert stored[0].rank_score == stored[3].rank_score


async def test_atcoder_penalty_is_a_setting(services: Services) -> None:
    world = await make_world(services, scoring_rule="atcoder", teams=2)
    await _configure(services, world, {"penalty_minutes": 0})
    await solve(services, world, 0, "A", "WA", 1)
    await solve(services, world, 0, "A", "AC", 10)
    await solve(services, world, 1, "A", "AC", 12)
    assert await _board(services, world) == [(0, 1, 100), (1, 2, 100)]
    with pytest.raises(Invalid) as err:
        await _configure(services, world, {"penalty_minutes": -5})
    assert err.value.field == "scoring_settings"
