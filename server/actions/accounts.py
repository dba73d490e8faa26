"""Self-service accounts: signing up, and contestants registering, joining and leaving teams.

The organizer's counterparts (``create_user``, ``create_team``, ``add_team_member``) trust
their caller; these check what a contestant may do on their own: the instance's sign-up mode,
the contest's registration mode and code, one team per user per contest, joining by code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import col, func, select

from server.actions.base import audit, contest_by_ref, emit, get_or_404, unit_of_work
from server.actions.errors import Conflict, Forbidden, Invalid, NotFound
from server.actions.standings import refresh_teams
from server.actions.teams import create_team
from server.actions.users import create_user
from server.i18n import N_
from server.models import Contest, RegistrationMode, Role, Team, TeamMember, User, utcnow
from server.services import Services

__all__ = [
    "MAX_TEAM_SIZE",
    "contest_code_hash",
    "join_team",
    "leave_team",
    "new_join_code",
    "register_team",
    "sign_up",
    "team_of_user",
]

MAX_TEAM_SIZE = 3
"""Members a self-registered team may have (ICPC's three)."""

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_join_code() -> str:
    """A code like ``K7QM-3XPA``: easy to read aloud, 40 bits."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def _normalise_code(code: str) -> str:
    code = code.strip().upper().replace(" ", "")
    if len(code) == 8 and "-" not in code:
        code = f"{code[:4]}-{code[4:]}"
    return code


def contest_code_hash(code: str) -> str:
    """How a contest's registration code is stored (SHA-256 of the stripped code)."""
    return hashlib.sha256(code.strip().encode()).hexdigest()


async def sign_up(
    services: Services,
    *,
    username: str,
    password: str,
    display_name: str = "",
    email: str | None = None,
    invite_code: str = "",
) -> User:
    """Create a contestant account from the sign-up page, as the instance's mode allows."""
    mode = services.settings.registration
    if mode == "closed":
        raise Forbidden(N_("sign-up is closed on this server: ask an organizer for an account"))
    if mode == "invite":
        expected = services.settings.invite_code
        if expected is None or not hmac.compare_digest(
                invite_code.strip().encode(), expected.get_secret_value().strip().encode()):
            raise Invalid(N_("this invite code is not valid"), field="invite_code")
    email = (email or "").strip() or None
    if email is not None and ("@" not in email or len(email) > 255):
        raise Invalid(N_("enter a valid e-mail address (or leave it empty)"), field="email")
    return await create_user(services, username.strip(), password=password, email=email,
                             display_name=display_name.strip(), role=Role.CONTESTANT.value)


async def team_of_user(services: Services, contest_id: int, user_id: int) -> Team | None:
    async with services.db.read() as session:
        return (await session.exec(
            select(Team).join(TeamMember, TeamMember.team_id == Team.id)  # type: ignore[arg-type]
            .where(TeamMember.contest_id == contest_id, TeamMember.user_id == user_id))).first()


def _check_registration(contest: Contest, code: str) -> None:
    mode = contest.registration_mode
    if mode in (RegistrationMode.OPEN.value, RegistrationMode.APPROVAL.value):
        return
    if mode == RegistrationMode.CODE.value:
        given = contest_code_hash(code) if code.strip() else ""
        if not contest.registration_code_hash or not hmac.compare_digest(
                given, contest.registration_code_hash):
            raise Invalid(N_("this registration code is not valid"), field="registration_code")
        return
    raise Forbidden(N_("registration for this contest is closed: ask an organizer"))


async def register_team(
    services: Services,
    contest_ref: int | str,
    user: User,
    *,
    name: str,
    registration_code: str = "",
) -> Team:
    """A contestant creates a team (and becomes its captain); teammates join with its code.

    In a contest with registration by approval the team waits, hidden and inactive, until an
    organizer approves it (it cannot submit before)."""
    async with services.db.session() as session:
        contest = await contest_by_ref(session, contest_ref)
    if contest.state_at(utcnow()).value in {"ended", "unfrozen"}:
        raise Forbidden(N_("this contest has ended"))
    _check_registration(contest, registration_code)
    assert contest.id is not None and user.id is not None
    if await team_of_user(services, contest.id, user.id) is not None:
        raise Conflict(N_("you are already in a team of this contest"), field="name")
    approval = contest.registration_mode == RegistrationMode.APPROVAL.value
    team = await create_team(services, contest.id, name=name, member_ids=[user.id], actor=user,
                             hidden=approval)
    async with unit_of_work(services) as session:
        row = await get_or_404(session, Team, team.id, "team")
        if approval:
            row.is_active = False
        for _ in range(5):  # a clash of 40-bit codes is unlikely; retry a few times anyway
            code = new_join_code()
            taken = (await session.exec(select(Team.id).where(Team.join_code == code))).first()
            if taken is None:
                row.join_code = code
                break
        session.add(row)
    team.join_code, team.is_active = row.join_code, row.is_active
    return team


async def join_team(services: Services, contest_ref: int | str, user: User, *, code: str) -> Team:
    """Join the contest's team whose join code this is."""
    code = _normalise_code(code)
    if not code:
        raise Invalid(N_("enter the team's join code"), field="code")
    assert user.id is not None
    async with unit_of_work(
            services, conflict=N_("you are already in a team of this contest")) as session:
        contest = await contest_by_ref(session, contest_ref)
        if contest.state_at(utcnow()).value in {"ended", "unfrozen"}:
            raise Forbidden(N_("this contest has ended"))
        if contest.registration_mode == RegistrationMode.CLOSED.value:
            raise Forbidden(N_("registration for this contest is closed: ask an organizer"))
        team = (await session.exec(select(Team).where(
            Team.contest_id == contest.id, Team.join_code == code))).first()
        if team is None:
            raise NotFound(N_("no team of this contest has this join code"), field="code")
        mine = (await session.exec(select(TeamMember).where(
            TeamMember.contest_id == contest.id, TeamMember.user_id == user.id))).first()
        if mine is not None:
            raise Conflict(N_("you are already in a team of this contest: leave it first"),
                           field="code")
        size = (await session.exec(select(func.count()).select_from(TeamMember).where(
            TeamMember.team_id == team.id))).one()
        if size >= MAX_TEAM_SIZE:
            raise Conflict(N_("team %(team_name)r is full (%(max_team_size)s members)"),
                           team_name=team.name, max_team_size=MAX_TEAM_SIZE, field="code")
        session.add(TeamMember(contest_id=contest.id, team_id=team.id, user_id=user.id))  # type: ignore[arg-type]
        audit(session, actor=user, action="team.member.join", object_type="team",
              object_id=team.id, contest_id=contest.id, data={"user_id": user.id})
    await emit(services, contest, "team.member", {"team_id": team.id, "user_id": user.id})
    return team


async def leave_team(services: Services, contest_ref: int | str, user: User) -> None:
    """Leave one's team. A team left empty without submissions is deleted; a team with
    submissions stays (its results belong to the contest) and keeps its other members."""
    from server.models import Submission  # local: the judging models are big

    assert user.id is not None
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, contest_ref)
        member = (await session.exec(select(TeamMember).where(
            TeamMember.contest_id == contest.id, TeamMember.user_id == user.id))).first()
        if member is None:
            raise NotFound(N_("you are not in a team of this contest"))
        team_id = member.team_id
        await session.delete(member)
        await session.flush()
        left = (await session.exec(select(TeamMember).where(
            TeamMember.team_id == team_id).order_by(col(TeamMember.id)))).all()
        submitted = (await session.exec(select(Submission.id).where(
            Submission.team_id == team_id).limit(1))).first()
        deleted = False
        if not left and submitted is None:
            team = await get_or_404(session, Team, team_id, "team")
            await session.delete(team)
            deleted = True
        elif left and member.is_captain:
            left[0].is_captain = True
            session.add(left[0])
        audit(session, actor=user, action="team.member.leave", object_type="team",
              object_id=team_id, contest_id=contest.id,
              data={"user_id": user.id, "team_deleted": deleted})
    await emit(services, contest, "team.member", {"team_id": team_id, "user_id": user.id,
                                                  "left": True})
    if deleted:  # every row: the index and the live boards drop the team
        await refresh_teams(services, contest.id, None)  # type: ignore[arg-type]
