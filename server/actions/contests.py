"""Contests, their problems, languages and plugins."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import func, select

from server.actions.base import audit, contest_by_ref, emit, get_or_404, publish, unit_of_work
from server.actions.errors import Conflict, Invalid, NotFound
from server.actions.standings import rebuild_standings, refresh_live
from server.i18n import N_
from server.models import (
    Contest,
    ContestLanguage,
    ContestProblem,
    Problem,
    RegistrationMode,
    Submission,
    User,
    Visibility,
    utcnow,
)
from server.plugins import PluginError, PluginSettingsError
from server.services import Services
from server.themes import available_themes

__all__ = [
    "add_contest_problem",
    "configure_plugin",
    "create_contest",
    "create_problem",
    "disable_language",
    "disable_plugin",
    "enable_language",
    "remove_contest_problem",
    "update_contest",
    "update_contest_problem",
    "update_problem",
]

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9]{1,16}$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
# Fields whose change can move a score: they go to the audit log and rebuild the standings.
SCORE_FIELDS = {"start_at", "end_at", "freeze_at", "unfreeze_at", "unfrozen", "scoring_rule",
                "scoring_settings"}
EDITABLE = {"title", "description", "start_at", "end_at", "freeze_at", "unfreeze_at",
            "unfrozen", "timezone", "scoring_rule", "scoring_settings", "theme", "visibility",
            "registration_mode", "is_practice", "registration_code_hash", "show_test_results"}
TEST_RESULTS = ("none", "samples", "all")


def _check_slug(slug: str) -> None:
    if not SLUG_RE.match(slug):
        raise Invalid(N_("slug must be 1-64 lowercase letters, digits or '-'"), field="slug")


def _check_times(c: Contest) -> None:
    if c.end_at <= c.start_at:
        raise Invalid(N_("the contest must end after it starts"), field="end_at")
    if c.freeze_at is not None and not c.start_at <= c.freeze_at <= c.end_at:
        raise Invalid(N_("the freeze must be between the start and the end"), field="freeze_at")
    if c.unfreeze_at is not None:
        if c.freeze_at is None:
            raise Invalid(N_("an unfreeze time needs a freeze time"), field="unfreeze_at")
        if c.unfreeze_at < c.end_at:
            raise Invalid(N_("the unfreeze cannot be before the end"), field="unfreeze_at")


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise Invalid(N_("%(name)s needs a time zone (for example 2026-01-01T10:00:00+00:00)"),
                      name=name,
                      field=name)
    return value


def _validate(services: Services, c: Contest) -> None:
    if not c.title.strip():
        raise Invalid(N_("title must not be empty"), field="title")
    c.title = c.title.strip()
    for name in ("start_at", "end_at", "freeze_at", "unfreeze_at"):
        value = getattr(c, name)
        if value is not None:
            _aware(value, name)
    _check_times(c)
    if c.visibility not in {v.value for v in Visibility}:
        raise Invalid(N_("visibility must be one of %(choices)s"),
                      choices=', '.join(v.value for v in Visibility),
                      field="visibility")
    if c.show_test_results not in TEST_RESULTS:
        raise Invalid(N_("shown test results must be one of %(choices)s"),
                      choices=', '.join(TEST_RESULTS),
                      field="show_test_results")
    if c.registration_mode not in {m.value for m in RegistrationMode}:
        raise Invalid(N_("registration mode must be one of %(choices)s"),
                      choices=', '.join(m.value for m in RegistrationMode),
                      field="registration_mode")
    try:
        ZoneInfo(c.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(N_("unknown time zone %(timezone)r"),
                      timezone=c.timezone, field="timezone") from None
    if c.theme is not None and c.theme not in available_themes(services.plugins):
        raise Invalid(N_("no theme named %(theme)r"), theme=c.theme, field="theme")
    try:
        c.scoring_settings = services.plugins.validate_scoring_settings(
            c.scoring_rule, c.scoring_settings)
    except PluginError as exc:
        raise Invalid(str(exc), field="scoring_rule") from None
    except PluginSettingsError as exc:
        raise Invalid(str(exc), field="scoring_settings") from None


def _validated_plugins(services: Services, plugins: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, settings in plugins.items():
        try:
            out[name] = services.plugins.validate_plugin_settings(name, settings)
        except PluginError as exc:
            raise Invalid(str(exc), field="plugins") from None
        except PluginSettingsError as exc:
            raise Invalid(str(exc), field=f"plugins.{name}") from None
    return out


async def create_contest(
    services: Services,
    *,
    slug: str,
    title: str,
    start_at: datetime,
    end_at: datetime,
    freeze_at: datetime | None = None,
    unfreeze_at: datetime | None = None,
    scoring_rule: str = "points",
    scoring_settings: dict[str, Any] | None = None,
    plugins: dict[str, Any] | None = None,
    description: str = "",
    timezone: str = "UTC",
    theme: str | None = None,
    visibility: str = Visibility.PUBLIC.value,
    registration_mode: str = RegistrationMode.CLOSED.value,
    is_practice: bool = False,
    show_test_results: str = "samples",
    external_id: str | None = None,
    registration_code_hash: str | None = None,
    actor: User | None = None,
) -> Contest:
    _check_slug(slug)
    contest = Contest(
        slug=slug, title=title.strip(), description=description, start_at=start_at,
        end_at=end_at, freeze_at=freeze_at, unfreeze_at=unfreeze_at, scoring_rule=scoring_rule,
        scoring_settings=scoring_settings or {}, timezone=timezone, theme=theme,
        visibility=visibility, registration_mode=registration_mode, is_practice=is_practice,
        show_test_results=show_test_results,
        external_id=external_id, registration_code_hash=registration_code_hash,
    )
    _validate(services, contest)
    contest.plugins = _validated_plugins(services, plugins or {})
    async with unit_of_work(services, conflict=(N_("contest %(slug)r already exists"),
                                                {"slug": slug})) as session:
        session.add(contest)
        await session.flush()
        audit(session, actor=actor, action="contest.create", object_type="contest",
              object_id=contest.id, contest_id=contest.id,
              data={"slug": slug, "scoring_rule": scoring_rule,
                    "start_at": start_at.isoformat(), "end_at": end_at.isoformat()})
    await emit(services, contest, "contest.created", {"id": contest.id, "slug": slug})
    return contest


async def update_contest(
    services: Services, ref: int | str, *, actor: User | None = None, **changes: Any
) -> Contest:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise Invalid(N_("cannot change %(value)s"), value=', '.join(sorted(unknown)))
    now = utcnow()
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, ref)
        old_state = contest.state_at(now)
        before = {k: getattr(contest, k) for k in changes}
        for key, value in changes.items():
            setattr(contest, key, value)
        if "scoring_rule" in changes and "scoring_settings" not in changes:
            contest.scoring_settings = {}
        _validate(services, contest)
        contest.updated_at = now
        session.add(contest)
        touched = {k for k in changes if before[k] != getattr(contest, k)}
        if touched:  # every change is audited; a registration code only as "changed"
            audit(session, actor=actor, action="contest.update", object_type="contest",
                  object_id=contest.id, contest_id=contest.id,
                  data={k: "(changed)" if k == "registration_code_hash"
                        else _jsonable(getattr(contest, k)) for k in sorted(touched)})
    new_state = contest.state_at(now)
    if "theme" in touched and services.live is not None:
        await services.live.clear([contest.id])  # rows are rendered again in the new theme
    if touched & SCORE_FIELDS:
        await rebuild_standings(services, contest.id)
    else:
        await refresh_live(services, contest)
    await emit(services, contest, "contest.updated", {"id": contest.id, "changed": sorted(touched)})
    if new_state != old_state:
        await emit(services, contest, "contest.state", {"id": contest.id, "old": old_state.value,
                                                        "new": new_state.value},
                   hook="podium_contest_state_changed", old=old_state.value, new=new_state.value)
    return contest


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


async def configure_plugin(
    services: Services,
    ref: int | str,
    name: str,
    settings: dict[str, Any] | None = None,
    *,
    actor: User | None = None,
) -> Contest:
    """Enable a plugin for a contest (or change its settings), validated against its schema."""
    validated = _validated_plugins(services, {name: settings or {}})[name]
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, ref)
        plugins = dict(contest.plugins or {})
        plugins[name] = validated
        contest.plugins = plugins
        contest.updated_at = utcnow()
        session.add(contest)
        audit(session, actor=actor, action="contest.plugin", object_type="contest",
              object_id=contest.id, contest_id=contest.id,
              data={"plugin": name, "settings": validated})
    await emit(services, contest, "contest.plugins", {"id": contest.id, "enabled": name})
    return contest


async def disable_plugin(
    services: Services, ref: int | str, name: str, *, actor: User | None = None
) -> Contest:
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, ref)
        plugins = dict(contest.plugins or {})
        if name not in plugins:
            raise NotFound(N_("plugin %(name)r is not enabled for contest %(contest)r"),
                           name=name, contest=contest.slug)
        del plugins[name]
        contest.plugins = plugins
        session.add(contest)
        audit(session, actor=actor, action="contest.plugin", object_type="contest",
              object_id=contest.id, contest_id=contest.id, data={"plugin": name, "disabled": True})
    await emit(services, contest, "contest.plugins", {"id": contest.id, "disabled": name})
    return contest


async def create_problem(
    services: Services,
    *,
    slug: str,
    title: str,
    statement: str = "",
    statement_format: str = "markdown",
    time_limit_ms: int = 1000,
    memory_limit_mb: int = 256,
    output_limit_kb: int = 8192,
    checker: str = "exact",
    checker_flags: str = "",
    difficulty: int | None = None,
    tags: list[str] | None = None,
    source: str = "",
    actor: User | None = None,
) -> Problem:
    _check_slug(slug)
    if not title.strip():
        raise Invalid(N_("title must not be empty"), field="title")
    if statement_format not in {"markdown", "html", "latex", "text"}:
        raise Invalid(N_("statement format must be markdown, html, latex or text"),
                      field="statement_format")
    if not 1 <= time_limit_ms <= 60_000:
        raise Invalid(N_("time limit must be 1..60000 ms"), field="time_limit_ms")
    if not 1 <= memory_limit_mb <= 16_384:
        raise Invalid(N_("memory limit must be 1..16384 MB"), field="memory_limit_mb")
    if not 1 <= output_limit_kb <= 1_048_576:
        raise Invalid(N_("output limit must be 1..1048576 KB"), field="output_limit_kb")
    if checker not in services.plugins.checkers:
        raise Invalid(N_("no checker named %(checker)r (available: %(value)s)"),
                      checker=checker, value=', '.join(services.plugins.checkers.names()) or 'none',
                      field="checker")
    problem = Problem(
        slug=slug, title=title.strip(), statement=statement, statement_format=statement_format,
        time_limit_ms=time_limit_ms, memory_limit_mb=memory_limit_mb,
        output_limit_kb=output_limit_kb, checker=checker, checker_flags=checker_flags,
        difficulty=difficulty, tags=list(tags or []), source=source,
    )
    async with unit_of_work(services, conflict=(N_("problem %(slug)r already exists"),
                                                {"slug": slug})) as session:
        session.add(problem)
        await session.flush()
        audit(session, actor=actor, action="problem.create", object_type="problem",
              object_id=problem.id, data={"slug": slug})
    await publish(services, "problem.created", {"id": problem.id, "slug": slug})
    return problem


async def add_contest_problem(
    services: Services,
    contest_ref: int | str,
    problem_ref: int | str,
    *,
    label: str,
    points: float = 1.0,
    color: str | None = None,
    ordinal: int | None = None,
    actor: User | None = None,
) -> ContestProblem:
    if not LABEL_RE.match(label):
        raise Invalid(N_("label must be 1-16 letters or digits"), field="label")
    if points < 0:
        raise Invalid(N_("points must not be negative"), field="points")
    if color is not None and not COLOR_RE.match(color):
        raise Invalid(N_("colour must look like #1a2b3c"), field="color")
    async with unit_of_work(
        services, conflict=(N_("label %(label)r or this problem is already in the contest"),
                            {"label": label})
    ) as session:
        contest = await contest_by_ref(session, contest_ref)
        if isinstance(problem_ref, int):
            problem = await get_or_404(session, Problem, problem_ref, "problem")
        else:
            problem = (await session.exec(select(Problem).where(Problem.slug == problem_ref))).first()
            if problem is None:
                raise NotFound(N_("problem %(problem_ref)r does not exist"),
                               problem_ref=problem_ref)
        if ordinal is None:
            ordinal = len(list(await session.exec(
                select(ContestProblem.id).where(ContestProblem.contest_id == contest.id))))
        link = ContestProblem(contest_id=contest.id, problem_id=problem.id, label=label,
                              points=points, color=color, ordinal=ordinal)
        session.add(link)
        await session.flush()
        audit(session, actor=actor, action="contest.problem.add", object_type="contest_problem",
              object_id=link.id, contest_id=contest.id,
              data={"problem": problem.slug, "label": label, "points": points})
    await rebuild_standings(services, contest.id)
    await emit(services, contest, "contest.problems", {"id": contest.id, "added": label})
    return link


async def enable_language(
    services: Services, contest_ref: int | str, language: str, *, actor: User | None = None
) -> None:
    if language not in services.plugins.languages:
        raise Invalid(N_("no language named %(language)r (available: %(available)s)"),
                      language=language,
                      available=", ".join(services.plugins.languages.names()) or "none",
                      field="language")
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, contest_ref)
        existing = await session.get(ContestLanguage, (contest.id, language))
        if existing is None:
            session.add(ContestLanguage(contest_id=contest.id, language=language))
            audit(session, actor=actor, action="contest.language", object_type="contest",
                  object_id=contest.id, contest_id=contest.id, data={"language": language})
    await emit(services, contest, "contest.languages", {"id": contest.id, "enabled": language})


async def disable_language(
    services: Services, contest_ref: int | str, language: str, *, actor: User | None = None
) -> None:
    """Stop accepting submissions in ``language`` (earlier submissions keep their language)."""
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, contest_ref)
        existing = await session.get(ContestLanguage, (contest.id, language))
        if existing is None:
            raise NotFound(N_("language %(language)r is not enabled for contest %(contest)r"),
                           language=language, contest=contest.slug)
        await session.delete(existing)
        audit(session, actor=actor, action="contest.language", object_type="contest",
              object_id=contest.id, contest_id=contest.id,
              data={"language": language, "disabled": True})
    await emit(services, contest, "contest.languages", {"id": contest.id, "disabled": language})


PROBLEM_EDITABLE = {"title", "statement", "statement_format", "time_limit_ms", "memory_limit_mb",
                    "output_limit_kb", "checker", "checker_flags", "difficulty", "tags", "source"}


async def update_problem(
    services: Services, ref: int | str, *, actor: User | None = None, **changes: Any
) -> Problem:
    """Change a bank problem's title, statement, limits or checker (same checks as creating)."""
    unknown = set(changes) - PROBLEM_EDITABLE
    if unknown:
        raise Invalid(N_("cannot change %(value)s"), value=', '.join(sorted(unknown)))
    if "title" in changes:
        if not str(changes["title"]).strip():
            raise Invalid(N_("title must not be empty"), field="title")
        changes["title"] = str(changes["title"]).strip()
    if changes.get("statement_format", "markdown") not in {"markdown", "html", "latex", "text"}:
        raise Invalid(N_("statement format must be markdown, html, latex or text"),
                      field="statement_format")
    for name, low, high, unit in (("time_limit_ms", 1, 60_000, "ms"),
                                  ("memory_limit_mb", 1, 16_384, "MB"),
                                  ("output_limit_kb", 1, 1_048_576, "KB")):
        if name in changes and not low <= changes[name] <= high:
            raise Invalid(N_("%(value)s limit must be %(low)s..%(high)s %(unit)s"),
                          value=name.split('_')[0], low=low, high=high, unit=unit, field=name)
    if "checker" in changes and changes["checker"] != "custom" \
            and changes["checker"] not in services.plugins.checkers:
        raise Invalid(N_("no checker named %(value)r"), value=changes['checker'], field="checker")
    async with unit_of_work(services) as session:
        if isinstance(ref, int):
            problem = await get_or_404(session, Problem, ref, "problem")
        else:
            problem = (await session.exec(select(Problem).where(Problem.slug == ref))).first()
            if problem is None:
                raise NotFound(N_("problem %(ref)r does not exist"), ref=ref)
        touched = {k: v for k, v in changes.items() if getattr(problem, k) != v}
        for key, value in touched.items():
            setattr(problem, key, value)
        problem.updated_at = utcnow()
        session.add(problem)
        audit(session, actor=actor, action="problem.update", object_type="problem",
              object_id=problem.id,
              data={k: v for k, v in touched.items() if k != "statement"}
              | ({"statement": True} if "statement" in touched else {}))
    await publish(services, "problem.updated", {"id": problem.id, "slug": problem.slug,
                                                "changed": sorted(touched)})
    return problem


async def update_contest_problem(
    services: Services,
    contest_ref: int | str,
    label: str,
    *,
    new_label: str | None = None,
    points: float | None = None,
    color: str | None = None,
    ordinal: int | None = None,
    actor: User | None = None,
) -> ContestProblem:
    """Change a contest problem's label, points, colour (``""`` clears it) or position."""
    if new_label is not None and not LABEL_RE.match(new_label):
        raise Invalid(N_("label must be 1-16 letters or digits"), field="label")
    if points is not None and points < 0:
        raise Invalid(N_("points must not be negative"), field="points")
    if color and not COLOR_RE.match(color):
        raise Invalid(N_("colour must look like #1a2b3c"), field="color")
    async with unit_of_work(services, conflict=(N_("label %(new_label)r is already in the contest"),
                                                {"new_label": new_label})
                            ) as session:
        contest = await contest_by_ref(session, contest_ref)
        link = (await session.exec(select(ContestProblem).where(
            ContestProblem.contest_id == contest.id, ContestProblem.label == label))).first()
        if link is None:
            raise NotFound(N_("contest %(contest)r has no problem %(label)r"),
                           contest=contest.slug, label=label)
        before = {"label": link.label, "points": link.points, "color": link.color,
                  "ordinal": link.ordinal}
        if new_label is not None:
            link.label = new_label
        if points is not None:
            link.points = points
        if color is not None:
            link.color = color or None
        if ordinal is not None:
            link.ordinal = ordinal
        session.add(link)
        await session.flush()
        audit(session, actor=actor, action="contest.problem.update",
              object_type="contest_problem", object_id=link.id, contest_id=contest.id,
              data={"before": before, "label": link.label, "points": link.points,
                    "color": link.color, "ordinal": link.ordinal})
    await rebuild_standings(services, contest.id)  # type: ignore[arg-type]
    await emit(services, contest, "contest.problems", {"id": contest.id, "changed": label})
    return link


async def remove_contest_problem(
    services: Services, contest_ref: int | str, label: str, *, actor: User | None = None
) -> None:
    """Take a problem out of a contest (it stays in the problem bank). Refused while the
    contest holds submissions to it: their verdicts, the scoreboard's history and the event
    feed refer to it (DOMjudge refuses the same)."""
    async with unit_of_work(services) as session:
        contest = await contest_by_ref(session, contest_ref)
        link = (await session.exec(select(ContestProblem).where(
            ContestProblem.contest_id == contest.id, ContestProblem.label == label))).first()
        if link is None:
            raise NotFound(N_("contest %(contest)r has no problem %(label)r"),
                           contest=contest.slug, label=label)
        count = (await session.exec(select(func.count()).select_from(Submission).where(
            Submission.contest_id == contest.id,
            Submission.problem_id == link.problem_id))).one()
        if count:
            raise Conflict(N_("problem %(label)s has %(count)s submission(s) in this contest and "
                              "cannot be removed"),
                           label=label, count=count)
        problem = await session.get(Problem, link.problem_id)
        audit(session, actor=actor, action="contest.problem.remove",
              object_type="contest_problem", object_id=link.id, contest_id=contest.id,
              data={"problem": problem.slug if problem else None, "label": label})
        await session.delete(link)
    await rebuild_standings(services, contest.id)  # type: ignore[arg-type]
    await emit(services, contest, "contest.problems", {"id": contest.id, "removed": label})
