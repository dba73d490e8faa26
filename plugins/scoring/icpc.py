"""Scoring rule ``icpc``: the ICPC Contest API (2023-06) pass-fail scoreboard.

A team's rows sort by problems solved (descending), total penalty time (ascending), then the
time of its last accepted submission (ascending); equal rows share a rank. A problem's penalty
is the minute of its first accepted submission (contest time rounded *down* to whole minutes)
plus ``penalty_minutes`` for every rejected try before it. Compile errors are not tries unless
``count_compile_errors`` is set. Attempts after the first accept are ignored (``num_judged``
counts up to and including the first correct one). Cell ``penalty`` and row ``penalty`` are in
minutes; cell ``time`` stays in contest seconds (the engine's unit).
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from server.components import Attempt, Cell, ProblemInfo, RowScore, ScoringRule, Verdict
from server.hooks import hookimpl

__all__ = ["IcpcRule", "IcpcSettings", "minutes"]

SOLVED_SHIFT = 40  # rank_score = solved | (PEN_CAP - penalty) | (LAST_CAP - last minute)
PEN_BITS = 22  # ~8 years of penalty minutes
LAST_BITS = 18  # ~182 days of contest minutes
PEN_CAP = (1 << PEN_BITS) - 1
LAST_CAP = (1 << LAST_BITS) - 1


def minutes(seconds: float) -> int:
    """Contest time in whole minutes, rounded down (59.99 s is 0 minutes)."""
    return int(seconds // 60)


class IcpcSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    penalty_minutes: int = Field(default=20, ge=0, le=1440,
                                 description="Penalty minutes per rejected try before a solve.")
    count_compile_errors: bool = Field(
        default=False, description="Whether a compile error counts as a rejected try.")


class IcpcRule(ScoringRule):
    name = "icpc"
    title = "ICPC (solved, penalty time, last accept)"
    time_column = "penalty_minutes"
    Settings = IcpcSettings

    def cell(self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel) -> Cell:
        assert isinstance(settings, IcpcSettings)
        cell = Cell(problem_id=problem.id)
        # Counts in locals, the verdicts compared by identity: a full recompute folds one
        # attempt per submission (10^5 of them) through this loop.
        not_tries = ((Verdict.JUDGE_ERROR,) if settings.count_compile_errors
                     else (Verdict.JUDGE_ERROR, Verdict.COMPILE_ERROR))
        accepted = Verdict.ACCEPTED
        pending = judged = 0
        for attempt in attempts:
            verdict = attempt.verdict
            if verdict is None:
                pending += 1
                continue
            if verdict in not_tries:
                continue
            judged += 1
            if verdict is accepted:
                cell.solved = True
                cell.time = attempt.contest_seconds
                cell.points = 1.0
                cell.penalty = float(minutes(attempt.contest_seconds)
                                     + (judged - 1) * settings.penalty_minutes)
                break  # later attempts, judged or pending, do not change a solved cell
        cell.pending = pending
        cell.attempts = judged
        return cell

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        solved = [c for c in cells if c.solved]
        return RowScore(
            points=float(len(solved)),
            solved=len(solved),
            penalty=float(sum(c.penalty for c in solved)),
            last_time=float(max((minutes(c.time or 0.0) * 60 for c in solved), default=0)),
        )

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        return (-row.solved, int(row.penalty), minutes(row.last_time))

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        penalty = min(int(row.penalty), PEN_CAP)
        last = min(minutes(row.last_time), LAST_CAP)
        return ((row.solved << SOLVED_SHIFT) + ((PEN_CAP - penalty) << LAST_BITS)
                + (LAST_CAP - last))


@hookimpl
def podium_scoring_rules() -> list[ScoringRule]:
    return [IcpcRule()]
