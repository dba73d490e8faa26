"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE

from server.web.auth import services_of

__all__ = ["healthz", "readyz"]


@get("/healthz", summary="Liveness: the process answers", tags=["health"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", summary="Readiness: database and (when configured) Redis answer",
     tags=["health"])
async def readyz(request: Request) -> Response[dict[str, Any]]:
    try:
        checks = await services_of(request).ready()
    except Exception as exc:
        return Response({"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"},
                        status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ok", **checks})
