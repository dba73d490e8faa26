"""How fast the scoreboard engine is: a full recompute, and incremental updates.

    python -m server.scoreboard.bench [--database postgres|sqlite] [--rule icpc]
        [--teams 1000] [--problems 15] [--submissions 100000] [--runs 5]
        [--updates 100000] [--end-to-end 50] [--seed 1]

Builds a throw-away database (a PostgreSQL database of its own, or a SQLite file in a
temporary directory; both are removed at the end) holding one finished contest with a freeze:
the contest and its problems through the actions, the teams and the judged submissions
inserted in bulk (setup is not measured). Verdicts follow a realistic mix: stronger teams
solve more, harder problems see more rejected tries (WA, TLE, RTE, CE, MLE, OLE, a few JE),
and rejected submissions of the partial-score rules earn a fraction of the points.

Then it prints:

(b) full recompute, the median of ``--runs`` runs (after one run that inserts the rows), wall
    time and this process's CPU time: ``rebuild_standings`` (every row recomputed from the
    database and stored, the sorted index refilled, then the notifications), and its parts:
    ``recompute_teams`` of every team + commit, the memory index's ``replace``,
    ``after_standings_change`` (jury board, levels, sync targets, live boards, hooks); the
    Redis index's ``replace``; the jury ``board()`` (from the stored rows) and the public
    frozen ``board()`` (from the submissions, later attempts pending).
(c) incremental: the engine's per-verdict work without the database over ``--updates``
    random verdicts (a random judged submission gets a random new verdict): its cell folded
    again through ``rule.cell``, the team's row through ``rule.fold_row``, ``rank_score``, the
    sorted index updated — with no index, the memory index and the Redis index (each
    separately). A rule with ``solve_counts`` re-folds every solver of a problem whose solve
    count moved, as the engine does (the rows changed per verdict are printed too).
    First-to-solve marks are those of the loaded contest.
    Then the end-to-end cost through the database over ``--end-to-end`` verdicts: the
    submission's verdict is updated (not timed), then ``refresh_teams(services, contest,
    [team])`` (recompute, commit, index, jury board, notifications) is timed, and
    ``recompute_teams([team])`` + commit on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import col, select

from server import actions, migrate
from server.actions.base import unit_of_work
from server.actions.standings import after_standings_change
from server.components import Attempt, Cell, ProblemInfo, ScoringRule, Verdict
from server.models import Contest, Submission, Team, utcnow
from server.scoreboard import engine
from server.scoreboard.index import StandingsIndex
from server.scoreboard.index_memory import MemoryStandingsIndex
from server.services import Services
from server.settings import Settings

__all__ = ["main"]

RULES = ("icpc", "points", "ioi", "weighted", "dynamic", "atcoder")
REJECTED = (("WA", 55), ("TLE", 18), ("RTE", 12), ("CE", 9), ("MLE", 3), ("OLE", 2), ("JE", 1))
"""Rejected verdicts and their weights (JE: a judge error that retries could not fix)."""
CONTEST_MINUTES = 300
FREEZE_MINUTES = 60
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


# ------------------------------------------------------------------------------ setup


def _labels(n: int) -> list[str]:
    return [chr(ord("A") + i) if i < 26 else f"P{i + 1}" for i in range(n)]


def _scoring_settings(rule: str, labels: Sequence[str]) -> dict[str, Any]:
    if rule == "weighted":  # two modules, the last third of the problems a quiz
        cut = max(1, len(labels) * 2 // 3)
        return {"modules": {"coding": 70.0, "quiz": 30.0},
                "problems": {label: "coding" if i < cut else "quiz"
                             for i, label in enumerate(labels)}}
    return {}


def _submissions(rng: random.Random, teams: Sequence[int], problems: Sequence[int], total: int,
                 start: datetime) -> list[dict[str, Any]]:
    """``total`` judged submissions: (team, problem) cells drawn by team activity and problem
    appeal; a cell is solved with a probability from the team's skill and the problem's
    difficulty, its accept near the end of its attempts."""
    skill = {t: rng.random() for t in teams}
    difficulty = {p: (i + 0.5) / len(problems) for i, p in enumerate(rng.sample(
        list(problems), len(problems)))}
    cells = [(t, p) for t in teams for p in problems]
    # More active teams are stronger ones; easy problems attract more attempts.
    weights = [0.2 + skill[t] + (1.2 - difficulty[p]) for t, p in cells]
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for cell in rng.choices(cells, weights, k=total):
        counts[cell] += 1
    verdicts, verdict_weights = zip(*REJECTED, strict=True)
    rows = []
    seconds = CONTEST_MINUTES * 60
    for (team, problem), n in counts.items():
        chance = 1 / (1 + math.exp(-8 * (skill[team] - difficulty[problem])))
        accept_at = -1
        if rng.random() < chance:
            # Usually the last attempt; sometimes a team keeps submitting after its accept.
            accept_at = n - 1 if rng.random() < 0.8 else rng.randrange(n)
        times = sorted(rng.uniform(0, seconds - 1) for _ in range(n))
        for i, at in enumerate(times):
            if i == accept_at or (accept_at >= 0 and i > accept_at and rng.random() < 0.3):
                verdict, score = "AC", 1.0
            else:
                verdict = rng.choices(verdicts, verdict_weights)[0]
                score = rng.choice((0.0, 0.0, 0.1, 0.3, 0.5, 0.7))
                if verdict in ("CE", "JE"):
                    score = 0.0
            rows.append({
                "contest_id": None, "team_id": team, "user_id": None, "problem_id": problem,
                "language": "cpp", "submitted_at": start + timedelta(seconds=round(at, 3)),
                "status": "error" if verdict == "JE" else "judged", "verdict": verdict,
                "score": score, "current_judging_id": None, "source_hash": "",
                "entry_point": None, "external_id": None, "origin": "import"})
    rows.sort(key=lambda r: r["submitted_at"])
    return rows


async def _setup(services: Services, args: argparse.Namespace) -> tuple[Contest, Counter[str]]:
    """The contest, and how many submissions got each verdict."""
    rng = random.Random(args.seed)
    start = utcnow().replace(microsecond=0) - timedelta(minutes=CONTEST_MINUTES + 60)
    end = start + timedelta(minutes=CONTEST_MINUTES)
    labels = _labels(args.problems)
    contest = await actions.create_contest(
        services, slug="bench", title="Scoreboard benchmark", start_at=start, end_at=end,
        freeze_at=end - timedelta(minutes=FREEZE_MINUTES), scoring_rule=args.rule,
        scoring_settings=_scoring_settings(args.rule, labels))
    assert contest.id is not None
    points = 1.0 if args.rule == "icpc" else 100.0
    for label in labels:
        slug = f"bench-{label.lower()}"
        await actions.create_problem(services, slug=slug, title=f"Problem {label}")
        await actions.add_contest_problem(services, contest.id, slug, label=label, points=points)
    async with unit_of_work(services) as session:
        now = utcnow()
        await session.exec(sa.insert(Team).values([  # type: ignore[call-overload]
            {"contest_id": contest.id, "name": f"team {i:05d}", "display_name": f"Team {i}",
             "hidden": False, "is_active": True, "created_at": now}
            for i in range(args.teams)]))
    async with services.db.session() as session:
        team_ids = sorted(await session.exec(select(Team.id).where(
            Team.contest_id == contest.id)))
        problem_ids = [p.id for p in await engine.contest_problems(session, contest.id)]
    rows = _submissions(rng, team_ids, problem_ids,  # type: ignore[arg-type]
                        args.submissions, start)
    for row in rows:
        row["contest_id"] = contest.id
    async with unit_of_work(services) as session:
        for i in range(0, len(rows), 10_000):
            await session.exec(  # type: ignore[call-overload]
                sa.insert(Submission), params=rows[i : i + 10_000])
    return contest, Counter(row["verdict"] for row in rows)


# ------------------------------------------------------------------------------ measures


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def _timed(fn: Callable[[], Awaitable[Any]], runs: int) -> list[tuple[float, float]]:
    """(wall, CPU time of this process) of each run."""
    samples = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        await fn()
        samples.append((time.perf_counter() - wall, time.process_time() - cpu))
    return samples


def _line(label: str, samples: list[tuple[float, float]], note: str = "") -> None:
    walls = [wall for wall, _ in samples]
    cpu = statistics.median(c for _, c in samples)
    spread = f"{_ms(min(walls)).strip()} .. {_ms(max(walls)).strip()}"
    print(f"  {label:<32}{_ms(statistics.median(walls))}  {_ms(cpu)}   {spread:<22} {note}"
          .rstrip())


@contextlib.asynccontextmanager
async def _redis_index(url: str) -> AsyncIterator[StandingsIndex | None]:
    """A Redis index under a prefix of its own (its keys deleted at the end), or None when
    Redis does not answer."""
    from redis.asyncio import Redis

    from server.scoreboard.index_redis import RedisStandingsIndex

    redis = Redis.from_url(url)
    prefix = f"podium-bench:{uuid.uuid4().hex}:"
    try:
        await redis.ping()
    except Exception:  # noqa: BLE001 - any failure: the Redis measures are skipped
        await redis.aclose()
        yield None
        return
    try:
        yield RedisStandingsIndex(redis, prefix)
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _full(services: Services, contest: Contest, args: argparse.Namespace) -> None:
    assert contest.id is not None
    cid, runs = contest.id, args.runs
    rule, settings = services.plugins.for_contest(contest).scoring_rule()
    first = await _timed(lambda: actions.rebuild_standings(services, cid), 1)
    print(f"(b) full recompute, median of {runs} runs: wall, CPU time of this process, "
          "wall min .. max")
    _line("first rebuild_standings", first, "inserts the rows")
    _line("rebuild_standings", await _timed(
        lambda: actions.rebuild_standings(services, cid), runs),
        "= the three lines below")
    scores: dict[int, int] = {}

    async def recompute() -> None:
        async with unit_of_work(services) as session:
            fresh = await session.get(Contest, cid)
            assert fresh is not None
            teams = list(await session.exec(select(Team.id).where(Team.contest_id == cid)))
            rows = await engine.recompute_teams(session, fresh, rule, settings,
                                                teams)  # type: ignore[arg-type]
        scores.update((r.team_id, r.rank_score) for r in rows)

    _line("  recompute_teams(all) + commit", await _timed(recompute, runs),
          "read every submission, fold, store every row")
    _line("  index.replace (memory)",
          await _timed(lambda: services.index.replace(cid, scores), runs))
    _line("  after_standings_change", await _timed(
        lambda: after_standings_change(services, contest, scores), runs),
        "jury board, levels, sync targets, live boards, hooks")
    async with _redis_index(args.redis_url) as index:
        if index is not None:
            _line("index.replace (Redis)", await _timed(lambda: index.replace(cid, scores), runs))

    async def board(public: bool) -> None:
        async with services.db.session() as session:
            now = contest.end_at - timedelta(minutes=FREEZE_MINUTES // 2) if public else None
            await engine.board(session, contest, rule, settings, public=public, now=now)

    _line("jury board()", await _timed(lambda: board(False), runs), "from the stored rows")
    _line("public frozen board()", await _timed(lambda: board(True), runs),
          "from the submissions")


class _Replay:
    """The engine's per-verdict work on loaded data: cell, row, rank score, index."""

    def __init__(self, rule: ScoringRule, settings: BaseModel, problems: list[ProblemInfo],
                 attempts: dict[tuple[int, int], list[Attempt]], firsts: dict[int, int],
                 teams: list[int]) -> None:
        self.rule, self.settings, self.problems, self.firsts = rule, settings, problems, firsts
        self.position = {p.id: i for i, p in enumerate(problems)}
        self.attempts = {key: list(value) for key, value in attempts.items()}
        self.cells: dict[int, list[Cell]] = {}
        self.solvers: dict[int, set[int]] = defaultdict(set)
        for team in teams:
            self.cells[team] = [self.cell(team, i) for i in range(len(problems))]
            for cell in self.cells[team]:
                if cell.solved:
                    self.solvers[cell.problem_id].add(team)

    def cell(self, team: int, index: int) -> Cell:
        problem = self.problems[index]
        cell = self.rule.cell(problem, self.attempts.get((team, problem.id), ()), self.settings)
        cell.first_to_solve = cell.solved and self.firsts.get(problem.id) == team
        return cell

    def verdict(self, team: int, problem_id: int, k: int, verdict: Verdict,
                score: float | None) -> list[int]:
        """Record a new verdict; the teams whose rows changed."""
        attempts = self.attempts[(team, problem_id)]
        old = attempts[k]
        attempts[k] = Attempt(old.submission_id, old.contest_seconds, verdict, score)
        index = self.position[problem_id]
        cells = self.cells[team]
        before = cells[index].solved
        cells[index] = self.cell(team, index)
        if self.rule.solve_counts and cells[index].solved != before:
            solvers = self.solvers[problem_id]
            (solvers.add if cells[index].solved else solvers.discard)(team)
            self.problems[index] = dataclasses.replace(self.problems[index],
                                                       solves=len(solvers))
            for other in solvers:
                self.cells[other][index] = self.cell(other, index)
            return [team, *(t for t in solvers if t != team)]
        return [team]

    def score(self, team: int) -> int:
        row = self.rule.fold_row(self.problems, self.cells[team], self.settings)
        return self.rule.rank_score(row, self.settings)


async def _incremental(services: Services, contest: Contest, args: argparse.Namespace) -> None:
    assert contest.id is not None
    cid = contest.id
    rule, settings = services.plugins.for_contest(contest).scoring_rule()
    async with services.db.session() as session:
        problems = await engine.contest_problems(session, cid)
        if rule.solve_counts:
            problems = await engine.with_solves(session, contest, problems)
        attempts = await engine._attempts(session, contest, None, None, rule)
        firsts = await engine.first_solvers(session, contest)
        teams = sorted(await session.exec(select(Team.id).where(Team.contest_id == cid)))
    rng = random.Random(args.seed + 1)
    judged = [(team, problem, k) for (team, problem), items in attempts.items()
              for k, a in enumerate(items) if a.verdict is not None]
    mix = [(Verdict.ACCEPTED, 20)] + [(Verdict(v), w) for v, w in REJECTED if v != "JE"]
    kinds, weights = zip(*mix, strict=True)
    draws = [(*rng.choice(judged), verdict,
              1.0 if verdict is Verdict.ACCEPTED else rng.choice((0.0, 0.3, 0.5)))
             for verdict in rng.choices(kinds, weights, k=args.updates)]

    rows = 0

    async def replay(index: StandingsIndex | None, icid: int) -> float:
        nonlocal rows
        state = _Replay(rule, settings, list(problems), attempts, firsts, teams)
        if index is not None:
            await index.replace(icid, {t: state.score(t) for t in teams})
        rows = 0
        began = time.perf_counter()
        for team, problem, k, verdict, score in draws:
            for changed in state.verdict(team, problem, k, verdict, score):
                rows += 1
                value = state.score(changed)
                if index is not None:
                    await index.set(icid, changed, value)
        return time.perf_counter() - began

    print(f"(c) incremental, {args.updates} random verdicts (cell, row, rank score, index):")

    def rate(label: str, seconds: float) -> None:
        per = seconds / len(draws)
        print(f"  {label:<34}{len(draws) / seconds:10,.0f} updates/s  ({per * 1e6:.1f} µs each, "
              f"{rows / len(draws):.1f} rows per verdict)")

    rate("engine, no index", await replay(None, cid))
    rate("engine + MemoryStandingsIndex.set", await replay(MemoryStandingsIndex(), cid))
    async with _redis_index(args.redis_url) as index:
        if index is None:
            print(f"  {'engine + RedisStandingsIndex.set':<34}skipped: no Redis at "
                  f"{args.redis_url}")
        else:
            rate("engine + RedisStandingsIndex.set", await replay(index, cid))
    await _end_to_end(services, contest, args, rule, settings)


async def _end_to_end(services: Services, contest: Contest, args: argparse.Namespace,
                      rule: ScoringRule, settings: BaseModel) -> None:
    assert contest.id is not None
    cid = contest.id
    rng = random.Random(args.seed + 2)
    async with services.db.session() as session:
        subs = list(await session.exec(select(Submission.id, Submission.team_id).where(
            Submission.contest_id == cid, Submission.verdict != "JE")))
    picks = [(*rng.choice(subs), rng.choice(("AC", "WA", "TLE"))) for _ in range(args.end_to_end)]

    async def set_verdict(sub_id: int, verdict: str) -> None:
        async with unit_of_work(services) as session:
            await session.exec(sa.update(Submission).where(  # type: ignore[call-overload]
                col(Submission.id) == sub_id).values(verdict=verdict))

    full: list[float] = []
    alone: list[float] = []
    for sub_id, team, verdict in picks:
        await set_verdict(sub_id, verdict)
        began = time.perf_counter()
        await actions.refresh_teams(services, cid, [team])
        full.append(time.perf_counter() - began)
    for sub_id, team, verdict in picks:
        await set_verdict(sub_id, "WA" if verdict == "AC" else "AC")
        began = time.perf_counter()
        async with unit_of_work(services) as session:
            fresh = await session.get(Contest, cid)
            assert fresh is not None
            await engine.recompute_teams(session, fresh, rule, settings, [team])
        alone.append(time.perf_counter() - began)
    print(f"  end to end, {len(picks)} verdicts through the database (median, min .. max):")
    for label, samples in (("refresh_teams([team])", full),
                           ("  recompute_teams([team]) + commit", alone)):
        median = statistics.median(samples)
        print(f"  {label:<34}{1 / median:10,.0f} updates/s  ({median * 1000:.1f} ms each, "
              f"{min(samples) * 1000:.1f} .. {max(samples) * 1000:.1f})")


# ------------------------------------------------------------------------------ databases


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"),
                                 timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _load() -> str:
    """The 1-minute load average (other work on the machine slows every figure)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"


async def _run(args: argparse.Namespace, url: str, data_dir: Path) -> None:
    migrate.upgrade(url)
    services = await Services.create(Settings(
        database_url=url, data_dir=data_dir, secret_key="bench-secret-key", redis_url=None))
    try:
        began = time.perf_counter()
        contest, mix = await _setup(services, args)
        print(f"podium scoreboard bench: {services.db.dialect}, rule {args.rule}, "
              f"{args.teams} teams x {args.problems} problems, {args.submissions} submissions, "
              f"{os.cpu_count()} CPUs (setup {time.perf_counter() - began:.1f} s, not measured)")
        print("verdicts: " + ", ".join(f"{verdict} {count / args.submissions:.1%}"
                                       for verdict, count in mix.most_common()))
        print(f"load average {_load()} at the start")
        await _full(services, contest, args)
        await _incremental(services, contest, args)
        print(f"load average {_load()} at the end")
    finally:
        await services.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--rule", choices=RULES, default="icpc")
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--problems", type=int, default=15)
    parser.add_argument("--submissions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="runs of each full measure")
    parser.add_argument("--updates", type=int, default=100_000,
                        help="random verdicts of the in-memory incremental measure")
    parser.add_argument("--end-to-end", type=int, default=50,
                        help="verdicts of the end-to-end measure through the database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=os.environ.get(
        "PODIUM_TEST_POSTGRES_URL", DEFAULT_POSTGRES), help="a server to create a database on")
    parser.add_argument("--redis-url", default=os.environ.get(
        "PODIUM_TEST_REDIS_URL", DEFAULT_REDIS), help="for the Redis index measure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        if args.database == "sqlite":
            asyncio.run(_run(args, f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", Path(tmp)))
            return
        name = f"podium_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        base = args.postgres_url.split("://", 1)[1].rsplit("/", 1)[0]
        asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
        try:
            asyncio.run(_run(args, f"postgresql+asyncpg://{base}/{name}", Path(tmp)))
        finally:
            asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
