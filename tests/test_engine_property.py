"""The incremental standings equal a full recompute, for every built-in rule (hypothesis).

Each example is a random small contest: submissions at random minutes, judged in a random
order (so earlier accepts may be judged late), some of them judged again with another verdict
(a rejudge). Every verdict goes through ``record_verdict``, which recomputes only the affected
rows (the team, and for cross-team effects the other solvers or first solvers). Afterwards the
stored rows must equal what ``rebuild_standings`` computes from scratch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from server import actions
from server.models import Standing
from server.services import Services
from server.settings import Settings
from tests.factories import make_world

RULES = ["points", "icpc", "ioi", "dynamic", "atcoder"]
VERDICTS = ["AC", "AC", "WA", "TLE", "RTE", "CE"]  # accepts twice as likely: they move boards
_slugs = itertools.count()

submission = st.tuples(
    st.integers(0, 2),                    # team
    st.sampled_from("AAB"),               # problem (A more often: more contested firsts)
    st.integers(0, 299),                  # minute of the contest
    st.sampled_from(VERDICTS),            # first verdict
    st.one_of(st.none(), st.sampled_from(VERDICTS)),  # a rejudge's verdict, if any
)
contest = st.tuples(
    st.lists(submission, min_size=1, max_size=10),
    st.randoms(use_true_random=False),    # the order verdicts arrive in
)


class Reversed(random.Random):
    """Verdicts arrive in the reverse order of submission (every earlier one judged late)."""

    def shuffle(self, x: Any) -> None:  # type: ignore[override]
        x.reverse()


LATE_FIRST_ACCEPT = ([(0, "A", 10, "AC", None), (1, "A", 20, "AC", None)], Reversed())
REJUDGED_FIRST_ACCEPT = ([(0, "A", 10, "AC", "WA"), (1, "A", 20, "AC", None),
                          (2, "A", 30, "WA", "AC")], random.Random(1))


def _rows(rows: list[Standing]) -> dict[int, tuple[Any, ...]]:
    return {r.team_id: (r.solved, round(r.penalty, 6), round(r.points, 6), r.cells,
                        r.rank_score) for r in rows}


async def _example(template: Path, root: Path, rule: str,
                   drawn: tuple[list[tuple[int, str, int, str, str | None]], Any]) -> None:
    subs, order = drawn
    slug = f"p{next(_slugs)}"
    database = root / f"{slug}.sqlite3"
    shutil.copy(template, database)
    services = await Services.create(Settings(
        data_dir=root / slug, database_url=f"sqlite+aiosqlite:///{database}",
        secret_key="test-secret-key"))
    try:
        world = await make_world(services, slug=slug, teams=3, scoring_rule=rule,
                                 problems=(("A", 100.0), ("B", 200.0)))
        submitted = []
        for team, label, minute, first, again in subs:
            sub = await actions.submit(
                services, contest=world.contest.id, team_id=world.teams[team].id,
                problem=label, language="python3", files={"main.py": b"print(1)\n"},
                user=world.users[team], trusted=True,
                at=world.start + timedelta(minutes=minute))
            submitted.append((sub.id, first, again))
        order.shuffle(submitted)
        for sub_id, first, _ in submitted:
            await actions.record_verdict(services, sub_id, first, job_key=f"{slug}-{sub_id}")
        for sub_id, _, again in submitted:
            if again is not None:
                await actions.record_verdict(services, sub_id, again,
                                             job_key=f"{slug}-{sub_id}-again")
        async with services.db.session() as session:
            incremental = _rows(list(await session.exec(select(Standing).where(
                Standing.contest_id == world.contest.id))))
        board = await actions.rebuild_standings(services, world.contest.id)
        assert board is not None
        async with services.db.session() as session:
            full = _rows(list(await session.exec(select(Standing).where(
                Standing.contest_id == world.contest.id))))
        assert incremental == full
    finally:
        await services.close()


@pytest.mark.parametrize("rule", RULES)
def test_incremental_standings_equal_a_full_recompute(
        rule: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp(f"property-{rule}")

    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(contest)
    @example(LATE_FIRST_ACCEPT)
    @example(REJUDGED_FIRST_ACCEPT)
    def check(drawn: tuple[list[tuple[int, str, int, str, str | None]], Any]) -> None:
        asyncio.run(_example(sqlite_template, root, rule, drawn))

    check()


async def test_attempt_times_are_exact_and_the_freeze_boundary_holds(services: Services) -> None:
    """The engine's read of the attempts (seconds computed by PostgreSQL, by Python on SQLite)
    gives each submission's exact seconds since the start, microseconds included, past a day
    too; a submission at the freeze instant is hidden, one a microsecond before is not."""
    from server.components import Attempt, Verdict
    from server.scoreboard import engine
    from tests.factories import solve

    world = await make_world(services, slug="exact", teams=1, freeze=True)
    await actions.update_contest(services, world.contest.id,
                                 end_at=world.start + timedelta(days=2))  # a long practice
    freeze_minutes = 90
    minutes = [59.999999 / 60, 1.0, 0.5 / 60, freeze_minutes - 1e-6 / 60, freeze_minutes,
               (86_400 + 60.000001) / 60]
    subs = [await solve(services, world, 0, "A", "WA", m) for m in minutes]
    contest = world.contest
    async with services.db.read() as session:
        fresh = await session.get(type(contest), contest.id)
        everything, _ = await engine._load(session, fresh, None, None)
        frozen, _ = await engine._load(session, fresh, None, fresh.freeze_at)
    team = world.teams[0].id
    problem = next(iter({p for _, p in everything}))
    expected = sorted(((s.submitted_at - fresh.start_at).total_seconds(), s.id) for s in subs)
    assert [(a.contest_seconds, a.submission_id) for a in everything[(team, problem)]] == expected
    assert [a.verdict for a in frozen[(team, problem)]] == [
        Verdict.WRONG_ANSWER if seconds < freeze_minutes * 60 else None
        for seconds, _ in expected]
    assert [a.contest_seconds for a in frozen[(team, problem)]][3:5] == [
        freeze_minutes * 60 - 1e-6, freeze_minutes * 60]
    # The fast constructor makes the same frozen dataclass the plugin API documents.
    made = engine._attempt(7, 1.5, Verdict.ACCEPTED, 0.5, {1: 0.5})
    assert made == Attempt(7, 1.5, Verdict.ACCEPTED, 0.5, {1: 0.5})
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.verdict = None  # type: ignore[misc]
