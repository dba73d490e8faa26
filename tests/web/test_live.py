"""Live scoreboards over real WebSockets: snapshot, deltas, gaps, Origin, jury view, backends."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from server import actions
from server.scoreboard.live import parse_header
from tests.conftest import REDIS_URL
from tests.factories import make_world, solve
from tests.web import fast_passwords  # noqa: F401 (autouse)
from tests.web.live_server import live_server, recv_json, recv_text, settle

JSON_WS = "/api/v1/contests/{slug}/scoreboard/ws"
HTML_WS = "/contests/{slug}/scoreboard/ws"


@pytest.fixture(params=["memory", "redis"])
def live_settings(request: pytest.FixtureRequest, make_settings: Any, db_url: str) -> Any:
    if request.param == "redis":
        request.getfixturevalue("redis_cleanup")
        return make_settings(database_url=db_url, redis_url=REDIS_URL)
    return make_settings(database_url=db_url)


async def _token(services: Any, user: Any) -> str:
    return await actions.create_api_token(services, user.id)


async def test_json_socket_gets_a_snapshot_then_deltas(live_settings: Any) -> None:
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=3)
        await solve(services, world, 0, "A", "AC", 10)
        async with server.connect(JSON_WS.format(slug="spring")) as ws:
            snapshot = await recv_json(ws)
            assert snapshot["type"] == "snapshot" and snapshot["frozen"] is False
            assert [p["label"] for p in snapshot["problems"]] == ["A", "B"]
            assert [r["team_id"] for r in snapshot["rows"]][0] == world.teams[0].id
            assert [r["pos"] for r in snapshot["rows"]] == [1, 2, 3]
            version = snapshot["version"]
            # Team 2 solves B (200 points): it moves to the top, team 0 to second place.
            await solve(services, world, 2, "B", "AC", 20)
            pending, delta = await settle(ws)  # stored (pending), then judged
            assert pending["rows"][0]["team_id"] == world.teams[2].id
            assert pending["rows"][0]["cells"][1]["pending"] == 1
            assert delta["type"] == "delta"
            assert (pending["base"], pending["version"]) == (version, version + 1)
            assert (delta["base"], delta["version"]) == (version + 1, version + 2)
            moved = {r["team_id"]: r for r in delta["rows"]}
            assert moved[world.teams[2].id]["pos"] == 1 and moved[world.teams[2].id]["rank"] == 1
            assert moved[world.teams[2].id]["cells"][1]["solved"] is True
            # Teams 0 and 1 only changed places: not resent, the new order says it.
            assert set(moved) == {world.teams[2].id}
            assert delta["order"] == [world.teams[2].id, world.teams[0].id, world.teams[1].id]
            assert delta["ranks"] == [1, 2, 3]
            assert delta["removed"] == []
            # A wrong answer of team 1 changes only its own row.
            await solve(services, world, 1, "A", "WA", 25)
            _, delta = await settle(ws)
            assert delta["base"] == version + 3
            assert [r["team_id"] for r in delta["rows"]] == [world.teams[1].id]
            assert delta["rows"][0]["cells"][0]["attempts"] == 1
            assert "order" not in delta  # nobody moved
            # Asking for a resync gives the whole board at the current version.
            await ws.send(json.dumps({"type": "resync"}))
            again = await recv_json(ws)
            assert again["type"] == "snapshot" and again["version"] == version + 4
            assert [r["team_id"] for r in again["rows"]] == [
                world.teams[2].id, world.teams[0].id, world.teams[1].id]
            # The HTTP API serves the same state (never a stale one after a change).
            async with httpx.AsyncClient(base_url=server.url) as http:
                board = (await http.get("/api/v1/contests/spring/scoreboard")).json()
            assert [r["team_id"] for r in board["rows"]] == [r["team_id"] for r in again["rows"]]


async def test_html_socket_swaps_rows_out_of_band(live_settings: Any) -> None:
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2)
        async with server.connect(HTML_WS.format(slug="spring")) as ws:
            first = await recv_text(ws)
            assert first.startswith('<div id="board" hx-swap-oob="true"')
            version = int(re.search(r'id="board-version" data-version="(\d+)"', first).group(1)) + 2
            assert first.count('<tr id="row-') == 2
            await solve(services, world, 1, "A", "AC", 10)
            pending = await recv_text(ws)
            assert pending.count("<tr ") == 1 and "pending" in pending
            fragment = await recv_text(ws)
            rows = re.findall(r'<tr hx-swap-oob="true" id="row-(\d+)" data-pos="(\d+)"', fragment)
            assert rows == [(str(world.teams[1].id), "1")]  # team 0 only moved down
            assert 'class="cell solved first"' in fragment
            assert (f'<span id="board-order" hx-swap-oob="true" data-version="{version}" '
                    f'data-order="{world.teams[1].id},{world.teams[0].id}" data-ranks="1,2">'
                    in fragment)
            assert '<span id="board-version" hx-swap-oob="true"' in fragment
            # A new team is appended to the table body, not swapped.
            team = await actions.create_team(services, world.contest.id, name="late team")
            await actions.rebuild_standings(services, world.contest.id)
            fragment = await recv_text(ws)
            assert f'<tbody hx-swap-oob="beforeend:#board-rows"><tr id="row-{team.id}"' in fragment


async def test_every_socket_gets_the_same_message_rendered_once(live_settings: Any) -> None:
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2)
        sockets = [await server.connect(JSON_WS.format(slug="spring")).__aenter__()
                   for _ in range(5)]
        try:
            for ws in sockets:
                assert (await recv_json(ws))["type"] == "snapshot"
            published = services.live.published
            await solve(services, world, 0, "A", "AC", 10)
            bodies = {json.dumps(await settle(ws)) for ws in sockets}
            assert len(bodies) == 1  # byte-identical: built once, fanned out
            assert len(json.loads(bodies.pop())) == 2  # stored (pending), judged
            # One message per view and format and change, however many sockets listen.
            assert services.live.published - published == 2 * 4
        finally:
            for ws in sockets:
                await ws.close()


async def test_a_gap_makes_the_socket_send_a_snapshot(live_settings: Any) -> None:
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2)
        async with server.connect(JSON_WS.format(slug="spring")) as ws:
            snapshot = await recv_json(ws)
            version = snapshot["version"]
            channel = services.live.channel(world.contest.id, "public", "json")
            # A message whose base is not what the socket shows: something was lost.
            await services.live._send(channel, f"{version + 5} {version + 6}\n{{}}".encode())
            resync = await recv_json(ws)
            assert resync["type"] == "snapshot" and resync["version"] == version
            # A message older than what the socket shows is skipped.
            await services.live._send(channel, f"{version - 1} {version}\n{{}}".encode())
            await solve(services, world, 0, "A", "AC", 10)
            delta = await recv_json(ws)
            assert delta["type"] == "delta" and delta["base"] == version


async def test_origin_is_checked(make_settings: Any, db_url: str) -> None:
    settings = make_settings(database_url=db_url, allowed_origins="https://projector.example")
    async with live_server(settings) as server:
        await make_world(server.services, teams=1)
        path = JSON_WS.format(slug="spring")
        for origin in ("http://evil.example", f"http://127.0.0.1:{server.port}.evil.example"):
            with pytest.raises(InvalidStatus) as refused:
                async with server.connect(path, origin=origin):
                    pass
            assert refused.value.response.status_code == 403
        for origin in (f"http://127.0.0.1:{server.port}", "https://projector.example", None):
            async with server.connect(path, origin=origin) as ws:
                assert (await recv_json(ws))["type"] == "snapshot"
        with pytest.raises(InvalidStatus):
            async with server.connect(HTML_WS.format(slug="spring"),
                                      origin="http://evil.example"):
                pass


async def test_jury_view_is_for_staff_only(make_settings: Any, db_url: str) -> None:
    settings = make_settings(database_url=db_url)
    async with live_server(settings) as server:
        services = server.services
        world = await make_world(services, teams=2, freeze=True)
        jury = await actions.create_user(services, "judge", password="judge-password",
                                         role="jury")
        path = JSON_WS.format(slug="spring") + "?view=jury"
        for headers in ({}, {"Authorization": f"Bearer {await _token(services, world.users[0])}"}):
            with pytest.raises(InvalidStatus) as refused:
                async with server.connect(path, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            async with server.connect(path, additional_headers={"Authorization": "Bearer nope"}):
                pass
        bearer = {"Authorization": f"Bearer {await _token(services, jury)}"}
        async with server.connect(path, additional_headers=bearer) as ws:
            snapshot = await recv_json(ws)
            assert snapshot["frozen"] is False  # the contest is frozen; the jury sees it live
        # Unknown and hidden contests look the same: not found.
        with pytest.raises(InvalidStatus) as missing:
            async with server.connect(JSON_WS.format(slug="nope")):
                pass
        assert missing.value.response.status_code == 403


async def test_frozen_results_reach_only_the_jury_socket(live_settings: Any) -> None:
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2, freeze=True)  # froze 30 minutes ago
        jury = await actions.create_user(services, "judge", password="judge-password",
                                         role="jury")
        bearer = {"Authorization": f"Bearer {await _token(services, jury)}"}
        contestant = {"Authorization": f"Bearer {await _token(services, world.users[1])}"}
        path = JSON_WS.format(slug="spring")
        async with server.connect(path) as public, \
                server.connect(path, additional_headers=contestant) as own, \
                server.connect(path + "?view=jury", additional_headers=bearer) as jury_ws:
            for ws in (public, own, jury_ws):
                await recv_json(ws)
            await solve(services, world, 1, "B", "AC", 100)  # after the freeze
            jury_delta = (await settle(jury_ws))[-1]
            assert jury_delta["rows"][0]["cells"][1]["solved"] is True
            for ws in (public, own):
                (delta,) = await settle(ws)  # the pending try; its verdict changes nothing
                row = delta["rows"][0]
                assert row["team_id"] == world.teams[1].id
                cell = row["cells"][1]
                assert cell["pending"] == 1 and cell.get("solved", False) is False
                assert cell.get("time") is None
                assert row["points"] == 0 and "6000" not in json.dumps(delta)
            # The jury unfreezes: every public socket gets the full board at once.
            await actions.update_contest(services, world.contest.id, unfrozen=True)
            for ws in (public, own):
                message = await recv_json(ws)
                assert message["type"] == "snapshot" and message["frozen"] is False
                assert message["rows"][0]["team_id"] == world.teams[1].id
                assert message["rows"][0]["cells"][1]["solved"] is True


async def test_fast_path_answers_pollers_with_etags_and_gzip(live_settings: Any) -> None:
    """A poller repeating the ETag gets a bodiless 304 until the board changes; a client that
    accepts gzip gets the same bytes compressed, one that does not gets them plain."""
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2)
        api, page = "/api/v1/contests/spring/scoreboard", "/contests/spring/scoreboard"
        plain_only = {"Accept-Encoding": "identity"}
        async with httpx.AsyncClient(base_url=server.url) as http:
            tags = {}
            for path in (api, page):
                slow = await http.get(path, headers=plain_only)  # authorises, renders
                plain = await http.get(path, headers=plain_only)
                assert plain.headers["cache-control"] == "no-cache"  # the fast path
                assert "content-encoding" not in plain.headers
                assert plain.content == slow.content
                for accept in ("gzip, deflate", "br;q=1.0, gzip;q=0.5", "*"):
                    packed = await http.get(path, headers={"Accept-Encoding": accept})
                    assert packed.headers["content-encoding"] == "gzip", accept
                    assert int(packed.headers["content-length"]) < len(plain.content) / 2
                    assert packed.content == plain.content  # httpx decoded it
                    assert packed.headers["vary"] == "Accept-Encoding"
                refused = await http.get(path, headers={"Accept-Encoding": "gzip;q=0"})
                assert "content-encoding" not in refused.headers
                etag = plain.headers["etag"]
                assert packed.headers["etag"] == etag
                same = await http.get(path, headers={"If-None-Match": etag})
                assert same.status_code == 304 and same.content == b""
                assert same.headers["etag"] == etag
                listed = await http.get(path, headers={"If-None-Match": f'"x", W/{etag}'})
                assert listed.status_code == 304
                other = await http.get(path, headers={"If-None-Match": '"0-0-0-json"'})
                assert other.status_code == 200 and other.content == plain.content
                tags[path] = etag
            assert tags[api] != tags[page]
            # A verdict: the old ETag no longer matches, the new board comes whole.
            await solve(services, world, 1, "A", "AC", 10)
            version = await services.live.store.version(world.contest.id, "public")
            first = await http.get(api, headers={"If-None-Match": tags[api]})  # re-authorised
            assert first.status_code == 200 and first.json()["version"] == version
            changed = await http.get(api, headers={"If-None-Match": tags[api]})
            assert changed.status_code == 200 and changed.content == first.content
            assert changed.headers["etag"] != tags[api]
            assert (await http.get(api, headers={"If-None-Match": changed.headers["etag"]})
                    ).status_code == 304
            # Credentials take the normal path: no fast-path ETag answers them.
            token = await _token(services, world.admin)
            own = await http.get(api, headers={"Authorization": f"Bearer {token}",
                                               "If-None-Match": changed.headers["etag"]})
            assert own.status_code == 200 and "etag" not in own.headers


async def test_a_stale_board_is_served_while_it_is_refreshed_in_the_background(
        live_settings: Any) -> None:
    """A board no refresh touched for ``max_age`` is served as published (every published
    change is seen through the version anyway) while one background refresh brings it up to
    date: readers of a quiet contest never wait for, nor pile onto, a rebuild."""
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2)
        live = services.live
        api = "/api/v1/contests/spring/scoreboard"
        async with httpx.AsyncClient(base_url=server.url) as http:
            await http.get(api)  # authorises the contest for the fast path
            state = await live.state(world.contest, "public")
            version = state.version
            state.built_at -= live.max_age + 5  # nothing refreshed it for a while
            refreshes = []
            real_refresh = live.refresh
            release = asyncio.Event()

            async def counted(contest: Any, teams: Any = None) -> None:
                refreshes.append(contest.id)
                await release.wait()  # a slow rebuild: readers must not wait for it
                await real_refresh(contest, teams)

            live.refresh = counted
            try:
                # The rebuild is held until the reads are answered: a read that waited for
                # it would never be answered (the timeout fails the test).
                reads = await asyncio.wait_for(
                    asyncio.gather(*(http.get(api) for _ in range(10))), 30)
                assert all(r.status_code == 200 and r.headers["cache-control"] == "no-cache"
                           and r.json()["version"] == version for r in reads)
                again = await live.state(world.contest, "public")  # the slow path too
                assert again is state
                assert refreshes == [world.contest.id]  # one refresh, however many readers
                release.set()
                for _ in range(50):
                    if time.time() - (await live.state(world.contest, "public")).built_at < 5:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the background refresh did not run")
                assert refreshes == [world.contest.id]
                # At shutdown a background refresh still running is stopped, not awaited.
                release.clear()
                state = await live.state(world.contest, "public")
                state.built_at -= live.max_age + 5
                await http.get(api)
                [running] = live._revalidating.values()
                await live.close()
                assert running.cancelled() and live._revalidating == {}
            finally:
                live.refresh = real_refresh
            # A change is still seen at once, stale or not.
            await solve(services, world, 1, "A", "AC", 10)
            assert (await http.get(api)).json()["version"] > version


async def test_anonymous_reads_take_the_fast_path_only_while_allowed(live_settings: Any) -> None:
    """The fast path (no database, no middleware) answers anonymous reads of a public contest
    at the version the slow path authorised; any change of the contest or board ends that."""
    async with live_server(live_settings) as server:
        services = server.services
        world = await make_world(services, teams=2)
        api, page = "/api/v1/contests/spring/scoreboard", "/contests/spring/scoreboard"
        async with httpx.AsyncClient(base_url=server.url) as http:
            for path in (api, page):
                slow = await http.get(path)
                assert slow.status_code == 200 and "cache-control" not in slow.headers
                fast = await http.get(path)
                assert fast.headers["cache-control"] == "no-cache"  # served by the fast path
                assert fast.content == slow.content
            # A verdict: the very next read shows it (the version is checked on every read).
            await solve(services, world, 1, "A", "AC", 10)
            version = await services.live.store.version(world.contest.id, "public")
            assert (await http.get(api)).json()["version"] == version
            assert f'data-version="{version}"' in (await http.get(page)).text
            # Hidden now: nobody anonymous gets it, from any path.
            await actions.update_contest(services, world.contest.id, visibility="hidden")
            for path in (api, page):
                assert (await http.get(path)).status_code == 404, path
            await actions.update_contest(services, world.contest.id, visibility="public")
            assert (await http.get(api)).status_code == 200
            # Credentials always take the normal path (the jury view is never cached).
            token = await _token(services, world.admin)
            jury = await http.get(api + "?view=jury", headers={"Authorization": f"Bearer {token}"})
            assert jury.status_code == 200 and "cache-control" not in jury.headers
            own = await http.get(api, headers={"Authorization": f"Bearer {token}"})
            assert "cache-control" not in own.headers
            assert (await http.get(api + "?view=jury")).status_code == 401
            reveal = await http.get("/contests/spring/reveal")
            assert reveal.status_code == 200 and "page-reveal" in reveal.text
            assert 'ws-connect="/contests/spring/scoreboard/ws"' in reveal.text
