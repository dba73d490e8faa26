"""Standings: fold recorded verdicts through the contest's scoring rule.

The ``standings`` table is the source of truth for the jury board; the sorted index (memory or
Redis) is rebuilt from it. The public board during a freeze is computed from the database with
every attempt made after the freeze shown as pending.

This first engine recomputes one team's row per verdict (its submissions only) and orders rows
with the rule's sort key; the scoreboard issue makes every step incremental.

A full recompute (every team of the contest) and the frozen public board read the contest's
submissions with one select of plain rows (no ORM objects), find the first solvers in the same
pass, and store the rows with one upsert; ``python -m server.scoreboard.bench`` measures it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import Select, func
from sqlalchemy.dialects import postgresql, sqlite
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
    "frozen_rows",
    "jury_rows",
    "order_rows",
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


_VERDICTS = {v.value: v for v in Verdict}
_ATTEMPT_SLOTS = tuple(getattr(Attempt, field.name).__set__
                       for field in dataclasses.fields(Attempt))


def _attempt(submission_id: int, contest_seconds: float, verdict: Verdict | None,
             score: float | None, groups: dict[int, float] | None) -> Attempt:
    """``Attempt(submission_id, contest_seconds, verdict, score, groups)``, made twice as fast
    as the frozen dataclass's ``__init__`` (which sets each field through
    ``object.__setattr__``) by setting its slots directly: a full recompute makes one per
    submission."""
    attempt = object.__new__(Attempt)
    set_id, set_seconds, set_verdict, set_score, set_groups = _ATTEMPT_SLOTS
    set_id(attempt, submission_id)
    set_seconds(attempt, contest_seconds)
    set_verdict(attempt, verdict)
    set_score(attempt, score)
    set_groups(attempt, groups)
    return attempt


@contextlib.contextmanager
def _bulk(active: bool = True) -> Iterator[None]:
    """No cyclic garbage collection during a bulk read (when ``active``).

    Reading a whole contest makes about ten objects per submission (rows, datetimes,
    attempts, cells) that all stay alive until the fold is done: the collector would scan
    them again and again and take longer than the work itself (half of a full recompute).
    Reference counting still frees everything; the collector is off for the whole process
    meanwhile, and resumes when the outermost bulk section ends."""
    enabled = active and gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


_IN_CHUNK = 10_000
"""Ids per ``IN (...)`` list when a whole contest's judgings are read."""


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
    problem_of_judging: dict[int, int] = {}
    ordered = sorted(judging_ids)
    # A whole contest has a judging per submission: a bound parameter each would pass the
    # drivers' limit (32,767), so the ids go in chunks.
    for chunk in (ordered[i:i + _IN_CHUNK] for i in range(0, len(ordered), _IN_CHUNK)):
        for judging_id, test_case_id, verdict in await session.exec(
                select(JudgingRun.judging_id, JudgingRun.test_case_id, JudgingRun.verdict)
                .where(col(JudgingRun.judging_id).in_(chunk))):
            seen.add(judging_id)
            if verdict == Verdict.ACCEPTED.value:
                accepted[judging_id].add(test_case_id)
        for judging_id, problem_id in await session.exec(
                select(Submission.current_judging_id, Submission.problem_id).where(
                    col(Submission.current_judging_id).in_(chunk))):
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
    return (await _load(session, contest, team_ids, hide_after, rule))[0]


async def _load(
    session: AsyncSession,
    contest: Contest,
    team_ids: Iterable[int] | None,
    hide_after: datetime | None,
    rule: ScoringRule | None = None,
) -> tuple[dict[tuple[int, int], list[Attempt]], dict[int, int]]:
    """The attempts of these teams (None = every team) by (team, problem), in submission
    order, and the first solvers found among them (problem -> team; as :func:`first_solvers`
    when ``team_ids`` is None).

    One select of plain rows, no ORM objects: a full recompute reads every submission."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The seconds since the start, computed by PostgreSQL: a float8 decodes faster than a
        # timestamp and saves a datetime and a timedelta per row. Exact like Python's
        # ``(at - start).total_seconds()``: the interval's microseconds, correctly rounded.
        start = sa.bindparam("podium_start", contest.start_at, type_=sa.DateTime(timezone=True))
        seconds: Any = sa.cast(sa.extract("epoch", sa.type_coerce(
            Submission.submitted_at, sa.DateTime(timezone=True)) - start), sa.Float)
    else:
        # The driver's own datetimes (naive UTC on SQLite, as UTCDateTime stores them),
        # without UTCDateTime's per-row conversion.
        seconds = sa.type_coerce(Submission.submitted_at, sa.DateTime())
    query = select(
        Submission.team_id, Submission.problem_id, Submission.id, seconds,
        Submission.verdict, Submission.score, Submission.current_judging_id,
    ).where(
        Submission.contest_id == contest.id,
        Submission.submitted_at >= contest.start_at,
        Submission.submitted_at < contest.end_at,
        # a judge error is our failure: never charged, shown as pending until rejudged
        sa.or_(col(Submission.verdict).is_(None),
               Submission.verdict != Verdict.JUDGE_ERROR.value),
    )
    if team_ids is not None:
        query = query.where(col(Submission.team_id).in_(list(team_ids)))
    query = query.order_by(col(Submission.submitted_at), col(Submission.id))
    subs: Sequence[Any] = await _rows(session, query)
    if not postgres:
        naive_start = _naive_utc(contest.start_at)
        subs = [(t, p, i, (at - naive_start).total_seconds(), v, s, j)
                for t, p, i, at, v, s, j in subs]
    groups: dict[int, dict[int, float]] = {}
    if rule is not None and rule.uses_test_groups:
        groups = await _group_results(
            session, {row[1] for row in subs}, {row[6] for row in subs if row[6] is not None})
    hidden_from = (math.inf if hide_after is None
                   else (hide_after - contest.start_at).total_seconds())
    out: dict[tuple[int, int], list[Attempt]] = {}
    firsts: dict[int, int] = {}
    accepted, verdicts, make = Verdict.ACCEPTED, _VERDICTS, _attempt  # locals: ~10^5 rows
    for team_id, problem_id, sub_id, at, name, score, judging_id in subs:
        if name and at < hidden_from:
            verdict = verdicts.get(name) or Verdict(name)
            if verdict is accepted and problem_id not in firsts:
                firsts[problem_id] = team_id
            attempt = make(sub_id or 0, at, verdict, score,
                           groups.get(judging_id) if groups else None)
        else:
            attempt = make(sub_id or 0, at, None, None, None)
        cell = out.get((team_id, problem_id))
        if cell is None:
            out[(team_id, problem_id)] = [attempt]
        else:
            cell.append(attempt)
    return out, firsts


async def _rows(session: AsyncSession, query: Select[Any]) -> Sequence[sa.Row[Any]]:
    """The rows of a select, through the session's connection: Core rows, without the ORM's
    loading step per row."""
    return (await (await session.connection()).execute(query)).all()


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


async def first_solvers(
    session: AsyncSession, contest: Contest, hide_after: datetime | None = None
) -> dict[int, int]:
    """problem_id -> team_id of the first accepted submission (in the given view): the
    earliest one, the lowest id among equal times. One ordered range read of the contest's
    accepts (``ix_submissions_contest_verdict_problem``), no self-join."""
    limit = contest.end_at if hide_after is None else min(contest.end_at, hide_after)
    rows = await session.exec(
        select(Submission.problem_id, Submission.team_id)
        .where(
            Submission.contest_id == contest.id,
            Submission.verdict == Verdict.ACCEPTED.value,
            Submission.submitted_at >= contest.start_at,
            Submission.submitted_at < limit,
        )
        .order_by(col(Submission.problem_id), col(Submission.submitted_at), col(Submission.id))
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
    recomputed as well, and returned with the others.

    When the teams are every team of the contest (a rebuild), the submissions are read in one
    pass that also finds the first solvers, and no other row can be affected."""
    assert contest.id is not None
    team_ids = list(dict.fromkeys(team_ids))
    problems = await contest_problems(session, contest.id)
    assert isinstance(team_ids, list)
    if rule.solve_counts:
        problems = await with_solves(session, contest, problems)
    whole = len(team_ids) > 1 and await _covers_contest(session, contest.id, team_ids)
    with _bulk(whole):
        if whole:
            attempts, firsts = await _load(session, contest, None, None, rule)
            stored = await _stored(session, contest.id, None, cells=False)
        else:
            attempts = await _attempts(session, contest, team_ids, None, rule)
            firsts = await first_solvers(session, contest)
            stored = await _stored(session, contest.id, team_ids)
        folded = {t: _fold(rule, settings, problems, attempts, t, firsts) for t in team_ids}

        async def add(teams: list[int]) -> None:
            """Fold these further teams too (the rows this change affects)."""
            if not teams:
                return
            attempts.update(await _attempts(session, contest, teams, None, rule))
            stored.update(await _stored(session, contest.id, teams))
            for team_id in teams:
                folded[team_id] = _fold(rule, settings, problems, attempts, team_id, firsts)
            team_ids.extend(teams)

        if not whole:  # a rebuild recomputes every row already
            if rule.solve_counts:
                changed = _moved(folded, stored, ("solved",))
                if changed:
                    await add(sorted(await _solvers(session, contest, changed) - set(team_ids)))
            await add(await _stale_first_solvers(session, contest, folded, stored, firsts))
        now = utcnow()
        rows = []
        for team_id in team_ids:
            cells, row = folded[team_id]
            old = stored.get(team_id)
            rows.append({
                "contest_id": contest.id, "team_id": team_id, "points": row.points,
                "solved": row.solved, "penalty": row.penalty, "last_time": row.last_time,
                "rank_score": rule.rank_score(row, settings),
                "cells": [c.as_dict() for c in cells],
                "version": (old[1] if old is not None else 0) + 1, "updated_at": now,
            })
        attempts.clear()  # freed before the collector resumes, not scanned once more
        folded.clear()
        await _store(session, rows)
        return [_standing(row) for row in rows]


_STANDING_MANAGER = sa.inspect(Standing).class_manager


def _standing(values: dict[str, Any]) -> Standing:
    """A :class:`Standing` holding these stored values, made the way the ORM makes the rows it
    loads (the instance, then its attributes' values at once) rather than through the model's
    constructor, which sets each attribute with its events: 15 times faster, and a rebuild
    returns a row per team. Not attached to a session."""
    standing = _STANDING_MANAGER.new_instance()
    standing.__dict__.update(values)
    return standing  # type: ignore[no-any-return]


async def _covers_contest(session: AsyncSession, contest_id: int, team_ids: list[int]) -> bool:
    """Whether these teams include every team of the contest."""
    everyone = set(await session.exec(select(Team.id).where(Team.contest_id == contest_id)))
    return everyone <= set(team_ids)


async def _stored(
    session: AsyncSession, contest_id: int, team_ids: list[int] | None, *, cells: bool = True
) -> dict[int, tuple[list[dict[str, Any]], int]]:
    """team id -> (cells, version) of the stored rows of these teams (None = every team);
    without ``cells``, the cells are left out (empty)."""
    query = select(Standing.team_id, Standing.version,
                   Standing.cells if cells else sa.null()).where(
        Standing.contest_id == contest_id)
    if team_ids is not None:
        query = query.where(col(Standing.team_id).in_(team_ids))
    return {team_id: (stored or [], version)
            for team_id, version, stored in await _rows(session, query)}


_STORED_COLUMNS = ("points", "solved", "penalty", "last_time", "rank_score", "cells",
                   "updated_at")


async def _store(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write these standings rows: one ``INSERT .. ON CONFLICT DO UPDATE`` executed for all
    of them (the databases Podium runs on, PostgreSQL and SQLite, both have it)."""
    if not rows:
        return
    table = Standing.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = insert.on_conflict_do_update(
        index_elements=[table.c.contest_id, table.c.team_id],
        set_={**{name: insert.excluded[name] for name in _STORED_COLUMNS},
              "version": table.c.version + 1})
    await session.exec(statement, params=rows)  # type: ignore[call-overload]


def _moved(folded: dict[int, tuple[list[Cell], RowScore]],
           stored: dict[int, tuple[list[dict[str, Any]], int]],
           flags: tuple[str, ...]) -> set[int]:
    """Problems on which one of these flags of a folded team differs from its stored row."""
    moved: set[int] = set()
    for team_id, (cells, _) in folded.items():
        old = stored.get(team_id)
        old_cells = old[0] if old is not None else []
        for flag in flags:
            before = {c["problem_id"] for c in old_cells if c.get(flag)}
            moved |= before ^ {c.problem_id for c in cells if getattr(c, flag)}
    return moved


async def _stale_first_solvers(session: AsyncSession, contest: Contest,
                               folded: dict[int, tuple[list[Cell], RowScore]],
                               stored: dict[int, tuple[list[dict[str, Any]], int]],
                               firsts: dict[int, int]) -> list[int]:
    """Other teams whose stored first-to-solve marks are wrong after these teams' change.

    When a recomputed team's first-to-solve mark changes on a problem (an earlier accept
    judged late, a rejudge), the team that held the mark until then, or the one that holds it
    now, must be recomputed too. A change of solves alone moves no mark: when none of the
    recomputed teams holds a problem's mark before or after, its first solver is the earliest
    accept among the other teams, whose submissions did not change (so the common case, a
    solve that is not the first, reads nothing more)."""
    moved = _moved(folded, stored, ("first_to_solve",))
    if not moved:
        return []
    # Only a team with an accept on a moved problem can claim or hold its mark: the others'
    # submissions did not change, so a team that claimed a mark still has its accept.
    candidates = (await _solvers(session, contest, moved)
                  | {firsts[p] for p in moved if p in firsts}) - set(folded)
    if not candidates:
        return []
    stale = []
    for team_id, cells in await session.exec(select(Standing.team_id, Standing.cells).where(
            Standing.contest_id == contest.id, col(Standing.team_id).in_(candidates))):
        claims = {c["problem_id"] for c in cells if c.get("first_to_solve")} & moved
        holds = {p for p in moved if firsts.get(p) == team_id}
        if claims != holds:
            stale.append(team_id)
    return stale


class Board:
    """An ordered scoreboard with competition ranks (equal sort keys share a rank)."""

    def __init__(self, contest: Contest, problems: list[ProblemInfo], rows: list[StandingRow],
                 frozen: bool, time_column: str = "last_time") -> None:
        self.contest = contest
        self.problems = problems
        self.rows = rows
        self.frozen = frozen
        self.time_column = time_column
        """What the time column shows (:attr:`ScoringRule.time_column`)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "contest": self.contest.slug,
            "frozen": self.frozen,
            "time_column": self.time_column,
            "problems": [{"id": p.id, "label": p.label, "points": p.points} for p in self.problems],
            "rows": [r.as_dict() for r in self.rows],
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
    teams = [TeamInfo(team_id, display_name or name) for team_id, name, display_name
             in await _rows(session, select(Team.id, Team.name, Team.display_name).where(
                 Team.contest_id == contest.id, col(Team.hidden).is_(False)))]
    rows: list[tuple[tuple[float, ...], StandingRow]] = []
    with _bulk():
        if frozen:
            hide_after = contest.freeze_at
            if rule.solve_counts:
                problems = await with_solves(session, contest, problems, hide_after)
            attempts, firsts = await _load(session, contest, None, hide_after, rule)
            for team in teams:
                cells, score = _fold(rule, settings, problems, attempts, team.id, firsts)
                rows.append((rule.sort_key(score, settings), StandingRow(team, 0, score, cells)))
            attempts.clear()  # freed before the collector resumes, not scanned once more
        else:
            for row in (await _from_standings(session, contest, rule, settings, teams,
                                              problems, everyone=True)).values():
                rows.append((rule.sort_key(row.score, settings), row))
    return Board(contest, problems, _ranked(rule, rows), frozen, rule.time_column)


async def _teams(session: AsyncSession, contest: Contest, team_ids: Iterable[int]
                 ) -> dict[int, TeamInfo | None]:
    """These teams as a board names them; None for a team that is hidden or not in the
    contest (it has no row)."""
    out: dict[int, TeamInfo | None] = dict.fromkeys(team_ids)
    for team_id, name, display_name, hidden in await _rows(session, select(
            Team.id, Team.name, Team.display_name, Team.hidden).where(
            Team.contest_id == contest.id, col(Team.id).in_(list(out)))):
        if not hidden:
            out[team_id] = TeamInfo(team_id, display_name or name)
    return out


async def jury_rows(
    session: AsyncSession,
    contest: Contest,
    rule: ScoringRule,
    settings: BaseModel,
    team_ids: Iterable[int],
    problems: list[ProblemInfo],
) -> dict[int, StandingRow | None]:
    """The rows of these teams exactly as :func:`board` makes them from the stored standings
    when nothing is hidden (rank 0: the caller ranks), with the cells of ``problems`` only;
    None for a team without a row (hidden, or gone)."""
    teams = await _teams(session, contest, team_ids)
    found = await _from_standings(session, contest, rule, settings,
                                  [info for info in teams.values() if info is not None], problems)
    return {team_id: found.get(team_id) for team_id in teams}


async def _from_standings(
    session: AsyncSession,
    contest: Contest,
    rule: ScoringRule,
    settings: BaseModel,
    teams: Sequence[TeamInfo],
    problems: Sequence[ProblemInfo],
    *,
    everyone: bool = False,
) -> dict[int, StandingRow]:
    """These teams' rows from the stored standings (rank 0), with the cells of ``problems``
    only; a team without a stored row gets the rule's empty row. ``everyone``: the teams are
    all of the contest's (one read of the contest's standings, no team filter)."""
    query = select(Standing.team_id, Standing.points, Standing.solved, Standing.penalty,
                   Standing.last_time, Standing.cells).where(Standing.contest_id == contest.id)
    if not everyone:
        query = query.where(col(Standing.team_id).in_([team.id for team in teams]))
    stored = {
        team_id: (RowScore(points=points, solved=solved, penalty=penalty, last_time=last_time),
                  cells)
        for team_id, points, solved, penalty, last_time, cells in await _rows(session, query)}
    shown = {p.id for p in problems}
    out: dict[int, StandingRow] = {}
    for team in teams:
        row = stored.get(team.id)
        if row is None:
            cells, score = _fold(rule, settings, problems, {}, team.id, {})
        else:
            score = row[0]
            cells = [Cell(**c) for c in row[1] if c["problem_id"] in shown]
        out[team.id] = StandingRow(team, 0, score, cells)
    return out


async def frozen_rows(
    session: AsyncSession,
    contest: Contest,
    rule: ScoringRule,
    settings: BaseModel,
    team_ids: Iterable[int],
    problems: list[ProblemInfo],
    marks: dict[int, set[int]],
) -> dict[int, StandingRow | None]:
    """The frozen public rows of these teams, as :func:`board` makes them during the freeze
    (for a rule without ``solve_counts``), and of every other team whose first-to-solve marks
    change: ``marks`` holds the problems each team is shown as first to solve now. (The jury
    recompute of a change already names those teams, since a public mark moves only with a
    pre-freeze accept, which moves the jury mark too; this check keeps the public board right
    whatever the caller names.)"""
    assert not rule.solve_counts
    firsts = await first_solvers(session, contest, contest.freeze_at)
    holds: dict[int, set[int]] = defaultdict(set)
    for problem_id, team_id in firsts.items():
        holds[team_id].add(problem_id)
    wanted = set(team_ids) | {t for t in set(marks) | set(holds)
                              if marks.get(t, set()) != holds.get(t, set())}
    teams = await _teams(session, contest, wanted)
    attempts, _ = await _load(session, contest, [t for t, i in teams.items() if i is not None],
                              contest.freeze_at, rule)
    out: dict[int, StandingRow | None] = {}
    for team_id, team in teams.items():
        if team is None:
            out[team_id] = None
        else:
            cells, score = _fold(rule, settings, problems, attempts, team_id, firsts)
            out[team_id] = StandingRow(team, 0, score, cells)
    return out


def _ranked(rule: ScoringRule, keyed: list[tuple[tuple[float, ...], StandingRow]]
            ) -> list[StandingRow]:
    """Rows sorted by (sort key, name, id) with their ranks set: equal keys share a rank
    (competition ranks, or dense ones when the rule says so)."""
    keyed.sort(key=lambda item: (item[0], item[1].team.name.lower(), item[1].team.id))
    ordered: list[StandingRow] = []
    previous: tuple[float, ...] | None = None
    rank = 0
    for position, (key, row) in enumerate(keyed, start=1):
        if key != previous:
            rank = rank + 1 if rule.dense_ranks else position
            previous = key
        row.rank = rank
        ordered.append(row)
    return ordered


def order_rows(rule: ScoringRule, settings: BaseModel, rows: list[StandingRow]
               ) -> list[StandingRow]:
    """Order and rank rows whose scores are set, exactly as :func:`board` does."""
    return _ranked(rule, [(rule.sort_key(r.score, settings), r) for r in rows])
