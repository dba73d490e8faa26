"""Affiliations, groups, teams and membership."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, contest_by_ref, emit, get_or_404, publish, unit_of_work
from server.actions.errors import Conflict, Invalid, NotFound
from server.actions.standings import refresh_teams
from server.i18n import N_
from server.models import (
    Affiliation,
    Contest,
    Group,
    GroupKind,
    Team,
    TeamGroup,
    TeamMember,
    User,
)
from server.services import Services

__all__ = [
    "change_team",
    "add_affiliation",
    "add_group",
    "add_team",
    "join_team",
    "add_team_member",
    "create_affiliation",
    "create_group",
    "create_team",
    "remove_team_member",
    "update_team",
]


def _name(value: str, field: str = "name", limit: int = 128) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise Invalid(N_("%(field_name)s must be 1-%(limit)s characters"),
                      field_name=field, limit=limit, field=field)
    return value


async def create_affiliation(
    services: Services,
    *,
    name: str,
    short_name: str = "",
    country: str | None = None,
    external_id: str | None = None,
    actor: User | None = None,
) -> Affiliation:
    if country is not None and (len(country) != 3 or not country.isalpha()):
        raise Invalid(N_("country must be an ISO 3166-1 alpha-3 code"), field="country")
    async with unit_of_work(services, conflict=N_("an affiliation with this id exists")) as session:
        affiliation = await add_affiliation(session, name=name, short_name=short_name,
                                            country=country, external_id=external_id,
                                            actor=actor)
    await publish(services, "affiliation.created", {"id": affiliation.id})
    return affiliation


async def create_group(
    services: Services,
    *,
    name: str,
    kind: str = GroupKind.CATEGORY.value,
    contest: int | str | None = None,
    parent_id: int | None = None,
    hidden: bool = False,
    external_id: str | None = None,
    actor: User | None = None,
) -> Group:
    if kind not in {k.value for k in GroupKind}:
        raise Invalid(N_("kind must be one of %(choices)s"),
                      choices=', '.join(k.value for k in GroupKind), field="kind")
    async with unit_of_work(services, conflict=(N_("group %(name)r already exists"),
                                                {"name": name})) as session:
        contest_id = (await contest_by_ref(session, contest)).id if contest is not None else None
        if parent_id is not None:
            await get_or_404(session, Group, parent_id, "parent group")
        group = await add_group(session, name=name, kind=kind, contest_id=contest_id,
                                parent_id=parent_id, hidden=hidden, external_id=external_id,
                                actor=actor)
    await publish(services, "group.created", {"id": group.id}, contest_id=contest_id)
    return group


async def add_affiliation(session: AsyncSession, *, name: str, short_name: str = "",
                          country: str | None = None, external_id: str | None = None,
                          actor: User | None = None) -> Affiliation:
    """Store an affiliation and its audit entry in the caller's transaction (the caller
    publishes ``affiliation.created`` after the commit)."""
    affiliation = Affiliation(name=_name(name, limit=255), short_name=short_name,
                              country=country.upper() if country else None,
                              external_id=external_id)
    session.add(affiliation)
    await session.flush()
    audit(session, actor=actor, action="affiliation.create", object_type="affiliation",
          object_id=affiliation.id, data={"name": affiliation.name})
    return affiliation


async def add_group(session: AsyncSession, *, name: str, kind: str = GroupKind.CATEGORY.value,
                    contest_id: int | None = None, parent_id: int | None = None,
                    hidden: bool = False, external_id: str | None = None,
                    actor: User | None = None) -> Group:
    """Store a group and its audit entry in the caller's transaction (the caller publishes
    ``group.created`` after the commit)."""
    group = Group(name=_name(name), kind=kind, contest_id=contest_id, parent_id=parent_id,
                  hidden=hidden, external_id=external_id)
    session.add(group)
    await session.flush()
    audit(session, actor=actor, action="group.create", object_type="group",
          object_id=group.id, contest_id=contest_id, data={"name": group.name, "kind": kind})
    return group


async def _join(session, contest: Contest, team: Team, user_id: int, captain: bool) -> None:  # type: ignore[no-untyped-def]
    await get_or_404(session, User, user_id, "user")
    existing = (await session.exec(select(TeamMember).where(
        TeamMember.contest_id == contest.id, TeamMember.user_id == user_id))).first()
    if existing is not None:
        raise Conflict(N_("user %(user_id)s is already in a team of contest %(contest)r"),
                       user_id=user_id, contest=contest.slug)
    session.add(TeamMember(contest_id=contest.id, team_id=team.id, user_id=user_id,
                           is_captain=captain))


async def create_team(
    services: Services,
    contest_ref: int | str,
    *,
    name: str,
    display_name: str = "",
    affiliation_id: int | None = None,
    group_ids: Sequence[int] = (),
    member_ids: Sequence[int] = (),
    hidden: bool = False,
    external_id: str | None = None,
    actor: User | None = None,
) -> Team:
    """A team in a contest, with its groups and members (the first member is the captain)."""
    async with unit_of_work(services, conflict=(N_("team %(name)r already exists"),
                                                {"name": name})) as session:
        contest = await contest_by_ref(session, contest_ref)
        team = await add_team(session, contest, name=name, display_name=display_name,
                              affiliation_id=affiliation_id, group_ids=group_ids,
                              member_ids=member_ids, hidden=hidden, external_id=external_id,
                              actor=actor)
    await emit(services, contest, "team.created", {"id": team.id, "name": team.name})
    await refresh_teams(services, contest.id, [team.id])  # type: ignore[arg-type,list-item]
    return team


async def add_team(session: AsyncSession, contest: Contest, *, name: str,
                   display_name: str = "", affiliation_id: int | None = None,
                   group_ids: Sequence[int] = (), member_ids: Sequence[int] = (),
                   hidden: bool = False, external_id: str | None = None,
                   actor: User | None = None) -> Team:
    """Store a team with its groups and members (the first is the captain) and its audit
    entry in the caller's transaction; the caller emits ``team.created`` and refreshes the
    standings after the commit."""
    if affiliation_id is not None:
        await get_or_404(session, Affiliation, affiliation_id, "affiliation")
    team = Team(contest_id=contest.id, name=_name(name), display_name=display_name.strip(),
                affiliation_id=affiliation_id, hidden=hidden, external_id=external_id)
    session.add(team)
    await session.flush()
    for group_id in dict.fromkeys(group_ids):
        group = await get_or_404(session, Group, group_id, "group")
        if group.contest_id not in (None, contest.id):
            raise Invalid(N_("group %(group_id)s belongs to another contest"),
                          group_id=group_id, field="group_ids")
        session.add(TeamGroup(team_id=team.id, group_id=group_id))
    for position, user_id in enumerate(dict.fromkeys(member_ids)):
        await _join(session, contest, team, user_id, captain=position == 0)
    audit(session, actor=actor, action="team.create", object_type="team", object_id=team.id,
          contest_id=contest.id, data={"name": team.name, "members": list(member_ids)})
    return team


async def join_team(session: AsyncSession, contest: Contest, team: Team, user_id: int, *,
                    captain: bool = False, actor: User | None = None) -> None:
    """Add a member and the audit entry in the caller's transaction (the caller emits
    ``team.member`` after the commit)."""
    await _join(session, contest, team, user_id, captain)
    audit(session, actor=actor, action="team.member.add", object_type="team",
          object_id=team.id, contest_id=contest.id, data={"user_id": user_id})


async def add_team_member(
    services: Services, team_id: int, user_id: int, *, captain: bool = False,
    actor: User | None = None,
) -> None:
    async with unit_of_work(services) as session:
        team = await get_or_404(session, Team, team_id, "team")
        contest = await get_or_404(session, Contest, team.contest_id, "contest")
        await join_team(session, contest, team, user_id, captain=captain, actor=actor)
    await emit(services, contest, "team.member", {"team_id": team_id, "user_id": user_id})


_KEEP: Any = object()
"""``update_team``'s default: leave the field as it is."""


async def update_team(
    services: Services,
    team_id: int,
    *,
    name: str | None = None,
    display_name: str | None = None,
    hidden: bool | None = None,
    is_active: bool | None = None,
    affiliation_id: Any = _KEEP,
    group_ids: Sequence[int] | None = None,
    actor: User | None = None,
) -> Team:
    """Change a team's names, hidden flag, affiliation (None: none) or groups (the full set);
    a field left out keeps its value. The contest's standings follow."""
    async with unit_of_work(services, conflict=(N_("team %(name)r already exists"),
                                                {"name": name})) as session:
        team = await get_or_404(session, Team, team_id, "team")
        contest = await get_or_404(session, Contest, team.contest_id, "contest")
        changes = await change_team(session, contest, team, name=name,
                                    display_name=display_name, hidden=hidden,
                                    is_active=is_active, affiliation_id=affiliation_id,
                                    group_ids=group_ids, actor=actor)
    if changes:
        await emit(services, contest, "team.updated", {"id": team_id, **changes})
        await refresh_teams(services, contest.id,  # type: ignore[arg-type]
                            None if "hidden" in changes else [team_id])
    return team


async def change_team(
    session: AsyncSession,
    contest: Contest,
    team: Team,
    *,
    name: str | None = None,
    display_name: str | None = None,
    hidden: bool | None = None,
    is_active: bool | None = None,
    affiliation_id: Any = _KEEP,
    group_ids: Sequence[int] | None = None,
    actor: User | None = None,
) -> dict[str, Any]:
    """Store a team's changed fields (as :func:`update_team` takes them) and the audit entry
    in the caller's transaction; returns what changed (the caller emits ``team.updated`` and
    refreshes the standings after the commit)."""
    team_id = team.id
    changes: dict[str, Any] = {}
    if name is not None and _name(name) != team.name:
        changes["name"] = team.name = _name(name)
    if display_name is not None and display_name.strip() != team.display_name:
        changes["display_name"] = team.display_name = display_name.strip()[:255]
    if hidden is not None and hidden != team.hidden:
        changes["hidden"] = team.hidden = hidden
    if is_active is not None and is_active != team.is_active:
        changes["is_active"] = team.is_active = is_active
    if affiliation_id is not _KEEP and affiliation_id != team.affiliation_id:
        if affiliation_id is not None:
            await get_or_404(session, Affiliation, affiliation_id, "affiliation")
        changes["affiliation_id"] = team.affiliation_id = affiliation_id
    if group_ids is not None:
        wanted = list(dict.fromkeys(group_ids))
        links = list(await session.exec(select(TeamGroup).where(TeamGroup.team_id == team_id)))
        if sorted(link.group_id for link in links) != sorted(wanted):
            for group_id in wanted:
                group = await get_or_404(session, Group, group_id, "group")
                if group.contest_id not in (None, contest.id):
                    raise Invalid(N_("group %(group_id)s belongs to another contest"),
                                  group_id=group_id,
                                  field="group_ids")
            for link in links:
                await session.delete(link)
            await session.flush()
            for group_id in wanted:
                session.add(TeamGroup(team_id=team_id, group_id=group_id))
            changes["group_ids"] = wanted
    if changes:
        session.add(team)
        audit(session, actor=actor, action="team.update", object_type="team",
              object_id=team_id, contest_id=contest.id, data=changes)
    return changes


async def remove_team_member(
    services: Services, team_id: int, user_id: int, *, actor: User | None = None,
) -> None:
    """Take a user out of a team (the team and its submissions stay; if the captain leaves,
    the next member becomes captain)."""
    async with unit_of_work(services) as session:
        team = await get_or_404(session, Team, team_id, "team")
        contest = await get_or_404(session, Contest, team.contest_id, "contest")
        member = (await session.exec(select(TeamMember).where(
            TeamMember.team_id == team_id, TeamMember.user_id == user_id))).first()
        if member is None:
            raise NotFound(N_("user %(user_id)s is not in team %(team_name)r"),
                           user_id=user_id, team_name=team.name)
        await session.delete(member)
        await session.flush()
        if member.is_captain:
            rest = (await session.exec(select(TeamMember).where(
                TeamMember.team_id == team_id).order_by(TeamMember.id))).first()  # type: ignore[arg-type]
            if rest is not None:
                rest.is_captain = True
                session.add(rest)
        audit(session, actor=actor, action="team.member.remove", object_type="team",
              object_id=team_id, contest_id=contest.id, data={"user_id": user_id})
    await emit(services, contest, "team.member", {"team_id": team_id, "user_id": user_id,
                                                  "left": True})
