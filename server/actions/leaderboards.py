"""Leaderboards outside contests (practice, school-wide): create, score, read, reset.

A leaderboard orders its entries by score (``desc`` or ``asc``); equal scores share a rank
(1, 2, 2, 4) and the earlier achiever (the entry whose score was set first) is listed first,
then the player name (code-point order). The database holds the entries; the reads (top, a
page by position, around a player, a player's rank, the count) come from the sorted index
(``services.leaderboard_index``, Redis in production, memory in the embedded mode): a rank is
one plus the number of strictly better scores, O(log n). Every write commits, then copies the
changed rows to the index (:mod:`server.actions.leaderboard_upkeep`); a board whose index is
missing is rebuilt from the database by its next read.

Scores are finite doubles, kept exactly by the database and the index alike. An integer that a
double cannot hold exactly (beyond 2**53, e.g. 2**53 + 1) and an increment whose result is not
finite are refused (:class:`Invalid`, HTTP 400) rather than rounded.

Reset periods are lazy: no scheduler runs. A board whose ``period_started_at`` is before the
start of the current period (midnight UTC, Monday, the 1st of the month) reads as empty, and the
next write deletes its entries and moves ``period_started_at`` on (audited as a reset).

Update modes: ``replace`` (the submitted score), ``increment`` (added to the current one) and
``best`` (kept only if better in the board's order). An entry's ``updated_at`` moves only when
its score changes: it is the time the score was achieved. With ``max_entries``, the worst
entries past the cap are dropped after every write.

Writers of one board queue on its index lock (shared by every process on Redis) and on its row
(``SELECT … FOR UPDATE`` on PostgreSQL), so a read-modify-write such as an increment never
loses an update, on SQLite too.

The practice leaderboard (slug ``practice``, created on demand) counts, per user (or per team
for a submission without a user), the distinct problems solved in practice contests; every
current accepted verdict in a practice contest refreshes the count (so a first accept adds one,
another accept of a solved problem adds nothing, and a rejudge away from the only accept takes
it back).
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, publish, unit_of_work
from server.actions.errors import Invalid, NotFound
from server.actions.leaderboard_upkeep import (
    Write,
    described,
    read_indexed,
    rebuild_index,
    writing,
)
from server.components import Verdict
from server.i18n import N_
from server.leaderboard_index import RankedEntry
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
    "read_leaderboard",
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
            raise Invalid(N_("%(field_name)s must be one of %(choices)s, not %(value2)r"),
                          field_name=field, choices=', '.join(allowed), value2=value,
                          field=field)
    if max_entries is not None and max_entries < 1:
        raise Invalid(N_("max_entries must be at least 1"), field="max_entries")


async def _board(session: AsyncSession, ref: int | str | Leaderboard, *,
                 for_update: bool = False) -> Leaderboard:
    """A leaderboard by id (an int or a string of digits) or slug; ``for_update`` locks its row
    until the transaction ends (writers of one board queue there)."""
    if isinstance(ref, Leaderboard):
        ref = int(ref.id or 0)
    query = select(Leaderboard)
    if for_update:
        query = query.with_for_update()
    if isinstance(ref, int) or ref.isdigit():
        board = (await session.exec(query.where(Leaderboard.id == int(ref)))).first()
        if board is not None:
            return board
        if isinstance(ref, int):
            raise NotFound(N_("leaderboard %(ref)s does not exist"), ref=ref)
    board = (await session.exec(query.where(Leaderboard.slug == ref))).first()
    if board is None:
        raise NotFound(N_("leaderboard %(ref)r does not exist"), ref=ref)
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
        raise Invalid(N_("slug must be letters, digits, '-', '_' or '.', and not only digits"),
                      field="slug")
    now = utcnow()
    async with unit_of_work(services, conflict=(N_("leaderboard %(slug)r already exists"),
                                                {"slug": slug})) as session:
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
    try:
        await rebuild_index(services, board)  # empty and built (an id SQLite reuses, too)
    except Exception:  # committed: the first read builds it
        log.exception("leaderboard %s: could not build its index", slug)
    await publish(services, "leaderboard.created", {"leaderboard_id": board.id, "slug": slug})
    return board


async def get_leaderboard(services: Services, ref: int | str) -> Leaderboard:
    async with services.db.read() as session:
        return await _board(session, ref)


async def read_leaderboard(services: Services, ref: int | str) -> Leaderboard:
    """The board for a read: as its index describes it (the row is kept with every rebuild,
    and every change of the row rebuilds or drops the index: no query), or from the database
    when its index is not built. A detached object: do not change it."""
    about = await services.leaderboard_index.about(ref)
    return described(about) if about is not None else await get_leaderboard(services, ref)


async def list_leaderboards(services: Services, *, include_private: bool = False
                            ) -> list[Leaderboard]:
    query = select(Leaderboard).order_by(col(Leaderboard.id))
    if not include_private:
        query = query.where(col(Leaderboard.public).is_(True))
    async with services.db.read() as session:
        return list(await session.exec(query))


async def delete_leaderboard(services: Services, ref: int | str, *,
                             actor: User | None = None) -> None:
    async with _write(services, ref) as write:
        session, board = write.session, write.board
        await session.exec(sa.delete(_E).where(col(_E.leaderboard_id) == board.id))
        await session.delete(board)
        audit(session, actor=actor, action="leaderboard.delete", object_type="leaderboard",
              object_id=board.id, data={"slug": board.slug})
        write.deleted = True
    await publish(services, "leaderboard.deleted", {"leaderboard_id": board.id})


async def reset_leaderboard(services: Services, ref: int | str, *,
                            actor: User | None = None) -> int:
    """Empty the board now; returns how many entries were removed."""
    async with _write(services, ref) as write:
        board = write.board
        removed = await _empty(write.session, board, utcnow(), actor=actor, reason="manual")
        write.whole = True
    await publish(services, "leaderboard.reset", {"leaderboard_id": board.id})
    return removed


async def remove_player(services: Services, ref: int | str, player: str, *,
                        actor: User | None = None) -> None:
    async with _write(services, ref) as write:
        session, board = write.session, write.board
        entry = await session.get(_E, (board.id, player))
        if entry is None or _stale(board, utcnow()):
            raise NotFound(N_("player %(player)r is not on leaderboard %(board)r"),
                           player=player, board=board.slug)
        await session.delete(entry)
        audit(session, actor=actor, action="leaderboard.remove_player",
              object_type="leaderboard", object_id=board.id,
              data={"player": player, "score": entry.score})
        write.players.add(player)
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


@asynccontextmanager
async def _write(services: Services, ref: int | str) -> AsyncIterator[Write]:
    """A write to the board: its index lock, a transaction with its row locked, and the
    index brought up to the commit (:func:`server.actions.leaderboard_upkeep.writing`)."""
    board = await get_leaderboard(services, ref)
    async with writing(services, int(board.id or 0), _locked_board) as write:
        yield write


async def _locked_board(session: AsyncSession, board_id: int) -> Leaderboard:
    return await _board(session, board_id, for_update=True)


# ------------------------------------------------------------------------ writes


def _better(board: Leaderboard, new: float, old: float) -> bool:
    return new > old if board.sort_order == "desc" else new < old


def _check_score(player: object, score: object) -> float:
    """The score as a float, or Invalid: finite, and exactly what was given."""
    if not isinstance(player, str) or not 1 <= len(player) <= 128:
        raise Invalid(N_("a player is 1 to 128 characters"), field="player")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        raise Invalid(N_("score of %(player)r is not a number"), player=player, field="score")
    try:
        value = float(score)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise Invalid(N_("score of %(player)r is not a finite number"),
                      player=player, field="score")
    if isinstance(score, int) and value != score:
        raise Invalid(N_("score of %(player)r is an integer beyond 2**53 that a double cannot hold "
                         "exactly (%(score)s)"),
                      player=player, score=score, field="score")
    return value + 0.0  # -0.0 is 0.0


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
        raise Invalid(N_("no scores given"), field="scores")
    if len(scores) > MAX_BATCH:
        raise Invalid(N_("at most %(max_batch)s scores per batch"),
                      max_batch=MAX_BATCH, field="scores")
    checked = [(player, _check_score(player, score)) for player, score in scores]
    async with _write(services, ref) as write:
        session, board = write.session, write.board
        now = utcnow()  # under the lock: a later writer of this board has a later time
        how = mode or board.update_mode
        if how not in UPDATE_MODES:
            raise Invalid(N_("update mode must be one of %(choices)s"),
                          choices=', '.join(UPDATE_MODES), field="mode")
        if _stale(board, now):
            await _empty(session, board, now, actor=actor, reason=board.reset_period)
            write.whole = True
        players = list(dict.fromkeys(p for p, _ in checked))
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
        for player, score in checked:
            row = state.get(player)
            if row is None:
                state[player] = [score, now]
                changed.add(player)
                continue
            if how == "increment":
                new = row[0] + score
                if not math.isfinite(new):
                    raise Invalid(N_("the increment of %(player)r would take the score past the "
                                     "largest double"),
                                  player=player, field="score")
            elif how == "best":
                new = score if _better(board, score, row[0]) else row[0]
            else:
                new = score
            if new != row[0]:
                state[player] = [new + 0.0, now]
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
              data={"mode": how, "scores": [[p, s] for p, s in checked],
                    "dropped": sorted(dropped)})
        write.players = changed | dropped
    kept = {p: state[p][0] for p in players if p not in dropped}
    distinct = sorted(set(kept.values()))
    by_score = dict(zip(distinct, await read_indexed(
        services, board, lambda key: services.leaderboard_index.ranks(key, distinct)),
        strict=True))
    result = [None if p in dropped else RankedEntry(p, kept[p], by_score[kept[p]], state[p][1])
              for p, _ in checked]
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
                                    .order_by(*_reverse_order(session, board)).limit(excess)))
    for i in range(0, len(worst), _IN_CHUNK):
        await session.exec(sa.delete(_E).where(
            col(_E.leaderboard_id) == board.id, col(_E.player).in_(worst[i:i + _IN_CHUNK])))
    return set(worst)


def _reverse_order(session: AsyncSession, board: Leaderboard) -> list[Any]:
    """Worst first: the index's order reversed (players in code-point order, as the index and
    SQLite compare them; PostgreSQL is told to, whatever the database's collation)."""
    score = col(_E.score)
    player: Any = col(_E.player)
    if session.get_bind().dialect.name == "postgresql":
        player = player.collate("C")
    return [score.asc() if board.sort_order == "desc" else score.desc(),
            col(_E.updated_at).desc(), player.desc()]


# ------------------------------------------------------------------------ reads


def _page(value: int, what: str) -> int:
    if not 1 <= value <= MAX_PAGE:
        raise Invalid(N_("%(what)s must be between 1 and %(max_page)s"),
                      what=what, max_page=MAX_PAGE, field=what)
    return value


async def _readable(services: Services, ref: int | str | Leaderboard
                    ) -> tuple[Leaderboard, bool]:
    """The board (a :class:`Leaderboard` is taken as it is: no query), and whether it reads
    as empty because its period has passed."""
    board = ref if isinstance(ref, Leaderboard) else await read_leaderboard(services, ref)
    return board, _stale(board, utcnow())


async def top(services: Services, ref: int | str | Leaderboard, limit: int = 10
              ) -> list[RankedEntry]:
    _page(limit, "limit")
    board, stale = await _readable(services, ref)
    if stale:
        return []
    return await read_indexed(services, board,
                              lambda key: services.leaderboard_index.page(key, 0, limit))


async def by_rank(services: Services, ref: int | str | Leaderboard, start: int, end: int
                  ) -> list[RankedEntry]:
    """Entries at positions ``start`` to ``end`` (1-based, inclusive) of the order."""
    if start < 1 or end < start:
        raise Invalid(N_("need 1 <= start <= end"), field="start")
    _page(end - start + 1, "end - start + 1")
    board, stale = await _readable(services, ref)
    if stale:
        return []
    return await read_indexed(services, board,
                              lambda key: services.leaderboard_index.page(key, start - 1, end))


async def player_entry(services: Services, ref: int | str | Leaderboard, player: str
                       ) -> RankedEntry:
    found = await players_around(services, ref, player, 0)
    return found[0]


async def players_around(services: Services, ref: int | str | Leaderboard, player: str,
                         range_: int = 5) -> list[RankedEntry]:
    """The player's entry with up to ``range_`` entries before and after it."""
    if not 0 <= range_ <= MAX_PAGE // 2:
        raise Invalid(N_("range must be between 0 and %(value)s"),
                      value=MAX_PAGE // 2, field="range")
    board, stale = await _readable(services, ref)
    rows = [] if stale else await read_indexed(
        services, board, lambda key: services.leaderboard_index.around(key, player, range_))
    if not rows:
        raise NotFound(N_("player %(player)r is not on leaderboard %(board)r"),
                       player=player, board=board.slug)
    return rows


async def count_entries(services: Services, ref: int | str | Leaderboard) -> int:
    board, stale = await _readable(services, ref)
    if stale:
        return 0
    return await read_indexed(services, board, services.leaderboard_index.count)


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
