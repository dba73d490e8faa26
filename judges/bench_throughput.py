"""Judging throughput, end to end: ``podium judge bench [--submissions 200] [--tests 10]
[--workers N]``.

Everything is real and runs as separate processes, as in production: an embedded ``podium
serve`` (no judge of its own) in a temporary data dir, ``podium problem import`` of a generated
package with N tests, a contest, a contestant and a team made through the HTTP API, then S
trivial Python submissions posted through the API as fast as they are accepted, judged by W
``podium worker`` processes on the bubblewrap sandbox. It waits for every verdict and prints:

- submissions per second (S over the time from the first submission to the last verdict);
- median and p99 submit→verdict seconds (the server's own timestamps: the submission's
  ``submitted_at`` and its judging's ``finished_at``);
- the total time, and how long the burst of submissions took;
- each worker's peak resident memory (``VmHWM`` of ``/proc/<pid>/status``) and the server's.

It is a measurement, not a test: the figures depend on the machine and on what else runs there.
Speaking only HTTP and the ``podium`` command, it needs nothing of the server's internals; the
server's SQLite file is read once at the end for the timestamps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from judges.sandbox.runguard import cache_dir

__all__ = ["BenchResult", "run_bench"]

SOURCE = b"print(input())\n"
"""The trivial submission: echo the one input line."""
CONTEST = "bench"
PASSWORD = "bench-password"


@dataclass
class BenchResult:
    submissions: int
    tests: int
    workers: int
    submit_seconds: float
    total_seconds: float
    latencies: list[float]
    verdicts: dict[str, int]
    worker_peak_kb: list[int]
    server_peak_kb: int
    worker_cpu: list[tuple[float, float]] = field(default_factory=list)
    """Per worker: its own CPU seconds, and its sandboxed children's."""
    server_cpu: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.submissions / self.total_seconds if self.total_seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]

    def lines(self) -> list[str]:
        verdicts = ", ".join(f"{v} {n}" for v, n in sorted(self.verdicts.items()))
        workers = ", ".join(f"{kb / 1024:.1f}" for kb in self.worker_peak_kb)
        return [
            f"submissions: {self.submissions} × {self.tests} tests, {self.workers} worker(s) "
            f"on bwrap; verdicts: {verdicts}",
            f"submit burst: {self.submit_seconds:.2f} s",
            f"throughput: {self.per_second:.2f} submissions/s",
            f"submit→verdict: median {statistics.median(self.latencies):.2f} s, "
            f"p99 {self.percentile(0.99):.2f} s",
            f"total: {self.total_seconds:.2f} s (first submission to last verdict)",
            f"worker peak RSS (MB): {workers}",
            f"server peak RSS (MB): {self.server_peak_kb / 1024:.1f}",
            "CPU seconds: server {:.1f}; workers {}".format(self.server_cpu, ", ".join(
                f"{own:.1f} (+{children:.1f} in boxes)" for own, children in self.worker_cpu)),
        ]


def _podium() -> str:
    found = shutil.which("podium", path=str(Path(sys.executable).parent))
    return found or shutil.which("podium") or "podium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_kb(pid: int) -> int:
    """VmHWM (peak resident set) of a live process, in KiB; 0 when unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a live process, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return ((int(fields[11]) + int(fields[12])) / tick,
                (int(fields[13]) + int(fields[14])) / tick)
    except (OSError, ValueError, IndexError):
        return 0.0, 0.0


class _Processes:
    """The server and workers this bench started (stopped with SIGTERM, then SIGKILL)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        # The workers share this host's runguard build and sandbox snapshot, as usual.
        self.env["PODIUM_RUNGUARD_DIR"] = str(cache_dir())
        if prebuilt := os.environ.get("PODIUM_RUNGUARD"):
            self.env["PODIUM_RUNGUARD"] = prebuilt
        self.started: list[tuple[subprocess.Popen[bytes], Any]] = []

    def start(self, name: str, args: list[str], data_dir: Path,
              env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.root / f"{name}.log"
        handle = log.open("wb")
        proc = subprocess.Popen(
            [_podium(), *args], stdout=handle, stderr=subprocess.STDOUT,
            env={**self.env, "PODIUM_DATA_DIR": str(data_dir), **(env or {})})
        self.started.append((proc, handle))
        return proc, log

    def commands(self, commands: list[list[str]], data_dir: Path) -> list[str]:
        """Run ``podium`` commands side by side; their outputs (RuntimeError on a failure)."""
        running = [(args, subprocess.Popen(
            [_podium(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**self.env, "PODIUM_DATA_DIR": str(data_dir)})) for args in commands]
        outputs = []
        for args, proc in running:
            out, err = proc.communicate(timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"podium {' '.join(args)} failed: {err.strip()}")
            outputs.append(out)
        return outputs

    def stop_all(self) -> None:
        """Workers first (their open long-polls would hold up the server's shutdown)."""
        for proc, handle in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            handle.close()


def _wait_for(check: Callable[[], bool], what: str, timeout: float,
              proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited:\n{log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _write_package(folder: Path, tests: int) -> None:
    (folder / "data" / "secret").mkdir(parents=True)
    (folder / "problem.yaml").write_text("name: Bench echo\n")
    (folder / ".timelimit").write_text("1\n")
    for n in range(1, tests + 1):
        (folder / "data" / "secret" / f"{n:03}.in").write_text(f"{n}\n")
        (folder / "data" / "secret" / f"{n:03}.ans").write_text(f"{n}\n")


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def _setup_contest(url: str, admin_token: str) -> str:
    """Contest, language, contestant and team through the API; the contestant's token."""
    now = datetime.now(timezone.utc)
    with httpx.Client(base_url=url + "/api/v1", timeout=30,
                      headers={"authorization": f"Bearer {admin_token}"}) as api:
        _check(api.post("/contests/", json={
            "slug": CONTEST, "title": "Throughput bench", "visibility": "public",
            "start_at": (now - timedelta(minutes=5)).isoformat(),
            "end_at": (now + timedelta(hours=6)).isoformat()}))
        _check(api.put(f"/contests/{CONTEST}/languages/python3"))
        _check(api.post("/users/", json={"username": "bencher", "password": PASSWORD}))
        _check(api.post(f"/contests/{CONTEST}/teams",
                        json={"name": "Bench team", "members": ["bencher"]}))
    token = _check(httpx.post(url + "/api/v1/auth/token", timeout=30,
                              json={"username": "bencher", "password": PASSWORD}))
    return str(token["token"])


async def _burst(url: str, token: str, count: int, concurrency: int = 32) -> list[int]:
    """Post ``count`` submissions as fast as the server takes them; their ids."""
    body = {"problem": "A", "language": "python3",
            "files": [{"filename": "main.py", "content": SOURCE.decode()}]}
    ids: list[int] = []
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url + "/api/v1", timeout=60,
                                 headers={"authorization": f"Bearer {token}"},
                                 limits=httpx.Limits(max_connections=concurrency)) as api:
        async def one() -> None:
            async with limit:
                ids.append(int(_check(await api.post(f"/contests/{CONTEST}/submissions",
                                                     json=body))["id"]))

        await asyncio.gather(*(one() for _ in range(count)))
    return ids


def _pending(database: Path) -> int:
    """Submissions without a verdict. Read from the SQLite file (WAL: never in the server's
    way) rather than polling the API, which would take CPU from the judging it measures."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        return int(db.execute("SELECT count(*) FROM submissions WHERE verdict IS NULL"
                              ).fetchone()[0])


def _timestamps(database: Path) -> tuple[list[float], float, dict[str, int]]:
    """Submit→verdict seconds of each submission, first submission to last verdict, and
    the count of each verdict, from the server's own timestamps."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = [(datetime.fromisoformat(submitted), datetime.fromisoformat(finished), verdict)
                for submitted, finished, verdict in db.execute(
                    "SELECT s.submitted_at, j.finished_at, j.verdict FROM submissions s "
                    "JOIN judgings j ON j.submission_id = s.id AND j.is_current")]
    latencies = [(finished - submitted).total_seconds() for submitted, finished, _ in rows]
    span = (max(r[1] for r in rows) - min(r[0] for r in rows)).total_seconds() if rows else 0.0
    verdicts: dict[str, int] = {}
    for *_, verdict in rows:
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return latencies, span, verdicts


@contextlib.contextmanager
def _workspace(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        yield Path(tmp)


def run_bench(*, submissions: int = 200, tests: int = 10, workers: int | None = None,
              timeout: float = 1800, workdir: Path | None = None,
              echo: Callable[[str], None] = print) -> BenchResult:
    """Run the whole benchmark (see the module docstring); ``workdir`` keeps the files."""
    workers = workers or os.cpu_count() or 1
    with _workspace(workdir) as root:
        processes = _Processes(root)
        try:
            return _run(root, processes, submissions, tests, workers, timeout, echo)
        finally:
            processes.stop_all()


def _run(root: Path, processes: _Processes, submissions: int, tests: int, workers: int,
         timeout: float, echo: Callable[[str], None]) -> BenchResult:
    data = root / "server"
    processes.commands([["user", "create", "admin", "--admin", "--password", PASSWORD]], data)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server, server_log = processes.start(
        "server", ["serve", "--port", str(port)], data,
        {"PODIUM_EMBEDDED_JUDGES": "0", "PODIUM_LOG_LEVEL": "WARNING"})
    tokens = [out.strip() for out in processes.commands(
        [["judge", "add-host", f"bench-{n}"] for n in range(1, workers + 1)], data)]
    _wait_for(lambda: _healthy(url), "the server", 120, server, server_log)
    admin = _check(httpx.post(url + "/api/v1/auth/token", timeout=30,
                              json={"username": "admin", "password": PASSWORD}))["token"]
    contestant = _setup_contest(url, admin)
    package = root / "package"
    _write_package(package, tests)
    started_workers = [
        processes.start(f"worker-{n}", ["worker", "--server", url, "--token", token,
                                        "--sandbox", "bwrap"], root / f"worker-{n}")
        for n, token in enumerate(tokens, 1)]
    processes.commands([["problem", "import", str(package), "--contest", CONTEST, "--label",
                         "A", "--slug", "bench-echo"]], data)
    pids = []
    for n, (proc, log) in enumerate(started_workers, 1):
        _wait_for(lambda log=log: b"judging for" in log.read_bytes(), f"worker {n}", 120,
                  proc, log)  # type: ignore[misc]
        pids.append(proc)
    echo(f"server {url}, {workers} worker(s) ready; posting {submissions} submissions "
         f"of {tests} tests")
    started = time.monotonic()
    asyncio.run(_burst(url, contestant, submissions))
    submitted = time.monotonic() - started
    deadline = started + timeout
    while (left := _pending(data / "podium.sqlite3")) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} submissions still unjudged after {timeout:.0f} s")
        for proc in pids:
            if proc.poll() is not None:
                raise RuntimeError(f"a worker exited (code {proc.returncode}); see {root}")
        time.sleep(0.25)
    worker_peaks = [peak_rss_kb(proc.pid) for proc in pids]
    server_peak = peak_rss_kb(server.pid)
    worker_cpu = [cpu_seconds(proc.pid) for proc in pids]
    server_cpu = sum(cpu_seconds(server.pid))
    latencies, total, verdicts = _timestamps(data / "podium.sqlite3")
    return BenchResult(submissions=submissions, tests=tests, workers=workers,
                       submit_seconds=submitted, total_seconds=total, latencies=latencies,
                       verdicts=verdicts, worker_peak_kb=worker_peaks,
                       server_peak_kb=server_peak, worker_cpu=worker_cpu,
                       server_cpu=server_cpu)
