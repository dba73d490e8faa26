"""Request and response bodies of the JSON API (they drive the OpenAPI schema)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.models import Contest, ContestProblem, Problem, Submission, Team, User

__all__ = [
    "ContestIn",
    "ContestOut",
    "ContestPatch",
    "ContestProblemIn",
    "ContestProblemOut",
    "LoginIn",
    "ProblemIn",
    "ProblemOut",
    "SourceFile",
    "SubmissionIn",
    "SubmissionOut",
    "TeamIn",
    "TeamOut",
    "TokenOut",
    "UserIn",
    "UserOut",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContestIn(_In):
    slug: str
    title: str
    start_at: datetime
    end_at: datetime
    freeze_at: datetime | None = None
    unfreeze_at: datetime | None = None
    scoring_rule: str = "points"
    scoring_settings: dict[str, Any] = Field(default_factory=dict)
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    description: str = ""
    timezone: str = "UTC"
    theme: str | None = None
    visibility: str = "public"
    registration_mode: str = "closed"
    is_practice: bool = False


class ContestPatch(_In):
    title: str | None = None
    description: str | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    freeze_at: datetime | None = None
    unfreeze_at: datetime | None = None
    unfrozen: bool | None = None
    timezone: str | None = None
    scoring_rule: str | None = None
    scoring_settings: dict[str, Any] | None = None
    theme: str | None = None
    visibility: str | None = None
    registration_mode: str | None = None
    is_practice: bool | None = None

    @model_validator(mode="after")
    def _null_only_where_allowed(self) -> ContestPatch:
        # ``null`` means "not set" only for the optional columns; elsewhere it is a mistake.
        nulls = sorted(name for name in self.model_fields_set - _NULLABLE_IN_PATCH
                       if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


_NULLABLE_IN_PATCH = frozenset({"freeze_at", "unfreeze_at", "theme", "scoring_settings"})


class ContestOut(BaseModel):
    id: int
    slug: str
    title: str
    description: str
    start_at: datetime
    end_at: datetime
    freeze_at: datetime | None
    unfreeze_at: datetime | None
    state: str
    timezone: str
    scoring_rule: str
    visibility: str
    registration_mode: str
    is_practice: bool
    theme: str | None
    plugins: dict[str, Any] | None = None
    """Enabled plugins with settings (staff only)."""
    scoring_settings: dict[str, Any] | None = None

    @classmethod
    def of(cls, c: Contest, *, now: datetime, staff: bool) -> ContestOut:
        return cls(
            id=c.id or 0, slug=c.slug, title=c.title, description=c.description,
            start_at=c.start_at, end_at=c.end_at, freeze_at=c.freeze_at,
            unfreeze_at=c.unfreeze_at, state=c.state_at(now).value, timezone=c.timezone,
            scoring_rule=c.scoring_rule, visibility=c.visibility,
            registration_mode=c.registration_mode, is_practice=c.is_practice, theme=c.theme,
            plugins=dict(c.plugins) if staff else None,
            scoring_settings=dict(c.scoring_settings) if staff else None,
        )


class ProblemIn(_In):
    slug: str
    title: str
    statement: str = ""
    statement_format: str = "markdown"
    time_limit_ms: int = 1000
    memory_limit_mb: int = 256
    output_limit_kb: int = 8192
    checker: str = "exact"
    checker_flags: str = ""
    difficulty: int | None = None
    tags: list[str] = Field(default_factory=list)
    source: str = ""


class ProblemOut(BaseModel):
    id: int
    slug: str
    title: str
    time_limit_ms: int
    memory_limit_mb: int
    checker: str
    difficulty: int | None
    tags: list[str]

    @classmethod
    def of(cls, p: Problem) -> ProblemOut:
        return cls(id=p.id or 0, slug=p.slug, title=p.title, time_limit_ms=p.time_limit_ms,
                   memory_limit_mb=p.memory_limit_mb, checker=p.checker,
                   difficulty=p.difficulty, tags=list(p.tags))


class ContestProblemIn(_In):
    problem: str
    """The problem's slug."""
    label: str
    points: float = 1.0
    color: str | None = None
    ordinal: int | None = None


class ContestProblemOut(BaseModel):
    id: int
    problem_id: int
    label: str
    title: str
    points: float
    ordinal: int
    color: str | None
    time_limit_ms: int
    memory_limit_mb: int

    @classmethod
    def of(cls, link: ContestProblem, p: Problem) -> ContestProblemOut:
        return cls(id=link.id or 0, problem_id=p.id or 0, label=link.label, title=p.title,
                   points=link.points, ordinal=link.ordinal, color=link.color,
                   time_limit_ms=p.time_limit_ms, memory_limit_mb=p.memory_limit_mb)


class TeamIn(_In):
    name: str
    display_name: str = ""
    affiliation_id: int | None = None
    group_ids: list[int] = Field(default_factory=list)
    members: list[str] = Field(default_factory=list)
    """Usernames; the first is the captain."""
    hidden: bool = False


class TeamOut(BaseModel):
    id: int
    name: str
    display_name: str
    affiliation_id: int | None
    hidden: bool

    @classmethod
    def of(cls, t: Team) -> TeamOut:
        return cls(id=t.id or 0, name=t.name, display_name=t.display_name or t.name,
                   affiliation_id=t.affiliation_id, hidden=t.hidden)


class SourceFile(_In):
    filename: str
    content: str
    encoding: str = "utf-8"
    """``utf-8`` (plain text) or ``base64``."""

    @field_validator("encoding")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in {"utf-8", "base64"}:
            raise ValueError("encoding must be utf-8 or base64")
        return value

    def data(self) -> bytes:
        if self.encoding == "base64":
            try:
                return base64.b64decode(self.content, validate=True)
            except binascii.Error:
                raise ValueError(f"{self.filename}: content is not valid base64") from None
        return self.content.encode()


class SubmissionIn(_In):
    problem: str
    """The problem's label in the contest."""
    language: str
    files: list[SourceFile] = Field(min_length=1)
    team_id: int | None = None
    """Staff only: submit for this team."""
    entry_point: str | None = None


class SubmissionOut(BaseModel):
    id: int
    contest_id: int
    team_id: int
    problem_id: int
    language: str
    submitted_at: datetime
    status: str
    verdict: str | None
    score: float | None

    @classmethod
    def of(cls, s: Submission, *, hide_result: bool = False) -> SubmissionOut:
        return cls(id=s.id or 0, contest_id=s.contest_id, team_id=s.team_id,
                   problem_id=s.problem_id, language=s.language, submitted_at=s.submitted_at,
                   status=s.status, verdict=None if hide_result else s.verdict,
                   score=None if hide_result else s.score)


class UserIn(_In):
    username: str
    password: str | None = None
    role: str = "contestant"
    display_name: str = ""
    email: str | None = None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls(id=u.id or 0, username=u.username, display_name=u.display_name, role=u.role)


class LoginIn(_In):
    username: str
    password: str
    token_name: str = ""


class TokenOut(BaseModel):
    token: str
    user: UserOut
