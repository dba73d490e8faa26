"""Speed of the web pages: ``python -m server.bench_pages [--teams 300] [--problems 12]
[--duration 60] [--workers 2]``.

A fresh PostgreSQL database and Redis, a running ICPC contest of ``--teams`` × ``--problems``
with a realistic board and one contestant account per team, and ``podium serve --workers N``
(no judges: submissions stay queued). Then three figures:

1. **Scoreboard page render**: the full page for a logged-in contestant (the slow path: the
   session, the contest, the live board's rows, the theme), requested one at a time; the
   server's own time comes from the ``Server-Timing`` header each response carries.
2. **Contestant pages under load**: ``--teams`` simulated contestants, each logged in with
   its own session, browse the contest pages (home, problems, a statement, submit form, own
   submissions, clarifications, team, scoreboard) with a think time of 1-5 s, for
   ``--duration`` seconds; p50/p99/max per page, measured by the client.
3. **Submission burst** (at the same time): each contestant submits once, at a random moment of
   the first 60 s, through the submit form; the time until the server answers (the submission
   is stored and queued) gives p50/p99/max. Afterwards the database must hold exactly that many
   queued submissions.

A measurement, not a test; it cleans up after itself. The load generator runs on the same
machine, as the targets assume.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from server.scoreboard.bench_live import (
    PG_ADMIN,
    REDIS,
    _cpu_s,
    _service_pids,
    _start_server,
    _pct,
    _seed,
    bench_cleanup,
    bench_setup,
    stop_servers,
)

__all__ = ["main"]

PASSWORD = "bench-contestant-pw"
TIMELINE: list[tuple[float, float, str]] | None = [] if os.environ.get("BENCH_TIMELINE") else None
PAGES = ["", "/problems", "/problems/{label}", "/submit", "/submissions", "/clarifications",
         "/team", "/scoreboard"]


async def _accounts(settings: Any, contest_id: int) -> list[str]:
    """One contestant per team (the teams ``_seed`` made), sharing one password hash."""
    from sqlmodel import col, select

    from server.actions.users import hash_password
    from server.models import Problem, Team, TeamMember, User
    from server.services import Services

    services = await Services.create(settings)
    try:
        hashed = hash_password(PASSWORD)
        async with services.db.session() as session:
            teams = list(await session.exec(select(Team).where(Team.contest_id == contest_id)
                                            .order_by(col(Team.id))))
            users = [User(username=f"c{index:04d}", display_name=f"Contestant {index}",
                          password_hash=hashed) for index in range(len(teams))]
            session.add_all(users)
            await session.flush()
            for team, user in zip(teams, users, strict=True):
                session.add(TeamMember(contest_id=contest_id, team_id=team.id, user_id=user.id,
                                       is_captain=True))
            for problem in await session.exec(select(Problem)):
                problem.statement = (
                    f"# {problem.title}\n\nRead $n$ ($1 \\le n \\le 10^5$) integers and print "
                    "their sum.\n\n## Input\n\nOne line with $n$, then $n$ integers.\n\n"
                    "## Output\n\nOne integer.\n")
                session.add(problem)
            await session.commit()
            return [u.username for u in users]
    finally:
        await services.close()


def _server_ms(response: Any) -> float | None:
    found = re.search(r"app;dur=([\d.]+)", response.headers.get("server-timing", ""))
    return float(found.group(1)) if found else None


async def _login(http: Any, username: str) -> None:
    page = await http.get("/login")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    response = await http.post("/login", data={"_csrf_token": token, "username": username,
                                               "password": PASSWORD})
    if response.status_code != 303:
        raise SystemExit(f"login of {username} failed: {response.status_code}")


def _submit_form(html: str) -> dict[str, str]:
    """The submit form's fields: the first problem and the python3 language."""
    token = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    selects = dict(re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', html, flags=re.S))
    if token is None or not selects:
        raise SystemExit("the submit page has no form to fill")
    fields = {"_csrf_token": token.group(1)}
    for name, options in selects.items():
        values = re.findall(r'<option value="([^"]*)"', options)
        values = [v for v in values if v]
        fields[name] = "python3" if "python3" in values else (values[0] if values else "")
    return fields


async def _contestant(http: Any, labels: list[str], deadline: float, burst_at: float,
                      pages: dict[str, list[tuple[float, float]]],
                      submits: list[tuple[float, float]], errors: list[str], seed: str) -> None:
    """Browse until ``deadline`` with a think time of 1-5 s; submit once at ``burst_at``.
    Each measurement is (client ms, server ms from Server-Timing)."""
    submitted = False
    rng = random.Random(seed)
    await asyncio.sleep(rng.uniform(0, 3))  # not all at once
    while time.monotonic() < deadline:
        if not submitted and time.monotonic() >= burst_at:
            submitted = True
            form = _submit_form((await http.get("/contests/live/submit")).text)
            source = f"print({rng.randint(1, 10**6)})\n"
            started = time.perf_counter()
            response = await http.post("/contests/live/submit", data={**form, "source": source})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 303:
                errors.append(f"submit {response.status_code}: {response.text[:200]}")
            else:
                submits.append((elapsed, _server_ms(response) or 0.0))
            continue
        page = rng.choice(PAGES)
        path = "/contests/live" + page.format(label=rng.choice(labels))
        started = time.perf_counter()
        response = await http.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            errors.append(f"GET {path}: {response.status_code}")
        pages[page or "/ (contest home)"].append((elapsed, _server_ms(response) or 0.0))
        if TIMELINE is not None:
            TIMELINE.append((time.monotonic(), _server_ms(response) or 0.0, page))
        think = rng.uniform(1.0, 5.0)
        if not submitted:  # wake up for the submission: every contestant submits in time
            think = min(think, max(0.0, burst_at - time.monotonic()))
        await asyncio.sleep(think)


def _cpu_split(server: int) -> dict[str, float]:
    """CPU seconds so far: the web processes, this load generator, Redis, PostgreSQL."""
    return {"web processes": _cpu_s([server]), "load generator": time.process_time(),
            "Redis": _cpu_s(_service_pids("redis-server")),
            "PostgreSQL": _cpu_s(_service_pids("postgres"))}


def _line(label: str, values: list[tuple[float, float]]) -> str:
    client = [v[0] for v in values]
    server = [v[1] for v in values]
    return (f"  {label:22} n={len(values):5}  client p50 {_pct(client, 0.5):6.1f} p99 "
            f"{_pct(client, 0.99):7.1f} max {max(client):7.1f} ms | server p50 "
            f"{_pct(server, 0.5):5.1f} p99 {_pct(server, 0.99):6.1f} ms")


async def _run(args: argparse.Namespace) -> None:
    import httpx

    from server.services import Services

    name, prefix, data, env, settings = await bench_setup(args.pg, args.redis, "pages")
    server = None
    try:
        contest_id, _ = await _seed(settings, args.teams, args.problems, 0)
        usernames = await _accounts(settings, contest_id)
        labels = [chr(ord("A") + i) for i in range(args.problems)]
        env = {**env, "PODIUM_SUBMISSION_RATE_LIMIT": "1000", "PODIUM_LOGIN_RATE_LIMIT": "1000"}
        server, base = _start_server(env, data, args.workers)

        # 1. The scoreboard page, one request at a time, as a logged-in contestant.
        client_ms, server_ms = [], []
        async with httpx.AsyncClient(base_url=base, headers={"accept": "text/html"}) as http:
            await _login(http, usernames[0])
            for index in range(40 + 200):
                started = time.perf_counter()
                response = await http.get("/contests/live/scoreboard")
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200 or "row-" not in response.text:
                    raise SystemExit(f"scoreboard page: {response.status_code}")
                if index >= 40:  # the first ones warm both workers up
                    client_ms.append(elapsed)
                    if (ms := _server_ms(response)) is not None:
                        server_ms.append(ms)
            size = len(response.content) // 1024  # the scoreboard page
            one_by_one: dict[str, list[float]] = defaultdict(list)
            for _ in range(20):
                for page in PAGES:
                    response = await http.get("/contests/live" + page.format(label="B"))
                    one_by_one[page or "/ (contest home)"].append(_server_ms(response) or 0.0)
        print("each contestant page alone (server time, median of 20): " + ", ".join(
            f"{page} {_pct(values, 0.5):.1f} ms" for page, values in sorted(one_by_one.items())))
        print(f"scoreboard page ({args.teams} teams x {args.problems} problems, {size} KB), "
              f"logged-in contestant, one request at a time:")
        if server_ms:
            print(f"  server time  median {_pct(server_ms, 0.5):6.1f} ms   p99 "
                  f"{_pct(server_ms, 0.99):6.1f} ms   (target: median <= 50 ms)")
        print(f"  client time  median {_pct(client_ms, 0.5):6.1f} ms   p99 "
              f"{_pct(client_ms, 0.99):6.1f} ms")

        # 2 + 3. Contestants browsing, with a burst of one submission each. Everyone logs in
        # first (argon2 on purpose costs CPU: a login storm is not browsing).
        # Idle connections go before uvicorn's 5 s keep-alive ends (no reuse of a closed one).
        clients = [httpx.AsyncClient(base_url=base, timeout=60, headers={"accept": "text/html"},
                                     limits=httpx.Limits(keepalive_expiry=3.0))
                   for _ in usernames]
        gate = asyncio.Semaphore(8)

        async def login(http: Any, username: str) -> None:
            async with gate:
                await _login(http, username)

        started = time.perf_counter()
        await asyncio.gather(*(login(h, u) for h, u in zip(clients, usernames, strict=True)))
        print(f"{len(usernames)} logins (argon2) in {time.perf_counter() - started:.1f} s")
        pages: dict[str, list[tuple[float, float]]] = defaultdict(list)
        submits: list[tuple[float, float]] = []
        errors: list[str] = []
        begin = time.monotonic()
        deadline = begin + max(args.duration, 60)
        rng = random.Random(1)
        cpu_before = _cpu_split(server.pid)
        try:
            await asyncio.gather(*(
                _contestant(http, labels, deadline, begin + rng.uniform(0, 60), pages, submits,
                            errors, username)
                for http, username in zip(clients, usernames, strict=True)))
        finally:
            cpu_after = _cpu_split(server.pid)
            wall = time.monotonic() - begin
            for http in clients:
                await http.aclose()
        print(f"{len(usernames)} contestants browsing for {max(args.duration, 60)} s "
              f"(think time 1-5 s), {args.workers} web processes "
              "(client: measured by the load generator on the same 2 cores):")
        everything: list[tuple[float, float]] = []
        for page in sorted(pages):
            everything += pages[page]
            print(_line(page, pages[page]))
        if everything:
            print(_line("every page", everything) + "  (target: p99 <= 100 ms)")
        if submits:
            print(_line("submission (burst)", submits) + "  (target: p99 <= 200 ms)")
            print(f"  {len(submits)} submissions through the form in 60 s")
        if errors:
            print(f"{len(errors)} errors, e.g. {errors[:3]}")
        if TIMELINE:
            import json
            Path(os.environ["BENCH_TIMELINE"]).write_text(json.dumps(
                [(t - begin, ms, page) for t, ms, page in TIMELINE]))
        answered = max(1, len(everything) + len(submits))
        print(f"  CPU while browsing ({answered / wall:.0f} requests/s; "
              f"{os.cpu_count()} cores = {os.cpu_count() or 0:.1f} CPU s/s): " + ", ".join(
                  f"{label} {(cpu_after[label] - cpu_before[label]) / wall:.2f} CPU s/s "
                  f"({(cpu_after[label] - cpu_before[label]) * 1000 / answered:.1f} ms/request)"
                  for label in cpu_before))

        services = await Services.create(settings)
        try:
            from sqlmodel import func, select

            from server.models import Submission

            async with services.db.session() as session:
                stored = (await session.exec(select(func.count()).select_from(Submission)
                                             .where(Submission.status == "queued"))).one()
            waiting = (await services.queue.stats()).waiting
        finally:
            await services.close()
        print(f"stored and queued: {stored} submissions in the database, {waiting} jobs on "
              f"the queue (expected {len(submits)})")
        print(f"{os.cpu_count()} cores; load generator on the same machine")
    finally:
        stop_servers(server)
        await bench_cleanup(args.pg, args.redis, name, prefix, data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server.bench_pages",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--problems", type=int, default=12)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=PG_ADMIN)
    parser.add_argument("--redis", default=REDIS)
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
