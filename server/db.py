"""Database engines and sessions (SQLite via aiosqlite, PostgreSQL via asyncpg)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

__all__ = ["Database", "create_engine", "shared_reads"]


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 25) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys, WAL and a busy timeout on every connection.

    PostgreSQL keeps ``pool_size`` connections open, plus 5 for bursts. A burst connection is
    closed when it is given back: connecting (TLS handshake included) costs several ms of the
    event loop, and with 10 kept open a busy web process (300 contestants browsing) opened and
    closed connections all the time, which slowed it more and kept it busy for tens of
    seconds (bench_pages: every page p99 0.8-1.5 s, then 0.16 s with 25 kept)."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=5)
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


class Database:
    """One engine and its session factory, owned by one app instance."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 25) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # Shared reads run in autocommit: no transaction (nor its locks) spans a request, and
        # no BEGIN / ROLLBACK round trips; every statement sees what is committed.
        self._reads = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), class_=AsyncSession,
            expire_on_commit=False, autoflush=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session of its own (a pooled connection, a transaction, closed at the end)."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session to read with, never to write (no add, flush or commit).

        Inside :func:`shared_reads` (an HTTP request) and in the task that opened it, every
        ``read()`` uses the request's one session, in autocommit: one pool checkout and ping
        per request, and no BEGIN / ROLLBACK, instead of all that per block, which is most of
        what a block costs. Objects are detached at the end of each outermost block, as a
        closed session leaves them, so the next block reads afresh (and sees what was
        committed meanwhile).
        Anywhere else (other tasks, sockets, background work) it is :meth:`session`.
        """
        shared = _shared.get()
        if shared is None or shared.db is not self or shared.owner is not asyncio.current_task():
            async with self.sessionmaker() as session:
                yield session
            return
        if shared.session is None:
            shared.session = self._reads()
        session = shared.session
        shared.depth += 1
        try:
            yield session
        except BaseException:
            if shared.depth == 1 and session.in_transaction():
                await session.rollback()  # (no round trip in autocommit) reset the session
            raise
        finally:
            shared.depth -= 1
            if shared.depth == 0:
                session.expunge_all()

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class _SharedReads:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.owner = asyncio.current_task()
        self.session: AsyncSession | None = None
        self.depth = 0


_shared: ContextVar[_SharedReads | None] = ContextVar("podium_shared_reads", default=None)


@asynccontextmanager
async def shared_reads(db: Database) -> AsyncIterator[None]:
    """Within this block (in this task), :meth:`Database.read` shares one session."""
    shared = _SharedReads(db)
    token = _shared.set(shared)
    try:
        yield
    finally:
        _shared.reset(token)
        if shared.session is not None:
            await shared.session.close()
