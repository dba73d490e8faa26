"""Submissions, judgings, per-test results, judge hosts and rejudgings."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from server.models.base import JSON_T, SQLModel, UTCDateTime, created_field

__all__ = [
    "JudgeHost",
    "Judging",
    "JudgingRun",
    "Rejudging",
    "Submission",
    "SubmissionFile",
    "SubmissionStatus",
]


class SubmissionStatus(enum.StrEnum):
    QUEUED = "queued"
    JUDGING = "judging"
    JUDGED = "judged"
    ERROR = "error"
    """A judge error that retries could not fix; never charged to the contestant."""


class Submission(SQLModel, table=True):
    __tablename__ = "submissions"
    __table_args__ = (
        sa.Index("ix_submissions_contest_time", "contest_id", "submitted_at"),
        sa.Index("ix_submissions_contest_team_problem", "contest_id", "team_id", "problem_id",
                 "submitted_at"),
        sa.Index("ix_submissions_status", "status", "submitted_at"),
        # First solvers and solve counts: a contest's accepted submissions per problem.
        sa.Index("ix_submissions_contest_verdict_problem", "contest_id", "verdict", "problem_id",
                 "submitted_at"),
        sa.UniqueConstraint("contest_id", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE")
    team_id: int = Field(foreign_key="teams.id", ondelete="CASCADE")
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    problem_id: int = Field(foreign_key="problems.id", ondelete="RESTRICT")
    language: str = Field(max_length=32)
    submitted_at: datetime = created_field()
    status: str = Field(default=SubmissionStatus.QUEUED.value, max_length=16)
    verdict: str | None = Field(default=None, max_length=8)
    """Verdict of the current judging (denormalised for lists)."""
    score: float | None = Field(default=None)
    current_judging_id: int | None = Field(default=None)
    source_hash: str = Field(default="", max_length=64)
    entry_point: str | None = Field(default=None, max_length=255)
    external_id: str | None = Field(default=None, max_length=128)
    origin: str = Field(default="web", max_length=16)
    """web, api, cli, import."""


class SubmissionFile(SQLModel, table=True):
    __tablename__ = "submission_files"
    __table_args__ = (sa.UniqueConstraint("submission_id", "filename"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", ondelete="CASCADE")
    filename: str = Field(max_length=255)
    content: bytes = Field(sa_type=sa.LargeBinary)


class Rejudging(SQLModel, table=True):
    """A request to judge submissions again: who, why, which ones, when, how many.

    Its judgings carry ``rejudging_id``; ``finished_at`` is set when the last one finished.
    """

    __tablename__ = "rejudgings"

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int | None = Field(
        default=None, foreign_key="contests.id", ondelete="CASCADE", index=True
    )
    reason: str = Field(default="", max_length=255)
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = created_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    problem_id: int | None = Field(default=None, foreign_key="problems.id", ondelete="SET NULL")
    """Scope: only this problem's submissions (None: every problem)."""
    submission_id: int | None = Field(
        default=None, foreign_key="submissions.id", ondelete="SET NULL"
    )
    """Scope: only this submission (None: every submission in scope)."""
    verdicts: list[str] = Field(default_factory=list, sa_type=JSON_T)
    """Scope: only submissions whose current verdict is one of these (empty: any)."""
    submission_count: int = Field(default=0)
    """How many submissions it queued."""


class Judging(SQLModel, table=True):
    """One judging of a submission; a rejudge adds another and keeps the history."""

    __tablename__ = "judgings"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submissions.id", ondelete="CASCADE", index=True)
    rejudging_id: int | None = Field(
        default=None, foreign_key="rejudgings.id", ondelete="SET NULL"
    )
    judge_host: str | None = Field(default=None, max_length=64)
    job_key: str | None = Field(default=None, max_length=64, unique=True)
    """Idempotency key of the queue job; a result posted twice is recorded once."""
    started_at: datetime = created_field()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verdict: str | None = Field(default=None, max_length=8)
    score: float | None = Field(default=None)
    max_time_ms: int | None = Field(default=None)
    max_memory_kb: int | None = Field(default=None)
    compile_output: str = Field(default="", sa_type=sa.Text)
    error: str = Field(default="", sa_type=sa.Text)
    is_current: bool = Field(default=True)
    verdict_before: str | None = Field(default=None, max_length=8)
    """For a rejudge's judging: the submission's verdict when the rejudge queued it."""


class JudgingRun(SQLModel, table=True):
    """The result of one test case in one judging."""

    __tablename__ = "judging_runs"
    __table_args__ = (sa.UniqueConstraint("judging_id", "test_case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    judging_id: int = Field(foreign_key="judgings.id", ondelete="CASCADE")
    test_case_id: int = Field(foreign_key="test_cases.id", ondelete="CASCADE")
    verdict: str = Field(max_length=8)
    cpu_ms: int | None = Field(default=None)
    wall_ms: int | None = Field(default=None)
    memory_kb: int | None = Field(default=None)
    exit_code: int | None = Field(default=None)
    signal: int | None = Field(default=None)
    output_size: int | None = Field(default=None)
    checker_message: str = Field(default="", sa_type=sa.Text)
    score: float | None = Field(default=None)


class JudgeHost(SQLModel, table=True):
    __tablename__ = "judge_hosts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    token_hash: str = Field(max_length=64)
    is_active: bool = Field(default=True)
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    info: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = created_field()
