"""The leaderboard index: per named leaderboard, its entries kept sorted (rebuildable state).

The database is the source of truth; this index answers the reads (top, a page by position,
around a player, a player's rank, the count) in O(log n). Order, on every implementation:

1. the score, best first (highest for a ``desc`` board, lowest for an ``asc`` one);
2. equal scores: the earlier ``updated_at`` first (the time the score was achieved);
3. then the player name in code-point order (UTF-8 byte order).

Ranks are competition ranks: 1 + the number of entries with a strictly better score
(1, 2, 2, 4). Scores are any finite IEEE-754 double, kept exactly: the sorted-set score is the
double itself (negated on a ``desc`` board), and the tie-break lives in the member, which is
``updated_at`` as 18 zero-padded digits of microseconds since 0001-01-01 UTC followed by the
player — byte order is then (time, player) order. Nothing is folded into the score, so there
is no precision limit beyond the double's own.

An index of a board is either *built* (its entries mirror the database) or not (never filled,
dropped, Redis flushed, a fresh process in the embedded mode): every read of a board that is
not built raises :class:`IndexNotBuilt`, and the caller rebuilds it from the database with
:meth:`LeaderboardIndex.replace`. Upkeep of one board (rebuilds, syncs after a write, drops)
runs under :meth:`LeaderboardIndex.lock`, which excludes the other processes too.

- :class:`server.leaderboard_index.memory.MemoryLeaderboardIndex` (embedded mode);
- :class:`server.leaderboard_index.redis.RedisLeaderboardIndex` (production: a sorted set, a
  hash player -> time and a "built" marker per board).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "TIME_DIGITS",
    "BoardKey",
    "Entry",
    "IndexNotBuilt",
    "LeaderboardIndex",
    "RankedEntry",
    "check_entries",
    "check_window",
    "decode_time",
    "encode_time",
    "make_leaderboard_index",
    "rank_page",
    "sort_key",
]

Entry = tuple[str, float, datetime]
"""``(player, score, updated_at)`` as the database holds it."""

TIME_DIGITS = 18
"""Width of the time prefix of a member: microseconds since 0001-01-01 UTC (< 10**18)."""
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class IndexNotBuilt(LookupError):
    """The board's index is not built: rebuild it from the database, then read again."""


@dataclass(frozen=True, slots=True)
class BoardKey:
    """Which board, and which way it sorts."""

    id: int
    descending: bool


@dataclass(frozen=True, slots=True)
class RankedEntry:
    player: str
    score: float
    rank: int
    updated_at: datetime
    """When the score was achieved (equal scores: the earlier one is listed first)."""


def encode_time(at: datetime) -> int:
    """Microseconds since 0001-01-01 UTC (``at`` must be timezone-aware)."""
    if at.tzinfo is None:
        raise ValueError("updated_at must be timezone-aware")
    return (at - _EPOCH) // _MICROSECOND


def decode_time(micros: int) -> datetime:
    return _EPOCH + micros * _MICROSECOND


def sort_key(score: float, descending: bool) -> float:
    """The stored number: ascending order is best first (``-0.0`` becomes ``0.0``)."""
    return (-score if descending else score) + 0.0


def check_entries(entries: Sequence[Entry]) -> None:
    """``ValueError``/``TypeError`` unless every entry has a player, a finite score and an
    aware time."""
    for player, score, at in entries:
        if not isinstance(player, str) or not player:
            raise TypeError(f"a player is a non-empty str, not {player!r}")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise TypeError(f"a score is a number, not {type(score).__name__}")
        if not math.isfinite(score):
            raise ValueError(f"a score must be finite, got {score!r}")
        if not isinstance(at, datetime) or at.tzinfo is None:
            raise ValueError(f"updated_at of {player!r} must be a timezone-aware datetime")


def rank_page(rows: Sequence[tuple[str, float, datetime]], first_position: int,
              first_rank: int) -> list[RankedEntry]:
    """Rank a contiguous run of rows in index order whose first row sits at ``first_position``
    (1-based) and has competition rank ``first_rank``."""
    out: list[RankedEntry] = []
    for i, (player, score, at) in enumerate(rows):
        if not out:
            rank = first_rank
        elif score == out[-1].score:
            rank = out[-1].rank
        else:
            rank = first_position + i
        out.append(RankedEntry(player, score, rank, at))
    return out


@runtime_checkable
class LeaderboardIndex(Protocol):
    """Sorted entries of each leaderboard; reads raise :class:`IndexNotBuilt` when the board's
    index is not built."""

    def lock(self, board_id: int) -> AbstractAsyncContextManager[None]:
        """Hold the board's upkeep lock (every process): rebuilds and syncs run under it."""
        ...

    async def built(self, board_id: int) -> bool:
        """Whether the board's index is built."""
        ...

    async def replace(self, board: BoardKey, chunks: AsyncIterable[Sequence[Entry]], *,
                      name: str = "", about: str = "") -> int:
        """Make these entries the board's whole index and mark it built; returns their number.

        ``about`` (the caller's description of the board, e.g. its row as JSON) is kept with
        it and found by :meth:`about` through the board's id or its ``name``. Readers see the
        old index or the new one, never a partial one. Run it under :meth:`lock`: writes made
        meanwhile by others would be lost.
        """
        ...

    async def about(self, ref: int | str) -> str | None:
        """The ``about`` of the built board with this id (an int or a string of digits) or
        name, as its last :meth:`replace` stored it; None when no built board has it."""
        ...

    async def put(self, board: BoardKey, entries: Sequence[Entry]) -> None:
        """Insert or move entries (a later entry of the same player wins)."""
        ...

    async def remove(self, board: BoardKey, players: Sequence[str]) -> None:
        """Drop these players' entries (absent ones are ignored)."""
        ...

    async def drop(self, board_id: int) -> None:
        """Forget the board (its entries, ``about`` and name): it is no longer built."""
        ...

    async def count(self, board: BoardKey) -> int:
        """How many entries the board holds."""
        ...

    async def page(self, board: BoardKey, start: int, stop: int) -> list[RankedEntry]:
        """Entries at positions ``start`` .. ``stop - 1`` (0-based) with their ranks."""
        ...

    async def around(self, board: BoardKey, player: str, radius: int) -> list[RankedEntry]:
        """The player's entry with up to ``radius`` entries before and after it; empty when
        the player has no entry."""
        ...

    async def ranks(self, board: BoardKey, scores: Sequence[float]) -> list[int]:
        """For each score: 1 + the number of entries with a strictly better score."""
        ...


def check_window(start: int, stop: int) -> None:
    if start < 0 or stop < start:
        raise ValueError(f"need 0 <= start <= stop, got {start} and {stop}")


def make_leaderboard_index(redis: Redis | None, prefix: str = "podium:") -> LeaderboardIndex:
    """The Redis index when a client is given (keys ``<prefix>leaderboard:{<id>}…``), else the
    in-memory one. The client is never closed here."""
    if redis is None:
        from server.leaderboard_index.memory import MemoryLeaderboardIndex

        return MemoryLeaderboardIndex()
    from server.leaderboard_index.redis import RedisLeaderboardIndex

    return RedisLeaderboardIndex(redis, prefix)
