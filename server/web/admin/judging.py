"""Admin pages: judging — the submission queue, a submission with its judgings, rejudging,
judge hosts and queue health, and the audit log.

The jury may see all of these and rejudge (the staff guard of the package lets jury,
organizers and admins in). Lists take their filters as GET parameters, so a filtered view is a
link; an HTMX request (``HX-Request``) gets only the refreshed part of the page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from sqlalchemy import and_, func
from sqlmodel import col, select

from server.actions.judging import judgings_of, list_rejudgings, rejudge
from server.components import Verdict
from server.errors import ActionError
from server.i18n import gettext as _
from server.models import (
    AuditEntry,
    Contest,
    ContestLanguage,
    ContestProblem,
    JudgeHost,
    Judging,
    JudgingRun,
    Problem,
    Rejudging,
    Submission,
    SubmissionFile,
    Team,
    TestCase,
    User,
    utcnow,
)
from server.web.admin.common import admin_contest, render_admin
from server.web.auth import CurrentUser, require_staff, services_of
from server.web.forms import errors_of, flash, read_form, redirect, safe_next

__all__ = ["route_handlers"]

PER_PAGE = 50
PENDING = "pending"
"""The verdict filter's value for submissions without a verdict yet."""


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-boosted")


@dataclass
class Pager:
    page: int
    per_page: int
    total: int
    base: str
    params: dict[str, str]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def url(self, page: int) -> str:
        params = {k: v for k, v in self.params.items() if v}
        if page > 1:
            params["page"] = str(page)
        return self.base + (f"?{urlencode(params)}" if params else "")

    @property
    def current(self) -> str:
        return self.url(self.page)


def _pager(base: str, params: dict[str, str], page: int | None, total: int,
           per_page: int | None = None) -> Pager:
    per_page = per_page or PER_PAGE
    pages = max(1, math.ceil(total / per_page))
    return Pager(page=min(max(page or 1, 1), pages), per_page=per_page, total=total, base=base,
                 params=params)


# ------------------------------------------------------------------ submission queue


async def _contest_choices(request: Request, contest: Contest) -> dict[str, Any]:
    async with services_of(request).db.read() as session:
        problems = list(await session.exec(
            select(ContestProblem, Problem).join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
            .where(ContestProblem.contest_id == contest.id)
            .order_by(col(ContestProblem.ordinal), col(ContestProblem.label))))
        teams = list(await session.exec(select(Team).where(
            Team.contest_id == contest.id).order_by(col(Team.name))))
        languages = list(await session.exec(select(ContestLanguage.language).where(
            ContestLanguage.contest_id == contest.id).order_by(col(ContestLanguage.language))))
    return {"problems": problems, "teams": teams, "languages": languages,
            "verdicts": [v.value for v in Verdict]}


@get("/contests/{slug:str}/submissions", name="admin_submissions")
async def submissions_page(
    request: Request, slug: FromPath[str], user: CurrentUser,
    problem: FromQuery[str | None] = None, team: FromQuery[str | None] = None,
    verdict: FromQuery[str | None] = None, language: FromQuery[str | None] = None,
    page: FromQuery[int | None] = None,
) -> Response[str]:
    contest = await admin_contest(request, slug)
    services = services_of(request)
    filters = {"problem": (problem or "").strip(), "team": (team or "").strip(),
               "verdict": (verdict or "").strip(), "language": (language or "").strip()}
    conditions: list[Any] = [Submission.contest_id == contest.id]
    async with services.db.read() as session:
        if filters["problem"]:
            conditions.append(Submission.problem_id.in_(  # type: ignore[attr-defined]
                select(ContestProblem.problem_id).where(
                    ContestProblem.contest_id == contest.id,
                    ContestProblem.label == filters["problem"])))
        if filters["team"]:
            conditions.append(Submission.team_id == (
                int(filters["team"]) if filters["team"].isdigit() else -1))
        if filters["verdict"] == PENDING:
            conditions.append(col(Submission.verdict).is_(None))
        elif filters["verdict"]:
            conditions.append(Submission.verdict == filters["verdict"])
        if filters["language"]:
            conditions.append(Submission.language == filters["language"])
        total = (await session.exec(select(func.count()).select_from(Submission).where(
            *conditions))).one()
        pager = _pager(f"/admin/contests/{contest.slug}/submissions", filters, page, total)
        rows = list(await session.exec(
            select(Submission, Team, ContestProblem.label, User.username)
            .join(Team, Team.id == Submission.team_id)  # type: ignore[arg-type]
            .outerjoin(ContestProblem, and_(
                ContestProblem.contest_id == Submission.contest_id,  # type: ignore[arg-type]
                ContestProblem.problem_id == Submission.problem_id))
            .outerjoin(User, User.id == Submission.user_id)  # type: ignore[arg-type]
            .where(*conditions)
            .order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc())
            .offset(pager.offset).limit(pager.per_page)))
    context = {"rows": rows, "pager": pager, "filters": filters, "pending": PENDING,
               "live": pager.page == 1}
    if _htmx(request):
        return await render_admin(request, "admin/contest_submissions_rows.html",
                                  contest=contest, **context)
    return await render_admin(request, "admin/contest_submissions.html", contest=contest,
                              section="submissions",
                              **context, **await _contest_choices(request, contest))


@dataclass
class JudgingView:
    judging: Judging
    runs: list[tuple[JudgingRun, TestCase | None]]
    rejudging: Rejudging | None


@get("/contests/{slug:str}/submissions/{submission_id:int}", name="admin_submission")
async def submission_page(request: Request, slug: FromPath[str], submission_id: FromPath[int],
                          user: CurrentUser) -> Response[str]:
    contest = await admin_contest(request, slug)
    services = services_of(request)
    async with services.db.read() as session:
        submission = await session.get(Submission, submission_id)
        if submission is None or submission.contest_id != contest.id:
            raise NotFoundException(_("submission %(submission_id)s is not in this contest")
                                    % {"submission_id": submission_id})
        team = await session.get(Team, submission.team_id)
        problem = await session.get(Problem, submission.problem_id)
        link = (await session.exec(select(ContestProblem).where(
            ContestProblem.contest_id == contest.id,
            ContestProblem.problem_id == submission.problem_id))).first()
        author = await session.get(User, submission.user_id) if submission.user_id else None
        files = list(await session.exec(select(SubmissionFile).where(
            SubmissionFile.submission_id == submission.id).order_by(
            col(SubmissionFile.filename))))
    judgings = await judgings_of(services, submission_id)
    async with services.db.read() as session:
        runs: dict[int, list[tuple[JudgingRun, TestCase | None]]] = {}
        ids = [j.id for j in judgings]
        if ids:
            for run, case in await session.exec(
                    select(JudgingRun, TestCase)
                    .outerjoin(TestCase, TestCase.id == JudgingRun.test_case_id)  # type: ignore[arg-type]
                    .where(col(JudgingRun.judging_id).in_(ids))
                    .order_by(col(TestCase.is_sample).desc(), col(TestCase.ordinal),
                              col(JudgingRun.id))):
                runs.setdefault(run.judging_id, []).append((run, case))
        rejudging_ids = {j.rejudging_id for j in judgings if j.rejudging_id}
        rejudgings = {r.id: r for r in await session.exec(select(Rejudging).where(
            col(Rejudging.id).in_(rejudging_ids)))} if rejudging_ids else {}
    views = [JudgingView(j, runs.get(j.id or 0, []), rejudgings.get(j.rejudging_id))
             for j in judgings]
    sources = []
    for f in files:
        text = f.content.decode("utf-8", errors="replace")
        sources.append({"filename": f.filename, "lines": text.splitlines() or [""],
                        "size": len(f.content), "binary": b"\x00" in f.content})
    return await render_admin(
        request, "admin/submission.html", contest=contest, section="submissions",
        submission=submission, team=team, problem=problem, link=link, author=author,
        sources=sources, judgings=views,
        contest_seconds=(submission.submitted_at - contest.start_at).total_seconds())


# ------------------------------------------------------------------ rejudging


async def _rejudge_page(request: Request, contest: Contest, *, form: dict[str, Any] | None = None,
                        errors: dict[str, str] | None = None, status_code: int = 200) -> Response[str]:
    summaries = await list_rejudgings(services_of(request), contest.id)  # type: ignore[arg-type]
    choices = await _contest_choices(request, contest)
    return await render_admin(request, "admin/rejudge.html", contest=contest,
                              section="submissions", rejudgings=summaries, form=form or {},
                              errors=errors or {}, status_code=status_code, **choices)


@get("/contests/{slug:str}/rejudge", name="admin_rejudge")
async def rejudge_page(request: Request, slug: FromPath[str], user: CurrentUser,
                       submission: FromQuery[int | None] = None,
                       problem: FromQuery[str | None] = None) -> Response[str]:
    contest = await admin_contest(request, slug)
    form = {"submission_id": str(submission or ""), "problem": problem or ""}
    return await _rejudge_page(request, contest, form=form)


@post("/contests/{slug:str}/rejudge")
async def rejudge_post(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    actor = require_staff(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    raw_id = form.get("submission_id", "").strip().lstrip("#")
    problem = form.get("problem", "").strip() or None
    errors: dict[str, str] = {}
    submission_id: int | None = None
    if raw_id:
        if not raw_id.isdigit():
            errors["submission_id"] = _("Enter a submission number.")
        else:
            submission_id = int(raw_id)
    if submission_id is None and problem is None and not form.flag("whole_contest") \
            and not errors:
        errors["whole_contest"] = _("Tick this box to rejudge every submission of the "
                                    "contest (or choose a submission or a problem).")
    if errors:
        return await _rejudge_page(request, contest, form=form, errors=errors, status_code=400)
    try:
        created = await rejudge(services_of(request), contest.id,  # type: ignore[arg-type]
                                submission_id=submission_id, problem=problem,
                                verdicts=form.getall("verdicts"),
                                reason=form.get("reason", "").strip(), actor=actor)
    except ActionError as exc:
        found = errors_of(exc)
        if "verdicts" not in found and "__all__" in found and submission_id is not None:
            found = {"submission_id": found["__all__"]}
        return await _rejudge_page(request, contest, form=form, errors=found,
                                   status_code=exc.status_code)
    flash(request, _("Rejudging %(id)s queued %(n)d submission(s).")
          % {"id": created.id, "n": created.submission_count}, "success")
    return redirect(request, safe_next(form.get("next"),
                                       f"/admin/contests/{contest.slug}/rejudge"))


@get("/contests/{slug:str}/rejudge/{rejudging_id:int}", name="admin_rejudge_progress")
async def rejudge_progress(request: Request, slug: FromPath[str], rejudging_id: FromPath[int],
                           user: CurrentUser) -> Response[str]:
    """One rejudging's row (HTMX polls it every 2 s until it is finished)."""
    contest = await admin_contest(request, slug)
    summary = next((s for s in await list_rejudgings(services_of(request), contest.id)  # type: ignore[arg-type]
                    if s.rejudging.id == rejudging_id), None)
    if summary is None:
        raise NotFoundException(_("rejudging %(rejudging_id)s is not in this contest")
                                % {"rejudging_id": rejudging_id})
    return await render_admin(request, "admin/rejudge_row.html", contest=contest, r=summary)


# ------------------------------------------------------------------ judge hosts and queue


@dataclass
class HostView:
    host: JudgeHost
    alive: bool
    seen_seconds: float | None
    current: list[Judging]
    finished_5: int
    finished_60: int
    last: Judging | None


async def _judges_context(request: Request) -> dict[str, Any]:
    services = services_of(request)
    now = utcnow()
    silent_after = max(60.0, services.settings.judge_lease_seconds)
    async with services.db.read() as session:
        hosts = list(await session.exec(select(JudgeHost).order_by(col(JudgeHost.name))))
        since_5, since_60 = now - timedelta(minutes=5), now - timedelta(minutes=60)
        counts: dict[str, list[int]] = {}
        for name, finished_at in await session.exec(
                select(Judging.judge_host, Judging.finished_at).where(
                    col(Judging.finished_at) >= since_60, col(Judging.verdict).is_not(None),
                    col(Judging.judge_host).is_not(None))):
            slot = counts.setdefault(name, [0, 0])  # type: ignore[arg-type]
            slot[1] += 1
            if finished_at >= since_5:  # type: ignore[operator]
                slot[0] += 1
        running: dict[str, list[Judging]] = {}
        for judging in await session.exec(select(Judging).where(
                col(Judging.finished_at).is_(None), col(Judging.judge_host).is_not(None))):
            running.setdefault(judging.judge_host, []).append(judging)  # type: ignore[arg-type]
        last: dict[str, Judging] = {}
        for judging in await session.exec(select(Judging).where(
                col(Judging.id).in_(select(func.max(Judging.id)).where(
                    col(Judging.verdict).is_not(None), col(Judging.judge_host).is_not(None))
                    .group_by(Judging.judge_host)))):
            last[judging.judge_host] = judging  # type: ignore[index]
        pending_q = select(Submission).where(col(Submission.status).in_(["queued", "judging"]))
        pending = (await session.exec(select(func.count()).select_from(
            pending_q.subquery()))).one()
        oldest = (await session.exec(select(func.min(Submission.submitted_at)).where(
            Submission.status == "queued"))).one()
        contests = {c.id: c.slug for c in await session.exec(select(Contest).where(
            col(Contest.id).in_(select(Submission.contest_id).where(
                col(Submission.status).in_(["queued", "judging"])).distinct())))}
        per_contest = list(await session.exec(
            select(Submission.contest_id, Submission.status, func.count())
            .where(col(Submission.status).in_(["queued", "judging"]))
            .group_by(Submission.contest_id, Submission.status)))
    views = []
    for host in hosts:
        seen = (now - host.last_seen_at).total_seconds() if host.last_seen_at else None
        c5, c60 = counts.get(host.name, [0, 0])
        views.append(HostView(host=host, alive=seen is not None and seen < silent_after
                              and host.is_active, seen_seconds=seen,
                              current=running.get(host.name, []), finished_5=c5,
                              finished_60=c60, last=last.get(host.name)))
    try:
        stats = await services.queue.stats()
    except Exception:  # noqa: BLE001 - a queue outage is what this page should show
        stats = None
    queued_rows: dict[str, dict[str, int]] = {}
    for contest_id, status, count in per_contest:
        queued_rows.setdefault(contests.get(contest_id, str(contest_id)), {})[status] = count
    return {"hosts": views, "stats": stats, "pending": pending,
            "oldest_seconds": (now - oldest).total_seconds() if oldest else None,
            "per_contest": queued_rows, "silent_after": silent_after, "checked_at": now,
            "total_5": sum(v.finished_5 for v in views),
            "total_60": sum(v.finished_60 for v in views)}


@get("/judges", name="admin_judges")
async def judges_page(request: Request, user: CurrentUser) -> Response[str]:
    context = await _judges_context(request)
    if _htmx(request):
        return await render_admin(request, "admin/judges_live.html", **context)
    return await render_admin(request, "admin/judges.html", section="judges", **context)


# ------------------------------------------------------------------ audit log


@get("/audit", name="admin_audit")
async def audit_page(
    request: Request, user: CurrentUser,
    contest: FromQuery[str | None] = None, actor: FromQuery[str | None] = None,
    action: FromQuery[str | None] = None, object_type: FromQuery[str | None] = None,
    page: FromQuery[int | None] = None,
) -> Response[str]:
    services = services_of(request)
    filters = {"contest": (contest or "").strip(), "actor": (actor or "").strip(),
               "action": (action or "").strip(), "object_type": (object_type or "").strip()}
    conditions: list[Any] = []
    errors: dict[str, str] = {}
    async with services.db.read() as session:
        contests = list(await session.exec(select(Contest).order_by(col(Contest.start_at).desc())))
        if filters["contest"]:
            match = next((c for c in contests if c.slug == filters["contest"]), None)
            conditions.append(AuditEntry.contest_id == (match.id if match else -1))
        if filters["actor"]:
            found = (await session.exec(select(User.id).where(
                User.username == filters["actor"]))).first()
            if found is None:
                errors["actor"] = _("No user has this username.")
            conditions.append(AuditEntry.actor_id == (found if found is not None else -1))
        if filters["action"]:
            prefix = filters["action"].replace("\\", "\\\\").replace("%", "\\%").replace(
                "_", "\\_")
            conditions.append(col(AuditEntry.action).like(prefix + "%", escape="\\"))
        if filters["object_type"]:
            conditions.append(AuditEntry.object_type == filters["object_type"])
        total = (await session.exec(select(func.count()).select_from(AuditEntry).where(
            *conditions))).one()
        pager = _pager("/admin/audit", filters, page, total)
        entries = list(await session.exec(
            select(AuditEntry).where(*conditions)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .offset(pager.offset).limit(pager.per_page)))
        actor_ids = {e.actor_id for e in entries if e.actor_id is not None}
        actors = {u.id: u.username for u in await session.exec(select(User).where(
            col(User.id).in_(actor_ids)))} if actor_ids else {}
        types = list(await session.exec(select(AuditEntry.object_type).distinct().order_by(
            col(AuditEntry.object_type))))
    return await render_admin(
        request, "admin/audit.html", section="audit", entries=entries, pager=pager,
        filters=filters, errors=errors, actors=actors,
        contest_slugs={c.id: c.slug for c in contests}, contests=contests, object_types=types,
        )


route_handlers: list[Any] = [
    submissions_page, submission_page, rejudge_page, rejudge_post, rejudge_progress,
    judges_page, audit_page,
]
