"""Contestant pages of a contest: home, problems, statements, submitting, submissions.

- ``GET /contests/{slug}`` — description, times, the team, problems, announcements, the
  embedded live scoreboard.
- ``GET /contests/{slug}/problems`` and ``/problems/{label}`` (+ ``/statement.pdf``) — public
  for a contest the visitor may see, hidden before the start for non-staff.
- ``GET/POST /contests/{slug}/submit`` — the form (a textarea enhanced by CodeMirror, or a file).
- ``GET /contests/{slug}/submissions`` — the team's submissions; verdicts arrive live over
- ``WS /contests/{slug}/submissions/ws`` — ``hx-swap-oob`` rows of the socket's team only.
- ``GET /contests/{slug}/submissions/{id}`` — one submission (own team or staff; 404 else).

Live verdicts: every web process keeps *one* event-bus subscription per contest that has open
submission sockets (``contest:<id>``: ``submission.created`` and ``judging.finished``) and
routes each event by its ``team_id`` to the local sockets of that team (a per-team channel in
the process). The bus already fans events out to every process, so a socket never receives
another team's event and a verdict is rendered once per socket of its team.
"""

from __future__ import annotations

import asyncio
import logging
import contextlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from collections.abc import Sequence
from typing import Any

from litestar import Request, Response, WebSocket, get, post, websocket
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    WebSocketDisconnect,
)
from litestar.params import FromPath
from sqlalchemy import func
from sqlmodel import col, select

from server import actions, i18n
from server.actions.base import contest_by_ref
from server.actions.errors import ActionError
from server.actions.judging import blob_store
from server.actions.submissions import MAX_SOURCE_BYTES
from server.i18n import N_, gettext as _
from server.models import (
    Announcement,
    Contest,
    ContestLanguage,
    ContestProblem,
    Judging,
    JudgingRun,
    Problem,
    Submission,
    SubmissionFile,
    Team,
    TeamMember,
    TestCase,
    User,
    utcnow,
)
from server.components import Verdict
from server.statements import render_statement
from server.web.ratelimit import limiter_of
from server.web.auth import (
    CurrentUser,
    can_see_contest,
    current_user,
    is_staff,
    require_user,
    services_of,
    team_of,
)
from server.web.forms import GENERAL, errors_of, flash, read_form, redirect
from server.web.live import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, board_html, origin_allowed

__all__ = ["SubmissionFeeds", "route_handlers", "submission_row_html", "test_results_mode"]

log = logging.getLogger("podium.web")

SAMPLE_PREVIEW_BYTES = 64 * 1024
"""Sample data longer than this is cut on the statement page (the full file downloads)."""
TEST_RESULTS = ("none", "samples", "all")
VERDICT_NAMES = {  # marked for extraction; the templates translate them when shown
    "AC": N_("Accepted"), "WA": N_("Wrong answer"), "TLE": N_("Time limit exceeded"),
    "MLE": N_("Memory limit exceeded"), "RTE": N_("Run-time error"), "CE": N_("Compile error"),
    "OLE": N_("Output limit exceeded"), "JE": N_("Judge error"),
}
EDITOR_MODES = {"python3": "python", "c": "text/x-csrc", "cpp": "text/x-c++src",
                "java": "text/x-java", "javascript": "javascript", "rust": "rust"}


def test_results_mode(contest: Contest) -> str:
    """Which per-test results contestants see: ``none``, ``samples`` (the default, like
    DOMjudge) or ``all`` (the contest's ``show_test_results``)."""
    return contest.show_test_results if contest.show_test_results in TEST_RESULTS else "samples"


# -- lookups ------------------------------------------------------------------------------


async def visible_contest(request: Request, slug: str, user: User | None) -> Contest:
    """The contest if this user may see it; 404 otherwise (never leak its existence)."""
    services = services_of(request)
    async with services.db.read() as session:
        try:
            contest = await contest_by_ref(session, slug)
        except actions.NotFound:
            raise NotFoundException(_("contest %(slug)r does not exist") % {"slug": slug}) from None
    if not await can_see_contest(services, contest, user):
        raise NotFoundException(_("contest %(slug)r does not exist") % {"slug": slug})
    return contest


async def _team(request: Request, contest: Contest, user: User | None) -> Team | None:
    """The user's team in the contest (one query; remembered for the rest of the request)."""
    if user is None:
        return None
    key = ("podium_team", contest.id, user.id)
    cache = request.scope.setdefault("podium_cache", {})  # type: ignore[typeddict-item]
    if key not in cache:
        async with services_of(request).db.read() as session:
            cache[key] = (await session.exec(
                select(Team).join(TeamMember, TeamMember.team_id == Team.id)  # type: ignore[arg-type]
                .where(TeamMember.contest_id == contest.id,
                       TeamMember.user_id == user.id))).first()
    return cache[key]  # type: ignore[no-any-return]


def _problems_open(contest: Contest, user: User | None) -> bool:
    return is_staff(user) or utcnow() >= contest.start_at


async def _problem_links(request: Request, contest: Contest) -> list[tuple[ContestProblem, Problem]]:
    async with services_of(request).db.read() as session:
        return list(await session.exec(
            select(ContestProblem, Problem)
            .join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
            .where(ContestProblem.contest_id == contest.id)
            .order_by(col(ContestProblem.ordinal), col(ContestProblem.label))))


async def _problem(request: Request, contest: Contest, label: str, user: User | None
                   ) -> tuple[ContestProblem, Problem]:
    if not _problems_open(contest, user):
        raise NotFoundException(_("problem %(label)r does not exist") % {"label": label})
    async with services_of(request).db.read() as session:
        found = (await session.exec(
            select(ContestProblem, Problem)
            .join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
            .where(ContestProblem.contest_id == contest.id, ContestProblem.label == label)
        )).first()
    if found is None:
        raise NotFoundException(_("problem %(label)r does not exist") % {"label": label})
    return found


async def _solved_counts(request: Request, contest: Contest, user: User | None) -> dict[int, int]:
    """problem id -> teams (not hidden) with an accepted submission; during a freeze the
    public count only counts submissions made before it."""
    query = (select(Submission.problem_id, func.count(func.distinct(Submission.team_id)))
             .join(Team, Team.id == Submission.team_id)  # type: ignore[arg-type]
             .where(Submission.contest_id == contest.id,
                    Submission.verdict == Verdict.ACCEPTED.value,
                    col(Team.hidden).is_(False))
             .group_by(Submission.problem_id))
    if not is_staff(user) and contest.is_frozen_at(utcnow()):
        assert contest.freeze_at is not None
        query = query.where(col(Submission.submitted_at) < contest.freeze_at)
    async with services_of(request).db.read() as session:
        return {pid: count for pid, count in await session.exec(query)}


async def _team_marks(request: Request, contest: Contest, team: Team | None) -> dict[int, str]:
    """problem id -> ``solved`` / ``pending`` / ``attempted`` for the team (its own results,
    also during a freeze)."""
    if team is None:
        return {}
    async with services_of(request).db.read() as session:
        rows = list(await session.exec(
            select(Submission.problem_id, Submission.verdict).where(
                Submission.contest_id == contest.id, Submission.team_id == team.id)))
    marks: dict[int, str] = {}
    for problem_id, verdict in rows:
        if verdict == Verdict.ACCEPTED.value:
            marks[problem_id] = "solved"
        elif verdict is None and marks.get(problem_id) != "solved":
            marks[problem_id] = "pending"
        else:
            marks.setdefault(problem_id, "attempted")
    return marks


async def _announcements(request: Request, contest: Contest) -> list[Announcement]:
    async with services_of(request).db.read() as session:
        return list(await session.exec(
            select(Announcement).where(Announcement.contest_id == contest.id,
                                       col(Announcement.published).is_(True))
            .order_by(col(Announcement.created_at).desc(), col(Announcement.id).desc())))


def _countdown(contest: Contest, now: datetime) -> tuple[str, datetime] | None:
    """What the countdown counts to: ``("start", at)`` or ``("end", at)``."""
    if now < contest.start_at:
        return "start", contest.start_at
    if now < contest.end_at:
        return "end", contest.end_at
    return None


async def _no_team(request: Request, contest: Contest, user: User) -> Response[str]:
    """The page a logged-in user without a team sees on a team-only page."""
    from server.web.pages import render

    return await render(request, "contest/no_team.html", contest=contest, status_code=403,
                        team_url=f"/contests/{contest.slug}/team")


# -- home and problems --------------------------------------------------------------------


@get("/contests/{slug:str}", name="contest", include_in_schema=False)
async def contest_page(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[str]:
    from server.web.pages import render

    contest = await visible_contest(request, slug, user)
    now = utcnow()
    state = contest.state_at(now).value
    links = await _problem_links(request, contest) if _problems_open(contest, user) else []
    team = await _team(request, contest, user)
    html, board_error = await board_html(request, contest, "public")
    return await render(
        request, "contest.html", contest=contest, state=state, problems=links,
        team=team, marks=await _team_marks(request, contest, team),
        announcements=await _announcements(request, contest),
        countdown=_countdown(contest, now), board_html=html, board_error=board_error,
        ws_url=f"/contests/{contest.slug}/scoreboard/ws")


@get("/contests/{slug:str}/problems", include_in_schema=False)
async def problems_page(request: Request, slug: FromPath[str], user: CurrentUser
                        ) -> Response[str]:
    from server.web.pages import render

    contest = await visible_contest(request, slug, user)
    is_open = _problems_open(contest, user)
    links = await _problem_links(request, contest) if is_open else []
    team = await _team(request, contest, user)
    return await render(
        request, "contest/problems.html", contest=contest, problems=links, is_open=is_open,
        team=team, marks=await _team_marks(request, contest, team),
        solved=await _solved_counts(request, contest, user) if is_open else {},
        frozen=contest.is_frozen_at(utcnow()) and not is_staff(user),
        countdown=_countdown(contest, utcnow()))


def _preview(data: bytes) -> tuple[str, bool]:
    cut = len(data) > SAMPLE_PREVIEW_BYTES
    return data[:SAMPLE_PREVIEW_BYTES].decode("utf-8", errors="replace"), cut


@dataclass
class Sample:
    name: str
    input: str
    answer: str
    cut: bool
    missing: bool = False


async def _samples(request: Request, problem: Problem) -> list[Sample]:
    async with services_of(request).db.read() as session:
        cases = list(await session.exec(
            select(TestCase).where(TestCase.problem_id == problem.id,
                                   col(TestCase.is_sample).is_(True))
            .order_by(col(TestCase.ordinal), col(TestCase.name))))
    store = blob_store(services_of(request))
    samples = []
    for case in cases:
        try:
            given, cut_in = _preview(store.path(case.input_hash).read_bytes())
            wanted, cut_out = _preview(store.path(case.answer_hash).read_bytes())
        except (OSError, ValueError):
            samples.append(Sample(case.name, "", "", False, missing=True))
            continue
        samples.append(Sample(case.name, given, wanted, cut_in or cut_out))
    return samples


@get("/contests/{slug:str}/problems/{label:str}", include_in_schema=False)
async def statement_page(request: Request, slug: FromPath[str], label: FromPath[str],
                         user: CurrentUser) -> Response[str]:
    from server.web.pages import render

    contest = await visible_contest(request, slug, user)
    link, problem = await _problem(request, contest, label, user)
    team = await _team(request, contest, user)
    return await render(
        request, "contest/statement.html", contest=contest, link=link, problem=problem,
        statement_html=render_statement(problem.statement, problem.statement_format),
        samples=await _samples(request, problem), team=team,
        mark=(await _team_marks(request, contest, team)).get(problem.id),  # type: ignore[arg-type]
        pdf_url=(f"/contests/{contest.slug}/problems/{link.label}/statement.pdf"
                 if problem.statement_pdf_hash else None))


@get("/contests/{slug:str}/problems/{label:str}/statement.pdf", include_in_schema=False)
async def statement_pdf(request: Request, slug: FromPath[str], label: FromPath[str],
                        user: CurrentUser) -> Response[bytes]:
    contest = await visible_contest(request, slug, user)
    link, problem = await _problem(request, contest, label, user)
    if not problem.statement_pdf_hash:
        raise NotFoundException(_("problem %(label)r has no PDF statement") % {"label": label})
    try:
        data = blob_store(services_of(request)).path(problem.statement_pdf_hash).read_bytes()
    except (OSError, ValueError):
        raise NotFoundException(_("the PDF statement of problem %(label)r is missing")
                                % {"label": label}) from None
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{contest.slug}-{link.label}.pdf")
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"',
                             "X-Content-Type-Options": "nosniff"})


# -- submitting ---------------------------------------------------------------------------


async def _languages(request: Request, contest: Contest) -> list[tuple[str, str]]:
    """The contest's enabled languages that this server knows: ``(name, title)``."""
    services = services_of(request)
    async with services.db.read() as session:
        names = list(await session.exec(
            select(ContestLanguage.language).where(ContestLanguage.contest_id == contest.id)
            .order_by(col(ContestLanguage.language))))
    catalog = services.plugins.languages
    return [(name, getattr(catalog.get(name), "title", "") or name)
            for name in names if name in catalog]


async def _last_language(request: Request, contest: Contest, team: Team) -> str | None:
    async with services_of(request).db.read() as session:
        return (await session.exec(
            select(Submission.language).where(Submission.contest_id == contest.id,
                                              Submission.team_id == team.id)
            .order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc())
            .limit(1))).first()


def _source_name(services: Any, language: str, upload: str | None) -> str:
    """The stored file name: the upload's (made safe), else the language's usual one."""
    if upload:
        name = re.sub(r"[^A-Za-z0-9_.+-]", "_", upload.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
        name = name.lstrip(".") or "main"
        if not re.match(r"^[A-Za-z0-9_]", name):
            name = "f" + name
        return name[:255]
    lang = services.plugins.languages.get(language)
    if lang is not None:
        if getattr(lang, "source_file", ""):
            return str(lang.source_file)
        if lang.extensions:
            return "main" + lang.extensions[0]
    return "main.txt"


async def _submit_page(request: Request, contest: Contest, team: Team, *,
                       form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                       status_code: int = 200) -> Response[str]:
    from server.web.pages import render

    user = await current_user(request)
    links = await _problem_links(request, contest) if _problems_open(contest, user) else []
    languages = await _languages(request, contest)
    form = dict(form or {})
    if "language" not in form:
        last = await _last_language(request, contest, team)
        if last in {name for name, _title in languages}:
            form["language"] = last  # type: ignore[assignment]
    if "problem" not in form and request.query_params.get("problem"):
        form["problem"] = request.query_params["problem"]
    now = utcnow()
    running = contest.is_practice or contest.start_at <= now < contest.end_at
    return await render(
        request, "contest/submit.html", contest=contest, team=team, problems=links,
        languages=languages, form=form, errors=errors or {}, status_code=status_code,
        running=running or is_staff(user), before=now < contest.start_at,
        max_bytes=MAX_SOURCE_BYTES, editor_modes=EDITOR_MODES)


@get("/contests/{slug:str}/submit", include_in_schema=False)
async def submit_page(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[str]:
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    team = await _team(request, contest, me)
    if team is None:
        return await _no_team(request, contest, me)
    return await _submit_page(request, contest, team)


@post("/contests/{slug:str}/submit", include_in_schema=False)
async def submit(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    team = await _team(request, contest, me)
    if team is None:
        return await _no_team(request, contest, me)
    services = services_of(request)
    form = await read_form(request)
    shown = {k: v for k, v in form.items()}

    async def refuse(status: int, errors: dict[str, str]) -> Response[str]:
        return await _submit_page(request, contest, team, form=shown, errors=errors,
                                  status_code=status)

    now = utcnow()
    if not is_staff(me) and not contest.is_practice and not (
            contest.start_at <= now < contest.end_at):
        message = (_("The contest has not started yet: submissions open at the start.")
                   if now < contest.start_at else
                   _("The contest is over: submissions are closed."))
        return await refuse(403, {GENERAL: message})
    upload = form.files.get("file")
    field_name = "file" if upload is not None else "source"
    if upload is not None:
        content = await upload.read(MAX_SOURCE_BYTES + 1)
        filename = _source_name(services, form.get("language", ""), upload.filename)
    else:
        content = form.get("source", "").replace("\r\n", "\n").encode()
        filename = _source_name(services, form.get("language", ""), None)
    if len(content) > MAX_SOURCE_BYTES:
        return await refuse(413, {field_name: _("The source is too large: the limit is "
                                                "%(kib)s KiB.") % {"kib": MAX_SOURCE_BYTES // 1024}})
    if not content.strip():
        return await refuse(400, {"source": _("Paste your code or choose a file.")})
    if not form.get("problem"):
        return await refuse(400, {"problem": _("Choose a problem.")})
    if not form.get("language"):
        return await refuse(400, {"language": _("Choose a language.")})
    wait = await limiter_of(request).hit(
        f"submit:{contest.id}:{team.id}", limit=services.settings.submission_rate_limit,
        window=60.0)
    if wait is not None:
        return await refuse(429, {GENERAL: _(
            "Too many submissions: your team may submit %(n)s times per minute. Try again in "
            "%(s)s seconds.") % {"n": services.settings.submission_rate_limit,
                                 "s": max(1, int(wait + 0.999))}})
    try:
        submission = await actions.submit(
            services, contest=contest.id, team_id=team.id,  # type: ignore[arg-type]
            problem=form["problem"], language=form["language"], files={filename: content},
            user=me, origin="web", refresh_later=True)  # answer now; the boards follow
    except ActionError as exc:
        errors = errors_of(exc)
        if "files" in errors:
            errors[field_name] = errors.pop("files")
        return await refuse(exc.status_code, errors)
    flash(request, _("Submission %(id)s for problem %(label)s is queued for judging.")
          % {"id": submission.id, "label": form["problem"]}, "success")
    return redirect(request, f"/contests/{contest.slug}/submissions/{submission.id}")


# -- submissions --------------------------------------------------------------------------


@dataclass
class Row:
    """One submission as the pages show it."""

    submission: Submission
    label: str
    title: str
    color: str | None

    @property
    def verdict_code(self) -> str:
        return self.submission.verdict or "pending"


async def _rows(request_or_services: Any, contest: Contest, *, team_id: int | None = None,
                submission_ids: Sequence[int] | None = None) -> list[Row]:
    services = (request_or_services if hasattr(request_or_services, "db")
                else services_of(request_or_services))
    query = (select(Submission, ContestProblem, Problem)
             .join(ContestProblem, (ContestProblem.problem_id == Submission.problem_id)  # type: ignore[arg-type]
                   & (ContestProblem.contest_id == Submission.contest_id))
             .join(Problem, Problem.id == Submission.problem_id)  # type: ignore[arg-type]
             .where(Submission.contest_id == contest.id))
    if team_id is not None:
        query = query.where(Submission.team_id == team_id)
    if submission_ids is not None:
        query = query.where(col(Submission.id).in_(submission_ids))
    query = query.order_by(col(Submission.submitted_at).desc(), col(Submission.id).desc())
    async with services.db.read() as session:
        return [Row(sub, link.label, problem.title, link.color)
                for sub, link, problem in await session.exec(query)]


#: At most this many pending rows are caught up when a submissions socket connects.
MAX_CATCH_UP = 100


def submissions_ws_url(contest: Contest, rows: Sequence[Row]) -> str:
    """The submissions socket of a page showing ``rows``: it names the rows shown pending, so
    a verdict recorded between the page's render and the socket's subscription is sent on
    connect (``submissions_socket``) instead of being missed."""
    url = f"/contests/{contest.slug}/submissions/ws"
    pending = [str(row.submission.id) for row in rows if row.submission.verdict is None]
    return f"{url}?pending={','.join(pending[:MAX_CATCH_UP])}" if pending else url


def _pending_ids(raw: str | None) -> list[int]:
    """The ``pending`` query value of a submissions socket: ids, comma separated; anything
    else in it is ignored (it only ever asks for rows the socket's team may see anyway)."""
    ids = [int(part) for part in (raw or "").split(",") if part.strip().isdigit()]
    return ids[:MAX_CATCH_UP]


def row_env(themes: Any, services: Any, contest: Contest) -> Any:
    """The Jinja environment the contest's submission rows are rendered with."""
    return themes.get(contest.theme or services.settings.default_theme)


def submission_row_html(env: Any, contest: Contest, row: Row, *, oob: str = "") -> str:
    """A submission's ``<tr>`` (``oob``: the ``hx-swap-oob`` value, for the socket)."""
    return env.get_template("contest/_submission_row.html").render(
        contest=contest, row=row, oob=oob, verdict_names=VERDICT_NAMES)


@get("/contests/{slug:str}/submissions", include_in_schema=False)
async def submissions_page(request: Request, slug: FromPath[str], user: CurrentUser
                           ) -> Response[str]:
    from server.web.pages import render

    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    team = await _team(request, contest, me)
    if team is None:
        return await _no_team(request, contest, me)
    return await render(request, "contest/submissions.html", contest=contest, team=team,
                        rows=(rows := await _rows(request, contest, team_id=team.id)),
                        verdict_names=VERDICT_NAMES, ws_url=submissions_ws_url(contest, rows))


async def _own_submission(request: Request, contest: Contest, submission_id: int,
                          user: User) -> Row:
    """The submission if the user is staff or in its team; 404 otherwise."""
    rows = await _rows(request, contest, submission_ids=[submission_id])
    if not rows:
        raise NotFoundException(_("submission %(submission_id)s does not exist")
                                % {"submission_id": submission_id})
    row = rows[0]
    if not is_staff(user):
        team_id = await team_of(services_of(request), contest.id, user)  # type: ignore[arg-type]
        if team_id is None or team_id != row.submission.team_id:
            raise NotFoundException(_("submission %(submission_id)s does not exist")
                                    % {"submission_id": submission_id})
    return row


@dataclass
class RunView:
    name: str
    is_sample: bool
    run: JudgingRun


@get("/contests/{slug:str}/submissions/{submission_id:int}", include_in_schema=False)
async def submission_page(request: Request, slug: FromPath[str], submission_id: FromPath[int],
                          user: CurrentUser) -> Response[str]:
    from server.web.pages import render

    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    row = await _own_submission(request, contest, submission_id, me)
    sub = row.submission
    staff = is_staff(me)
    mode = "all" if staff else test_results_mode(contest)
    judging: Judging | None = None
    runs: list[RunView] = []
    async with services_of(request).db.read() as session:
        files = list(await session.exec(select(SubmissionFile).where(
            SubmissionFile.submission_id == sub.id).order_by(col(SubmissionFile.filename))))
        team = await session.get(Team, sub.team_id)
        if sub.current_judging_id is not None:
            judging = await session.get(Judging, sub.current_judging_id)
        if judging is not None and mode != "none":
            query = (select(JudgingRun, TestCase)
                     .join(TestCase, TestCase.id == JudgingRun.test_case_id)  # type: ignore[arg-type]
                     .where(JudgingRun.judging_id == judging.id)
                     .order_by(col(TestCase.ordinal), col(TestCase.name), col(JudgingRun.id)))
            if mode == "samples":
                query = query.where(col(TestCase.is_sample).is_(True))
            runs = [RunView(case.name, case.is_sample, run)
                    for run, case in await session.exec(query)]
    sources = [(f.filename, f.content.decode("utf-8", errors="replace")) for f in files]
    return await render(
        request, "contest/submission.html", contest=contest, row=row, sub=sub, team=team,
        judging=judging, runs=runs, mode=mode, sources=sources, staff=staff,
        verdict_names=VERDICT_NAMES, editor_mode=EDITOR_MODES.get(sub.language, ""),
        ws_url=submissions_ws_url(contest, [row]))


# -- live verdicts ------------------------------------------------------------------------


@dataclass
class _ContestFeed:
    task: asyncio.Task[None]
    teams: dict[int, set[asyncio.Queue[str | None]]] = field(default_factory=dict)


class SubmissionFeeds:
    """Per process: one bus subscription per contest with open sockets. An event of a team is
    read and rendered once, and the HTML goes to the queues of that team's sockets only."""

    EVENTS = frozenset({"submission.created", "judging.finished"})

    def __init__(self, services: Any, themes: Any) -> None:
        self.services = services
        self.themes = themes
        self.bus = services.bus
        self.feeds: dict[int, _ContestFeed] = {}
        self.lock = asyncio.Lock()

    async def join(self, contest_id: int, team_id: int) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=256)
        async with self.lock:
            feed = self.feeds.get(contest_id)
            if feed is None:
                ready = asyncio.Event()
                task = asyncio.create_task(self._run(contest_id, ready),
                                           name=f"podium-submission-feed-{contest_id}")
                feed = self.feeds[contest_id] = _ContestFeed(task)
                waiter = asyncio.create_task(ready.wait())
                await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if task.done():  # the subscription failed
                    del self.feeds[contest_id]
                    task.result()
            feed.teams.setdefault(team_id, set()).add(queue)
        return queue

    async def leave(self, contest_id: int, team_id: int,
                    queue: asyncio.Queue[str | None]) -> None:
        async with self.lock:
            feed = self.feeds.get(contest_id)
            if feed is None:
                return
            queues = feed.teams.get(team_id, set())
            queues.discard(queue)
            if not queues:
                feed.teams.pop(team_id, None)
            if not feed.teams:
                del self.feeds[contest_id]
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await feed.task

    async def _run(self, contest_id: int, ready: asyncio.Event) -> None:
        try:
            async with self.bus.subscribe(f"contest:{contest_id}") as events:
                ready.set()
                async for _topic, event in events:
                    if event.get("type") not in self.EVENTS:
                        continue
                    feed = self.feeds.get(contest_id)
                    team_id = event.get("team_id")
                    if feed is None or not isinstance(team_id, int):
                        continue
                    if not feed.teams.get(team_id):
                        continue
                    try:
                        html = await self._html(contest_id, team_id, event)
                    except Exception:  # noqa: BLE001 - one bad event must not end the feed
                        log.exception("rendering a live submission row failed")
                        continue
                    for queue in tuple(feed.teams.get(team_id, ())):
                        with contextlib.suppress(asyncio.QueueFull):
                            if html is not None:
                                queue.put_nowait(html)
        finally:
            feed = self.feeds.get(contest_id)
            if feed is not None:  # the bus ended: close this contest's sockets
                for queues in feed.teams.values():
                    for queue in queues:
                        with contextlib.suppress(asyncio.QueueFull):
                            queue.put_nowait(None)

    async def _html(self, contest_id: int, team_id: int, event: dict[str, Any]) -> str | None:
        """The team's row of the event's submission, as the socket sends it (None: no row)."""
        sub_id = event.get("submission_id") if event["type"] == "judging.finished" \
            else event.get("id")
        if not isinstance(sub_id, int):
            return None
        async with self.services.db.read() as session:
            contest = await session.get(Contest, contest_id)
        if contest is None:
            return None
        rows = await _rows(self.services, contest, team_id=team_id,
                           submission_ids=[sub_id])
        if not rows:
            return None
        env = row_env(self.themes, self.services, contest)
        created = event["type"] == "submission.created"
        # One rendering for all of the team's sockets: in the instance's language, as the
        # live board (the page itself, and a reload, follow each viewer's language).
        with i18n.using_locale(self.services.settings.default_locale):
            html = submission_row_html(env, contest, rows[0], oob="" if created else "true")
        if created:  # a new row: on top of the table (the page drops a duplicate)
            html = f'<tbody hx-swap-oob="afterbegin:#submission-rows">{html}</tbody>'
        return html


def feeds_of(app: Any) -> SubmissionFeeds:
    feeds = getattr(app.state, "submission_feeds", None)
    if feeds is None:
        feeds = app.state.submission_feeds = SubmissionFeeds(app.state.services,
                                                              app.state.themes)
    return feeds  # type: ignore[no-any-return]


@websocket("/contests/{slug:str}/submissions/ws", name="submissions-ws")
async def submissions_socket(socket: WebSocket, slug: FromPath[str]) -> None:
    """The team's rows, live: a row replaces itself (``hx-swap-oob``) when judged; a new
    submission of a teammate is added on top. Only ever this socket's team's rows."""
    services = socket.app.state.services
    if not origin_allowed(socket, services.settings.allowed_origins):
        await socket.close(code=CLOSE_FORBIDDEN, reason="origin not allowed")
        return
    try:
        user = await current_user(socket)  # type: ignore[arg-type]
    except NotAuthorizedException as exc:
        await socket.close(code=CLOSE_FORBIDDEN, reason=str(exc.detail)[:120])
        return
    if user is None:
        await socket.close(code=CLOSE_FORBIDDEN, reason="log in first")
        return
    async with services.db.read() as session:
        try:
            contest = await contest_by_ref(session, slug)
        except actions.NotFound:
            contest = None
    if contest is None or not await can_see_contest(services, contest, user):
        await socket.close(code=CLOSE_NOT_FOUND, reason="no such contest")
        return
    team_id = await team_of(services, contest.id, user)  # type: ignore[arg-type]
    if team_id is None:
        await socket.close(code=CLOSE_FORBIDDEN, reason="not in a team of this contest")
        return
    feeds = feeds_of(socket.app)
    queue = await feeds.join(contest.id, team_id)  # type: ignore[arg-type]
    await socket.accept()
    # Subscribed: a verdict from now on comes through the queue. One recorded before (after
    # the page was rendered) is caught up here, so a row never stays "Judging…" for good.
    if pending := _pending_ids(socket.query_params.get("pending")):
        env = row_env(socket.app.state.themes, services, contest)
        for row in await _rows(services, contest, team_id=team_id, submission_ids=pending):
            if row.submission.verdict is not None:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(submission_row_html(env, contest, row, oob="true"))
    receiver = asyncio.create_task(_drain_client(socket, queue))
    try:
        while (html := await queue.get()) is not None:
            await socket.send_text(html)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
        await feeds.leave(contest.id, team_id, queue)  # type: ignore[arg-type]
        with contextlib.suppress(Exception):
            await socket.close()


async def _drain_client(socket: WebSocket, queue: asyncio.Queue[str | None]) -> None:
    """Read (and ignore) what the client sends, until it leaves."""
    try:
        while True:
            await socket.receive_text()
    except Exception:
        pass
    finally:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(None)


route_handlers: list[Any] = [
    contest_page, problems_page, statement_page, statement_pdf, submit_page, submit,
    submissions_page, submission_page, submissions_socket,
]
