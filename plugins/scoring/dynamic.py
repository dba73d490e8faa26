"""Scoring rule ``dynamic``: a problem's value decays with its number of solves.

A problem is worth ``initial`` points (the problem's contest points when unset) while nobody
has solved it; with ``n`` solving teams it is worth, never less than ``floor``:

- ``linear``: ``initial - decay × (n - 1)``
- ``logarithmic``: ``initial - decay × ln(n)``

so the first solver keeps the initial value. Every solver of a problem gets its current value:
a new solve lowers the score of every earlier solver too (the rule declares ``solve_counts``
and the engine recomputes all of that problem's solvers). Solves count the visible teams'
accepted submissions (hidden teams neither count nor lower anyone's score). Teams are ordered
by points, then by the time of their last accepted submission (earlier is better); equal rows
share a rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.components import Attempt, Cell, ProblemInfo, RowScore, ScoringRule
from server.hooks import hookimpl

__all__ = ["DynamicRule", "DynamicSettings", "value"]

TIME_BITS = 24
TIME_CAP = (1 << TIME_BITS) - 1


class DynamicSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    curve: Literal["linear", "logarithmic"] = "linear"
    initial: float | None = Field(default=None, gt=0)
    """Value of an unsolved problem (and of its first solve); unset: the problem's points."""
    floor: float = Field(default=0.0, ge=0)
    """The value never drops below this (nor above the initial value)."""
    decay: float = Field(default=10.0, ge=0)
    """Points lost per further solve (linear) or per unit of ln(solves) (logarithmic)."""

    @model_validator(mode="after")
    def _check(self) -> DynamicSettings:
        if self.initial is not None and self.floor > self.initial:
            raise ValueError("the floor must not be above the initial value")
        return self


def value(problem: ProblemInfo, solves: int, settings: DynamicSettings) -> float:
    """A problem's value when ``solves`` teams have solved it."""
    initial = problem.points if settings.initial is None else settings.initial
    floor = min(settings.floor, initial)
    if solves <= 1:
        return round(initial, 6)
    if settings.curve == "linear":
        raw = initial - settings.decay * (solves - 1)
    else:
        raw = initial - settings.decay * math.log(solves)
    return round(max(floor, raw), 6)


class DynamicRule(ScoringRule):
    name = "dynamic"
    title = "Dynamic (a problem's value decays with its solves)"
    Settings = DynamicSettings
    solve_counts = True

    def cell(self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel) -> Cell:
        assert isinstance(settings, DynamicSettings)
        cell = Cell(problem_id=problem.id)
        for attempt in attempts:
            if attempt.verdict is None:
                cell.pending += 1
                continue
            cell.attempts += 1
            if attempt.verdict.is_accepted:
                cell.solved = True
                cell.time = attempt.contest_seconds
                cell.points = value(problem, problem.solves, settings)
                break
        return cell

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        solved = [c for c in cells if c.solved]
        return RowScore(
            points=round(sum(c.points for c in solved), 6),
            solved=len(solved),
            last_time=max((c.time or 0.0 for c in solved), default=0.0),
        )

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        return (-round(row.points * 100), int(row.last_time))

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        return (round(row.points * 100) << TIME_BITS) + (
            TIME_CAP - min(int(row.last_time), TIME_CAP))


@hookimpl
def podium_scoring_rules() -> list[ScoringRule]:
    return [DynamicRule()]
