"""Redis event bus for production: ``PUBLISH``/``SUBSCRIBE`` shared by every process.

Each subscription owns one pub/sub connection (taken from, and given back to, the client's
pool) and a reader task that moves messages into the subscription's bounded buffer, so a slow
consumer never makes Redis buffer for it. The client may be created with
``decode_responses`` True or False; the bus works with both and never closes it.

Redis pub/sub is at most once: events published while a subscriber's connection is down are
lost for it. redis-py reconnects and resubscribes on transient errors; a lasting failure ends
the subscription, whose iteration then raises the error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from server.bus import DEFAULT_MAX_BACKLOG, Subscription, check_event, check_running

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import PubSub

__all__ = ["RedisEventBus", "RedisSubscription"]

logger = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 10.0
"""Seconds to wait for Redis to confirm a subscription."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisEventBus:
    """Publishes on channel ``<prefix>bus:<topic>``; see :mod:`server.bus` for the semantics."""

    def __init__(
        self, redis: Redis, prefix: str = "podium:", *, max_backlog: int = DEFAULT_MAX_BACKLOG
    ) -> None:
        self._redis = redis
        self._channel_prefix = f"{prefix}bus:"
        self._max_backlog = max_backlog
        self._running = False
        self._subscriptions: set[RedisSubscription] = set()

    def channel(self, topic: str) -> str:
        """The Redis channel that carries ``topic``."""
        return self._channel_prefix + topic

    async def start(self) -> None:
        """Check that Redis answers, then accept publications and subscriptions."""
        await self._redis.ping()
        self._running = True

    async def stop(self) -> None:
        """End every subscription and give their connections back; never waits on consumers."""
        self._running = False
        subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription._end()
        await asyncio.gather(*(s._close() for s in subscriptions), return_exceptions=True)

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """``PUBLISH`` the JSON-encoded ``event`` on the topic's channel."""
        check_running(self._running)
        check_event(event)
        await self._redis.publish(self.channel(topic), json.dumps(event))

    def subscribe(self, *topics: str) -> RedisSubscription:
        """A subscription to ``topics``; see :class:`server.bus.Subscription`."""
        return RedisSubscription(self, topics, max_backlog=self._max_backlog)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions of this bus instance are currently open."""
        return len(self._subscriptions)

    def _check_running(self) -> None:
        check_running(self._running)


class RedisSubscription(Subscription):
    """A subscription of a :class:`RedisEventBus`: one pub/sub connection and a reader task."""

    def __init__(self, bus: RedisEventBus, topics: tuple[str, ...], *, max_backlog: int) -> None:
        super().__init__(topics, max_backlog=max_backlog)
        self._bus = bus
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    async def _open(self) -> None:
        self._bus._check_running()
        channels = {self._bus.channel(topic) for topic in self.topics}
        pubsub = self._bus._redis.pubsub()
        self._pubsub = pubsub
        try:
            await pubsub.subscribe(*channels)
            # SUBSCRIBE is confirmed per channel; only once every confirmation arrived is it
            # certain that a PUBLISH from another connection reaches us.
            unconfirmed = set(channels)
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                while unconfirmed:
                    message = await pubsub.get_message(timeout=None)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        unconfirmed.discard(_text(message["channel"]))
                    else:
                        self._deliver(message)
            self._bus._check_running()  # stop() may have run meanwhile
        except BaseException:
            self._pubsub = None
            await pubsub.aclose()
            raise
        self._bus._subscriptions.add(self)
        self._reader = asyncio.create_task(self._read(pubsub), name="podium-bus-reader")

    async def _close(self) -> None:
        self._bus._subscriptions.discard(self)
        reader, self._reader = self._reader, None
        pubsub, self._pubsub = self._pubsub, None
        try:
            if reader is not None:
                reader.cancel()
                await asyncio.wait([reader])  # never raises the reader's CancelledError
        finally:
            if pubsub is not None:
                await pubsub.aclose()

    async def _read(self, pubsub: PubSub) -> None:
        try:
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                if message is not None:
                    self._deliver(message)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the connection is gone for good: tell the consumer
            logger.warning("event bus subscription %s failed: %r", sorted(self.topics), error)
            self._end(error)

    def _deliver(self, message: dict[str, Any]) -> None:
        if message["type"] != "message":
            return
        channel = _text(message["channel"])
        topic = channel[len(self._bus._channel_prefix) :]
        try:
            event = json.loads(message["data"])
        except ValueError:
            logger.warning("event bus: dropped a non-JSON message on %s", channel)
            return
        self._push(topic, event)
