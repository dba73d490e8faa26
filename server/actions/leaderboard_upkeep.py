"""Keeping the leaderboard index (``services.leaderboard_index``) equal to the database.

The database is the source of truth; the index is rebuildable state. A write to a board runs
inside :func:`writing`: the board's index lock (one ``asyncio.Lock`` per board in the embedded
mode, a Redis lock shared by every process in production), then a transaction that locks the
board's row, commits, and only then copies the changed rows to the index, *read again from the
database*, before the lock is released. Writers of one board therefore commit and reach the
index in one order (SQLite, which ignores ``FOR UPDATE``, gets its read-modify-write made
atomic by the lock too); and should the lock ever expire under a writer (its TTL frees the lock
of a dead process), each sync still copies the latest committed rows.

- :func:`writing` for create-free writes (scores, remove a player, reset, delete);
- :func:`rebuild_index` after a create, and from ``podium leaderboard rebuild``;
- :func:`read_indexed` for every read: a board whose index is not built (Redis flushed, a fresh
  embedded process) is rebuilt on the spot, once, by whoever gets the lock first.

Every rebuild also stores the board's row, as JSON, with its index (``about``, found by id or
slug). Every change of the row (create, reset, the lazy reset of a write, delete) rebuilds or
drops the index under the lock, so reads take the board from there and query no database. A
row edited behind Podium's back (SQL by hand) needs ``podium leaderboard rebuild``.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import unit_of_work
from server.actions.errors import NotFound
from server.i18n import N_
from server.leaderboard_index import BoardKey, Entry, IndexNotBuilt
from server.models import Leaderboard, LeaderboardEntry
from server.services import Services

__all__ = [
    "Write",
    "board_key",
    "custom_plans",
    "describe",
    "described",
    "read_indexed",
    "rebuild_index",
    "sync_players",
    "writing",
]

log = logging.getLogger("podium.actions.leaderboards")

T = TypeVar("T")
_E = LeaderboardEntry
REBUILD_CHUNK = 20_000
"""Rows per database read while rebuilding (keyset pages by player)."""
_IN_CHUNK = 500


def board_key(board: Leaderboard) -> BoardKey:
    return BoardKey(int(board.id or 0), board.sort_order == "desc")


def describe(board: Leaderboard) -> str:
    """The board's row as JSON: the index keeps it (``about``) so reads need no query."""
    return json.dumps(board.model_dump(mode="json"), sort_keys=True)


@functools.lru_cache(maxsize=1024)
def described(text: str) -> Leaderboard:
    """A detached board back from :func:`describe`, shared by every caller with the same text
    (validating a table model costs ~0.3 ms; a reader must not change it)."""
    board = Leaderboard.model_validate(json.loads(text))
    board.period_started_at = board.period_started_at.astimezone(UTC)
    board.created_at = board.created_at.astimezone(UTC)
    return board


async def custom_plans(session: AsyncSession) -> None:
    """PostgreSQL: plan this transaction's statements for their actual parameters.

    asyncpg prepares every statement and PostgreSQL may switch a prepared statement to a
    generic plan made while the board was small (a sequential scan filtering ``player IN
    ($1 … $500)``, 0.4 s a query at 10,000 rows instead of 3 ms). No-op on SQLite.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


async def _all_rows(services: Services, board_id: int) -> AsyncIterator[Sequence[Entry]]:
    """The board's rows in pages of :data:`REBUILD_CHUNK`, by player (the primary key)."""
    after: str | None = None
    while True:
        query = select(_E.player, _E.score, _E.updated_at).where(_E.leaderboard_id == board_id)
        if after is not None:
            query = query.where(col(_E.player) > after)
        async with services.db.session() as session:
            await custom_plans(session)
            rows = [tuple(row) for row in await session.exec(
                query.order_by(col(_E.player)).limit(REBUILD_CHUNK))]
        if not rows:
            return
        yield rows  # type: ignore[misc]
        if len(rows) < REBUILD_CHUNK:
            return
        after = rows[-1][0]


async def _rebuild_locked(services: Services, board_id: int) -> int:
    """Refill the index from the board's current row and entries (NotFound, and no index,
    when the board is gone)."""
    async with services.db.session() as session:
        board = await session.get(Leaderboard, board_id)
    if board is None:
        await services.leaderboard_index.drop(board_id)
        raise NotFound(N_("leaderboard %(board_id)s does not exist"), board_id=board_id)
    return await services.leaderboard_index.replace(
        board_key(board), _all_rows(services, board_id), name=board.slug, about=describe(board))


async def rebuild_index(services: Services, board: Leaderboard) -> int:
    """Refill the board's index from the database; returns its number of entries."""
    async with services.leaderboard_index.lock(board_key(board).id):
        return await _rebuild_locked(services, board_key(board).id)


async def sync_players(services: Services, board: Leaderboard, players: Collection[str]) -> None:
    """Copy these players' rows (or their absence) from the database to the index; the
    caller holds the board's index lock.

    A board whose index is not built is left alone (its next read rebuilds it). A sync that
    fails half-way drops the index, so the next read rebuilds it rather than serve a mix.
    """
    index = services.leaderboard_index
    key = board_key(board)
    if not players or not await index.built(key.id):
        return
    try:
        wanted = list(players)
        found: list[Entry] = []
        async with services.db.session() as session:
            await custom_plans(session)
            for i in range(0, len(wanted), _IN_CHUNK):
                found += [tuple(row) for row in await session.exec(  # type: ignore[misc]
                    select(_E.player, _E.score, _E.updated_at).where(
                        _E.leaderboard_id == key.id,
                        col(_E.player).in_(wanted[i:i + _IN_CHUNK])))]
        await index.put(key, found)
        present = {row[0] for row in found}
        await index.remove(key, [p for p in wanted if p not in present])
    except BaseException:
        await index.drop(key.id)
        raise


@dataclass
class Write:
    """What a write tells :func:`writing` to copy to the index once it has committed."""

    session: AsyncSession
    board: Leaderboard
    players: set[str] = field(default_factory=set)
    """Players whose rows changed (or went)."""
    whole: bool = False
    """Rebuild the whole board's index (a reset)."""
    deleted: bool = False
    """The board is gone: drop its index."""


@asynccontextmanager
async def writing(services: Services, board_id: int,
                  load: Callable[[AsyncSession, int], Awaitable[Leaderboard]]
                  ) -> AsyncIterator[Write]:
    """Hold the board's index lock; inside it a unit of work whose board (``load``, which
    should lock the row) is yielded; after the commit, bring the index up to it.

    The index update never raises (the write is committed): a failure is logged and leaves
    the index dropped, rebuilt by the next read.
    """
    index = services.leaderboard_index
    async with index.lock(board_id):
        async with unit_of_work(services) as session:
            write = Write(session, await load(session, board_id))
            await custom_plans(session)
            yield write
        try:
            if write.deleted:
                await index.drop(board_id)
            elif write.whole:
                await _rebuild_locked(services, board_id)
            else:
                await sync_players(services, write.board, write.players)
        except Exception:
            log.exception("leaderboard %s: could not update its index", write.board.slug)
            try:
                await index.drop(board_id)
            except Exception:
                log.exception("leaderboard %s: could not drop its index", write.board.slug)


async def read_indexed(services: Services, board: Leaderboard,
                       read: Callable[[BoardKey], Awaitable[T]]) -> T:
    """``read(key)``; when the board's index is not built, build it first (under the lock,
    unless another process has just done so) and read again."""
    key = board_key(board)
    for _ in range(3):
        try:
            return await read(key)
        except IndexNotBuilt:
            async with services.leaderboard_index.lock(key.id):
                if not await services.leaderboard_index.built(key.id):
                    count = await _rebuild_locked(services, key.id)
                    log.info("leaderboard %s: index rebuilt from the database (%d entries)",
                             board.slug, count)
    raise NotFound(N_("leaderboard %(board)r is being deleted"), board=board.slug)
