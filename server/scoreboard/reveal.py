"""The reveal: unfreeze a frozen board one pending cell at a time, ICPC-resolver style.

Start from the public frozen board. At each step take the lowest-placed team that still has a
pending cell, replace its first pending cell (in problem order) with the cell of the final
(jury) board, fold its row again with the contest's rule and re-sort; rows move. When no
pending cell is left, the board is the final board (same cells; the order is the rule's).

Everything here is pure: the public view during a reveal is ``reveal_board(frozen, final, k)``
for the contest's step ``k``, so every web process computes the same board from the database.
For rules whose problem values depend on other teams (``solve_counts``), a revealed cell carries
its final value while unrevealed cells keep their frozen ones until their turn.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from pydantic import BaseModel

from server.components import Cell, ScoringRule, StandingRow
from server.scoreboard.engine import order_rows

__all__ = ["RevealStep", "reveal_board", "reveal_steps"]


@dataclass(frozen=True, slots=True)
class RevealStep:
    """One revealed cell: which team and problem, and the team's place before and after."""

    team_id: int
    problem_id: int
    solved: bool
    before: int
    after: int


def _walk(rule: ScoringRule, settings: BaseModel, problems: list, frozen: list[StandingRow],
          final: list[StandingRow], limit: int | None) -> tuple[list[StandingRow], list[RevealStep]]:
    rows = copy.deepcopy(frozen)
    finals: dict[int, dict[int, Cell]] = {
        r.team.id: {c.problem_id: c for c in r.cells} for r in final
    }
    steps: list[RevealStep] = []
    while limit is None or len(steps) < limit:
        target = None
        for position in range(len(rows) - 1, -1, -1):
            row = rows[position]
            pending = [i for i, c in enumerate(row.cells) if c.pending]
            if pending:
                target = (position, row, pending[0])
                break
        if target is None:
            break
        position, row, index = target
        problem_id = row.cells[index].problem_id
        final_cell = finals.get(row.team.id, {}).get(problem_id)
        row.cells[index] = copy.copy(final_cell) if final_cell is not None else Cell(problem_id)
        row.cells[index].pending = 0
        row.score = rule.fold_row(problems, row.cells, settings)
        rows[:] = order_rows(rule, settings, rows)
        after = next(i for i, r in enumerate(rows) if r.team.id == row.team.id)
        steps.append(RevealStep(row.team.id, problem_id, row.cells[index].solved,
                                position + 1, after + 1))
    return rows, steps


def reveal_steps(rule: ScoringRule, settings: BaseModel, problems: list,
                 frozen: list[StandingRow], final: list[StandingRow]) -> list[RevealStep]:
    """Every step of the reveal, in order (one per pending cell of the frozen board)."""
    return _walk(rule, settings, problems, frozen, final, None)[1]


def reveal_board(rule: ScoringRule, settings: BaseModel, problems: list,
                 frozen: list[StandingRow], final: list[StandingRow],
                 step: int) -> tuple[list[StandingRow], list[RevealStep]]:
    """The ordered rows after ``step`` reveals (and the steps taken); the inputs are kept."""
    return _walk(rule, settings, problems, frozen, final, max(step, 0))
