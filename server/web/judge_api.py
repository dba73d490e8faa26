"""The judge API under ``/api/judge/v1``: what judge hosts speak (they hold no DB credentials).

Every call carries ``Authorization: Bearer <judge host token>``.
"""

from __future__ import annotations

import asyncio
import contextlib

from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_204_NO_CONTENT

from server.actions import judging
from server.blobs import is_hash
from server.judge_protocol import API_PREFIX, Claim, Job, JudgeResult
from server.models import JudgeHost
from server.web.auth import services_of

__all__ = ["judge_router"]


async def current_judge_host(request: Request) -> JudgeHost:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("judge hosts authenticate with 'Authorization: Bearer <token>'")
    host = await judging.judge_host_for_token(services_of(request), token.strip())
    if host is None:
        raise NotAuthorizedException("unknown or disabled judge host token")
    return host


@post("/claim", summary="Claim a submission to judge (long-poll)")
async def claim(request: Request, data: JSONBody[Claim], host: NamedDependency[JudgeHost]) -> Response[Job | None]:
    """Waits for work up to ``timeout`` seconds; stops waiting when the judge host hangs up
    (a claim for a host that is gone would hold its job until the lease runs out)."""
    claiming = asyncio.ensure_future(
        judging.claim_job(services_of(request), host, timeout=data.timeout))
    hang_up = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({claiming, hang_up}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hang_up.cancel()
        if not claiming.done():
            claiming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await claiming
    if claiming.cancelled():
        return Response(None, status_code=HTTP_204_NO_CONTENT)
    job = claiming.result()
    if job is None:
        return Response(None, status_code=HTTP_204_NO_CONTENT)
    return Response(job)


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body is read already: what comes next is the
    disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


@post("/jobs/{job_id:str}/heartbeat", status_code=HTTP_204_NO_CONTENT,
      summary="Keep the lease on a job")
async def heartbeat(request: Request, job_id: FromPath[str], host: NamedDependency[JudgeHost]) -> None:
    await judging.heartbeat_job(services_of(request), host, job_id)


@post("/jobs/{job_id:str}/result", status_code=HTTP_204_NO_CONTENT,
      summary="Post the result of a job (idempotent)")
async def result(request: Request, job_id: FromPath[str], data: JSONBody[JudgeResult],
                 host: NamedDependency[JudgeHost]) -> None:
    await judging.finish_job(services_of(request), host, job_id, data)


@get("/testdata/{digest:str}", summary="Download test data by SHA-256")
async def testdata(request: Request, digest: FromPath[str], host: NamedDependency[JudgeHost]) -> File:
    store = judging.blob_store(services_of(request))
    if not is_hash(digest) or not store.exists(digest):
        raise NotFoundException(f"no test data {digest}")
    return File(path=store.path(digest), filename=digest,
                media_type="application/octet-stream", content_disposition_type="attachment")


judge_router = Router(
    path=API_PREFIX,
    route_handlers=[claim, heartbeat, result, testdata],
    dependencies={"host": Provide(current_judge_host)},
    tags=["judge"],
)
