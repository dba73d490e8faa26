"""The ``icpc`` scoring rule: ICPC Contest API pass-fail semantics."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.scoring.icpc import IcpcRule, IcpcSettings
from server import actions
from server.components import Attempt, ProblemInfo, RowScore, Verdict
from server.services import Services
from tests.conftest import registry_for
from tests.factories import make_world, solve

RULE = IcpcRule()
PROBLEM = ProblemInfo(id=1, label="A", points=1, ordinal=0)


def tries(*items: tuple[float, str | None]) -> list[Attempt]:
    return [Attempt(submission_id=i, contest_seconds=s, verdict=Verdict(v) if v else None)
            for i, (s, v) in enumerate(items, start=1)]


def test_the_rule_is_a_builtin_plugin(make_settings: Any) -> None:
    registry = registry_for(make_settings())
    assert registry.scoring_rules.providers["icpc"] == "icpc"
    assert registry.scoring_rules.get("icpc").Settings().model_dump() == {
        "penalty_minutes": 20, "count_compile_errors": False}


def test_penalty_is_the_minute_of_the_accept_rounded_down_plus_20_per_rejected_try() -> None:
    cell = RULE.cell(PROBLEM, tries((60, "WA"), (100, "TLE"), (3599.99, "AC"), (4000, "WA")),
                     IcpcSettings())
    assert (cell.solved, cell.attempts, cell.penalty, cell.time) == (True, 3, 59 + 40, 3599.99)


def test_compile_errors_are_not_tries_by_default_and_are_with_the_setting() -> None:
    attempts = tries((60, "CE"), (120, "CE"), (600, "AC"))
    default = RULE.cell(PROBLEM, attempts, IcpcSettings())
    assert (default.attempts, default.penalty) == (1, 10)
    counted = RULE.cell(PROBLEM, attempts, IcpcSettings(count_compile_errors=True))
    assert (counted.attempts, counted.penalty) == (3, 50)


def test_penalty_minutes_setting_and_unsolved_cells_cost_nothing() -> None:
    attempts = tries((60, "WA"), (600, "AC"))
    assert RULE.cell(PROBLEM, attempts, IcpcSettings(penalty_minutes=5)).penalty == 15
    unsolved = RULE.cell(PROBLEM, tries((60, "WA"), (70, "RTE"), (80, None)), IcpcSettings())
    assert (unsolved.solved, unsolved.attempts, unsolved.pending, unsolved.penalty) == (
        False, 2, 1, 0)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        IcpcSettings(penalty_minutes=-1)
    with pytest.raises(ValueError):
        IcpcSettings.model_validate({"penalty": 20})


def test_order_solved_then_penalty_then_last_accept() -> None:
    s = IcpcSettings()
    more = RowScore(solved=3, penalty=500, last_time=290 * 60)
    cheaper = RowScore(solved=2, penalty=100, last_time=100 * 60)
    earlier_last = RowScore(solved=2, penalty=200, last_time=100 * 60)
    later_last = RowScore(solved=2, penalty=200, last_time=150 * 60)
    rows = [later_last, earlier_last, cheaper, more]
    assert sorted(rows, key=lambda r: RULE.sort_key(r, s)) == [
        more, cheaper, earlier_last, later_last]
    assert sorted(rows, key=lambda r: -RULE.rank_score(r, s)) == [
        more, cheaper, earlier_last, later_last]
    # the last accept counts in whole minutes, like the penalty
    same_minute = RowScore(solved=2, penalty=200, last_time=100 * 60 + 59)
    assert RULE.sort_key(same_minute, s) == RULE.sort_key(earlier_last, s)


async def test_board_ties_share_a_rank_and_first_to_solve_is_marked(services: Services) -> None:
    world = await make_world(services, teams=4, scoring_rule="icpc")
    await solve(services, world, 1, "A", "WA", 5)
    await solve(services, world, 1, "A", "AC", 15)        # 15 + 20 = 35, first on A
    await solve(services, world, 0, "A", "AC", 30)        # 30
    await solve(services, world, 2, "A", "CE", 1)         # CE: not a try
    await solve(services, world, 2, "A", "AC", 30.5)      # 30, ties team 0
    await solve(services, world, 3, "B", "AC", 10)        # 10, first on B
    board = await actions.scoreboard(services, world.contest, public=False)
    ranks = {r.team.id: (r.rank, r.score.solved, r.score.penalty) for r in board.rows}
    t = [team.id for team in world.teams]
    assert ranks[t[3]] == (1, 1, 10)
    assert ranks[t[0]] == ranks[t[2]] == (2, 1, 30)
    assert ranks[t[1]] == (4, 1, 35)
    firsts = {(r.team.id, c.problem_id) for r in board.rows for c in r.cells
              if c.first_to_solve}
    assert len(firsts) == 2
    assert {team for team, _ in firsts} == {t[1], t[3]}  # team 1 accepted A first (15')


async def test_first_to_solve_moves_when_an_earlier_accept_is_judged_later(
        services: Services) -> None:
    world = await make_world(services, teams=2, scoring_rule="icpc")
    early = await solve(services, world, 0, "A", "", 10)  # judged last
    await solve(services, world, 1, "A", "AC", 20)
    await actions.record_verdict(services, early.id, "AC", job_key="late")
    board = await actions.scoreboard(services, world.contest, public=False)
    firsts = [r.team.id for r in board.rows for c in r.cells if c.first_to_solve]
    assert firsts == [world.teams[0].id]


async def test_first_to_solve_passes_on_when_the_first_accept_is_rejudged_wrong(
        services: Services) -> None:
    world = await make_world(services, teams=3, scoring_rule="icpc")
    first = await solve(services, world, 0, "A", "AC", 10)
    await solve(services, world, 1, "A", "AC", 20)
    await solve(services, world, 2, "A", "AC", 30)
    await actions.record_verdict(services, first.id, "WA", job_key="rejudged")
    board = await actions.scoreboard(services, world.contest, public=False)
    firsts = [r.team.id for r in board.rows for c in r.cells if c.first_to_solve]
    assert firsts == [world.teams[1].id]
    rebuilt = await actions.rebuild_standings(services, world.contest.id)
    assert rebuilt is not None  # a full rebuild gives the same marks
    assert [r.team.id for r in rebuilt.rows for c in r.cells if c.first_to_solve] == firsts
