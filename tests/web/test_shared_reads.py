"""A request's reads share one autocommit session (server.db.Database.read, SharedReads)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, text
from sqlmodel import select

from server import actions
from server.db import shared_reads
from server.models import Contest
from server.services import Services
from tests.factories import make_world
from tests.web import (  # noqa: F401 (fast_passwords is an autouse fixture)
    HTML,
    auth,
    fast_passwords,
    world_with_tokens,
)


async def test_reads_share_one_session_and_see_new_commits(services: Services) -> None:
    await make_world(services, teams=1)
    db = services.db
    async with shared_reads(db):
        async with db.read() as first:
            contest = (await first.exec(select(Contest))).one()
            async with db.read() as inner:  # nested: the same session, objects kept
                assert inner is first and contest in first
        assert contest not in first  # detached at the end of the outermost block
        # Committed by another session meanwhile: the next block sees it.
        await actions.update_contest(services, contest.id, title="Renamed")
        async with db.read() as second:
            assert second is first
            assert (await second.get(Contest, contest.id)).title == "Renamed"
        # Another task (a background task started by the request) gets a session of its own.

        async def other() -> Any:
            async with db.read() as session:
                return session

        assert await asyncio.create_task(other()) is not first
        # A failing statement does not spoil the request's later reads.
        try:
            async with db.read() as broken:
                await broken.exec(text("SELECT * FROM no_such_table"))  # type: ignore[call-overload]
        except Exception:  # noqa: BLE001 - the driver's error type differs per database
            pass
        else:
            raise AssertionError("the bad statement did not fail")
        async with db.read() as after:
            assert (await after.get(Contest, contest.id)).title == "Renamed"
    async with db.read() as outside, db.read() as again:  # no request: sessions of their own
        assert outside is not again


async def test_a_shared_read_holds_no_lock(services: Services) -> None:
    """Autocommit: after a read block the request's connection holds no transaction, so an
    exclusive lock elsewhere is granted at once (PostgreSQL; SQLite reads take no locks)."""
    await make_world(services, teams=1)
    db = services.db
    if db.dialect != "postgresql":
        return
    async with shared_reads(db):
        async with db.read() as session:
            await session.exec(select(Contest))
        async with db.engine.begin() as other:
            await other.execute(text("SET LOCAL lock_timeout = '2s'"))
            await other.execute(text("LOCK TABLE contests IN ACCESS EXCLUSIVE MODE"))


async def test_a_page_checks_out_one_connection(client) -> None:
    world = world_with_tokens(client)
    engine = client.app.state.services.db.engine.sync_engine
    checkouts: list[int] = []
    listener = lambda *_args: checkouts.append(1)  # noqa: E731
    event.listen(engine, "checkout", listener)
    try:
        page = await client.get("/contests/spring/problems",
                                headers={**HTML, **auth(world.tokens["team0"])})
    finally:
        event.remove(engine, "checkout", listener)
    assert page.status_code == 200 and "Problems" in page.text
    assert len(checkouts) == 1  # the user, the contest, the team, the problems and marks
