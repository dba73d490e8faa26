"""In-process event bus for the embedded mode (one process, one event loop)."""

from __future__ import annotations

import json
from typing import Any

from server.bus import DEFAULT_MAX_BACKLOG, Subscription, check_event, check_running

__all__ = ["MemoryEventBus", "MemorySubscription"]


class MemoryEventBus:
    """Fans each event out to the bounded buffer of every subscriber of its topic.

    Events go through a JSON round trip, exactly like on Redis: a non-serialisable event fails
    at :meth:`publish`, and every subscriber gets its own copy (mutating it affects no one).
    """

    def __init__(self, *, max_backlog: int = DEFAULT_MAX_BACKLOG) -> None:
        self._max_backlog = max_backlog
        self._running = False
        self._by_topic: dict[str, set[MemorySubscription]] = {}
        self._subscriptions: set[MemorySubscription] = set()

    async def start(self) -> None:
        """Accept publications and subscriptions."""
        self._running = True

    async def stop(self) -> None:
        """End every subscription; later publications and subscriptions raise."""
        self._running = False
        for subscription in list(self._subscriptions):
            subscription._end()
            self._detach(subscription)

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to the current subscribers of ``topic``."""
        check_running(self._running)
        check_event(event)
        data = json.dumps(event)
        for subscription in tuple(self._by_topic.get(topic, ())):
            subscription._push(topic, json.loads(data))

    def subscribe(self, *topics: str) -> MemorySubscription:
        """A subscription to ``topics``; see :class:`server.bus.Subscription`."""
        return MemorySubscription(self, topics, max_backlog=self._max_backlog)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are currently open."""
        return len(self._subscriptions)

    # -- used by MemorySubscription --------------------------------------------------------

    def _check_running(self) -> None:
        check_running(self._running)

    def _attach(self, subscription: MemorySubscription) -> None:
        self._check_running()
        self._subscriptions.add(subscription)
        for topic in subscription.topics:
            self._by_topic.setdefault(topic, set()).add(subscription)

    def _detach(self, subscription: MemorySubscription) -> None:
        self._subscriptions.discard(subscription)
        for topic in subscription.topics:
            subscribers = self._by_topic.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._by_topic[topic]


class MemorySubscription(Subscription):
    """A subscription of a :class:`MemoryEventBus`."""

    def __init__(
        self, bus: MemoryEventBus, topics: tuple[str, ...], *, max_backlog: int
    ) -> None:
        super().__init__(topics, max_backlog=max_backlog)
        self._bus = bus

    async def _open(self) -> None:
        self._bus._attach(self)

    async def _close(self) -> None:
        self._bus._detach(self)
