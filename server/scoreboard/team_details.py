"""What a spectator's scoreboard shows about teams besides their results: their groups (for
the group filter) and their affiliation.

Read once per live refresh (one select each for groups, team links and affiliations); only
groups that are not hidden are ever named, and a team's groups include the ancestors of its
groups (filtering by a division shows the teams of its sub-groups too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.db import Database

__all__ = ["TeamDetails", "team_details"]

TeamDetails = tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]
"""``(groups, teams)``: the groups named on the board (``id``, ``name``, ``kind``, in their
display order) and, per team id, ``{"groups": [group ids], "affiliation": name}``."""


async def team_details(db: Database, contest_id: int) -> TeamDetails:
    """The public groups and affiliation of every team of a contest."""
    from sqlmodel import col, select

    from server.models import Affiliation, Group, Team, TeamGroup

    async with db.session() as session:
        conn = await session.connection()
        links = (await conn.execute(
            select(TeamGroup.team_id, TeamGroup.group_id)
            .join(Team, col(Team.id) == col(TeamGroup.team_id))
            .where(Team.contest_id == contest_id))).all()
        affiliations = (await conn.execute(
            select(Team.id, Affiliation.short_name, Affiliation.name)
            .join(Affiliation, col(Affiliation.id) == col(Team.affiliation_id))
            .where(Team.contest_id == contest_id))).all()
        groups = {} if not links else {
            row.id: row for row in (await conn.execute(
                select(Group.id, Group.name, Group.kind, Group.parent_id, Group.hidden,
                       Group.sort_order)
                .where(col(Group.contest_id).is_(None) | (Group.contest_id == contest_id))
            )).all()}

    def lineage(group_id: int) -> list[int]:
        seen: list[int] = []
        while group_id in groups and group_id not in seen:
            seen.append(group_id)
            group_id = groups[group_id].parent_id
        return [g for g in seen if not groups[g].hidden]

    teams: dict[int, dict[str, Any]] = {}
    used: set[int] = set()
    for team_id, group_id in links:
        entry = teams.setdefault(team_id, {"groups": [], "affiliation": ""})
        for g in lineage(group_id):
            if g not in entry["groups"]:
                entry["groups"].append(g)
                used.add(g)
    for team_id, short_name, name in affiliations:
        teams.setdefault(team_id, {"groups": [], "affiliation": ""})["affiliation"] = (
            short_name or name)
    for entry in teams.values():
        entry["groups"].sort()
    catalog = [{"id": g.id, "name": g.name, "kind": g.kind}
               for g in sorted((groups[g] for g in used),
                               key=lambda g: (g.sort_order, g.name.lower(), g.id))]
    return catalog, teams
