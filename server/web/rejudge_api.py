"""Rejudgings and judging history in the JSON API (jury, organizers and admins only).

- ``POST /api/v1/contests/{slug}/rejudgings``: ``{"submission_id": N}``, ``{"problem": "A"}``
  (label or slug) or ``{}`` (the whole contest), with optional ``"verdicts"`` and ``"reason"``;
- ``GET /api/v1/contests/{slug}/rejudgings``: every rejudging, newest first, with progress;
- ``GET /api/v1/submissions/{id}/judgings``: every judging of a submission, newest first.
"""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED
from pydantic import BaseModel, ConfigDict, Field

from server.actions.judging import RejudgingSummary, judgings_of, list_rejudgings, rejudge
from server.models import Judging
from server.web.auth import CurrentUser, require_staff, services_of, staff_only

__all__ = ["JudgingOut", "RejudgingController", "RejudgingIn", "RejudgingOut"]


class RejudgingIn(BaseModel):
    """What to judge again; no submission and no problem means the whole contest."""

    model_config = ConfigDict(extra="forbid")

    submission_id: int | None = None
    problem: str | None = Field(default=None, description="Contest label or problem slug")
    verdicts: list[str] = Field(default_factory=list,
                                description="Only submissions with one of these verdicts")
    reason: str = Field(default="", max_length=255)


class RejudgingOut(BaseModel):
    id: int
    contest_id: int
    reason: str
    created_by: int | None
    created_at: datetime
    finished_at: datetime | None
    problem: str | None
    submission_id: int | None
    verdicts: list[str]
    queued: int
    """Submissions it queued."""
    judged: int
    pending: int
    changes: dict[str, int]
    """``"<old>-><new>"`` -> how many submissions changed verdict that way."""

    @classmethod
    def of(cls, summary: RejudgingSummary) -> RejudgingOut:
        r = summary.rejudging
        return cls(id=r.id or 0, contest_id=r.contest_id or 0, reason=r.reason,
                   created_by=r.created_by, created_at=r.created_at, finished_at=r.finished_at,
                   problem=summary.problem, submission_id=r.submission_id,
                   verdicts=list(r.verdicts), queued=r.submission_count,
                   judged=summary.judged, pending=summary.pending, changes=summary.changes)


class JudgingOut(BaseModel):
    id: int
    submission_id: int
    rejudging_id: int | None
    judge_host: str | None
    started_at: datetime
    finished_at: datetime | None
    verdict: str | None
    verdict_before: str | None
    score: float | None
    max_time_ms: int | None
    max_memory_kb: int | None
    is_current: bool
    compile_output: str
    error: str

    @classmethod
    def of(cls, j: Judging) -> JudgingOut:
        return cls(id=j.id or 0, submission_id=j.submission_id, rejudging_id=j.rejudging_id,
                   judge_host=j.judge_host, started_at=j.started_at, finished_at=j.finished_at,
                   verdict=j.verdict, verdict_before=j.verdict_before, score=j.score,
                   max_time_ms=j.max_time_ms, max_memory_kb=j.max_memory_kb,
                   is_current=j.is_current, compile_output=j.compile_output, error=j.error)


class RejudgingController(Controller):
    path = "/"

    @post("/contests/{slug:str}/rejudgings", guards=[staff_only], status_code=HTTP_201_CREATED,
          summary="Rejudge a submission, a problem or a contest (jury)")
    async def create(self, request: Request, slug: FromPath[str], data: JSONBody[RejudgingIn],
                     user: CurrentUser) -> RejudgingOut:
        actor = require_staff(user)
        services = services_of(request)
        created = await rejudge(services, slug, submission_id=data.submission_id,
                                problem=data.problem, verdicts=data.verdicts,
                                reason=data.reason, actor=actor)
        summary = next(s for s in await list_rejudgings(services, created.contest_id or slug)
                       if s.rejudging.id == created.id)
        return RejudgingOut.of(summary)

    @get("/contests/{slug:str}/rejudgings", guards=[staff_only], summary="The contest's rejudgings (jury)")
    async def list(self, request: Request, slug: FromPath[str],
                   user: CurrentUser) -> list[RejudgingOut]:
        require_staff(user)
        return [RejudgingOut.of(s) for s in await list_rejudgings(services_of(request), slug)]

    @get("/submissions/{submission_id:int}/judgings", guards=[staff_only],
         summary="Every judging of a submission, newest first (jury)")
    async def judgings(self, request: Request, submission_id: FromPath[int],
                       user: CurrentUser) -> list[JudgingOut]:
        require_staff(user)
        return [JudgingOut.of(j) for j in await judgings_of(services_of(request), submission_id)]
