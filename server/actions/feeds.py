"""ICPC Contest API event feeds: import one as a contest, and the Contest API scoreboard.

Both feed formats are read: 2020-03 (``{"id": event id, "type", "op", "data"}``) and
2022-07/2023-06 (``{"type", "id": object id, "data": object | array | null, "token"}``).
Parsing is lenient, as real feeds are not schema-clean: a line that is not JSON, an event of
an unknown shape, a judgement for an unknown submission… is skipped and counted in the
report. A file with no event at all is refused.

The import is a bulk path: the contest is created by :func:`create_contest`, then every group,
organisation, team, problem, submission and judging is written in one transaction and the
standings are rebuilt once (:func:`rebuild_standings`) — the same fold through the scoring rule
as live verdicts, without one refresh per verdict. The feed's ids are kept as ``external_id``
of teams, problems, groups, organisations and submissions.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from server.actions.base import audit, contest_by_ref, unit_of_work
from server.actions.contests import create_contest
from server.actions.errors import Invalid
from server.actions.standings import rebuild_standings, scoreboard
from server.components import Verdict
from server.i18n import N_
from server.models import (
    Affiliation,
    Contest,
    ContestProblem,
    Group,
    Judging,
    Problem,
    Submission,
    SubmissionStatus,
    Team,
    TeamGroup,
    User,
)
from server.services import Services

__all__ = ["FeedData", "FeedReport", "contest_api_scoreboard", "import_feed", "parse_feed",
           "reltime"]

KNOWN_TYPES = {"contest", "contests", "state", "judgement-types", "problems", "groups",
               "organizations", "teams", "submissions", "judgements"}
IGNORED_TYPES = {"languages", "runs", "clarifications", "awards", "accounts", "persons",
                 "team-members", "commentary", "maps", "start-status"}
VERDICTS = {
    "AC": Verdict.ACCEPTED, "WA": Verdict.WRONG_ANSWER, "PE": Verdict.WRONG_ANSWER,
    "NO": Verdict.WRONG_ANSWER, "TLE": Verdict.TIME_LIMIT, "TL": Verdict.TIME_LIMIT,
    "MLE": Verdict.MEMORY_LIMIT, "ML": Verdict.MEMORY_LIMIT, "RTE": Verdict.RUN_ERROR,
    "RE": Verdict.RUN_ERROR, "CE": Verdict.COMPILE_ERROR, "OLE": Verdict.OUTPUT_LIMIT,
    "OL": Verdict.OUTPUT_LIMIT, "JE": Verdict.JUDGE_ERROR, "IE": Verdict.JUDGE_ERROR,
}
RELTIME_RE = re.compile(r"^(-)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def reltime(value: Any) -> timedelta | None:
    """A Contest API RELTIME (``-?h*h:mm:ss(.uuu)?``), or None."""
    if not isinstance(value, str):
        return None
    m = RELTIME_RE.match(value.strip())
    if m is None:
        return None
    delta = timedelta(hours=int(m[2]), minutes=int(m[3]), seconds=float(m[4]))
    return -delta if m[1] else delta


def _time(value: Any) -> datetime | None:
    """A Contest API TIME (ISO 8601 with a zone, e.g. ``…T14:00:00.004-05``), or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


@dataclass
class FeedData:
    """The feed's objects by type and id (the last create/update wins; deletes remove)."""

    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    singletons: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: int = 0
    lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)
    bad_lines: list[int] = field(default_factory=list)
    """Numbers of the lines that are not JSON."""

    def of(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.objects.get(kind, {})


@dataclass
class FeedReport:
    contest: Contest
    counts: dict[str, int]
    skipped: Counter[str]
    ignored: Counter[str]
    bad_lines: list[int] = field(default_factory=list)

    def summary(self) -> list[str]:
        lines = ["imported " + ", ".join(f"{n} {k}" for k, n in self.counts.items())]
        if self.ignored:
            lines.append("ignored (not used): " + ", ".join(
                f"{n} {k}" for k, n in sorted(self.ignored.items())))
        for reason, n in sorted(self.skipped.items()):
            where = ""
            if reason == "line is not JSON" and self.bad_lines:
                shown = ", ".join(map(str, self.bad_lines[:5]))
                where = f" (line{'s' if len(self.bad_lines) > 1 else ''} {shown}"
                where += ", …)" if len(self.bad_lines) > 5 else ")"
            lines.append(f"skipped {n}: {reason}{where}")
        return lines


def parse_feed(lines: Iterable[str], *, name: str = "feed") -> FeedData:
    """Read an event feed leniently. Raises Invalid when no line is a feed event."""
    data = FeedData()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue  # keep-alive newlines
        data.lines += 1
        try:
            event = json.loads(line)
        except ValueError:
            data.skipped["line is not JSON"] += 1
            data.bad_lines.append(number)
            continue
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            data.skipped["not an event object (no type)"] += 1
            continue
        data.events += 1
        kind = event["type"]
        if kind in IGNORED_TYPES:
            data.ignored[kind] += 1
            continue
        if kind not in KNOWN_TYPES:
            data.skipped[f"unknown event type {kind!r}"] += 1
            continue
        kind = "contest" if kind == "contests" else kind
        payload = event.get("data")
        deleting = event.get("op") == "delete" or (payload is None and "op" not in event)
        if kind in ("contest", "state"):
            if isinstance(payload, dict):
                merged = dict(data.singletons.get(kind, {}))
                merged.update(payload)
                data.singletons[kind] = merged
            elif not deleting:
                data.skipped[f"{kind} event without an object"] += 1
            continue
        store = data.objects.setdefault(kind, {})
        if deleting:
            ident = event.get("id") if "op" not in event else (payload or {}).get("id")
            if ident is None and isinstance(payload, dict):
                ident = payload.get("id")
            store.pop(str(ident), None)
            continue
        items = payload if isinstance(payload, list) else [payload]
        for item in items:
            if not isinstance(item, dict) or item.get("id") in (None, ""):
                data.skipped[f"{kind} object without an id"] += 1
                continue
            store[str(item["id"])] = item
    if data.events == 0:
        raise Invalid(N_("%(name)s is not an ICPC Contest API event feed (no event in "
                         "%(data_lines)s non-empty lines)"),
                      name=name, data_lines=data.lines)
    if "contest" not in data.singletons:
        raise Invalid(N_("%(name)s has no contest event: not a contest's event feed"), name=name)
    return data


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:56].strip("-")
    return slug or "feed"


def _label(value: Any, fallback: str) -> str:
    label = re.sub(r"[^A-Za-z0-9]", "", str(value or ""))[:16]
    return label or fallback


def _contest_times(data: FeedData) -> tuple[datetime, datetime, datetime | None, bool]:
    contest = data.singletons["contest"]
    state = data.singletons.get("state", {})
    start = _time(state.get("started")) or _time(contest.get("start_time"))
    if start is None:
        raise Invalid(N_("the feed's contest has no start time (contest.start_time or "
                      "state.started)"))
    duration = reltime(contest.get("duration"))
    end = _time(state.get("ended")) or (start + duration if duration else None)
    if end is None or end <= start:
        raise Invalid(N_("the feed's contest has no valid end (contest.duration or state.ended)"))
    freeze = _time(state.get("frozen"))
    freeze_length = reltime(contest.get("scoreboard_freeze_duration"))
    if freeze is None and freeze_length is not None:
        freeze = end - freeze_length
    if freeze is not None and not start <= freeze <= end:
        freeze = None
    return start, end, freeze, _time(state.get("thawed")) is not None


def _verdicts(data: FeedData) -> dict[str, Verdict]:
    out = {}
    for ident, jt in data.of("judgement-types").items():
        if ident.upper() in VERDICTS:
            out[ident] = VERDICTS[ident.upper()]
        elif jt.get("solved") is True:
            out[ident] = Verdict.ACCEPTED
        elif jt.get("penalty") is False:
            out[ident] = Verdict.COMPILE_ERROR  # rejected, never charged
        else:
            out[ident] = Verdict.WRONG_ANSWER
    return out


async def _unique_slug(services: Services, base: str) -> str:
    async with services.db.session() as session:
        taken = set(await session.exec(select(Contest.slug).where(
            Contest.slug.startswith(base))))  # type: ignore[attr-defined]
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


async def import_feed(
    services: Services, data: FeedData, *, slug: str | None = None, actor: User | None = None
) -> FeedReport:
    """Create a contest (scoring rule ``icpc``) from a parsed feed; return what was done."""
    info = data.singletons["contest"]
    start, end, freeze, thawed = _contest_times(data)
    verdict_of = _verdicts(data)
    ce_type = next((jt for i, jt in data.of("judgement-types").items()
                    if verdict_of.get(i) is Verdict.COMPILE_ERROR and i.upper() == "CE"), None)
    rule_settings: dict[str, Any] = {}
    if isinstance(info.get("penalty_time"), int) and not isinstance(info["penalty_time"], bool):
        rule_settings["penalty_minutes"] = info["penalty_time"]
    else:
        penalty = reltime(info.get("penalty_time"))
        if penalty is not None:
            rule_settings["penalty_minutes"] = int(penalty.total_seconds() // 60)
    if ce_type is not None and ce_type.get("penalty") is True:
        rule_settings["count_compile_errors"] = True
    title = str(info.get("formal_name") or info.get("name") or info.get("id") or "Imported")
    slug = slug or await _unique_slug(services, _slugify(str(info.get("name") or title)))
    contest = await create_contest(
        services, slug=slug, title=title[:255], start_at=start, end_at=end, freeze_at=freeze,
        scoring_rule="icpc", scoring_settings=rule_settings,
        external_id=str(info.get("id"))[:128] if info.get("id") else None, actor=actor)
    assert contest.id is not None
    skipped = Counter(data.skipped)
    counts: dict[str, int] = {}
    async with unit_of_work(services) as session:
        if thawed:
            contest = await contest_by_ref(session, contest.id)
            contest.unfrozen = True
            session.add(contest)
        # groups
        groups: dict[str, Group] = {}
        names: set[str] = set()
        for ident, g in data.of("groups").items():
            name = str(g.get("name") or ident)[:120]
            if name in names:
                name = f"{name[:100]} ({ident})"[:128]
            names.add(name)
            groups[ident] = Group(contest_id=contest.id, name=name, external_id=ident[:128],
                                  hidden=g.get("hidden") is True)
        session.add_all(groups.values())
        # organisations (global rows, reused by external id)
        affiliations: dict[str, Affiliation] = {}
        orgs = data.of("organizations")
        if orgs:
            existing = {a.external_id: a for a in await session.exec(select(Affiliation).where(
                Affiliation.external_id.in_([o[:128] for o in orgs])))}  # type: ignore[union-attr]
            for ident, o in orgs.items():
                found = existing.get(ident[:128])
                if found is None:
                    country = o.get("country")
                    country = country.upper() if isinstance(country, str) and len(
                        country) == 3 and country.isalpha() else None
                    found = Affiliation(name=str(o.get("formal_name") or o.get("name")
                                                 or ident)[:255],
                                        short_name=str(o.get("name") or "")[:64],
                                        country=country, external_id=ident[:128])
                    session.add(found)
                affiliations[ident] = found
        # problems
        problems: dict[str, ContestProblem] = {}
        labels: set[str] = set()
        ordered = sorted(data.of("problems").items(),
                         key=lambda kv: (kv[1].get("ordinal") if isinstance(
                             kv[1].get("ordinal"), int) else 1 << 30, kv[0]))
        for position, (ident, p) in enumerate(ordered):
            label = _label(p.get("label"), f"P{position + 1}")
            if label in labels:
                label = _label(f"{label}{position + 1}", f"P{position + 1}")
            labels.add(label)
            problem = Problem(slug=f"{slug}-{label.lower()}"[:64],
                              title=str(p.get("name") or label)[:255], external_id=ident[:128],
                              source=title[:255])
            session.add(problem)
            await session.flush()
            rgb = p.get("rgb")
            problems[ident] = ContestProblem(
                contest_id=contest.id, problem_id=problem.id, label=label,
                ordinal=p["ordinal"] if isinstance(p.get("ordinal"), int) else position,
                color=rgb if isinstance(rgb, str) and COLOR_RE.match(rgb) else None,
                external_id=ident[:128])
        session.add_all(problems.values())
        await session.flush()
        # teams
        teams: dict[str, Team] = {}
        links: list[tuple[Team, Group]] = []
        names = set()
        for ident, t in data.of("teams").items():
            name = str(t.get("name") or ident).strip()[:128] or ident[:128]
            if name in names:
                name = f"{name[:100]} ({ident})"[:128]
            names.add(name)
            member_of = [groups[str(g)] for g in t.get("group_ids") or []
                         if isinstance(g, (str, int)) and str(g) in groups]
            affiliation = affiliations.get(str(t.get("organization_id")))
            team = Team(contest_id=contest.id, name=name,
                        display_name=str(t.get("display_name") or "")[:255],
                        affiliation_id=affiliation.id if affiliation else None,
                        external_id=ident[:128],
                        hidden=t.get("hidden") is True or any(g.hidden for g in member_of))
            teams[ident] = team
            links.extend((team, g) for g in member_of)
        session.add_all(teams.values())
        await session.flush()
        session.add_all(TeamGroup(team_id=t.id, group_id=g.id) for t, g in links)
        # submissions
        submissions: dict[str, Submission] = {}
        for ident, s in data.of("submissions").items():
            team = teams.get(str(s.get("team_id")))
            link = problems.get(str(s.get("problem_id")))
            if team is None or link is None:
                skipped["submission of an unknown team or problem"] += 1
                continue
            offset = reltime(s.get("contest_time"))
            at = start + offset if offset is not None else _time(s.get("time"))
            if at is None:
                skipped["submission without a valid time"] += 1
                continue
            submissions[ident] = Submission(
                contest_id=contest.id, team_id=team.id, problem_id=link.problem_id,  # type: ignore[arg-type]
                language=str(s.get("language_id") or "unknown")[:32], submitted_at=at,
                status=SubmissionStatus.ERROR.value, external_id=ident[:128], origin="import")
        session.add_all(submissions.values())
        await session.flush()
        # judgements: the last one with a type decides the submission's verdict
        judged: dict[str, tuple[Verdict, dict[str, Any]]] = {}
        for j in data.of("judgements").values():
            sid = str(j.get("submission_id"))
            if sid not in submissions:
                skipped["judgement of an unknown or skipped submission"] += 1
                continue
            type_id = j.get("judgement_type_id")
            if type_id in (None, ""):
                continue  # still judging: the submission stays pending
            verdict = verdict_of.get(str(type_id)) or VERDICTS.get(str(type_id).upper())
            if verdict is None:
                skipped[f"judgement of unknown type {type_id!r}"] += 1
                continue
            judged[sid] = (verdict, j)
        judgings = {}
        for sid, (verdict, j) in judged.items():
            sub = submissions[sid]
            judgings[sid] = Judging(
                submission_id=sub.id, judge_host="feed", verdict=verdict.value,  # type: ignore[arg-type]
                started_at=_time(j.get("start_time")) or sub.submitted_at,
                finished_at=_time(j.get("end_time")) or sub.submitted_at)
        session.add_all(judgings.values())
        await session.flush()
        for sid, judging in judgings.items():
            sub = submissions[sid]
            sub.verdict = judging.verdict
            sub.current_judging_id = judging.id
            sub.status = (SubmissionStatus.ERROR.value if judging.verdict == Verdict.JUDGE_ERROR
                          else SubmissionStatus.JUDGED.value)
            session.add(sub)
        counts = {"groups": len(groups), "organizations": len(affiliations),
                  "teams": len(teams), "problems": len(problems),
                  "submissions": len(submissions), "judgements": len(judgings)}
        audit(session, actor=actor, action="contest.import_feed", object_type="contest",
              object_id=contest.id, contest_id=contest.id,
              data={"counts": counts, "skipped": dict(skipped)})
    await rebuild_standings(services, contest.id)
    return FeedReport(contest=contest, counts=counts, skipped=skipped, ignored=data.ignored,
                      bad_lines=data.bad_lines)


def _minutes(seconds: float | None) -> int:
    return int((seconds or 0.0) // 60)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def contest_api_scoreboard(services: Services, slug: str, *, public: bool) -> dict[str, Any]:
    """The contest's board as a Contest API scoreboard object (``time`` and ``total_time`` in
    minutes; ids are the feed's when the team or problem came from one)."""
    async with services.db.session() as session:
        contest = await contest_by_ref(session, slug)
        teams = {t.id: t for t in await session.exec(
            select(Team).where(Team.contest_id == contest.id))}
        links = {cp.problem_id: cp for cp in await session.exec(
            select(ContestProblem).where(ContestProblem.contest_id == contest.id))}
    board = await scoreboard(services, contest, public=public)
    rows = []
    for row in board.rows:
        team = teams.get(row.team.id)
        problems = []
        for cell in row.cells:
            link = links.get(cell.problem_id)
            item: dict[str, Any] = {
                "problem_id": (link.external_id or link.label) if link else str(cell.problem_id),
                "num_judged": cell.attempts, "num_pending": cell.pending,
                "solved": cell.solved,
            }
            if cell.solved:
                item["time"] = _minutes(cell.time)
                item["first_to_solve"] = cell.first_to_solve
            problems.append(item)
        rows.append({
            "rank": row.rank,
            "team_id": (team.external_id if team and team.external_id else str(row.team.id)),
            "score": {"num_solved": row.score.solved, "total_time": int(row.score.penalty)},
            "problems": problems,
        })
    return {
        "state": {"started": _iso(contest.start_at), "ended": _iso(contest.end_at),
                  "frozen": _iso(contest.freeze_at)},
        "frozen": board.frozen,
        "rows": rows,
    }
