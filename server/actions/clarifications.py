"""Clarifications and announcements: teams ask, the jury answers (privately or to everyone),
broadcasts and announces.

A question is a :class:`Clarification` with ``from_team_id`` set. The jury's answer is another
row with ``reply_to_id`` pointing at the question, ``from_team_id`` null and ``to_team_id`` the
asking team (a private answer) or null (an answer to everyone). A jury message that answers
nothing is a broadcast (``to_team_id`` null) or a message to one team.

Events (topic ``contest:<id>``) carry ids and recipients, never the text: a bus subscriber
serving one team must read the row and check that the team may see it.
"""

from __future__ import annotations

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, contest_by_ref, emit, get_or_404, unit_of_work
from server.actions.errors import Forbidden, Invalid, NotFound
from server.i18n import N_
from server.models import (
    Announcement,
    Clarification,
    Contest,
    ContestProblem,
    Role,
    Team,
    TeamMember,
    User,
)
from server.services import Services

__all__ = [
    "MAX_BODY",
    "answer_clarification",
    "ask_clarification",
    "broadcast_clarification",
    "clarifications_for_team",
    "create_announcement",
    "visible_to_team",
]

MAX_BODY = 5000
MAX_TITLE = 255
STAFF = {Role.ADMIN.value, Role.ORGANIZER.value, Role.JURY.value}


def _body(text: str, field: str = "body") -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if not text:
        raise Invalid(N_("write a message"), field=field)
    if len(text) > MAX_BODY:
        raise Invalid(N_("at most %(max_body)s characters"), max_body=MAX_BODY, field=field)
    return text


async def _problem_id(session: AsyncSession, contest: Contest, label: str | None) -> int | None:
    if not label:
        return None
    link = (await session.exec(select(ContestProblem).where(
        ContestProblem.contest_id == contest.id, ContestProblem.label == label))).first()
    if link is None:
        raise Invalid(N_("problem %(label)r is not in this contest"), label=label, field="problem")
    return link.problem_id


def _require_staff(actor: User | None) -> User:
    if actor is None or actor.role not in STAFF:
        raise Forbidden(N_("only the jury answers clarifications"))
    return actor


def visible_to_team(clar: Clarification, team_id: int | None) -> bool:
    """Whether a team may read this row: its own questions, answers to it, and messages to
    everyone."""
    if clar.from_team_id is not None:
        return team_id is not None and clar.from_team_id == team_id
    return clar.to_team_id is None or clar.to_team_id == team_id


async def ask_clarification(
    services: Services, contest: int | str, *, team_id: int, user: User, body: str,
    problem: str | None = None,
) -> Clarification:
    """A team's question (about a problem label, or general when ``problem`` is empty)."""
    text = _body(body)
    async with unit_of_work(services) as session:
        the_contest = await contest_by_ref(session, contest)
        team = await get_or_404(session, Team, team_id, "team")
        if team.contest_id != the_contest.id:
            raise NotFound(N_("team %(team_id)s is not in contest %(contest)r"),
                           team_id=team_id, contest=the_contest.slug)
        if user.role not in STAFF:
            member = (await session.exec(select(TeamMember).where(
                TeamMember.team_id == team_id, TeamMember.user_id == user.id))).first()
            if member is None:
                raise Forbidden(N_("you are not a member of this team"))
        problem_id = await _problem_id(session, the_contest, problem)
        clar = Clarification(contest_id=the_contest.id, from_team_id=team_id,
                             problem_id=problem_id, author_id=user.id,
                             category="problem" if problem_id else "general", body=text)
        session.add(clar)
        await session.flush()
        audit(session, actor=user, action="clarification.ask", object_type="clarification",
              object_id=clar.id, contest_id=the_contest.id,
              data={"team_id": team_id, "problem": problem or None})
    await emit(services, the_contest, "clarification.created",
               {"id": clar.id, "from_team_id": team_id, "to_team_id": None,
                "reply_to_id": None})
    return clar


async def answer_clarification(
    services: Services, question_id: int, *, body: str, actor: User | None,
    to_everyone: bool = False,
) -> Clarification:
    """The jury's answer to a question: to the asking team, or to everyone (the question's
    text is then shown to every team, never who asked)."""
    actor = _require_staff(actor)
    text = _body(body)
    async with unit_of_work(services) as session:
        question = await get_or_404(session, Clarification, question_id, "clarification")
        if question.from_team_id is None:
            raise Invalid(N_("that is a jury message, not a question"), field="body")
        contest = await get_or_404(session, Contest, question.contest_id, "contest")
        reply = Clarification(contest_id=contest.id, from_team_id=None,
                              to_team_id=None if to_everyone else question.from_team_id,
                              problem_id=question.problem_id, reply_to_id=question.id,
                              author_id=actor.id, category=question.category, body=text,
                              answered=True)
        session.add(reply)
        question.answered = True
        session.add(question)
        await session.flush()
        audit(session, actor=actor, action="clarification.answer",
              object_type="clarification", object_id=reply.id, contest_id=contest.id,
              data={"question_id": question.id, "to_everyone": to_everyone,
                    "team_id": question.from_team_id})
    await emit(services, contest, "clarification.created",
               {"id": reply.id, "from_team_id": None, "to_team_id": reply.to_team_id,
                "reply_to_id": question.id})
    return reply


async def broadcast_clarification(
    services: Services, contest: int | str, *, body: str, actor: User | None,
    problem: str | None = None, to_team_id: int | None = None,
) -> Clarification:
    """A jury message that answers no question: to every team, or to one."""
    actor = _require_staff(actor)
    text = _body(body)
    async with unit_of_work(services) as session:
        the_contest = await contest_by_ref(session, contest)
        if to_team_id is not None:
            team = await get_or_404(session, Team, to_team_id, "team")
            if team.contest_id != the_contest.id:
                raise NotFound(N_("team %(to_team_id)s is not in contest %(contest)r"),
                               to_team_id=to_team_id, contest=the_contest.slug)
        problem_id = await _problem_id(session, the_contest, problem)
        clar = Clarification(contest_id=the_contest.id, from_team_id=None, to_team_id=to_team_id,
                             problem_id=problem_id, author_id=actor.id,
                             category="problem" if problem_id else "general", body=text,
                             answered=True)
        session.add(clar)
        await session.flush()
        audit(session, actor=actor, action="clarification.broadcast",
              object_type="clarification", object_id=clar.id, contest_id=the_contest.id,
              data={"to_team_id": to_team_id, "problem": problem or None})
    await emit(services, the_contest, "clarification.created",
               {"id": clar.id, "from_team_id": None, "to_team_id": to_team_id,
                "reply_to_id": None})
    return clar


async def create_announcement(
    services: Services, contest: int | str, *, title: str, body: str = "",
    actor: User | None,
) -> Announcement:
    """An announcement of the jury, shown on the contest home and with the clarifications."""
    actor = _require_staff(actor)
    title = (title or "").strip()
    if not title:
        raise Invalid(N_("give the announcement a title"), field="title")
    if len(title) > MAX_TITLE:
        raise Invalid(N_("at most %(max_title)s characters"), max_title=MAX_TITLE, field="title")
    text = (body or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_BODY:
        raise Invalid(N_("at most %(max_body)s characters"), max_body=MAX_BODY, field="body")
    async with unit_of_work(services) as session:
        the_contest = await contest_by_ref(session, contest)
        row = Announcement(contest_id=the_contest.id, author_id=actor.id, title=title,
                           body=text)
        session.add(row)
        await session.flush()
        audit(session, actor=actor, action="announcement.create", object_type="announcement",
              object_id=row.id, contest_id=the_contest.id, data={"title": title})
    await emit(services, the_contest, "announcement.created", {"id": row.id})
    return row


async def clarifications_for_team(
    services: Services, contest_id: int, team_id: int | None,
) -> list[Clarification]:
    """Every row a team may read, oldest first (``team_id`` None: messages to everyone)."""
    visible = (col(Clarification.from_team_id).is_(None)
               & col(Clarification.to_team_id).is_(None))
    if team_id is not None:
        visible = or_(visible, Clarification.from_team_id == team_id,
                      Clarification.to_team_id == team_id)
    async with services.db.read() as session:
        return list(await session.exec(
            select(Clarification).where(Clarification.contest_id == contest_id, visible)
            .order_by(col(Clarification.created_at), col(Clarification.id))))
