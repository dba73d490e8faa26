"""Contests, problems, test data and what links them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from server.models.base import JSON_T, SQLModel, UTCDateTime, created_field

__all__ = [
    "Contest",
    "ContestLanguage",
    "ContestProblem",
    "ContestState",
    "Problem",
    "RegistrationMode",
    "TestCase",
    "TestGroup",
    "Visibility",
]


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    """Listed, and the scoreboard is public."""
    PRIVATE = "private"
    """Visible to its teams, jury and staff only."""
    HIDDEN = "hidden"
    """Staff only (being prepared)."""


class RegistrationMode(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    APPROVAL = "approval"
    CODE = "code"


class ContestState(enum.StrEnum):
    SCHEDULED = "scheduled"
    RUNNING = "running"
    FROZEN = "frozen"
    ENDED = "ended"
    UNFROZEN = "unfrozen"


class Contest(SQLModel, table=True):
    __tablename__ = "contests"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=255)
    description: str = Field(default="", sa_type=sa.Text)
    start_at: datetime = Field(sa_type=UTCDateTime)
    end_at: datetime = Field(sa_type=UTCDateTime)
    freeze_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unfreeze_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    unfrozen: bool = Field(default=False)
    """Set when the jury unfreezes the board by hand (before ``unfreeze_at``)."""
    reveal_step: int | None = Field(default=None)
    """During a reveal: how many pending cells of the frozen board are shown (None: no reveal)."""
    timezone: str = Field(default="UTC", max_length=64)
    scoring_rule: str = Field(default="points", max_length=64)
    scoring_settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_T)
    plugins: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_T)
    """Enabled plugins, by name, with their validated settings."""
    theme: str | None = Field(default=None, max_length=64)
    visibility: str = Field(default=Visibility.PUBLIC.value, max_length=16)
    registration_mode: str = Field(default=RegistrationMode.CLOSED.value, max_length=16)
    registration_code_hash: str | None = Field(default=None, max_length=64)
    is_practice: bool = Field(default=False)
    show_test_results: str = Field(default="samples", max_length=16)
    """Per-test results contestants see on their submissions: none, samples or all."""
    external_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()

    def state_at(self, now: datetime) -> ContestState:
        if now < self.start_at:
            return ContestState.SCHEDULED
        frozen = self.freeze_at is not None and now >= self.freeze_at
        thawed = self.unfrozen or (self.unfreeze_at is not None and now >= self.unfreeze_at)
        if now < self.end_at:
            return ContestState.FROZEN if frozen and not thawed else ContestState.RUNNING
        if self.freeze_at is not None and thawed:
            return ContestState.UNFROZEN
        return ContestState.ENDED

    def is_frozen_at(self, now: datetime) -> bool:
        """Whether the public board hides results at ``now``."""
        if self.freeze_at is None or now < self.freeze_at:
            return False
        return not (self.unfrozen or (self.unfreeze_at is not None and now >= self.unfreeze_at))


class Problem(SQLModel, table=True):
    """A problem in the problem bank; contests use it through ContestProblem."""

    __tablename__ = "problems"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=255)
    statement: str = Field(default="", sa_type=sa.Text)
    statement_format: str = Field(default="markdown", max_length=16)
    time_limit_ms: int = Field(default=1000)
    memory_limit_mb: int = Field(default=256)
    output_limit_kb: int = Field(default=8192)
    checker: str = Field(default="exact", max_length=64)
    checker_flags: str = Field(default="", max_length=255)
    validator_hash: str | None = Field(default=None, max_length=64)
    """Content hash of a custom output validator's archive, when the checker needs one."""
    interactive: bool = Field(default=False)
    stop_on_first_failure: bool = Field(default=True)
    difficulty: int | None = Field(default=None)
    tags: list[str] = Field(default_factory=list, sa_type=JSON_T)
    source: str = Field(default="", max_length=255)
    license: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=128)
    package_hash: str | None = Field(default=None, max_length=64)
    statement_pdf_hash: str | None = Field(default=None, max_length=64)
    """SHA-256 of the statement PDF in the blob store, when the problem has one."""
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class TestGroup(SQLModel, table=True):
    """Test cases grouped with points; sample groups never count."""

    __tablename__ = "test_groups"
    __table_args__ = (sa.UniqueConstraint("problem_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problems.id", ondelete="CASCADE", index=True)
    parent_id: int | None = Field(default=None, foreign_key="test_groups.id", ondelete="CASCADE")
    name: str = Field(max_length=128)
    ordinal: int = Field(default=0)
    points: float = Field(default=0.0)
    is_sample: bool = Field(default=False)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_T)
    """testdata.yaml flags (grading, validator flags, ...)."""


class TestCase(SQLModel, table=True):
    __tablename__ = "test_cases"
    __table_args__ = (sa.UniqueConstraint("problem_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problems.id", ondelete="CASCADE", index=True)
    group_id: int | None = Field(
        default=None, foreign_key="test_groups.id", ondelete="CASCADE", index=True
    )
    name: str = Field(max_length=255)
    ordinal: int = Field(default=0)
    is_sample: bool = Field(default=False)
    input_hash: str = Field(max_length=64)
    answer_hash: str = Field(max_length=64)
    input_size: int = Field(default=0)
    answer_size: int = Field(default=0)
    description: str = Field(default="", max_length=255)


class ContestProblem(SQLModel, table=True):
    __tablename__ = "contest_problems"
    __table_args__ = (
        sa.UniqueConstraint("contest_id", "label"),
        sa.UniqueConstraint("contest_id", "problem_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE", index=True)
    problem_id: int = Field(foreign_key="problems.id", ondelete="RESTRICT", index=True)
    label: str = Field(max_length=16)
    ordinal: int = Field(default=0)
    points: float = Field(default=1.0)
    color: str | None = Field(default=None, max_length=16)
    external_id: str | None = Field(default=None, max_length=128)


class ContestLanguage(SQLModel, table=True):
    """A language enabled for a contest, by the language plugin's name."""

    __tablename__ = "contest_languages"

    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE", primary_key=True)
    language: str = Field(max_length=32, primary_key=True)
    time_multiplier: float | None = Field(default=None)
