"""Leaderboard read latency at scale: ``python -m server.bench_leaderboards [--entries 1000000]
[--requests 5000] [--workers 1]``.

Everything is real and runs as in production: a fresh PostgreSQL database (migrated), a
leaderboard filled with N entries by ``COPY`` (scores with many ties, achieved at different
times), its Redis sorted index rebuilt from the database (timed), then ``podium serve`` on
127.0.0.1 (uvicorn, one process per ``--workers``) against that database and Redis. One
keep-alive HTTP/1.1 connection then requests, one at a time and taking turns:

- ``GET /api/v1/leaderboards/bench/top?limit=10``;
- ``GET /api/v1/leaderboards/bench/around/{player}?range=5`` for random players;
- ``GET /healthz``, the floor (no Redis, no database: the app and the machine alone);

and prints p50 / p99 / max of each (client-side wall time: HTTP, the app, the board's
description and the page from Redis, JSON; no database query), then the same two reads on the
index alone (one Redis round trip each), and the load average around them. The target is
p99 <= 5 ms at 1,000,000 entries.

It is a measurement, not a test: the figures depend on the machine and on what else runs
there. It drops its database and its Redis keys and stops the server at the end, whatever
happens. ``PODIUM_BENCH_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
and ``PODIUM_BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) say where they run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx
from redis.asyncio import Redis

if TYPE_CHECKING:
    from server.services import Services

__all__ = ["main", "percentiles"]

SLUG = "bench"
POSTGRES_URL = os.environ.get("PODIUM_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PODIUM_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
COPY_BATCH = 100_000


def percentiles(samples: list[float]) -> str:
    """``p50 … p99 … max …`` of latencies in seconds, printed in milliseconds."""
    ordered = sorted(samples)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]

    return (f"p50 {at(0.50) * 1000:6.2f} ms   p99 {at(0.99) * 1000:6.2f} ms   "
            f"max {ordered[-1] * 1000:6.2f} ms   ({len(ordered)} requests)")


def _load() -> str:
    """The machine's load average: the figures mean little when other work competes."""
    one, five, _ = os.getloadavg()
    return f"load average: {one:.2f} (1 min), {five:.2f} (5 min)"


def _player(n: int) -> str:
    return f"player{n:07d}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _podium() -> str:
    return shutil.which("podium", path=str(Path(sys.executable).parent)) or "podium"


def _server_url(database: str) -> str:
    base = POSTGRES_URL.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+asyncpg://{base}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _services(url: str, prefix: str | None = None) -> Services:
    from server.services import Services
    from server.settings import Settings

    return await Services.create(
        Settings(database_url=url, redis_url=REDIS_URL if prefix else None,
                 redis_prefix=prefix or "podium:", secret_key="bench",
                 data_dir=Path(tempfile.gettempdir())), start_plugins=False)


async def _fill(url: str, entries: int, echo: Callable[[str], None]) -> int:
    """Create the board through the actions, then COPY its entries; returns its id."""
    from server.actions import leaderboards as lb

    services = await _services(url)
    try:
        board = await lb.create_leaderboard(services, slug=SLUG, title="Bench")
    finally:
        await services.close()
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    began = time.perf_counter()
    try:
        for first in range(0, entries, COPY_BATCH):
            rows = [(board.id, _player(n), float(rng.randrange(100_000)),
                     start + timedelta(seconds=rng.randrange(10_000_000)))
                    for n in range(first, min(entries, first + COPY_BATCH))]
            await conn.copy_records_to_table(
                "leaderboard_entries", records=rows,
                columns=["leaderboard_id", "player", "score", "updated_at"])
        await conn.execute("ANALYZE leaderboard_entries")
    finally:
        await conn.close()
    echo(f"filled {entries:,} entries by COPY in {time.perf_counter() - began:.1f} s")
    return int(board.id or 0)


async def _rebuild(url: str, prefix: str, echo: Callable[[str], None]) -> None:
    from server.actions import leaderboards as lb
    from server.actions.leaderboard_upkeep import rebuild_index

    services = await _services(url, prefix)
    try:
        board = await lb.get_leaderboard(services, SLUG)
        began = time.perf_counter()
        count = await rebuild_index(services, board)
        echo(f"rebuilt the Redis index from PostgreSQL ({count:,} entries) in "
             f"{time.perf_counter() - began:.1f} s")
        assert services.redis is not None
        key = f"{prefix}leaderboard:{{{board.id}}}"
        used = sum([await services.redis.memory_usage(name, samples=0) or 0
                    for name in (key, f"{key}:players")])
        echo(f"Redis memory of the board: {used / 2**20:.0f} MiB")
    finally:
        await services.close()


@contextmanager
def _server(url: str, prefix: str, workers: int) -> Iterator[str]:
    """``podium serve`` on a free port until the block ends (SIGTERM, then SIGKILL)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    with tempfile.TemporaryDirectory(prefix="podium-bench-lb-") as data:
        env.update(PODIUM_DATABASE_URL=url, PODIUM_REDIS_URL=REDIS_URL,
                   PODIUM_REDIS_PREFIX=prefix, PODIUM_SECRET_KEY="bench-secret-key",
                   PODIUM_DATA_DIR=data, PODIUM_LOG_LEVEL="WARNING",
                   PODIUM_EMBEDDED_JUDGES="0")
        log = Path(data) / "server.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([_podium(), "serve", "--port", str(port), "--workers",
                                     str(workers)], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.1)
            yield base
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _http(base: str, entries: int, requests: int, echo: Callable[[str], None]) -> None:
    """One keep-alive HTTP/1.1 connection (the standard library's client: a few dozen
    microseconds a request of its own, where httpx's costs more than the server's work).

    The reads take turns (top, around, ``/healthz``), so each sees the same conditions;
    ``/healthz`` (no Redis, no database) is the floor the app and the machine set."""
    rng = random.Random(3)
    path = f"/api/v1/leaderboards/{SLUG}"
    host, port = base.rsplit("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def get(target: str) -> bytes:
        conn.request("GET", target)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {target}: {response.status} {body[:300]!r}")
        return body

    reads: dict[str, Callable[[], str]] = {
        "top?limit=10": lambda: f"{path}/top?limit=10",
        "around/{player}?range=5":
            lambda: f"{path}/around/{_player(rng.randrange(entries))}?range=5",
        "/healthz (the floor)": lambda: "/healthz",
    }
    samples: dict[str, list[float]] = {name: [] for name in reads}
    try:
        assert len(json.loads(get(f"{path}/top?limit=10"))) == 10
        assert len(json.loads(get(f"{path}/around/{_player(entries // 2)}?range=5"))) == 11
        for _ in range(min(500, requests)):  # warm up
            for target in reads.values():
                get(target())
        gc.disable()  # the client's collections would count as latency
        try:
            for _ in range(requests):
                for name, target in reads.items():
                    url = target()
                    began = time.perf_counter()
                    get(url)
                    samples[name].append(time.perf_counter() - began)
        finally:
            gc.enable()
    finally:
        conn.close()
    for name, times in samples.items():
        echo(f"HTTP  {name:<24} {percentiles(times)}")


async def _index_only(url: str, prefix: str, entries: int, requests: int,
                      echo: Callable[[str], None]) -> None:
    from server.actions import leaderboards as lb
    from server.actions.leaderboard_upkeep import board_key

    services = await _services(url, prefix)
    try:
        key = board_key(await lb.get_leaderboard(services, SLUG))
        index = services.leaderboard_index
        rng = random.Random(5)
        reads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("top 10", lambda: index.page(key, 0, 10)),
            ("around, range 5", lambda: index.around(key, _player(rng.randrange(entries)), 5)),
        ]
        for name, read in reads:
            for _ in range(min(500, requests)):
                await read()
            samples = []
            gc.disable()
            try:
                for _ in range(requests):
                    began = time.perf_counter()
                    await read()
                    samples.append(time.perf_counter() - began)
            finally:
                gc.enable()
            echo(f"index {name:<24} {percentiles(samples)}")
    finally:
        await services.close()


async def _cleanup(database: str, prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        # the prefix's keys and the app's session store's (``<prefix without ':'>_sessions``)
        keys = [k async for k in redis.scan_iter(match=f"{prefix.rstrip(':')}*", count=10_000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start:start + 1000])
    finally:
        await redis.aclose()
    await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(entries: int, requests: int, workers: int, echo: Callable[[str], None] = print) -> None:
    """The whole benchmark (see the module docstring)."""
    from server import migrate

    database = f"podium_bench_lb_{uuid.uuid4().hex[:8]}"
    prefix = f"podium-bench:{uuid.uuid4().hex[:8]}:"
    url = _server_url(database)
    asyncio.run(_admin(f'CREATE DATABASE "{database}"'))
    try:
        migrate.upgrade(url)
        asyncio.run(_fill(url, entries, echo))
        asyncio.run(_rebuild(url, prefix, echo))
        with _server(url, prefix, workers) as base:
            echo(f"server {base} ({workers} worker{'s' if workers > 1 else ''}, "
                 f"{os.cpu_count()} CPUs); {requests} sequential requests per read, "
                 "one keep-alive connection")
            echo(_load())
            _http(base, entries, requests, echo)
        asyncio.run(_index_only(url, prefix, entries, requests, echo))
        echo(_load())
    finally:
        asyncio.run(_cleanup(database, prefix))
        echo(f"dropped database {database} and the {prefix.rstrip(':')}* keys")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.bench_leaderboards",
                                     description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=5000,
                        help="measured requests per read (after 500 warm-up ones)")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args(argv)
    if args.entries < 11 or args.requests < 1 or args.workers < 1:
        parser.error("need --entries >= 11, --requests >= 1 and --workers >= 1")
    run(args.entries, args.requests, args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
