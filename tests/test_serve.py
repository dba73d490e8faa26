"""A real server process: the demo on the embedded default, and on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    def __init__(self, data_dir: Path, env: dict[str, str], *,
                 embedded_judges: str | None = "0") -> None:
        """``embedded_judges``: PODIUM_EMBEDDED_JUDGES unless ``env`` sets it (None: unset,
        the mode's default). Tests that bring their own judge hosts keep the default "0"."""
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        if embedded_judges is not None:
            base["PODIUM_EMBEDDED_JUDGES"] = embedded_judges
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

    def wait_for_log(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while text not in (log := self.log.read_text()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged within {timeout} s:\n{log}")
            time.sleep(0.2)
        return log

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
            self.process.send_signal(signal.SIGUSR1)  # the app logs what each task waits for
            time.sleep(2)
            self.process.kill()
            self.process.wait()
            raise AssertionError("the server did not shut down within 20 s; its log ends:\n"
                                 + self.log.read_text()[-20000:]) from None
        finally:
            self._log_handle.close()
        log = self.log.read_text()
        assert code in (0, -signal.SIGTERM), log
        assert "Application shutdown complete" in log, log


def _admin_token(server: Server) -> str:
    token = httpx.post(server.url + "/api/v1/auth/token",
                       json={"username": "admin", "password": "podium-admin"}, timeout=10)
    assert token.status_code == 201
    return str(token.json()["token"])


def _wait_for_demo_verdicts(server: Server, timeout: float = 180) -> None:
    """Every demo submission reaches the verdict its plan says, through the real judge."""
    from server.demo import demo_languages, demo_plan
    from server.services import build_registry
    from server.settings import Settings

    languages = demo_languages(build_registry(Settings()).languages)
    plan = demo_plan(languages)
    assert plan and {p.verdict for p in plan} >= {"AC", "WA", "RTE", "CE"}
    headers = {"authorization": f"Bearer {_admin_token(server)}"}
    deadline = time.monotonic() + timeout
    while True:
        rows = sorted(server.get("/api/v1/contests/demo/submissions", headers=headers).json(),
                      key=lambda row: row["id"])
        if all(row["verdict"] is not None for row in rows) or time.monotonic() > deadline:
            break
        time.sleep(1)
    got = [(row["language"], row["verdict"]) for row in rows]
    assert got == [(p.language, p.verdict) for p in plan], server.log.read_text()[-3000:]


def _check_demo(server: Server, database: str) -> None:
    home = server.get("/", headers={"accept": "text/html"})
    assert home.status_code == 200
    assert "Podium Demo Contest" in home.text and 'href="/contests/demo"' in home.text
    page = server.get("/contests/demo")
    assert page.status_code == 200
    assert page.text.count('<tr id="row-') == 20
    assert "Hello World!" in page.text
    ready = server.get("/readyz").json()
    assert ready["status"] == "ok" and ready["database"] == database
    board = server.get("/api/v1/contests/demo/scoreboard").json()
    assert len(board["rows"]) == 20 and board["rows"][0]["rank"] == 1
    assert board["rows"][0]["points"] >= board["rows"][-1]["points"]
    jury = server.get("/api/v1/contests/demo/scoreboard?view=jury",
                      headers={"authorization": f"Bearer {_admin_token(server)}"})
    assert jury.status_code == 200


def test_demo_on_the_embedded_default(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = run("demo", data_dir=data, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "Created the demo event" in first.stdout and "admin / podium-admin" in first.stdout
    second = run("demo", data_dir=data, timeout=120)
    assert second.returncode == 0 and "exists already" in second.stdout
    server = Server(data, {}, embedded_judges=None)  # the embedded default: one judge loop
    try:
        _check_demo(server, "sqlite")
        _wait_for_demo_verdicts(server)
        board = server.get("/api/v1/contests/demo/scoreboard").json()
        assert board["rows"][0]["points"] > 0
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Podium on http://127.0.0.1" in log
    assert "embedded judge: 1 loop(s) on the bwrap sandbox (judge hosts embedded-1)" in log
    assert (data / "podium.sqlite3").is_file() and (data / "secret_key").is_file()
    snapshot = data / "exports" / "snapshots" / "demo.json"
    assert snapshot.is_file()
    again = Server(data, {}, embedded_judges=None)  # a restart keeps its judge host
    try:
        again.wait_for_log("judge hosts embedded-1)")
        assert _judge_hosts(data) == [("embedded-1", True)]
    finally:
        again.stop()


def _judge_hosts(data: Path) -> list[tuple[str, bool]]:
    with contextlib.closing(sqlite3.connect(data / "podium.sqlite3")) as db:
        return [(name, bool(active)) for name, active in
                db.execute("SELECT name, is_active FROM judge_hosts ORDER BY name")]


def test_without_a_sandbox_the_embedded_judge_warns_and_judges_nothing(tmp_path: Path) -> None:
    """No bubblewrap on PATH (and no usable Docker): one warning, submissions stay queued."""
    data = tmp_path / "data"
    server = Server(data, {"PATH": str(Path(PODIUM).parent)}, embedded_judges=None)
    try:
        log = server.wait_for_log("no sandbox works on this host")
        assert server.get("/healthz").status_code == 200
    finally:
        server.stop()
    line = next(line for line in log.splitlines() if "no sandbox works" in line)
    assert "submissions stay queued" in line and "podium judge doctor" in line
    assert "bubblewrap is not installed" in line
    assert "embedded judge: " not in log and _judge_hosts(data) == []


def test_sigusr1_logs_what_every_task_waits_for(tmp_path: Path) -> None:
    """A process that seems stuck (a shutdown that does not finish, say) tells, on SIGUSR1,
    the stack of each of its asyncio tasks; it keeps serving and still stops gracefully."""
    server = Server(tmp_path / "data", {})
    try:
        server.process.send_signal(signal.SIGUSR1)
        log = server.wait_for_log("asyncio tasks:", timeout=20)
        assert "podium-clock" in log and "_clock_forever" in log  # a task's name and frame
        assert server.get("/healthz").status_code == 200
    finally:
        server.stop()


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
        # Production runs no judge by default; two embedded loops judge over the Redis queue.
        server = Server(data, env, embedded_judges="2")
        try:
            _check_demo(server, "postgresql")
            assert server.get("/readyz").json()["redis"] == "ok"
            _wait_for_demo_verdicts(server)
        finally:
            server.stop()
        assert "judge hosts embedded-1, embedded-2)" in server.log.read_text()
    finally:
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
        redis.close()


def test_an_idle_worker_stops_at_once_on_sigterm(tmp_path: Path) -> None:
    """A worker waiting in a claim long-poll (20 s) exits on SIGTERM without waiting it out."""
    data = tmp_path / "data"
    server = Server(data, {})
    try:
        token = run("judge", "add-host", "idle", data_dir=data)
        assert token.returncode == 0, token.stderr
        env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        env["PODIUM_DATA_DIR"] = str(tmp_path / "worker")
        worker = subprocess.Popen(
            [PODIUM, "worker", "--server", server.url, "--token", token.stdout.strip()],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().startswith("judging for ")
            time.sleep(1)  # now in the claim long-poll
            stopped = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=30)
            took = time.monotonic() - stopped
        finally:
            if worker.poll() is None:
                worker.kill()
        assert worker.returncode == 0, output
        assert took < 5, (took, output)
    finally:
        server.stop()


async def test_a_served_process_freezes_its_startup_heap(
        make_settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``podium serve`` sets PODIUM_FREEZE_HEAP for its processes: their app moves what startup
    allocated out of the cyclic collector's reach; an app made elsewhere (tests) does not."""
    import gc

    from litestar.testing import AsyncTestClient

    from server.app import FREEZE_HEAP_ENV, create_app

    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.sqlite3'}")
    migrate.upgrade(settings.effective_database_url)
    gc.unfreeze()
    try:
        async with AsyncTestClient(app=create_app(settings)) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert gc.get_freeze_count() == 0
        monkeypatch.setenv(FREEZE_HEAP_ENV, "1")
        async with AsyncTestClient(app=create_app(settings)) as client:
            assert (await client.get("/healthz")).status_code == 200
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
