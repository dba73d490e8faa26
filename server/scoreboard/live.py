"""Live scoreboards: a change is rendered once, then fanned out to every socket.

For each contest and view (``public``: the freeze-aware board everyone may see; ``jury``: the
live board) the *published state* is kept: a version number, the board's head (problems,
frozen flag, reveal progress) and, per team, its position, its row as JSON and its row as an
HTML ``<tr>``. :meth:`LiveBoards.refresh` builds the board from the database, compares it with
the published state, renders only the rows that differ, stores the new state and publishes one
message per view and format on the channels (Litestar channels: the Redis pub/sub backend in
production, the memory backend in the embedded mode):

- ``html``: ``hx-swap-oob`` fragments for the HTMX WebSocket extension (changed rows replace
  themselves, new rows are appended, removed rows deleted; the page's script orders rows by
  their ``data-pos``);
- ``json``: a delta ``{"type": "delta", "version", "base", "rows", "removed"}`` for API clients.

When the head changes (a problem is added, the board freezes or thaws), the message is a full
snapshot instead. Every message starts with a header line ``"<base> <version>\\n"`` (``base``
-1: a snapshot) so that each socket can detect a gap without parsing the body: a socket that
missed a message (its backlog dropped the oldest) gets a snapshot built from the stored state —
joined from the stored rows, never rendered per socket.

Several web processes share the state through Redis: refreshes of one contest are serialised by
a Redis lock, so versions grow by one per published change everywhere; each process keeps a
parsed copy and reloads it only when the stored version moved. In the embedded mode the state
lives in memory. Nothing here is the source of truth: a lost state is rebuilt by the next
refresh (the version keeps growing, so clients resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from markupsafe import Markup

from server import i18n

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from server.components import ProblemInfo, RowScore, StandingRow
    from server.models import Contest
    from server.scoreboard.engine import Board
    from server.scoreboard.team_details import TeamDetails
    from server.themes import ThemeEnvironments

__all__ = [
    "FORMATS",
    "VIEWS",
    "LiveBoards",
    "LiveState",
    "MemoryLiveStore",
    "PartialRows",
    "RedisLiveStore",
    "ViewRows",
    "board_rows",
    "parse_header",
]

log = logging.getLogger("podium.live")

VIEWS = ("public", "jury")
FORMATS = ("html", "json")
SNAPSHOT_BASE = -1
POS, RANK = "\x00P\x00", "\x00R\x00"
"""Placeholders in a stored row's HTML: a row whose place changes but whose content does not
is never rendered again; its position and rank are filled in when it is sent."""
_PLACE = ("pos", "rank")


def fill(html: str, row: dict[str, Any]) -> str:
    """A stored row's HTML with its current position and rank."""
    return html.replace(POS, str(row["pos"]), 1).replace(RANK, str(row["rank"]), 1)


def _content(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _PLACE}


_NO_DETAILS: dict[str, Any] = {"groups": [], "affiliation": ""}


def _merge(old: dict[int, dict[str, Any]], patch: dict[int, dict[str, Any] | None],
           details: dict[int, dict[str, Any]],
           sort_key: Callable[[RowScore], tuple[float, ...]], dense: bool
           ) -> tuple[dict[int, dict[str, Any]], set[int]]:
    """The published rows with the patched ones put in (None: removed), the details brought
    up to date, ordered and ranked as :func:`server.scoreboard.engine.board` orders them (sort
    key, name, id). Returns the rows and the teams whose content may have changed."""
    from server.components import RowScore

    rows = {}
    touched = set(patch)
    for team_id, row in old.items():
        if team_id in patch:
            continue
        info = details.get(team_id, _NO_DETAILS)
        if row["groups"] != info["groups"] or row["affiliation"] != info["affiliation"]:
            row = {**row, **info}
            touched.add(team_id)
        rows[team_id] = row
    rows.update({team_id: row for team_id, row in patch.items() if row is not None})
    keyed = sorted(
        (sort_key(RowScore(points=row["points"], solved=row["solved"], penalty=row["penalty"],
                           last_time=row["last_time"])), row["team"].lower(), team_id)
        for team_id, row in rows.items())
    out: dict[int, dict[str, Any]] = {}
    previous: tuple[float, ...] | None = None
    rank = 0
    for pos, (key, _, team_id) in enumerate(keyed, start=1):
        if key != previous:
            rank = rank + 1 if dense else pos
            previous = key
        row = rows[team_id]
        if row["pos"] != pos or row["rank"] != rank:
            row = {**row, "pos": pos, "rank": rank}
        out[team_id] = row
    return out, touched

Publisher = Callable[[bytes, list[str]], Awaitable[None]]
BoardSource = Callable[[int], Awaitable["tuple[Contest, dict[str, Board | None]] | None"]]
"""``source(contest_id)``: the contest as stored now and the board of each view (None when the
contest is gone; a view's board is None when its scoring rule is unavailable)."""


@dataclass
class ViewRows:
    """One view's new rows for some teams (a partial refresh)."""

    problems: list[ProblemInfo]
    frozen: bool
    time_column: str
    rows: dict[int, StandingRow | None]
    """team id -> its row (rank not set), None: the team has no row any more."""


@dataclass
class PartialRows:
    """What a partial refresh needs: the contest as stored now, each view's changed rows, and
    how the contest's rule orders rows."""

    contest: Contest
    views: dict[str, ViewRows]
    sort_key: Callable[[RowScore], tuple[float, ...]]
    dense_ranks: bool


PartialSource = Callable[[int, set[int], dict[str, "LiveState"]],
                         Awaitable["PartialRows | None"]]
"""``partial(contest_id, team_ids, published)``: the rows of these teams (and of any other team
whose row they change, such as a first-to-solve mark moving) in each view, given the published
states; None when only a full build will do (the rule is unavailable, a reveal runs, …)."""
DetailsSource = Callable[[int], Awaitable["TeamDetails"]]
"""``details(contest_id)``: the teams' public groups and affiliations (see
:mod:`server.scoreboard.team_details`)."""


def parse_header(message: bytes) -> tuple[int, int, bytes]:
    """``(base, version, body)`` of a channel message."""
    header, _, body = message.partition(b"\n")
    base, version = header.split(b" ", 1)
    return int(base), int(version), body


def board_rows(board: Board, details: TeamDetails | None = None
               ) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The board's head and its rows as JSON-able dicts (rows keyed by team id, with ``pos``).

    ``details`` (:func:`server.scoreboard.team_details.team_details`) adds the public groups
    to the head (``groups``: the spectators' filter) and each row's ``groups`` (ids) and
    ``affiliation``."""
    data = board.as_dict()
    rows = data.pop("rows")
    contest = board.contest
    catalog, teams = details if details is not None else ([], {})
    head = {**data, "reveal": getattr(board, "reveal", None), "empty": not rows,
            # What pages and the read fast path depend on: a change bumps the version.
            "title": contest.title, "visibility": contest.visibility, "theme": contest.theme,
            "groups": catalog}
    out: dict[int, dict[str, Any]] = {}
    none: dict[str, Any] = {"groups": [], "affiliation": ""}
    for pos, row in enumerate(rows, start=1):  # type: ignore[arg-type]
        out[row["team_id"]] = {"pos": pos, **row, **teams.get(row["team_id"], none)}
    return head, out


#: A cell's fields at their untouched value: the JSON formats leave them out.
CELL_DEFAULTS: dict[str, Any] = {"attempts": 0, "pending": 0, "solved": False, "time": None,
                                 "points": 0, "penalty": 0, "first_to_solve": False}


def api_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the JSON formats (API snapshot and deltas) give it: each cell has its
    ``problem_id`` and only the fields that differ from :data:`CELL_DEFAULTS`. An untouched
    cell is then 18 bytes instead of 117: the full board of 300 teams × 12 problems shrinks by
    more than half, which is what reading it costs on both ends."""
    return {**row, "cells": [
        {k: v for k, v in cell.items() if k not in CELL_DEFAULTS or CELL_DEFAULTS[k] != v}
        for cell in row["cells"]]}


@dataclass
class LiveState:
    """The published state of one contest view."""

    version: int = 0
    head: dict[str, Any] = field(default_factory=dict)
    head_html: str = ""
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    """team id -> row JSON (with ``pos``)."""
    html: dict[int, str] = field(default_factory=dict)
    """team id -> the row's ``<tr>``."""
    built_at: float = 0.0
    """When a refresh last brought this state up to date (whole or partial): a reader finds
    the state stale when no refresh came for ``max_age`` seconds."""
    whole_at: float = 0.0
    """When the state was last built whole from the database: a partial refresh of a state
    older than ``LiveBoards.whole_every`` is followed by a whole build (a change whose refresh
    was lost is put right within that time, without making readers or the change wait)."""
    _snapshots: dict[str, bytes] = field(default_factory=dict)
    _raw: dict[int, bytes] = field(default_factory=dict)
    """team id -> the stored row as read from Redis (see :meth:`decode`)."""

    def encode_meta(self) -> str:
        return json.dumps({"version": self.version, "head": self.head,
                           "head_html": self.head_html, "built_at": self.built_at,
                           "whole_at": self.whole_at})

    def encode_row(self, team_id: int) -> str:
        return json.dumps([self.rows[team_id], self.html[team_id]])

    @classmethod
    def decode(cls, meta: str | bytes, rows: dict[Any, Any],
               previous: LiveState | None = None) -> LiveState:
        """The state from its stored form. A row stored exactly as in ``previous`` (an older
        state decoded the same way) is taken from it instead of parsed again: a change touches
        a few rows, and parsing all of them again was a tenth of a reading process's CPU."""
        data = json.loads(meta)
        state = cls(version=data["version"], head=data["head"], head_html=data["head_html"],
                    built_at=data.get("built_at", 0.0), whole_at=data.get("whole_at", 0.0))
        for key, value in rows.items():
            team_id = int(key)
            if previous is not None and previous._raw.get(team_id) == value:
                state.rows[team_id] = previous.rows[team_id]  # never changed in place
                state.html[team_id] = previous.html[team_id]
            else:
                state.rows[team_id], state.html[team_id] = json.loads(value)
            state._raw[team_id] = value
        return state

    def cached(self, name: str) -> bytes | None:
        """A rendering cached with this state (see :meth:`keep`)."""
        return self._snapshots.get(name)

    def keep(self, name: str, body: bytes) -> None:
        """Cache a rendering of this very state (it goes when the state is replaced)."""
        self._snapshots[name] = body

    def ordered(self) -> list[int]:
        return sorted(self.rows, key=lambda team_id: self.rows[team_id]["pos"])

    def snapshot(self, fmt: str) -> bytes:
        """The full board as one message body (cached per state)."""
        cached = self._snapshots.get(fmt)
        if cached is None:
            order = self.ordered()
            if fmt == "json":
                body = {"type": "snapshot", "version": self.version, **self.head,
                        "rows": [api_row(self.rows[t]) for t in order]}
                cached = json.dumps(body, separators=(",", ":")).encode()
            else:
                cached = self.board_html(order, oob=True).encode()
            self._snapshots[fmt] = cached
        return cached

    def board_html(self, order: list[int] | None = None, *, oob: bool = False) -> str:
        """The ``<div id="board">`` of the page: head, then the rows in order (cached)."""
        if order is None and not oob:
            cached = self._snapshots.get("page")
            if cached is None:
                cached = self.board_html(self.ordered()).encode()
                self._snapshots["page"] = cached
            return cached.decode()
        order = self.ordered() if order is None else order
        head = self.head_html.replace("{{version}}", str(self.version))
        if oob:
            head = head.replace('<div id="board"', '<div id="board" hx-swap-oob="true"', 1)
        before, _, after = head.partition("<!--rows-->")
        return before + "".join(fill(self.html[t], self.rows[t]) for t in order) + after


class LiveStore(Protocol):
    """Where the published state lives, and the lock that serialises refreshes."""

    def lock(self, contest_id: int) -> contextlib.AbstractAsyncContextManager[None]: ...

    async def version(self, contest_id: int, view: str) -> int: ...

    async def load(self, contest_id: int, view: str, previous: LiveState | None = None
                   ) -> LiveState | None:
        """The stored state; ``previous``, an older state this store loaded, may be reused."""
        ...

    async def save(self, contest_id: int, view: str, state: LiveState, *,
                   changed: list[int] | None, removed: list[int]) -> None:
        """Store the state; ``changed`` None means every row (a full write)."""
        ...

    async def clear(self, contest_id: int) -> None: ...


class MemoryLiveStore:
    """The embedded mode: one process, so the parsed state is the store."""

    def __init__(self) -> None:
        self._states: dict[tuple[int, str], LiveState] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def lock(self, contest_id: int) -> AsyncIterator[None]:
        async with self._locks.setdefault(contest_id, asyncio.Lock()):
            yield

    async def version(self, contest_id: int, view: str) -> int:
        state = self._states.get((contest_id, view))
        return state.version if state is not None else 0

    async def load(self, contest_id: int, view: str, previous: LiveState | None = None
                   ) -> LiveState | None:
        return self._states.get((contest_id, view))

    async def save(self, contest_id: int, view: str, state: LiveState, *,
                   changed: list[int] | None, removed: list[int]) -> None:
        self._states[(contest_id, view)] = state

    async def clear(self, contest_id: int) -> None:
        for view in VIEWS:
            self._states.pop((contest_id, view), None)


class RedisLiveStore:
    """Production: ``<prefix>live:<contest>:<view>`` holds the head and version, ``…:rows`` a
    hash of the rows (only changed rows are written), ``…:v`` the version alone."""

    LOCK_TIMEOUT = 30.0

    def __init__(self, redis: Redis, prefix: str = "podium:") -> None:
        self._redis = redis
        self._prefix = f"{prefix}live:"
        self._local: dict[int, asyncio.Lock] = {}

    def _key(self, contest_id: int, view: str) -> str:
        return f"{self._prefix}{contest_id}:{view}"

    @contextlib.asynccontextmanager
    async def lock(self, contest_id: int) -> AsyncIterator[None]:
        # One waiter per process on the Redis lock; the others queue on the local one.
        async with self._local.setdefault(contest_id, asyncio.Lock()):
            async with self._redis.lock(f"{self._prefix}{contest_id}:lock",
                                        timeout=self.LOCK_TIMEOUT,
                                        blocking_timeout=self.LOCK_TIMEOUT, sleep=0.005):
                yield

    async def version(self, contest_id: int, view: str) -> int:
        value = await self._redis.get(self._key(contest_id, view) + ":v")
        return int(value) if value is not None else 0

    async def load(self, contest_id: int, view: str, previous: LiveState | None = None
                   ) -> LiveState | None:
        key = self._key(contest_id, view)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.hgetall(key + ":rows")
            meta, rows = await pipe.execute()
        return LiveState.decode(meta, rows, previous) if meta is not None else None

    async def save(self, contest_id: int, view: str, state: LiveState, *,
                   changed: list[int] | None, removed: list[int]) -> None:
        key = self._key(contest_id, view)
        async with self._redis.pipeline(transaction=True) as pipe:
            if changed is None:
                pipe.delete(key + ":rows")
                changed = list(state.rows)
            if changed:
                pipe.hset(key + ":rows", mapping={t: state.encode_row(t) for t in changed})
            if removed:
                pipe.hdel(key + ":rows", *removed)
            pipe.set(key, state.encode_meta())
            pipe.set(key + ":v", state.version)
            await pipe.execute()

    async def clear(self, contest_id: int) -> None:
        keys = [self._key(contest_id, v) + s for v in VIEWS for s in ("", ":v", ":rows")]
        await self._redis.delete(*keys)


class LiveBoards:
    """Builds, diffs, renders once and publishes scoreboard changes; serves snapshots."""

    def __init__(self, store: LiveStore, themes: ThemeEnvironments, source: BoardSource,
                 publish: Publisher | None, *, prefix: str = "podium:",
                 max_age: float = 10.0, details: DetailsSource | None = None,
                 partial: PartialSource | None = None, locale: str = "en") -> None:
        self.store = store
        self.locale = locale
        """The language of the rendered boards (one rendering serves every viewer)."""
        self._details = details
        self._partial = partial
        self.themes = themes
        self._source = source
        self._publish = publish
        self._prefix = prefix
        self.max_age = max_age
        """A state older than this (seconds) is refreshed in the background when read."""
        self.whole_every = 60.0
        """Seconds after which a partial refresh is followed by a whole build (which
        publishes only differences): a change whose refresh was lost, say by a process that
        died between its commit and its refresh, shows within this time."""
        self._revalidating: dict[int, asyncio.Task[None]] = {}
        self._cache: dict[tuple[int, str], LiveState] = {}
        self._loading: dict[tuple[int, str], asyncio.Lock] = {}
        self._requested: dict[int, int] = {}
        self._done: dict[int, int] = {}
        self._wanted: dict[int, set[int] | None] = {}
        """contest id -> the teams asked for since the last refresh began (None: all)."""
        self._boards: dict[int, tuple[int, Board | None]] = {}
        """contest id -> (jury version, the jury board it was built from)."""
        self._known: dict[str, tuple[int, Contest]] = {}
        self.published = 0
        """Messages published by this process (for tests and benchmarks)."""

    def channel(self, contest_id: int, view: str, fmt: str) -> str:
        return f"{self._prefix}live:{contest_id}:{view}:{fmt}"

    def channels(self, contest_id: int) -> list[str]:
        return [self.channel(contest_id, v, f) for v in VIEWS for f in FORMATS]

    # -- publishing ------------------------------------------------------------------------

    async def refresh(self, contest: Contest, teams: Iterable[int] | None = None) -> None:
        """Bring both views of the contest up to date and publish what changed.

        ``teams``: only these teams' rows changed (and whatever rows their change affects:
        the partial source finds those); the refresh then reads and renders just them, on top
        of the published state. None: anything may have changed, the boards are built whole.

        The boards are built inside the contest's lock, from the database as it is then, so
        a later change is never overwritten by an earlier board. Concurrent calls coalesce: a
        caller returns once a refresh that started after its call has finished (the teams of
        every call it covers are refreshed together). Errors are logged, never raised (the
        change itself is committed).
        """
        contest_id = contest.id
        assert contest_id is not None
        mine = self._requested[contest_id] = self._requested.get(contest_id, 0) + 1
        if teams is None or (contest_id in self._wanted and self._wanted[contest_id] is None):
            self._wanted[contest_id] = None
        else:
            self._wanted.setdefault(contest_id, set()).update(teams)  # type: ignore[union-attr]
        try:
            async with self.store.lock(contest_id):
                if self._done.get(contest_id, 0) >= mine:
                    return
                target = self._requested[contest_id]
                wanted = self._wanted.pop(contest_id, None)
                if wanted is not None and self._partial is not None:
                    try:
                        if await self._refresh_partial(contest_id, wanted):
                            self._done[contest_id] = target
                            state = self._cache.get((contest_id, "jury"))
                            if state is not None and time.time() - state.whole_at > self.whole_every:
                                # Published already: the check does not delay the change.
                                await self._refresh_whole(contest_id)
                            return
                    except Exception:
                        log.exception("partial live refresh failed for contest %s; "
                                      "building the boards whole", contest.slug)
                await self._refresh_whole(contest_id)
                self._done[contest_id] = target
        except Exception:
            log.exception("live scoreboard refresh failed for contest %s", contest.slug)

    async def _refresh_whole(self, contest_id: int) -> None:
        built = await self._source(contest_id)
        if built is None:
            return
        fresh, boards = built
        details = await self._details(contest_id) if self._details is not None else None
        shared: dict[int, tuple[dict[str, Any], dict[int, dict[str, Any]]]] = {}
        for view in VIEWS:
            board = boards.get(view)
            if board is not None:
                # One board object for both views (nothing hidden): converted once.
                if id(board) not in shared:
                    shared[id(board)] = board_rows(board, details)
                head, rows = shared[id(board)]
                old = await self._current(contest_id, view)
                now = time.time()
                await self._publish_view(fresh, view, old, head, rows, built_at=now,
                                         whole_at=now)
        jury = await self._current(contest_id, "jury")
        self._boards[contest_id] = (jury.version if jury is not None else 0, boards.get("jury"))

    async def _refresh_partial(self, contest_id: int, teams: set[int]) -> bool:
        """Refresh only these teams' rows on top of the published states; False (nothing
        done) when a full build is needed: a state is missing, the source says so, or the
        head would change (problems, freeze, title, groups…)."""
        olds = dict(zip(VIEWS, await asyncio.gather(
            *(self._current(contest_id, view) for view in VIEWS)), strict=True))
        published = {view: state for view, state in olds.items() if state is not None}
        if len(published) != len(VIEWS):
            return False
        assert self._partial is not None
        # The rows and the teams' details come from separate sessions: read them at once.
        built, (catalog, details) = await asyncio.gather(
            self._partial(contest_id, teams, published), self._read_details(contest_id))
        if built is None:
            return False
        fresh = built.contest
        plans = []
        converted: dict[int, dict[int, dict[str, Any] | None]] = {}
        for view in VIEWS:
            part, old = built.views[view], published[view]
            if id(part) not in converted:
                converted[id(part)] = {
                    team_id: None if row is None else {"pos": 0, **row.as_dict(),
                                                       **details.get(team_id, _NO_DETAILS)}
                    for team_id, row in part.rows.items()}
            rows, touched = _merge(old.rows, converted[id(part)], details, built.sort_key,
                                   built.dense_ranks)
            head = {**old.head, "contest": fresh.slug, "frozen": part.frozen,
                    "time_column": part.time_column,
                    "problems": [{"id": p.id, "label": p.label, "points": p.points}
                                 for p in part.problems],
                    "reveal": None, "empty": not rows, "title": fresh.title,
                    "visibility": fresh.visibility, "theme": fresh.theme, "groups": catalog}
            if head != old.head:
                return False
            plans.append((view, old, head, rows, touched))
        for view, old, head, rows, touched in plans:
            await self._publish_view(fresh, view, old, head, rows, built_at=time.time(),
                                     whole_at=old.whole_at,
                                     candidates=touched)
        # The jury board for the callers (sync targets, hooks): patched when this process
        # holds the board the published state was built from.
        base_version, board = self._boards.get(contest_id, (0, None))
        jury = await self._current(contest_id, "jury")
        patched = None
        if board is not None and jury is not None and base_version == olds["jury"].version:  # type: ignore[union-attr]
            changed = built.views["jury"].rows
            by_team = {r.team.id: r for r in board.rows if r.team.id not in changed}
            by_team.update({t: r for t, r in changed.items() if r is not None})
            ordered = []
            for team_id in jury.ordered():
                row = by_team[team_id]
                row.rank = jury.rows[team_id]["rank"]
                ordered.append(row)
            patched = type(board)(fresh, board.problems, ordered, board.frozen,
                                  board.time_column)
        self._boards[contest_id] = (jury.version if jury is not None else 0, patched)
        return True

    async def _read_details(self, contest_id: int) -> TeamDetails:
        return await self._details(contest_id) if self._details is not None else ([], {})

    def jury_board(self, contest_id: int) -> Board | None:
        """The jury board the last refresh in this process built (after a caller's change,
        once its :meth:`refresh` returned); None when it has none (build it yourself)."""
        return self._boards.get(contest_id, (0, None))[1]

    async def _current(self, contest_id: int, view: str) -> LiveState | None:
        """The stored state, parsed once per version in this process: concurrent readers of
        a version this process has not parsed yet (the sockets reconnecting after a restart)
        wait for one load instead of each loading and parsing the whole board."""
        key = (contest_id, view)
        cached = self._cache.get(key)
        stored_version = await self.store.version(contest_id, view)
        if cached is not None and cached.version == stored_version:
            return cached
        async with self._loading.setdefault(key, asyncio.Lock()):
            cached = self._cache.get(key)
            if cached is not None and cached.version >= stored_version:
                return cached  # loaded while this reader waited
            state = await self.store.load(contest_id, view, cached)
            if state is not None:
                self._cache[key] = state
            return state

    async def _publish_view(self, contest: Contest, view: str, old: LiveState | None,
                            head: dict[str, Any], rows: dict[int, dict[str, Any]], *,
                            built_at: float, whole_at: float,
                            candidates: set[int] | None = None) -> None:
        """Diff the new rows against the published state, render the changed ones, store and
        publish. ``candidates``: the only rows whose content may differ (a partial refresh);
        the others only may have moved."""
        contest_id = contest.id
        assert contest_id is not None
        env = self.themes.get(contest.theme)
        macros = env.get_template("_scoreboard.html").module
        base = old.version if old is not None else 0
        new = LiveState(version=base + 1, head=head, rows=rows, built_at=built_at,
                        whole_at=whole_at)
        head_changed = old is None or old.head != head
        changed = []
        with i18n.using_locale(self.locale):
            new.head_html = (str(macros.board(head, Markup("<!--rows-->"), view))
                             if head_changed else old.head_html)  # type: ignore[union-attr]
            for team_id, row in rows.items():
                before = None if old is None or head_changed else old.rows.get(team_id)
                if before is not None and (
                        (candidates is not None and team_id not in candidates)
                        or before is row or _content(before) == _content(row)):
                    new.html[team_id] = old.html[team_id]  # type: ignore[union-attr]
                else:
                    new.html[team_id] = str(macros.row({**row, "pos": POS, "rank": RANK},
                                                       head, view))
                    changed.append(team_id)
        removed = [] if old is None else [t for t in old.rows if t not in rows]
        order = new.ordered()
        places = [rows[t]["rank"] for t in order]
        moved = old is None or (order, places) != (
            old.ordered(), [old.rows[t]["rank"] for t in old.ordered()])
        if not head_changed and not changed and not removed and not moved:
            old.built_at = max(old.built_at, new.built_at)  # type: ignore[union-attr]
            old.whole_at = max(old.whole_at, new.whole_at)  # type: ignore[union-attr]
            return
        if old is None or head_changed:
            stored = None
        else:  # rows whose place alone changed are stored again too (their JSON has it)
            stored = changed + [t for t in rows if t not in changed and t in old.rows and any(
                old.rows[t][k] != rows[t][k] for k in _PLACE)]
        await self.store.save(contest_id, view, new, removed=removed, changed=stored)
        self._cache[(contest_id, view)] = new
        if old is None or head_changed:
            messages = {fmt: (SNAPSHOT_BASE, new.snapshot(fmt)) for fmt in FORMATS}
        else:
            placing = (order, places) if moved else None
            messages = {
                "json": (base, self._json_delta(new, base, changed, removed, placing)),
                "html": (base, self._html_delta(new, old, changed, removed, placing).encode()),
            }
        for fmt, (message_base, body) in messages.items():
            await self._send(self.channel(contest_id, view, fmt),
                             f"{message_base} {new.version}\n".encode() + body)

    @staticmethod
    def _json_delta(state: LiveState, base: int, changed: list[int], removed: list[int],
                    placing: tuple[list[int], list[int]] | None) -> bytes:
        """Rows whose content changed (with their place), removed teams, and — when any place
        changed — the whole order (team ids) with the ranks in that order."""
        delta: dict[str, Any] = {
            "type": "delta", "version": state.version, "base": base,
            "rows": [api_row(r) for r in sorted((state.rows[t] for t in changed),
                                                key=lambda r: r["pos"])],
            "removed": removed}
        if placing is not None:
            delta["order"], delta["ranks"] = placing
        return json.dumps(delta, separators=(",", ":")).encode()

    @staticmethod
    def _html_delta(state: LiveState, old: LiveState, changed: list[int], removed: list[int],
                    placing: tuple[list[int], list[int]] | None) -> str:
        parts = []
        new_rows = []
        for team_id in changed:
            html = fill(state.html[team_id], state.rows[team_id])
            if team_id in old.rows:
                parts.append(html.replace("<tr ", '<tr hx-swap-oob="true" ', 1))
            else:
                new_rows.append(html)
        if new_rows:
            parts.append('<tbody hx-swap-oob="beforeend:#board-rows">' + "".join(new_rows)
                         + "</tbody>")
        parts.extend(f'<tr id="row-{t}" hx-swap-oob="delete"></tr>' for t in removed)
        if placing is not None:  # podium.js moves the rows and writes their ranks
            order, ranks = placing
            parts.append(f'<span id="board-order" hx-swap-oob="true" data-version='
                         f'"{state.version}" data-order="{",".join(map(str, order))}" '
                         f'data-ranks="{",".join(map(str, ranks))}"></span>')
        parts.append(f'<span id="board-version" hx-swap-oob="true" '
                     f'data-version="{state.version}"></span>')
        return "".join(parts)

    async def _send(self, channel: str, data: bytes) -> None:
        if self._publish is None:
            return
        try:
            await self._publish(data, [channel])
            self.published += 1
        except Exception:
            log.exception("could not publish on %s", channel)

    # -- reading ---------------------------------------------------------------------------

    async def state(self, contest: Contest, view: str, *, max_age: float | None = None
                    ) -> LiveState | None:
        """The published state of a view: built first when missing; when older than
        ``max_age`` (no refresh came for that long), refreshed in the background while this
        reader gets the published state (see :meth:`_revalidate`)."""
        assert contest.id is not None
        state = await self._current(contest.id, view)
        if state is None:
            await self.refresh(contest)
            return await self._current(contest.id, view)
        limit = self.max_age if max_age is None else max_age
        if time.time() - state.built_at > limit:
            self._revalidate(contest)
        return state

    async def close(self) -> None:
        """Stop the background refreshes this process started (at shutdown)."""
        running = [task for task in self._revalidating.values() if not task.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._revalidating.clear()

    def _revalidate(self, contest: Contest) -> None:
        """Refresh a contest's stale states in the background, one refresh at a time per
        contest. The age check is a safety net for a change whose refresh was lost: every
        published change is seen at once through the version, so a reader need not wait for
        the database meanwhile — and a crowd of readers of a quiet contest must not all wait
        on (and hold database connections for) a rebuild every ``max_age`` seconds."""
        assert contest.id is not None
        running = self._revalidating.get(contest.id)
        if running is not None and not running.done():
            return
        self._revalidating[contest.id] = asyncio.get_running_loop().create_task(
            self.refresh(contest), name=f"podium-live-revalidate-{contest.id}")

    def remember(self, contest: Contest, state: LiveState) -> None:
        """Note a public contest authorised the slow way, for :meth:`public_state`."""
        if state.head.get("visibility") == "public":
            self._known[contest.slug] = (state.version, contest)

    async def public_state(self, slug: str) -> tuple[Contest, LiveState] | None:
        """The fast read path for anonymous readers: a public contest's public state, without
        the database — only when this process authorised the contest at this very version
        (any change of the contest's title, theme or visibility bumps the version); a stale
        state is served while it is refreshed in the background. None: take the slow path."""
        known = self._known.get(slug)
        if known is None:
            return None
        version, contest = known
        assert contest.id is not None
        state = await self._current(contest.id, "public")
        if state is None or state.version != version:
            del self._known[slug]
            return None
        if time.time() - state.built_at > self.max_age:
            self._revalidate(contest)
        return contest, state

    async def clear(self, contest_ids: Iterable[int]) -> None:
        for contest_id in contest_ids:
            await self.store.clear(contest_id)
            for view in VIEWS:
                self._cache.pop((contest_id, view), None)
