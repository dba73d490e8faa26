"""The contest as an ICPC Contest API event feed (2023-06 notification format).

One event per object, in the order a consumer needs them: contest, judgement types, problems,
groups, organisations, teams, submissions, judgements, state. Ids are the imported feed's when
the object came from one (so an imported feed exports with its own ids), else ours.

The public feed never leaks the freeze: while the public board is frozen, judgements of
submissions made after the freeze are left out (their submissions stay, as pending), hidden
teams and their submissions are left out, and ``state`` says ``frozen`` without ``thawed``. The
jury feed has everything. The feed is a snapshot of the current state (``podium contest
import-feed`` reads it back).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from server.actions.base import contest_by_ref
from server.components import Verdict
from server.models import (
    Affiliation,
    ContestProblem,
    Group,
    Judging,
    Problem,
    Submission,
    Team,
    TeamGroup,
    utcnow,
)
from server.services import Services

__all__ = ["event_feed", "reltime_text"]

_JUDGEMENT_TYPES = [
    {"id": "AC", "name": "correct", "penalty": False, "solved": True},
    {"id": "WA", "name": "wrong answer", "penalty": True, "solved": False},
    {"id": "TLE", "name": "timelimit", "penalty": True, "solved": False},
    {"id": "MLE", "name": "memory limit", "penalty": True, "solved": False},
    {"id": "RTE", "name": "run error", "penalty": True, "solved": False},
    {"id": "OLE", "name": "output limit", "penalty": True, "solved": False},
    {"id": "CE", "name": "compiler error", "penalty": False, "solved": False},
    {"id": "JE", "name": "judging error", "penalty": False, "solved": False},
]


def reltime_text(delta: timedelta) -> str:
    """A Contest API RELTIME: ``(-)h:mm:ss.uuu``."""
    millis = round(delta.total_seconds() * 1000)
    sign = "-" if millis < 0 else ""
    millis = abs(millis)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{sign}{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value is not None else None


def _event(kind: str, ident: str | None, data: Any, number: int) -> dict[str, Any]:
    return {"type": kind, "id": ident, "data": data, "token": str(number)}


async def event_feed(services: Services, ref: int | str, *, jury: bool) -> list[dict[str, Any]]:
    """The contest's events; ``jury=False`` gives the public (freeze-respecting) feed."""
    now = utcnow()
    async with services.db.session() as session:
        contest = await contest_by_ref(session, ref)
        frozen = not jury and contest.is_frozen_at(now)
        links = list(await session.exec(
            select(ContestProblem, Problem)
            .join(Problem, col(Problem.id) == ContestProblem.problem_id)
            .where(ContestProblem.contest_id == contest.id)
            .order_by(col(ContestProblem.ordinal), col(ContestProblem.label))))
        teams = [t for t in await session.exec(
            select(Team).where(Team.contest_id == contest.id).order_by(col(Team.id)))
            if jury or not t.hidden]
        team_groups: dict[int, list[int]] = {}
        for link in await session.exec(select(TeamGroup).where(
                col(TeamGroup.team_id).in_([t.id for t in teams]))):
            team_groups.setdefault(link.team_id, []).append(link.group_id)
        group_ids = {g for ids in team_groups.values() for g in ids}
        groups = list(await session.exec(select(Group).where(col(Group.id).in_(group_ids))))
        if not jury:
            hidden_groups = {g.id for g in groups if g.hidden}
            groups = [g for g in groups if not g.hidden]
            teams = [t for t in teams if not hidden_groups & set(team_groups.get(t.id, []))]  # type: ignore[arg-type]
        org_ids = {t.affiliation_id for t in teams if t.affiliation_id is not None}
        orgs = list(await session.exec(select(Affiliation).where(col(Affiliation.id).in_(org_ids))))
        team_ids = {t.id for t in teams}
        visible_until = contest.end_at if not frozen else contest.freeze_at
        submissions = [s for s in await session.exec(
            select(Submission).where(Submission.contest_id == contest.id)
            .order_by(col(Submission.submitted_at), col(Submission.id)))
            if s.team_id in team_ids and (jury or s.submitted_at < contest.end_at)]
        current = {j.submission_id: j for j in await session.exec(
            select(Judging).where(col(Judging.submission_id).in_([s.id for s in submissions]),
                                  col(Judging.is_current).is_(True)))}
    team_key = {t.id: t.external_id or str(t.id) for t in teams}
    problem_key = {cp.problem_id: cp.external_id or cp.label for cp, _ in links}

    def events() -> Iterator[tuple[str, str | None, Any]]:
        info: dict[str, Any] = {
            "id": contest.external_id or contest.slug, "name": contest.slug,
            "formal_name": contest.title, "start_time": _iso(contest.start_at),
            "duration": reltime_text(contest.end_at - contest.start_at),
            "scoreboard_type": "pass-fail" if contest.scoring_rule == "icpc" else "score",
        }
        if contest.freeze_at is not None:
            info["scoreboard_freeze_duration"] = reltime_text(contest.end_at - contest.freeze_at)
        penalty = (contest.scoring_settings or {}).get("penalty_minutes")
        if contest.scoring_rule == "icpc":
            info["penalty_time"] = penalty if isinstance(penalty, int) else 20
        yield "contest", None, info
        for jt in _JUDGEMENT_TYPES:
            yield "judgement-types", jt["id"], jt
        for cp, problem in links:
            data = {"id": problem_key[cp.problem_id], "label": cp.label, "name": problem.title,
                    "ordinal": cp.ordinal, "time_limit": problem.time_limit_ms / 1000}
            if cp.color:
                data["rgb"] = cp.color
            yield "problems", data["id"], data
        for group in groups:
            data = {"id": group.external_id or str(group.id), "name": group.name,
                    "hidden": group.hidden}
            yield "groups", data["id"], data
        for org in orgs:
            yield "organizations", str(org.id), {"id": str(org.id), "name": org.short_name
                                                  or org.name, "formal_name": org.name}
        group_key = {g.id: g.external_id or str(g.id) for g in groups}
        for team in teams:
            data = {"id": team_key[team.id], "name": team.name,
                    "display_name": team.display_name or None, "hidden": team.hidden,
                    "group_ids": [group_key[g] for g in team_groups.get(team.id, [])  # type: ignore[index]
                                  if g in group_key],
                    "organization_id": str(team.affiliation_id)
                    if team.affiliation_id is not None else None}
            yield "teams", data["id"], data
        for sub in submissions:
            key = sub.external_id or str(sub.id)
            yield "submissions", key, {
                "id": key, "team_id": team_key[sub.team_id],
                "problem_id": problem_key.get(sub.problem_id, str(sub.problem_id)),
                "language_id": sub.language, "time": _iso(sub.submitted_at),
                "contest_time": reltime_text(sub.submitted_at - contest.start_at)}
        for sub in submissions:
            judging = current.get(sub.id)
            if judging is None or judging.verdict is None:
                continue
            if not jury and visible_until is not None and sub.submitted_at >= visible_until:
                continue  # the freeze: this result is not public yet
            key = f"j{judging.id}"
            started = judging.started_at
            ended = judging.finished_at or started
            yield "judgements", key, {
                "id": key, "submission_id": sub.external_id or str(sub.id),
                "judgement_type_id": Verdict(judging.verdict).value,
                "start_time": _iso(started),
                "start_contest_time": reltime_text(started - contest.start_at),
                "end_time": _iso(ended),
                "end_contest_time": reltime_text(ended - contest.start_at)}
        state: dict[str, Any] = {"started": _iso(contest.start_at) if now >= contest.start_at
                                 else None, "ended": None, "frozen": None, "thawed": None,
                                 "finalized": None, "end_of_updates": None}
        if contest.freeze_at is not None and now >= contest.freeze_at:
            state["frozen"] = _iso(contest.freeze_at)
        if now >= contest.end_at:
            state["ended"] = _iso(contest.end_at)
        if state["frozen"] and not contest.is_frozen_at(now):
            state["thawed"] = _iso(contest.unfreeze_at if contest.unfreeze_at
                                   and contest.unfreeze_at <= now else contest.updated_at)
        yield "state", None, state

    return [_event(kind, ident, data, number)
            for number, (kind, ident, data) in enumerate(events(), start=1)]
