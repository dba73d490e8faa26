"""The event bus, against the memory and the Redis implementation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.bus import Event, EventBus, Subscription, make_bus
from server.bus.memory import MemoryEventBus
from server.bus.redis import RedisEventBus
from tests.backends.conftest import REDIS_URL, Backend, RedisFactory

__all__: list[str] = []

QUIET = 0.15
"""Seconds of silence taken as "nothing more arrives"."""


@pytest.fixture
async def bus(backend: Backend) -> AsyncIterator[EventBus]:
    bus = make_bus(backend.redis, backend.prefix)
    await bus.start()
    yield bus
    await bus.stop()


async def next_event(subscription: Subscription, timeout: float = 2.0) -> Event:
    return await asyncio.wait_for(anext(subscription), timeout)


async def assert_silent(subscription: Subscription) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(subscription), QUIET)


def test_factory_picks_the_implementation(redis_client: object) -> None:
    assert isinstance(make_bus(None, "x:"), MemoryEventBus)
    assert isinstance(make_bus(redis_client, "x:"), RedisEventBus)  # type: ignore[arg-type]
    assert isinstance(make_bus(None, "x:"), EventBus)


async def test_fan_out_to_two_subscribers(bus: EventBus) -> None:
    async with bus.subscribe("board") as first, bus.subscribe("board") as second:
        for n in range(3):
            await bus.publish("board", {"n": n})
        for subscription in (first, second):
            assert [await next_event(subscription) for _ in range(3)] == [
                ("board", {"n": 0}),
                ("board", {"n": 1}),
                ("board", {"n": 2}),
            ]
            await assert_silent(subscription)


async def test_only_events_published_after_subscribing(bus: EventBus) -> None:
    await bus.publish("board", {"n": "before"})
    async with bus.subscribe("board") as subscription:
        await bus.publish("board", {"n": "after"})
        assert await next_event(subscription) == ("board", {"n": "after"})
        await assert_silent(subscription)


async def test_no_delivery_for_other_topics(bus: EventBus) -> None:
    async with bus.subscribe("a") as subscription:
        await bus.publish("b", {"n": 1})
        await bus.publish("a:x", {"n": 2})
        await bus.publish("a", {"n": 3})
        assert await next_event(subscription) == ("a", {"n": 3})
        await assert_silent(subscription)


async def test_one_subscription_to_several_topics(bus: EventBus) -> None:
    async with bus.subscribe("a", "b") as subscription:
        await bus.publish("b", {"n": 1})
        await bus.publish("c", {"n": 2})
        await bus.publish("a", {"n": 3})
        assert await next_event(subscription) == ("b", {"n": 1})
        assert await next_event(subscription) == ("a", {"n": 3})
        await assert_silent(subscription)


async def test_events_are_json_copies(bus: EventBus) -> None:
    event = {"team": 7, "cells": [{"solved": True, "time": 1.5}], "name": "Ünïcode", "x": None}
    async with bus.subscribe("t") as first, bus.subscribe("t") as second:
        await bus.publish("t", event)
        _, got = await next_event(first)
        assert got == event
        got["cells"].clear()
        assert (await next_event(second))[1] == event
    with pytest.raises(TypeError):
        await bus.publish("t", {"when": object()})
    with pytest.raises(TypeError):
        await bus.publish("t", ["not", "a", "dict"])  # type: ignore[arg-type]


async def test_stop_ends_an_iterating_subscriber(bus: EventBus) -> None:
    received: list[Event] = []
    subscribed = asyncio.Event()

    async def consume() -> str:
        async with bus.subscribe("t") as subscription:
            subscribed.set()
            async for item in subscription:
                received.append(item)
        return "ended"

    task = asyncio.create_task(consume())
    await asyncio.wait_for(subscribed.wait(), 2)
    await bus.publish("t", {"n": 1})
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await asyncio.wait_for(bus.stop(), 2)
    assert await asyncio.wait_for(task, 2) == "ended"
    assert time.monotonic() - started < 1.0
    assert received == [("t", {"n": 1})]
    with pytest.raises(RuntimeError):
        await bus.publish("t", {"n": 2})
    await bus.stop()  # twice is fine


async def test_stop_then_start_again(bus: EventBus) -> None:
    await bus.stop()
    with pytest.raises(RuntimeError):
        async with bus.subscribe("t"):
            pass
    await bus.start()
    async with bus.subscribe("t") as subscription:
        await bus.publish("t", {"n": 1})
        assert await next_event(subscription) == ("t", {"n": 1})


async def test_leaving_the_block_unsubscribes(backend: Backend, bus: EventBus) -> None:
    async with bus.subscribe("t") as subscription:
        assert bus.subscriber_count == 1  # type: ignore[attr-defined]
    assert subscription.closed
    assert bus.subscriber_count == 0  # type: ignore[attr-defined]
    with pytest.raises(StopAsyncIteration):
        await anext(subscription)
    if backend.redis is not None:
        channel = f"{backend.prefix}bus:t"
        assert await backend.redis.pubsub_numsub(channel) == [(channel.encode(), 0)]
    await bus.publish("t", {"n": 1})  # nobody listens: no error


async def test_a_subscription_is_entered_once_and_needs_topics(bus: EventBus) -> None:
    with pytest.raises(ValueError):
        bus.subscribe()
    with pytest.raises(ValueError):
        bus.subscribe("")
    subscription = bus.subscribe("t")
    with pytest.raises(RuntimeError):
        await anext(subscription)
    async with subscription:
        pass
    with pytest.raises(RuntimeError):
        async with subscription:
            pass


async def test_slow_subscriber_drops_the_oldest(backend: Backend) -> None:
    bus = make_bus(backend.redis, backend.prefix, max_backlog=3)
    await bus.start()
    try:
        async with bus.subscribe("t") as subscription:
            for n in range(5):
                await bus.publish("t", {"n": n})
            for _ in range(200):  # Redis delivers through a reader task
                if subscription.dropped == 2:
                    break
                await asyncio.sleep(0.01)
            assert subscription.dropped == 2
            assert [(await next_event(subscription))[1]["n"] for _ in range(3)] == [2, 3, 4]
            await assert_silent(subscription)
    finally:
        await bus.stop()


async def test_redis_delivers_across_instances_and_clients(
    redis_client: object, redis_factory: RedisFactory, redis_prefix: str
) -> None:
    other_client = await redis_factory()
    listener = RedisEventBus(redis_client, redis_prefix)  # type: ignore[arg-type]
    publisher = RedisEventBus(other_client, redis_prefix)
    stranger = RedisEventBus(other_client, redis_prefix + "other:")
    for bus in (listener, publisher, stranger):
        await bus.start()
    try:
        async with listener.subscribe("board") as subscription:
            await stranger.publish("board", {"from": "another installation"})
            await publisher.publish("board", {"from": "publisher"})
            assert await next_event(subscription) == ("board", {"from": "publisher"})
            await assert_silent(subscription)
    finally:
        for bus in (listener, publisher, stranger):
            await bus.stop()


async def test_redis_delivers_from_another_process(
    redis_client: object, redis_prefix: str
) -> None:
    bus = RedisEventBus(redis_client, redis_prefix)  # type: ignore[arg-type]
    await bus.start()
    script = (
        "import asyncio, sys\n"
        "from redis.asyncio import Redis\n"
        "from server.bus.redis import RedisEventBus\n"
        "async def main():\n"
        "    client = Redis.from_url(sys.argv[1])\n"
        "    bus = RedisEventBus(client, sys.argv[2])\n"
        "    await bus.start()\n"
        "    await bus.publish('board', {'pid': 'child'})\n"
        "    await bus.stop()\n"
        "    await client.aclose()\n"
        "asyncio.run(main())\n"
    )
    try:
        async with bus.subscribe("board") as subscription:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", script, REDIS_URL, redis_prefix,
                cwd=Path(__file__).resolve().parents[2],
                stderr=subprocess.PIPE,
            )
            _, stderr = await asyncio.wait_for(process.communicate(), 20)
            assert process.returncode == 0, stderr.decode()
            assert await next_event(subscription, 5) == ("board", {"pid": "child"})
    finally:
        await bus.stop()


async def test_redis_bus_with_decoded_responses(
    redis_factory: RedisFactory, redis_prefix: str
) -> None:
    client = await redis_factory(decode_responses=True)
    bus = RedisEventBus(client, redis_prefix)
    await bus.start()
    try:
        async with bus.subscribe("t", "u") as subscription:
            await bus.publish("u", {"ok": True})
            assert await next_event(subscription) == ("u", {"ok": True})
    finally:
        await bus.stop()
    assert await client.ping()  # the bus did not close the client
