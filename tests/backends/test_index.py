"""The standings index, against the memory and the Redis implementation."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.scoreboard.index import MAX_SCORE, StandingsIndex, make_index
from server.scoreboard.index_memory import MemoryStandingsIndex
from server.scoreboard.index_redis import RedisStandingsIndex
from tests.backends.conftest import Backend, RedisFactory

__all__: list[str] = []

C = 1
"""The contest most tests use."""

BOARD = {1: 100, 2: 200, 3: 100, 4: 50, 5: 200, 6: -10}
BOARD_ORDER = [(2, 200), (5, 200), (1, 100), (3, 100), (4, 50), (6, -10)]


@pytest.fixture
def index(backend: Backend) -> StandingsIndex:
    return make_index(backend.redis, backend.prefix)


def expected_order(model: dict[int, int]) -> list[tuple[int, int]]:
    return sorted(model.items(), key=lambda row: (-row[1], row[0]))


def test_factory_picks_the_implementation(redis_client: object) -> None:
    assert isinstance(make_index(None, "x:"), MemoryStandingsIndex)
    assert isinstance(make_index(redis_client, "x:"), RedisStandingsIndex)  # type: ignore[arg-type]
    assert isinstance(make_index(None, "x:"), StandingsIndex)


async def test_ranks_with_ties(index: StandingsIndex) -> None:
    await index.set_many(C, BOARD)
    assert await index.top(C, 10) == BOARD_ORDER
    ranks = {team: await index.rank(C, team) for team in BOARD}
    assert ranks == {2: 1, 5: 1, 1: 3, 3: 3, 4: 5, 6: 6}
    assert await index.rank(C, 99) is None
    assert await index.rank(2, 1) is None
    assert await index.score(C, 6) == -10
    assert await index.score(C, 99) is None
    assert await index.count(C) == 6


async def test_ties_order_by_numeric_team_id(index: StandingsIndex) -> None:
    teams = [100, 9, 10, 1, 10**19, 0, 2]
    await index.set_many(C, {team: 5 for team in teams})
    assert await index.top(C, 10) == [(team, 5) for team in sorted(teams)]
    assert {await index.rank(C, team) for team in teams} == {1}


async def test_top_with_offset_and_limit(index: StandingsIndex) -> None:
    await index.set_many(C, BOARD)
    assert await index.top(C, 2) == BOARD_ORDER[:2]
    assert await index.top(C, 2, offset=2) == BOARD_ORDER[2:4]
    assert await index.top(C, 10, offset=4) == BOARD_ORDER[4:]
    assert await index.top(C, 3, offset=6) == []
    assert await index.top(C, 0) == []
    assert await index.top(C, 0, offset=3) == []
    assert await index.top(7, 5) == []
    with pytest.raises(ValueError):
        await index.top(C, -1)
    with pytest.raises(ValueError):
        await index.top(C, 1, offset=-1)


async def test_around(index: StandingsIndex) -> None:
    await index.set_many(C, BOARD)
    assert await index.around(C, 2, 2) == BOARD_ORDER[:3]  # first row
    assert await index.around(C, 6, 2) == BOARD_ORDER[3:]  # last row
    assert await index.around(C, 1, 1) == BOARD_ORDER[1:4]  # middle, in a tie
    assert await index.around(C, 3, 0) == [(3, 100)]
    assert await index.around(C, 4, 100) == BOARD_ORDER
    assert await index.around(C, 99, 2) == []
    assert await index.around(8, 1, 2) == []
    with pytest.raises(ValueError):
        await index.around(C, 1, -1)


async def test_updates_remove_count_clear(index: StandingsIndex) -> None:
    await index.set_many(C, BOARD)
    await index.set(C, 4, 1000)
    await index.set(C, 2, 200)  # unchanged
    await index.set(C, 7, 100)
    assert await index.top(C, 3) == [(4, 1000), (2, 200), (5, 200)]
    assert await index.rank(C, 7) == 4
    await index.remove(C, 4)
    await index.remove(C, 4)
    await index.remove(C, 99)
    assert await index.rank(C, 4) is None
    assert await index.rank(C, 7) == 3
    assert await index.count(C) == 6
    await index.set_many(C, {})
    assert await index.count(C) == 6
    await index.clear(C)
    assert await index.count(C) == 0
    assert await index.top(C, 10) == []
    await index.clear(C)


async def test_contests_are_separate(index: StandingsIndex) -> None:
    await index.set(1, 1, 10)
    await index.set(2, 1, 20)
    await index.set(2, 2, 30)
    assert await index.top(1, 10) == [(1, 10)]
    assert await index.top(2, 10) == [(2, 30), (1, 20)]
    await index.clear(2)
    assert await index.top(1, 10) == [(1, 10)]


async def test_scores_near_two_to_the_53(index: StandingsIndex) -> None:
    board = {
        1: MAX_SCORE,
        2: MAX_SCORE - 1,
        3: MAX_SCORE,
        4: -MAX_SCORE,
        5: -MAX_SCORE + 1,
        6: 0,
        7: MAX_SCORE - 2,
        8: -MAX_SCORE,
    }
    await index.set_many(C, board)
    assert await index.top(C, 10) == expected_order(board)
    assert {team: await index.score(C, team) for team in board} == board
    ranks = {team: await index.rank(C, team) for team in board}
    assert ranks == {1: 1, 3: 1, 2: 3, 7: 4, 6: 5, 5: 6, 4: 7, 8: 7}
    assert await index.around(C, 2, 1) == [(3, MAX_SCORE), (2, MAX_SCORE - 1), (7, MAX_SCORE - 2)]
    await index.set(C, 9, MAX_SCORE - 1)
    assert await index.rank(C, 9) == 3
    assert await index.top(C, 2, offset=2) == [(2, MAX_SCORE - 1), (9, MAX_SCORE - 1)]


async def test_invalid_input(index: StandingsIndex) -> None:
    for score in (MAX_SCORE + 1, -MAX_SCORE - 1, 2**64):
        with pytest.raises(ValueError):
            await index.set(C, 1, score)
        with pytest.raises(ValueError):
            await index.set_many(C, {1: 1, 2: score})
    with pytest.raises(TypeError):
        await index.set(C, 1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await index.set(C, 1, True)
    with pytest.raises(ValueError):
        await index.set(C, -1, 1)
    with pytest.raises(ValueError):
        await index.replace(C, {-1: 1})
    assert await index.count(C) == 0  # nothing half-written


async def test_replace(backend: Backend, index: StandingsIndex) -> None:
    await index.set_many(C, BOARD)
    await index.set(2, 1, 1)
    new = {7: 5, 8: 5, 1: 3}
    await index.replace(C, new)
    assert await index.top(C, 10) == [(7, 5), (8, 5), (1, 3)]
    assert await index.count(C) == 3
    for gone in (2, 3, 4, 5, 6):
        assert await index.rank(C, gone) is None
        assert await index.score(C, gone) is None
    assert await index.top(2, 10) == [(1, 1)]
    await index.set(C, 2, 4)  # the replacement is a normal board
    assert await index.rank(C, 2) == 3
    await index.replace(C, {})
    assert await index.count(C) == 0
    await index.replace(C, {})
    if backend.redis is not None:
        keys = sorted([key async for key in backend.redis.scan_iter(match=f"{backend.prefix}*")])
        assert keys == [f"{backend.prefix}standings:{{2}}".encode()]  # no temporary left
        assert await backend.redis.ttl(keys[0]) == -1


async def test_readers_never_see_a_partial_replace(backend: Backend, index: StandingsIndex) -> None:
    old = {team: team % 97 for team in range(3000)}
    new = {team: -((team - 10_000) % 89) for team in range(10_000, 22_000)}
    await index.replace(C, old)
    seen: set[int] = set()
    tops: list[list[tuple[int, int]]] = []
    done = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            seen.add(await index.count(C))
            tops.append(await index.top(C, 1))
            await asyncio.sleep(0)

    reader = asyncio.create_task(read())
    await asyncio.sleep(0.01)
    await index.replace(C, new)
    done.set()
    await reader
    seen.add(await index.count(C))
    assert seen == {len(old), len(new)}  # never empty, never half-built
    assert all(top in ([(96, 96)], [(10_000, 0)]) for top in tops)
    assert await index.top(C, 2) == [(10_000, 0), (10_089, 0)]
    assert await index.rank(C, 0) is None


async def test_redis_index_with_decoded_responses(
    redis_factory: RedisFactory, redis_prefix: str
) -> None:
    index = RedisStandingsIndex(await redis_factory(decode_responses=True), redis_prefix)
    await index.set_many(C, {3: MAX_SCORE, 1: 0, 2: MAX_SCORE})
    assert await index.top(C, 5) == [(2, MAX_SCORE), (3, MAX_SCORE), (1, 0)]
    assert await index.around(C, 1, 1) == [(3, MAX_SCORE), (1, 0)]
    assert await index.rank(C, 1) == 3
    assert await index.score(C, 3) == MAX_SCORE


# ------------------------------------------------------------------------ property test

TEAMS = st.integers(min_value=0, max_value=12)
SCORES = st.one_of(
    st.integers(min_value=-4, max_value=4),
    st.sampled_from([MAX_SCORE, MAX_SCORE - 1, -MAX_SCORE, -MAX_SCORE + 1, 2**52 + 1]),
)
BOARDS = st.dictionaries(TEAMS, SCORES, max_size=8)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), TEAMS, SCORES),
        st.tuples(st.just("set_many"), BOARDS),
        st.tuples(st.just("replace"), BOARDS),
        st.tuples(st.just("remove"), TEAMS),
        st.tuples(st.just("clear")),
    ),
    max_size=25,
)
_contests = itertools.count(1000)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=OPERATIONS)
async def test_matches_a_naive_sorted_list(
    index: StandingsIndex, operations: list[tuple[object, ...]]
) -> None:
    contest = next(_contests)
    model: dict[int, int] = {}
    for operation in operations:
        match operation:
            case ("set", team, score):
                await index.set(contest, team, score)  # type: ignore[arg-type]
                model[team] = score  # type: ignore[index]
            case ("set_many", scores):
                await index.set_many(contest, scores)  # type: ignore[arg-type]
                model.update(scores)  # type: ignore[arg-type]
            case ("replace", scores):
                await index.replace(contest, scores)  # type: ignore[arg-type]
                model = dict(scores)  # type: ignore[call-overload]
            case ("remove", team):
                await index.remove(contest, team)  # type: ignore[arg-type]
                model.pop(team, None)  # type: ignore[call-overload]
            case ("clear",):
                await index.clear(contest)
                model.clear()
        assert await index.count(contest) == len(model)

    rows = expected_order(model)
    assert await index.top(contest, len(rows) + 3) == rows
    assert await index.top(contest, 3, offset=2) == rows[2:5]
    for team in range(13):
        assert await index.score(contest, team) == model.get(team)
        expected_rank = None
        if team in model:
            expected_rank = 1 + sum(score > model[team] for score in model.values())
        assert await index.rank(contest, team) == expected_rank
        position = next((i for i, row in enumerate(rows) if row[0] == team), None)
        for radius in (0, 2):
            expected = []
            if position is not None:
                expected = rows[max(0, position - radius) : position + radius + 1]
            assert await index.around(contest, team, radius) == expected
