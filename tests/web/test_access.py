"""Every route of the app, called without credentials (as ``curl`` would), and as a contestant
who is not staff: only the routes listed public here may answer; every other one says 401 or
403. New routes are covered automatically: adding a route that answers anonymous callers
without being listed here fails this test.
"""

from __future__ import annotations

import re
from typing import Any

from litestar.routes import HTTPRoute

from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    InApp,
    csrf_of,
    fast_passwords,
    log_in,
    world_with_tokens,
)

# (method, path template) pairs anyone may call; anything else needs a login (401) or a role
# (403). Paths are Litestar's templates.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"), ("POST", "/login"),
    ("GET", "/register"), ("POST", "/register"),
    ("POST", "/logout"),
    ("GET", "/healthz"), ("GET", "/readyz"),
    ("GET", "/contests/{slug:str}"),
    ("GET", "/contests/{slug:str}/scoreboard"),
    ("GET", "/contests/{slug:str}/reveal"),
    ("GET", "/contests/{slug:str}/problems"),
    ("GET", "/contests/{slug:str}/problems/{label:str}"),
    ("GET", "/contests/{slug:str}/problems/{label:str}/statement.pdf"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/contests"),
    ("GET", "/api/v1/contests/{slug:str}"),
    ("GET", "/api/v1/contests/{slug:str}/problems"),
    ("GET", "/api/v1/contests/{slug:str}/languages"),
    ("GET", "/api/v1/contests/{slug:str}/teams"),
    ("GET", "/api/v1/contests/{slug:str}/scoreboard"),
    ("GET", "/api/v1/contests/{slug:str}/event-feed"),
    ("GET", "/api/v1/languages"),
    ("GET", "/api/v1/scoring-rules"),
    ("GET", "/api/v1/leaderboards"),
    ("GET", "/api/v1/leaderboards/{ref:str}"),
    ("GET", "/api/v1/leaderboards/{ref:str}/top"),
    ("GET", "/api/v1/leaderboards/{ref:str}/around/{player:str}"),
    ("GET", "/api/v1/leaderboards/{ref:str}/player/{player:str}"),
    ("GET", "/api/v1/leaderboards/{ref:str}/range"),
    ("GET", "/api/v1/leaderboards/{ref:str}/count"),
}
SKIP_PREFIXES = ("/schema", "/static/")  # the OpenAPI document and static files


def _fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        return values.get(name, "1" if kind == "int" else "x")

    return re.sub(r"\{(\w+):(\w+)\}", value, path)


def _routes(client: Any) -> list[tuple[str, str]]:
    found = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(SKIP_PREFIXES):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            found.append((method, route.path))
    return found


async def test_no_private_route_answers_without_a_login(client) -> None:
    world = world_with_tokens(client, teams=2)
    values = {"slug": world.contest.slug, "label": "A", "ref": "practice", "player": "p"}
    routes = _routes(client)
    assert len(routes) > 40  # the walk sees the whole app
    token = await csrf_of(client, "/")  # a browser's CSRF cookie and token, but no session
    failures = []
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        url = _fill(path, values)
        response = await client.request(method, url, headers={**HTML, "X-CSRFToken": token},
                                        follow_redirects=False)
        if response.status_code not in (401, 403):
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == [], "\n".join(failures)


async def test_contestants_get_403_on_every_staff_route(client) -> None:
    world = world_with_tokens(client, teams=2)
    app = InApp(client)
    mallory = app.create_user("mallory", password="correct horse")
    bearer = {"Authorization": f"Bearer {app.create_api_token(mallory.id)}"}
    await log_in(client, "mallory", "correct horse")  # pages: the session; the API: a token
    values = {"slug": world.contest.slug, "label": "A"}
    token = await csrf_of(client, "/")
    failures = []
    for method, path in _routes(client):
        if not (path.startswith("/admin") or path.startswith("/api/v1/users")):
            continue
        url = _fill(path, values)
        headers = {**HTML, "X-CSRFToken": token, **(bearer if path.startswith("/api") else {})}
        response = await client.request(method, url, headers=headers, follow_redirects=False)
        if response.status_code != 403:
            failures.append(f"{method} {url}: {response.status_code}")
    assert failures == [], "\n".join(failures)
