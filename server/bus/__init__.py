"""The event bus: topics, JSON events, fan-out to every live subscriber.

Two implementations behind one :class:`EventBus` protocol:

- :class:`server.bus.memory.MemoryEventBus` for the embedded mode (one process);
- :class:`server.bus.redis.RedisEventBus` for production (``PUBLISH``/``SUBSCRIBE``, many
  processes).

Delivery is *at most once* and *live only*: a subscriber receives the events published after
its ``async with`` block was entered, in publication order per publisher, and nothing that was
published before or while it was not subscribed. Each subscriber buffers at most
``max_backlog`` events; when a slow consumer lets the buffer fill up, the oldest event is
dropped and :attr:`Subscription.dropped` counts it (a live scoreboard only needs the newest).

Usage::

    bus = make_bus(redis_client_or_None, prefix="podium:")
    await bus.start()
    async with bus.subscribe("scoreboard:1", "clarifications") as events:
        async for topic, event in events:
            ...
    await bus.stop()          # ends every subscription: iterating consumers leave their loop
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_MAX_BACKLOG",
    "Event",
    "EventBus",
    "check_event",
    "check_running",
    "Subscription",
    "make_bus",
]

DEFAULT_MAX_BACKLOG = 1000
"""Events buffered per subscriber before the oldest is dropped."""

Event = tuple[str, dict[str, Any]]
"""What iterating a subscription yields: ``(topic, event)``."""


class Subscription:
    """A live subscription to one or more topics: an async context manager and async iterator.

    Entering the context registers the subscription (once ``__aenter__`` returns, every event
    published afterwards is received); leaving it unregisters. Iterating yields ``(topic,
    event)`` pairs and ends when the subscription is closed — by leaving the context from
    another task, or by :meth:`EventBus.stop`. Events already buffered when it is closed are
    still yielded first, so ending never loses what had arrived. If the transport failed, the
    iteration raises that error after the buffered events.

    Implementations subclass this and provide :meth:`_open` and :meth:`_close`; they feed
    events with :meth:`_push` and end the stream with :meth:`_end`.
    """

    def __init__(self, topics: tuple[str, ...], *, max_backlog: int = DEFAULT_MAX_BACKLOG) -> None:
        if not topics:
            raise ValueError("subscribe() needs at least one topic")
        for topic in topics:
            if not isinstance(topic, str) or not topic:
                raise ValueError(f"a topic must be a non-empty string, not {topic!r}")
        if max_backlog < 1:
            raise ValueError("max_backlog must be at least 1")
        self.topics: frozenset[str] = frozenset(topics)
        self._buffer: deque[Event] = deque(maxlen=max_backlog)
        self._wakeup = asyncio.Event()
        self._state = "new"  # new -> open -> ended
        self._error: BaseException | None = None
        self.dropped = 0
        """How many events were dropped because the buffer was full."""

    # -- context manager -------------------------------------------------------------------

    async def __aenter__(self) -> Subscription:
        if self._state != "new":
            raise RuntimeError("a subscription can be entered only once")
        await self._open()
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end()
        await self._close()

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._state == "new":
            raise RuntimeError("iterate a subscription inside its `async with` block")
        while not self._buffer:
            if self._state == "ended":
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                raise StopAsyncIteration
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._buffer.popleft()

    @property
    def closed(self) -> bool:
        """True once the subscription was closed (its iteration ends after the buffer)."""
        return self._state == "ended"

    # -- for implementations ---------------------------------------------------------------

    def _push(self, topic: str, event: dict[str, Any]) -> None:
        """Buffer one event, dropping the oldest when full. Ignored once ended."""
        if self._state == "ended":
            return
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
        self._buffer.append((topic, event))
        self._wakeup.set()

    def _end(self, error: BaseException | None = None) -> None:
        """Close the stream: the iteration ends (or raises ``error``) after the buffer."""
        if self._state == "ended":
            return
        self._state = "ended"
        self._error = error
        self._wakeup.set()

    async def _open(self) -> None:
        raise NotImplementedError

    async def _close(self) -> None:
        raise NotImplementedError


@runtime_checkable
class EventBus(Protocol):
    """Publish JSON events on topics; fan them out to every subscriber of the topic."""

    async def start(self) -> None:
        """Make the bus usable. Call once before publishing or subscribing."""
        ...

    async def stop(self) -> None:
        """End every subscription (iterating consumers leave their loop) and refuse new use.

        Never hangs on a consumer; safe to call twice. :meth:`start` may be called again.
        """
        ...

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Send ``event`` (a JSON-serialisable dict) to the current subscribers of ``topic``.

        Raises ``TypeError``/``ValueError`` when the event is not JSON-serialisable, and
        ``RuntimeError`` when the bus is not started.
        """
        ...

    def subscribe(self, *topics: str) -> Subscription:
        """A subscription to ``topics``, registered when its ``async with`` block is entered."""
        ...


def check_running(running: bool) -> None:
    """Refuse to publish or subscribe on a bus that is not started."""
    if not running:
        raise RuntimeError("the event bus is not started (call `await bus.start()`)")


def check_event(event: object) -> None:
    """An event must be a JSON object (a dict)."""
    if not isinstance(event, dict):
        raise TypeError(f"an event must be a dict, not {type(event).__name__}")


def make_bus(
    redis: Redis | None,
    prefix: str = "podium:",
    *,
    max_backlog: int = DEFAULT_MAX_BACKLOG,
) -> EventBus:
    """The Redis bus when a client is given, else the in-memory bus.

    The Redis bus uses channels named ``<prefix>bus:<topic>`` and does not close the client.
    """
    if redis is None:
        from server.bus.memory import MemoryEventBus

        return MemoryEventBus(max_backlog=max_backlog)
    from server.bus.redis import RedisEventBus

    return RedisEventBus(redis, prefix, max_backlog=max_backlog)
