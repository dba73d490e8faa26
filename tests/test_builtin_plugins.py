"""The five built-in plugin families, alone and inside a contest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import select

from server import actions
from server.components import Attempt, ProblemInfo, RowScore, Verdict
from server.models import BadgeAward, LevelState
from server.services import Services, build_registry
from tests.factories import make_world, solve


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from server.settings import Settings

    return build_registry(Settings(data_dir=tmp_path_factory.mktemp("reg")))


# ---------------------------------------------------------------- points


def test_points_cell_counts_tries_until_the_first_accept(registry: Any) -> None:
    rule = registry.scoring_rules.get("points")
    settings = rule.Settings()
    problem = ProblemInfo(id=7, label="A", points=250, ordinal=0)
    attempts = [Attempt(1, 60, Verdict.WRONG_ANSWER), Attempt(2, 120, Verdict.ACCEPTED),
                Attempt(3, 180, Verdict.WRONG_ANSWER)]
    cell = rule.cell(problem, attempts, settings)
    assert (cell.solved, cell.points, cell.time, cell.attempts) == (True, 250, 120, 2)
    pending = rule.cell(problem, [Attempt(1, 60, None), Attempt(2, 70, Verdict.TIME_LIMIT)],
                        settings)
    assert (pending.solved, pending.pending, pending.attempts, pending.points) == (False, 1, 1, 0)


def test_points_row_sums_and_uses_the_last_accept_time(registry: Any) -> None:
    rule = registry.scoring_rules.get("points")
    settings = rule.Settings()
    problems = [ProblemInfo(i, chr(65 + i), p, i) for i, p in enumerate((100, 50, 300))]
    cells = [rule.cell(problems[0], [Attempt(1, 600, Verdict.ACCEPTED)], settings),
             rule.cell(problems[1], [Attempt(2, 60, Verdict.WRONG_ANSWER)], settings),
             rule.cell(problems[2], [Attempt(3, 900, Verdict.ACCEPTED)], settings)]
    row = rule.row(cells, settings)
    assert (row.points, row.solved, row.last_time) == (400, 2, 900)


rows = st.builds(RowScore, points=st.integers(0, 5000).map(float),
                 last_time=st.integers(0, 30 * 24 * 3600).map(float))


@given(rows, rows)
def test_points_rank_score_orders_like_the_sort_key(a: RowScore, b: RowScore) -> None:
    from plugins.scoring.points import PointsRule, PointsSettings

    rule, settings = PointsRule(), PointsSettings()
    key_a, key_b = rule.sort_key(a, settings), rule.sort_key(b, settings)
    score_a, score_b = rule.rank_score(a, settings), rule.rank_score(b, settings)
    assert (key_a < key_b) == (score_a > score_b)
    assert (key_a == key_b) == (score_a == score_b)
    assert 0 <= score_a < 2**53


# ---------------------------------------------------------------- medals


def test_medal_levels_and_progress(registry: Any) -> None:
    system = registry.level_systems.get("medals")
    schema = registry.settings_schema("medals")
    settings = schema(bronze=100, silver=200, gold=400)
    assert system.level_for(RowScore(points=0), settings).level == ""
    assert system.level_for(RowScore(points=50), settings).progress == 0.5
    silver = system.level_for(RowScore(points=300), settings)
    assert (silver.level, silver.index, silver.progress) == ("Silver", 2, 0.5)
    assert system.level_for(RowScore(points=999), settings).level == "Gold"
    with pytest.raises(ValidationError, match="thresholds must increase"):
        schema(bronze=300, silver=200, gold=400)
    with pytest.raises(ValidationError):
        schema(bronze=-1)


# ---------------------------------------------------------------- exact checker


def test_exact_checker(registry: Any) -> None:
    checker = registry.checkers.get("exact")
    assert checker.check(b"1 2\n3\n", b"1 2\n3\n").accepted
    wrong = checker.check(b"1 2\n4\n", b"1 2\n3\n")
    assert not wrong.accepted and wrong.message == "first difference at line 2, column 1"
    short = checker.check(b"1 2\n", b"1 2\n3\n")
    assert not short.accepted and "output ends early" in short.message
    assert not checker.check(b"1 2\n3", b"1 2\n3\n").accepted  # byte for byte
    assert not checker.check(b"1  2\n", b"1 2\n").accepted


# ---------------------------------------------------------------- inside a contest


async def test_badges_levels_and_snapshots_in_a_contest(services: Services) -> None:
    world = await make_world(
        services, teams=3,
        plugins={"first_accepted": {}, "medals": {"bronze": 100, "silver": 250, "gold": 300},
                 "json_snapshot": {"folder": "exports-a"}})
    await solve(services, world, 0, "A", "WA", 5)
    await solve(services, world, 0, "A", "AC", 10)
    await solve(services, world, 0, "B", "AC", 20)
    await solve(services, world, 1, "B", "AC", 15)
    async with services.db.session() as session:
        awards = list(await session.exec(select(BadgeAward).order_by(BadgeAward.id)))
        levels = {s.team_id: s for s in await session.exec(select(LevelState))}
    assert [(a.team_id, a.badge, a.data["problem"]) for a in awards] == [
        (world.teams[0].id, "first_accepted", "A"), (world.teams[1].id, "first_accepted", "B")]
    assert awards[0].data["first_in_contest"] is True
    assert awards[1].data["first_in_contest"] is False
    assert (levels[world.teams[0].id].level, levels[world.teams[0].id].level_index) == ("Gold", 3)
    assert levels[world.teams[1].id].level == "Bronze"
    assert levels[world.teams[2].id].level == ""

    snapshot = Path(services.settings.data_dir) / "exports" / "exports-a" / "spring.json"
    document = json.loads(snapshot.read_text())
    assert [(r["rank"], r["team_id"], r["points"]) for r in document["rows"]] == [
        (1, world.teams[0].id, 300), (2, world.teams[1].id, 200), (3, world.teams[2].id, 0)]
    assert not list(snapshot.parent.glob(".snapshot-*"))  # no temp files left behind


async def test_level_change_event_fires_only_on_a_change(make_settings: Any, db_url: str) -> None:
    from server.hooks import hookimpl

    changes: list[tuple[str | None, str]] = []

    class Listener:
        @hookimpl
        def podium_level_changed(self, state: LevelState, old_level: str | None) -> None:
            changes.append((old_level, state.level))

    settings = make_settings(database_url=db_url)
    services = await Services.create(settings, registry=build_registry(
        settings, {"listener": Listener()}))
    try:
        world = await make_world(services, teams=1, plugins={"medals": {}, "listener": {}})
        changes.clear()
        await solve(services, world, 0, "A", "AC", 5)   # 100: Bronze
        await solve(services, world, 0, "A", "AC", 6)   # same problem again: no change
        await solve(services, world, 0, "B", "AC", 7)   # 300: Gold
    finally:
        await services.close()
    assert changes == [("", "Bronze"), ("Bronze", "Gold")]


async def test_disabled_plugins_stay_inert(services: Services) -> None:
    world = await make_world(services, plugins={})
    await solve(services, world, 0, "A", "AC", 5)
    async with services.db.session() as session:
        assert list(await session.exec(select(BadgeAward))) == []
        assert list(await session.exec(select(LevelState))) == []
    assert not (Path(services.settings.data_dir) / "exports").exists()
    board = await actions.scoreboard(services, world.contest, public=False)
    assert board.rows[0].score.points == 100
