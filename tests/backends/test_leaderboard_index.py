"""The leaderboard index, against the memory and the Redis implementation."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import LockNotOwnedError

from server.leaderboard_index import (
    BoardKey,
    Entry,
    IndexNotBuilt,
    LeaderboardIndex,
    RankedEntry,
    encode_time,
    make_leaderboard_index,
)
from server.leaderboard_index import redis as redis_module
from server.leaderboard_index.memory import MemoryLeaderboardIndex
from server.leaderboard_index.redis import RedisLeaderboardIndex
from tests.backends.conftest import Backend, RedisFactory

__all__: list[str] = []

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
DESC = BoardKey(1, True)
ASC = BoardKey(2, False)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture
def index(backend: Backend) -> LeaderboardIndex:
    return make_leaderboard_index(backend.redis, backend.prefix)


async def _chunks(entries: Sequence[Entry], size: int = 3) -> AsyncIterator[Sequence[Entry]]:
    for start in range(0, len(entries), size):
        yield entries[start:start + size]


async def build(index: LeaderboardIndex, board: BoardKey, entries: Sequence[Entry]) -> int:
    async with index.lock(board.id):
        return await index.replace(board, _chunks(entries))


def expected(entries: Sequence[Entry], descending: bool) -> list[tuple[str, float, int]]:
    """The order and ranks, computed naively: (player, score, rank)."""
    latest = {player: (score, when) for player, score, when in entries}
    rows = sorted(latest.items(), key=lambda r: (-r[1][0] if descending else r[1][0],
                                                 r[1][1], r[0]))
    better = (lambda a, b: a > b) if descending else (lambda a, b: a < b)
    return [(player, score, 1 + sum(better(s, score) for s, _ in latest.values()))
            for player, (score, _) in rows]


def rows(entries: list[RankedEntry]) -> list[tuple[str, float, int]]:
    return [(e.player, e.score, e.rank) for e in entries]


# ann and cat tie on 10; cat reached it first. dan ties too, at the same time as ann:
# then the player name decides.
BOARD: list[Entry] = [("ann", 10.0, at(5)), ("bob", 25.0, at(1)), ("cat", 10.0, at(2)),
                      ("dan", 10.0, at(5)), ("eve", 1.0, at(0)), ("fay", -3.5, at(9))]
DESC_ORDER = [("bob", 25.0, 1), ("cat", 10.0, 2), ("ann", 10.0, 2), ("dan", 10.0, 2),
              ("eve", 1.0, 5), ("fay", -3.5, 6)]
ASC_ORDER = [("fay", -3.5, 1), ("eve", 1.0, 2), ("cat", 10.0, 3), ("ann", 10.0, 3),
             ("dan", 10.0, 3), ("bob", 25.0, 6)]


def test_factory_picks_the_implementation(redis_client: object) -> None:
    assert isinstance(make_leaderboard_index(None), MemoryLeaderboardIndex)
    redis_index = make_leaderboard_index(redis_client, "x:")  # type: ignore[arg-type]
    assert isinstance(redis_index, RedisLeaderboardIndex)
    assert isinstance(redis_index, LeaderboardIndex)
    assert isinstance(make_leaderboard_index(None), LeaderboardIndex)


async def test_reads_of_a_board_not_built_raise(index: LeaderboardIndex) -> None:
    assert not await index.built(DESC.id)
    for read in (index.count(DESC), index.page(DESC, 0, 5), index.page(DESC, 0, 0),
                 index.around(DESC, "ann", 2), index.ranks(DESC, [1.0]), index.ranks(DESC, [])):
        with pytest.raises(IndexNotBuilt):
            await read
    await index.put(DESC, BOARD)  # entries alone do not make it built
    with pytest.raises(IndexNotBuilt):
        await index.count(DESC)
    assert await build(index, DESC, []) == 0
    assert await index.built(DESC.id)
    assert (await index.count(DESC), await index.page(DESC, 0, 5)) == (0, [])
    assert await index.around(DESC, "ann", 2) == []
    assert await index.ranks(DESC, [3.0, -1.0]) == [1, 1]


@pytest.mark.parametrize(("board", "order"), [(DESC, DESC_ORDER), (ASC, ASC_ORDER)])
async def test_order_ties_and_ranks(index: LeaderboardIndex, board: BoardKey,
                                    order: list[tuple[str, float, int]]) -> None:
    assert await build(index, board, BOARD) == 6
    assert rows(await index.page(board, 0, 10)) == order == expected(BOARD, board.descending)
    assert await index.count(board) == 6
    top = await index.page(board, 0, 1)
    assert top[0].updated_at == dict((p, w) for p, _, w in BOARD)[top[0].player]
    scores = [25.0, 10.0, 1.0, -3.5, 100.0, -100.0, 10.5]
    better = (lambda a, b: a > b) if board.descending else (lambda a, b: a < b)
    assert await index.ranks(board, scores) == [
        1 + sum(better(s, score) for _, s, _ in BOARD) for score in scores]


async def test_ties_order_by_time_then_code_points(index: LeaderboardIndex) -> None:
    same = [("b", 1.0, at(0)), ("B", 1.0, at(0)), ("é", 1.0, at(0)), ("a", 1.0, at(0)),
            ("zz", 1.0, at(-0.000001)), ("Z", 1.0, at(0.000001)), ("ab", 1.0, at(0)),
            ("a\u0000", 1.0, at(0)), ("日本", 1.0, at(0)), ("1:x 2", 1.0, at(0))]
    await build(index, DESC, same)
    players = [e.player for e in await index.page(DESC, 0, 20)]
    # one microsecond earlier wins over any name; then code-point order ("B" < "a" < "é")
    assert players == ["zz", "1:x 2", "B", "a", "a\u0000", "ab", "b", "é", "日本", "Z"]
    assert {e.rank for e in await index.page(DESC, 0, 20)} == {1}


async def test_pages_rank_a_tie_that_started_before_them(index: LeaderboardIndex) -> None:
    await build(index, DESC, BOARD)
    assert rows(await index.page(DESC, 2, 5)) == DESC_ORDER[2:5]  # starts inside the 10s
    assert rows(await index.page(DESC, 3, 4)) == [("dan", 10.0, 2)]
    assert rows(await index.page(DESC, 4, 100)) == DESC_ORDER[4:]
    assert await index.page(DESC, 6, 10) == []
    assert await index.page(DESC, 3, 3) == []
    for start, stop in ((-1, 2), (3, 2)):
        with pytest.raises(ValueError):
            await index.page(DESC, start, stop)


async def test_around_at_the_edges(index: LeaderboardIndex) -> None:
    await build(index, DESC, BOARD)
    assert rows(await index.around(DESC, "bob", 2)) == DESC_ORDER[:3]  # first
    assert rows(await index.around(DESC, "fay", 2)) == DESC_ORDER[3:]  # last
    assert rows(await index.around(DESC, "ann", 1)) == DESC_ORDER[1:4]  # middle of a tie
    assert rows(await index.around(DESC, "dan", 0)) == [("dan", 10.0, 2)]
    assert rows(await index.around(DESC, "eve", 50)) == DESC_ORDER
    assert await index.around(DESC, "ghost", 3) == []
    with pytest.raises(ValueError):
        await index.around(DESC, "ann", -1)


async def test_put_moves_entries_and_remove_drops_them(index: LeaderboardIndex) -> None:
    await build(index, DESC, BOARD)
    await index.put(DESC, [("eve", 30.0, at(20)), ("gus", 10.0, at(1)),
                           ("fay", 0.0, at(21)), ("fay", 50.0, at(22))])  # later one wins
    assert rows(await index.page(DESC, 0, 10)) == [
        ("fay", 50.0, 1), ("eve", 30.0, 2), ("bob", 25.0, 3), ("gus", 10.0, 4),
        ("cat", 10.0, 4), ("ann", 10.0, 4), ("dan", 10.0, 4)]
    await index.remove(DESC, ["gus", "ann", "ghost"])
    await index.remove(DESC, ["gus"])
    assert await index.count(DESC) == 5
    assert await index.around(DESC, "ann", 1) == []
    assert rows(await index.around(DESC, "cat", 1)) == [("bob", 25.0, 3), ("cat", 10.0, 4),
                                                        ("dan", 10.0, 4)]
    await index.put(DESC, [])
    await index.remove(DESC, [])
    assert await index.count(DESC) == 5


async def test_float_scores_are_kept_exactly(index: LeaderboardIndex) -> None:
    tiny = 5e-324
    scores = [0.1, 0.2, 0.30000000000000004, 0.3, tiny, -tiny, 1.7976931348623157e308,
              -1.7976931348623157e308, 2.0**53, 2.0**53 + 2, 2.0**53 - 1, 1e16, 1e16 + 2,
              123456.789, -0.0, 0.0, 1 / 3]
    entries = [(f"p{i:02d}", s, at(i)) for i, s in enumerate(scores)]
    for board in (DESC, ASC):
        await build(index, board, entries)
        got = await index.page(board, 0, 50)
        assert rows(got) == expected(entries, board.descending)
        by_player = {e.player: e.score for e in got}
        for player, score, _ in entries:
            assert by_player[player].hex() == (score + 0.0).hex()  # same bits; -0.0 is 0.0
        assert math.copysign(1, by_player["p14"]) == 1.0
        ranks = {e.player: e.rank for e in got}
        assert ranks["p14"] == ranks["p15"]  # -0.0 and 0.0 are one score
        better = (lambda a, b: a > b) if board.descending else (lambda a, b: a < b)
        assert await index.ranks(board, [0.3, 2.0**53, -0.0]) == [
            1 + sum(better(s, probe) for s in scores) for probe in (0.3, 2.0**53, 0.0)]


async def test_times_far_apart_and_a_microsecond_apart(index: LeaderboardIndex) -> None:
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    entries = [("late", 1.0, last), ("early", 1.0, first), ("mid", 1.0, T0),
               ("mid+1", 1.0, T0 + timedelta(microseconds=1))]
    await build(index, ASC, entries)
    got = await index.page(ASC, 0, 10)
    assert [(e.player, e.updated_at) for e in got] == [
        ("early", first), ("mid", T0), ("mid+1", T0 + timedelta(microseconds=1)),
        ("late", last)]


async def test_invalid_entries_write_nothing(index: LeaderboardIndex) -> None:
    await build(index, DESC, BOARD)
    bad: list[list[Entry]] = [[("x", math.nan, T0)], [("x", math.inf, T0)],
                              [("x", -math.inf, T0)], [("x", 1.0, T0.replace(tzinfo=None))]]
    for entries in bad:
        with pytest.raises(ValueError):
            await index.put(DESC, [("ok", 1.0, T0), *entries])
        with pytest.raises(ValueError):
            await build(index, DESC, [("ok", 1.0, T0), *entries])
    with pytest.raises(TypeError):
        await index.put(DESC, [("", 1.0, T0)])
    with pytest.raises(TypeError):
        await index.put(DESC, [("x", True, T0)])  # type: ignore[list-item]
    assert rows(await index.page(DESC, 0, 10)) == DESC_ORDER  # the old index, untouched


async def test_boards_are_separate_and_drop_forgets_one(index: LeaderboardIndex) -> None:
    await build(index, DESC, BOARD)
    await build(index, ASC, BOARD[:2])
    assert rows(await index.page(ASC, 0, 5)) == [("ann", 10.0, 1), ("bob", 25.0, 2)]
    await index.drop(DESC.id)
    assert not await index.built(DESC.id)
    with pytest.raises(IndexNotBuilt):
        await index.page(DESC, 0, 5)
    assert await index.count(ASC) == 2
    await index.drop(DESC.id)
    await build(index, DESC, BOARD[4:])  # rebuilt: only the new entries
    assert rows(await index.page(DESC, 0, 10)) == [("eve", 1.0, 1), ("fay", -3.5, 2)]


async def test_about_by_id_and_by_name(backend: Backend, redis_factory: RedisFactory,
                                       index: LeaderboardIndex) -> None:
    assert await index.about(1) is None
    assert await index.about("school") is None
    async with index.lock(DESC.id):
        await index.replace(DESC, _chunks(BOARD), name="school", about='{"v": 1}')
    async with index.lock(ASC.id):
        await index.replace(ASC, _chunks([]), name="golf", about='{"v": 2}')
    assert [await index.about(ref) for ref in (1, "1", "school", 2, "golf")] == [
        '{"v": 1}', '{"v": 1}', '{"v": 1}', '{"v": 2}', '{"v": 2}']
    assert await index.about("nope") is None
    assert await index.about(3) is None
    await index.put(DESC, [("zed", 1.0, T0)])  # entries do not change it
    assert await index.about("school") == '{"v": 1}'
    # another process (Redis: a fresh client and name cache) finds it by name too
    other = index if backend.redis is None else RedisLeaderboardIndex(
        await redis_factory(), backend.prefix)
    assert await other.about("school") == '{"v": 1}'

    # dropped, then the name taken by another board: both processes follow
    await index.drop(DESC.id)
    assert await index.about("school") is None
    assert await index.about(1) is None
    async with index.lock(7):
        await index.replace(BoardKey(7, True), _chunks([]), name="school", about='{"v": 3}')
    assert await other.about("school") == '{"v": 3}'
    assert await index.about("school") == '{"v": 3}'
    await index.drop(ASC.id)
    assert await other.about("golf") is None
    assert await index.about("school") == '{"v": 3}'


async def test_readers_never_see_a_partial_replace(index: LeaderboardIndex) -> None:
    old = [(f"old{i}", float(i % 7), at(i)) for i in range(300)]
    new = [(f"new{i}", float(100 + i % 5), at(i)) for i in range(900)]
    await build(index, DESC, old)
    seen: set[int] = set()
    tops: set[str] = set()
    done = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            seen.add(await index.count(DESC))
            tops.add((await index.page(DESC, 0, 1))[0].player)
            await asyncio.sleep(0)

    async def slow(entries: Sequence[Entry]) -> AsyncIterator[Sequence[Entry]]:
        for start in range(0, len(entries), 100):
            await asyncio.sleep(0.002)
            yield entries[start:start + 100]

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.01)
    async with index.lock(DESC.id):
        await index.replace(DESC, slow(new))
    done.set()
    await reader
    seen.add(await index.count(DESC))
    tops.add((await index.page(DESC, 0, 1))[0].player)
    assert seen == {300, 900}
    assert tops == {"old6", "new4"}


async def test_lock_excludes_other_holders_of_the_same_board(
        backend: Backend, redis_factory: RedisFactory, index: LeaderboardIndex) -> None:
    # for Redis, a second index over its own client, as another process would hold
    other = index if backend.redis is None else RedisLeaderboardIndex(
        await redis_factory(), backend.prefix)
    events: list[str] = []
    inside = asyncio.Event()

    async def first() -> None:
        async with index.lock(DESC.id):
            events.append("first in")
            inside.set()
            await asyncio.sleep(0.2)
            events.append("first out")

    async def second() -> None:
        await inside.wait()
        async with other.lock(ASC.id):  # another board: no wait
            events.append("other board")
        async with other.lock(DESC.id):
            events.append("second in")

    await asyncio.gather(first(), second())
    assert events == ["first in", "other board", "first out", "second in"]


async def test_redis_layout_and_a_long_rebuild_keeps_its_lock(
        redis_factory: RedisFactory, redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = await redis_factory()
    index = RedisLeaderboardIndex(client, redis_prefix)
    monkeypatch.setattr(redis_module, "LOCK_SECONDS", 0.3)

    async def slow() -> AsyncIterator[Sequence[Entry]]:
        for entry in BOARD:
            await asyncio.sleep(0.15)  # 0.9 s in all: past the lock's 0.3 s unless renewed
            yield [entry]

    async with index.lock(DESC.id):
        await index.replace(DESC, slow(), name="school", about="{}")
    base = f"{redis_prefix}leaderboard:{{1}}"
    keys = sorted([k.decode() async for k in client.scan_iter(match=f"{redis_prefix}*")])
    assert keys == sorted([base, f"{base}:built", f"{base}:players",  # no temporary, no lock
                           f"{redis_prefix}leaderboard-name:school"])
    assert [await client.ttl(key) for key in keys] == [-1, -1, -1, -1]
    digits = f"{encode_time(at(2)):018d}".encode()
    assert await client.hget(f"{base}:players", "cat") == digits
    assert await client.zscore(base, digits + b"cat") == -10.0  # negated on a desc board

    # without renewal the lock would expire: releasing it then raises
    monkeypatch.setattr(redis_module, "LOCK_SECONDS", 0.1)
    with pytest.raises(LockNotOwnedError):
        async with index.lock(DESC.id):
            await asyncio.sleep(0.3)


async def test_redis_index_with_decoded_responses(
        redis_factory: RedisFactory, redis_prefix: str) -> None:
    index = RedisLeaderboardIndex(await redis_factory(decode_responses=True), redis_prefix)
    await build(index, DESC, [*BOARD, ("日本", 10.0, at(2))])
    assert rows(await index.around(DESC, "日本", 1)) == [
        ("cat", 10.0, 2), ("日本", 10.0, 2), ("ann", 10.0, 2)]
    assert await index.ranks(DESC, [10.0]) == [2]


# ------------------------------------------------------------------------ property test

PLAYERS = st.sampled_from(["a", "b", "B", "c", "é", "aa"])
SCORES = st.one_of(st.integers(-3, 3).map(float),
                   st.sampled_from([0.1, 0.2, -0.0, 2.0**53, 2.0**53 - 1, 1e300, -1e300]))
TIMES = st.integers(0, 3).map(lambda n: at(n / 1_000_000))
ENTRIES = st.lists(st.tuples(PLAYERS, SCORES, TIMES), max_size=6)
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("put"), ENTRIES),
    st.tuples(st.just("remove"), st.lists(PLAYERS, max_size=3)),
    st.tuples(st.just("replace"), ENTRIES),
), max_size=12)
_boards = itertools.count(1000)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, descending=st.booleans())
async def test_matches_a_naive_model(index: LeaderboardIndex, descending: bool,
                                     operations: list[tuple[str, list[object]]]) -> None:
    board = BoardKey(next(_boards), descending)
    model: dict[str, tuple[float, datetime]] = {}
    await build(index, board, [])
    for operation, values in operations:
        if operation == "put":
            await index.put(board, values)  # type: ignore[arg-type]
            model.update({p: (s, w) for p, s, w in values})  # type: ignore[misc]
        elif operation == "remove":
            await index.remove(board, values)  # type: ignore[arg-type]
            for player in values:
                model.pop(player, None)  # type: ignore[call-overload]
        else:
            await build(index, board, values)  # type: ignore[arg-type]
            model = {p: (s, w) for p, s, w in values}  # type: ignore[misc]
    want = expected([(p, s, w) for p, (s, w) in model.items()], descending)
    assert rows(await index.page(board, 0, 20)) == want
    assert rows(await index.page(board, 1, 3)) == want[1:3]
    assert await index.count(board) == len(model)
    for position, (player, _, _) in enumerate(want):
        assert rows(await index.around(board, player, 1)) == want[max(0, position - 1):
                                                                  position + 2]
