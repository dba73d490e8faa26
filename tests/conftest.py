"""Shared fixtures: real SQLite and PostgreSQL databases, real Redis, app clients.

PostgreSQL comes from ``PODIUM_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/postgres``): the session creates its own database
there, migrates it once, and truncates it between tests. Redis comes from
``PODIUM_TEST_REDIS_URL``. A missing PostgreSQL or Redis fails the tests that need it; under
CI (``CI=true``) any skipped test fails the run, except tests whose Docker engine is missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from server import migrate
from server.models import SQLModel
from server.services import Services, build_registry
from server.settings import Settings

POSTGRES_URL = os.environ.get(
    "PODIUM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TABLES = [t.name for t in SQLModel.metadata.sorted_tables]


def _pg(url: str, database: str) -> str:
    base = url.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base}/{database}"


async def _pg_admin(sql: str) -> None:
    try:
        conn = await asyncpg.connect(POSTGRES_URL.replace("postgresql+asyncpg", "postgresql"),
                                     timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_URL} ({exc!r}): the PostgreSQL "
                    "tests need a real server (bash scripts/provision.sh starts one).",
                    pytrace=False)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A migrated PostgreSQL database of this test session (dropped at the end)."""
    name = f"podium_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    migrate.outside_loop(lambda: asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"')))
    url = _pg(POSTGRES_URL, name)
    migrate.upgrade(url)
    yield url
    migrate.outside_loop(
        lambda: asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _truncate(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        names = ", ".join(f'"{t}"' for t in TABLES)
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "podium.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("pg_database")
    await _truncate(url)
    return url


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with its production cost takes ~0.3 s a hash here; tests need far less."""
    from argon2 import PasswordHasher

    monkeypatch.setattr("server.actions.users._hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def redis_prefix() -> str:
    return f"podium-test:{uuid.uuid4().hex}:"


@pytest.fixture
def make_settings(tmp_path: Path, redis_prefix: str) -> Any:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "secret_key": "test-secret-key",
            "redis_prefix": redis_prefix,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Any, db_url: str) -> Settings:
    return make_settings(database_url=db_url)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    services = await Services.create(settings)
    try:
        yield services
    finally:
        await services.close()


@pytest.fixture
async def redis_cleanup(redis_prefix: str) -> AsyncIterator[None]:
    """Deletes this test's Redis keys afterwards."""
    from redis.asyncio import Redis

    yield
    client = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    from server.app import create_app

    app = create_app(settings)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


def registry_for(settings: Settings, **extra: object) -> Any:
    return build_registry(settings, extra or None)


# ------------------------------------------------------------------ CI strictness and summary

_VARIANTS = ("sqlite", "postgresql", "memory", "redis")


def _variant(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    for value in callspec.params.values():
        if value in _VARIANTS:
            return str(value)
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("CI") == "true"
        and report.skipped
        and item.get_closest_marker("docker") is None
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where every service is required: {report.longrepr}"
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        variant = _variant(item)
        if variant:  # counted where reports arrive: here, or in pytest-xdist's controller
            report.user_properties.append(("podium_variant", variant))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, variant in report.user_properties:
        if name == "podium_variant":
            counts = _config.stash.setdefault(_counts_key, {})
            counts[(variant, report.outcome)] = counts.get((variant, report.outcome), 0) + 1


_counts_key = pytest.StashKey[dict[tuple[str, str], int]]()
_config: pytest.Config


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    counts = config.stash.get(_counts_key, {})
    if not counts:
        return
    terminalreporter.section("backend variants")
    for variant in _VARIANTS:
        parts = [f"{outcome} {n}" for (v, outcome), n in sorted(counts.items()) if v == variant]
        if parts:
            terminalreporter.write_line(f"{variant:<11} {', '.join(parts)}")
