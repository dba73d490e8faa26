"""The standings index: per contest, team id -> integer rank score, kept sorted.

The score is :meth:`server.components.ScoringRule.rank_score` — one integer, higher is better,
with ``|score| < 2**53`` so that Redis (whose sorted-set scores are doubles) stores it exactly.
Rows come out best first; equal scores share a competition rank ("1224") and are listed by
team id ascending, on every implementation:

- :class:`server.scoreboard.index_memory.MemoryStandingsIndex` (embedded mode);
- :class:`server.scoreboard.index_redis.RedisStandingsIndex` (production, one sorted set per
  contest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "MAX_SCORE",
    "MAX_TEAM_ID",
    "StandingsIndex",
    "check_score",
    "check_team",
    "check_window",
    "make_index",
]

MAX_SCORE = 2**53 - 1
"""The largest accepted ``|score|``."""
MAX_TEAM_ID = 10**20 - 1
"""Team ids are non-negative integers up to this (20 decimal digits)."""


@runtime_checkable
class StandingsIndex(Protocol):
    """Sorted standings of each contest: best score first, ties by team id ascending."""

    async def set(self, contest_id: int, team_id: int, score: int) -> None:
        """Insert or update one team's score."""
        ...

    async def set_many(self, contest_id: int, scores: Mapping[int, int]) -> None:
        """Insert or update several teams' scores (others are kept)."""
        ...

    async def replace(self, contest_id: int, scores: Mapping[int, int]) -> None:
        """Atomically make ``scores`` the whole index of the contest (empty = delete it).

        Readers see the old index or the new one, never a partial or empty one. Writes to the
        same contest that run concurrently with a replace may be lost: use it for rebuilds.
        """
        ...

    async def remove(self, contest_id: int, team_id: int) -> None:
        """Drop a team (no error if it is absent)."""
        ...

    async def score(self, contest_id: int, team_id: int) -> int | None:
        """The team's score, or None when it is not indexed."""
        ...

    async def rank(self, contest_id: int, team_id: int) -> int | None:
        """Competition rank, 1-based: 1 + the number of teams with a strictly higher score."""
        ...

    async def top(self, contest_id: int, limit: int, offset: int = 0) -> list[tuple[int, int]]:
        """``(team_id, score)`` rows ``offset`` .. ``offset + limit - 1``, best first."""
        ...

    async def around(self, contest_id: int, team_id: int, radius: int) -> list[tuple[int, int]]:
        """The team's row with up to ``radius`` rows above and below it, best first.

        Empty when the team is not indexed.
        """
        ...

    async def count(self, contest_id: int) -> int:
        """How many teams the contest's index holds."""
        ...

    async def clear(self, contest_id: int) -> None:
        """Drop the contest's whole index."""
        ...


def check_score(score: int) -> int:
    """``score`` if it is an integer with ``|score| <= MAX_SCORE``, else an error."""
    if not isinstance(score, int) or isinstance(score, bool):
        raise TypeError(f"a rank score must be an int, not {type(score).__name__}")
    if not -MAX_SCORE <= score <= MAX_SCORE:
        raise ValueError(f"a rank score must satisfy |score| < 2**53, got {score}")
    return score


def check_team(team_id: int) -> int:
    """``team_id`` if it is an integer in ``0 .. MAX_TEAM_ID``, else an error."""
    if not isinstance(team_id, int) or isinstance(team_id, bool):
        raise TypeError(f"a team id must be an int, not {type(team_id).__name__}")
    if not 0 <= team_id <= MAX_TEAM_ID:
        raise ValueError(f"a team id must be in 0..{MAX_TEAM_ID}, got {team_id}")
    return team_id


def check_scores(scores: Mapping[int, int]) -> list[tuple[int, int]]:
    """The (team_id, score) pairs of a mapping, each checked."""
    items = list(scores.items())
    for team_id, score in items:
        check_team(team_id)
        check_score(score)
    return items


def check_window(limit: int, offset: int = 0) -> None:
    """``ValueError`` unless ``limit`` and ``offset`` are non-negative."""
    if limit < 0 or offset < 0:
        raise ValueError(f"limit and offset must be >= 0, got {limit} and {offset}")


def make_index(redis: Redis | None, prefix: str = "podium:") -> StandingsIndex:
    """The Redis sorted-set index when a client is given, else the in-memory index.

    The Redis index keeps contest ``c`` under ``<prefix>standings:{c}`` and does not close the
    client.
    """
    if redis is None:
        from server.scoreboard.index_memory import MemoryStandingsIndex

        return MemoryStandingsIndex()
    from server.scoreboard.index_redis import RedisStandingsIndex

    return RedisStandingsIndex(redis, prefix)
