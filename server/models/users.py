"""People, teams, affiliations and groups."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from server.models.base import SQLModel, UTCDateTime, created_field

__all__ = [
    "Affiliation",
    "ApiToken",
    "Group",
    "GroupKind",
    "Role",
    "Team",
    "TeamGroup",
    "TeamMember",
    "User",
]


class Role(enum.StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    JURY = "jury"
    CONTESTANT = "contestant"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    email: str | None = Field(default=None, max_length=255)
    display_name: str = Field(default="", max_length=128)
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default=Role.CONTESTANT.value, max_length=16)
    is_active: bool = Field(default=True)
    timezone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=16)
    created_at: datetime = created_field()
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(default="", max_length=64)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_field()
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Affiliation(SQLModel, table=True):
    """An organisation a team belongs to: a school, a university, a club."""

    __tablename__ = "affiliations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    short_name: str = Field(default="", max_length=64)
    country: str | None = Field(default=None, max_length=3)
    external_id: str | None = Field(default=None, max_length=128, unique=True)
    created_at: datetime = created_field()


class GroupKind(enum.StrEnum):
    SCHOOL = "school"
    CLASS = "class"
    DIVISION = "division"
    CATEGORY = "category"


class Group(SQLModel, table=True):
    """A grouping of teams (class, division, category). Global when ``contest_id`` is null."""

    __tablename__ = "groups"
    __table_args__ = (sa.UniqueConstraint("contest_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int | None = Field(
        default=None, foreign_key="contests.id", ondelete="CASCADE", index=True
    )
    name: str = Field(max_length=128)
    kind: str = Field(default=GroupKind.CATEGORY.value, max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="groups.id", ondelete="SET NULL")
    external_id: str | None = Field(default=None, max_length=128)
    hidden: bool = Field(default=False)
    sort_order: int = Field(default=0)
    color: str | None = Field(default=None, max_length=16)


class Team(SQLModel, table=True):
    """A team registered for one contest (an individual contestant is a team of one)."""

    __tablename__ = "teams"
    __table_args__ = (
        sa.UniqueConstraint("contest_id", "name"),
        sa.UniqueConstraint("contest_id", "external_id"),
        sa.UniqueConstraint("join_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=128)
    display_name: str = Field(default="", max_length=255)
    affiliation_id: int | None = Field(
        default=None, foreign_key="affiliations.id", ondelete="SET NULL"
    )
    external_id: str | None = Field(default=None, max_length=128)
    hidden: bool = Field(default=False)
    is_active: bool = Field(default=True)
    location: str | None = Field(default=None, max_length=64)
    join_code: str | None = Field(default=None, max_length=32)
    """What a contestant types to join the team (shown to its members); null: no joining."""
    created_at: datetime = created_field()


class TeamMember(SQLModel, table=True):
    """A user in a team; a user is in at most one team per contest."""

    __tablename__ = "team_members"
    __table_args__ = (sa.UniqueConstraint("contest_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    contest_id: int = Field(foreign_key="contests.id", ondelete="CASCADE")
    team_id: int = Field(foreign_key="teams.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    is_captain: bool = Field(default=False)
    joined_at: datetime = created_field()


class TeamGroup(SQLModel, table=True):
    __tablename__ = "team_groups"

    team_id: int = Field(foreign_key="teams.id", ondelete="CASCADE", primary_key=True)
    group_id: int = Field(
        foreign_key="groups.id", ondelete="CASCADE", primary_key=True, index=True
    )
