"""Building blocks for tests: a contest with problems, teams and users, through the actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server import actions
from server.models import Contest, Team, User, utcnow
from server.services import Services

__all__ = ["World", "make_world"]


@dataclass
class World:
    contest: Contest
    teams: list[Team]
    users: list[User]
    admin: User
    start: datetime
    tokens: dict[str, str] = field(default_factory=dict)


async def make_world(
    services: Services,
    *,
    slug: str = "spring",
    teams: int = 2,
    problems: tuple[tuple[str, float], ...] = (("A", 100.0), ("B", 200.0)),
    plugins: dict[str, Any] | None = None,
    scoring_rule: str = "points",
    visibility: str = "public",
    freeze: bool = False,
    languages: tuple[str, ...] = ("python3",),
) -> World:
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    end = start + timedelta(hours=6)
    admin = await actions.create_user(services, f"admin-{slug}", password="admin-password",
                                      role="admin")
    contest = await actions.create_contest(
        services, slug=slug, title=f"Contest {slug}", start_at=start, end_at=end,
        freeze_at=start + timedelta(minutes=90) if freeze else None,
        scoring_rule=scoring_rule, plugins=plugins or {}, visibility=visibility, actor=admin)
    for label, points in problems:
        problem_slug = f"{slug}-{label.lower()}"
        await actions.create_problem(services, slug=problem_slug, title=f"Problem {label}")
        await actions.add_contest_problem(services, contest.id, problem_slug, label=label,
                                          points=points)
    for language in languages:
        await actions.enable_language(services, contest.id, language)
    team_rows, users = [], []
    for index in range(teams):
        user = await actions.create_user(services, f"{slug}-user{index}",
                                         password="user-password")
        team = await actions.create_team(services, contest.id, name=f"{slug} team {index}",
                                         member_ids=[user.id])
        team_rows.append(team)
        users.append(user)
    return World(contest=contest, teams=team_rows, users=users, admin=admin, start=start)


async def solve(services: Services, world: World, team: int, label: str, verdict: str,
                minutes: float) -> Any:
    """A submission at ``minutes`` into the contest, judged with ``verdict``."""
    sub = await actions.submit(
        services, contest=world.contest.id, team_id=world.teams[team].id, problem=label,
        language="python3", files={"main.py": b"print(1)\n"}, user=world.users[team],
        trusted=True, at=world.start + timedelta(minutes=minutes))
    if verdict:
        await actions.record_verdict(services, sub.id, verdict, job_key=f"job-{sub.id}")
    return sub
