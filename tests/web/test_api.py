"""The JSON API under /api/v1, plus the probes and the OpenAPI schema."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from server.models import utcnow
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    auth,
    b64,
    fast_passwords,
    frozen_world,
    InApp,
    solve_in_app,
    source,
    token_for,
    user_with_token,
    world_with_tokens,
)

# ---------------------------------------------------------------------------- probes, schema


async def test_healthz(client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_names_the_database(client, db_url: str) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    expected = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert response.json() == {"status": "ok", "database": expected}


async def test_openapi_schema_lists_the_api(client) -> None:
    docs = await client.get("/schema")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Podium"
    paths = schema["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/auth/me", "/api/v1/contests",
                 "/api/v1/contests/{slug}", "/api/v1/contests/{slug}/submissions",
                 "/api/v1/contests/{slug}/scoreboard", "/api/v1/submissions/{submission_id}",
                 "/api/v1/submissions/{submission_id}/source", "/healthz", "/readyz"):
        assert path in paths, path
    assert "post" in paths["/api/v1/contests/{slug}/submissions"]
    assert {"put", "delete"} <= set(paths["/api/v1/contests/{slug}/plugins/{name}"])
    # HTML pages stay out of the API schema.
    assert "/" not in paths
    assert "/contests/{slug}" not in paths


# ------------------------------------------------------------------------------------ auth


async def test_token_login_and_me(client) -> None:
    InApp(client).create_user("alice", password="alice-password",
                              display_name="Alice A.")
    response = await client.post(f"{API}/auth/token",
                                 json={"username": "alice", "password": "alice-password"})
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("pod_")
    assert body["user"]["username"] == "alice"
    assert body["user"]["role"] == "contestant"

    me = await client.get(f"{API}/auth/me", headers=auth(body["token"]))
    assert me.status_code == 200
    assert me.json() == {"id": body["user"]["id"], "username": "alice",
                         "display_name": "Alice A.", "role": "contestant"}
    # The scheme is case-insensitive.
    lower = await client.get(f"{API}/auth/me",
                             headers={"Authorization": f"bearer {body['token']}"})
    assert lower.status_code == 200


async def test_each_login_makes_a_new_token(client) -> None:
    InApp(client).create_user("alice", password="alice-password")
    login = {"username": "alice", "password": "alice-password"}
    first = (await client.post(f"{API}/auth/token", json=login)).json()["token"]
    second = (await client.post(f"{API}/auth/token", json=login)).json()["token"]
    assert first != second
    for token in (first, second):
        assert (await client.get(f"{API}/auth/me", headers=auth(token))).status_code == 200


@pytest.mark.parametrize("login", [
    {"username": "alice", "password": "wrong-password"},
    {"username": "nobody", "password": "alice-password"},
])
async def test_wrong_credentials_are_403(client, login: dict[str, str]) -> None:
    InApp(client).create_user("alice", password="alice-password")
    response = await client.post(f"{API}/auth/token", json=login)
    assert response.status_code == 403
    assert response.json()["detail"] == "wrong username or password"
    assert "token" not in response.json()


async def test_token_request_validates_its_body(client) -> None:
    response = await client.post(f"{API}/auth/token", json={"username": "alice"})
    assert response.status_code == 400
    response = await client.post(f"{API}/auth/token",
                                 json={"username": "a", "password": "b", "admin": True})
    assert response.status_code == 400


@pytest.mark.parametrize("header", [
    "Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer    ", "Token abc", "pod_abc",
])
async def test_malformed_authorization_is_401(client, header: str) -> None:
    response = await client.get(f"{API}/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


async def test_unknown_and_expired_tokens_are_401(client) -> None:
    app = InApp(client)
    user = app.create_user("alice", password="alice-password")
    expired = app.create_api_token(user.id,
                                             expires_at=utcnow() - timedelta(minutes=1))
    for token in ("pod_not-a-real-token", expired):
        response = await client.get(f"{API}/auth/me", headers=auth(token))
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid or expired token"
    # An invalid token is an error even on public endpoints (never silently anonymous).
    response = await client.get(f"{API}/contests", headers=auth("pod_not-a-real-token"))
    assert response.status_code == 401


async def test_me_without_token_is_401(client) -> None:
    response = await client.get(f"{API}/auth/me")
    assert response.status_code == 401
    assert response.json()["detail"] == "authentication required"


# -------------------------------------------------------------------------------- contests


def _contest_body(slug: str = "new", **overrides: Any) -> dict[str, Any]:
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    body: dict[str, Any] = {"slug": slug, "title": f"Contest {slug}",
                            "start_at": start.isoformat(),
                            "end_at": (start + timedelta(hours=5)).isoformat()}
    body.update(overrides)
    return body


async def _contests_setup(client) -> tuple[Any, dict[str, str]]:
    """A public world 'spring', a hidden and a private contest; tokens by role."""
    app = InApp(client)
    world = world_with_tokens(client)
    start = world.start
    app.create_contest(slug="secret", title="Hidden one", start_at=start,
                                 end_at=start + timedelta(hours=5), visibility="hidden")
    private = app.create_contest(slug="invite", title="Private one",
                                           start_at=start, end_at=start + timedelta(hours=5),
                                           visibility="private")
    member, member_token = user_with_token(client, "member")
    app.create_team(private.id, name="members", member_ids=[member.id])
    _, jury_token = user_with_token(client, "judge", role="jury")
    tokens = {"anonymous": "", "contestant": world.tokens["team0"], "member": member_token,
              "jury": jury_token, "admin": world.tokens["admin"]}
    return world, tokens


async def test_contest_list_respects_visibility(client) -> None:
    _, tokens = await _contests_setup(client)
    expected = {
        "anonymous": {"spring"},
        "contestant": {"spring"},
        "member": {"spring", "invite"},
        "jury": {"spring", "invite", "secret"},
        "admin": {"spring", "invite", "secret"},
    }
    for who, slugs in expected.items():
        response = await client.get(f"{API}/contests", headers=auth(tokens[who]))
        assert response.status_code == 200, who
        assert {c["slug"] for c in response.json()} == slugs, who


async def test_contest_detail_visibility(client) -> None:
    _, tokens = await _contests_setup(client)
    statuses = {
        # slug: {who: status}
        "spring": {"anonymous": 200, "contestant": 200, "member": 200, "jury": 200, "admin": 200},
        "secret": {"anonymous": 404, "contestant": 404, "member": 404, "jury": 200, "admin": 200},
        "invite": {"anonymous": 404, "contestant": 404, "member": 200, "jury": 200, "admin": 200},
    }
    for slug, by_who in statuses.items():
        for who, status in by_who.items():
            response = await client.get(f"{API}/contests/{slug}", headers=auth(tokens[who]))
            assert response.status_code == status, (slug, who)
            if status == 200:
                assert response.json()["slug"] == slug
            else:
                assert response.json()["detail"] == f"contest {slug!r} does not exist"
    # Everything under a hidden contest is hidden too.
    for tail in ("problems", "teams", "languages", "scoreboard"):
        response = await client.get(f"{API}/contests/secret/{tail}",
                                    headers=auth(tokens["contestant"]))
        assert response.status_code == 404, tail
        response = await client.get(f"{API}/contests/secret/{tail}", headers=auth(tokens["jury"]))
        assert response.status_code == 200, tail
    # An unknown contest looks exactly like a hidden one.
    response = await client.get(f"{API}/contests/nope")
    assert response.status_code == 404


async def test_staff_only_fields(client) -> None:
    world = world_with_tokens(client, plugins={"medals": {"bronze": 10, "silver": 20,
                                                                 "gold": 30}})
    for who in ("", world.tokens["team0"]):
        detail = (await client.get(f"{API}/contests/spring", headers=auth(who))).json()
        assert detail["plugins"] is None
        assert detail["scoring_settings"] is None
        listed = (await client.get(f"{API}/contests", headers=auth(who))).json()
        assert [c["plugins"] for c in listed] == [None]
        assert [c["scoring_settings"] for c in listed] == [None]
    staff = (await client.get(f"{API}/contests/spring", headers=auth(world.tokens["admin"]))).json()
    assert staff["plugins"] == {"medals": {"bronze": 10.0, "silver": 20.0, "gold": 30.0}}
    assert staff["scoring_settings"] == {}
    assert staff["state"] == "running"


async def test_create_contest_permissions(client) -> None:
    _, tokens = await _contests_setup(client)
    expected = {"anonymous": 401, "contestant": 403, "member": 403, "jury": 403}
    for who, status in expected.items():
        response = await client.post(f"{API}/contests", json=_contest_body(f"by-{who}"),
                                     headers=auth(tokens[who]))
        assert response.status_code == status, who
        assert (await client.get(f"{API}/contests/by-{who}",
                                 headers=auth(tokens["admin"]))).status_code == 404
    response = await client.post(f"{API}/contests",
                                 json=_contest_body("by-admin", scoring_rule="points",
                                                    plugins={"medals": {}}),
                                 headers=auth(tokens["admin"]))
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "by-admin"
    assert body["state"] == "scheduled"
    assert body["plugins"] == {"medals": {"bronze": 100.0, "silver": 200.0, "gold": 300.0}}
    listed = await client.get(f"{API}/contests")
    assert "by-admin" in {c["slug"] for c in listed.json()}


async def test_organizer_creates_contests(client) -> None:
    _, token = user_with_token(client, "org", role="organizer")
    response = await client.post(f"{API}/contests", json=_contest_body("org-made"),
                                 headers=auth(token))
    assert response.status_code == 201


BAD_CONTESTS: list[tuple[dict[str, Any], str, str]] = [
    # (changes to a good body, the error's field, text in its detail)
    ({"end_at": (utcnow() - timedelta(days=3)).isoformat()}, "end_at",
     "the contest must end after it starts"),
    ({"scoring_rule": "golf"}, "scoring_rule", "no scoring rule named 'golf'"),
    ({"scoring_settings": {"bonus": 1}}, "scoring_settings", "invalid settings for 'points'"),
    ({"plugins": {"no_such_plugin": {}}}, "plugins", "no plugin named 'no_such_plugin'"),
    ({"plugins": {"medals": {"bronze": 300, "silver": 200, "gold": 100}}}, "plugins.medals",
     "thresholds must increase"),
    ({"plugins": {"medals": {"bronze": -1}}}, "plugins.medals", "bronze"),
    ({"start_at": "2030-01-01T10:00:00", "end_at": "2030-01-01T15:00:00"}, "start_at",
     "needs a time zone"),
    ({"visibility": "secret"}, "visibility", "visibility must be one of"),
    ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
    ({"theme": "no-such-theme"}, "theme", "no theme named"),
    ({"slug": "Bad Slug!"}, "slug", "slug must be"),
]


async def test_create_contest_rejects_bad_input(client) -> None:
    _, token = user_with_token(client, "boss", role="admin")
    for overrides, field, detail in BAD_CONTESTS:
        body = _contest_body(**{"slug": "bad", **overrides})
        response = await client.post(f"{API}/contests", json=body, headers=auth(token))
        assert response.status_code == 400, (overrides, response.text)
        assert detail in response.json()["detail"], overrides
        assert response.json()["field"] == field, overrides
        # Nothing was stored.
        assert (await client.get(f"{API}/contests/{body['slug']}",
                                 headers=auth(token))).status_code == 404
        assert (await client.get(f"{API}/contests", headers=auth(token))).json() == []
    # The same body without the mistake goes through.
    assert (await client.post(f"{API}/contests", json=_contest_body("bad"),
                              headers=auth(token))).status_code == 201


async def test_create_contest_rejects_unknown_fields_and_duplicates(client) -> None:
    _, token = user_with_token(client, "boss", role="admin")
    response = await client.post(f"{API}/contests", json=_contest_body(owner="me"),
                                 headers=auth(token))
    assert response.status_code == 400
    response = await client.post(f"{API}/contests", json={"slug": "x"}, headers=auth(token))
    assert response.status_code == 400
    assert (await client.post(f"{API}/contests", json=_contest_body("dup"),
                              headers=auth(token))).status_code == 201
    again = await client.post(f"{API}/contests", json=_contest_body("dup", title="Other"),
                              headers=auth(token))
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert (await client.get(f"{API}/contests/dup")).json()["title"] == "Contest dup"


async def test_patch_contest(client) -> None:
    world = world_with_tokens(client)
    url = f"{API}/contests/spring"
    before = (await client.get(url, headers=auth(world.tokens["admin"]))).json()

    assert (await client.patch(url, json={"title": "X"})).status_code == 401
    assert (await client.patch(url, json={"title": "X"},
                               headers=auth(world.tokens["team0"]))).status_code == 403

    response = await client.patch(url, json={"title": "Renamed", "description": "Hello"},
                                  headers=auth(world.tokens["admin"]))
    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
    assert response.json()["description"] == "Hello"
    assert response.json()["end_at"] == before["end_at"]  # untouched fields stay
    assert (await client.get(url)).json()["title"] == "Renamed"

    bad_end = (world.start - timedelta(hours=1)).isoformat()
    for change, field in (({"end_at": bad_end}, "end_at"),
                          ({"scoring_settings": {"bonus": 1}}, "scoring_settings"),
                          ({"scoring_rule": "golf"}, "scoring_rule"),
                          ({"visibility": "everyone"}, "visibility")):
        response = await client.patch(url, json=change, headers=auth(world.tokens["admin"]))
        assert response.status_code == 400, change
        assert response.json()["field"] == field
    response = await client.patch(url, json={"slug": "other"},
                                  headers=auth(world.tokens["admin"]))
    assert response.status_code == 400  # not an editable field
    after = (await client.get(url, headers=auth(world.tokens["admin"]))).json()
    assert after == {**before, "title": "Renamed", "description": "Hello"}

    missing = await client.patch(f"{API}/contests/nope", json={"title": "X"},
                                 headers=auth(world.tokens["admin"]))
    assert missing.status_code == 404


async def test_patch_null_for_a_required_field_is_400(client) -> None:
    world = world_with_tokens(client)
    url = f"{API}/contests/spring"
    admin = auth(world.tokens["admin"])
    before = (await client.get(url, headers=admin)).json()
    for field in ("title", "description", "start_at", "end_at", "timezone", "scoring_rule",
                  "visibility", "registration_mode", "is_practice", "unfrozen"):
        response = await client.patch(url, json={field: None}, headers=admin)
        assert response.status_code == 400, (field, response.text)
        assert f"{field} cannot be null" in response.text
        assert (await client.get(url, headers=admin)).json() == before, field


async def test_patch_can_clear_the_freeze(client) -> None:
    world = world_with_tokens(client, freeze=True)
    url = f"{API}/contests/spring"
    response = await client.patch(url, json={"freeze_at": None},
                                  headers=auth(world.tokens["admin"]))
    assert response.status_code == 200
    assert response.json()["freeze_at"] is None


async def test_patch_rejects_a_blank_title(client) -> None:
    world = world_with_tokens(client)
    response = await client.patch(f"{API}/contests/spring", json={"title": "   "},
                                  headers=auth(world.tokens["admin"]))
    assert response.status_code == 400
    assert (await client.get(f"{API}/contests/spring")).json()["title"] == "Contest spring"


async def test_configure_and_disable_plugins(client) -> None:
    world = world_with_tokens(client)
    admin = auth(world.tokens["admin"])
    url = f"{API}/contests/spring/plugins/medals"

    assert (await client.put(url, json={})).status_code == 401
    assert (await client.put(url, json={}, headers=auth(world.tokens["team0"]))).status_code == 403
    assert (await client.delete(url, headers=auth(world.tokens["team0"]))).status_code == 403

    response = await client.put(url, json={}, headers=admin)
    assert response.status_code == 200
    assert response.json()["plugins"]["medals"] == {"bronze": 100.0, "silver": 200.0,
                                                    "gold": 300.0}
    response = await client.put(url, json={"bronze": 5, "silver": 10, "gold": 15}, headers=admin)
    assert response.status_code == 200
    assert response.json()["plugins"]["medals"] == {"bronze": 5.0, "silver": 10.0, "gold": 15.0}

    for bad, text in (({"bronze": 20, "silver": 10, "gold": 15}, "thresholds must increase"),
                      ({"platinum": 1}, "platinum"),
                      ({"gold": "lots"}, "gold")):
        response = await client.put(url, json=bad, headers=admin)
        assert response.status_code == 400, bad
        assert text in response.json()["detail"]
        assert response.json()["field"] == "plugins.medals"
    stored = (await client.get(f"{API}/contests/spring", headers=admin)).json()["plugins"]
    assert stored == {"medals": {"bronze": 5.0, "silver": 10.0, "gold": 15.0}}

    unknown = await client.put(f"{API}/contests/spring/plugins/nope", json={}, headers=admin)
    assert unknown.status_code == 400
    assert "no plugin named 'nope'" in unknown.json()["detail"]
    no_contest = await client.put(f"{API}/contests/nope/plugins/medals", json={}, headers=admin)
    assert no_contest.status_code == 404

    response = await client.delete(url, headers=admin)
    assert response.status_code == 200
    assert response.json()["plugins"] == {}
    again = await client.delete(url, headers=admin)
    assert again.status_code == 404
    assert "not enabled" in again.json()["detail"]


async def test_problems_teams_and_languages(client) -> None:
    world = world_with_tokens(client)
    problems = (await client.get(f"{API}/contests/spring/problems")).json()
    assert [(p["label"], p["title"], p["points"]) for p in problems] == [
        ("A", "Problem A", 100.0), ("B", "Problem B", 200.0)]
    teams = (await client.get(f"{API}/contests/spring/teams")).json()
    assert [t["name"] for t in teams] == ["spring team 0", "spring team 1"]
    assert (await client.get(f"{API}/contests/spring/languages")).json() == ["python3"]

    admin = auth(world.tokens["admin"])
    response = await client.put(f"{API}/contests/spring/languages/c", headers=admin)
    assert response.status_code == 200
    assert response.json() == ["c", "python3"]
    assert (await client.put(f"{API}/contests/spring/languages/cobol",
                             headers=admin)).status_code == 400
    assert (await client.put(f"{API}/contests/spring/languages/c",
                             headers=auth(world.tokens["team0"]))).status_code == 403


async def test_scheduled_contest_hides_problems_from_contestants(client) -> None:
    app = InApp(client)
    _, admin = user_with_token(client, "boss", role="admin")
    created = await client.post(f"{API}/contests", json=_contest_body("later"),
                                headers=auth(admin))
    assert created.status_code == 201
    app.create_problem(slug="later-a", title="Secret problem")
    app.add_contest_problem("later", "later-a", label="A")
    assert (await client.get(f"{API}/contests/later/problems")).json() == []
    staff = (await client.get(f"{API}/contests/later/problems", headers=auth(admin))).json()
    assert [p["title"] for p in staff] == ["Secret problem"]


# ----------------------------------------------------------------------------- submissions


async def test_submit_queues_a_job(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    assert app.waiting() == 0
    response = await client.post(f"{API}/contests/spring/submissions",
                                 json=source("A", text="print(42)\n"),
                                 headers=auth(world.tokens["team0"]))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["verdict"] is None
    assert body["team_id"] == world.teams[0].id
    assert body["contest_id"] == world.contest.id
    assert body["language"] == "python3"
    assert app.waiting() == 1
    job = app(app.services.queue.claim, "worker-1", timeout=0)
    assert job is not None
    assert job.payload == {"submission_id": body["id"], "contest_id": world.contest.id}

    own = await client.get(f"{API}/submissions/{body['id']}", headers=auth(world.tokens["team0"]))
    assert own.status_code == 200
    assert own.json() == body
    files = await client.get(f"{API}/submissions/{body['id']}/source",
                             headers=auth(world.tokens["team0"]))
    assert files.status_code == 200
    assert files.json() == [{"filename": "main.py", "encoding": "base64",
                             "content": b64("print(42)\n")}]


async def test_submit_base64_files(client) -> None:
    world = world_with_tokens(client)
    payload = bytes(range(256))
    body = {"problem": "B", "language": "python3",
            "files": [{"filename": "data.bin", "content": base64.b64encode(payload).decode(),
                       "encoding": "base64"},
                      {"filename": "main.py", "content": "print(1)"}]}
    response = await client.post(f"{API}/contests/spring/submissions", json=body,
                                 headers=auth(world.tokens["team1"]))
    assert response.status_code == 201
    files = (await client.get(f"{API}/submissions/{response.json()['id']}/source",
                              headers=auth(world.tokens["team1"]))).json()
    assert [f["filename"] for f in files] == ["data.bin", "main.py"]
    assert base64.b64decode(files[0]["content"]) == payload


async def test_staff_submit_for_any_team(client) -> None:
    world = world_with_tokens(client)
    response = await client.post(f"{API}/contests/spring/submissions",
                                 json=source("A", team_id=world.teams[1].id),
                                 headers=auth(world.tokens["admin"]))
    assert response.status_code == 201
    assert response.json()["team_id"] == world.teams[1].id
    # Staff without a team must name one.
    response = await client.post(f"{API}/contests/spring/submissions", json=source("A"),
                                 headers=auth(world.tokens["admin"]))
    assert response.status_code == 403


async def test_submit_rejections(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    _, outsider = user_with_token(client, "outsider")
    url = f"{API}/contests/spring/submissions"
    team0 = auth(world.tokens["team0"])
    cases: list[tuple[dict[str, str], dict[str, Any], int, str]] = [
        (team0, source("A", language="c"), 400, "not enabled"),
        (team0, source("A", language="brainfuck"), 400, "no language named"),
        (team0, source("Z"), 404, "'Z' is not in contest"),
        (team0, source("A", team_id=world.teams[1].id), 403, "your own team"),
        (auth(outsider), source("A"), 403, "not in a team"),
        (auth(outsider), source("A", team_id=world.teams[0].id), 403, "your own team"),
        (team0, {"problem": "A", "language": "python3",
                 "files": [{"filename": "main.py", "content": "%%%not base64",
                            "encoding": "base64"}]}, 400, "not valid base64"),
        (team0, {"problem": "A", "language": "python3",
                 "files": [{"filename": "main.py", "content": "a", "encoding": "rot13"}]},
         400, "encoding"),
        (team0, {"problem": "A", "language": "python3", "files": []}, 400, "files"),
        (team0, {"problem": "A", "language": "python3",
                 "files": [{"filename": "a.py", "content": "1"},
                           {"filename": "a.py", "content": "2"}]}, 400, "unique"),
        (team0, {"problem": "A", "language": "python3",
                 "files": [{"filename": "../etc/passwd", "content": "1"}]}, 400, "not allowed"),
        (team0, {**source("A"), "verdict": "AC"}, 400, "verdict"),
    ]
    for headers, body, status, text in cases:
        response = await client.post(url, json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert text in response.text, (body, response.text)
    assert app.waiting() == 0
    assert (await client.get(url, headers=auth(world.tokens["admin"]))).json() == []


async def test_submit_when_the_contest_is_not_running(client) -> None:
    app = InApp(client)
    now = utcnow().replace(microsecond=0)
    user, token = user_with_token(client, "late")
    for slug, start in (("past", now - timedelta(days=2)), ("future", now + timedelta(days=2))):
        contest = app.create_contest(slug=slug, title=slug, start_at=start,
                                               end_at=start + timedelta(hours=5))
        app.create_problem(slug=f"{slug}-a", title="A")
        app.add_contest_problem(contest.id, f"{slug}-a", label="A")
        app.enable_language(contest.id, "python3")
        app.create_team(contest.id, name=f"{slug} team",
                                  member_ids=[user.id])
        response = await client.post(f"{API}/contests/{slug}/submissions", json=source("A"),
                                     headers=auth(token))
        assert response.status_code == 403, slug
        assert response.json()["detail"] == "the contest is not running"
    assert app.waiting() == 0


async def test_submit_to_a_hidden_contest_is_404(client) -> None:
    app = InApp(client)
    world = world_with_tokens(client, visibility="hidden")
    response = await client.post(f"{API}/contests/spring/submissions", json=source("A"),
                                 headers=auth(world.tokens["team0"]))
    assert response.status_code == 404
    assert app.waiting() == 0


async def test_submission_objects_are_authorized(client) -> None:
    world = world_with_tokens(client)
    _, jury = user_with_token(client, "judge", role="jury")
    sub = solve_in_app(client, world, 0, "A", "WA", 10)
    for tail in ("", "/source"):
        url = f"{API}/submissions/{sub.id}{tail}"
        assert (await client.get(url, headers=auth(world.tokens["team0"]))).status_code == 200
        other = await client.get(url, headers=auth(world.tokens["team1"]))
        assert other.status_code == 404, tail
        assert other.json()["detail"] == f"submission {sub.id} does not exist"
        assert "verdict" not in other.text
        for staff in (world.tokens["admin"], jury):
            assert (await client.get(url, headers=auth(staff))).status_code == 200, tail
        assert (await client.get(url)).status_code == 401
        missing = await client.get(f"{API}/submissions/{sub.id + 1000}{tail}",
                                   headers=auth(world.tokens["admin"]))
        assert missing.status_code == 404
    detail = (await client.get(f"{API}/submissions/{sub.id}",
                               headers=auth(world.tokens["team0"]))).json()
    assert detail["verdict"] == "WA"
    assert detail["status"] == "judged"


async def test_submission_list_shows_own_team_only(client) -> None:
    world = world_with_tokens(client)
    _, outsider = user_with_token(client, "outsider")
    mine = [solve_in_app(client, world, 0, "A", "WA", 5),
            solve_in_app(client, world, 0, "A", "", 7)]
    theirs = solve_in_app(client, world, 1, "B", "AC", 9)
    url = f"{API}/contests/spring/submissions"
    team0 = (await client.get(url, headers=auth(world.tokens["team0"]))).json()
    assert [s["id"] for s in team0] == [mine[1].id, mine[0].id]  # newest first
    assert {s["team_id"] for s in team0} == {world.teams[0].id}
    team1 = (await client.get(url, headers=auth(world.tokens["team1"]))).json()
    assert [s["id"] for s in team1] == [theirs.id]
    everyone = (await client.get(url, headers=auth(world.tokens["admin"]))).json()
    assert {s["id"] for s in everyone} == {mine[0].id, mine[1].id, theirs.id}
    assert (await client.get(url, headers=auth(outsider))).json() == []


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/auth/me"),
    ("POST", "/contests/spring/submissions"),
    ("GET", "/contests/spring/submissions"),
    ("GET", "/submissions/1"),
    ("GET", "/submissions/1/source"),
])
async def test_contestant_endpoints_need_credentials(client, method: str, path: str) -> None:
    app = InApp(client)
    world = world_with_tokens(client)
    solve_in_app(client, world, 0, "A", "AC", 1)
    queued = app.waiting()
    response = await client.request(method, f"{API}{path}",
                                    json=source("A") if method == "POST" else None)
    assert response.status_code == 401
    assert response.json()["detail"] == "authentication required"
    assert app.waiting() == queued


# ------------------------------------------------------------------------------ scoreboard


async def test_scoreboard_views(client) -> None:
    world = world_with_tokens(client)
    _, jury = user_with_token(client, "judge", role="jury")
    solve_in_app(client, world, 0, "A", "AC", 10)
    solve_in_app(client, world, 1, "B", "AC", 20)
    url = f"{API}/contests/spring/scoreboard"

    public = await client.get(url)
    assert public.status_code == 200
    board = public.json()
    assert board["contest"] == "spring"
    assert board["frozen"] is False
    assert [p["label"] for p in board["problems"]] == ["A", "B"]
    assert [(r["rank"], r["team_id"], r["points"]) for r in board["rows"]] == [
        (1, world.teams[1].id, 200.0), (2, world.teams[0].id, 100.0)]
    assert board["rows"][0]["cells"][1]["solved"] is True
    assert board["rows"][0]["cells"][1]["first_to_solve"] is True
    # A cell names its problem and only what differs from an untouched cell.
    a, b = (p["id"] for p in board["problems"])
    assert board["rows"][0]["cells"][0] == {"problem_id": a}
    solved = board["rows"][0]["cells"][1]
    assert solved["problem_id"] == b and solved["attempts"] == 1 and solved["time"] > 0
    assert "pending" not in solved and "first_to_solve" in solved

    assert (await client.get(url, params={"view": "jury"})).status_code == 401
    contestant = await client.get(url, params={"view": "jury"}, headers=auth(world.tokens["team0"]))
    assert contestant.status_code == 403
    for token in (jury, world.tokens["admin"]):
        response = await client.get(url, params={"view": "jury"}, headers=auth(token))
        assert response.status_code == 200
        assert response.json()["rows"] == board["rows"]
    bogus = await client.get(url, params={"view": "everything"})
    assert bogus.status_code == 400


async def test_scoreboard_hides_hidden_teams_and_honours_the_rule(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    hidden = app.create_team(world.contest.id, name="staff team", hidden=True)
    board = (await client.get(f"{API}/contests/spring/scoreboard")).json()
    assert hidden.id not in {r["team_id"] for r in board["rows"]}
    teams = (await client.get(f"{API}/contests/spring/teams")).json()
    assert "staff team" not in {t["name"] for t in teams}
    staff_teams = (await client.get(f"{API}/contests/spring/teams",
                                    headers=auth(world.tokens["admin"]))).json()
    assert "staff team" in {t["name"] for t in staff_teams}


async def test_frozen_scoreboard_hides_late_results(client) -> None:
    frozen = frozen_world(client)
    world = frozen.world
    url = f"{API}/contests/frozen/scoreboard"

    detail = (await client.get(f"{API}/contests/frozen")).json()
    assert detail["state"] == "frozen"

    for token in ("", world.tokens["team0"], world.tokens["team1"]):
        public = (await client.get(url, headers=auth(token))).json()
        assert public["frozen"] is True
        rows = {r["team_id"]: r for r in public["rows"]}
        team0, team1 = rows[world.teams[0].id], rows[world.teams[1].id]
        # Team 1's accepted A came after the freeze: pending, not solved, no points.
        a1 = team1["cells"][0]
        assert (a1.get("solved", False), a1["pending"], a1.get("points", 0), a1.get("time")) == (
            False, 1, 0, None)
        assert team1["points"] == 0.0
        assert team1["solved"] == 0
        # Team 0: A before the freeze counts; B after the freeze is pending.
        assert team0["cells"][0]["solved"] is True
        assert (team0["cells"][1].get("solved", False), team0["cells"][1]["pending"]) == (False, 1)
        assert team0["points"] == 100.0
        assert [r["team_id"] for r in public["rows"]] == [world.teams[0].id, world.teams[1].id]

    jury = (await client.get(url, params={"view": "jury"},
                             headers=auth(world.tokens["admin"]))).json()
    assert jury["frozen"] is False
    rows = {r["team_id"]: r for r in jury["rows"]}
    assert rows[world.teams[1].id]["cells"][0]["solved"] is True
    assert rows[world.teams[1].id]["points"] == 100.0
    assert rows[world.teams[0].id]["cells"][1]["solved"] is True
    assert rows[world.teams[0].id]["points"] == 300.0


async def test_unfreezing_publishes_the_results(client) -> None:
    frozen = frozen_world(client)
    admin = auth(frozen.world.tokens["admin"])
    response = await client.patch(f"{API}/contests/frozen", json={"unfrozen": True},
                                  headers=admin)
    assert response.status_code == 200
    public = (await client.get(f"{API}/contests/frozen/scoreboard")).json()
    assert public["frozen"] is False
    assert [r["points"] for r in public["rows"]] == [300.0, 100.0]


async def test_catalogs(client) -> None:
    world = world_with_tokens(client)
    languages = (await client.get(f"{API}/languages")).json()
    assert "python3" in {lang["name"] for lang in languages}
    rules = (await client.get(f"{API}/scoring-rules")).json()
    assert "points" in {rule["name"] for rule in rules}
    assert (await client.get(f"{API}/plugins")).status_code == 401
    assert (await client.get(f"{API}/plugins",
                             headers=auth(world.tokens["team0"]))).status_code == 403
    plugins = (await client.get(f"{API}/plugins", headers=auth(world.tokens["admin"]))).json()
    medals = next(p for p in plugins if p["name"] == "medals")
    assert medals["settings_schema"]["properties"].keys() >= {"bronze", "silver", "gold"}


async def test_token_reaches_the_same_user(client) -> None:
    user, _ = user_with_token(client, "carol", role="jury")
    token = token_for(client, user)
    me = (await client.get(f"{API}/auth/me", headers=auth(token))).json()
    assert (me["username"], me["role"]) == ("carol", "jury")
