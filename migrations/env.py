"""Alembic environment: async engines, SQLite batch mode, rendering without sqlmodel imports."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

import server.models  # noqa: F401  (registers every table)
from server.db import create_engine
from server.models.base import SQLModel, UTCDateTime

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    from server.settings import load_settings

    return load_settings().effective_database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our column types as plain SQLAlchemy types so migrations import only ``sa``."""
    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
        name = type(obj).__name__
        if name == "AutoString":
            length = getattr(obj, "length", None)
            return f"sa.String(length={length})" if length else "sa.String()"
    return False


def _configure(connection: Connection | None = None, **kwargs: Any) -> None:
    url = _url()
    context.configure(
        connection=connection,
        url=None if connection is not None else url,
        target_metadata=target_metadata,
        render_as_batch=url.startswith("sqlite"),
        render_item=render_item,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
        return
    engine = create_engine(_url())
    async with engine.connect() as conn:
        await conn.run_sync(_run_sync)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
