"""Helpers shared by the HTTP-layer tests.

Test data goes through ``server.actions`` on the *app's* own services
(``client.app.state.services``), so the app sees every row and every queued job.

Litestar's test client runs the app (its lifespan and every request) on an event loop of its
own, in a portal thread. The app's database pool belongs to that loop: asyncpg connections
cannot be used from the test's loop. :class:`InApp` therefore runs each action on the app's
loop through the client's blocking portal.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, TypeVar

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from server import actions
from server.models import Contest, User, utcnow
from server.services import Services, build_registry
from server.settings import Settings
from tests.factories import World, make_world, solve

__all__ = [
    "API",
    "FrozenWorld",
    "HTML",
    "InApp",
    "auth",
    "csrf_of",
    "form_post",
    "log_in",
    "b64",
    "fast_passwords",
    "frozen_world",
    "plugin_client",
    "services_of",
    "solve_in_app",
    "source",
    "token_for",
    "user_with_token",
    "world_with_tokens",
]

API = "/api/v1"
HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


async def csrf_of(client: AsyncTestClient[Any], path: str = "/login") -> str:
    """The CSRF token a page hands out (its ``<meta name="csrf-token">``); the client keeps
    the matching cookie."""
    import re

    page = await client.get(path, headers=HTML)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


async def form_post(client: AsyncTestClient[Any], path: str, data: dict[str, Any], *,
                    token_from: str = "/login", files: Any = None) -> Any:
    """POST a form the way a browser does: with the page's CSRF token, without following the
    redirect (``response.headers['location']`` tells where it goes)."""
    token = await csrf_of(client, token_from)
    return await client.post(path, data={**data, "_csrf_token": token}, files=files,
                             headers=HTML, follow_redirects=False)


async def log_in(client: AsyncTestClient[Any], username: str, password: str) -> None:
    """Log the client in through the login form (its session cookie is kept)."""
    response = await form_post(client, "/login", {"username": username, "password": password})
    assert response.status_code == 303, response.text[:500]


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: the default ones cost ~0.3 s per user on a slow machine.

    Test modules import this fixture (it is autouse there); hashing, verifying and the
    wrong-password path all still run through argon2.
    """
    from server.actions import users

    monkeypatch.setattr(users, "_hasher",
                        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@asynccontextmanager
async def plugin_client(
    settings: Settings, plugins: dict[str, object], *, base_url: str = "http://testserver.local"
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A test client of an app whose registry also holds these plugins (name -> object)."""
    from server.app import create_app

    registry = build_registry(settings, plugins)
    app = create_app(settings, registry=registry)
    async with AsyncTestClient(app=app, base_url=base_url) as client:
        yield client


T = TypeVar("T")


class InApp:
    """Calls coroutine functions on the app's event loop, with the app's services.

    ``app(fn, *args)`` runs ``fn(*args)`` there; ``app.create_user(...)`` is
    ``actions.create_user(app.services, ...)``.
    """

    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client

    @property
    def services(self) -> Services:
        return self.client.app.state.services  # type: ignore[no-any-return]

    def __call__(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        return self.client.blocking_portal.call(functools.partial(fn, *args, **kwargs))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        action = getattr(actions, name)
        return functools.partial(self, action, self.services)

    def waiting(self) -> int:
        """Jobs waiting on the app's judge queue."""
        return self(self.services.queue.stats).waiting


def services_of(client: AsyncTestClient[Any]) -> Services:
    return client.app.state.services  # type: ignore[no-any-return]


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def source(problem: str = "A", *, language: str = "python3", text: str = "print(1)\n",
           **extra: Any) -> dict[str, Any]:
    """A submission body for the API."""
    return {"problem": problem, "language": language,
            "files": [{"filename": "main.py", "content": text}], **extra}


def token_for(client: AsyncTestClient[Any], user: User) -> str:
    """A bearer token for the user (through the action, without a password round trip)."""
    assert user.id is not None
    return InApp(client).create_api_token(user.id, name="test")  # type: ignore[no-any-return]


def user_with_token(client: AsyncTestClient[Any], username: str, role: str = "contestant",
                    password: str = "a-long-password") -> tuple[User, str]:
    user = InApp(client).create_user(username, password=password, role=role)
    return user, token_for(client, user)


def world_with_tokens(client: AsyncTestClient[Any], **kwargs: Any) -> World:
    """``make_world`` on the app's services; ``world.tokens`` has ``admin``, ``team0``…"""
    app = InApp(client)
    world = app(make_world, app.services, **kwargs)
    world.tokens["admin"] = token_for(client, world.admin)
    for index, user in enumerate(world.users):
        world.tokens[f"team{index}"] = token_for(client, user)
    return world


def solve_in_app(client: AsyncTestClient[Any], world: World, team: int, label: str,
                 verdict: str, minutes: float) -> Any:
    """``tests.factories.solve`` on the app's loop and services."""
    app = InApp(client)
    return app(solve, app.services, world, team, label, verdict, minutes)


class FrozenWorld:
    """A running contest whose scoreboard froze an hour ago.

    Before the freeze team 0 solved A. After the freeze team 1 got A accepted and team 0 got
    B accepted: the public views must show both as pending, the jury view as solved.
    """

    def __init__(self, world: World, freeze_at: datetime) -> None:
        self.world = world
        self.contest: Contest = world.contest
        self.freeze_at = freeze_at


def frozen_world(client: AsyncTestClient[Any], slug: str = "frozen") -> FrozenWorld:
    app = InApp(client)
    start = utcnow().replace(microsecond=0) - timedelta(hours=3)
    freeze_at = start + timedelta(hours=2)  # an hour ago
    admin = app.create_user(f"admin-{slug}", password="admin-password", role="admin")
    contest = app.create_contest(slug=slug, title=f"Contest {slug}", start_at=start,
                                 end_at=start + timedelta(hours=5), freeze_at=freeze_at,
                                 actor=admin)
    for label, points in (("A", 100.0), ("B", 200.0)):
        app.create_problem(slug=f"{slug}-{label.lower()}", title=f"Problem {label}")
        app.add_contest_problem(contest.id, f"{slug}-{label.lower()}", label=label,
                                points=points)
    app.enable_language(contest.id, "python3")
    teams, users = [], []
    for index in range(2):
        user = app.create_user(f"{slug}-user{index}", password="user-password")
        teams.append(app.create_team(contest.id, name=f"{slug} team {index}",
                                     member_ids=[user.id]))
        users.append(user)
    world = World(contest=contest, teams=teams, users=users, admin=admin, start=start)
    world.tokens["admin"] = token_for(client, admin)
    for index, user in enumerate(users):
        world.tokens[f"team{index}"] = token_for(client, user)
    solve_in_app(client, world, 0, "A", "AC", 30)    # before the freeze
    solve_in_app(client, world, 1, "A", "AC", 150)   # after the freeze
    solve_in_app(client, world, 0, "B", "AC", 160)   # after the freeze
    return FrozenWorld(world, freeze_at)
