"""The Litestar application factory: ``server.app:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.di import Provide
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis

from server.actions.judging import requeue_unjudged
from server.actions.standings import refresh_live_boundaries
from server.models import utcnow
from server.embedded_judges import EmbeddedJudges, judge_loops
from server.errors import ActionError
from server.logs import RequestLogMiddleware, configure_logging
from server.plugins import PluginRegistry
from server.services import Services, build_registry
from server.redis_client import redis_client
from server.settings import Settings, load_settings
from server.themes import ThemeEnvironments
from server.web.api import api_router
from server.web.health import healthz, readyz
from server.web.judge_api import judge_router
from server.web.live import scoreboard_socket_html, scoreboard_socket_json
from server.web.fastpath import ScoreboardFastPath
from server.web.locale import LocaleMiddleware
from server.web.reads import SharedReadsMiddleware
from server.web.sessions import LazySessionConfig
from server.web.pages import page_router, render_error, template_filters
from server.web import clarifications, contestant
from server.web.account import account_router
from server.web.admin import admin_router
from server.web.auth import current_page_user

__all__ = ["create_app"]

log = logging.getLogger("podium.app")

LIVE_BACKLOG = 64
"""Live-scoreboard messages buffered per socket; older ones drop (the socket then resyncs)."""


def _version() -> str:
    try:
        return version("podium")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", ""
    )


def _action_error(request: Request, exc: ActionError) -> Response[Any]:
    if _wants_json(request):
        body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status_code=exc.status_code)
    return render_error(request, exc.status_code, exc.message)


def _http_error(request: Request, exc: HTTPException) -> Response[Any]:
    if _wants_json(request):
        body: dict[str, Any] = {"status_code": exc.status_code, "detail": exc.detail}
        if exc.extra:
            body["extra"] = exc.extra
        return Response(body, status_code=exc.status_code, headers=exc.headers)
    response = render_error(request, exc.status_code, exc.detail)
    response.headers.update(exc.headers or {})
    return response


def _unexpected_error(request: Request, exc: Exception) -> Response[Any]:
    """Any other exception: log its traceback (Litestar logs nothing with
    ``logging_config=None``) and answer a plain 500 that tells nothing of the internals."""
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    message = "Internal server error: the error was logged."
    if _wants_json(request):
        return Response({"status_code": 500, "detail": message}, status_code=500)
    try:
        return render_error(request, 500, message)
    except Exception:  # the error page itself failed (a broken theme, say)
        log.exception("rendering the error page failed")
        return Response(message, media_type="text/plain; charset=utf-8", status_code=500)


FREEZE_HEAP_ENV = "PODIUM_FREEZE_HEAP"
"""Set by ``podium serve`` for its processes: see :func:`freeze_startup_heap`."""


def freeze_startup_heap() -> None:
    """Move what startup allocated (modules, models, templates, plugins: ~170,000 objects)
    out of the cyclic garbage collector's reach (``gc.freeze``). Each full collection walked
    all of it again: 130-280 ms stalls of a busy web process under bench_pages, 50-90 ms after.
    Frozen objects are still freed by reference counting."""
    gc.collect()
    gc.freeze()


def _dump_tasks() -> None:
    """Log the stack of every asyncio task of this process (``kill -USR1 PID``): what a
    process that does not finish its shutdown, or seems stuck, is waiting for."""
    tasks = asyncio.all_tasks()
    lines = [f"{len(tasks)} asyncio tasks:"]
    for task in tasks:
        out = io.StringIO()
        task.print_stack(limit=12, file=out)
        lines.append(out.getvalue().rstrip())
    log.warning("\n".join(lines))


def _dump_tasks_on_sigusr1() -> bool:
    """SIGUSR1 logs every task's stack (for diagnosing a hang), where the loop can take
    signal handlers (the main thread of a process: ``podium serve``). True if installed."""
    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, _dump_tasks)
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):
        return False
    return True


async def _reclaim_forever(services: Services) -> None:
    """Give the jobs of silent judge hosts to others (every web process may do it)."""
    lease = services.settings.judge_lease_seconds
    while True:
        await asyncio.sleep(min(5.0, lease / 4))
        try:
            count = await services.queue.reclaim(lease)
            if count:
                log.warning("reclaimed %s job(s) from silent judge hosts", count)
        except Exception:
            log.exception("reclaiming judge jobs failed")


async def _clock_forever(services: Services) -> None:
    """Push the boards of contests that start, freeze, end or thaw (no verdict announces it)."""
    since = utcnow()
    while True:
        await asyncio.sleep(1.0)
        now = utcnow()
        try:
            await refresh_live_boundaries(services, since, now)
        except Exception:
            log.exception("refreshing live scoreboards at a contest boundary failed")
        since = now


def _stores(settings: Settings, redis: Redis | None) -> StoreRegistry:
    if redis is not None:
        root = RedisStore(redis, namespace=settings.redis_prefix.rstrip(":"))

        def factory(name: str) -> Store:
            return root.with_namespace(name)
    else:
        def factory(name: str) -> Store:
            return MemoryStore()

    return StoreRegistry(default_factory=factory)


def create_app(
    settings: Settings | None = None, *, registry: PluginRegistry | None = None
) -> Litestar:
    """Build the app. Configuration and plugin errors surface here, before serving."""
    settings = settings or load_settings()
    settings.check()
    configure_logging(settings.log_level, json=settings.log_json)
    registry = registry or build_registry(settings)
    themes = ThemeEnvironments(registry, filters=template_filters(),
                               auto_reload=settings.debug)
    # The sessions' and the channels' Redis clients; the lifespan closes them.
    channels_redis = redis_client(settings.redis_url) if settings.redis_url else None
    stores_redis = redis_client(settings.redis_url) if settings.redis_url else None
    backend: ChannelsBackend = (
        RedisChannelsPubSubBackend(redis=channels_redis, key_prefix=settings.redis_prefix)
        if channels_redis is not None else MemoryChannelsBackend())
    channels = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True,
                              subscriber_max_backlog=LIVE_BACKLOG,
                              subscriber_backlog_strategy="dropleft")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await Services.create(settings, registry=registry, publish=backend.publish)
        app.state.services = services
        if settings.is_embedded:
            # The memory queue died with the previous process: queue what is unjudged again.
            await requeue_unjudged(services)
        reclaimer = asyncio.create_task(_reclaim_forever(services), name="podium-reclaim")
        clock = asyncio.create_task(_clock_forever(services), name="podium-clock")
        judges = EmbeddedJudges(app, services, judge_loops(settings))
        judges.start()
        dumping = _dump_tasks_on_sigusr1()
        if os.environ.get(FREEZE_HEAP_ENV) == "1":
            freeze_startup_heap()
        try:
            yield
        finally:
            await judges.stop()
            for task in (reclaimer, clock):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await services.close()
            for client in (channels_redis, stores_redis):
                if client is not None:
                    await client.aclose()
            if dumping:
                asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)

    plugin_routes: list[Any] = [
        handler for result in registry.pm.hook.podium_routes() for handler in result or ()
    ]
    static_routers = [
        create_static_files_router(path=f"/static/{name}", directories=[folder],
                                   name=f"static-{name}", include_in_schema=False)
        for name, folder in themes.static_dirs().items()
    ]
    contest_pages = Router(
        path="/", route_handlers=[*contestant.route_handlers, *clarifications.route_handlers],
        dependencies={"user": Provide(current_page_user)}, include_in_schema=False)
    app = Litestar(
        route_handlers=[healthz, readyz, api_router, judge_router, page_router, account_router,
                        admin_router, contest_pages,
                        scoreboard_socket_html, scoreboard_socket_json, *static_routers,
                        *plugin_routes],
        plugins=[channels],
        lifespan=[lifespan],
        stores=_stores(settings, stores_redis),
        middleware=[
            DefineMiddleware(ScoreboardFastPath),
            DefineMiddleware(RequestLogMiddleware),
            DefineMiddleware(SharedReadsMiddleware),
            LazySessionConfig(store="sessions", secure=settings.secure_cookies,
                              samesite="lax").middleware,
            DefineMiddleware(LocaleMiddleware),  # inside the session's: it reads the session
        ],
        csrf_config=CSRFConfig(secret=settings.secret, exclude=["^/api/"],
                               cookie_samesite="lax", cookie_secure=settings.secure_cookies),
        exception_handlers={ActionError: _action_error, HTTPException: _http_error,
                            Exception: _unexpected_error},
        openapi_config=OpenAPIConfig(title="Podium", version=_version(), path="/schema"),
        debug=settings.debug,
        logging_config=None,
    )
    app.state.settings = settings
    app.state.themes = themes
    app.state.plugins = registry
    return app
