"""Standings: fold recorded verdicts through the contest's scoring rule.

The ``standings`` table is the source of truth for the jury board; the sorted index (memory or
Redis) is rebuilt from it. The public board during a freeze is computed from the database with
every attempt made after the freeze shown as pending.

This first engine recomputes one team's row per verdict (its submissions only) and orders rows
with the rule's sort key; the scoreboard issue makes every step incremental.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.components import (
    Attempt,
    Cell,
    ContestInfo,
    ProblemInfo,
    RowScore,
    ScoringRule,
    StandingRow,
    TeamInfo,
    Verdict,
)
from server.models import (
    Contest,
    ContestProblem,
    JudgingRun,
    Standing,
    Submission,
    Team,
    TestCase,
    TestGroup,
    utcnow,
)

__all__ = [
    "Board",
    "board",
    "contest_info",
    "contest_problems",
    "first_solvers",
    "recompute_teams",
    "with_solves",
]


def contest_info(contest: Contest) -> ContestInfo:
    assert contest.id is not None
    return ContestInfo(
        id=contest.id,
        slug=contest.slug,
        title=contest.title,
        start_at=contest.start_at,
        end_at=contest.end_at,
        freeze_at=contest.freeze_at,
    )


async def contest_problems(session: AsyncSession, contest_id: int) -> list[ProblemInfo]:
    rows = await session.exec(
        select(ContestProblem)
        .where(ContestProblem.contest_id == contest_id)
        .order_by(col(ContestProblem.ordinal), col(ContestProblem.label))
    )
    return [
        ProblemInfo(id=cp.problem_id, label=cp.label, points=cp.points, ordinal=cp.ordinal)
        for cp in rows
    ]


def _attempt(contest: Contest, sub: Submission, hide_after: datetime | None) -> Attempt:
    seconds = (sub.submitted_at - contest.start_at).total_seconds()
    verdict: Verdict | None = None
    if sub.verdict and (hide_after is None or sub.submitted_at < hide_after):
        verdict = Verdict(sub.verdict)
    return Attempt(submission_id=sub.id or 0, contest_seconds=seconds, verdict=verdict,
                   score=sub.score if verdict is not None else None)


async def with_solves(
    session: AsyncSession, contest: Contest, problems: Sequence[ProblemInfo],
    hide_after: datetime | None = None,
) -> list[ProblemInfo]:
    """The problems with :attr:`ProblemInfo.solves` filled in: visible teams with an accepted
    submission in the contest window (before ``hide_after`` in a frozen view)."""
    limit = contest.end_at if hide_after is None else min(contest.end_at, hide_after)
    rows = await session.exec(
        select(Submission.problem_id, func.count(func.distinct(Submission.team_id)))
        .join(Team, col(Team.id) == Submission.team_id)
        .where(
            Submission.contest_id == contest.id,
            Submission.verdict == Verdict.ACCEPTED.value,
            Submission.submitted_at >= contest.start_at,
            Submission.submitted_at < limit,
            col(Team.hidden).is_(False),
        )
        .group_by(col(Submission.problem_id))
    )
    counts = {problem_id: count for problem_id, count in rows}
    return [dataclasses.replace(p, solves=counts.get(p.id, 0)) for p in problems]


async def _solvers(session: AsyncSession, contest: Contest, problem_ids: set[int]) -> set[int]:
    """Teams with an accepted submission to one of these problems in the contest window."""
    rows = await session.exec(
        select(Submission.team_id).distinct().where(
            Submission.contest_id == contest.id,
            Submission.verdict == Verdict.ACCEPTED.value,
            Submission.submitted_at >= contest.start_at,
            Submission.submitted_at < contest.end_at,
            col(Submission.problem_id).in_(sorted(problem_ids)),
        )
    )
    return set(rows)


async def _group_results(
    session: AsyncSession, problem_ids: set[int], judging_ids: set[int]
) -> dict[int, dict[int, float]]:
    """judging id -> {group id: fraction of the problem's points earned in that group}.

    The scoring groups are those :func:`judges.judge._score` counts: non-sample, with points,
    holding tests themselves; a group is earned when each of its tests has an accepted run."""
    if not judging_ids:
        return {}
    groups = list(await session.exec(select(TestGroup).where(
        col(TestGroup.problem_id).in_(sorted(problem_ids)), col(TestGroup.is_sample).is_(False),
        TestGroup.points > 0)))
    tests = list(await session.exec(select(TestCase).where(
        col(TestCase.problem_id).in_(sorted(problem_ids)), col(TestCase.group_id).is_not(None))))
    tests_of: dict[int, set[int]] = defaultdict(set)
    for t in tests:
        tests_of[t.group_id].add(t.id)  # type: ignore[arg-type,index]
    scoring = [g for g in groups if tests_of.get(g.id)]  # type: ignore[arg-type]
    total: dict[int, float] = defaultdict(float)
    for g in scoring:
        total[g.problem_id] += g.points
    accepted: dict[int, set[int]] = defaultdict(set)
    seen: set[int] = set()
    for run in await session.exec(select(JudgingRun).where(
            col(JudgingRun.judging_id).in_(sorted(judging_ids)))):
        seen.add(run.judging_id)
        if run.verdict == Verdict.ACCEPTED.value:
            accepted[run.judging_id].add(run.test_case_id)
    problem_of_judging: dict[int, int] = {}
    for judging_id, problem_id in await session.exec(
            select(Submission.current_judging_id, Submission.problem_id).where(
                col(Submission.current_judging_id).in_(sorted(judging_ids)))):
        problem_of_judging[judging_id] = problem_id  # type: ignore[index]
    out: dict[int, dict[int, float]] = {}
    for judging_id in seen:
        problem_id = problem_of_judging.get(judging_id)
        if problem_id is None or not total.get(problem_id):
            continue
        out[judging_id] = {
            g.id: (g.points / total[problem_id]
                   if tests_of[g.id] <= accepted[judging_id] else 0.0)  # type: ignore[index]
            for g in scoring if g.problem_id == problem_id
        }
    return out


async def _attempts(
    session: AsyncSession,
    contest: Contest,
    team_ids: Iterable[int] | None,
    hide_after: datetime | None,
    rule: ScoringRule | None = None,
) -> dict[tuple[int, int], list[Attempt]]:
    query = select(Submission).where(
        Submission.contest_id == contest.id,
        Submission.submitted_at >= contest.start_at,
        Submission.submitted_at < contest.end_at,
    )
    if team_ids is not None:
        query = query.where(col(Submission.team_id).in_(list(team_ids)))
    query = query.order_by(col(Submission.submitted_at), col(Submission.id))
    out: dict[tuple[int, int], list[Attempt]] = defaultdict(list)
    subs = [sub for sub in await session.exec(query)
            # a judge error is our failure: never charged, shown as pending until rejudged
            if sub.verdict != Verdict.JUDGE_ERROR]
    groups: dict[int, dict[int, float]] = {}
    if rule is not None and rule.uses_test_groups:
        groups = await _group_results(
            session, {s.problem_id for s in subs},
            {s.current_judging_id for s in subs if s.current_judging_id is not None})
    for sub in subs:
        attempt = _attempt(contest, sub, hide_after)
        if attempt.verdict is not None and sub.current_judging_id in groups:
            attempt = dataclasses.replace(attempt, groups=groups[sub.current_judging_id])
        out[(sub.team_id, sub.problem_id)].append(attempt)
    return out


async def first_solvers(
    session: AsyncSession, contest: Contest, hide_after: datetime | None = None
) -> dict[int, int]:
    """problem_id -> team_id of the first accepted submission (in the given view)."""
    limit = contest.end_at if hide_after is None else min(contest.end_at, hide_after)
    first = (
        select(Submission.problem_id, func.min(Submission.submitted_at).label("at"))
        .where(
            Submission.contest_id == contest.id,
            Submission.verdict == Verdict.ACCEPTED.value,
            Submission.submitted_at >= contest.start_at,
            Submission.submitted_at < limit,
        )
        .group_by(col(Submission.problem_id))
        .subquery()
    )
    rows = await session.exec(
        select(Submission.problem_id, Submission.team_id)
        .join(first, (first.c.problem_id == Submission.problem_id)
              & (first.c.at == Submission.submitted_at))
        .where(Submission.contest_id == contest.id, Submission.verdict == Verdict.ACCEPTED.value)
        .order_by(col(Submission.id))
    )
    out: dict[int, int] = {}
    for problem_id, team_id in rows:
        out.setdefault(problem_id, team_id)
    return out


def _fold(
    rule: ScoringRule,
    settings: BaseModel,
    problems: Sequence[ProblemInfo],
    attempts: dict[tuple[int, int], list[Attempt]],
    team_id: int,
    firsts: dict[int, int],
) -> tuple[list[Cell], RowScore]:
    cells = []
    for problem in problems:
        cell = rule.cell(problem, attempts.get((team_id, problem.id), ()), settings)
        cell.first_to_solve = cell.solved and firsts.get(problem.id) == team_id
        cells.append(cell)
    return cells, rule.fold_row(problems, cells, settings)


async def recompute_teams(
    session: AsyncSession,
    contest: Contest,
    rule: ScoringRule,
    settings: BaseModel,
    team_ids: Iterable[int],
) -> list[Standing]:
    """Recompute and store the jury rows of these teams (in the caller's transaction).

    For a rule with cross-team effects (``solve_counts``), a change of one of these teams'
    solved problems changes those problems' values: every team that solved such a problem is
    recomputed as well, and returned with the others."""
    assert contest.id is not None
    team_ids = list(dict.fromkeys(team_ids))
    problems = await contest_problems(session, contest.id)
    assert isinstance(team_ids, list)
    if rule.solve_counts:
        problems = await with_solves(session, contest, problems)
    attempts = await _attempts(session, contest, team_ids, None, rule)
    firsts = await first_solvers(session, contest)
    folded = {t: _fold(rule, settings, problems, attempts, t, firsts) for t in team_ids}
    stored = {t: await session.get(Standing, (contest.id, t)) for t in team_ids}
    async def add(teams: list[int]) -> None:
        """Fold these further teams too (the rows this change affects)."""
        if not teams:
            return
        attempts.update(await _attempts(session, contest, teams, None, rule))
        for team_id in teams:
            folded[team_id] = _fold(rule, settings, problems, attempts, team_id, firsts)
            stored[team_id] = await session.get(Standing, (contest.id, team_id))
        team_ids.extend(teams)

    if rule.solve_counts:
        changed = _moved(folded, stored, ("solved",))
        if changed:
            await add(sorted(await _solvers(session, contest, changed) - set(team_ids)))
    await add(await _stale_first_solvers(session, contest, folded, stored, firsts))
    out = []
    for team_id in team_ids:
        cells, row = folded[team_id]
        standing = stored[team_id]
        if standing is None:
            standing = Standing(contest_id=contest.id, team_id=team_id)
        standing.points = row.points
        standing.solved = row.solved
        standing.penalty = row.penalty
        standing.last_time = row.last_time
        standing.rank_score = rule.rank_score(row, settings)
        standing.cells = [c.as_dict() for c in cells]
        standing.version += 1
        standing.updated_at = utcnow()
        session.add(standing)
        out.append(standing)
    return out


def _moved(folded: dict[int, tuple[list[Cell], RowScore]], stored: dict[int, Standing | None],
           flags: tuple[str, ...]) -> set[int]:
    """Problems on which one of these flags of a folded team differs from its stored row."""
    moved: set[int] = set()
    for team_id, (cells, _) in folded.items():
        old = stored.get(team_id)
        old_cells = old.cells if old is not None else []
        for flag in flags:
            before = {c["problem_id"] for c in old_cells if c.get(flag)}
            moved |= before ^ {c.problem_id for c in cells if getattr(c, flag)}
    return moved


async def _stale_first_solvers(session: AsyncSession, contest: Contest,
                               folded: dict[int, tuple[list[Cell], RowScore]],
                               stored: dict[int, Standing | None],
                               firsts: dict[int, int]) -> list[int]:
    """Other teams whose stored first-to-solve marks are wrong after these teams' change.

    When a recomputed team's solves or first-to-solve marks change on a problem (an earlier
    accept judged late, a rejudge), the team that held the mark until then, or the one that
    holds it now, must be recomputed too."""
    moved = _moved(folded, stored, ("solved", "first_to_solve"))
    if not moved:
        return []
    stale = []
    for standing in await session.exec(select(Standing).where(
            Standing.contest_id == contest.id)):
        if standing.team_id in folded:
            continue
        claims = {c["problem_id"] for c in standing.cells if c.get("first_to_solve")} & moved
        holds = {p for p in moved if firsts.get(p) == standing.team_id}
        if claims != holds:
            stale.append(standing.team_id)
    return stale


class Board:
    """An ordered scoreboard with competition ranks (equal sort keys share a rank)."""

    def __init__(self, contest: Contest, problems: list[ProblemInfo], rows: list[StandingRow],
                 frozen: bool) -> None:
        self.contest = contest
        self.problems = problems
        self.rows = rows
        self.frozen = frozen

    def as_dict(self) -> dict[str, object]:
        return {
            "contest": self.contest.slug,
            "frozen": self.frozen,
            "problems": [{"id": p.id, "label": p.label, "points": p.points} for p in self.problems],
            "rows": [
                {
                    "rank": r.rank,
                    "team_id": r.team.id,
                    "team": r.team.name,
                    "points": r.score.points,
                    "solved": r.score.solved,
                    "penalty": r.score.penalty,
                    "last_time": r.score.last_time,
                    "cells": [c.as_dict() for c in r.cells],
                }
                for r in self.rows
            ],
        }


async def board(
    session: AsyncSession,
    contest: Contest,
    rule: ScoringRule,
    settings: BaseModel,
    *,
    public: bool = False,
    now: datetime | None = None,
) -> Board:
    """The full board. ``public`` honours the freeze (later attempts show as pending) and
    hides the problems before the start."""
    assert contest.id is not None
    now = now or utcnow()
    frozen = public and contest.is_frozen_at(now)
    # Before the start the public board names no problem (the problem set is secret).
    problems = [] if public and now < contest.start_at else await contest_problems(
        session, contest.id)
    teams = list(
        await session.exec(
            select(Team).where(Team.contest_id == contest.id, col(Team.hidden).is_(False))
        )
    )
    rows: list[tuple[tuple[float, ...], StandingRow]] = []
    if frozen:
        hide_after = contest.freeze_at
        if rule.solve_counts:
            problems = await with_solves(session, contest, problems, hide_after)
        attempts = await _attempts(session, contest, None, hide_after, rule)
        firsts = await first_solvers(session, contest, hide_after)
        for team in teams:
            assert team.id is not None
            cells, score = _fold(rule, settings, problems, attempts, team.id, firsts)
            rows.append((rule.sort_key(score, settings),
                         StandingRow(TeamInfo(team.id, team.display_name or team.name), 0, score,
                                     cells)))
    else:
        stored = {
            s.team_id: s
            for s in await session.exec(select(Standing).where(Standing.contest_id == contest.id))
        }
        for team in teams:
            assert team.id is not None
            s = stored.get(team.id)
            if s is None:
                cells, score = _fold(rule, settings, problems, {}, team.id, {})
            else:
                score = RowScore(points=s.points, solved=s.solved, penalty=s.penalty,
                                 last_time=s.last_time)
                shown = {p.id for p in problems}
                cells = [Cell(**c) for c in s.cells if c["problem_id"] in shown]
            rows.append((rule.sort_key(score, settings),
                         StandingRow(TeamInfo(team.id, team.display_name or team.name), 0, score,
                                     cells)))
    rows.sort(key=lambda item: (item[0], item[1].team.name.lower(), item[1].team.id))
    ordered: list[StandingRow] = []
    previous: tuple[float, ...] | None = None
    rank = 0
    for position, (key, row) in enumerate(rows, start=1):
        if key != previous:
            rank = rank + 1 if rule.dense_ranks else position
            previous = key
        row.rank = rank
        ordered.append(row)
    return Board(contest, problems, ordered, frozen)
