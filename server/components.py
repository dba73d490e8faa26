"""The component types plugins contribute through the register hooks of :mod:`server.hooks`.

A plugin returns *instances* of these classes (or of subclasses of its own) from
``podium_scoring_rules()``, ``podium_level_systems()``, ``podium_badges()``,
``podium_checkers()``, ``podium_languages()`` and ``podium_sync_targets()``. Every component
has a unique ``name`` within its family; contests pick components by that name.

Settings: a scoring rule carries its own ``Settings`` model (a contest stores the rule's
settings next to the rule's name). Level systems, badges and sync targets read the settings
of the *plugin* that ships them, declared through ``podium_settings_schema()`` and stored
per contest when the organizer enables the plugin.

This module has no dependency on the database layer: plugins see plain data classes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from server.services import Services

__all__ = [
    "Attempt",
    "Badge",
    "BadgeGrant",
    "Cell",
    "CheckResult",
    "Checker",
    "ContestInfo",
    "Language",
    "LevelResult",
    "LevelSystem",
    "NoSettings",
    "ProblemInfo",
    "RowScore",
    "ScoringRule",
    "StandingRow",
    "SyncTarget",
    "TeamInfo",
    "Verdict",
    "VerdictEvent",
]


class Verdict(enum.StrEnum):
    """Final results of a judging (DOMjudge/ICPC abbreviations)."""

    ACCEPTED = "AC"
    WRONG_ANSWER = "WA"
    TIME_LIMIT = "TLE"
    MEMORY_LIMIT = "MLE"
    RUN_ERROR = "RTE"
    COMPILE_ERROR = "CE"
    OUTPUT_LIMIT = "OLE"
    JUDGE_ERROR = "JE"

    @property
    def is_accepted(self) -> bool:
        return self is Verdict.ACCEPTED

    @property
    def counts_as_try(self) -> bool:
        """Whether a rule that penalises rejected tries should count this result by default."""
        return self not in (Verdict.ACCEPTED, Verdict.COMPILE_ERROR, Verdict.JUDGE_ERROR)


class NoSettings(BaseModel):
    """Settings model of a component that has nothing to configure."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- plain data


@dataclass(frozen=True, slots=True)
class ContestInfo:
    id: int
    slug: str
    title: str
    start_at: datetime
    end_at: datetime
    freeze_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProblemInfo:
    id: int
    label: str
    points: float
    ordinal: int
    solves: int = 0
    """Teams with an accepted submission to the problem (in the board's view); filled in only
    for a rule with ``solve_counts`` set, else 0."""


@dataclass(frozen=True, slots=True)
class TeamInfo:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One submission of a team to a problem, as a scoring rule sees it."""

    submission_id: int
    contest_seconds: float
    """Seconds since the contest start at submission time."""
    verdict: Verdict | None
    """``None`` while the submission is queued or being judged."""
    score: float | None = None
    """Fraction of the problem's points earned (0..1) for partial-score problems."""
    groups: Mapping[int, float] | None = None
    """Test group id -> fraction of the problem's points this attempt earned in that group
    (the group's share when all its tests were accepted, else 0), for the scoring groups
    (non-sample, with points, holding tests). Filled in only for a rule with
    ``uses_test_groups`` set and a judged attempt with recorded runs, else None."""

    @property
    def fraction(self) -> float:
        """The fraction of the problem's points this attempt earned: its score when judging
        gave one, else all for an accept and nothing otherwise (also while pending)."""
        if self.score is not None:
            return self.score
        return 1.0 if self.verdict is not None and self.verdict.is_accepted else 0.0


@dataclass(slots=True)
class Cell:
    """One team × problem result."""

    problem_id: int
    attempts: int = 0
    """Judged attempts that the rule counts (ICPC ``num_judged``)."""
    pending: int = 0
    solved: bool = False
    time: float | None = None
    """Contest seconds of the scoring submission (first accept), else None."""
    points: float = 0.0
    penalty: float = 0.0
    first_to_solve: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "problem_id": self.problem_id,
            "attempts": self.attempts,
            "pending": self.pending,
            "solved": self.solved,
            "time": self.time,
            "points": self.points,
            "penalty": self.penalty,
            "first_to_solve": self.first_to_solve,
        }


@dataclass(slots=True)
class RowScore:
    """A team's totals as a rule computes them."""

    points: float = 0.0
    solved: int = 0
    penalty: float = 0.0
    last_time: float = 0.0
    """Contest seconds of the last submission that raised the score."""


@dataclass(slots=True)
class StandingRow:
    team: TeamInfo
    rank: int
    score: RowScore
    cells: list[Cell] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON-able data (a scoreboard row of the API and the live boards)."""
        return {
            "rank": self.rank,
            "team_id": self.team.id,
            "team": self.team.name,
            "points": self.score.points,
            "solved": self.score.solved,
            "penalty": self.score.penalty,
            "last_time": self.score.last_time,
            "cells": [c.as_dict() for c in self.cells],
        }


@dataclass(frozen=True, slots=True)
class VerdictEvent:
    """What a badge sees when a verdict is recorded."""

    contest: ContestInfo
    team: TeamInfo
    user_id: int | None
    problem: ProblemInfo
    submission_id: int
    verdict: Verdict
    contest_seconds: float
    accepted_before: int
    """How many accepted submissions the contest had before this one (any team, any problem)."""
    team_accepted_before: int
    """How many accepted submissions this team had before this one."""


@dataclass(frozen=True, slots=True)
class BadgeGrant:
    badge: str
    team_id: int | None = None
    user_id: int | None = None
    submission_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LevelResult:
    level: str
    index: int
    """0 = no level yet; higher is better."""
    progress: float = 0.0
    """0..1 towards the next level."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    accepted: bool
    message: str = ""
    score: float | None = None


# --------------------------------------------------------------------------- components


class ScoringRule:
    """Folds attempts into cells, cells into a row score, and orders rows.

    The engine calls :meth:`cell` for one team × problem, :meth:`row` for a team's cells, and
    sorts rows by :meth:`sort_key` (ascending: the best row first). Rows with equal sort keys
    share a rank. :meth:`rank_score` folds the sort key into one integer below 2**53 (higher is
    better) for sorted-set indexes such as Redis.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    Settings: ClassVar[type[BaseModel]] = NoSettings
    time_column: ClassVar[str] = "last_time"
    """What the scoreboard's time column shows: ``last_time`` (the time of the last score
    increase), ``penalty_minutes`` (the row's penalty, in minutes: ICPC) or
    ``time_plus_penalty`` (last time + penalty seconds: AtCoder)."""
    dense_ranks: ClassVar[bool] = False
    """Equal rows share a rank and the next row takes the next rank ("1223"), instead of
    competition ranks ("1224")."""
    uses_test_groups: ClassVar[bool] = False
    """The engine fills :attr:`Attempt.groups` (per-group results from the recorded runs)."""
    solve_counts: ClassVar[bool] = False
    """A cell depends on how many teams solved its problem (:attr:`ProblemInfo.solves`): a
    cross-team effect. When a team's solved state of a problem changes, the engine recomputes
    every team that solved that problem."""

    def cell(
        self, problem: ProblemInfo, attempts: Sequence[Attempt], settings: BaseModel
    ) -> Cell:
        raise NotImplementedError

    def row(self, cells: Sequence[Cell], settings: BaseModel) -> RowScore:
        raise NotImplementedError

    def fold_row(
        self, problems: Sequence[ProblemInfo], cells: Sequence[Cell], settings: BaseModel
    ) -> RowScore:
        """The row score when the rule needs the problems too (``cells[i]`` is the cell of
        ``problems[i]``). The engine calls this; the default is :meth:`row`."""
        return self.row(cells, settings)

    def sort_key(self, row: RowScore, settings: BaseModel) -> tuple[float, ...]:
        raise NotImplementedError

    def rank_score(self, row: RowScore, settings: BaseModel) -> int:
        raise NotImplementedError


class LevelSystem:
    """Maps a team's (or user's) history in a contest to a level."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    levels: ClassVar[Sequence[str]] = ()
    """Level names, lowest first; index 0 is "no level yet"."""

    def level_for(self, row: RowScore, settings: BaseModel) -> LevelResult:
        raise NotImplementedError


class Badge:
    """Awards a badge when a verdict is recorded. Awards are stored once per (contest, team, badge)."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def on_verdict(self, event: VerdictEvent, settings: BaseModel) -> Sequence[BadgeGrant]:
        raise NotImplementedError


class Checker:
    """Compares a submission's output with the expected answer."""

    name: ClassVar[str]
    title: ClassVar[str] = ""

    def check(
        self, output: bytes, answer: bytes, *, input: bytes = b"", flags: Sequence[str] = ()
    ) -> CheckResult:
        raise NotImplementedError


class Language:
    """A language judge. The judging issue fills in the sandbox side; this is the contract."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    extensions: ClassVar[Sequence[str]] = ()
    source_file: ClassVar[str] = ""
    compile_command: ClassVar[Sequence[str] | None] = None
    run_command: ClassVar[Sequence[str]] = ()
    version_command: ClassVar[Sequence[str]] = ()
    image: ClassVar[str | None] = None
    time_multiplier: ClassVar[float] = 1.0
    memory_multiplier: ClassVar[float] = 1.0
    reserves_address_space: ClassVar[bool] = False
    """A runtime that reserves far more virtual memory than it touches (the JVM): its address
    space is left unlimited and its memory is bounded by peak resident memory and its own heap
    flags instead."""
    selftest_source: ClassVar[str] = ""


class SyncTarget:
    """Receives the standings after every change (exports, mirrors, recovery)."""

    name: ClassVar[str]
    title: ClassVar[str] = ""

    async def standings_changed(
        self,
        contest: ContestInfo,
        rows: Sequence[StandingRow],
        settings: BaseModel,
        services: Services,
    ) -> None:
        raise NotImplementedError
