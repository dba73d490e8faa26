"""No frozen result leaks through any public path: HTML pages, the JSON API, both WebSockets
and the event feed, for a spectator (no credentials) and for a contestant. The jury sees it."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from server import actions
from tests.conftest import REDIS_URL
from tests.factories import make_world, solve
from tests.web import fast_passwords  # noqa: F401 (autouse)
from tests.web.live_server import live_server, recv_json, recv_text

HTML = {"accept": "text/html"}


@pytest.fixture(params=["memory", "redis"])
def leak_settings(request: pytest.FixtureRequest, make_settings: Any, db_url: str) -> Any:
    if request.param == "redis":
        request.getfixturevalue("redis_cleanup")
        return make_settings(database_url=db_url, redis_url=REDIS_URL)
    return make_settings(database_url=db_url)


def _row(rows: list[dict[str, Any]], team_id: int) -> dict[str, Any]:
    return next(r for r in rows if r["team_id"] == team_id)


def _assert_public_row(row: dict[str, Any]) -> None:
    """Team 1's row: its A was accepted after the freeze, so pending, unsolved, no time."""
    cell = row["cells"][0]
    assert cell.get("solved", False) is False and cell.get("time") is None
    assert cell["pending"] >= 1
    assert row["points"] == 0


def _assert_public_html(html: str, team_id: int) -> None:
    match = re.search(rf'<tr[^>]* id="row-{team_id}"[^>]*>(.*?)</tr>', html, flags=re.S)
    assert match, html[:500]
    row = match.group(1)
    assert "solved" not in row and "1:40" not in row and "pending" in row


async def test_frozen_results_do_not_leak(leak_settings: Any) -> None:
    async with live_server(leak_settings) as server:
        services = server.services
        world = await make_world(services, teams=2, freeze=True)  # froze at minute 90
        jury_user = await actions.create_user(services, "judge", password="judge-pw",
                                              role="jury")
        jury = {"Authorization": f"Bearer {await actions.create_api_token(services, jury_user.id)}"}
        contestant = {"Authorization":
                      f"Bearer {await actions.create_api_token(services, world.users[1].id)}"}
        await solve(services, world, 0, "A", "AC", 30)   # before the freeze: public
        await solve(services, world, 1, "A", "AC", 100)  # after it: hidden (1:40)
        team1 = world.teams[1].id
        slug = world.contest.slug
        callers = {"spectator": {}, "contestant": contestant}
        async with httpx.AsyncClient(base_url=server.url) as http:
            for who, headers in callers.items():
                # HTML pages.
                for path in (f"/contests/{slug}", f"/contests/{slug}/scoreboard"):
                    page = await http.get(path, headers={**HTML, **headers})
                    assert page.status_code == 200, (who, path)
                    _assert_public_html(page.text, team1)
                    assert "frozen: later results are pending" in page.text
                page = await http.get(f"/contests/{slug}/scoreboard?view=jury",
                                      headers={**HTML, **headers})
                assert page.status_code in (401, 403), who
                # JSON API.
                board = (await http.get(f"/api/v1/contests/{slug}/scoreboard",
                                        headers=headers)).json()
                assert board["frozen"] is True
                _assert_public_row(_row(board["rows"], team1))
                denied = await http.get(f"/api/v1/contests/{slug}/scoreboard?view=jury",
                                        headers=headers)
                assert denied.status_code in (401, 403), who
                # Event feed: the submission is there, its judgement is not.
                feed = await http.get(f"/api/v1/contests/{slug}/event-feed", headers=headers)
                assert feed.status_code == 200
                events = [json.loads(line) for line in feed.text.splitlines()]
                subs = [e["data"] for e in events if e["type"] == "submissions"]
                judged = {e["data"]["submission_id"] for e in events if e["type"] == "judgements"}
                assert len(subs) == 2 and len(judged) == 1
                late = next(s for s in subs if s["contest_time"].startswith("1:40"))
                assert late["id"] not in judged
                state = next(e["data"] for e in events if e["type"] == "state")
                assert state["frozen"] and state["thawed"] is None
                denied = await http.get(f"/api/v1/contests/{slug}/event-feed?view=jury",
                                        headers=headers)
                assert denied.status_code in (401, 403), who
            # The jury sees everything, on every path.
            board = (await http.get(f"/api/v1/contests/{slug}/scoreboard?view=jury",
                                    headers=jury)).json()
            assert _row(board["rows"], team1)["cells"][0]["solved"] is True
            feed = await http.get(f"/api/v1/contests/{slug}/event-feed?view=jury", headers=jury)
            assert sum(1 for line in feed.text.splitlines()
                       if json.loads(line)["type"] == "judgements") == 2

        # WebSockets: snapshots, then a new verdict after the freeze.
        json_ws = f"/api/v1/contests/{slug}/scoreboard/ws"
        html_ws = f"/contests/{slug}/scoreboard/ws"
        for who, headers in callers.items():
            for path in (json_ws + "?view=jury", html_ws + "?view=jury"):
                with pytest.raises(InvalidStatus) as refused:
                    async with server.connect(path, additional_headers=headers):
                        pass
                assert refused.value.response.status_code == 403, (who, path)
        async with server.connect(json_ws) as spectator_json, \
                server.connect(json_ws, additional_headers=contestant) as contestant_json, \
                server.connect(html_ws) as spectator_html, \
                server.connect(json_ws + "?view=jury", additional_headers=jury) as jury_json:
            for ws in (spectator_json, contestant_json):
                snapshot = await recv_json(ws)
                assert snapshot["frozen"] is True
                _assert_public_row(_row(snapshot["rows"], team1))
            _assert_public_html(await recv_text(spectator_html), team1)
            assert _row((await recv_json(jury_json))["rows"], team1)["cells"][0]["solved"]
            await solve(services, world, 1, "B", "AC", 110)  # after the freeze
            # The submission shows as pending first, then its verdict arrives (jury only).
            pending = await recv_json(jury_json)
            assert pending["rows"][0]["cells"][1]["pending"] == 1
            assert (await recv_json(jury_json))["rows"][0]["cells"][1]["solved"] is True
            for ws in (spectator_json, contestant_json):
                delta = await recv_json(ws)
                row = _row(delta["rows"], team1)
                _assert_public_row(row)
                assert row["cells"][1].get("solved", False) is False
                assert row["cells"][1]["pending"] == 1
            fragment = await recv_text(spectator_html)
            _assert_public_html(fragment.replace('hx-swap-oob="true" ', ""), team1)
            # The verdict itself changes nothing public: no further message, or a harmless one.
            for ws in (spectator_json, contestant_json):
                try:
                    later = await recv_json(ws, timeout=0.5)
                except TimeoutError:
                    continue
                _assert_public_row(_row(later["rows"], team1))
