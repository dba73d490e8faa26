"""Scoring rule ``atcoder``: score desc, then time of the last score increase plus penalties.

A problem's score is its best submission's (an accepted submission earns the problem's points,
a scored one its fraction of them). Teams are ordered by total score, then by the contest time
of the last submission that raised their score plus ``penalty_minutes`` (5 by default) for each
rejected try on a scoring problem before the submission that reached its score; compile errors
do not count as tries. Equal rows share a rank. ``penalty`` of a row holds the penalty seconds,
``last_time`` the time of the last increase.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from server.components import Attempt, Cell, ProblemInfo, RowScore, ScoringRule
from server.hooks import hookimpl

__all__ = ["AtCoderRule", "AtCoderSettings"]

EPSILON = 1e-9
TIME_BITS = 28
TIME_CAP = (1 << TIME_BITS) - 1


class AtCoderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    penalty_minutes: float = Field(default=5.0, ge=0)
    """Minutes added per rejected try before a problem's scoring submission."""


class AtCoderRule(ScoringRule):
    name = "atcoder"
    title = "AtCoder (score, then last increase + 5 minutes per rejected try)"
    time_column = "time_plus_penalty"
    Settings = AtCoderSettings

    def cell(self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel) -> Cell:
        assert isinstance(settings, AtCoderSettings)
        cell = Cell(problem_id=problem.id)
        best = 0.0
        rejected = 0
        for attempt in attempts:
            if attempt.verdict is None:
                cell.pending += 1
                continue
            if not attempt.verdict.counts_as_try and not attempt.verdict.is_accepted:
                continue  # compile error: neither a try nor a score
            cell.attempts += 1
            earned = attempt.fraction
            if earned > best + EPSILON:
                best = earned
                cell.time = attempt.contest_seconds
                cell.penalty = rejected * settings.penalty_minutes * 60
            if not attempt.verdict.is_accepted or earned < 1.0 - EPSILON:
                rejected += 1
        cell.points = round(min(best, 1.0) * problem.points, 6)
        cell.solved = best >= 1.0 - EPSILON
        return cell

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        scored = [c for c in cells if c.points > 0]
        return RowScore(
            points=round(sum(c.points for c in scored), 6),
            solved=sum(1 for c in cells if c.solved),
            penalty=sum(c.penalty for c in scored),
            last_time=max((c.time or 0.0 for c in scored), default=0.0),
        )

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        return (-round(row.points * 100), int(row.last_time + row.penalty))

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        time = min(int(row.last_time + row.penalty), TIME_CAP)
        return (round(row.points * 100) << TIME_BITS) + (TIME_CAP - time)


@hookimpl
def podium_scoring_rules() -> list[ScoringRule]:
    return [AtCoderRule()]
