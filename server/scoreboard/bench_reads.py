"""Serving scoreboard reads: ``python -m server.scoreboard.bench_reads [--teams 300]
[--problems 12] [--duration 30] [--workers 2]``.

A fresh PostgreSQL database and Redis, a contest of ``--teams`` × ``--problems`` with a
realistic board, and ``podium serve --workers N``. Then ``wrk -t1 -c50 -d<duration>s`` with a
new connection per request (``Connection: close``) against the full JSON scoreboard
(``/api/v1/contests/live/scoreboard``) and the HTML scoreboard page, printing requests per
second and wrk's latency figures; each run waits first until the previous run's connections
have left TIME_WAIT. Then the same with gzip accepted, and with the board's ETag repeated in
If-None-Match (a poller's 304s). Finally it checks that a change is never hidden by a cached
board: right after each of a few verdicts is recorded, requests to every web process return
the new version. Needs ``wrk`` (``apt-get install wrk``). A measurement, not a test; it cleans
up after itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from server.scoreboard.bench_live import (
    PG_ADMIN,
    REDIS,
    _start_server,
    _seed,
    bench_cleanup,
    bench_setup,
    stop_servers,
)

__all__ = ["main"]


def _time_wait() -> int:
    """Sockets in TIME_WAIT on this machine (from /proc/net/sockstat)."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            fields = line.split()
            return int(fields[fields.index("tw") + 1])
    return 0


def _settle(limit: int = 1000, wait: float = 70.0) -> None:
    """Wait (up to ``wait`` s) until the previous run's closed connections have left
    TIME_WAIT: a new connection whose port pair is still in TIME_WAIT on the server side can
    stall, so each run starts from the same clean state."""
    deadline = time.monotonic() + wait
    while _time_wait() > limit and time.monotonic() < deadline:
        time.sleep(1.0)


def _wrk(url: str, duration: int, connections: int, headers: tuple[str, ...] = ()
         ) -> tuple[float, str]:
    _settle()
    extra = [arg for header in headers for arg in ("-H", header)]
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s",
                          "-H", "Connection: close", *extra, "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} error responses:\n{out}")
    return rate, out


async def _run(args: argparse.Namespace) -> None:
    import httpx

    from server import actions
    from server.services import Services

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    name, prefix, data, env, settings = await bench_setup(args.pg, args.redis, "reads")
    server = None
    try:
        contest_id, pending = await _seed(settings, args.teams, args.problems, 5)
        server, url = _start_server(env, data, args.workers)
        json_url = url + "/api/v1/contests/live/scoreboard"
        html_url = url + "/contests/live/scoreboard"
        body = httpx.get(json_url).content
        page = httpx.get(html_url).content
        for _ in range(50):  # warm every worker
            httpx.get(json_url), httpx.get(html_url)
        gz = "Accept-Encoding: gzip"
        packed = {target: int(httpx.get(target, headers={"Accept-Encoding": "gzip"})
                              .headers["content-length"]) for target in (json_url, html_url)}
        etag = httpx.get(json_url).headers["etag"]
        plain = {json_url: len(body), html_url: len(page)}
        results = {}
        for label, target, headers in (
                ("JSON scoreboard", json_url, ()),
                ("HTML scoreboard page", html_url, ()),
                ("JSON, gzip accepted", json_url, (gz,)),
                ("HTML, gzip accepted", html_url, (gz,)),
                ("JSON, If-None-Match", json_url, (f"If-None-Match: {etag}",))):
            rate, out = _wrk(target, args.duration, args.connections, headers)
            results[label] = rate
            if os.environ.get("BENCH_DEBUG"):
                print(out)
            latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
            p99 = re.search(r"99%\s+(\S+)", out)
            size = (0 if "None-Match" in label else packed[target] if headers else plain[target])
            print(f"{label:22} {rate:8.0f} req/s  (latency avg {latency.group(1)}, "  # type: ignore[union-attr]
                  f"p99 {p99.group(1) if p99 else '?'}; {size / 1024:.0f} KB per response)")
        # A change is never hidden by a cached board.
        _settle()
        services = await Services.create(settings)
        stale = 0
        try:
            async with httpx.AsyncClient() as http:
                for index, submission_id in enumerate(pending):
                    await actions.record_verdict(services, submission_id, "AC",
                                                 job_key=f"reads-{index}")
                    version = await services.live.store.version(contest_id, "public")  # type: ignore[union-attr]
                    for _ in range(4 * args.workers):
                        got = (await http.get(json_url, headers={"Connection": "close"})).json()
                        stale += got["version"] != version
                        html = (await http.get(html_url, headers={"Connection": "close"})).text
                        stale += f'data-version="{version}"' not in html
        finally:
            await services.close()
        print(f"{os.cpu_count()} cores; {args.teams} teams x {args.problems} problems; "
              f"{args.workers} web processes; wrk -t1 -c{args.connections} -d{args.duration}s, "
              f"a new connection per request")
        print(f"after {len(pending)} verdicts, {stale} of {len(pending) * 8 * args.workers} "
              "reads served an older board")
    finally:
        stop_servers(server)
        await bench_cleanup(args.pg, args.redis, name, prefix, data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.scoreboard.bench_reads",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--problems", type=int, default=12)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--redis", default=REDIS)
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
