"""Migrations take an empty database to head, match the models, and guard the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from server import migrate
from server.db import create_engine
from server.models import SQLModel


async def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()


async def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    assert migrate.current(db_url) == migrate.head()
    assert await _diff(db_url) == []


async def test_empty_database_upgrades_to_head_and_back(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    engine = create_engine(db_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync))
    await engine.dispose()
    assert set(tables) <= {"alembic_version"}
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head()
    assert await _diff(db_url) == []


def test_fresh_sqlite_file_upgrades(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fresh/podium.sqlite3"
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()


async def test_audit_log_is_append_only(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO audit_log (at, action, object_type, object_id, data) "
                "VALUES (CURRENT_TIMESTAMP, 'x', 'y', '1', '{}')"))
        for statement in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT action FROM audit_log"))).all()
        assert rows == [("x",)]
    finally:
        await engine.dispose()


async def test_sqlite_connections_enforce_foreign_keys_and_wal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fk.sqlite3"
    migrate.upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        with pytest.raises(DBAPIError):
            async with engine.begin() as conn:
                await conn.execute(text(
                    "INSERT INTO teams (contest_id, name, display_name, hidden, is_active, "
                    "created_at) VALUES (999, 't', '', 0, 1, CURRENT_TIMESTAMP)"))
    finally:
        await engine.dispose()
