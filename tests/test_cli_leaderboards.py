"""`podium leaderboard rebuild`, run as a user runs it (a separate process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from server.actions import leaderboards as lb
from server.services import Services
from tests.conftest import REDIS_URL
from tests.test_cli import run


async def test_rebuild_refills_the_redis_index(make_settings: Any, db_url: str, tmp_path: Path,
                                               redis_prefix: str, redis_cleanup: None) -> None:
    settings = make_settings(database_url=db_url, redis_url=REDIS_URL)
    services = await Services.create(settings)
    try:
        school = await lb.create_leaderboard(services, slug="school")
        await lb.create_leaderboard(services, slug="empty", public=False)
        await lb.submit_scores(services, "school", [("ann", 3), ("bob", 5), ("cat", 3)])
    finally:
        await services.close()
    client = Redis.from_url(REDIS_URL)
    try:  # as a Redis flush would
        await client.delete(*[k async for k in client.scan_iter(
            match=f"{redis_prefix}leaderboard:*")])
    finally:
        await client.aclose()

    env = {"PODIUM_DATABASE_URL": settings.effective_database_url, "PODIUM_REDIS_URL": REDIS_URL,
           "PODIUM_REDIS_PREFIX": redis_prefix, "PODIUM_SECRET_KEY": "test-secret-key"}
    data = tmp_path / "cli-data"
    result = run("leaderboard", "rebuild", data_dir=data, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "school: 3 entries\nempty: 0 entries\n"

    services = await Services.create(settings)
    try:  # built by the command: read as it is, no rebuild needed
        assert await services.leaderboard_index.built(school.id or 0)
        assert [(e.player, e.rank) for e in await lb.top(services, "school")] == [
            ("bob", 1), ("ann", 2), ("cat", 2)]
    finally:
        await services.close()

    one = run("leaderboard", "rebuild", "--board", str(school.id), data_dir=data, env=env)
    assert one.stdout == "school: 3 entries\n"
    missing = run("leaderboard", "rebuild", "--board", "nope", data_dir=data, env=env)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "podium: error: leaderboard 'nope' does not exist"


def test_rebuild_without_redis_says_what_it_did(tmp_path: Path) -> None:
    result = run("leaderboard", "rebuild", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "without Redis the index lives in each server process" in result.stderr
    helped = run("leaderboard", "rebuild", "--help", data_dir=tmp_path)
    assert helped.stdout.startswith("Usage: podium leaderboard rebuild")
