"""Scoring rule ``points``: the sum of accepted problems' points; ties by time.

A problem counts its contest points once it is accepted. Teams with equal points are ordered
by the time they reached their score (the contest time of their last accepted submission,
earlier is better); equal points and equal time share a rank.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from server.components import Attempt, Cell, ProblemInfo, RowScore, ScoringRule
from server.hooks import hookimpl

__all__ = ["PointsRule", "PointsSettings"]

TIME_BITS = 24  # seconds up to ~194 days fit below the points in one integer
TIME_CAP = (1 << TIME_BITS) - 1


class PointsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PointsRule(ScoringRule):
    name = "points"
    title = "Points (sum of accepted problems, ties by time)"
    Settings = PointsSettings

    def cell(self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel) -> Cell:
        cell = Cell(problem_id=problem.id)
        for attempt in attempts:
            if attempt.verdict is None:
                cell.pending += 1
                continue
            cell.attempts += 1
            if attempt.verdict.is_accepted:
                cell.solved = True
                cell.time = attempt.contest_seconds
                cell.points = problem.points
                break
        return cell

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        solved = [c for c in cells if c.solved]
        return RowScore(
            points=sum(c.points for c in solved),
            solved=len(solved),
            last_time=max((c.time or 0.0 for c in solved), default=0.0),
        )

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        return (-round(row.points, 2), int(row.last_time))

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        centi = round(row.points * 100)
        return (centi << TIME_BITS) + (TIME_CAP - min(int(row.last_time), TIME_CAP))


@hookimpl
def podium_scoring_rules() -> list[ScoringRule]:
    return [PointsRule()]
