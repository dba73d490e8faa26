"""Scoring rule ``weighted``: modules with weights; ties by lower total time; dense ranks.

The settings name the modules (for example coding, quiz, assessment) with weights that sum to
100, and map problem labels to modules. A team's score is Σ over modules of
raw / max × weight, where raw is the points the team earned on the module's problems (an
accepted submission earns a problem's points, a scored one its fraction of them; the best
submission counts) and max is the module's total points. A problem in no module does not
count. Equal scores are ordered by the lower total time (the sum over scoring problems of the
contest time of the submission that reached the problem's score); equal rows share a rank and
ranks are dense ("1223").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from server.components import Attempt, Cell, ProblemInfo, RowScore, ScoringRule
from server.hooks import hookimpl

__all__ = ["WeightedRule", "WeightedSettings"]

EPSILON = 1e-9
SCALE = 10_000  # score kept to 1/10000 of a point (of 100) in the rank score
TIME_BITS = 28  # total seconds up to ~8.5 years of summed problem times


class WeightedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    modules: dict[str, float] = Field(default_factory=lambda: {"coding": 100.0})
    """Module name -> weight; the weights sum to 100."""
    problems: dict[str, str] = Field(default_factory=dict)
    """Problem label -> module name. A problem in no module does not count."""

    @model_validator(mode="after")
    def _check(self) -> WeightedSettings:
        if not self.modules:
            raise ValueError("at least one module is needed")
        if any(w < 0 for w in self.modules.values()):
            raise ValueError("module weights must not be negative")
        total = sum(self.modules.values())
        if abs(total - 100.0) > 1e-6:
            raise ValueError(f"module weights must sum to 100, not {total:g}")
        unknown = sorted({m for m in self.problems.values() if m not in self.modules})
        if unknown:
            raise ValueError(f"problems name unknown modules: {', '.join(unknown)}")
        return self


class WeightedRule(ScoringRule):
    name = "weighted"
    title = "Weighted modules (Σ raw/max × weight, ties by total time, dense ranks)"
    Settings = WeightedSettings
    dense_ranks = True

    def cell(self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel) -> Cell:
        cell = Cell(problem_id=problem.id)
        best = 0.0
        for attempt in attempts:
            if attempt.verdict is None:
                cell.pending += 1
                continue
            cell.attempts += 1
            value = attempt.fraction
            if value > best + EPSILON:
                best = value
                cell.time = attempt.contest_seconds
        cell.points = round(min(best, 1.0) * problem.points, 6)
        cell.solved = best >= 1.0 - EPSILON
        return cell

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        raise TypeError("the weighted rule needs the problems: call fold_row")

    def fold_row(
        self, problems: Sequence[ProblemInfo], cells: Sequence[Cell], settings: BaseModel
    ) -> RowScore:
        assert isinstance(settings, WeightedSettings)
        raw: dict[str, float] = defaultdict(float)
        top: dict[str, float] = defaultdict(float)
        total_time = 0.0
        for problem, cell in zip(problems, cells, strict=True):
            module = settings.problems.get(problem.label)
            if module is None:
                continue
            raw[module] += cell.points
            top[module] += problem.points
            if cell.points > 0:
                total_time += cell.time or 0.0
        score = sum(raw[m] / top[m] * settings.modules[m] for m in top if top[m] > 0)
        return RowScore(
            points=round(score, 4),
            solved=sum(1 for c in cells if c.solved),
            penalty=int(total_time),
            last_time=max((c.time or 0.0 for c in cells if c.points > 0), default=0.0),
        )

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        return (-round(row.points * SCALE), int(row.penalty))

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        cap = (1 << TIME_BITS) - 1
        return (round(row.points * SCALE) << TIME_BITS) + (cap - min(int(row.penalty), cap))


@hookimpl
def podium_scoring_rules() -> list[ScoringRule]:
    return [WeightedRule()]
