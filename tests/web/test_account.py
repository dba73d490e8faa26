"""Account pages: sign-up modes, login (with its rate limit), logout, CSRF, settings, teams."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlmodel import select

from server.models import Team, TeamMember, User, utcnow
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    csrf_of,
    fast_passwords,
    form_post,
    log_in,
    plugin_client,
)


def _contest(client: AsyncTestClient[Any], slug: str = "open", mode: str = "open",
             code: str | None = None) -> Any:
    app = InApp(client)
    start = utcnow().replace(microsecond=0) - timedelta(minutes=5)
    contest = app.create_contest(slug=slug, title=f"Contest {slug}", start_at=start,
                                 end_at=start + timedelta(hours=5), registration_mode=mode)
    if code is not None:
        from server.actions.accounts import contest_code_hash

        async def set_code(services: Any) -> None:
            async with services.db.session() as session:
                row = await session.get(type(contest), contest.id)
                row.registration_code_hash = contest_code_hash(code)
                session.add(row)
                await session.commit()

        app(set_code, app.services)
    return contest


async def _sign_up(client: AsyncTestClient[Any], username: str, **extra: str) -> Any:
    data = {"username": username, "display_name": f"{username.title()}",
            "password": "correct horse", "password2": "correct horse", **extra}
    return await form_post(client, "/register", data, token_from="/register")


async def test_sign_up_logs_in_and_shows_the_name(client) -> None:
    response = await _sign_up(client, "ada", next="/account")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    page = await client.get("/account", headers=HTML)
    assert page.status_code == 200
    assert "<strong>ada</strong>" in page.text
    assert "Welcome, Ada!" in page.text  # the flashed message, once
    again = await client.get("/account", headers=HTML)
    assert "Welcome, Ada!" not in again.text


async def test_sign_up_errors_stay_next_to_their_fields(client) -> None:
    response = await _sign_up(client, "x", password2="something else")
    assert response.status_code == 400
    assert re.search(r'<p class="field-error" id="password2-error">The two passwords differ',
                     response.text)
    response = await _sign_up(client, "?bad name")
    assert response.status_code == 400
    assert 'id="username-error">username must be 2-64' in response.text
    assert 'value="?bad name"' in response.text  # the value is kept
    await _sign_up(client, "bob")
    client.cookies.clear()
    duplicate = await _sign_up(client, "bob")
    assert duplicate.status_code == 409
    assert "already exists" in duplicate.text


@pytest.mark.parametrize("mode", ["closed", "invite"])
async def test_sign_up_modes(make_settings, db_url, mode: str) -> None:
    settings = make_settings(database_url=db_url, registration=mode,
                             invite_code="let-me-in" if mode == "invite" else None)
    async with plugin_client(settings, {}) as client:
        if mode == "closed":
            page = await client.get("/register", headers=HTML)
            assert page.status_code == 403
            assert "Sign-up is closed" in page.text
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            posted = await client.post("/register", headers=HTML, follow_redirects=False, data={
                "_csrf_token": token, "username": "eve", "password": "correct horse",
                "password2": "correct horse"})
            assert posted.status_code == 403
        else:
            wrong = await _sign_up(client, "eve", invite_code="guess")
            assert wrong.status_code == 400
            assert 'id="invite_code-error">this invite code is not valid' in wrong.text
            right = await _sign_up(client, "eve", invite_code="let-me-in")
            assert right.status_code == 303
        users = InApp(client)(_usernames, InApp(client).services)
        assert ("eve" in users) == (mode == "invite")


async def _usernames(services: Any) -> list[str]:
    async with services.db.session() as session:
        return list(await session.exec(select(User.username)))


async def test_post_without_csrf_token_is_refused(client) -> None:
    InApp(client).create_user("ada", password="correct horse")
    await csrf_of(client)  # has the cookie, but sends no token
    response = await client.post("/login", data={"username": "ada", "password": "correct horse"},
                                 headers=HTML, follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text


async def test_login_logout_and_next(client) -> None:
    InApp(client).create_user("ada", password="correct horse", display_name="Ada L.")
    bad = await form_post(client, "/login", {"username": "ada", "password": "wrong"})
    assert bad.status_code == 400
    assert "Wrong username or password." in bad.text
    good = await form_post(client, "/login", {"username": "ada", "password": "correct horse",
                                              "next": "https://evil.example/"})
    assert good.status_code == 303
    assert good.headers["location"] == "/"  # never off-site
    home = await client.get("/", headers=HTML)
    assert "Ada L." in home.text and "Log out" in home.text
    out = await form_post(client, "/logout", {}, token_from="/")
    assert out.status_code == 303
    page = await client.get("/account", headers=HTML)
    assert page.status_code == 401
    assert 'href="/login?next=%2Faccount"' in page.text


async def test_login_rate_limit_per_username(make_settings, db_url, redis_cleanup) -> None:
    # The Redis-backed limiter (shared across processes) on both databases.
    settings = make_settings(database_url=db_url, redis_url="redis://127.0.0.1:6379/0",
                             login_rate_limit=3)
    async with plugin_client(settings, {}) as client:
        InApp(client).create_user("ada", password="correct horse")
        for _ in range(3):
            response = await form_post(client, "/login", {"username": "ada", "password": "x"})
            assert response.status_code == 400
        blocked = await form_post(client, "/login", {"username": "ada",
                                                     "password": "correct horse"})
        assert blocked.status_code == 429
        assert "Too many failed logins" in blocked.text
        InApp(client).create_user("bob", password="correct horse")
    # A second app (another web process) sees the same counters through Redis.
    async with plugin_client(settings, {}) as other:
        blocked = await form_post(other, "/login", {"username": "ada",
                                                    "password": "correct horse"})
        assert blocked.status_code == 429


async def test_account_settings_and_password_change(client) -> None:
    InApp(client).create_user("ada", password="correct horse")
    await log_in(client, "ada", "correct horse")
    bad = await form_post(client, "/account", {"display_name": "Ada", "timezone": "Mars/Base",
                                               "new_password": "new secret pw",
                                               "password": "nope"}, token_from="/account")
    assert bad.status_code == 400
    assert 'id="timezone-error">Unknown time zone.' in bad.text
    assert 'id="password-error">Your current password is wrong.' in bad.text
    ok = await form_post(client, "/account", {
        "display_name": "Ada Lovelace", "timezone": "Europe/London", "password": "correct horse",
        "new_password": "new secret pw", "new_password2": "new secret pw"},
        token_from="/account")
    assert ok.status_code == 303
    client.cookies.clear()
    await log_in(client, "ada", "new secret pw")
    page = await client.get("/account", headers=HTML)
    assert "Ada Lovelace" in page.text
    assert '<option value="Europe/London" selected>' in page.text


async def _teams(services: Any, contest_id: int) -> dict[str, list[str]]:
    async with services.db.session() as session:
        rows = await session.exec(
            select(Team.name, User.username)
            .join(TeamMember, TeamMember.team_id == Team.id, isouter=True)
            .join(User, User.id == TeamMember.user_id, isouter=True)
            .where(Team.contest_id == contest_id))
        found: dict[str, list[str]] = {}
        for team, user in rows:
            found.setdefault(team, [])
            if user:
                found[team].append(user)
        return found


async def test_register_join_and_leave_a_team(client) -> None:
    app = InApp(client)
    contest = _contest(client)
    for name in ("ada", "bob", "cy"):
        app.create_user(name, password="correct horse")
    team_page = f"/contests/{contest.slug}/team"
    assert (await client.get(team_page, headers=HTML)).status_code == 401

    await log_in(client, "ada", "correct horse")
    created = await form_post(client, f"{team_page}/create", {"name": "Lambda"},
                              token_from=team_page)
    assert created.status_code == 303
    page = await client.get(team_page, headers=HTML)
    code = re.search(r'id="join-code">([A-Z0-9-]+)<', page.text).group(1)
    again = await form_post(client, f"{team_page}/create", {"name": "Other"},
                            token_from=team_page)
    assert again.status_code == 409  # one team per user per contest

    client.cookies.clear()
    await log_in(client, "bob", "correct horse")
    wrong = await form_post(client, f"{team_page}/join", {"code": "AAAA-AAAA"},
                            token_from=team_page)
    assert wrong.status_code == 404
    assert 'id="code-error">no team of this contest has this join code' in wrong.text
    joined = await form_post(client, f"{team_page}/join", {"code": code.lower()},
                             token_from=team_page)
    assert joined.status_code == 303
    assert app(_teams, app.services, contest.id) == {"Lambda": ["ada", "bob"]}

    # The captain leaves: bob stays, becomes captain; then bob leaves and the empty team
    # without submissions disappears.
    client.cookies.clear()
    await log_in(client, "ada", "correct horse")
    assert (await form_post(client, f"{team_page}/leave", {}, token_from=team_page)
            ).status_code == 303
    assert app(_teams, app.services, contest.id) == {"Lambda": ["bob"]}
    client.cookies.clear()
    await log_in(client, "bob", "correct horse")
    page = await client.get(team_page, headers=HTML)
    assert "captain" in page.text
    await form_post(client, f"{team_page}/leave", {}, token_from=team_page)
    assert app(_teams, app.services, contest.id) == {}


async def test_contest_registration_modes(client) -> None:
    app = InApp(client)
    closed = _contest(client, "closed", mode="closed")
    coded = _contest(client, "coded", mode="code", code="spring-2026")
    app.create_user("ada", password="correct horse")
    await log_in(client, "ada", "correct horse")
    page = await client.get(f"/contests/{closed.slug}/team", headers=HTML)
    assert "registration is closed" in page.text
    refused = await form_post(client, f"/contests/{closed.slug}/team/create", {"name": "T"},
                              token_from="/account")
    assert refused.status_code == 403
    base = f"/contests/{coded.slug}/team"
    wrong = await form_post(client, f"{base}/create", {"name": "T", "registration_code": "x"},
                            token_from=base)
    assert wrong.status_code == 400
    assert 'id="registration_code-error">' in wrong.text
    right = await form_post(client, f"{base}/create",
                            {"name": "T", "registration_code": "spring-2026"}, token_from=base)
    assert right.status_code == 303
    assert app(_teams, app.services, coded.id) == {"T": ["ada"]}
    assert app(_teams, app.services, closed.id) == {}


async def test_a_full_team_refuses_a_fourth_member(client) -> None:
    app = InApp(client)
    contest = _contest(client)
    users = [app.create_user(f"u{i}", password="correct horse") for i in range(4)]
    from server.actions import accounts

    team = app(accounts.register_team, app.services, contest.id, users[0], name="Full")
    for user in users[1:3]:
        app(accounts.join_team, app.services, contest.id, user, code=team.join_code)
    with pytest.raises(Exception, match="is full"):
        app(accounts.join_team, app.services, contest.id, users[3], code=team.join_code)


async def test_registration_by_approval(client) -> None:
    app = InApp(client)
    contest = _contest(client, "approved", mode="approval")
    app.create_user("ada", password="correct horse")
    app.create_user("org", password="correct horse", role="organizer")
    app.enable_language(contest.id, "python3")
    app.create_problem(slug="approved-a", title="A")
    app.add_contest_problem(contest.id, "approved-a", label="A")
    await log_in(client, "ada", "correct horse")
    base = f"/contests/{contest.slug}/team"
    created = await form_post(client, f"{base}/create", {"name": "Waiting"}, token_from=base)
    assert created.status_code == 303
    page = await client.get(base, headers=HTML)
    assert "waiting for an organizer" in page.text
    team = app(_team_named, app.services, contest.id, "Waiting")
    assert team.hidden and not team.is_active
    submit = await client.post(
        "/api/v1/contests/approved/submissions",
        headers={"Authorization": f"Bearer {app.create_api_token(app(_user_id, app.services, 'ada'))}"},
        json={"problem": "A", "language": "python3",
              "files": [{"filename": "a.py", "content": "print(1)"}]})
    assert submit.status_code == 403 and "approval" in submit.text
    client.cookies.clear()
    await log_in(client, "org", "correct horse")
    teams_page = f"/admin/contests/{contest.slug}/teams"
    listing = await client.get(teams_page, headers=HTML)
    assert "awaiting approval" in listing.text and "Approve Waiting" in listing.text
    approved = await form_post(client, f"{teams_page}/{team.id}/approve", {},
                               token_from=teams_page)
    assert approved.status_code == 303
    team = app(_team_named, app.services, contest.id, "Waiting")
    assert team.is_active and not team.hidden
    ok = await client.post(
        "/api/v1/contests/approved/submissions",
        headers={"Authorization": f"Bearer {app.create_api_token(app(_user_id, app.services, 'ada'))}"},
        json={"problem": "A", "language": "python3",
              "files": [{"filename": "a.py", "content": "print(1)"}]})
    assert ok.status_code == 201, ok.text


async def _team_named(services: Any, contest_id: int, name: str) -> Team:
    async with services.db.session() as session:
        return (await session.exec(select(Team).where(Team.contest_id == contest_id,
                                                      Team.name == name))).one()


async def _user_id(services: Any, username: str) -> int:
    async with services.db.session() as session:
        return (await session.exec(select(User.id).where(User.username == username))).one()
