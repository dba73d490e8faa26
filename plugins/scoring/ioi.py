"""Scoring rule ``ioi``: the sum of the problems' scores; equal sums share a rank.

A problem's score is, by the ``mode`` setting, either the best single submission's score
(``best_submission``) or, as at the IOI since 2017, the sum over the problem's test groups
(subtasks) of the best result each group got in any submission (``best_subtask``). A
submission's score is the fraction of the problem's points it earned (an accepted submission
without one earns them all); per-group results come from the recorded runs of its judging.
A submission without recorded runs still counts with its overall score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from server.components import Attempt, Cell, ProblemInfo, RowScore, ScoringRule
from server.hooks import hookimpl

__all__ = ["IoiRule", "IoiSettings"]

EPSILON = 1e-9


class IoiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["best_subtask", "best_submission"] = "best_subtask"
    """``best_subtask``: per test group, the best result across submissions (IOI since 2017);
    ``best_submission``: the best single submission."""


class IoiRule(ScoringRule):
    name = "ioi"
    title = "IOI (sum of problem scores, best submission or best per subtask)"
    Settings = IoiSettings
    uses_test_groups = True

    def cell(self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel) -> Cell:
        assert isinstance(settings, IoiSettings)
        cell = Cell(problem_id=problem.id)
        best = 0.0
        groups: dict[int, float] = {}
        for attempt in attempts:
            if attempt.verdict is None:
                cell.pending += 1
                continue
            cell.attempts += 1
            value = attempt.fraction
            if settings.mode == "best_subtask" and attempt.groups:
                for group, earned in attempt.groups.items():
                    groups[group] = max(groups.get(group, 0.0), earned)
                value = max(value, sum(groups.values()))
            if value > best + EPSILON:
                best = value
                cell.time = attempt.contest_seconds
        cell.points = round(min(best, 1.0) * problem.points, 6)
        cell.solved = best >= 1.0 - EPSILON
        return cell

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        scored = [c for c in cells if c.points > 0]
        return RowScore(
            points=round(sum(c.points for c in cells), 6),
            solved=sum(1 for c in cells if c.solved),
            last_time=max((c.time or 0.0 for c in scored), default=0.0),
        )

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        return (-round(row.points, 2),)

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        return round(row.points * 100)


@hookimpl
def podium_scoring_rules() -> list[ScoringRule]:
    return [IoiRule()]
