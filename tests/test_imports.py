"""CSV import of users and teams (server.actions.imports): all or nothing, per-line errors."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from server import actions
from server.actions import imports
from server.actions.imports import ImportFailed, import_users, parse_users_csv
from server.models import Affiliation, AuditEntry, Group, Team, TeamGroup, TeamMember, User
from server.services import Services
from tests.factories import make_world


async def _all(services: Services, query: Any) -> list[Any]:
    async with services.db.session() as session:
        return list(await session.exec(query))


CLASS = """username,display_name,email,password,team,affiliation,group
ada,Ada Lovelace,ada@example.org,,Analytical,Hilltop School,Class 5B
charles,Charles Babbage,,difference-engine,Analytical,Hilltop School,Class 5B
grace,Grace Hopper,,,Compilers,,Class 5C
"""


async def test_import_creates_users_teams_groups_and_affiliations(services: Services) -> None:
    world = await make_world(services, teams=1)
    result = await import_users(services, CLASS.encode(), contest="spring", actor=world.admin)
    assert [u.username for u in result.users] == ["ada", "charles", "grace"]
    assert [u.line for u in result.users] == [2, 3, 4]
    generated = {u.username: u.password for u in result.users}
    assert generated["charles"] is None  # given in the file: not echoed
    assert generated["ada"] and generated["grace"] and generated["ada"] != generated["grace"]
    for name, password in (("ada", generated["ada"]), ("charles", "difference-engine"),
                           ("grace", generated["grace"])):
        assert await actions.authenticate(services, name, password) is not None
    assert sorted(result.teams_created) == ["Analytical", "Compilers"]
    assert sorted(result.groups_created) == ["Class 5B", "Class 5C"]
    assert result.affiliations_created == ["Hilltop School"]

    teams = {t.name: t for t in await _all(services, select(Team).where(
        Team.contest_id == world.contest.id))}
    users = {u.username: u for u in await _all(services, select(User))}
    members = await _all(services, select(TeamMember).where(
        TeamMember.team_id == teams["Analytical"].id))
    assert {m.user_id for m in members} == {users["ada"].id, users["charles"].id}
    assert [m.is_captain for m in sorted(members, key=lambda m: m.id)] == [True, False]
    [aff] = await _all(services, select(Affiliation))
    assert teams["Analytical"].affiliation_id == aff.id and teams["Compilers"].affiliation_id is None
    groups = {g.id: g for g in await _all(services, select(Group))}
    links = await _all(services, select(TeamGroup))
    assert {(link.team_id, groups[link.group_id].name) for link in links} == {
        (teams["Analytical"].id, "Class 5B"), (teams["Compilers"].id, "Class 5C")}
    assert all(g.contest_id == world.contest.id for g in groups.values())
    assert users["ada"].email == "ada@example.org" and users["grace"].email is None
    creates = await _all(services, select(AuditEntry).where(AuditEntry.action == "user.create",
                                                            AuditEntry.actor_id == world.admin.id))
    assert len(creates) == 3
    csv_text = result.passwords_csv()
    assert csv_text.splitlines()[0] == "username,display_name,team,password"
    assert f"ada,Ada Lovelace,Analytical,{generated['ada']}" in csv_text
    assert "charles" not in csv_text


async def test_a_bad_row_stores_nothing_and_names_its_line(services: Services) -> None:
    world = await make_world(services, teams=1)
    text = ("username;display_name;password;team\n"
            "ok-user;Fine;;Alpha\n"
            "\n"
            "bad name;Broken;;Alpha\n"
            "short;Short;abc;Beta\n"
            "ok-user;Twice;;Alpha\n"
            "spring-user0;Taken;;Gamma\n")
    with pytest.raises(ImportFailed) as failed:
        await import_users(services, text, contest="spring", actor=world.admin)
    errors = [(e.line, e.message) for e in failed.value.errors]
    assert [line for line, _ in errors] == [4, 5, 6, 7]
    assert "username 'bad name' must be" in errors[0][1]
    assert "at least 8 characters" in errors[1][1]
    assert "also on line 2" in errors[2][1]
    assert "already exists" in errors[3][1]
    assert "line 4" in failed.value.message and failed.value.status_code == 400
    assert (await _all(services, select(User.username).where(User.username == "ok-user"))) == []
    assert {t.name for t in await _all(services, select(Team))} == {"spring team 0"}


async def test_a_clash_while_storing_leaves_nothing_half_imported(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    world = await make_world(services, teams=1)
    real_check = imports._check

    async def check_then_someone_else_creates(*args: Any) -> list[Any]:
        errors = await real_check(*args)
        # Between the check and the store, an admin creates one of the file's users.
        await actions.create_user(services, "carl", password="elsewhere-made")
        return errors

    monkeypatch.setattr(imports, "_check", check_then_someone_else_creates)
    text = ("username,team,group,affiliation\n"
            "ada,Alpha,Seniors,Uni A\nbob,spring team 0,Seniors,\ncarl,Beta,Juniors,Uni B\n")
    with pytest.raises(actions.Conflict, match="nothing was imported"):
        await import_users(services, text, contest="spring", actor=world.admin)
    # Nothing of the file is stored: not the users before carl, nor teams, groups,
    # affiliations, memberships or audit entries.
    assert await _all(services, select(User.username).where(
        col(User.username).in_(["ada", "bob"]))) == []
    assert {t.name for t in await _all(services, select(Team))} == {"spring team 0"}
    assert await _all(services, select(Group)) == []
    assert await _all(services, select(Affiliation)) == []
    assert len(await _all(services, select(TeamMember))) == 1
    assert await _all(services, select(AuditEntry).where(
        AuditEntry.actor_id == world.admin.id, AuditEntry.action != "contest.create")) == []
    # Once the clash is gone, the same file imports whole.
    monkeypatch.setattr(imports, "_check", real_check)
    result = await import_users(services, text.replace("carl", "carla"), contest="spring",
                                actor=world.admin)
    assert [u.username for u in result.users] == ["ada", "bob", "carla"]
    assert result.teams_created == ["Alpha", "Beta"] and result.teams_joined == ["spring team 0"]
    assert sorted(result.groups_created) == ["Juniors", "Seniors"]


async def test_header_problems_and_teams_without_a_contest(services: Services) -> None:
    with pytest.raises(ImportFailed) as no_header:
        parse_users_csv(b"ada,Ada\n")
    assert no_header.value.errors[0].line == 1 and "header" in no_header.value.errors[0].message
    with pytest.raises(ImportFailed) as unknown:
        parse_users_csv("username,shoe_size\nada,42\n")
    assert "unknown column 'shoe_size'" in unknown.value.errors[0].message
    with pytest.raises(ImportFailed) as not_utf8:
        parse_users_csv("username\nbjörn\n".encode("latin-1"))
    assert "UTF-8" in not_utf8.value.errors[0].message
    with pytest.raises(ImportFailed) as empty:
        parse_users_csv("username\n")
    assert "no rows" in empty.value.errors[0].message
    rows = parse_users_csv('\ufeffUsername,"Display Name"\n"lin",  "Lin, B."\n')
    assert (rows[0].username, rows[0].display_name, rows[0].line) == ("lin", "Lin, B.", 2)
    with pytest.raises(ImportFailed) as teamless:
        await import_users(services, "username,team\nada,Alpha\n")
    assert "need a contest" in teamless.value.errors[0].message
    assert await _all(services, select(User)) == []


async def test_users_join_an_existing_team_and_its_groups_grow(services: Services) -> None:
    world = await make_world(services, teams=1)
    result = await import_users(services, "username,team,group\nnewbie,spring team 0,Seniors\n",
                                contest=world.contest.id)
    assert result.teams_joined == ["spring team 0"] and result.teams_created == []
    members = await _all(services, select(TeamMember).where(
        TeamMember.team_id == world.teams[0].id))
    assert len(members) == 2
    [group] = await _all(services, select(Group))
    assert (await _all(services, select(TeamGroup.team_id).where(
        TeamGroup.group_id == group.id))) == [world.teams[0].id]
