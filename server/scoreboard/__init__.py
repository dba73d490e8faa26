"""Scoreboards: standings computed by the scoring plugins, kept in a sorted index.

:mod:`server.scoreboard.index` holds the :class:`~server.scoreboard.index.StandingsIndex`
protocol and its factory; the implementations are in ``index_memory`` and ``index_redis``.
"""

from __future__ import annotations

__all__: list[str] = []
