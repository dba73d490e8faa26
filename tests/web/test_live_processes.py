"""Two `podium serve` processes sharing one PostgreSQL and one Redis: every change reaches the
sockets of both, whichever process (or command) made it."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from server import actions
from server.services import Services
from tests.conftest import REDIS_URL
from tests.factories import make_world, solve
from tests.test_cli import run
from tests.test_serve import Server, fresh_pg  # noqa: F401 (fixture)
from tests.web import fast_passwords  # noqa: F401 (autouse)
from tests.web.live_server import recv_json, settle

import websockets

PATH = "/api/v1/contests/spring/scoreboard/ws"


@pytest.fixture
def two_servers(tmp_path: Path, fresh_pg: str) -> Any:  # noqa: F811
    prefix = f"podium-live-{uuid.uuid4().hex[:8]}:"
    env = {"PODIUM_DATABASE_URL": fresh_pg, "PODIUM_REDIS_URL": REDIS_URL,
           "PODIUM_SECRET_KEY": "live-test-secret", "PODIUM_REDIS_PREFIX": prefix}
    data = tmp_path / "data"
    assert run("db", "upgrade", data_dir=data, env=env).returncode == 0
    servers = [Server(tmp_path / f"web{i}", env) for i in (1, 2)]
    try:
        yield env, servers
    finally:
        for server in servers:
            server.stop()
        from redis import Redis

        redis = Redis.from_url(REDIS_URL)
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
        redis.close()


async def test_a_verdict_reaches_sockets_on_both_web_processes(two_servers: Any,
                                                               make_settings: Any) -> None:
    env, (web1, web2) = two_servers
    settings = make_settings(database_url=env["PODIUM_DATABASE_URL"], redis_url=REDIS_URL,
                             redis_prefix=env["PODIUM_REDIS_PREFIX"],
                             secret_key=env["PODIUM_SECRET_KEY"])
    # This test's own services are a third process (a CLI command, a judge API call elsewhere).
    services = await Services.create(settings)
    try:
        world = await make_world(services, teams=2)
        jury = await actions.create_user(services, "judge", password="judge-pw", role="jury")
        token = await actions.create_api_token(services, jury.id)
        ws_urls = [s.url.replace("http://", "ws://") + PATH for s in (web1, web2)]
        async with websockets.connect(ws_urls[0]) as one, \
                websockets.connect(ws_urls[0]) as two, \
                websockets.connect(ws_urls[1]) as three:
            sockets = (one, two, three)
            snapshots = [await recv_json(ws) for ws in sockets]
            assert {s["version"] for s in snapshots} == {snapshots[0]["version"]}
            version = snapshots[0]["version"]
            await solve(services, world, 1, "A", "AC", 12)
            deltas = [(await settle(ws))[-1] for ws in sockets]  # pending, then the verdict
            for delta in deltas:
                assert delta["type"] == "delta" and delta["base"] == version + 1
                assert delta["rows"][0]["team_id"] == world.teams[1].id
                assert delta["rows"][0]["cells"][0]["solved"] is True
            assert deltas[0] == deltas[1] == deltas[2]
            # A change made through web process 1's API reaches the socket on process 2.
            async with httpx.AsyncClient(base_url=web1.url) as http:
                frozen = await http.post("/api/v1/contests/spring/freeze",
                                         headers={"Authorization": f"Bearer {token}"})
            assert frozen.status_code == 200, frozen.text
            for ws in sockets:
                message = await recv_json(ws)
                assert message["type"] == "snapshot" and message["frozen"] is True
                assert message["version"] > version + 1
    finally:
        await services.close()
