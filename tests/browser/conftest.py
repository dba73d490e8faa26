"""Fixtures of the browser tests.

Chromium is Debian's (``PODIUM_TEST_CHROMIUM``, from scripts/provision.sh, else ``which
chromium``); Playwright never downloads a browser. Without Chromium these tests skip, which CI
turns into failures (tests/conftest.py). Screenshots go to ``test-artifacts/`` at the
repository root, a folder CI keeps.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REDIS_URL
from tests.test_cli import run
from tests.test_serve import Server, fresh_pg  # noqa: F401 (fixture)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-dev-shm-usage"]


def chromium_path() -> str | None:
    found = os.environ.get("PODIUM_TEST_CHROMIUM") or shutil.which("chromium") \
        or shutil.which("chromium-browser")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; scripts/provision.sh)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def event_server(tmp_path: Path, fresh_pg: str) -> Iterator[tuple[Server, dict[str, str]]]:  # noqa: F811
    """A production-mode ``podium serve`` (PostgreSQL + Redis) with one judge loop in it, an
    organizer ``org`` (password ``organizer-pw``) and open sign-up."""
    prefix = f"podium-browser-{uuid.uuid4().hex[:8]}:"
    env = {"PODIUM_DATABASE_URL": fresh_pg, "PODIUM_REDIS_URL": REDIS_URL,
           "PODIUM_SECRET_KEY": "browser-test-secret", "PODIUM_REDIS_PREFIX": prefix,
           "PODIUM_REGISTRATION": "open"}
    data = tmp_path / "data"
    assert run("db", "upgrade", data_dir=data, env=env).returncode == 0
    made = run("user", "create", "org", "--role", "organizer", "--password", "organizer-pw",
               data_dir=data, env=env)
    assert made.returncode == 0, made.stderr
    server = Server(data, env, embedded_judges="1")
    try:
        yield server, env
    finally:
        server.stop()
        with contextlib.suppress(OSError):  # what the server logged, kept beside the shots
            shutil.copyfile(server.log, ARTIFACTS / "browser-server.log")
        from redis import Redis

        redis = Redis.from_url(REDIS_URL)
        for key in redis.scan_iter(match=f"{prefix}*"):
            redis.delete(key)
        redis.close()
