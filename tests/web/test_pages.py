"""HTML pages: the contest list, a contest's page, error pages."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from litestar import Request, get
from litestar.params import FromPath

from server import actions
from server.hooks import hookimpl
from server.models import utcnow
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    API,
    auth,
    fast_passwords,
    frozen_world,
    InApp,
    plugin_client,
    solve_in_app,
    user_with_token,
    world_with_tokens,
)

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def rows(html: str) -> list[tuple[int, str]]:
    """(team id, row html) of the scoreboard table, in page order."""
    return [(int(team), body) for team, body in
            re.findall(r'<tr id="row-(\d+)"[^>]*>(.*?)</tr>', html, flags=re.S)]


def cell_classes(row_html: str) -> list[str]:
    return [c.strip() for c in re.findall(r'<td class="cell([^"]*)"', row_html)]


def cell_texts(row_html: str) -> list[str]:
    """The visible text of each problem cell."""
    cells = re.findall(r'<td class="cell[^"]*">(.*?)</td>', row_html, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


NUM = r"(\.0+)?"  # 200 or 200.0, however the theme prints numbers
TD = r"(?: class=\"[^\"]*\")?"  # a cell, with or without a class


class ErrorPlugin:
    """Routes that fail the way actions fail."""

    @hookimpl
    def podium_routes(self) -> list[Any]:
        @get("/plugins/errors/{kind:str}")
        async def fail(request: Request, kind: FromPath[str]) -> dict[str, Any]:
            if kind == "missing":
                raise actions.NotFound("no such clarification", field="clarification")
            if kind == "conflict":
                raise actions.Conflict("already answered")
            if kind == "bug":
                raise ZeroDivisionError("the secret internals")
            raise actions.Invalid("the answer must be a number", field="answer")

        return [fail]


class LinkPlugin:
    """Adds a menu link and a template variable on contests that enable it."""

    @hookimpl
    def podium_menu_links(self, contest: Any) -> list[tuple[str, str]]:
        return [("Statistics", f"/plugins/links/{contest.slug}")]


# ------------------------------------------------------------------------------ home page


async def test_home_lists_visible_contests_with_links(client) -> None:
    world = world_with_tokens(client)
    app = InApp(client)
    start = utcnow().replace(microsecond=0)
    app.create_contest(slug="autumn", title="Autumn Cup",
                                 start_at=start + timedelta(days=30),
                                 end_at=start + timedelta(days=30, hours=5))
    app.create_contest(slug="prep", title="Being prepared",
                                 start_at=start, end_at=start + timedelta(hours=5),
                                 visibility="hidden")
    page = await client.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<a href="/contests/spring">Contest spring</a>' in page.text
    assert '<a href="/contests/autumn">Autumn Cup</a>' in page.text
    assert "Being prepared" not in page.text
    assert "/contests/prep" not in page.text
    # Newest start first, each with its state.
    assert page.text.index("Autumn Cup") < page.text.index("Contest spring")
    assert "state-running" in page.text and "state-scheduled" in page.text
    staff = await client.get("/", headers={**HTML, **auth(world.tokens["admin"])})
    assert '<a href="/contests/prep">Being prepared</a>' in staff.text


async def test_home_without_contests(client) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert "No contests yet" in page.text
    assert "<table" not in page.text


# --------------------------------------------------------------------------- contest page


async def test_contest_page_shows_problems_and_ranked_scoreboard(client) -> None:
    world = world_with_tokens(client, teams=3)
    solve_in_app(client, world, 0, "A", "WA", 5)
    solve_in_app(client, world, 0, "A", "AC", 10)
    solve_in_app(client, world, 1, "B", "AC", 20)
    page = await client.get("/contests/spring", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "<h1>Contest spring</h1>" in text
    assert re.search(r'<ol class="problems">.*Problem A.*Problem B.*</ol>', text, flags=re.S)
    table = rows(text)
    assert [team for team, _ in table] == [world.teams[1].id, world.teams[0].id,
                                           world.teams[2].id]
    first, second, third = (body for _, body in table)
    assert re.search(rf"<td{TD}>1</td><td{TD}>spring team 1</td>\s*<td{TD}>200{NUM}</td>", first)
    assert re.search(rf"<td{TD}>2</td><td{TD}>spring team 0</td>\s*<td{TD}>100{NUM}</td>", second)
    assert re.search(rf"<td{TD}>3</td><td{TD}>spring team 2</td>\s*<td{TD}>0{NUM}</td>", third)
    assert cell_classes(first) == ["", "solved first"]
    assert cell_classes(second) == ["solved first", ""]
    solved_a = cell_texts(second)[0]
    assert solved_a.startswith("0:10")  # solved at 10 minutes
    assert re.search(r"\b2\b", solved_a)  # after two judged attempts
    assert cell_texts(first)[0] == ""
    assert cell_classes(third) == ["", ""]
    assert cell_texts(third) == ["", ""]
    # Column headers follow the problems.
    assert re.search(r"<th>Time</th>\s*<th[^>]*>A</th><th[^>]*>B</th>", text)


async def test_contest_page_without_teams(client) -> None:
    world_with_tokens(client, teams=0)
    page = await client.get("/contests/spring")
    assert page.status_code == 200
    assert "No teams yet." in page.text
    assert rows(page.text) == []


async def test_scheduled_contest_hides_problems_from_anonymous(client) -> None:
    app = InApp(client)
    start = utcnow().replace(microsecond=0) + timedelta(days=1)
    contest = app.create_contest(slug="soon", title="Soon",
                                           start_at=start, end_at=start + timedelta(hours=5))
    app.create_problem(slug="soon-a", title="Top Secret Statement")
    app.add_contest_problem(contest.id, "soon-a", label="A")
    _, contestant = user_with_token(client, "eager")
    _, jury = user_with_token(client, "judge", role="jury")
    for token in ("", contestant):
        page = await client.get("/contests/soon", headers={**HTML, **auth(token)})
        assert page.status_code == 200
        assert "Top Secret Statement" not in page.text
        assert "The problems appear when the contest starts." in page.text
        assert "state-scheduled" in page.text
    staff = await client.get("/contests/soon", headers={**HTML, **auth(jury)})
    assert "Top Secret Statement" in staff.text


async def test_frozen_contest_page_does_not_leak(client) -> None:
    frozen = frozen_world(client)
    world = frozen.world
    for token in ("", world.tokens["team1"], world.tokens["admin"]):
        page = await client.get("/contests/frozen", headers={**HTML, **auth(token)})
        assert page.status_code == 200
        assert "frozen: later results are pending" in page.text
        assert "state-frozen" in page.text
        table = dict(rows(page.text))
        team0, team1 = table[world.teams[0].id], table[world.teams[1].id]
        # Team 1's A was accepted after the freeze: pending, no time, no points.
        assert cell_classes(team1) == ["pending", ""]
        assert "solved" not in team1
        assert re.search(rf"<td{TD}>frozen team 1</td>\s*<td{TD}>0{NUM}</td>", team1)
        assert "2:30" not in team1
        assert re.search(r"\b1\b", cell_texts(team1)[0])  # one attempt waiting
        assert cell_texts(team1)[1] == ""
        # Team 0 keeps A (before the freeze); B (after it) is pending.
        assert cell_classes(team0) == ["solved first", "pending"]
        assert re.search(rf"<td{TD}>frozen team 0</td>\s*<td{TD}>100{NUM}</td>", team0)
        assert not re.search(rf"<td{TD}>300{NUM}</td>", page.text)
        assert "2:40" not in team0
        assert [team for team, _ in rows(page.text)] == [world.teams[0].id, world.teams[1].id]


async def test_hidden_and_unknown_contests_are_404_pages(client) -> None:
    world = world_with_tokens(client, visibility="hidden")
    for url in ("/contests/spring", "/contests/nope"):
        page = await client.get(url, headers=HTML)
        assert page.status_code == 404, url
        assert page.headers["content-type"].startswith("text/html")
        assert "<h1>404</h1>" in page.text
        assert "does not exist" in page.text
        assert 'href="/"' in page.text
    staff = await client.get("/contests/spring", headers={**HTML, **auth(world.tokens["admin"])})
    assert staff.status_code == 200
    # Clients that do not ask for HTML get JSON, pages included.
    json_404 = await client.get("/contests/nope", headers={"accept": "application/json"})
    assert json_404.status_code == 404
    assert json_404.json() == {"status_code": 404, "detail": "contest 'nope' does not exist"}
    # The API always answers JSON, even to a browser.
    api_404 = await client.get(f"{API}/contests/nope", headers=HTML)
    assert api_404.status_code == 404
    assert api_404.headers["content-type"].startswith("application/json")
    assert api_404.json()["detail"] == "contest 'nope' does not exist"


async def test_unknown_paths(client) -> None:
    page = await client.get("/no/such/page", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>404</h1>" in page.text
    api = await client.get(f"{API}/no/such/thing", headers=HTML)
    assert api.status_code == 404
    assert api.json()["status_code"] == 404


async def test_action_errors_render_the_error_template(settings) -> None:
    async with plugin_client(settings, {"errors": ErrorPlugin()}) as client:
        for kind, status, message in (("missing", 404, "no such clarification"),
                                      ("bad", 400, "the answer must be a number"),
                                      ("conflict", 409, "already answered")):
            page = await client.get(f"/plugins/errors/{kind}", headers=HTML)
            assert page.status_code == status
            assert page.headers["content-type"].startswith("text/html")
            assert f"<h1>{status}</h1>" in page.text
            assert f'<p class="error">{message}</p>' in page.text
            assert f"<title>{status} · Podium</title>" in page.text

            data = await client.get(f"/plugins/errors/{kind}")
            assert data.status_code == status
            body = data.json()
            assert body["status_code"] == status
            assert body["detail"] == message
        assert (await client.get("/plugins/errors/missing")).json()["field"] == "clarification"
        assert "field" not in (await client.get("/plugins/errors/conflict")).json()


async def test_an_unexpected_error_is_logged_and_answered_plainly(settings) -> None:
    async with plugin_client(settings, {"errors": ErrorPlugin()}) as client:
        # The app's logging setup replaced the root handlers (caplog's too): listen here.
        records: list[logging.LogRecord] = []
        handler = logging.Handler()
        handler.emit = records.append  # type: ignore[method-assign]
        logging.getLogger("podium.app").addHandler(handler)
        try:
            page = await client.get("/plugins/errors/bug", headers=HTML)
            data = await client.get("/plugins/errors/bug")
        finally:
            logging.getLogger("podium.app").removeHandler(handler)
        assert page.status_code == 500 and data.status_code == 500
        assert "<h1>500</h1>" in page.text and "the error was logged" in page.text
        assert data.json() == {"status_code": 500,
                               "detail": "Internal server error: the error was logged."}
        # The client learns nothing of the internals; the log has the traceback.
        assert "secret internals" not in page.text + data.text
        logged = [r for r in records if r.levelno == logging.ERROR]
        assert len(logged) == 2
        assert "GET /plugins/errors/bug" in logged[0].getMessage()
        assert logged[0].exc_info[0] is ZeroDivisionError


async def test_api_action_errors_stay_json_for_browsers(client) -> None:
    _, admin = user_with_token(client, "boss", role="admin")
    body = {"slug": "x", "title": "X", "start_at": "2030-01-02T10:00:00+00:00",
            "end_at": "2030-01-01T10:00:00+00:00"}
    response = await client.post(f"{API}/contests", json=body, headers={**HTML, **auth(admin)})
    assert response.status_code == 400
    assert response.json() == {"status_code": 400,
                               "detail": "the contest must end after it starts",
                               "field": "end_at"}


async def test_menu_links_come_from_enabled_plugins(settings) -> None:
    async with plugin_client(settings, {"links": LinkPlugin()}) as client:
        world = world_with_tokens(client)
        app = InApp(client)
        app.create_contest(slug="other", title="Other",
                                     start_at=world.start,
                                     end_at=world.start + timedelta(hours=5))
        before = await client.get("/contests/spring")
        assert "/plugins/links/spring" not in before.text
        app.configure_plugin("spring", "links", {})
        page = await client.get("/contests/spring")
        assert '<a href="/plugins/links/spring">Statistics</a>' in page.text
        other = await client.get("/contests/other")
        assert "Statistics" not in other.text


async def test_the_default_stylesheet_is_served(client) -> None:
    response = await client.get("/static/default/podium.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    page = await client.get("/")
    assert '<link rel="stylesheet" href="/static/default/podium.css">' in page.text
