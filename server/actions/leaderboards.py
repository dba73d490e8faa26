"""Leaderboards outside contests (practice, school-wide): create, score, read, reset.

A leaderboard orders its entries by score (``desc`` or ``asc``); equal scores share a rank
(1, 2, 2, 4) and the earlier achiever (the entry whose score was set first) is listed first,
then the player name. Ranks and order come from SQL (the ``(leaderboard_id, score)`` index):
``top`` reads the first rows, ``around`` walks from the player's row both ways, and a rank is
one plus the number of strictly better scores.

Reset periods are lazy: no scheduler runs. A board whose ``period_started_at`` is before the
start of the current period (midnight UTC, Monday, the 1st of the month) reads as empty, and the
next write deletes its entries and moves ``period_started_at`` on (audited as a reset).

Update modes: ``replace`` (the submitted score), ``increment`` (added to the current one) and
``best`` (kept only if better in the board's order). An entry's ``updated_at`` moves only when
its score changes: it is the time the score was achieved. With ``max_entries``, the worst
entries past the cap are dropped after every write.

The practice leaderboard (slug ``practice``, created on demand) counts, per user (or per team
for a submission without a user), the distinct problems solved in practice contests; every
current accepted verdict in a practice contest refreshes the count (so a first accept adds one,
another accept of a solved problem adds nothing, and a rejudge away from the only accept takes
it back).
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, get_or_404, publish, unit_of_work
from server.actions.errors import Invalid, NotFound
from server.components import Verdict
from server.models import (
    Contest,
    Judging,
    Leaderboard,
    LeaderboardEntry,
    Submission,
    User,
    utcnow,
)
from server.services import Services

__all__ = [
    "MAX_BATCH",
    "PRACTICE_SLUG",
    "RESET_PERIODS",
    "SORT_ORDERS",
    "UPDATE_MODES",
    "RankedEntry",
    "by_rank",
    "count_entries",
    "create_leaderboard",
    "delete_leaderboard",
    "feed_practice",
    "get_leaderboard",
    "list_leaderboards",
    "period_start",
    "player_entry",
    "players_around",
    "remove_player",
    "reset_leaderboard",
    "submit_scores",
    "top",
]

log = logging.getLogger("podium.actions.leaderboards")

SORT_ORDERS = ("desc", "asc")
RESET_PERIODS = ("never", "daily", "weekly", "monthly")
UPDATE_MODES = ("replace", "increment", "best")
PRACTICE_SLUG = "practice"
MAX_BATCH = 10_000
"""Most scores one batch may carry."""
MAX_PAGE = 1_000
"""Most entries one read returns."""

_E = LeaderboardEntry
_IN_CHUNK = 500


@dataclass(frozen=True)
class RankedEntry:
    player: str
    score: float
    rank: int
    updated_at: datetime


# ------------------------------------------------------------------------ periods


def period_start(period: str, now: datetime) -> datetime | None:
    """The start of the period ``now`` is in (UTC); None for ``never``."""
    now = now.astimezone(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return midnight
    if period == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    if period == "monthly":
        return midnight.replace(day=1)
    return None


def _stale(board: Leaderboard, now: datetime) -> bool:
    start = period_start(board.reset_period, now)
    return start is not None and board.period_started_at < start


# ------------------------------------------------------------------------ boards


def _validate(sort_order: str, reset_period: str, update_mode: str,
              max_entries: int | None) -> None:
    for value, allowed, field in ((sort_order, SORT_ORDERS, "sort_order"),
                                  (reset_period, RESET_PERIODS, "reset_period"),
                                  (update_mode, UPDATE_MODES, "update_mode")):
        if value not in allowed:
            raise Invalid(f"{field} must be one of {', '.join(allowed)}, not {value!r}",
                          field=field)
    if max_entries is not None and max_entries < 1:
        raise Invalid("max_entries must be at least 1", field="max_entries")


async def _board(session: AsyncSession, ref: int | str) -> Leaderboard:
    """A leaderboard by id (an int or a string of digits) or slug."""
    if isinstance(ref, int) or ref.isdigit():
        board = await session.get(Leaderboard, int(ref))
        if board is not None:
            return board
        if isinstance(ref, int):
            raise NotFound(f"leaderboard {ref} does not exist")
    board = (await session.exec(select(Leaderboard).where(Leaderboard.slug == ref))).first()
    if board is None:
        raise NotFound(f"leaderboard {ref!r} does not exist")
    return board


async def create_leaderboard(
    services: Services,
    *,
    slug: str,
    title: str | None = None,
    sort_order: str = "desc",
    reset_period: str = "never",
    update_mode: str = "best",
    max_entries: int | None = None,
    public: bool = True,
    actor: User | None = None,
) -> Leaderboard:
    _validate(sort_order, reset_period, update_mode, max_entries)
    if not slug or slug.isdigit() or not all(c.isalnum() or c in "-_." for c in slug):
        raise Invalid("slug must be letters, digits, '-', '_' or '.', and not only digits",
                      field="slug")
    now = utcnow()
    async with unit_of_work(services, conflict=f"leaderboard {slug!r} already exists") as session:
        board = Leaderboard(slug=slug, title=title or slug, sort_order=sort_order,
                            reset_period=reset_period, update_mode=update_mode,
                            max_entries=max_entries, public=public,
                            period_started_at=period_start(reset_period, now) or now)
        session.add(board)
        await session.flush()
        audit(session, actor=actor, action="leaderboard.create", object_type="leaderboard",
              object_id=board.id, data={"slug": slug, "sort_order": sort_order,
                                        "reset_period": reset_period,
                                        "update_mode": update_mode,
                                        "max_entries": max_entries, "public": public})
    await publish(services, "leaderboard.created", {"leaderboard_id": board.id, "slug": slug})
    return board


async def get_leaderboard(services: Services, ref: int | str) -> Leaderboard:
    async with services.db.session() as session:
        return await _board(session, ref)


async def list_leaderboards(services: Services, *, include_private: bool = False
                            ) -> list[Leaderboard]:
    query = select(Leaderboard).order_by(col(Leaderboard.id))
    if not include_private:
        query = query.where(col(Leaderboard.public).is_(True))
    async with services.db.session() as session:
        return list(await session.exec(query))


async def delete_leaderboard(services: Services, ref: int | str, *,
                             actor: User | None = None) -> None:
    async with unit_of_work(services) as session:
        board = await _board(session, ref)
        await session.exec(sa.delete(_E).where(col(_E.leaderboard_id) == board.id))
        await session.delete(board)
        audit(session, actor=actor, action="leaderboard.delete", object_type="leaderboard",
              object_id=board.id, data={"slug": board.slug})
    await publish(services, "leaderboard.deleted", {"leaderboard_id": board.id})


async def reset_leaderboard(services: Services, ref: int | str, *,
                            actor: User | None = None) -> int:
    """Empty the board now; returns how many entries were removed."""
    async with unit_of_work(services) as session:
        board = await _board(session, ref)
        removed = await _empty(session, board, utcnow(), actor=actor, reason="manual")
    await publish(services, "leaderboard.reset", {"leaderboard_id": board.id})
    return removed


async def remove_player(services: Services, ref: int | str, player: str, *,
                        actor: User | None = None) -> None:
    async with unit_of_work(services) as session:
        board = await _board(session, ref)
        entry = await session.get(_E, (board.id, player))
        if entry is None or _stale(board, utcnow()):
            raise NotFound(f"player {player!r} is not on leaderboard {board.slug!r}")
        await session.delete(entry)
        audit(session, actor=actor, action="leaderboard.remove_player",
              object_type="leaderboard", object_id=board.id,
              data={"player": player, "score": entry.score})
    await publish(services, "leaderboard.changed", {"leaderboard_id": board.id})


async def _empty(session: AsyncSession, board: Leaderboard, now: datetime, *,
                 actor: User | None, reason: str) -> int:
    removed = (await session.exec(select(func.count()).select_from(_E).where(
        _E.leaderboard_id == board.id))).one()
    await session.exec(sa.delete(_E).where(col(_E.leaderboard_id) == board.id))
    board.period_started_at = period_start(board.reset_period, now) or now
    session.add(board)
    audit(session, actor=actor, action="leaderboard.reset", object_type="leaderboard",
          object_id=board.id, data={"reason": reason, "removed": removed})
    return int(removed)


# ------------------------------------------------------------------------ writes


def _better(board: Leaderboard, new: float, old: float) -> bool:
    return new > old if board.sort_order == "desc" else new < old


async def submit_scores(
    services: Services,
    ref: int | str,
    scores: Sequence[tuple[str, float]],
    *,
    mode: str | None = None,
    actor: User | None = None,
) -> list[RankedEntry | None]:
    """Apply ``(player, score)`` pairs in order (one transaction, one audit row).

    ``mode`` overrides the board's update mode. Returns each player's resulting entry with its
    rank, or None where the cap dropped it.
    """
    if not scores:
        raise Invalid("no scores given", field="scores")
    if len(scores) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} scores per batch", field="scores")
    for player, score in scores:
        if not isinstance(player, str) or not 1 <= len(player) <= 128:
            raise Invalid("a player is 1 to 128 characters", field="player")
        if not isinstance(score, (int, float)) or score != score or abs(score) == float("inf"):
            raise Invalid(f"score of {player!r} is not a finite number", field="score")
    now = utcnow()
    async with unit_of_work(services) as session:
        board = await _board(session, ref)
        how = mode or board.update_mode
        if how not in UPDATE_MODES:
            raise Invalid(f"update mode must be one of {', '.join(UPDATE_MODES)}", field="mode")
        if _stale(board, now):
            await _empty(session, board, now, actor=actor, reason=board.reset_period)
        players = list(dict.fromkeys(p for p, _ in scores))
        # player -> [score, achieved at]; plain rows, not ORM objects (a batch may be 10,000)
        state: dict[str, list[Any]] = {}
        for i in range(0, len(players), _IN_CHUNK):
            for player, old, at in await session.exec(
                    select(_E.player, _E.score, _E.updated_at).where(
                        _E.leaderboard_id == board.id,
                        col(_E.player).in_(players[i:i + _IN_CHUNK]))):
                state[player] = [old, at]
        existing = set(state)
        changed: set[str] = set()
        for player, score in scores:
            score = float(score)
            row = state.get(player)
            if row is None:
                state[player] = [score, now]
                changed.add(player)
                continue
            if how == "increment":
                new = row[0] + score
            elif how == "best":
                new = score if _better(board, score, row[0]) else row[0]
            else:
                new = score
            if new != row[0]:
                state[player] = [new, now]
                changed.add(player)
        rows = [{"leaderboard_id": board.id, "player": p, "score": state[p][0],
                 "updated_at": state[p][1]} for p in players if p in changed]
        inserts = [r for r in rows if r["player"] not in existing]
        updates = [r for r in rows if r["player"] in existing]
        if inserts:
            await session.exec(sa.insert(_E), params=inserts)  # type: ignore[call-overload]
        if updates:
            await session.exec(sa.update(_E), params=updates)  # type: ignore[call-overload]
        dropped = await _cap(session, board)
        audit(session, actor=actor, action="leaderboard.scores", object_type="leaderboard",
              object_id=board.id,
              data={"mode": how, "scores": [[p, float(s)] for p, s in scores],
                    "dropped": sorted(dropped)})
        kept = {p: state[p][0] for p in players if p not in dropped}
        ranks = await _ranks_of(session, board, kept)
        result = [None if p in dropped else RankedEntry(p, state[p][0], ranks[p], state[p][1])
                  for p, _ in scores]
    if changed:
        await publish(services, "leaderboard.changed",
                      {"leaderboard_id": board.id, "players": len(changed)})
    return result


async def _cap(session: AsyncSession, board: Leaderboard) -> set[str]:
    """Drop the worst entries past ``max_entries``; returns their players."""
    if board.max_entries is None:
        return set()
    total = (await session.exec(select(func.count()).select_from(_E).where(
        _E.leaderboard_id == board.id))).one()
    excess = int(total) - board.max_entries
    if excess <= 0:
        return set()
    worst = list(await session.exec(select(_E.player).where(_E.leaderboard_id == board.id)
                                    .order_by(*_order(board, reverse=True)).limit(excess)))
    for i in range(0, len(worst), _IN_CHUNK):
        await session.exec(sa.delete(_E).where(
            col(_E.leaderboard_id) == board.id, col(_E.player).in_(worst[i:i + _IN_CHUNK])))
    return set(worst)


# ------------------------------------------------------------------------ order and ranks


def _order(board: Leaderboard, *, reverse: bool = False) -> list[Any]:
    score = col(_E.score)
    desc = (board.sort_order == "desc") != reverse
    keys = [score.desc() if desc else score.asc()]
    keys += [col(_E.updated_at).desc(), col(_E.player).desc()] if reverse else [
        col(_E.updated_at).asc(), col(_E.player).asc()]
    return keys


def _strictly_better(board: Leaderboard, score: float) -> Any:
    return col(_E.score) > score if board.sort_order == "desc" else col(_E.score) < score


def _ahead_of(board: Leaderboard, entry: LeaderboardEntry) -> Any:
    """Entries listed before ``entry``."""
    return sa.or_(_strictly_better(board, entry.score),
                  sa.and_(col(_E.score) == entry.score,
                          sa.or_(col(_E.updated_at) < entry.updated_at,
                                 sa.and_(col(_E.updated_at) == entry.updated_at,
                                         col(_E.player) < entry.player))))


def _behind(board: Leaderboard, entry: LeaderboardEntry) -> Any:
    """Entries listed after ``entry``."""
    worse = col(_E.score) < entry.score if board.sort_order == "desc" else (
        col(_E.score) > entry.score)
    return sa.or_(worse,
                  sa.and_(col(_E.score) == entry.score,
                          sa.or_(col(_E.updated_at) > entry.updated_at,
                                 sa.and_(col(_E.updated_at) == entry.updated_at,
                                         col(_E.player) > entry.player))))


async def _count_where(session: AsyncSession, board: Leaderboard, condition: Any) -> int:
    return int((await session.exec(select(func.count()).select_from(_E).where(
        _E.leaderboard_id == board.id, condition))).one())


async def _position_ahead(session: AsyncSession, board: Leaderboard,
                          entry: LeaderboardEntry) -> int:
    """How many entries are listed before ``entry`` (two index range counts)."""
    return await _count_where(session, board, _strictly_better(board, entry.score)) + (
        await _count_where(session, board, sa.and_(col(_E.score) == entry.score,
                                                   _ahead_of(board, entry))))


async def _rank_of(session: AsyncSession, board: Leaderboard, score: float) -> int:
    return 1 + await _count_where(session, board, _strictly_better(board, score))


async def _ranks_of(session: AsyncSession, board: Leaderboard, scores: dict[str, float]
                    ) -> dict[str, int]:
    """Ranks of these players' scores: a count per score for a few, one histogram for many."""
    if len(set(scores.values())) <= 50:
        by_score = {score: await _rank_of(session, board, score)
                    for score in set(scores.values())}
        return {player: by_score[score] for player, score in scores.items()}
    # many players: one pass over the scores (a histogram), then a binary search per player
    counts = list(await session.exec(select(_E.score, func.count()).where(
        _E.leaderboard_id == board.id).group_by(col(_E.score))))
    desc = board.sort_order == "desc"
    counts.sort(key=lambda row: -row[0] if desc else row[0])
    keys = [-score if desc else score for score, _ in counts]
    better = [0]
    for _, n in counts:
        better.append(better[-1] + int(n))
    return {player: 1 + better[bisect_left(keys, -score if desc else score)]
            for player, score in scores.items()}


async def _ranked(session: AsyncSession, board: Leaderboard, rows: Iterable[LeaderboardEntry],
                  first_position: int) -> list[RankedEntry]:
    """Rank a contiguous page of rows whose first row is at ``first_position`` (1-based)."""
    out: list[RankedEntry] = []
    for i, row in enumerate(rows):
        if not out:
            rank = await _rank_of(session, board, row.score)
        elif row.score == out[-1].score:
            rank = out[-1].rank
        else:
            rank = first_position + i
        out.append(RankedEntry(row.player, row.score, rank, row.updated_at))
    return out


def _page(value: int, what: str) -> int:
    if not 1 <= value <= MAX_PAGE:
        raise Invalid(f"{what} must be between 1 and {MAX_PAGE}", field=what)
    return value


async def _readable(session: AsyncSession, ref: int | str) -> tuple[Leaderboard, bool]:
    """The board, and whether it is empty because its period has passed."""
    board = await _board(session, ref)
    return board, _stale(board, utcnow())


# ------------------------------------------------------------------------ reads


async def top(services: Services, ref: int | str, limit: int = 10) -> list[RankedEntry]:
    _page(limit, "limit")
    async with services.db.session() as session:
        board, stale = await _readable(session, ref)
        if stale:
            return []
        rows = await session.exec(select(_E).where(_E.leaderboard_id == board.id)
                                  .order_by(*_order(board)).limit(limit))
        return await _ranked(session, board, list(rows), 1)


async def by_rank(services: Services, ref: int | str, start: int, end: int
                  ) -> list[RankedEntry]:
    """Entries at positions ``start`` to ``end`` (1-based, inclusive) of the order."""
    if start < 1 or end < start:
        raise Invalid("need 1 <= start <= end", field="start")
    _page(end - start + 1, "end - start + 1")
    async with services.db.session() as session:
        board, stale = await _readable(session, ref)
        if stale:
            return []
        rows = await session.exec(select(_E).where(_E.leaderboard_id == board.id)
                                  .order_by(*_order(board)).offset(start - 1)
                                  .limit(end - start + 1))
        return await _ranked(session, board, list(rows), start)


async def _entry(session: AsyncSession, board: Leaderboard, stale: bool,
                 player: str) -> LeaderboardEntry:
    entry = None if stale else await session.get(_E, (board.id, player))
    if entry is None:
        raise NotFound(f"player {player!r} is not on leaderboard {board.slug!r}")
    return entry


async def player_entry(services: Services, ref: int | str, player: str) -> RankedEntry:
    async with services.db.session() as session:
        board, stale = await _readable(session, ref)
        entry = await _entry(session, board, stale, player)
        return RankedEntry(entry.player, entry.score,
                           await _rank_of(session, board, entry.score), entry.updated_at)


async def players_around(services: Services, ref: int | str, player: str, range_: int = 5
                         ) -> list[RankedEntry]:
    """The player's entry with up to ``range_`` entries before and after it."""
    if not 0 <= range_ <= MAX_PAGE // 2:
        raise Invalid(f"range must be between 0 and {MAX_PAGE // 2}", field="range")
    async with services.db.session() as session:
        board, stale = await _readable(session, ref)
        entry = await _entry(session, board, stale, player)
        before = (await _near(session, board, entry, range_, ahead=True)) if range_ else []
        after = (await _near(session, board, entry, range_, ahead=False)) if range_ else []
        position = 1 + await _position_ahead(session, board, entry)
        rows = [*before, entry, *after]
        return await _ranked(session, board, rows, position - len(before))


async def _near(session: AsyncSession, board: Leaderboard, entry: LeaderboardEntry, n: int,
                *, ahead: bool) -> list[LeaderboardEntry]:
    """Up to ``n`` entries right before (``ahead``) or after ``entry``, nearest first.

    Two index range scans: the entry's own score (ties by time and player), then the scores
    strictly better (or worse), nearest score first; each stops after ``n`` rows.
    """
    base = select(_E).where(_E.leaderboard_id == board.id)
    if ahead:
        tie = sa.or_(col(_E.updated_at) < entry.updated_at,
                     sa.and_(col(_E.updated_at) == entry.updated_at, col(_E.player) < entry.player))
        tie_order = [col(_E.updated_at).desc(), col(_E.player).desc()]
        beyond = _strictly_better(board, entry.score)
        nearest_first = board.sort_order == "desc"  # better scores are higher: ascend from it
    else:
        tie = sa.or_(col(_E.updated_at) > entry.updated_at,
                     sa.and_(col(_E.updated_at) == entry.updated_at, col(_E.player) > entry.player))
        tie_order = [col(_E.updated_at).asc(), col(_E.player).asc()]
        beyond = col(_E.score) < entry.score if board.sort_order == "desc" else (
            col(_E.score) > entry.score)
        nearest_first = board.sort_order == "asc"
    rows = list(await session.exec(base.where(col(_E.score) == entry.score, tie)
                                   .order_by(*tie_order).limit(n)))
    if len(rows) < n:
        score = col(_E.score).asc() if nearest_first else col(_E.score).desc()
        rows += list(await session.exec(base.where(beyond).order_by(score, *tie_order)
                                        .limit(n - len(rows))))
    return list(reversed(rows)) if ahead else rows


async def count_entries(services: Services, ref: int | str) -> int:
    async with services.db.session() as session:
        board, stale = await _readable(session, ref)
        return 0 if stale else await _count_where(session, board, sa.true())


# ------------------------------------------------------------------------ practice


async def _practice_board(services: Services) -> Leaderboard:
    try:
        return await get_leaderboard(services, PRACTICE_SLUG)
    except NotFound:
        pass
    try:
        return await create_leaderboard(
            services, slug=PRACTICE_SLUG, title="Practice: problems solved",
            update_mode="increment")
    except Exception:  # created meanwhile by a concurrent verdict
        return await get_leaderboard(services, PRACTICE_SLUG)


async def feed_practice(services: Services, submission: Submission,
                        judging: Judging | None = None) -> None:
    """After a current verdict of a practice submission: refresh its player's solved count.

    The player is ``user:<id>`` (``team:<id>`` for a submission without a user); the score is
    the number of distinct problems with a current accepted verdict in any practice contest.
    A judge's verdict that is not an accept and replaced none (``verdict_before``, set by a
    rejudge) changes nothing and costs nothing; a verdict recorded by hand (no job key) always
    recounts. Never raises: the verdict is committed whatever happens here.
    """
    accepted = Verdict.ACCEPTED.value
    if (submission.verdict != accepted and judging is not None
            and judging.job_key is not None and judging.verdict_before != accepted):
        return
    try:
        if submission.user_id is not None:
            player, who = f"user:{submission.user_id}", Submission.user_id == submission.user_id
        else:
            player, who = f"team:{submission.team_id}", Submission.team_id == submission.team_id
        board = await _practice_board(services)
        async with services.db.session() as session:
            solved = (await session.exec(
                select(func.count(sa.distinct(Submission.problem_id)))
                .select_from(Submission)
                .join(Contest, col(Contest.id) == Submission.contest_id)
                .where(who, col(Contest.is_practice).is_(True),
                       Submission.verdict == Verdict.ACCEPTED.value))).one()
            current = await session.get(_E, (board.id, player))
        if current is not None and current.score == solved and not _stale(board, utcnow()):
            return
        if current is None and solved == 0:
            return
        await submit_scores(services, board.id, [(player, float(solved))], mode="replace")
    except Exception:
        log.exception("practice leaderboard: could not count submission %s", submission.id)
