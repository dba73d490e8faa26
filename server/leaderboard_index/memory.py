"""In-process leaderboard index for the embedded mode: a ``SortedList`` per board.

Rows are ``(sort key, time in microseconds, player)``: ascending order is the board's order.
A fresh process knows no board (each is rebuilt from the database on its first read).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from server.leaderboard_index import (
    BoardKey,
    Entry,
    IndexNotBuilt,
    RankedEntry,
    check_entries,
    check_window,
    decode_time,
    encode_time,
    rank_page,
    sort_key,
)

__all__ = ["MemoryLeaderboardIndex"]


@dataclass(slots=True)
class _Board:
    times: dict[str, tuple[float, int]] = field(default_factory=dict)
    """player -> (sort key, time)."""
    rows: SortedList = field(default_factory=SortedList)

    def put(self, board: BoardKey, entries: Sequence[Entry]) -> None:
        for player, score, at in entries:
            self.remove(player)
            row = (sort_key(score, board.descending), encode_time(at))
            self.times[player] = row
            self.rows.add((*row, player))

    def remove(self, player: str) -> None:
        old = self.times.pop(player, None)
        if old is not None:
            self.rows.remove((*old, player))


class MemoryLeaderboardIndex:
    """:class:`server.leaderboard_index.LeaderboardIndex` in memory; updates are O(log n)."""

    def __init__(self) -> None:
        self._boards: dict[int, _Board] = {}
        self._built: dict[int, tuple[str, str]] = {}
        """Built boards: id -> (name, about)."""
        self._names: dict[str, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    @asynccontextmanager
    async def lock(self, board_id: int) -> AsyncIterator[None]:
        """An ``asyncio.Lock`` per board (one process holds the whole index)."""
        async with self._locks.setdefault(board_id, asyncio.Lock()):
            yield

    async def built(self, board_id: int) -> bool:
        return board_id in self._built

    async def replace(self, board: BoardKey, chunks: AsyncIterable[Sequence[Entry]], *,
                      name: str = "", about: str = "") -> int:
        """Build a new board aside, then swap it in (no await in between: atomic)."""
        fresh = _Board()
        async for chunk in chunks:
            check_entries(chunk)
            fresh.put(board, chunk)
        self._boards[board.id] = fresh
        self._built[board.id] = (name, about)
        if name:
            self._names[name] = board.id
        return len(fresh.times)

    async def about(self, ref: int | str) -> str | None:
        if isinstance(ref, int) or ref.isdigit():
            found = self._built.get(int(ref))
        else:
            board_id = self._names.get(ref)
            found = None if board_id is None else self._built.get(board_id)
        return None if found is None else found[1]

    async def put(self, board: BoardKey, entries: Sequence[Entry]) -> None:
        check_entries(entries)
        self._boards.setdefault(board.id, _Board()).put(board, entries)

    async def remove(self, board: BoardKey, players: Sequence[str]) -> None:
        found = self._boards.get(board.id)
        if found is not None:
            for player in players:
                found.remove(player)

    async def drop(self, board_id: int) -> None:
        name, _ = self._built.pop(board_id, ("", ""))
        if self._names.get(name) == board_id:
            del self._names[name]
        self._boards.pop(board_id, None)

    def _board(self, board: BoardKey) -> _Board:
        if board.id not in self._built:
            raise IndexNotBuilt(f"leaderboard {board.id} is not indexed")
        return self._boards.setdefault(board.id, _Board())

    async def count(self, board: BoardKey) -> int:
        return len(self._board(board).times)

    async def page(self, board: BoardKey, start: int, stop: int) -> list[RankedEntry]:
        check_window(start, stop)
        found = self._board(board)
        return self._ranked(board, found, start, list(found.rows.islice(start, stop)))

    async def around(self, board: BoardKey, player: str, radius: int) -> list[RankedEntry]:
        check_window(0, radius)
        found = self._board(board)
        row = found.times.get(player)
        if row is None:
            return []
        position = found.rows.index((*row, player))
        first = max(0, position - radius)
        return self._ranked(board, found, first,
                            list(found.rows.islice(first, position + radius + 1)))

    async def ranks(self, board: BoardKey, scores: Sequence[float]) -> list[int]:
        found = self._board(board)
        # (key,) sorts before every (key, time, player): bisect counts strictly better rows
        return [found.rows.bisect_left((sort_key(s, board.descending),)) + 1 for s in scores]

    @staticmethod
    def _ranked(board: BoardKey, found: _Board, first: int,
                rows: list[tuple[float, int, str]]) -> list[RankedEntry]:
        if not rows:
            return []
        first_rank = found.rows.bisect_left((rows[0][0],)) + 1
        return rank_page([(player, sort_key(key, board.descending), decode_time(at))
                          for key, at, player in rows], first + 1, first_rank)
