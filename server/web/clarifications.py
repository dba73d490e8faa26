"""Clarifications and announcements: contestants ask and read, the jury answers and broadcasts.

Contestant side (team members; staff read the jury side):

- ``GET /contests/{slug}/clarifications`` — the team's questions with their answers, messages
  to everyone (and answers the jury made public, without who asked), announcements, the form.
- ``POST /contests/{slug}/clarifications`` — ask (about a problem, or general).
- ``GET /contests/{slug}/clarifications/unread`` — the menu badge (HTMX polls it every 30 s):
  the ids of the jury's messages and announcements this user may read; contest.js compares them
  with the ids already read (``localStorage``) and shows the count and a banner.

Jury side (``require_staff``):

- ``GET /admin/contests/{slug}/clarifications`` — unanswered questions first, the forms;
- ``POST …/clarifications/{id}/answer`` (to the team, or to everyone),
  ``POST …/clarifications/broadcast``, ``POST …/clarifications/announce``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from markupsafe import escape
from sqlmodel import col, func, select

from server.actions import clarifications as clar_actions
from server.actions.errors import ActionError
from server.i18n import gettext as _, ngettext
from server.models import Announcement, Clarification, ContestProblem, Contest, Team, User
from server.web.auth import CurrentUser, is_staff, require_staff, require_user, services_of
from server.web.contestant import (
    _announcements,
    _problem_links,
    _problems_open,
    _team,
    visible_contest,
)
from server.web.forms import errors_of, flash, read_form, redirect

__all__ = ["route_handlers"]


@dataclass
class Thread:
    """What a team reads: its question with the answers, or a jury message (``question`` None;
    ``public_question``: the text of another team's question the jury answered for all)."""

    latest: datetime
    question: Clarification | None = None
    public_question: str | None = None
    replies: list[Clarification] = field(default_factory=list)


async def _labels(request: Request, contest: Contest) -> dict[int, str]:
    async with services_of(request).db.read() as session:
        return {link.problem_id: link.label for link in await session.exec(
            select(ContestProblem).where(ContestProblem.contest_id == contest.id))}


async def _threads(request: Request, contest: Contest, team_id: int | None) -> list[Thread]:
    services = services_of(request)
    rows = await clar_actions.clarifications_for_team(services, contest.id, team_id)  # type: ignore[arg-type]
    own = {row.id: Thread(row.created_at, question=row) for row in rows
           if row.from_team_id is not None}
    others: list[Thread] = []
    foreign = {row.reply_to_id for row in rows if row.from_team_id is None
               and row.reply_to_id is not None and row.reply_to_id not in own}
    public_questions: dict[int, str] = {}
    if foreign:
        async with services.db.read() as session:
            public_questions = {q.id: q.body for q in await session.exec(  # type: ignore[misc]
                select(Clarification).where(col(Clarification.id).in_(foreign)))}
    for row in rows:
        if row.from_team_id is not None:
            continue
        if row.reply_to_id in own:
            thread = own[row.reply_to_id]  # type: ignore[index]
            thread.replies.append(row)
            thread.latest = max(thread.latest, row.created_at)
        else:
            others.append(Thread(row.created_at, public_question=public_questions.get(
                row.reply_to_id) if row.reply_to_id else None, replies=[row]))  # type: ignore[arg-type]
    return sorted([*own.values(), *others], key=lambda t: t.latest, reverse=True)


async def _page(request: Request, contest: Contest, user: User, *,
                form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status_code: int = 200) -> Response[str]:
    from server.web.pages import render

    team = await _team(request, contest, user)
    links = await _problem_links(request, contest) if _problems_open(contest, user) else []
    return await render(
        request, "contest/clarifications.html", contest=contest, team=team,
        threads=await _threads(request, contest, team.id if team else None),
        announcements=await _announcements(request, contest), labels=await _labels(
            request, contest), problems=links, form=form or {}, errors=errors or {},
        status_code=status_code, staff=is_staff(user),
        team_url=f"/contests/{contest.slug}/team")


@get("/contests/{slug:str}/clarifications", include_in_schema=False)
async def clarifications_page(request: Request, slug: FromPath[str], user: CurrentUser
                              ) -> Response[str]:
    me = require_user(user)
    return await _page(request, await visible_contest(request, slug, me), me)


@post("/contests/{slug:str}/clarifications", include_in_schema=False)
async def ask(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    form = await read_form(request)
    team = await _team(request, contest, me)
    if team is None:
        return await _page(request, contest, me, form=form, status_code=403, errors={
            "__all__": _("Only a team can ask: register or join a team first.")})
    try:
        await clar_actions.ask_clarification(
            services_of(request), contest.id, team_id=team.id, user=me,  # type: ignore[arg-type]
            body=form.get("body", ""), problem=form.get("problem") or None)
    except ActionError as exc:
        return await _page(request, contest, me, form=form, errors=errors_of(exc),
                           status_code=exc.status_code)
    flash(request, _("Your question was sent to the jury."), "success")
    return redirect(request, f"/contests/{contest.slug}/clarifications")


@get("/contests/{slug:str}/clarifications/unread", include_in_schema=False)
async def unread_badge(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    """The menu badge: ids of what the jury said to this user's team (or to everyone)."""
    me = require_user(user)
    contest = await visible_contest(request, slug, me)
    team = await _team(request, contest, me)
    rows = await clar_actions.clarifications_for_team(
        services_of(request), contest.id, team.id if team else None)  # type: ignore[arg-type]
    ids = [f"c{row.id}" for row in rows if row.from_team_id is None]
    ids += [f"a{a.id}" for a in await _announcements(request, contest)]
    html = (f'<span class="badge-count" id="clar-unread" data-ids="{",".join(ids)}" '
            f'data-url="/contests/{contest.slug}/clarifications" '
            f'data-banner="{escape(_("New message from the jury"))}" hidden '
            f'hx-get="/contests/{contest.slug}/clarifications/unread" hx-trigger="every 30s" '
            f'hx-swap="outerHTML"></span>')
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-store"})


# -- jury side ----------------------------------------------------------------------------


async def _admin_contest(request: Request, slug: str) -> Contest:
    from server.web.admin.common import admin_contest

    return await admin_contest(request, slug)


async def _admin_page(request: Request, contest: Contest, *, form: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None, status_code: int = 200
                      ) -> Response[str]:
    from server.web.admin.common import render_admin

    services = services_of(request)
    async with services.db.read() as session:
        rows = list(await session.exec(
            select(Clarification).where(Clarification.contest_id == contest.id)
            .order_by(col(Clarification.created_at), col(Clarification.id))))
        teams = {t.id: t for t in await session.exec(
            select(Team).where(Team.contest_id == contest.id))}
        announcements = list(await session.exec(
            select(Announcement).where(Announcement.contest_id == contest.id)
            .order_by(col(Announcement.created_at).desc())))
    replies: dict[int, list[Clarification]] = {}
    for row in rows:
        if row.reply_to_id is not None:
            replies.setdefault(row.reply_to_id, []).append(row)
    questions = [row for row in rows if row.from_team_id is not None]
    questions.sort(key=lambda q: (q.answered, -q.created_at.timestamp()))
    messages = [row for row in rows if row.from_team_id is None and row.reply_to_id is None]
    messages.reverse()
    links = await _problem_links(request, contest)
    return await render_admin(
        request, "admin/clarifications.html", contest=contest, section="clarifications",
        questions=questions, replies=replies, teams=teams, messages=messages,
        announcements=announcements, labels=await _labels(request, contest), problems=links,
        form=form or {}, errors=errors or {}, status_code=status_code,
        unanswered=sum(1 for q in questions if not q.answered),
        last_question=max((q.id for q in questions), default=0))


@get("/admin/contests/{slug:str}/clarifications/new", include_in_schema=False)
async def jury_new_questions(request: Request, slug: FromPath[str], user: CurrentUser,
                             after: FromQuery[int] = 0) -> Response[str]:
    """For the jury page's poll (every 10 s): a notice when questions newer than ``after``
    came in. The page itself is not replaced, so an answer being typed is never lost."""
    require_staff(user)
    contest = await _admin_contest(request, slug)
    async with services_of(request).db.read() as session:
        count = (await session.exec(
            select(func.count()).select_from(Clarification).where(
                Clarification.contest_id == contest.id,
                col(Clarification.from_team_id).is_not(None), Clarification.id > after))).one()
    if not count:
        return Response("", media_type="text/html")
    text = escape(ngettext("%(n)d new question", "%(n)d new questions", count) % {"n": count})
    return Response(f'<p class="flash flash-info" role="status">{text} · '
                    f'<a href="/admin/contests/{contest.slug}/clarifications">'
                    f'{escape(_("Reload"))}</a></p>', media_type="text/html")


@get("/admin/contests/{slug:str}/clarifications", include_in_schema=False)
async def jury_page(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[str]:
    require_staff(user)
    return await _admin_page(request, await _admin_contest(request, slug))


@post("/admin/contests/{slug:str}/clarifications/{clar_id:int}/answer", include_in_schema=False)
async def jury_answer(request: Request, slug: FromPath[str], clar_id: FromPath[int],
                      user: CurrentUser) -> Response[Any]:
    me = require_staff(user)
    contest = await _admin_contest(request, slug)
    form = await read_form(request)
    async with services_of(request).db.read() as session:
        question = await session.get(Clarification, clar_id)
    if question is None or question.contest_id != contest.id:
        raise NotFoundException(_("clarification %(clar_id)s does not exist")
                                % {"clar_id": clar_id})
    try:
        await clar_actions.answer_clarification(
            services_of(request), clar_id, body=form.get("body", ""), actor=me,
            to_everyone=form.get("to") == "all")
    except ActionError as exc:
        return await _admin_page(request, contest, form=form, status_code=exc.status_code,
                                 errors={**errors_of(exc), "form": f"answer-{clar_id}"})
    flash(request, _("The answer was sent to everyone.") if form.get("to") == "all"
          else _("The answer was sent to the team."), "success")
    return redirect(request, f"/admin/contests/{contest.slug}/clarifications")


@post("/admin/contests/{slug:str}/clarifications/broadcast", include_in_schema=False)
async def jury_broadcast(request: Request, slug: FromPath[str], user: CurrentUser
                         ) -> Response[Any]:
    me = require_staff(user)
    contest = await _admin_contest(request, slug)
    form = await read_form(request)
    try:
        await clar_actions.broadcast_clarification(
            services_of(request), contest.id, body=form.get("body", ""), actor=me,  # type: ignore[arg-type]
            problem=form.get("problem") or None)
    except ActionError as exc:
        return await _admin_page(request, contest, form=form, status_code=exc.status_code,
                                 errors={**errors_of(exc), "form": "broadcast"})
    flash(request, _("The clarification was sent to every team."), "success")
    return redirect(request, f"/admin/contests/{contest.slug}/clarifications")


@post("/admin/contests/{slug:str}/clarifications/announce", include_in_schema=False)
async def jury_announce(request: Request, slug: FromPath[str], user: CurrentUser
                        ) -> Response[Any]:
    me = require_staff(user)
    contest = await _admin_contest(request, slug)
    form = await read_form(request)
    try:
        await clar_actions.create_announcement(
            services_of(request), contest.id, title=form.get("title", ""),  # type: ignore[arg-type]
            body=form.get("body", ""), actor=me)
    except ActionError as exc:
        return await _admin_page(request, contest, form=form, status_code=exc.status_code,
                                 errors={**errors_of(exc), "form": "announce"})
    flash(request, _("The announcement is published."), "success")
    return redirect(request, f"/admin/contests/{contest.slug}/clarifications")


route_handlers: list[Any] = [clarifications_page, ask, unread_badge, jury_new_questions,
                             jury_page, jury_answer, jury_broadcast, jury_announce]
