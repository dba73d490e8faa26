"""Judge loops inside the web process, so that the one-command install judges by itself.

``podium serve`` starts ``PODIUM_EMBEDDED_JUDGES`` loops (unset: 1 in the embedded mode, 0 in
production, where ``podium worker`` hosts judge). Each loop is the :class:`JudgeWorker` a judge
host runs, speaking the judge API to this very app through an in-memory ASGI transport: no
port, no socket, but the same routes, token check and actions, so the loop never touches the
database or the queue itself. Programs run in the sandbox's child processes; the event loop
only waits for them, and the web app stays responsive.

Each loop is a judge host row ``embedded-<n>``. Its token (stored hashed, like every host's) is
kept in ``<data dir>/judge_tokens.json`` (0600), so a restart finds the same host instead of
registering a new one. A host an administrator disabled stays disabled: its loop does not start.

The sandbox is the first of :data:`judges.sandbox.select.BACKENDS` that works here (bubblewrap
on a laptop). When none works, one warning says that submissions stay queued and how to find
out why; the embedded judge never runs a program unsandboxed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlmodel import select

from server.actions.errors import Conflict
from server.actions.judging import create_judge_host, judge_host_for_token
from server.models import JudgeHost
from server.services import Services
from server.settings import Settings

if TYPE_CHECKING:
    from judges.sandbox.base import Sandbox
    from judges.worker import JudgeWorker

__all__ = ["EmbeddedJudges", "judge_loops"]

log = logging.getLogger("podium.embedded_judge")

HOST_PREFIX = "embedded-"
TOKENS_FILE = "judge_tokens.json"
BASE_URL = "http://podium.embedded"


def judge_loops(settings: Settings) -> int:
    """How many judge loops ``podium serve`` runs in its own process."""
    if settings.embedded_judges is not None:
        return settings.embedded_judges
    return 1 if settings.is_embedded else 0


def _read_tokens(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _save_token(path: Path, name: str, token: str) -> None:
    tokens = _read_tokens(path)  # read again: merge with what another process wrote
    tokens[name] = token
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".judge-tokens-")
    with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
        json.dump(tokens, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


async def _host_token(services: Services, number: int) -> tuple[str, str] | None:
    """(host name, token) of loop ``number``, registering the host the first time; None when
    an administrator disabled it."""
    path = services.settings.data_dir / TOKENS_FILE
    base = f"{HOST_PREFIX}{number}"
    for suffix in range(1, 100):
        name = base if suffix == 1 else f"{base}.{suffix}"
        token = _read_tokens(path).get(name)
        if token is not None and await judge_host_for_token(services, token) is not None:
            return name, token
        async with services.db.session() as session:
            row = (await session.exec(select(JudgeHost).where(JudgeHost.name == name))).first()
        if row is not None and not row.is_active:
            log.warning("judge host %r is disabled: its embedded judge loop does not start",
                        name)
            return None
        if row is not None:
            continue  # registered with a token this data dir lost: take the next name
        try:
            _, token = await create_judge_host(services, name)
        except Conflict:
            continue  # another process registered it just now
        await asyncio.to_thread(_save_token, path, name, token)
        return name, token
    raise RuntimeError(f"no free judge host name {base}.N")


async def _pick_sandbox(data_dir: Path) -> Sandbox | None:
    """The first sandbox backend that works here, or None (after one clear warning)."""
    from judges.sandbox.base import SandboxUnavailable
    from judges.sandbox.select import BACKENDS, choose_sandbox

    reasons = []
    for name in BACKENDS:
        try:
            return await choose_sandbox(name, data_dir)
        except SandboxUnavailable as exc:
            reasons.append(f"{name}: {exc}")
    log.warning(
        "no sandbox works on this host, so the embedded judge is off and submissions stay "
        "queued (%s). Run `podium judge doctor` to see how to fix it, or connect a judge host "
        "with `podium worker`.", "; ".join(reasons))
    return None


class EmbeddedJudges:
    """The judge loops of one web process; :meth:`start` and :meth:`stop` from the lifespan."""

    def __init__(self, app: Any, services: Services, count: int) -> None:
        """``app`` is the ASGI app the loops speak the judge API to (this process's own)."""
        self.app = app
        self.services = services
        self.count = count
        self.hosts: list[str] = []
        self.workers: list[JudgeWorker] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def start(self) -> None:
        if self.count > 0:
            self._task = asyncio.create_task(self._run(), name="podium-embedded-judges")

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the loops finish the submissions they judge (for ``grace_seconds`` at most),
        then cancel them. A submission still being judged then stays judging: it is queued
        again when the server starts next (another host gets it when its lease runs out)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_seconds)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        from judges.worker import JudgeWorker, WorkerError

        settings = self.services.settings
        try:
            sandbox = await _pick_sandbox(settings.data_dir)
            if sandbox is None:
                return
            hosts = [host for n in range(1, self.count + 1)
                     if (host := await _host_token(self.services, n)) is not None]
        except Exception:
            log.exception("the embedded judge could not start; submissions stay queued")
            return
        # The request log middleware logs each judge API call once already; httpx's own
        # INFO line per request would say it twice.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        transport = httpx.ASGITransport(app=self.app)
        clients = []
        for name, token in hosts:
            client = httpx.AsyncClient(transport=transport, base_url=BASE_URL,
                                       headers={"authorization": f"Bearer {token}"},
                                       timeout=httpx.Timeout(90.0))
            clients.append(client)
            self.workers.append(JudgeWorker(
                BASE_URL, token, sandbox=sandbox, registry=self.services.plugins,
                cache_dir=settings.data_dir / "judge-cache", client=client))
            self.hosts.append(name)
        if hosts:
            log.info("embedded judge: %s loop(s) on the %s sandbox (judge hosts %s)",
                     len(hosts), sandbox.name, ", ".join(self.hosts))
        try:
            async with asyncio.TaskGroup() as group:
                for name, worker in zip(self.hosts, self.workers):
                    group.create_task(worker.run_forever(self._stop),
                                      name=f"podium-judge-{name}")
        except* WorkerError as errors:
            log.error("the embedded judge stopped: %s", errors.exceptions[0])
        except* Exception:
            log.exception("the embedded judge stopped; submissions stay queued")
        finally:
            for worker in self.workers:
                await worker.close()  # waits for a result still being posted
            for client in clients:
                await client.aclose()
            if (close := getattr(sandbox, "aclose", None)) is not None:
                await close()
