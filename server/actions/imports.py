"""Importing a class of users (and their teams) from a CSV file, all or nothing.

The file has a header row naming its columns, in any order::

    username,display_name,email,password,team,affiliation,group

Only ``username`` is required. An empty password is generated (and returned once, in
:class:`ImportResult`, never stored in clear). With a contest, ``team`` puts the user in that
team of the contest (created as needed, or joined when it exists), ``group`` links the team to
the contest's group of that name and ``affiliation`` sets the team's affiliation (both created
as needed). Every row is checked before anything is stored: if any row is bad,
:class:`ImportFailed` lists every problem with its line number and nothing is written. The
rows are then stored in one transaction, so a failure while storing (a clash with a change made
meanwhile) leaves nothing half imported either.
"""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import contest_by_ref, emit, publish, unit_of_work
from server.actions.errors import Invalid
from server.actions.standings import refresh_teams
from server.actions.teams import (
    add_affiliation,
    add_group,
    add_team,
    change_team,
    join_team,
)
from server.actions.users import MIN_PASSWORD, USERNAME_RE, add_user, hash_password
from server.i18n import N_
from server.models import Affiliation, Contest, Group, Team, TeamGroup, User
from server.services import Services

__all__ = [
    "COLUMNS",
    "ImportFailed",
    "ImportResult",
    "ImportedUser",
    "RowError",
    "UserRow",
    "generate_password",
    "import_users",
    "parse_users_csv",
]

COLUMNS = ("username", "display_name", "email", "password", "team", "affiliation", "group")
MAX_ROWS = 5000
MAX_BYTES = 2 * 1024 * 1024
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def generate_password() -> str:
    """A password like ``k7qm-3xpa-w9rt``: easy to read out to a student, ~74 bits."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@dataclass
class UserRow:
    line: int
    username: str
    display_name: str = ""
    email: str = ""
    password: str = ""
    team: str = ""
    affiliation: str = ""
    group: str = ""


@dataclass
class RowError:
    line: int
    """1-based line of the file (the header is line 1); 0 for the whole file."""
    message: str


class ImportFailed(Invalid):
    """Some rows are bad; nothing was stored. ``errors`` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        where = f"line {first.line}: " if first.line else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"nothing was imported: {where}{first.message}{more}", field="file")
        self.errors = errors


@dataclass
class ImportedUser:
    line: int
    user_id: int
    username: str
    display_name: str
    team: str
    password: str | None
    """The generated password (shown once), or None when the file gave one."""


@dataclass
class ImportResult:
    users: list[ImportedUser] = field(default_factory=list)
    teams_created: list[str] = field(default_factory=list)
    teams_joined: list[str] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    affiliations_created: list[str] = field(default_factory=list)

    def passwords_csv(self) -> str:
        """``username,password`` of the users whose password was generated."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["username", "display_name", "team", "password"])
        for user in self.users:
            if user.password is not None:
                writer.writerow([user.username, user.display_name, user.team, user.password])
        return out.getvalue()


def parse_users_csv(data: bytes | str) -> list[UserRow]:
    """The rows of a users CSV (comma, semicolon or tab separated; UTF-8, a BOM allowed).

    Raises :class:`ImportFailed` for an unreadable file, a missing or unknown header column,
    or rows with more fields than the header; per-row checks are :func:`import_users`'s."""
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise ImportFailed([RowError(0, f"the file is larger than {MAX_BYTES // 1024} KiB")])
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed([RowError(0, "the file is not UTF-8 text (save it as "
                                            "“CSV UTF-8”)")]) from None
    else:
        text = data.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                        skipinitialspace=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed([RowError(0, "the file is empty")]) from None
    except csv.Error as exc:
        raise ImportFailed([RowError(1, f"unreadable CSV: {exc}")]) from None
    names = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in header]
    if "username" not in names:
        raise ImportFailed([RowError(1, "the first line must be a header row naming the "
                                        f"columns ({','.join(COLUMNS)}); no 'username' column")])
    errors = [RowError(1, f"unknown column {name!r} (known: {', '.join(COLUMNS)})")
              for name in names if name not in COLUMNS]
    errors += [RowError(1, f"column {name!r} appears twice")
               for name in sorted({n for n in names if names.count(n) > 1})]
    if errors:
        raise ImportFailed(errors)
    rows: list[UserRow] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            line = reader.line_num
            if len(record) > len(names):
                errors.append(RowError(line, f"{len(record)} fields but the header names "
                                             f"{len(names)} columns"))
                continue
            values = {name: record[i].strip() if i < len(record) else ""
                      for i, name in enumerate(names)}
            rows.append(UserRow(line=line, **values))
            if len(rows) > MAX_ROWS:
                raise ImportFailed([RowError(line, f"more than {MAX_ROWS} rows")])
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, f"unreadable CSV: {exc}"))
    if errors:
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed([RowError(0, "the file has a header but no rows")])
    return rows


async def _check(services: Services, rows: list[UserRow], contest: Contest | None) -> list[RowError]:
    """Every problem of the rows, against each other and the database."""
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    team_affiliation: dict[str, tuple[str, int]] = {}
    for row in rows:
        def bad(message: str, row: UserRow = row) -> None:
            errors.append(RowError(row.line, message))

        if not USERNAME_RE.match(row.username):
            bad(f"username {row.username!r} must be 2-64 letters, digits, '_', '.' or '-'"
                if row.username else "the username is empty")
        elif row.username.lower() in seen:
            bad(f"username {row.username!r} is also on line {seen[row.username.lower()]}")
        else:
            seen[row.username.lower()] = row.line
        if len(row.display_name) > 128:
            bad("the display name is longer than 128 characters")
        if row.email and ("@" not in row.email or len(row.email) > 255):
            bad(f"{row.email!r} is not an e-mail address")
        if row.password and len(row.password) < MIN_PASSWORD:
            bad(f"the password must have at least {MIN_PASSWORD} characters "
                "(or leave it empty to generate one)")
        if contest is None and (row.team or row.group or row.affiliation):
            bad("teams, groups and affiliations need a contest: choose one")
        if len(row.team) > 128:
            bad("the team name is longer than 128 characters")
        if len(row.group) > 128:
            bad("the group name is longer than 128 characters")
        if len(row.affiliation) > 255:
            bad("the affiliation name is longer than 255 characters")
        if (row.group or row.affiliation) and not row.team:
            bad("a group or an affiliation belongs to a team: fill in the team column")
        if row.team and row.affiliation:
            earlier = team_affiliation.setdefault(row.team, (row.affiliation, row.line))
            if earlier[0] != row.affiliation:
                bad(f"team {row.team!r} has affiliation {earlier[0]!r} on line {earlier[1]}")
    async with services.db.session() as session:
        names = [row.username for row in rows if row.username]
        taken: set[str] = set()
        for start in range(0, len(names), 500):
            chunk = names[start:start + 500]
            taken.update(u.lower() for u in await session.exec(
                select(User.username).where(col(User.username).in_(chunk))))
    for row in rows:
        if row.username.lower() in taken and row.username:
            errors.append(RowError(row.line, f"user {row.username!r} already exists"))
    errors.sort(key=lambda e: e.line)
    return errors


async def import_users(
    services: Services,
    data: bytes | str,
    *,
    contest: int | str | None = None,
    actor: User | None = None,
    progress: Callable[[int, int], Any] | None = None,
) -> ImportResult:
    """Create the users of a CSV file (and their teams, groups and affiliations in
    ``contest``); all or nothing: any bad row raises :class:`ImportFailed` before anything is
    stored, and the users, teams, groups and affiliations are stored in one transaction.
    ``progress(done, total)`` is called as the users' passwords are hashed (the slow part)."""
    rows = parse_users_csv(data)
    the_contest: Contest | None = None
    if contest is not None:
        async with services.db.session() as session:
            the_contest = await contest_by_ref(session, contest)
    errors = await _check(services, rows, the_contest)
    if errors:
        raise ImportFailed(errors)
    # Hash first (the slow part, off the event loop), so that storing is quick.
    passwords = [row.password or generate_password() for row in rows]
    hashes = []
    for index, pw in enumerate(passwords):
        hashes.append(await asyncio.to_thread(hash_password, pw))
        if progress is not None:
            progress(index + 1, len(rows))
    # Then everything in one transaction: a failure now (a user or team made meanwhile by
    # someone else, a lost connection) leaves nothing half imported.
    result = ImportResult()
    plan = _TeamPlan(rows) if the_contest is not None else None
    async with unit_of_work(services, conflict=N_("a user, team or group of the file was created "
                            "meanwhile by someone else; nothing was imported")) as session:
        created: list[tuple[UserRow, User]] = []
        for row, pw, pw_hash in zip(rows, passwords, hashes, strict=True):
            user = await add_user(session, row.username, password_hash=pw_hash,
                                  display_name=row.display_name, email=row.email or None,
                                  actor=actor)
            created.append((row, user))
            result.users.append(ImportedUser(
                line=row.line, user_id=user.id or 0, username=user.username,
                display_name=user.display_name, team=row.team,
                password=None if row.password else pw))
        if plan is not None:
            assert the_contest is not None
            await plan.store(session, the_contest, created, result, actor)
    # Announced once stored, as the single actions would.
    for user in result.users:
        await publish(services, "user.created", {"id": user.user_id, "username": user.username})
    if plan is not None:
        assert the_contest is not None
        await plan.announce(services, the_contest)
    return result


class _TeamPlan:
    """The teams, groups and affiliations of the rows: stored in the import's transaction,
    announced after it."""

    def __init__(self, rows: list[UserRow]) -> None:
        self.groups_of: dict[str, list[str]] = {}
        self.affiliation_of: dict[str, str] = {}
        for row in rows:
            if row.team and row.group and row.group not in self.groups_of.setdefault(row.team, []):
                self.groups_of[row.team].append(row.group)
            if row.team and row.affiliation:
                self.affiliation_of[row.team] = row.affiliation
        self.new_groups: list[Group] = []
        self.new_affiliations: list[Affiliation] = []
        self.new_teams: list[Team] = []
        self.joined: list[tuple[int, int]] = []
        self.updated: dict[int, dict[str, Any]] = {}

    async def store(self, session: AsyncSession, contest: Contest,
                    created: list[tuple[UserRow, User]], result: ImportResult,
                    actor: User | None) -> None:
        members: dict[str, list[int]] = {}
        for row, user in created:
            if row.team:
                members.setdefault(row.team, []).append(user.id)  # type: ignore[arg-type]
        groups = {g.name: g.id for g in await session.exec(select(Group).where(
            Group.contest_id == contest.id))}
        affiliations: dict[str, int] = {}
        for aff in await session.exec(select(Affiliation).order_by(col(Affiliation.id))):
            affiliations.setdefault(aff.name, aff.id)  # type: ignore[arg-type]
        teams = {t.name: t for t in await session.exec(select(Team).where(
            Team.contest_id == contest.id, col(Team.name).in_(list(members))))}
        for names in self.groups_of.values():
            for name in names:
                if name not in groups:
                    group = await add_group(session, name=name, contest_id=contest.id,
                                            actor=actor)
                    groups[name] = group.id  # type: ignore[assignment]
                    self.new_groups.append(group)
                    result.groups_created.append(name)
        for name in dict.fromkeys(self.affiliation_of.values()):
            if name not in affiliations:
                aff = await add_affiliation(session, name=name, actor=actor)
                affiliations[name] = aff.id  # type: ignore[assignment]
                self.new_affiliations.append(aff)
                result.affiliations_created.append(name)
        for team_name, user_ids in members.items():
            group_ids = [groups[g] for g in self.groups_of.get(team_name, [])]
            affiliation = self.affiliation_of.get(team_name)
            affiliation_id = affiliations[affiliation] if affiliation else None
            existing = teams.get(team_name)
            if existing is None:
                self.new_teams.append(await add_team(
                    session, contest, name=team_name, affiliation_id=affiliation_id,
                    group_ids=group_ids, member_ids=user_ids, actor=actor))
                result.teams_created.append(team_name)
                continue
            for user_id in user_ids:
                await join_team(session, contest, existing, user_id, actor=actor)
                self.joined.append((existing.id, user_id))  # type: ignore[arg-type]
            result.teams_joined.append(team_name)
            # The team joins the file's groups (keeping its others) and takes its affiliation.
            have = list(await session.exec(select(TeamGroup.group_id).where(
                TeamGroup.team_id == existing.id)))
            changes = await change_team(
                session, contest, existing, group_ids=list(dict.fromkeys([*have, *group_ids])),
                **({"affiliation_id": affiliation_id} if affiliation_id is not None else {}),
                actor=actor)
            if changes:
                self.updated[existing.id] = changes  # type: ignore[index]

    async def announce(self, services: Services, contest: Contest) -> None:
        for group in self.new_groups:
            await publish(services, "group.created", {"id": group.id}, contest_id=contest.id)
        for aff in self.new_affiliations:
            await publish(services, "affiliation.created", {"id": aff.id})
        for team in self.new_teams:
            await emit(services, contest, "team.created", {"id": team.id, "name": team.name})
        for team_id, user_id in self.joined:
            await emit(services, contest, "team.member", {"team_id": team_id,
                                                          "user_id": user_id})
        for team_id, changes in self.updated.items():
            await emit(services, contest, "team.updated", {"id": team_id, **changes})
        changed = [t.id for t in self.new_teams] + list(self.updated)
        if changed:
            await refresh_teams(services, contest.id, changed)  # type: ignore[arg-type]
