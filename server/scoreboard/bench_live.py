"""Live scoreboard fan-out: ``python -m server.scoreboard.bench_live [--clients 1000]
[--servers 2] [--teams 300] [--problems 12] [--verdicts 30] [--warmup 2] [--cold]``.

Everything is real and separate, as in production: a fresh PostgreSQL database, one Redis,
``--servers`` ``podium serve`` processes, and ``--client-procs`` load-generator processes that
open ``--clients`` WebSockets in all (spread over the servers, half on the HTML page socket,
half on the JSON API socket). This process records ``--verdicts`` verdicts through the actions
(as a judge result would), one every ``--interval`` seconds, and notes the time just before each
and the public board version it produced. Each client notes when each version arrives. The
first ``--warmup`` verdicts are recorded the same way but left out of the figures (the
recording process compiles its templates and prepares its statements on the first one: a
once-per-process cost, printed separately).

It prints, per socket kind and overall: messages expected and received, and the latency from
"verdict about to be recorded" to "message received by the client" (p50, p99, max) — database
commit, board build, diff, render once, Redis publish, fan-out in every web process and the
client's receive included — and each web process's resident memory before its sockets (the
board read once), with them open and after the verdicts. ``--cold``: the sockets connect before
anything was read, as they reconnect after a restart. It is a measurement, not a test; it
cleans up its database, Redis keys and processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

__all__ = ["main"]

VERSION = re.compile(rb'"version":(\d+)|data-version="(\d+)"')
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379/0"


# -- the load generator (a child process) ----------------------------------------------------

async def _client_main(urls: list[str], count: int, offset: int) -> None:
    import websockets

    received: list[tuple[int, int, float]] = []  # (kind, version, time)
    sockets: list[Any] = []

    async def one(index: int) -> None:
        base = urls[(offset + index) % len(urls)]
        kind = (offset + index) // len(urls) % 2  # 0: HTML page socket, 1: JSON API socket
        path = ("/api/v1/contests/live/scoreboard/ws" if kind
                else "/contests/live/scoreboard/ws")
        async with websockets.connect(base + path, open_timeout=60, max_size=None,
                                      ping_interval=None) as ws:
            sockets.append(ws)
            first = True
            # No timeout per receive (a timer and a task per message, and 1,000 wake-ups a
            # second when idle): the loop ends when the coordinator's stop closes the socket.
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    message = await ws.recv(decode=False)
                    now = time.time()
                    if first:
                        first = False
                        ready.append(1)
                        continue
                    match = VERSION.search(message, 0, 200) or VERSION.search(
                        message, max(0, len(message) - 200))
                    if match:
                        received.append((kind, int(match.group(1) or match.group(2)), now))
                        if os.environ.get("BENCH_DEBUG"):
                            print(index, base[-5:], kind, message[:120], file=sys.stderr)

    ready: list[int] = []
    tasks = []
    for start in range(0, count, 100):  # ramp up in batches (the listen backlog)
        tasks += [asyncio.create_task(one(i)) for i in range(start, min(start + 100, count))]
        while len(ready) < min(start + 100, count):
            await asyncio.sleep(0.05)
            for task in tasks:
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]
    print(f"READY {count}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until closed
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(received), flush=True)


# -- the coordinator ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _children_rss_mb(pid: int) -> float:
    """Resident memory of a server and its uvicorn worker children."""
    total = _rss_mb(pid)[0]
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for cpid in child.read_text().split():
            total += _rss_mb(int(cpid))[0]
    return total


def _cpu_s(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    seen: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for child in Path(f"/proc/{pid}/task").glob("*/children"):
                todo += [int(c) for c in child.read_text().split()]
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return total


def _service_pids(name: str) -> list[int]:
    """Processes whose command name starts with ``name`` (redis-server, postgres)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().startswith(name):
                pids.append(int(comm.parent.name))
        except OSError:
            continue
    return pids


def _cpu_split(servers: list[int], clients: list[int]) -> dict[str, float]:
    return {"web processes": _cpu_s(servers), "load generators": _cpu_s(clients),
            "recording process": time.process_time(),
            "Redis": _cpu_s(_service_pids("redis-server")),
            "PostgreSQL": _cpu_s(_service_pids("postgres"))}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def _seed(settings: Any, teams: int, problems: int, verdicts: int) -> tuple[int, list[int]]:
    """A running ICPC contest with a realistic board, and ``verdicts`` pending submissions."""
    from server import actions
    from server.actions.standings import rebuild_standings
    from server.models import Submission, SubmissionStatus, utcnow
    from server.services import Services

    services = await Services.create(settings)
    try:
        start = utcnow().replace(microsecond=0) - timedelta(hours=2)
        admin = await actions.create_user(services, "bench-admin", password="bench-password",
                                          role="admin")
        contest = await actions.create_contest(
            services, slug="live", title="Live bench", start_at=start,
            end_at=start + timedelta(hours=5), scoring_rule="icpc", actor=admin)
        labels = [chr(ord("A") + i) for i in range(problems)]
        problem_ids = []
        for label in labels:
            problem = await actions.create_problem(services, slug=f"live-{label.lower()}",
                                                   title=f"Problem {label}")
            problem_ids.append(problem.id)
            await actions.add_contest_problem(services, contest.id, f"live-{label.lower()}",
                                              label=label)
        await actions.enable_language(services, contest.id, "python3")
        from server.models import Team

        rng = random.Random(7)
        async with services.db.session() as session:
            team_rows = [Team(contest_id=contest.id, name=f"Team {i:03d}")
                         for i in range(teams)]
            session.add_all(team_rows)
            await session.flush()
            for team in team_rows:
                for problem_id in problem_ids:
                    if rng.random() < 0.35:
                        tries = rng.randint(0, 3)
                        minute = rng.randint(1, 110)
                        for t in range(tries + 1):
                            verdict = "AC" if t == tries and rng.random() < 0.8 else "WA"
                            session.add(Submission(
                                contest_id=contest.id, team_id=team.id, problem_id=problem_id,
                                language="python3", submitted_at=start + timedelta(
                                    minutes=minute, seconds=t), status=SubmissionStatus.JUDGED.value,
                                verdict=verdict, source_hash="0" * 64))
            await session.commit()
            team_ids = [t.id for t in team_rows]
        await rebuild_standings(services, contest.id)
        pending = []
        for index in range(verdicts):
            sub = await actions.submit(
                services, contest=contest.id, team_id=rng.choice(team_ids),
                problem=rng.choice(labels), language="python3",
                files={"main.py": b"print(1)\n"}, trusted=True, user=admin,
                at=start + timedelta(minutes=111, seconds=index))
            pending.append(sub.id)
        return contest.id, pending
    finally:
        await services.close()


def _start_server(env: dict[str, str], data: Path, workers: int = 1
                  ) -> tuple[subprocess.Popen[bytes], str]:
    """``podium serve`` (``workers`` processes) on a free port, once it answers /healthz."""
    import httpx

    port = _free_port()
    log = (data / f"server-{port}.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                                "--workers", str(workers)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited: {Path(log.name).read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("a server did not start")


def stop_servers(*processes: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM every ``podium serve`` started here, then wait (kill after 30 s)."""
    running = [p for p in processes if p is not None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


async def bench_setup(pg: str, redis: str, label: str) -> tuple[str, str, Path, dict[str, str], Any]:
    """A fresh PostgreSQL database at the head revision, a Redis prefix and a data dir:
    ``(database name, prefix, data dir, env for podium processes, Settings)``."""
    import asyncpg

    from server.settings import Settings

    name = f"podium_bench_{label}_{uuid.uuid4().hex[:8]}"
    prefix = f"podium-bench-{label}-{uuid.uuid4().hex[:8]}:"
    admin = await asyncpg.connect(pg)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    base = pg.split("://", 1)[1].rsplit("/", 1)[0]
    db_url = f"postgresql+asyncpg://{base}/{name}"
    data = Path(tempfile.mkdtemp(prefix=f"podium-bench-{label}-"))
    secret = f"bench-{label}-secret"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update({"PODIUM_DATABASE_URL": db_url, "PODIUM_REDIS_URL": redis,
                "PODIUM_REDIS_PREFIX": prefix, "PODIUM_SECRET_KEY": secret,
                "PODIUM_DATA_DIR": str(data), "PODIUM_EMBEDDED_JUDGES": "0",
                "PODIUM_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING")})
    subprocess.run([sys.executable, "-m", "server.cli", "db", "upgrade"], env=env,
                   check=True, capture_output=True)
    settings = Settings(database_url=db_url, redis_url=redis, redis_prefix=prefix,
                        secret_key=secret, data_dir=data)
    return name, prefix, data, env, settings


async def bench_cleanup(pg: str, redis_url: str, name: str, prefix: str, data: Path) -> None:
    """Drop what :func:`bench_setup` made: Redis keys, the database, the data dir."""
    import asyncpg
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()
    admin = await asyncpg.connect(pg)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()
    shutil.rmtree(data, ignore_errors=True)


async def _run(args: argparse.Namespace) -> None:
    name, prefix, data, env, settings = await bench_setup(args.pg, args.redis, "live")
    servers: list[subprocess.Popen[bytes]] = []
    clients: list[subprocess.Popen[bytes]] = []
    try:
        t = time.perf_counter()
        contest_id, pending = await _seed(settings, args.teams, args.problems,
                                          args.warmup + args.verdicts)
        print(f"seeded {args.teams} teams x {args.problems} problems in "
              f"{time.perf_counter() - t:.1f} s")
        urls = []
        for _ in range(args.servers):
            process, url = _start_server(env, data)
            servers.append(process)
            urls.append(url.replace("http://", "ws://"))
        for url in [] if args.cold else urls:  # the boards built: the idle figure holds them
            http_url = url.replace("ws://", "http://")
            for path in ("/contests/live/scoreboard", "/api/v1/contests/live/scoreboard"):
                with urllib.request.urlopen(http_url + path, timeout=30) as response:
                    response.read()
        rss_idle = [_children_rss_mb(p.pid) for p in servers]
        per = [args.clients // args.client_procs + (i < args.clients % args.client_procs)
               for i in range(args.client_procs)]
        t = time.perf_counter()
        offset = 0
        for count in per:
            clients.append(subprocess.Popen(
                [sys.executable, "-m", "server.scoreboard.bench_live", "--client",
                 json.dumps({"urls": urls, "count": count, "offset": offset})],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE))
            offset += count
        for client in clients:
            line = client.stdout.readline().decode()  # type: ignore[union-attr]
            if not line.startswith("READY"):
                for log in sorted(data.glob("server-*.log")):  # why, before they are removed
                    lines = log.read_text(errors="replace").splitlines()
                    errors = [i for i, text in enumerate(lines)
                              if "[info" not in text and ("rror" in text or "xception" in text)]
                    shown = lines[errors[0]:errors[0] + 60] if errors else lines[-40:]
                    print(f"--- {log.name}\n" + "\n".join(shown))
                raise SystemExit(f"a client failed: {line!r}")
        print(f"{args.clients} sockets open on {args.servers} web process(es) in "
              f"{time.perf_counter() - t:.1f} s")
        await asyncio.sleep(1.0)
        rss_open = [_children_rss_mb(p.pid) for p in servers]

        from server import actions
        from server.services import Services

        services = await Services.create(settings)
        # Verdicts are recorded in a `podium serve` process in production (the judge API),
        # which freezes its startup heap: so does this one.
        from server.app import freeze_startup_heap

        freeze_startup_heap()
        sent: dict[int, float] = {}
        published: dict[int, float] = {}  # version -> when its first message was published
        live = services.live
        assert live is not None and live._publish is not None
        publish = live._publish

        async def timed_publish(data: bytes, channels: list[str]) -> None:
            published.setdefault(int(data.split(b" ", 2)[1].split(b"\n", 1)[0]), time.time())
            await publish(data, channels)

        live._publish = timed_publish
        took: list[float] = []
        try:
            contest = None
            from server.models import Contest

            async with services.db.session() as session:
                contest = await session.get(Contest, contest_id)
            rng = random.Random(11)
            warm: list[float] = []
            for index, submission_id in enumerate(pending[:args.warmup]):
                t0 = time.time()
                await actions.record_verdict(services, submission_id, "WA",
                                             job_key=f"bench-warmup-{index}")
                warm.append((time.time() - t0) * 1000)
                await asyncio.sleep(args.interval)
            cpu_before = _cpu_split([p.pid for p in servers], [c.pid for c in clients])
            for index, submission_id in enumerate(pending[args.warmup:]):
                verdict = "AC" if rng.random() < 0.5 else "WA"
                t0 = time.time()
                await actions.record_verdict(services, submission_id, verdict,
                                             job_key=f"bench-{index}")
                version = await services.live.store.version(contest_id, "public")  # type: ignore[union-attr]
                sent.setdefault(version, t0)
                took.append(time.time() - t0)
                await asyncio.sleep(args.interval)
            await asyncio.sleep(2.0)
            cpu_after = _cpu_split([p.pid for p in servers], [c.pid for c in clients])
        finally:
            await services.close()
        rss_after = [_children_rss_mb(p.pid) for p in servers]
        received: list[tuple[int, int, float]] = []
        for client in clients:
            out, _ = client.communicate(b"", timeout=120)
            received += [tuple(x) for x in json.loads(out.decode().strip().splitlines()[-1])]  # type: ignore[misc]
        del contest
        lat: dict[int, list[float]] = {0: [], 1: []}
        for kind, version, at in received:
            if version in sent:
                lat[kind].append((at - sent[version]) * 1000)
        expected = len(sent) * args.clients
        print(f"\n{os.cpu_count()} cores; {args.clients} sockets; {args.servers} web process(es) "
              f"over Redis; {args.teams} teams x {args.problems} problems; "
              f"{len(sent)} verdicts, one every {args.interval:g} s")
        for label, values in (("HTML page sockets", lat[0]), ("JSON API sockets", lat[1]),
                              ("all sockets", lat[0] + lat[1])):
            if values:
                print(f"  {label:18} {len(values):7} messages  p50 {statistics.median(values):7.1f} ms"
                      f"  p99 {_pct(values, 0.99):7.1f} ms  max {max(values):7.1f} ms")
        spans = [(published[v] - sent[v]) * 1000 for v in sent if v in published]
        if spans:
            print(f"  of which verdict -> published: p50 {statistics.median(spans):.1f} ms, "
                  f"max {max(spans):.1f} ms (the rest is the fan-out to the sockets)")
        last: dict[int, float] = {}
        for _, version, at in received:
            last[version] = max(last.get(version, 0.0), at)
        worst = sorted((v for v in sent if v in last), key=lambda v: last[v] - sent[v])[-3:]
        print("  slowest verdicts (published / first socket / last socket): " + "; ".join(
            f"+{(published.get(v, sent[v]) - sent[v]) * 1000:.0f} / "
            f"+{(min(at for _, ver, at in received if ver == v) - sent[v]) * 1000:.0f} / "
            f"+{(last[v] - sent[v]) * 1000:.0f} ms" for v in reversed(worst)))
        if warm:
            print(f"  warm-up verdicts, left out: recorded in {', '.join(f'{t:.0f}' for t in warm)}"
                  " ms (the first in a process compiles templates and prepares statements)")
        got = len(lat[0]) + len(lat[1])
        print(f"  recording a verdict took {statistics.median(took) * 1000:.0f} ms (median) in "
              "the recording process, publication included")
        if os.environ.get("BENCH_DEBUG"):
            from collections import Counter
            print("sent", sorted(sent), "received", sorted(Counter(v for _, v, _ in received).items()))
        print(f"  delivered {got} of {expected} expected verdict messages")
        print("  CPU per verdict: " + ", ".join(
            f"{label} {(cpu_after[label] - cpu_before[label]) * 1000 / max(1, len(sent)):.0f} ms"
            for label in cpu_before))
        for i, (idle, opened, after) in enumerate(zip(rss_idle, rss_open, rss_after,
                                                      strict=True), start=1):
            per_server = args.clients // args.servers
            print(f"  web process {i}: {idle:.0f} MB resident before its {per_server} sockets, "
                  f"{opened:.0f} MB with them open ({(opened - idle) * 1024 / per_server:.0f} KB "
                  f"per socket), {after:.0f} MB after the verdicts")
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
        stop_servers(*servers)
        await bench_cleanup(args.pg, args.redis, name, prefix, data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.scoreboard.bench_live",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--problems", type=int, default=12)
    parser.add_argument("--verdicts", type=int, default=30)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--warmup", type=int, default=2,
                        help="verdicts recorded first and left out of the figures")
    parser.add_argument("--cold", action="store_true",
                        help="the sockets connect before any page was read (a restart's "
                        "reconnection storm); otherwise the board is read once first")
    parser.add_argument("--pg", default=PG_ADMIN, help="PostgreSQL admin URL (plain postgresql://)")
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        spec = json.loads(args.client)
        asyncio.run(_client_main(spec["urls"], spec["count"], spec["offset"]))
        return
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
