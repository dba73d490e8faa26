"""The judge worker: claims jobs over the judge API, judges them in a sandbox, posts results.

It holds no database or Redis credentials. Test data is fetched by content hash into a local
cache and verified. While a job runs, a heartbeat keeps its lease; a worker that dies simply
stops heartbeating, and the server gives the job to another host.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import httpx

from judges.judge import judge
from judges.sandbox.base import Sandbox
from server.judge_protocol import API_PREFIX, Job, JudgeResult
from server.plugins import PluginRegistry

__all__ = ["JudgeWorker", "WorkerError"]

log = logging.getLogger("podium.worker")


class WorkerError(RuntimeError):
    """The server refused us (bad token, incompatible API): retrying will not help."""


class JudgeWorker:
    def __init__(
        self,
        server_url: str,
        token: str,
        *,
        sandbox: Sandbox,
        registry: PluginRegistry,
        cache_dir: Path,
        heartbeat_seconds: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base = server_url.rstrip("/") + API_PREFIX
        self.sandbox = sandbox
        self.registry = registry
        self.cache_dir = cache_dir
        self.heartbeat_seconds = heartbeat_seconds
        self._client = client or httpx.AsyncClient(
            headers={"authorization": f"Bearer {token}"}, timeout=httpx.Timeout(90.0))
        self._own_client = client is None
        self.judged = 0
        self._posting: asyncio.Task[None] | None = None
        self._refused: WorkerError | None = None

    async def close(self) -> None:
        await self.drain()
        if self._own_client:
            await self._client.aclose()

    # -- protocol ---------------------------------------------------------------------------

    async def _post(self, path: str, body: object) -> httpx.Response:
        response = await self._client.post(self.base + path, json=body)
        if response.status_code in (401, 403):
            raise WorkerError(f"the server refused this judge host: {response.text}")
        return response

    async def claim(self, timeout: float) -> Job | None:
        response = await self._post("/claim", {"timeout": timeout})
        if response.status_code == 204:
            return None
        response.raise_for_status()
        return Job.model_validate(response.json())

    async def read_blob(self, digest: str) -> bytes:
        """Test data by SHA-256, from the cache or downloaded (and verified) once."""
        path = self.cache_dir / digest[:2] / digest[2:]
        if path.is_file():
            return path.read_bytes()
        response = await self._client.get(f"{self.base}/testdata/{digest}")
        response.raise_for_status()
        data = response.content
        if hashlib.sha256(data).hexdigest() != digest:
            raise RuntimeError(f"test data {digest} arrived corrupted")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".blob-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        return data

    async def _heartbeat(self, job: Job) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                response = await self._post(f"/jobs/{job.job_id}/heartbeat", {})
                if response.status_code == 409:
                    log.warning("lost the lease on job %s", job.job_id)
                    return
            except httpx.HTTPError as exc:
                log.warning("heartbeat failed: %s", exc)

    async def post_result(self, job: Job, result: JudgeResult) -> None:
        for delay in (0.5, 1, 2, 4, 8, 16):
            try:
                response = await self._post(f"/jobs/{job.job_id}/result",
                                            result.model_dump(mode="json"))
                if response.status_code < 500:
                    response.raise_for_status()
                    return
            except httpx.TransportError as exc:
                log.warning("posting the result failed (%s); retrying", exc)
            await asyncio.sleep(delay)
        raise RuntimeError(f"could not post the result of job {job.job_id}")

    # -- loop -------------------------------------------------------------------------------

    async def judge_job(self, job: Job) -> JudgeResult:
        heart = asyncio.create_task(self._heartbeat(job))
        try:
            return await judge(job, sandbox=self.sandbox,
                               languages=self.registry.languages.items,
                               checkers=self.registry.checkers.items,
                               read_blob=self.read_blob)
        finally:
            heart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heart

    async def _claim_unless(self, stop: asyncio.Event | None, timeout: float) -> Job | None:
        """Claim, but give up at once when ``stop`` is set while waiting (a job the server
        handed out just then goes to another host when its lease runs out)."""
        if stop is None:
            return await self.claim(timeout)
        claim = asyncio.ensure_future(self.claim(timeout))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({claim, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not claim.done():
                claim.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claim
        return claim.result() if not claim.cancelled() else None

    async def run_once(self, timeout: float = 20.0, stop: asyncio.Event | None = None, *,
                       post_behind: bool = False) -> bool:
        """Claim, judge and report one job; False when none came within ``timeout`` (or
        ``stop`` was set while waiting for one). A claimed job is always finished.

        ``post_behind``: post the result in the background while the next job is claimed
        and judged, so the server's work on a verdict does not stand between two jobs (one
        result in flight at most; :meth:`drain` waits for it)."""
        if self._refused is not None:
            raise self._refused
        job = await self._claim_unless(stop, timeout)
        if job is None:
            return False
        log.info("judging submission %s (job %s)", job.submission_id, job.job_id)
        result = await self.judge_job(job)
        await self.drain()
        if post_behind:
            self._posting = asyncio.create_task(self._report_behind(job, result))
        else:
            await self._report(job, result)
        return True

    async def _report(self, job: Job, result: JudgeResult) -> None:
        await self.post_result(job, result)
        self.judged += 1
        log.info("submission %s: %s", job.submission_id, result.verdict.value)

    async def _report_behind(self, job: Job, result: JudgeResult) -> None:
        try:
            await self._report(job, result)
        except WorkerError as exc:
            self._refused = exc  # the loop raises it before its next claim
        except (httpx.HTTPError, RuntimeError) as exc:
            log.error("could not post the result of submission %s (%s); the server gives "
                      "job %s to another host when its lease runs out", job.submission_id,
                      exc, job.job_id)

    async def drain(self) -> None:
        """Wait for the result being posted in the background, if any."""
        posting, self._posting = self._posting, None
        if posting is not None:
            await posting

    async def run_forever(self, stop: asyncio.Event) -> None:
        backoff = 1.0
        while not stop.is_set():
            try:
                await self.run_once(stop=stop, post_behind=True)
                backoff = 1.0
            except WorkerError:
                raise
            except (httpx.HTTPError, RuntimeError) as exc:
                log.warning("judge loop: %s; retrying in %.0f s", exc, backoff)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)
        await self.drain()
        if self._refused is not None:
            raise self._refused
