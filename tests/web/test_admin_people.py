"""Jury/organizer pages for people: users, CSV import, teams, groups and affiliations."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest
from litestar.testing import AsyncTestClient
from sqlmodel import select

from server.models import Affiliation, Group, Team, TeamGroup, TeamMember, User
from server.web.admin import people as people_pages
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    fast_passwords,
    form_post,
    log_in,
    world_with_tokens,
)


def _staff(client: AsyncTestClient[Any]) -> Any:
    world = world_with_tokens(client, teams=2)
    app = InApp(client)
    app.create_user("judy", password="jury-password", role="jury")
    app.create_user("olga", password="organizer-password", role="organizer",
                    display_name="Olga Organizer", email="olga@example.org")
    return world


def _rows(client: AsyncTestClient[Any], model: Any, *where: Any) -> list[Any]:
    app = InApp(client)

    async def query(services: Any) -> list[Any]:
        async with services.db.session() as session:
            return list(await session.exec(select(model).where(*where)))

    return app(query, app.services)


def _usernames(html: str) -> list[str]:
    return re.findall(r'<td><a href="/admin/users/\d+">([^<]+)</a></td>', html)


async def test_user_list_searches_filters_and_pages(client: AsyncTestClient[Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _staff(client)
    await log_in(client, "judy", "jury-password")  # the jury may look
    page = await client.get("/admin/users", headers=HTML)
    assert page.status_code == 200
    assert _usernames(page.text) == ["admin-spring", "judy", "olga", "spring-user0",
                                     "spring-user1"]
    assert "New user" not in page.text  # but not change
    by_role = await client.get("/admin/users", params={"role": "contestant"}, headers=HTML)
    assert _usernames(by_role.text) == ["spring-user0", "spring-user1"]
    by_name = await client.get("/admin/users", params={"q": "ORGANIZER"}, headers=HTML)
    assert _usernames(by_name.text) == ["olga"]
    by_mail = await client.get("/admin/users", params={"q": "olga@example"}, headers=HTML)
    assert _usernames(by_mail.text) == ["olga"]
    literal = await client.get("/admin/users", params={"q": "%"}, headers=HTML)
    assert _usernames(literal.text) == [] and "No user matches." in literal.text
    monkeypatch.setattr(people_pages, "PER_PAGE", 2)
    second = await client.get("/admin/users", params={"page": "2"}, headers=HTML)
    assert _usernames(second.text) == ["olga", "spring-user0"]
    assert "Page 2 of 3" in second.text and 'href="/admin/users?page=3"' in second.text


async def test_role_rules(client: AsyncTestClient[Any]) -> None:
    world = _staff(client)
    olga = _rows(client, User, User.username == "olga")[0]
    contestant = world.users[0]
    await log_in(client, "judy", "jury-password")
    assert (await client.get("/admin/users/new", headers=HTML)).status_code == 403
    assert (await client.get(f"/admin/users/{contestant.id}", headers=HTML)).status_code == 200
    denied = await form_post(client, "/admin/users/new", {"username": "x1", "role": "jury"},
                             token_from="/admin/users")
    assert denied.status_code == 403
    denied = await form_post(client, f"/admin/users/{contestant.id}",
                             {"display_name": "Hacked", "role": "contestant",
                              "is_active": "on"}, token_from="/admin/users")
    assert denied.status_code == 403
    assert (await client.get("/admin/users/import", headers=HTML)).status_code == 403

    client.cookies.clear()
    await log_in(client, "olga", "organizer-password")
    new_page = await client.get("/admin/users/new", headers=HTML)
    assert '<option value="admin"' not in new_page.text
    admin_try = await form_post(client, "/admin/users/new",
                                {"username": "boss", "role": "admin", "password": "long-enough"},
                                token_from="/admin/users/new")
    assert admin_try.status_code == 403
    assert _rows(client, User, User.username == "boss") == []
    promote = await form_post(client, f"/admin/users/{contestant.id}",
                              {"display_name": "X", "role": "admin", "is_active": "on"},
                              token_from="/admin/users")
    assert promote.status_code == 403
    touch_admin = await form_post(client, f"/admin/users/{world.admin.id}",
                                  {"display_name": "X", "role": "admin", "is_active": "on"},
                                  token_from="/admin/users")
    assert touch_admin.status_code == 403
    self_demote = await form_post(client, f"/admin/users/{olga.id}",
                                  {"display_name": "Olga", "role": "jury", "is_active": "on"},
                                  token_from="/admin/users")
    assert self_demote.status_code == 400 and "your own role" in self_demote.text

    made = await form_post(client, "/admin/users/new",
                           {"username": "judge2", "display_name": "Second Judge",
                            "role": "jury", "password": "jury-password-2"},
                           token_from="/admin/users/new")
    assert made.status_code == 303
    [judge2] = _rows(client, User, User.username == "judge2")
    assert judge2.role == "jury" and judge2.display_name == "Second Judge"
    duplicate = await form_post(client, "/admin/users/new",
                                {"username": "judge2", "role": "jury", "password": "whatever-1"},
                                token_from="/admin/users/new")
    assert duplicate.status_code == 409 and 'value="judge2"' in duplicate.text

    client.cookies.clear()
    await log_in(client, "admin-spring", "admin-password")
    boss = await form_post(client, "/admin/users/new", {"username": "boss", "role": "admin"},
                           token_from="/admin/users/new")
    assert boss.status_code == 201  # a generated password, shown once
    password = re.search(r'<code class="password" id="new-password">([^<]+)</code>', boss.text)
    assert password
    client.cookies.clear()
    await log_in(client, "boss", password.group(1))


async def test_edit_user_deactivates_and_resets_the_password(
        client: AsyncTestClient[Any]) -> None:
    world = _staff(client)
    target = world.users[1]
    await log_in(client, "olga", "organizer-password")
    page = await client.get(f"/admin/users/{target.id}", headers=HTML)
    assert page.status_code == 200 and "spring team 1" in page.text
    saved = await form_post(client, f"/admin/users/{target.id}",
                            {"display_name": "Renamed", "email": "r@example.org",
                             "role": "contestant", "new_password": "a-new-password"},
                            token_from="/admin/users")  # no is_active: deactivated
    assert saved.status_code == 303
    [row] = _rows(client, User, User.id == target.id)
    assert (row.display_name, row.email, row.is_active) == ("Renamed", "r@example.org", False)
    short = await form_post(client, f"/admin/users/{target.id}",
                            {"display_name": "Renamed", "role": "contestant", "is_active": "on",
                             "new_password": "short"}, token_from="/admin/users")
    assert short.status_code == 400 and 'id="new_password-error"' in short.text
    again = await form_post(client, f"/admin/users/{target.id}",
                            {"display_name": "Renamed", "role": "contestant", "is_active": "on",
                             "generate_password": "on"}, token_from="/admin/users")
    assert again.status_code == 200
    password = re.search(r'id="new-password">([^<]+)<', again.text).group(1)  # type: ignore[union-attr]
    client.cookies.clear()
    await log_in(client, target.username, password)


CSV = """username,display_name,email,password,team,affiliation,group
ada,Ada Lovelace,ada@example.org,,Analytical,Hilltop School,Class 5B
charles,Charles Babbage,,difference-engine,Analytical,Hilltop School,Class 5B
grace,Grace Hopper,,,Compilers,,Class 5C
"""


async def test_csv_import_through_the_page(client: AsyncTestClient[Any]) -> None:
    world = _staff(client)
    await log_in(client, "olga", "organizer-password")
    page = await client.get("/admin/users/import?contest=spring", headers=HTML)
    assert page.status_code == 200 and 'value="spring" selected' in page.text
    response = await form_post(client, "/admin/users/import", {"contest": "spring"},
                               token_from="/admin/users/import",
                               files={"file": ("class.csv", CSV.encode(), "text/csv")})
    assert response.status_code == 201, response.text[:1000]
    assert response.headers["cache-control"] == "no-store"  # passwords: shown once
    passwords = dict(re.findall(
        r'<a href="/admin/users/\d+">([^<]+)</a></td>[^\n]*\n\s*<td><code class="password">'
        r'([^<]+)</code>', response.text))
    assert set(passwords) == {"ada", "grace"}
    download = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)" download="passwords.csv"',
                         response.text)
    assert download and f"ada,Ada Lovelace,Analytical,{passwords['ada']}" in unquote(
        download.group(1))
    assert "Teams created:" in response.text and "Class 5B" in response.text

    teams = {t.name: t for t in _rows(client, Team, Team.contest_id == world.contest.id)}
    assert {"Analytical", "Compilers"} <= set(teams)
    assert len(_rows(client, TeamMember, TeamMember.team_id == teams["Analytical"].id)) == 2
    assert {g.name for g in _rows(client, Group)} == {"Class 5B", "Class 5C"}
    assert [a.name for a in _rows(client, Affiliation)] == ["Hilltop School"]
    assert len(_rows(client, TeamGroup)) == 2

    client.cookies.clear()
    await log_in(client, "ada", passwords["ada"])  # the generated password works
    client.cookies.clear()
    await log_in(client, "charles", "difference-engine")


async def test_csv_import_with_a_bad_row_stores_nothing(client: AsyncTestClient[Any]) -> None:
    _staff(client)
    await log_in(client, "olga", "organizer-password")
    bad = CSV + "bad name!,Oops,,,Compilers,,\n"
    response = await form_post(client, "/admin/users/import",
                               {"contest": "spring", "text": bad},
                               token_from="/admin/users/import")
    assert response.status_code == 400
    assert re.search(r"<td>line 5</td><td>username &#39;bad name!&#39; must be", response.text)
    assert "nothing was imported" in response.text
    assert "bad name!,Oops" in response.text  # the pasted text is kept
    assert _rows(client, User, User.username.in_(["ada", "charles", "grace"])) == []  # type: ignore[attr-defined]
    assert _rows(client, Group) == [] and _rows(client, Affiliation) == []
    empty = await form_post(client, "/admin/users/import", {"contest": ""},
                            token_from="/admin/users/import")
    assert empty.status_code == 400 and 'id="file-error"' in empty.text


async def test_teams_groups_and_affiliations(client: AsyncTestClient[Any]) -> None:
    world = _staff(client)
    app = InApp(client)
    app.create_user("newbie", password="newbie-password")
    base = "/admin/contests/spring"
    await log_in(client, "judy", "jury-password")
    page = await client.get(f"{base}/teams", headers=HTML)
    assert page.status_code == 200 and "spring team 0" in page.text
    assert "New team" not in page.text
    denied = await form_post(client, f"{base}/teams", {"name": "Jury team"},
                             token_from=f"{base}/teams")
    assert denied.status_code == 403

    client.cookies.clear()
    await log_in(client, "olga", "organizer-password")
    group = await form_post(client, f"{base}/groups", {"name": "Seniors", "kind": "division"},
                            token_from=f"{base}/teams")
    assert group.status_code == 303
    dup = await form_post(client, f"{base}/groups", {"name": "Seniors"},
                          token_from=f"{base}/teams")
    assert dup.status_code == 409 and 'id="name-error"' in dup.text
    aff = await form_post(client, f"{base}/affiliations",
                          {"name": "Hilltop School", "short_name": "Hilltop", "country": "nld"},
                          token_from=f"{base}/teams")
    assert aff.status_code == 303
    bad_country = await form_post(client, f"{base}/affiliations",
                                  {"name": "X", "country": "Netherlands"},
                                  token_from=f"{base}/teams")
    assert bad_country.status_code == 400 and "alpha-3" in bad_country.text
    [seniors] = _rows(client, Group)
    [hilltop] = _rows(client, Affiliation)
    assert hilltop.country == "NLD"

    made = await form_post(client, f"{base}/teams",
                           {"name": "Gamma", "display_name": "Team Gamma",
                            "members": "newbie", "affiliation_id": str(hilltop.id),
                            "group_ids": str(seniors.id)}, token_from=f"{base}/teams")
    assert made.status_code == 303, made.text[:500]
    [gamma] = _rows(client, Team, Team.name == "Gamma")
    assert gamma.affiliation_id == hilltop.id
    taken = await form_post(client, f"{base}/teams", {"name": "Delta", "members": "newbie"},
                            token_from=f"{base}/teams")
    assert taken.status_code == 409 and 'id="members-error"' in taken.text
    unknown = await form_post(client, f"{base}/teams", {"name": "Delta", "members": "ghost"},
                              token_from=f"{base}/teams")
    assert unknown.status_code == 400 and "No such user: ghost" in unknown.text

    moved = world.users[1]
    remove = await form_post(client, f"{base}/teams/{world.teams[1].id}/members/{moved.id}/remove",
                             {}, token_from=f"{base}/teams")
    assert remove.status_code == 303
    add = await form_post(client, f"{base}/teams/{gamma.id}/members",
                          {"username": moved.username}, token_from=f"{base}/teams")
    assert add.status_code == 303
    assert {m.user_id for m in _rows(client, TeamMember, TeamMember.team_id == gamma.id)} == {
        _rows(client, User, User.username == "newbie")[0].id, moved.id}
    twice = await form_post(client, f"{base}/teams/{world.teams[0].id}/members",
                            {"username": moved.username}, token_from=f"{base}/teams")
    assert twice.status_code == 409 and f'id="add-{world.teams[0].id}-error"' in twice.text

    edit = await client.get(f"{base}/teams/{gamma.id}", headers=HTML)
    assert edit.status_code == 200 and 'value="Team Gamma"' in edit.text
    saved = await form_post(client, f"{base}/teams/{gamma.id}",
                            {"name": "Gamma", "display_name": "Gamma Rays", "hidden": "on",
                             "affiliation_id": ""}, token_from=f"{base}/teams")
    assert saved.status_code == 303
    [gamma] = _rows(client, Team, Team.name == "Gamma")
    assert (gamma.display_name, gamma.hidden, gamma.affiliation_id) == ("Gamma Rays", True, None)
    assert _rows(client, TeamGroup, TeamGroup.team_id == gamma.id) == []  # no group ticked
    clash = await form_post(client, f"{base}/teams/{gamma.id}", {"name": "spring team 0"},
                            token_from=f"{base}/teams")
    assert clash.status_code == 409
    page = await client.get(f"{base}/teams", headers=HTML)
    assert re.search(rf'<tr id="team-{gamma.id}" class="hidden-team">', page.text)
    other = await client.get(f"/admin/contests/spring/teams/{gamma.id + 99}", headers=HTML)
    assert other.status_code == 404


async def test_contestants_and_anonymous_are_kept_out(client: AsyncTestClient[Any]) -> None:
    world = _staff(client)
    pages = ["/admin/users", "/admin/users/new", "/admin/users/import",
             f"/admin/users/{world.users[0].id}", "/admin/contests/spring/teams",
             f"/admin/contests/spring/teams/{world.teams[0].id}"]
    for path in pages:
        assert (await client.get(path, headers=HTML)).status_code == 401, path
    await log_in(client, "spring-user0", "user-password")
    for path in pages:
        assert (await client.get(path, headers=HTML)).status_code == 403, path
    post = await form_post(client, "/admin/contests/spring/groups", {"name": "x"})
    assert post.status_code == 403
