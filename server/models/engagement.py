"""Clarifications, announcements, badges, levels, standings, leaderboards, audit and feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from server.models.base import JSON_T, SQLModel, created_field

__all__ = [
    "Announcement",
    "AuditEntry",
    "BadgeAward",
    "Clarification",
    "FeedEvent",
    "Leaderboard",
    "LeaderboardEntry",
    "LevelState",
    "Standing",
]


class Clarification(SQLModel, table=True):
    __tablename__ = "clarifications"
    __table_args__ = (sa.Index("ix_clarifications_contest_time", "contest_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE")
    from_team_id: int | None = Field(default=None, foreign_key="teams.id", ondelete="CASCADE")
    """The asking team; null for a message from the jury."""
    to_team_id: int | None = Field(default=None, foreign_key="teams.id", ondelete="CASCADE")
    """Recipient of a jury message; null = every team."""
    problem_id: int | None = Field(default=None, foreign_key="problems.id", ondelete="SET NULL")
    reply_to_id: int | None = Field(
        default=None, foreign_key="clarifications.id", ondelete="SET NULL"
    )
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    category: str = Field(default="general", max_length=32)
    body: str = Field(sa_type=sa.Text)
    answered: bool = Field(default=False)
    created_at: datetime = created_field()


class Announcement(SQLModel, table=True):
    __tablename__ = "announcements"

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int | None = Field(
        default=None, foreign_key="contests.id", ondelete="CASCADE", index=True
    )
    author_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    title: str = Field(max_length=255)
    body: str = Field(default="", sa_type=sa.Text)
    published: bool = Field(default=True)
    created_at: datetime = created_field()


class BadgeAward(SQLModel, table=True):
    __tablename__ = "badge_awards"
    __table_args__ = (sa.UniqueConstraint("contest_id", "team_id", "badge"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int | None = Field(default=None, foreign_key="contests.id", ondelete="CASCADE")
    team_id: int | None = Field(
        default=None, foreign_key="teams.id", ondelete="CASCADE", index=True
    )
    user_id: int | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True
    )
    badge: str = Field(max_length=64)
    plugin: str = Field(max_length=64)
    submission_id: int | None = Field(
        default=None, foreign_key="submissions.id", ondelete="SET NULL"
    )
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_T)
    awarded_at: datetime = created_field()


class LevelState(SQLModel, table=True):
    """A team's current level in one level system of a contest."""

    __tablename__ = "level_states"
    __table_args__ = (sa.UniqueConstraint("contest_id", "team_id", "system"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int | None = Field(default=None, foreign_key="contests.id", ondelete="CASCADE")
    team_id: int | None = Field(
        default=None, foreign_key="teams.id", ondelete="CASCADE", index=True
    )
    user_id: int | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True
    )
    system: str = Field(max_length=64)
    level: str = Field(default="", max_length=64)
    level_index: int = Field(default=0)
    progress: float = Field(default=0.0)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_T)
    updated_at: datetime = created_field()


class Standing(SQLModel, table=True):
    """A team's row on the (jury) scoreboard: the source of truth for the sorted index."""

    __tablename__ = "standings"
    __table_args__ = (sa.Index("ix_standings_contest_rank", "contest_id", "rank_score"),)

    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE", primary_key=True)
    team_id: int = Field(foreign_key="teams.id", ondelete="CASCADE", primary_key=True)
    points: float = Field(default=0.0)
    solved: int = Field(default=0)
    penalty: float = Field(default=0.0)
    last_time: float = Field(default=0.0)
    rank_score: int = Field(default=0, sa_type=sa.BigInteger)
    cells: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON_T)
    version: int = Field(default=0)
    updated_at: datetime = created_field()


class Leaderboard(SQLModel, table=True):
    """A named leaderboard outside contests (practice, school-wide)."""

    __tablename__ = "leaderboards"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=255)
    sort_order: str = Field(default="desc", max_length=4)
    reset_period: str = Field(default="never", max_length=8)
    update_mode: str = Field(default="best", max_length=16)
    max_entries: int | None = Field(default=None)
    public: bool = Field(default=True)
    """Anyone may read a public leaderboard; a private one is for staff."""
    period_started_at: datetime = created_field()
    created_at: datetime = created_field()


class LeaderboardEntry(SQLModel, table=True):
    __tablename__ = "leaderboard_entries"
    __table_args__ = (sa.Index("ix_leaderboard_entries_score", "leaderboard_id", "score"),)

    leaderboard_id: int = Field(
        foreign_key="leaderboards.id", ondelete="CASCADE", primary_key=True
    )
    player: str = Field(max_length=128, primary_key=True)
    score: float = Field(default=0.0)
    updated_at: datetime = created_field()


class AuditEntry(SQLModel, table=True):
    """Append-only record of every change that affects a score (triggers forbid edits)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_contest_time", "contest_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_field()
    actor_id: int | None = Field(default=None)
    """User id of who did it (no foreign key: the log outlives users)."""
    contest_id: int | None = Field(default=None)
    action: str = Field(max_length=64)
    object_type: str = Field(max_length=32)
    object_id: str = Field(default="", max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON_T)


class FeedEvent(SQLModel, table=True):
    """The contest's event feed (ICPC Contest API ``/event-feed``), one row per change."""

    __tablename__ = "feed_events"
    __table_args__ = (sa.Index("ix_feed_events_contest_id", "contest_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE")
    type: str = Field(max_length=32)
    object_id: str | None = Field(default=None, max_length=128)
    data: dict[str, Any] | None = Field(default=None, sa_type=JSON_T)
    public: bool = Field(default=True)
    """False for results hidden by a freeze; published when the board unfreezes."""
    created_at: datetime = created_field()
