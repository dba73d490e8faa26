"""Fixtures for the state backends: every test runs against memory and against real Redis.

Redis comes from ``PODIUM_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``). Each test
gets its own key prefix, so parallel runs share one Redis safely; the prefix's keys are
deleted afterwards. An unreachable Redis fails the Redis-backed tests: it never skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["REDIS_URL", "Backend"]

REDIS_URL = os.environ.get("PODIUM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

RedisFactory = Callable[..., Awaitable[Redis]]


@dataclass(frozen=True)
class Backend:
    """Which implementation a parametrized test runs against."""

    name: str
    redis: Redis | None
    prefix: str


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix unique to this test."""
    return f"podium-test:{uuid.uuid4().hex}:"


@pytest.fixture
async def redis_factory(redis_prefix: str) -> AsyncIterator[RedisFactory]:
    """Opens Redis clients (checked with PING); closes them and deletes the prefix's keys."""
    clients: list[Redis] = []

    async def connect(**options: object) -> Redis:
        client = Redis.from_url(REDIS_URL, socket_connect_timeout=2, **options)
        try:
            await client.ping()
        except (RedisError, OSError) as error:
            await client.aclose()
            pytest.fail(
                f"Redis is unreachable at {REDIS_URL} ({error!r}). The Redis backend tests "
                "need a real Redis: start one, or point PODIUM_TEST_REDIS_URL at one.",
                pytrace=False,
            )
        clients.append(client)
        return client

    yield connect

    try:
        if clients:
            cleaner = clients[0]
            keys = [key async for key in cleaner.scan_iter(match=f"{redis_prefix}*", count=1000)]
            if keys:
                await cleaner.delete(*keys)
    finally:
        for client in clients:
            await client.aclose()


@pytest.fixture
async def redis_client(redis_factory: RedisFactory) -> Redis:
    """A client with ``decode_responses=False`` (the backends accept both)."""
    return await redis_factory()


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest, redis_prefix: str) -> Backend:
    """Parametrizes a test over the in-memory and the Redis implementation."""
    if request.param == "memory":
        return Backend("memory", None, redis_prefix)
    return Backend("redis", request.getfixturevalue("redis_client"), redis_prefix)
