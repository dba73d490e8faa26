"""Admin pages: people — users (list, create, edit, CSV import), a contest's teams, groups and
affiliations.

The jury may look; organizers and admins change (``require_manager``); only an admin creates
an admin, promotes to admin or changes an admin's account.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from sqlalchemy import func, or_
from sqlmodel import col, select

from server import actions
from server.actions.imports import ImportFailed, generate_password, import_users
from server.errors import ActionError
from server.i18n import gettext as _
from server.models import (
    Affiliation,
    Contest,
    Group,
    GroupKind,
    Role,
    Team,
    TeamGroup,
    TeamMember,
    User,
)
from server.web.admin.common import admin_contest, render_admin, require_manager
from server.web.admin.judging import Pager
from server.web.auth import CurrentUser, services_of
from server.web.forms import GENERAL, errors_of, flash, read_form, redirect

__all__ = ["route_handlers"]

PER_PAGE = 50
ROLES = [r.value for r in Role]


def _check_role_change(actor: User, role: str, target: User | None = None) -> None:
    """Only an admin makes admins or touches an admin's account."""
    if actor.role == Role.ADMIN.value:
        return
    if role == Role.ADMIN.value:
        raise PermissionDeniedException(_("only an admin may create or promote an admin"))
    if target is not None and target.role == Role.ADMIN.value:
        raise PermissionDeniedException(_("only an admin may change an admin's account"))


def _no_store(response: Response[str]) -> Response[str]:
    """A page that shows a password once: no browser or proxy may keep a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _role_options(actor: User | None) -> list[tuple[str, str]]:
    allowed = ROLES if actor is not None and actor.role == Role.ADMIN.value else [
        r for r in ROLES if r != Role.ADMIN.value]
    return [(r, r) for r in allowed]


# ------------------------------------------------------------------ users


@get("/users", name="admin_users")
async def users_page(request: Request, user: CurrentUser, q: FromQuery[str | None] = None,
                     role: FromQuery[str | None] = None,
                     page: FromQuery[int | None] = None) -> Response[str]:
    filters = {"q": (q or "").strip(), "role": (role or "").strip()}
    conditions: list[Any] = []
    if filters["q"]:
        pattern = "%" + filters["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_") + "%"
        conditions.append(or_(*(func.lower(column).like(pattern, escape="\\") for column in (
            col(User.username), col(User.display_name), col(User.email)))))
    if filters["role"]:
        conditions.append(User.role == filters["role"])
    async with services_of(request).db.read() as session:
        total = (await session.exec(select(func.count()).select_from(User).where(
            *conditions))).one()
        pages = max(1, math.ceil(total / PER_PAGE))
        pager = Pager(page=min(max(page or 1, 1), pages), per_page=PER_PAGE, total=total,
                      base="/admin/users", params=filters)
        users = list(await session.exec(select(User).where(*conditions).order_by(
            col(User.username)).offset(pager.offset).limit(PER_PAGE)))
    return await render_admin(request, "admin/users.html", section="users", users=users,
                              pager=pager, filters=filters, roles=ROLES)


@get("/users/new", name="admin_user_new")
async def user_new_page(request: Request, user: CurrentUser) -> Response[str]:
    require_manager(user)
    return await render_admin(request, "admin/users_new.html", section="users",
                              form={"role": Role.CONTESTANT.value}, errors={},
                              role_options=_role_options(user))


@post("/users/new")
async def user_create(request: Request, user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    form = await read_form(request)
    role = form.get("role", Role.CONTESTANT.value)
    _check_role_change(actor, role)
    errors: dict[str, str] = {}
    password = form.get("password", "")
    generated = None
    if not password:
        password = generated = generate_password()
    email = form.get("email", "").strip()
    if email and "@" not in email:
        errors["email"] = _("Enter a valid e-mail address (or leave it empty).")
    if not errors:
        try:
            created = await actions.create_user(
                services_of(request), form.get("username", "").strip(), password=password,
                role=role, display_name=form.get("display_name", "").strip(),
                email=email or None, actor=actor)
        except ActionError as exc:
            return await render_admin(request, "admin/users_new.html", section="users",
                                      form=form, errors=errors_of(exc),
                                      role_options=_role_options(actor),
                                      status_code=exc.status_code)
        if generated:  # shown once, on this page, never stored in clear
            return _no_store(await render_admin(
                request, "admin/users_edit.html", section="users",
                **await _user_context(request, created.id),  # type: ignore[arg-type]
                form=_user_form(created), errors={}, new_password=generated,
                role_options=_role_options(actor), status_code=201))
        flash(request, _("User %(name)s created.") % {"name": created.username}, "success")
        return redirect(request, f"/admin/users/{created.id}")
    return await render_admin(request, "admin/users_new.html", section="users", form=form,
                              errors=errors, role_options=_role_options(actor),
                              status_code=400)


def _user_form(target: User) -> dict[str, str]:
    return {"display_name": target.display_name, "email": target.email or "",
            "role": target.role, "is_active": "on" if target.is_active else ""}


async def _user_context(request: Request, user_id: int) -> dict[str, Any]:
    async with services_of(request).db.read() as session:
        target = await session.get(User, user_id)
        if target is None:
            raise NotFoundException(_("user %(user_id)s does not exist") % {"user_id": user_id})
        teams = list(await session.exec(
            select(Team, Contest).join(TeamMember, TeamMember.team_id == Team.id)  # type: ignore[arg-type]
            .join(Contest, Contest.id == Team.contest_id)  # type: ignore[arg-type]
            .where(TeamMember.user_id == user_id).order_by(col(Contest.start_at).desc())))
    return {"target": target, "teams": teams}


@get("/users/{user_id:int}", name="admin_user")
async def user_page(request: Request, user_id: FromPath[int], user: CurrentUser) -> Response[str]:
    context = await _user_context(request, user_id)
    return await render_admin(request, "admin/users_edit.html", section="users", **context,
                              form=_user_form(context["target"]), errors={},
                              role_options=_role_options(user))


@post("/users/{user_id:int}")
async def user_save(request: Request, user_id: FromPath[int], user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    services = services_of(request)
    context = await _user_context(request, user_id)
    target: User = context["target"]
    form = await read_form(request)
    role = form.get("role", target.role)
    _check_role_change(actor, role, target)
    active = form.flag("is_active")
    errors: dict[str, str] = {}
    if target.id == actor.id and role != actor.role:
        errors["role"] = _("You cannot change your own role.")
    if target.id == actor.id and not active:
        errors["is_active"] = _("You cannot deactivate your own account.")
    new_password = form.get("new_password", "")
    generated = None
    if form.flag("generate_password"):
        new_password = generated = generate_password()
    status = 400
    if not errors:
        try:
            await actions.update_user(services, user_id, display_name=form.get("display_name", ""),
                                      email=form.get("email", ""), role=role, is_active=active,
                                      actor=actor)
            if new_password:
                await actions.set_password(services, user_id, new_password, actor=actor)
        except ActionError as exc:
            errors, status = errors_of(exc), exc.status_code
            if "password" in errors:
                errors["new_password"] = errors.pop("password")
    if errors:
        return await render_admin(request, "admin/users_edit.html", section="users", **context,
                                  form=form, errors=errors, role_options=_role_options(actor),
                                  status_code=status)
    if generated:
        context = await _user_context(request, user_id)
        return _no_store(await render_admin(
            request, "admin/users_edit.html", section="users", **context,
            form=_user_form(context["target"]), errors={}, new_password=generated,
            role_options=_role_options(actor)))
    flash(request, _("Saved."), "success")
    return redirect(request, f"/admin/users/{user_id}")


# ------------------------------------------------------------------ CSV import


async def _contests(request: Request) -> list[Contest]:
    async with services_of(request).db.read() as session:
        return list(await session.exec(select(Contest).order_by(col(Contest.start_at).desc())))


@get("/users/import", name="admin_users_import")
async def import_page(request: Request, user: CurrentUser,
                      contest: FromQuery[str | None] = None) -> Response[str]:
    require_manager(user)
    return await render_admin(request, "admin/users_import.html", section="users",
                              contests=await _contests(request), form={"contest": contest or ""},
                              errors={}, row_errors=[])


@post("/users/import")
async def import_post(request: Request, user: CurrentUser) -> Response[str]:
    actor = require_manager(user)
    form = await read_form(request)
    upload = form.files.get("file")
    data: bytes | str = await upload.read() if upload is not None else form.get("text", "")
    contest = form.get("contest", "").strip() or None
    contests = await _contests(request)
    errors: dict[str, str] = {}
    row_errors: list[Any] = []
    if not data or (isinstance(data, str) and not data.strip()):
        errors["file"] = _("Choose a CSV file (or paste its text).")
    elif contest is not None and contest not in {c.slug for c in contests}:
        errors["contest"] = _("Unknown contest.")
    if not errors:
        try:
            result = await import_users(services_of(request), data, contest=contest, actor=actor)
        except ImportFailed as exc:
            row_errors = exc.errors
            errors[GENERAL] = exc.message
            status = exc.status_code
        except ActionError as exc:
            errors, status = errors_of(exc), exc.status_code
        else:
            csv_text = result.passwords_csv()
            generated = [u for u in result.users if u.password is not None]
            return _no_store(await render_admin(
                request, "admin/users_import_result.html", section="users", result=result,
                generated=generated, contest=None, contest_slug=contest,
                download="data:text/csv;charset=utf-8," + quote(csv_text), status_code=201))
    else:
        status = 400
    return await render_admin(request, "admin/users_import.html", section="users",
                              contests=contests, form=form, errors=errors,
                              row_errors=row_errors, status_code=status)


# ------------------------------------------------------------------ teams, groups, affiliations


async def _teams_context(request: Request, contest: Contest) -> dict[str, Any]:
    async with services_of(request).db.read() as session:
        teams = list(await session.exec(select(Team).where(
            Team.contest_id == contest.id).order_by(col(Team.name))))
        members: dict[int, list[tuple[TeamMember, User]]] = {}
        for member, member_user in await session.exec(
                select(TeamMember, User).join(User, User.id == TeamMember.user_id)  # type: ignore[arg-type]
                .where(TeamMember.contest_id == contest.id)
                .order_by(col(TeamMember.is_captain).desc(), col(User.username))):
            members.setdefault(member.team_id, []).append((member, member_user))
        groups = list(await session.exec(select(Group).where(or_(
            Group.contest_id == contest.id, col(Group.contest_id).is_(None))).order_by(
            col(Group.sort_order), col(Group.name))))
        team_groups: dict[int, list[int]] = {}
        group_sizes: dict[int, int] = {}
        for link in await session.exec(select(TeamGroup).where(col(TeamGroup.team_id).in_(
                select(Team.id).where(Team.contest_id == contest.id)))):
            team_groups.setdefault(link.team_id, []).append(link.group_id)
            group_sizes[link.group_id] = group_sizes.get(link.group_id, 0) + 1
        affiliations = list(await session.exec(select(Affiliation).order_by(
            col(Affiliation.name))))
    return {"teams": teams, "members": members, "groups": groups,
            "group_names": {g.id: g.name for g in groups}, "team_groups": team_groups,
            "group_sizes": group_sizes, "affiliations": affiliations,
            "affiliation_names": {a.id: a.short_name or a.name for a in affiliations},
            "kinds": [k.value for k in GroupKind]}


async def _teams_page(request: Request, contest: Contest, *, status_code: int = 200,
                      **extra: Any) -> Response[str]:
    context = await _teams_context(request, contest)
    defaults: dict[str, Any] = {"form": {}, "errors": {}, "which": "", "member_errors": {}}
    return await render_admin(request, "admin/contest_teams.html", contest=contest,
                              section="teams", status_code=status_code,
                              **context, **{**defaults, **extra})


@get("/contests/{slug:str}/teams", name="admin_teams")
async def teams_page(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[str]:
    return await _teams_page(request, await admin_contest(request, slug))


async def _user_ids(request: Request, names: list[str]) -> tuple[list[int], list[str]]:
    """User ids of these usernames, and the names that match no user."""
    if not names:
        return [], []
    async with services_of(request).db.read() as session:
        found = {u.username: u.id for u in await session.exec(select(User).where(
            col(User.username).in_(names)))}
    return [found[n] for n in names if n in found], [n for n in names if n not in found]  # type: ignore[misc]


def _int_or_none(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isdigit() else None


@post("/contests/{slug:str}/teams")
async def team_create(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    names = [n.strip() for n in form.get("members", "").replace(";", ",").split(",") if n.strip()]
    ids, unknown = await _user_ids(request, names)
    if unknown:
        return await _teams_page(request, contest, form=form, which="team", status_code=400,
                                 errors={"members": _("No such user: %(names)s")
                                         % {"names": ", ".join(unknown)}})
    try:
        team = await actions.create_team(
            services_of(request), contest.id,  # type: ignore[arg-type]
            name=form.get("name", ""), display_name=form.get("display_name", ""),
            affiliation_id=_int_or_none(form.get("affiliation_id", "")),
            group_ids=[int(g) for g in form.getall("group_ids") if g.isdigit()],
            member_ids=ids, hidden=form.flag("hidden"), actor=actor)
    except ActionError as exc:
        errors = errors_of(exc)
        if "already in a team" in exc.msgid and GENERAL in errors:
            errors = {"members": exc.message}
        return await _teams_page(request, contest, form=form, which="team", errors=errors,
                                 status_code=exc.status_code)
    flash(request, _("Team %(name)s created.") % {"name": team.name}, "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#team-{team.id}")


async def _team_of(request: Request, contest: Contest, team_id: int) -> Team:
    async with services_of(request).db.read() as session:
        team = await session.get(Team, team_id)
    if team is None or team.contest_id != contest.id:
        raise NotFoundException(_("team %(team_id)s is not in this contest") % {"team_id": team_id})
    return team


@post("/contests/{slug:str}/teams/{team_id:int}/members")
async def member_add(request: Request, slug: FromPath[str], team_id: FromPath[int],
                     user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    team = await _team_of(request, contest, team_id)
    form = await read_form(request)
    username = form.get("username", "").strip()
    ids, _unknown = await _user_ids(request, [username] if username else [])
    message, status = None, 400
    if not ids:
        message = _("No such user: %(names)s") % {"names": username or "?"}
    else:
        try:
            await actions.add_team_member(services_of(request), team.id, ids[0], actor=actor)  # type: ignore[arg-type]
        except ActionError as exc:
            message, status = exc.message, exc.status_code
    if message:
        return await _teams_page(request, contest, member_errors={team.id: message},
                                 status_code=status)
    flash(request, _("%(user)s joined %(team)s.") % {"user": username, "team": team.name},
          "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#team-{team.id}")


@post("/contests/{slug:str}/teams/{team_id:int}/members/{user_id:int}/remove")
async def member_remove(request: Request, slug: FromPath[str], team_id: FromPath[int],
                        user_id: FromPath[int], user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    team = await _team_of(request, contest, team_id)
    await actions.remove_team_member(services_of(request), team.id, user_id, actor=actor)  # type: ignore[arg-type]
    flash(request, _("Member removed from %(team)s.") % {"team": team.name}, "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#team-{team.id}")


@post("/contests/{slug:str}/teams/{team_id:int}/approve")
async def team_approve(request: Request, slug: FromPath[str], team_id: FromPath[int],
                       user: CurrentUser) -> Response[Any]:
    """Accept a team that registered in a contest with registration by approval: it becomes
    active (may submit) and visible on the scoreboard."""
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    team = await _team_of(request, contest, team_id)
    await actions.update_team(services_of(request), team.id, is_active=True, hidden=False,  # type: ignore[arg-type]
                              actor=actor)
    flash(request, _("%(team)s is approved.") % {"team": team.name}, "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#team-{team.id}")


@get("/contests/{slug:str}/teams/{team_id:int}", name="admin_team")
async def team_edit_page(request: Request, slug: FromPath[str], team_id: FromPath[int],
                         user: CurrentUser) -> Response[str]:
    contest = await admin_contest(request, slug)
    team = await _team_of(request, contest, team_id)
    context = await _teams_context(request, contest)
    form = {"name": team.name, "display_name": team.display_name,
            "affiliation_id": str(team.affiliation_id or ""),
            "hidden": "on" if team.hidden else ""}
    return await render_admin(request, "admin/contest_teams_edit.html", contest=contest,
                              section="teams", team=team, form=form, errors={},
                              chosen_groups=context["team_groups"].get(team.id, []), **context)


@post("/contests/{slug:str}/teams/{team_id:int}")
async def team_save(request: Request, slug: FromPath[str], team_id: FromPath[int],
                    user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    team = await _team_of(request, contest, team_id)
    form = await read_form(request)
    group_ids = [int(g) for g in form.getall("group_ids") if g.isdigit()]
    try:
        await actions.update_team(
            services_of(request), team.id, name=form.get("name", ""),  # type: ignore[arg-type]
            display_name=form.get("display_name", ""), hidden=form.flag("hidden"),
            affiliation_id=_int_or_none(form.get("affiliation_id", "")),
            group_ids=group_ids, actor=actor)
    except ActionError as exc:
        context = await _teams_context(request, contest)
        return await render_admin(request, "admin/contest_teams_edit.html", contest=contest,
                                  section="teams", team=team, form=form,
                                  errors=errors_of(exc), chosen_groups=group_ids,
                                  status_code=exc.status_code, **context)
    flash(request, _("Team saved."), "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#team-{team.id}")


@post("/contests/{slug:str}/groups")
async def group_create(request: Request, slug: FromPath[str], user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    try:
        group = await actions.create_group(
            services_of(request), name=form.get("name", ""),
            kind=form.get("kind", GroupKind.CATEGORY.value), contest=contest.id,
            hidden=form.flag("hidden"), actor=actor)
    except ActionError as exc:
        errors = errors_of(exc)
        if GENERAL in errors and exc.status_code == 409:
            errors = {"name": exc.message}
        return await _teams_page(request, contest, form=form, which="group", errors=errors,
                                 status_code=exc.status_code)
    flash(request, _("Group %(name)s created.") % {"name": group.name}, "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#groups")


@post("/contests/{slug:str}/affiliations")
async def affiliation_create(request: Request, slug: FromPath[str],
                             user: CurrentUser) -> Response[Any]:
    actor = require_manager(user)
    contest = await admin_contest(request, slug)
    form = await read_form(request)
    country = form.get("country", "").strip() or None
    try:
        affiliation = await actions.create_affiliation(
            services_of(request), name=form.get("name", ""),
            short_name=form.get("short_name", "").strip()[:64], country=country, actor=actor)
    except ActionError as exc:
        return await _teams_page(request, contest, form=form, which="affiliation",
                                 errors=errors_of(exc), status_code=exc.status_code)
    flash(request, _("Affiliation %(name)s created.") % {"name": affiliation.name}, "success")
    return redirect(request, f"/admin/contests/{contest.slug}/teams#affiliations")


route_handlers: list[Any] = [
    users_page, user_new_page, user_create, user_page, user_save, import_page, import_post,
    teams_page, team_create, member_add, member_remove, team_approve, team_edit_page, team_save,
    group_create, affiliation_create,
]
