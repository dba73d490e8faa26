"""In-process standings index for the embedded mode: a ``SortedList`` per contest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sortedcontainers import SortedList

from server.scoreboard.index import check_score, check_scores, check_team, check_window

__all__ = ["MemoryStandingsIndex"]


@dataclass(slots=True)
class _Board:
    scores: dict[int, int] = field(default_factory=dict)
    rows: SortedList = field(default_factory=SortedList)
    """``(-score, team_id)``: ascending order is best first, ties by team id."""

    def put(self, team_id: int, score: int) -> None:
        old = self.scores.get(team_id)
        if old == score:
            return
        if old is not None:
            self.rows.remove((-old, team_id))
        self.scores[team_id] = score
        self.rows.add((-score, team_id))


class MemoryStandingsIndex:
    """:class:`server.scoreboard.index.StandingsIndex` in memory; updates are O(log n)."""

    def __init__(self) -> None:
        self._boards: dict[int, _Board] = {}

    async def set(self, contest_id: int, team_id: int, score: int) -> None:
        """Insert or update one team's score."""
        check_team(team_id)
        check_score(score)
        self._boards.setdefault(contest_id, _Board()).put(team_id, score)

    async def set_many(self, contest_id: int, scores: Mapping[int, int]) -> None:
        """Insert or update several teams' scores."""
        items = check_scores(scores)
        if items:
            board = self._boards.setdefault(contest_id, _Board())
            for team_id, score in items:
                board.put(team_id, score)

    async def replace(self, contest_id: int, scores: Mapping[int, int]) -> None:
        """Swap in a board built from ``scores`` (nothing awaits: atomic for readers)."""
        items = check_scores(scores)
        if not items:
            self._boards.pop(contest_id, None)
            return
        board = _Board(dict(items), SortedList((-score, team) for team, score in items))
        self._boards[contest_id] = board

    async def remove(self, contest_id: int, team_id: int) -> None:
        """Drop a team."""
        board = self._boards.get(contest_id)
        if board is None:
            return
        score = board.scores.pop(team_id, None)
        if score is not None:
            board.rows.remove((-score, team_id))
            if not board.scores:
                del self._boards[contest_id]

    async def score(self, contest_id: int, team_id: int) -> int | None:
        """The team's score or None."""
        board = self._boards.get(contest_id)
        return None if board is None else board.scores.get(team_id)

    async def rank(self, contest_id: int, team_id: int) -> int | None:
        """1 + the number of strictly higher scores."""
        board = self._boards.get(contest_id)
        score = None if board is None else board.scores.get(team_id)
        if board is None or score is None:
            return None
        # (-score,) sorts before every (-score, team): the index counts strictly better rows.
        return board.rows.bisect_left((-score,)) + 1

    async def top(self, contest_id: int, limit: int, offset: int = 0) -> list[tuple[int, int]]:
        """Rows ``offset`` .. ``offset + limit - 1``, best first."""
        check_window(limit, offset)
        board = self._boards.get(contest_id)
        if board is None or limit == 0:
            return []
        return [(team, -neg) for neg, team in board.rows.islice(offset, offset + limit)]

    async def around(self, contest_id: int, team_id: int, radius: int) -> list[tuple[int, int]]:
        """The team's row and up to ``radius`` rows on each side."""
        check_window(radius)
        board = self._boards.get(contest_id)
        score = None if board is None else board.scores.get(team_id)
        if board is None or score is None:
            return []
        position = board.rows.index((-score, team_id))
        window = board.rows.islice(max(0, position - radius), position + radius + 1)
        return [(team, -neg) for neg, team in window]

    async def count(self, contest_id: int) -> int:
        """Teams in the contest's index."""
        board = self._boards.get(contest_id)
        return 0 if board is None else len(board.scores)

    async def clear(self, contest_id: int) -> None:
        """Drop the contest's index."""
        self._boards.pop(contest_id, None)
