"""Admin pages: setting up contests (organizers; the jury may look).

* ``/admin/`` dashboard; ``/admin/contests`` list; ``/admin/contests/new``
* ``/admin/contests/{slug}`` settings, scoring settings, summary, export downloads
* ``/admin/contests/{slug}/plugins`` plugins with forms generated from their settings schema
* ``/admin/contests/{slug}/problems`` contest problems, add from the bank, package upload
* ``/admin/contests/{slug}/languages`` enabled languages
* ``/admin/contests/{slug}/scoreboard`` jury board, freeze, unfreeze, reveal
* ``/admin/problems`` the problem bank, statement preview, test data

Every change goes through ``server.actions``; GET pages are for all staff, POSTs that change
the setup call :func:`require_manager` (403 for the jury).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import zoneinfo
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from sqlmodel import col, func, select

from server import actions
from server.actions import contests as contest_actions, freeze as freeze_actions
from server.actions.accounts import contest_code_hash
from server.actions.contests import LABEL_RE
from server.actions.feed_export import event_feed
from server.actions.feeds import contest_api_scoreboard
from server.actions.judging import add_test_case
from server.actions.problems import import_package
from server.errors import ActionError, Conflict, Invalid
from server.i18n import gettext as _
from server.models import (
    Contest,
    ContestLanguage,
    ContestProblem,
    ContestState,
    Problem,
    RegistrationMode,
    Submission,
    Team,
    TestCase,
    TestGroup,
    User,
    Visibility,
    utcnow,
)
from server.statements import render_statement
from server.web.admin.common import admin_contest, render_admin, require_manager
from server.web.auth import CurrentUser, services_of
from server.web.forms import Form, errors_of, flash, read_form, redirect
from server.web.schema_forms import general_key, parse_schema_form, schema_fields

__all__ = ["route_handlers"]

MAX_PACKAGE_BYTES = 256 * 1024 * 1024
MAX_TEST_UPLOAD_BYTES = 64 * 1024 * 1024
TIME_FIELDS = ("start_at", "end_at", "freeze_at", "unfreeze_at")
STATEMENT_FORMATS = ("markdown", "html", "latex", "text")


# -- helpers ----------------------------------------------------------------------------------

def _id(row: Contest | Problem) -> int:
    assert row.id is not None
    return row.id


def _timezones() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"UTC"})
    return [("UTC", "UTC"), *((n, n) for n in names)]


def _local_input(value: datetime | None, tz: str) -> str:
    """A stored (UTC) time as a ``datetime-local`` value in the contest's zone."""
    if value is None:
        return ""
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _parse_time(form: Form, name: str, zone: zoneinfo.ZoneInfo, *, required: bool
                ) -> datetime | None:
    raw = form.get(name, "").strip()
    if not raw:
        if required:
            raise Invalid(_("Enter a date and time."), field=name)
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(_("Enter a date and time like 2026-05-01T10:00."), field=name) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def _contest_changes(request: Request, form: Form, *, contest: Contest | None
                     ) -> dict[str, Any]:
    """The contest form's fields as action keyword arguments (Invalid on a bad value)."""
    tz = form.get("timezone", "UTC").strip() or "UTC"
    try:
        zone = zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(_("Unknown time zone."), field="timezone") from None
    changes: dict[str, Any] = {
        "title": form.get("title", ""),
        "description": form.get("description", ""),
        "timezone": tz,
        "scoring_rule": form.get("scoring_rule", "").strip(),
        "visibility": form.get("visibility", Visibility.HIDDEN.value),
        "registration_mode": form.get("registration_mode", RegistrationMode.CLOSED.value),
        "is_practice": form.flag("is_practice"),
        "show_test_results": form.get("show_test_results", "samples"),
        "theme": form.get("theme", "").strip() or None,
    }
    for name in TIME_FIELDS:
        changes[name] = _parse_time(form, name, zone, required=name in {"start_at", "end_at"})
        stored = getattr(contest, name) if contest is not None else None
        if stored is not None and changes[name] is not None \
                and stored.replace(second=0, microsecond=0) == changes[name]:
            changes[name] = stored  # the form shows minutes: an untouched time keeps its seconds
    themes = request.app.state.themes.themes
    if changes["theme"] is not None and changes["theme"] not in themes:
        raise Invalid(_("No such theme."), field="theme")
    code = form.get("registration_code", "").strip()
    if code:
        changes["registration_code_hash"] = contest_code_hash(code)
    elif changes["registration_mode"] == RegistrationMode.CODE.value and (
            contest is None or not contest.registration_code_hash):
        raise Invalid(_("Choose the code teams must enter to register."),
                      field="registration_code")
    return changes


def _contest_form(contest: Contest) -> dict[str, str]:
    tz = contest.timezone
    return {
        "slug": contest.slug, "title": contest.title, "description": contest.description,
        **{name: _local_input(getattr(contest, name), tz) for name in TIME_FIELDS},
        "timezone": tz, "scoring_rule": contest.scoring_rule, "visibility": contest.visibility,
        "registration_mode": contest.registration_mode, "theme": contest.theme or "",
        "is_practice": "on" if contest.is_practice else "",
        "show_test_results": contest.show_test_results,
    }


def _contest_choices(request: Request) -> dict[str, Any]:
    services = services_of(request)
    rules = services.plugins.scoring_rules
    return {
        "timezones": _timezones(),
        "scoring_rules": [(n, f"{rules.items[n].title} ({n})") for n in rules.names()],
        "visibilities": [(Visibility.PUBLIC.value, _("Public: listed, public scoreboard")),
                         (Visibility.PRIVATE.value, _("Private: its teams and staff only")),
                         (Visibility.HIDDEN.value, _("Hidden: staff only (in preparation)"))],
        "registration_modes": [(RegistrationMode.OPEN.value, _("Open: anyone can register")),
                               (RegistrationMode.CODE.value, _("Code: with a registration code")),
                               (RegistrationMode.CLOSED.value,
                                _("Closed: organizers add the teams")),
                               (RegistrationMode.APPROVAL.value,
                                _("Approval: organizers accept each team"))],
        "test_results": [("samples", _("Sample tests only")),
                         ("all", _("Every test")),
                         ("none", _("None: the verdict only"))],
        "themes": [("", _("Server default"))] + [
            (name, name) for name in sorted(request.app.state.themes.themes)],
    }


def _state_of(contest: Contest, now: datetime) -> str:
    return contest.state_at(now).value


async def _all_contests(request: Request) -> list[Contest]:
    async with services_of(request).db.read() as session:
        return list(await session.exec(select(Contest).order_by(col(Contest.start_at).desc())))


async def _counts(request: Request, contest: Contest) -> dict[str, int]:
    async with services_of(request).db.read() as session:
        async def count(model: Any) -> int:
            result = await session.exec(select(func.count()).select_from(model).where(
                model.contest_id == contest.id))
            return int(result.one())
        return {"problems": await count(ContestProblem), "teams": await count(Team),
                "submissions": await count(Submission),
                "languages": await count(ContestLanguage)}


# -- dashboard and contest list ---------------------------------------------------------------

@get(["/", "/dashboard"], name="admin:dashboard")
async def dashboard(request: Request, user: CurrentUser) -> Response[str]:
    now = utcnow()
    contests = await _all_contests(request)
    upcoming = sorted((c for c in contests if c.state_at(now) == ContestState.SCHEDULED),
                      key=lambda c: c.start_at)
    running = [c for c in contests if c.state_at(now) in {ContestState.RUNNING,
                                                          ContestState.FROZEN}]
    past = [c for c in contests if c.state_at(now) in {ContestState.ENDED,
                                                       ContestState.UNFROZEN}]
    return await render_admin(request, "admin/dashboard.html", section="dashboard",
                              upcoming=upcoming, running=running, past=past, now=now,
                              has_contests=bool(contests))


@get("/contests", name="admin:contests")
async def contests_list(request: Request, user: CurrentUser) -> Response[str]:
    now = utcnow()
    contests = await _all_contests(request)
    return await render_admin(request, "admin/contests.html", section="contests",
                              contests=[(c, _state_of(c, now)) for c in contests])


@get("/contests/new", name="admin:contest-new")
async def contest_new_page(request: Request, user: CurrentUser) -> Response[str]:
    require_manager(user)
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    form = {"timezone": "UTC", "scoring_rule": "icpc" if "icpc" in
            services_of(request).plugins.scoring_rules else "points",
            "visibility": Visibility.HIDDEN.value,
            "registration_mode": RegistrationMode.CLOSED.value,
            "start_at": _local_input(start.replace(day=start.day), "UTC")}
    return await render_admin(request, "admin/contests_new.html", section="contests",
                              form=form, errors={}, **_contest_choices(request))


@post("/contests/new", name="admin:contest-create")
async def contest_create(request: Request, user: CurrentUser) -> Response[str]:
    actor = require_manager(user)
    form = await read_form(request)
    services = services_of(request)
    slug = form.get("slug", "").strip()
    try:
        changes = _contest_changes(request, form, contest=None)
        contest = await actions.create_contest(services, slug=slug, actor=actor, **changes)
    except ActionError as exc:
        errors = errors_of(exc)
        if isinstance(exc, Conflict) and exc.field is None:
            errors = {"slug": _("A contest with this slug already exists.")}
        return await render_admin(request, "admin/contests_new.html", section="contests",
                                  form=form, errors=errors, status_code=exc.status_code,
                                  **_contest_choices(request))
    flash(request, _("Contest created. Next: add problems and enable languages."), "success")
    return redirect(request, f"/admin/contests/{contest.slug}")


# -- contest overview and settings ------------------------------------------------------------

async def _overview(request: Request, contest: Contest, *, form: dict[str, str] | None = None,
                    errors: dict[str, str] | None = None, scoring_form: Any = None,
                    scoring_errors: dict[str, str] | None = None,
                    status_code: int = 200) -> Response[str]:
    services = services_of(request)
    rule = services.plugins.scoring_rules.get(contest.scoring_rule)
    fields = None
    if rule is not None:
        try:
            fields = schema_fields(rule.Settings, contest.scoring_settings or {},
                                   prefix="scoring.", form=scoring_form)
        except Exception:  # noqa: BLE001 - stored settings of an older schema: show defaults
            fields = schema_fields(rule.Settings, prefix="scoring.", form=scoring_form)
    now = utcnow()
    return await render_admin(
        request, "admin/contest_overview.html", contest=contest, section="contest",
        form=form or _contest_form(contest), errors=errors or {}, rule=rule,
        scoring_fields=fields, scoring_errors=scoring_errors or {},
        scoring_general=general_key("scoring."), counts=await _counts(request, contest),
        state=_state_of(contest, now), now=now, status_code=status_code,
        **_contest_choices(request))


@get("/contests/{slug:str}", name="admin:contest")
async def contest_page(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    contest = await admin_contest(request, slug)
    return await _overview(request, contest)


@post("/contests/{slug:str}", name="admin:contest-save")
async def contest_save(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    try:
        changes = _contest_changes(request, form, contest=contest)
        if changes["scoring_rule"] != contest.scoring_rule:
            changes["scoring_settings"] = {}
        await actions.update_contest(services_of(request), _id(contest), actor=actor,
                                     **changes)
    except ActionError as exc:
        return await _overview(request, contest, form={**form, "slug": contest.slug},
                               errors=errors_of(exc), status_code=exc.status_code)
    flash(request, _("Contest saved."), "success")
    return redirect(request, f"/admin/contests/{slug}")


@post("/contests/{slug:str}/scoring", name="admin:contest-scoring")
async def contest_scoring_save(request: Request, slug: FromPath[str], user: CurrentUser
                               ) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    services = services_of(request)
    rule = services.plugins.scoring_rules.get(contest.scoring_rule)
    if rule is None:
        raise NotFoundException(_("scoring rule %(rule)r is not loaded")
                                % {"rule": contest.scoring_rule})
    form = await read_form(request)
    settings, errors = parse_schema_form(rule.Settings, form, prefix="scoring.")
    if settings is not None:
        try:
            await actions.update_contest(services, _id(contest), actor=actor,
                                         scoring_settings=settings)
        except ActionError as exc:
            errors = {general_key("scoring."): exc.message}
    if errors:
        return await _overview(request, contest, scoring_form=form, scoring_errors=errors,
                               status_code=400)
    flash(request, _("Scoring settings saved."), "success")
    return redirect(request, f"/admin/contests/{slug}#scoring")


@get("/contests/{slug:str}/export/event-feed.ndjson", name="admin:export-feed")
async def export_event_feed(request: Request, slug: FromPath[str], user: CurrentUser,
                            view: FromQuery[str] = "jury") -> Response[bytes]:
    contest = await admin_contest(request, slug)
    events = await event_feed(services_of(request), _id(contest), jury=view != "public")
    body = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events)
    return Response(body.encode(), media_type="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="{contest.slug}-event-feed.ndjson"'})


@get("/contests/{slug:str}/export/scoreboard.json", name="admin:export-scoreboard")
async def export_scoreboard(request: Request, slug: FromPath[str], user: CurrentUser,
                            view: FromQuery[str] = "jury") -> Response[bytes]:
    contest = await admin_contest(request, slug)
    try:
        board = await contest_api_scoreboard(services_of(request), contest.slug,
                                             public=view == "public")
    except ActionError as exc:
        raise NotFoundException(exc.message) from None
    return Response(json.dumps(board, indent=2).encode(), media_type="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="{contest.slug}-scoreboard.json"'})


# -- plugins ----------------------------------------------------------------------------------

def _plugin_entries(request: Request, contest: Contest, *, posted: str | None = None,
                    form: Form | None = None, errors: dict[str, str] | None = None
                    ) -> list[dict[str, Any]]:
    services = services_of(request)
    enabled = dict(contest.plugins or {})
    out = []
    for info in services.plugins.describe():
        name = info["name"]
        schema = services.plugins.settings_schema(name)
        prefix = f"{name}."
        fields = []
        if schema is not None:
            stored = enabled.get(name)
            try:
                fields = schema_fields(schema, stored, prefix=prefix,
                                       form=form if posted == name else None)
            except Exception:  # noqa: BLE001 - stored settings of an older schema
                fields = schema_fields(schema, prefix=prefix)
        out.append({**info, "enabled": name in enabled, "fields": fields,
                    "has_settings": schema is not None, "general": general_key(prefix),
                    "errors": errors if posted == name else {}})
    return out


async def _plugins_page(request: Request, contest: Contest, *, status_code: int = 200,
                        **kwargs: Any) -> Response[str]:
    return await render_admin(request, "admin/plugins.html", contest=contest,
                              section="plugins", status_code=status_code,
                              plugins=_plugin_entries(request, contest, **kwargs))


@get("/contests/{slug:str}/plugins", name="admin:plugins")
async def plugins_page(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    return await _plugins_page(request, await admin_contest(request, slug))


@post("/contests/{slug:str}/plugins/{name:str}", name="admin:plugin-save")
async def plugin_save(request: Request, slug: FromPath[str], name: FromPath[str],
                      user: CurrentUser) -> Response[str]:
    """Enable the plugin or save its settings (the same form: ``op`` says which)."""
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    services = services_of(request)
    if name not in services.plugins.info:
        raise NotFoundException(_("no plugin named %(name)r is loaded") % {"name": name})
    form = await read_form(request)
    schema = services.plugins.settings_schema(name)
    settings: dict[str, Any] | None = {}
    errors: dict[str, str] = {}
    if schema is not None:
        settings, errors = parse_schema_form(schema, form, prefix=f"{name}.")
    if not errors:
        try:
            await actions.configure_plugin(services, _id(contest), name, settings,
                                           actor=actor)
        except ActionError as exc:
            errors = {general_key(f"{name}."): exc.message}
    if errors:
        return await _plugins_page(request, contest, posted=name, form=form, errors=errors,
                                   status_code=400)
    enabled_before = name in (contest.plugins or {})
    flash(request, _("Settings of {name} saved.").format(name=name) if enabled_before
          else _("{name} enabled.").format(name=name), "success")
    return redirect(request, f"/admin/contests/{slug}/plugins#plugin-{name}")


@post("/contests/{slug:str}/plugins/{name:str}/disable", name="admin:plugin-disable")
async def plugin_disable(request: Request, slug: FromPath[str], name: FromPath[str],
                         user: CurrentUser) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    try:
        await actions.disable_plugin(services_of(request), _id(contest), name, actor=actor)
    except ActionError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, _("{name} disabled.").format(name=name), "success")
    return redirect(request, f"/admin/contests/{slug}/plugins#plugin-{name}")


# -- contest problems -------------------------------------------------------------------------

async def _contest_problems(request: Request, contest: Contest
                            ) -> tuple[list[tuple[ContestProblem, Problem]], list[Problem]]:
    async with services_of(request).db.read() as session:
        rows = list(await session.exec(
            select(ContestProblem, Problem)
            .join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
            .where(ContestProblem.contest_id == contest.id)
            .order_by(col(ContestProblem.ordinal), col(ContestProblem.label))))
        used = {p.id for _, p in rows}
        bank = [p for p in await session.exec(select(Problem).order_by(col(Problem.slug)))
                if p.id not in used]
    return rows, bank  # type: ignore[return-value]


def _next_label(rows: list[tuple[ContestProblem, Problem]]) -> str:
    taken = {cp.label for cp, _ in rows}
    return next((chr(c) for c in range(ord("A"), ord("Z") + 1) if chr(c) not in taken), "")


async def _problems_page(request: Request, contest: Contest, *, status_code: int = 200,
                         add_form: dict[str, str] | None = None,
                         add_errors: dict[str, str] | None = None,
                         upload_form: dict[str, str] | None = None,
                         upload_errors: dict[str, str] | None = None,
                         edit_label: str | None = None, edit_form: dict[str, str] | None = None,
                         edit_errors: dict[str, str] | None = None) -> Response[str]:
    rows, bank = await _contest_problems(request, contest)
    label = _next_label(rows)
    return await render_admin(
        request, "admin/contest_problems.html", contest=contest, section="contest-problems",
        rows=rows, bank=bank, status_code=status_code,
        add_form=add_form or {"label": label, "points": "1"}, add_errors=add_errors or {},
        upload_form=upload_form or {"label": label, "points": "1"},
        upload_errors=upload_errors or {}, edit_label=edit_label, edit_form=edit_form or {},
        edit_errors=edit_errors or {}, max_package_mb=MAX_PACKAGE_BYTES // (1024 * 1024))


@get("/contests/{slug:str}/problems", name="admin:contest-problems")
async def contest_problems_page(request: Request, slug: FromPath[str], user: CurrentUser
                                ) -> Response[str]:
    return await _problems_page(request, await admin_contest(request, slug))


def _points(form: Form, name: str = "points") -> float:
    raw = form.get(name, "").strip() or "1"
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(_("Enter a number."), field=name) from None
    if value != value or value in {float("inf"), float("-inf")}:
        raise Invalid(_("Enter a number."), field=name)
    return value


@post("/contests/{slug:str}/problems/add", name="admin:contest-problem-add")
async def contest_problem_add(request: Request, slug: FromPath[str], user: CurrentUser
                              ) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    try:
        problem = form.get("problem", "").strip()
        if not problem:
            raise Invalid(_("Choose a problem."), field="problem")
        await actions.add_contest_problem(
            services_of(request), _id(contest), problem, label=form.get("label", "").strip(),
            points=_points(form), color=form.get("color", "").strip() or None, actor=actor)
    except ActionError as exc:
        errors = errors_of(exc)
        if exc.field == "color":
            errors = {"add_color": exc.message}
        if exc.field is None or exc.field == "problem" and exc.status_code == 404:
            errors = {"problem" if exc.status_code == 404 else "label": exc.message}
        return await _problems_page(request, contest, add_form=form, add_errors=errors,
                                    status_code=exc.status_code)
    flash(request, _("Problem added."), "success")
    return redirect(request, f"/admin/contests/{slug}/problems")


def _load_package(data: bytes, filename: str) -> Any:
    """Write the upload to a temporary .zip and read it (the package owns its extraction)."""
    from judges.problems import load_package

    with tempfile.TemporaryDirectory(prefix="podium-upload-") as folder:
        path = Path(folder) / (Path(filename).name or "package.zip")
        if path.suffix.lower() != ".zip":
            path = path.with_suffix(".zip")
        path.write_bytes(data)
        return load_package(path)


@post("/contests/{slug:str}/problems/upload", name="admin:contest-problem-upload",
      request_max_body_size=MAX_PACKAGE_BYTES + 1024 * 1024)
async def contest_problem_upload(request: Request, slug: FromPath[str], user: CurrentUser
                                 ) -> Response[str]:
    """Import an ICPC / Kattis problem package (.zip) and add it to the contest."""
    from judges.problems import PackageError

    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    services = services_of(request)
    label = form.get("label", "").strip()

    async def fail(field: str, message: str, status: int = 400) -> Response[str]:
        return await _problems_page(request, contest, upload_form=form,
                                    upload_errors={field: message}, status_code=status)

    upload = form.files.get("package")
    if upload is None:
        return await fail("package", _("Choose a problem package (.zip) to upload."))
    if label and not LABEL_RE.match(label):
        return await fail("label", _("The label must be 1-16 letters or digits."))
    rows, _bank = await _contest_problems(request, contest)
    if label and label in {cp.label for cp, _p in rows}:
        return await fail("label", _("Label {label} is already used in this contest.")
                          .format(label=label), 409)
    try:
        points = _points(form)
    except ActionError as exc:
        return await fail("points", exc.message)
    data = await upload.read()
    if len(data) > MAX_PACKAGE_BYTES:
        return await fail("package", _("The package is larger than {mb} MB.").format(
            mb=MAX_PACKAGE_BYTES // (1024 * 1024)), 413)
    try:
        package = await asyncio.to_thread(_load_package, data, upload.filename or "")
    except PackageError as exc:
        return await fail("package", _("Not a valid problem package: {error}").format(
            error=exc))
    try:
        with package:
            report = await import_package(services, package, contest=contest.id,
                                          label=label or None, points=points,
                                          slug=form.get("slug", "").strip() or None,
                                          actor=actor)
    except ActionError as exc:
        field = {"slug": "slug", "label": "label", "points": "points"}.get(exc.field or "",
                                                                           "package")
        return await fail(field, exc.message, exc.status_code)
    message = _("Imported {slug} ({title}): {cases} test cases.").format(
        slug=report.problem.slug, title=report.problem.title, cases=report.test_cases)
    flash(request, message, "success")
    for warning in report.warnings:
        flash(request, warning, "info")
    return redirect(request, f"/admin/contests/{slug}/problems")


@post("/contests/{slug:str}/problems/{label:str}", name="admin:contest-problem-save")
async def contest_problem_save(request: Request, slug: FromPath[str], label: FromPath[str],
                               user: CurrentUser) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    try:
        ordinal_raw = form.get("ordinal", "").strip()
        try:
            ordinal = int(ordinal_raw) if ordinal_raw else None
        except ValueError:
            raise Invalid(_("Enter a whole number."), field="ordinal") from None
        await contest_actions.update_contest_problem(
            services_of(request), _id(contest), label,
            new_label=form.get("label", "").strip() or None, points=_points(form),
            color=form.get("color", "").strip(), ordinal=ordinal, actor=actor)
    except ActionError as exc:
        errors = errors_of(exc)
        if exc.field is None:
            errors = {"label": exc.message}
        return await _problems_page(request, contest, edit_label=label, edit_form=form,
                                    edit_errors=errors, status_code=exc.status_code)
    flash(request, _("Problem {label} saved.").format(label=label), "success")
    return redirect(request, f"/admin/contests/{slug}/problems")


@post("/contests/{slug:str}/problems/{label:str}/remove", name="admin:contest-problem-remove")
async def contest_problem_remove(request: Request, slug: FromPath[str], label: FromPath[str],
                                 user: CurrentUser) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    try:
        await contest_actions.remove_contest_problem(services_of(request), _id(contest), label,
                                                     actor=actor)
    except ActionError as exc:
        flash(request, exc.message, "error")
    else:
        flash(request, _("Problem {label} removed from the contest (it stays in the problem "
                         "bank).").format(label=label), "success")
    return redirect(request, f"/admin/contests/{slug}/problems")


# -- languages --------------------------------------------------------------------------------

async def _enabled_languages(request: Request, contest: Contest) -> set[str]:
    async with services_of(request).db.read() as session:
        return set(await session.exec(select(ContestLanguage.language).where(
            ContestLanguage.contest_id == contest.id)))


async def _languages_page(request: Request, contest: Contest, enabled: set[str], *,
                          errors: dict[str, str] | None = None, status_code: int = 200
                          ) -> Response[str]:
    catalog = services_of(request).plugins.languages
    languages = [(name, catalog.items[name]) for name in catalog.names()]
    return await render_admin(request, "admin/languages.html", contest=contest,
                              section="languages", languages=languages, enabled=enabled,
                              errors=errors or {}, status_code=status_code,
                              stale=sorted(enabled - set(catalog.names())))


@get("/contests/{slug:str}/languages", name="admin:languages")
async def languages_page(request: Request, slug: FromPath[str], user: CurrentUser
                         ) -> Response[str]:
    contest = await admin_contest(request, slug)
    return await _languages_page(request, contest, await _enabled_languages(request, contest))


@post("/contests/{slug:str}/languages", name="admin:languages-save")
async def languages_save(request: Request, slug: FromPath[str], user: CurrentUser
                         ) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    services = services_of(request)
    form = await read_form(request)
    wanted = set(form.getall("languages"))
    unknown = wanted - set(services.plugins.languages.names())
    if unknown:
        return await _languages_page(
            request, contest, wanted, status_code=400,
            errors={"languages": _("Unknown language: {names}").format(
                names=", ".join(sorted(unknown)))})
    current = await _enabled_languages(request, contest)
    for name in sorted(wanted - current):
        await actions.enable_language(services, _id(contest), name, actor=actor)
    for name in sorted(current - wanted):
        try:
            await contest_actions.disable_language(services, _id(contest), name, actor=actor)
        except ActionError:
            pass  # disabled at the same time by someone else
    flash(request, _("Languages saved."), "success")
    return redirect(request, f"/admin/contests/{slug}/languages")


# -- scoreboard, freeze and reveal ------------------------------------------------------------

async def _scoreboard_page(request: Request, contest: Contest, *, error: str | None = None,
                           status_code: int = 200) -> Response[str]:
    from server.web.live import board_html

    services = services_of(request)
    html, board_error = await board_html(request, contest, "jury")
    try:
        reveal = await freeze_actions.reveal_status(services, _id(contest))
    except Exception:  # noqa: BLE001 - no board (e.g. a scoring rule that is not loaded)
        reveal = None
    now = utcnow()
    return await render_admin(
        request, "admin/scoreboard.html", contest=contest, section="scoreboard",
        board_html=html, board_error=board_error, reveal=reveal, now=now,
        state=_state_of(contest, now), frozen=contest.is_frozen_at(now),
        ws_url=f"/contests/{contest.slug}/scoreboard/ws?view=jury", action_error=error,
        status_code=status_code)


@get("/contests/{slug:str}/scoreboard", name="admin:scoreboard")
async def scoreboard_page(request: Request, slug: FromPath[str], user: CurrentUser
                          ) -> Response[str]:
    return await _scoreboard_page(request, await admin_contest(request, slug))


async def _freeze_step(request: Request, slug: str, user: User | None, step: str
                       ) -> Response[str]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    services = services_of(request)
    try:
        if step == "start-now":
            await freeze_actions.start_now(services, _id(contest), actor=actor)
            message = _("The contest has started.")
        elif step == "end-now":
            await freeze_actions.end_now(services, _id(contest), actor=actor)
            message = _("The contest has ended.")
        elif step == "freeze":
            await freeze_actions.freeze_now(services, _id(contest), actor=actor)
            message = _("The public scoreboard is frozen.")
        elif step == "unfreeze":
            await freeze_actions.unfreeze(services, _id(contest), actor=actor)
            message = _("The public scoreboard shows every result again.")
        elif step == "start":
            await freeze_actions.start_reveal(services, _id(contest), actor=actor)
            message = _("The reveal has started: open the reveal page on the projector.")
        else:
            status = await freeze_actions.reveal_next(services, _id(contest), actor=actor)
            message = (_("Revealed {step} of {total}.").format(**status) if status["active"]
                       else _("Everything is revealed: the scoreboard is unfrozen."))
    except ActionError as exc:
        fresh = await admin_contest(request, slug)
        return await _scoreboard_page(request, fresh, error=exc.message,
                                      status_code=exc.status_code)
    flash(request, message, "success")
    return redirect(request, f"/admin/contests/{slug}/scoreboard")


@post("/contests/{slug:str}/start-now", name="admin:start-now")
async def start_now_post(request: Request, slug: FromPath[str], user: CurrentUser
                         ) -> Response[str]:
    return await _freeze_step(request, slug, user, "start-now")


@post("/contests/{slug:str}/end-now", name="admin:end-now")
async def end_now_post(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    return await _freeze_step(request, slug, user, "end-now")


@post("/contests/{slug:str}/freeze", name="admin:freeze")
async def freeze_post(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[str]:
    return await _freeze_step(request, slug, user, "freeze")


@post("/contests/{slug:str}/unfreeze", name="admin:unfreeze")
async def unfreeze_post(request: Request, slug: FromPath[str], user: CurrentUser
                        ) -> Response[str]:
    return await _freeze_step(request, slug, user, "unfreeze")


@post("/contests/{slug:str}/reveal/start", name="admin:reveal-start")
async def reveal_start_post(request: Request, slug: FromPath[str], user: CurrentUser
                            ) -> Response[str]:
    return await _freeze_step(request, slug, user, "start")


@post("/contests/{slug:str}/reveal/next", name="admin:reveal-next")
async def reveal_next_post(request: Request, slug: FromPath[str], user: CurrentUser
                           ) -> Response[str]:
    return await _freeze_step(request, slug, user, "next")


# -- the problem bank -------------------------------------------------------------------------

PROBLEM_DEFAULTS = {"time_limit_ms": "1000", "memory_limit_mb": "256", "output_limit_kb": "8192",
                    "statement_format": "markdown"}


def _int_field(form: Form, name: str) -> int:
    raw = form.get(name, "").strip()
    try:
        return int(raw)
    except ValueError:
        raise Invalid(_("Enter a whole number."), field=name) from None


def _problem_changes(form: Form) -> dict[str, Any]:
    return {
        "title": form.get("title", ""),
        "statement": form.get("statement", ""),
        "statement_format": form.get("statement_format", "markdown"),
        "time_limit_ms": _int_field(form, "time_limit_ms"),
        "memory_limit_mb": _int_field(form, "memory_limit_mb"),
        "output_limit_kb": _int_field(form, "output_limit_kb"),
    }


async def _bank_page(request: Request, *, form: dict[str, str] | None = None,
                     errors: dict[str, str] | None = None, status_code: int = 200
                     ) -> Response[str]:
    async with services_of(request).db.read() as session:
        problems = list(await session.exec(select(Problem).order_by(col(Problem.slug))))
        cases = dict((pid, n) for pid, n in await session.exec(  # type: ignore[call-overload]
            select(TestCase.problem_id, func.count()).group_by(col(TestCase.problem_id))))
        uses = dict((pid, n) for pid, n in await session.exec(  # type: ignore[call-overload]
            select(ContestProblem.problem_id, func.count())
            .group_by(col(ContestProblem.problem_id))))
    return await render_admin(request, "admin/problems.html", section="problems",
                              problems=problems, cases=cases, uses=uses,
                              form=form or dict(PROBLEM_DEFAULTS), errors=errors or {},
                              formats=[(f, f) for f in STATEMENT_FORMATS],
                              status_code=status_code)


@get("/problems", name="admin:problems")
async def problems_page(request: Request, user: CurrentUser) -> Response[str]:
    return await _bank_page(request)


@post("/problems", name="admin:problem-create")
async def problem_create(request: Request, user: CurrentUser) -> Response[str]:
    actor = require_manager(user)
    form = await read_form(request)
    slug = form.get("slug", "").strip()
    try:
        changes = _problem_changes(form)
        await actions.create_problem(services_of(request), slug=slug, actor=actor,
                                     checker="tokens" if "tokens" in
                                     services_of(request).plugins.checkers else "exact",
                                     **changes)
    except ActionError as exc:
        errors = errors_of(exc)
        if isinstance(exc, Conflict):
            errors = {"slug": _("A problem with this slug already exists.")}
        return await _bank_page(request, form=form, errors=errors, status_code=exc.status_code)
    flash(request, _("Problem created. Next: upload its test data."), "success")
    return redirect(request, f"/admin/problems/{slug}")


@post("/problems/preview", name="admin:problem-preview", status_code=200)
async def problem_preview(request: Request, user: CurrentUser) -> Response[str]:
    """The statement as contestants will see it (sanitized); a fragment for HTMX."""
    form = await read_form(request)
    fmt = form.get("statement_format", "markdown")
    if fmt not in STATEMENT_FORMATS:
        fmt = "markdown"
    html = render_statement(form.get("statement", ""), fmt)
    if request.headers.get("hx-request"):
        return Response(f'<div class="statement">{html}</div>', status_code=200,
                        media_type="text/html; charset=utf-8")
    return await render_admin(request, "admin/problems_preview.html", section="problems",
                              preview=html)


async def _problem(request: Request, slug: str) -> Problem:
    async with services_of(request).db.read() as session:
        problem = (await session.exec(select(Problem).where(Problem.slug == slug))).first()
    if problem is None:
        raise NotFoundException(_("problem %(slug)r does not exist") % {"slug": slug})
    return problem


async def _problem_page(request: Request, problem: Problem, *,
                        form: dict[str, str] | None = None,
                        errors: dict[str, str] | None = None,
                        test_form: dict[str, str] | None = None,
                        test_errors: dict[str, str] | None = None,
                        status_code: int = 200) -> Response[str]:
    async with services_of(request).db.read() as session:
        cases = list(await session.exec(select(TestCase).where(
            TestCase.problem_id == problem.id).order_by(col(TestCase.ordinal))))
        groups = {g.id: g for g in await session.exec(select(TestGroup).where(
            TestGroup.problem_id == problem.id))}
        contests = list(await session.exec(
            select(Contest, ContestProblem)
            .join(ContestProblem, ContestProblem.contest_id == Contest.id)  # type: ignore[arg-type]
            .where(ContestProblem.problem_id == problem.id)))
    current = {"title": problem.title, "statement": problem.statement,
               "statement_format": problem.statement_format,
               "time_limit_ms": str(problem.time_limit_ms),
               "memory_limit_mb": str(problem.memory_limit_mb),
               "output_limit_kb": str(problem.output_limit_kb)}
    return await render_admin(
        request, "admin/problems_edit.html", section="problems", problem=problem,
        form=form or current, errors=errors or {}, cases=cases, groups=groups,
        contests=contests, test_form=test_form or {}, test_errors=test_errors or {},
        formats=[(f, f) for f in STATEMENT_FORMATS], status_code=status_code)


@get("/problems/{slug:str}", name="admin:problem")
async def problem_page(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    return await _problem_page(request, await _problem(request, slug))


@post("/problems/{slug:str}", name="admin:problem-save")
async def problem_save(request: Request, slug: FromPath[str], user: CurrentUser
                       ) -> Response[str]:
    actor = require_manager(user)
    problem = await _problem(request, slug)
    form = await read_form(request)
    try:
        await contest_actions.update_problem(services_of(request), _id(problem), actor=actor,
                                             **_problem_changes(form))
    except ActionError as exc:
        return await _problem_page(request, problem, form=form, errors=errors_of(exc),
                                   status_code=exc.status_code)
    flash(request, _("Problem saved."), "success")
    return redirect(request, f"/admin/problems/{slug}")


@post("/problems/{slug:str}/tests", name="admin:problem-test-add",
      request_max_body_size=MAX_TEST_UPLOAD_BYTES + 1024 * 1024)
async def problem_test_add(request: Request, slug: FromPath[str], user: CurrentUser
                           ) -> Response[str]:
    actor = require_manager(user)
    problem = await _problem(request, slug)
    form = await read_form(request)

    async def fail(field: str, message: str, status: int = 400) -> Response[str]:
        return await _problem_page(request, problem, test_form=form,
                                   test_errors={field: message}, status_code=status)

    input_file, answer_file = form.files.get("input"), form.files.get("answer")
    if input_file is None:
        return await fail("input", _("Choose the input file."))
    if answer_file is None:
        return await fail("answer", _("Choose the answer file."))
    name = form.get("name", "").strip() or Path(input_file.filename or "").stem
    group = form.get("group", "").strip() or None
    try:
        await add_test_case(services_of(request), _id(problem), name=name,
                            input=await input_file.read(), answer=await answer_file.read(),
                            group=group, is_sample=form.flag("is_sample"), actor=actor)
    except ActionError as exc:
        field = {"name": "name", "input": "input"}.get(exc.field or "", "name")
        return await fail(field, exc.message, exc.status_code)
    flash(request, _("Test case {name} added.").format(name=name), "success")
    return redirect(request, f"/admin/problems/{slug}#tests")


route_handlers: list[Any] = [
    dashboard, contests_list, contest_new_page, contest_create, contest_page, contest_save,
    contest_scoring_save, export_event_feed, export_scoreboard, plugins_page, plugin_save,
    plugin_disable, contest_problems_page, contest_problem_add, contest_problem_upload,
    contest_problem_save, contest_problem_remove, languages_page, languages_save, scoreboard_page, start_now_post, end_now_post, freeze_post,
    unfreeze_post, reveal_start_post, reveal_next_post, problems_page, problem_create,
    problem_preview, problem_page, problem_save, problem_test_add,
]
