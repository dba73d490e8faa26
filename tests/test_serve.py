"""A real server process: the demo on the embedded default, and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis import Redis

from server import migrate
from tests.conftest import POSTGRES_URL, REDIS_URL
from tests.test_cli import PODIUM, run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        base.update({"PODIUM_DATA_DIR": str(data_dir), **env})
        self.log = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        self._log_handle = self.log.open("w")
        self.process = subprocess.Popen(
            [PODIUM, "serve", "--port", str(self.port)], env=base,
            stdout=self._log_handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"server did not start: {self.log.read_text()}")

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        """SIGTERM, as an operator or docker does; the app must shut down gracefully.

        Uvicorn finishes the shutdown, then re-raises the signal, so the exit status is the
        signal's (-15); what matters is that the lifespan completed.
        """
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the server did not shut down within 20 s") from None
        finally:
            self._log_handle.close()
        log = self.log.read_text()
        assert code in (0, -signal.SIGTERM), log
        assert "Application shutdown complete" in log, log


def _check_demo(server: Server, database: str) -> None:
    home = server.get("/", headers={"accept": "text/html"})
    assert home.status_code == 200
    assert "Podium Demo Contest" in home.text and 'href="/contests/demo"' in home.text
    page = server.get("/contests/demo")
    assert page.status_code == 200
    assert page.text.count('<tr id="team-') == 20
    assert "Hello World!" in page.text
    ready = server.get("/readyz").json()
    assert ready["status"] == "ok" and ready["database"] == database
    board = server.get("/api/v1/contests/demo/scoreboard").json()
    assert len(board["rows"]) == 20 and board["rows"][0]["rank"] == 1
    assert board["rows"][0]["points"] >= board["rows"][-1]["points"]
    token = httpx.post(server.url + "/api/v1/auth/token",
                       json={"username": "admin", "password": "podium-admin"}, timeout=10)
    assert token.status_code == 201
    jury = server.get("/api/v1/contests/demo/scoreboard?view=jury",
                      headers={"authorization": f"Bearer {token.json()['token']}"})
    assert jury.status_code == 200


def test_demo_on_the_embedded_default(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run("demo", data_dir=data, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Created the demo event" in first.stdout and "admin / podium-admin" in first.stdout
    second = run("demo", data_dir=data, timeout=120)
    assert second.returncode == 0 and "exists already" in second.stdout
    server = Server(data, {})
    try:
        _check_demo(server, "sqlite")
    finally:
        server.stop()
    assert "Podium on http://127.0.0.1" in server.log.read_text()
    assert (data / "podium.sqlite3").is_file() and (data / "secret_key").is_file()
    snapshot = data / "exports" / "snapshots" / "demo.json"
    assert snapshot.is_file()


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    name = f"podium_serve_{uuid.uuid4().hex[:8]}"
    admin = POSTGRES_URL.replace("postgresql+asyncpg", "postgresql")

    async def sql(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql(f'CREATE DATABASE "{name}"'))
    base = admin.split("://", 1)[1].rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base}/{name}"
    asyncio.run(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_demo_on_postgresql_and_redis(tmp_path: Path, fresh_pg: str) -> None:
    prefix = f"podium-serve-{uuid.uuid4().hex[:8]}:"
    env = {"PODIUM_DATABASE_URL": fresh_pg, "PODIUM_REDIS_URL": REDIS_URL,
           "PODIUM_SECRET_KEY": "serve-test-secret", "PODIUM_REDIS_PREFIX": prefix}
    data = tmp_path / "data"
    not_migrated = run("serve", data_dir=data, env=env)
    assert not_migrated.returncode == 2
    assert "run `podium db upgrade` first" in not_migrated.stderr
    assert run("db", "upgrade", data_dir=data, env=env).returncode == 0
    assert migrate.current(fresh_pg) == migrate.head()
    demo = run("demo", data_dir=data, env=env, timeout=300)
    assert demo.returncode == 0, demo.stderr
    assert not (data / "podium.sqlite3").exists()
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = {k.decode() for k in redis.scan_iter(match=f"{prefix}*")}
        assert f"{prefix}standings:{{1}}" in keys  # the sorted index lives in Redis
        assert any(k.startswith(f"{prefix}queue:") for k in keys)
        assert redis.zcard(f"{prefix}standings:{{1}}") == 20
        server = Server(data, env)
        try:
            _check_demo(server, "postgresql")
            assert server.get("/readyz").json()["redis"] == "ok"
        finally:
            server.stop()
    finally:
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
        redis.close()
