"""CSRF, sessions versus bearer tokens, escaping, role checks and object-level authorization."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Request, get, post
from litestar.params import FromPath

from server import actions
from server.hooks import hookimpl
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    auth,
    csrf_of,
    fast_passwords,
    form_post,
    InApp,
    log_in,
    plugin_client,
    solve_in_app,
    source,
    token_for,
    user_with_token,
    world_with_tokens,
)

HTTPS = "https://testserver.local"


class FormPlugin:
    """A plugin with HTML form endpoints, as a plugin page (say, a clarification form) has.

    ``/plugins/forms/login/<id>`` stands in for a login page: it puts the user in the session.
    """

    @hookimpl
    def podium_routes(self) -> list[Any]:
        @post("/plugins/forms/echo", status_code=200)
        async def echo(request: Request) -> dict[str, Any]:
            return {"ok": True}

        @post("/plugins/forms/api/echo", status_code=200)
        async def nested_api(request: Request) -> dict[str, Any]:
            return {"ok": True}

        @get("/plugins/forms/login/{user_id:int}")
        async def login(request: Request, user_id: FromPath[int]) -> dict[str, Any]:
            request.set_session({"user_id": user_id})
            return {"ok": True}

        @post("/plugins/forms/fail", status_code=200)
        async def fail(request: Request) -> dict[str, Any]:
            raise actions.Invalid("the answer must be <b>42</b>", field="answer")

        return [echo, nested_api, login, fail]


# ------------------------------------------------------------------------------------ CSRF


async def test_pages_set_a_csrf_cookie(client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    cookies = {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}
    csrf = cookies["csrftoken"]
    assert len(csrf.split(";")[0].split("=", 1)[1]) >= 64
    assert "SameSite=lax" in csrf
    assert "Secure" not in csrf  # PODIUM_SECURE_COOKIES is off by default (plain HTTP works)
    assert "session" not in cookies  # an anonymous visitor gets no session


@pytest.mark.parametrize("secure", [True, False])
async def test_session_and_csrf_cookies_follow_secure_cookies(make_settings, db_url,
                                                              secure: bool) -> None:
    settings = make_settings(database_url=db_url, secure_cookies=secure)
    async with plugin_client(settings, {}, base_url="https://testserver.local") as client:
        InApp(client).create_user("ada", password="correct horse")
        token = await csrf_of(client)
        response = await client.post("/login", headers={"accept": "text/html"},
                                     follow_redirects=False, data={
                                         "_csrf_token": token, "username": "ada",
                                         "password": "correct horse"})
        assert response.status_code == 303
        session = next(c for c in response.headers.get_list("set-cookie")
                       if c.startswith("session="))
        assert "HttpOnly" in session and "SameSite=lax" in session
        assert ("Secure" in session) is secure
        page = await client.get("/login")  # a new visitor's CSRF cookie
        assert page.status_code == 200


def _session_cookie(response: Any) -> str | None:
    return next((c for c in response.headers.get_list("set-cookie")
                 if c.startswith("session=")), None)


async def test_a_read_session_is_not_written_again(client, monkeypatch) -> None:
    """A page that only reads the session neither writes it to the store nor sets its cookie;
    a change does, and an unchanged session is written again (its expiry renewed) once
    RENEW_EVERY has passed."""
    import time

    from server.web import sessions

    InApp(client).create_user("ada", password="correct horse")
    await log_in(client, "ada", "correct horse")
    writes: list[str] = []
    store_set = sessions.LazySessionBackend.set

    async def counting_set(self: Any, session_id: str, data: bytes, store: Any) -> None:
        writes.append(session_id)
        await store_set(self, session_id, data, store)

    monkeypatch.setattr(sessions.LazySessionBackend, "set", counting_set)
    for _ in range(3):
        page = await client.get("/account", headers={"accept": "text/html"})
        assert page.status_code == 200 and "ada" in page.text  # still logged in
        assert _session_cookie(page) is None
    assert writes == []
    # A change (the flash message of a saved form) is written, and so is its removal.
    changed = await form_post(client, "/account", {"display_name": "Ada L."})
    assert changed.status_code == 303
    assert len(writes) == 1 and _session_cookie(changed) is not None
    shown = await client.get("/account", headers={"accept": "text/html"})
    assert "Your account is saved." in shown.text and len(writes) == 2
    writes.clear()
    quiet = await client.get("/account", headers={"accept": "text/html"})
    assert writes == [] and _session_cookie(quiet) is None
    later = time.time() + sessions.RENEW_EVERY + 1
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    renewed = await client.get("/account", headers={"accept": "text/html"})
    assert len(writes) == 1 and "Max-Age=" in (_session_cookie(renewed) or "")
    assert _session_cookie(await client.get("/account", headers={"accept": "text/html"})) is None
    assert len(writes) == 1
    out = await form_post(client, "/logout", {})
    assert (_session_cookie(out) or "").startswith("session=null")
    assert (await client.get("/account", headers={"accept": "text/html"})).status_code == 401


async def test_api_posts_need_no_csrf_token(client) -> None:
    InApp(client).create_user("boss", password="boss-password",
                              role="admin")
    client.cookies.clear()
    login = await client.post(f"{API}/auth/token",
                              json={"username": "boss", "password": "boss-password"})
    assert login.status_code == 201
    assert "csrftoken" not in login.headers.get("set-cookie", "")
    token = login.json()["token"]
    body = {"slug": "csrf-free", "title": "No cookie", "start_at": "2030-01-01T10:00:00+00:00",
            "end_at": "2030-01-01T15:00:00+00:00"}
    response = await client.post(f"{API}/contests", json=body, headers=auth(token))
    assert response.status_code == 201
    response = await client.patch(f"{API}/contests/csrf-free", json={"title": "Still free"},
                                  headers=auth(token))
    assert response.status_code == 200
    response = await client.put(f"{API}/contests/csrf-free/plugins/medals", json={},
                                headers=auth(token))
    assert response.status_code == 200
    response = await client.delete(f"{API}/contests/csrf-free/plugins/medals",
                                   headers=auth(token))
    assert response.status_code == 200


async def test_html_posts_need_the_csrf_token(settings) -> None:
    async with plugin_client(settings, {"forms": FormPlugin()}, base_url=HTTPS) as client:
        response = await client.post("/plugins/forms/echo", data={"x": "1"})
        assert response.status_code == 403
        assert "CSRF" in response.text

        page = await client.get("/")
        token = page.cookies["csrftoken"]
        assert client.cookies["csrftoken"] == token
        with_header = await client.post("/plugins/forms/echo", headers={"x-csrftoken": token})
        assert with_header.status_code == 200
        assert with_header.json() == {"ok": True}
        with_field = await client.post("/plugins/forms/echo",
                                       data={"_csrf_token": token, "x": "1"})
        assert with_field.status_code == 200

        forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
        assert (await client.post("/plugins/forms/echo",
                                  headers={"x-csrftoken": forged})).status_code == 403
        client.cookies.clear()  # a cross-site form: the header cannot come with the cookie
        assert (await client.post("/plugins/forms/echo",
                                  headers={"x-csrftoken": token})).status_code == 403


async def test_a_csrf_failure_renders_the_error_page_for_browsers(settings) -> None:
    async with plugin_client(settings, {"forms": FormPlugin()}, base_url=HTTPS) as client:
        response = await client.post("/plugins/forms/echo", headers={"accept": "text/html"})
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1>403</h1>" in response.text


async def test_only_the_json_api_skips_csrf(settings) -> None:
    async with plugin_client(settings, {"forms": FormPlugin()}, base_url=HTTPS) as client:
        response = await client.post("/plugins/forms/api/echo")
        assert response.status_code == 403


# ---------------------------------------------------------------------- sessions vs tokens


async def test_the_api_ignores_session_cookies(settings) -> None:
    async with plugin_client(settings, {"forms": FormPlugin()}, base_url=HTTPS) as client:
        user = InApp(client).create_user("zed", password="zed-password",
                                         display_name="Zed the Browser User")
        assert (await client.get(f"/plugins/forms/login/{user.id}")).status_code == 200
        assert "session" in client.cookies
        # Pages know the browser user...
        page = await client.get("/")
        assert "Zed the Browser User" in page.text
        # ...the API does not: a cookie alone can never authorize an API call (no CSRF there).
        me = await client.get(f"{API}/auth/me")
        assert me.status_code == 401
        InApp(client).create_user("boss", password="boss-password",
                                  role="admin")
        boss = InApp(client).get_user("boss")
        assert (await client.get(f"/plugins/forms/login/{boss.id}")).status_code == 200
        body = {"slug": "by-cookie", "title": "Cookie", "start_at": "2030-01-01T10:00:00+00:00",
                "end_at": "2030-01-01T15:00:00+00:00"}
        created = await client.post(f"{API}/contests", json=body)
        assert created.status_code == 401
        assert (await client.get(f"{API}/contests/by-cookie",
                                 headers=auth(token_for(client, boss)))).status_code == 404


async def test_pages_accept_bearer_tokens_too(client) -> None:
    _, token = user_with_token(client, "tokenuser")
    page = await client.get("/", headers=auth(token))
    assert page.status_code == 200
    assert "tokenuser" in page.text
    assert "tokenuser" not in (await client.get("/")).text


@pytest.mark.parametrize("header", ["Basic YWxpY2U6c2VjcmV0", "Bearer pod_not-a-token"])
async def test_bad_credentials_on_a_page_are_a_401_page(client, header: str) -> None:
    response = await client.get("/", headers={"Authorization": header, "accept": "text/html"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>401</h1>" in response.text
    json_response = await client.get("/", headers={"Authorization": header})
    assert json_response.status_code == 401
    assert json_response.json()["status_code"] == 401


# ------------------------------------------------------------------------------- escaping


async def test_user_text_is_escaped_in_pages(client) -> None:
    world = world_with_tokens(client)
    evil = '<script>alert("x")</script>'
    response = await client.patch(f"{API}/contests/spring",
                                  json={"title": evil, "description": evil},
                                  headers=auth(world.tokens["admin"]))
    assert response.status_code == 200
    InApp(client).create_team(world.contest.id, name=f"team {evil}")
    for url in ("/", "/contests/spring"):
        page = await client.get(url)
        assert page.status_code == 200
        assert "<script>" not in page.text, url
        assert "&lt;script&gt;" in page.text, url
    missing = await client.get("/contests/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
                               headers={"accept": "text/html"})
    assert missing.status_code == 404
    assert "does not exist" in missing.text
    assert "<img" not in missing.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in missing.text


async def test_action_error_messages_are_escaped(settings) -> None:
    async with plugin_client(settings, {"forms": FormPlugin()}, base_url=HTTPS) as client:
        await client.get("/")
        token = client.cookies["csrftoken"]
        page = await client.post("/plugins/forms/fail",
                                 headers={"x-csrftoken": token, "accept": "text/html"})
        assert page.status_code == 400
        assert "<b>42</b>" not in page.text
        assert "&lt;b&gt;42&lt;/b&gt;" in page.text


# ---------------------------------------------------------------------- roles and objects


async def test_user_creation_is_for_organizers(client) -> None:
    _, contestant = user_with_token(client, "c1")
    _, jury = user_with_token(client, "j1", role="jury")
    _, organizer = user_with_token(client, "o1", role="organizer")
    _, admin = user_with_token(client, "a1", role="admin")
    new = {"username": "newbie", "password": "newbie-password"}
    assert (await client.post(f"{API}/users", json=new)).status_code == 401
    for token in (contestant, jury):
        assert (await client.post(f"{API}/users", json=new,
                                  headers=auth(token))).status_code == 403
    created = await client.post(f"{API}/users", json=new, headers=auth(organizer))
    assert created.status_code == 201
    assert set(created.json()) == {"id", "username", "display_name", "role"}

    make_admin = {"username": "sneaky", "password": "sneaky-password", "role": "admin"}
    refused = await client.post(f"{API}/users", json=make_admin, headers=auth(organizer))
    assert refused.status_code == 403
    assert refused.json()["detail"] == "only admins create admins"
    assert (await client.post(f"{API}/users", json=make_admin,
                              headers=auth(admin))).status_code == 201
    login = await client.post(f"{API}/auth/token",
                              json={"username": "newbie", "password": "newbie-password"})
    assert login.status_code == 201
    assert "password" not in login.text and "hash" not in login.text


async def test_problem_bank_is_staff_only(client) -> None:
    world = world_with_tokens(client)
    _, jury = user_with_token(client, "j1", role="jury")
    assert (await client.get(f"{API}/problems")).status_code == 401
    assert (await client.get(f"{API}/problems",
                             headers=auth(world.tokens["team0"]))).status_code == 403
    bank = await client.get(f"{API}/problems", headers=auth(jury))
    assert bank.status_code == 200
    assert [p["slug"] for p in bank.json()] == ["spring-a", "spring-b"]
    new = {"slug": "jury-made", "title": "Jury problem"}
    assert (await client.post(f"{API}/problems", json=new,
                              headers=auth(jury))).status_code == 403
    assert (await client.post(f"{API}/problems", json=new,
                              headers=auth(world.tokens["admin"]))).status_code == 201


async def test_jury_reads_but_does_not_manage(client) -> None:
    world = world_with_tokens(client, visibility="hidden")
    _, jury = user_with_token(client, "j1", role="jury")
    assert (await client.get(f"{API}/contests/spring", headers=auth(jury))).status_code == 200
    assert (await client.get(f"{API}/contests/spring/scoreboard", params={"view": "jury"},
                             headers=auth(jury))).status_code == 200
    for method, url, body in (
        ("PATCH", f"{API}/contests/spring", {"title": "x"}),
        ("PUT", f"{API}/contests/spring/plugins/medals", {}),
        ("DELETE", f"{API}/contests/spring/plugins/medals", None),
        ("POST", f"{API}/contests/spring/teams", {"name": "jury team"}),
        ("POST", f"{API}/contests/spring/problems", {"problem": "spring-a", "label": "Z"}),
        ("PUT", f"{API}/contests/spring/languages/c", None),
    ):
        response = await client.request(method, url, json=body, headers=auth(jury))
        assert response.status_code == 403, (method, url)
        assert response.json()["detail"] == "organizers only"
    detail = (await client.get(f"{API}/contests/spring", headers=auth(world.tokens["admin"])))
    assert detail.json()["title"] == "Contest spring"


async def test_other_teams_objects_are_invisible(client) -> None:
    world = world_with_tokens(client)
    theirs = solve_in_app(client, world, 1, "A", "AC", 3)
    mine = await client.post(f"{API}/contests/spring/submissions", json=source("B"),
                             headers=auth(world.tokens["team0"]))
    assert mine.status_code == 201
    team0 = auth(world.tokens["team0"])
    for tail in ("", "/source"):
        response = await client.get(f"{API}/submissions/{theirs.id}{tail}", headers=team0)
        assert response.status_code == 404
        # Same answer as for an id that does not exist: no existence oracle.
        ghost = await client.get(f"{API}/submissions/999999{tail}", headers=team0)
        assert ghost.status_code == 404
        assert response.json()["detail"] == f"submission {theirs.id} does not exist"
        assert ghost.json()["detail"] == "submission 999999 does not exist"
    listed = (await client.get(f"{API}/contests/spring/submissions", headers=team0)).json()
    assert [s["id"] for s in listed] == [mine.json()["id"]]
    # A contestant cannot submit in another team's name either.
    forged = await client.post(f"{API}/contests/spring/submissions",
                               json=source("A", team_id=world.teams[1].id), headers=team0)
    assert forged.status_code == 403


async def test_private_contest_members_only(client) -> None:
    world = world_with_tokens(client, visibility="private")
    _, outsider = user_with_token(client, "outsider")
    for token, status in ((world.tokens["team0"], 200), (outsider, 404), ("", 404)):
        for url in (f"{API}/contests/spring", f"{API}/contests/spring/scoreboard",
                    f"{API}/contests/spring/teams"):
            response = await client.get(url, headers=auth(token))
            assert response.status_code == status, (url, token)
        page = await client.get("/contests/spring", headers={**auth(token), "accept": "text/html"})
        assert page.status_code == status
    home = await client.get("/")
    assert "/contests/spring" not in home.text
    member_home = await client.get("/", headers=auth(world.tokens["team0"]))
    assert 'href="/contests/spring"' in member_home.text
