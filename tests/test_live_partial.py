"""A partial live refresh publishes exactly what a full build would (hypothesis).

After a verdict (or a team change) only the changed teams' rows are read and rendered, and
put into the published state (:meth:`server.scoreboard.live.LiveBoards.refresh` with
``teams``). Each example is a random small contest, frozen or not, for every built-in rule:
submissions at random minutes judged in a random order (earlier accepts judged late move
first-to-solve marks to other teams), rejudges, a team renamed, given a group, added or
hidden. After every step each view's published state — head, every row's JSON and HTML,
order and ranks — must equal the state a separate :class:`LiveBoards` builds whole from the
database at that moment.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import actions
from server.models import Contest
from server.scoreboard.live import VIEWS, LiveBoards, LiveState, MemoryLiveStore, fill
from server.services import Services
from server.settings import Settings
from server.themes import ThemeEnvironments
from tests.factories import make_world

RULES = ["points", "icpc", "ioi", "dynamic", "atcoder"]
VERDICTS = ["AC", "AC", "WA", "TLE", "CE"]
_slugs = itertools.count()

step = st.one_of(
    st.tuples(st.just("submit"), st.integers(0, 2), st.sampled_from("AAB"),
              st.integers(0, 299), st.sampled_from(VERDICTS)),
    st.tuples(st.just("rejudge"), st.integers(0, 20), st.sampled_from(VERDICTS)),
    st.tuples(st.just("rename"), st.integers(0, 2)),
    st.tuples(st.just("group"), st.integers(0, 2)),
    st.tuples(st.just("new team")),
    st.tuples(st.just("hide"), st.integers(0, 2)),
)
example = st.tuples(st.booleans(), st.lists(step, min_size=1, max_size=12))


def _published(state: LiveState) -> tuple[Any, ...]:
    order = state.ordered()
    return (state.head, [state.rows[t] for t in order],
            [fill(state.html[t], state.rows[t]) for t in order])


async def _check(services: Services, contest_id: int) -> None:
    live = services.live
    assert live is not None
    whole = LiveBoards(MemoryLiveStore(), ThemeEnvironments(services.plugins), live._source,
                       None, details=live._details)
    async with services.db.session() as session:
        contest = await session.get(Contest, contest_id)
    assert contest is not None
    await whole.refresh(contest)
    for view in VIEWS:
        partial = await live.store.load(contest_id, view)
        built = await whole.store.load(contest_id, view)
        assert partial is not None and built is not None
        assert _published(partial) == _published(built), view


async def _example(template: Path, root: Path, rule: str,
                   drawn: tuple[bool, list[tuple[Any, ...]]]) -> None:
    frozen, steps = drawn
    slug = f"q{next(_slugs)}"
    database = root / f"{slug}.sqlite3"
    shutil.copy(template, database)
    services = await Services.create(Settings(
        data_dir=root / slug, database_url=f"sqlite+aiosqlite:///{database}",
        secret_key="test-secret-key"))
    try:
        world = await make_world(services, slug=slug, teams=3, scoring_rule=rule,
                                 freeze=frozen, problems=(("A", 100.0), ("B", 200.0)))
        cid = world.contest.id
        assert services.live is not None
        await services.live.refresh(world.contest)  # published, then patched
        group = await actions.create_group(services, name=f"{slug} group", contest=cid)
        judged: list[int] = []
        teams = list(world.teams)
        for index, (kind, *args) in enumerate(steps):
            if kind == "submit":
                team, label, minute, verdict = args
                sub = await actions.submit(
                    services, contest=cid, team_id=teams[team].id, problem=label,
                    language="python3", files={"main.py": b"print(1)\n"},
                    user=world.users[team], trusted=True,
                    at=world.start + timedelta(minutes=minute))
                await _check(services, cid)  # pending
                await actions.record_verdict(services, sub.id, verdict, job_key=f"{slug}-{index}")
                judged.append(sub.id)
            elif kind == "rejudge":
                if not judged:
                    continue
                which, verdict = args
                await actions.record_verdict(services, judged[which % len(judged)], verdict,
                                             job_key=f"{slug}-{index}")
            elif kind == "rename":
                await actions.update_team(services, teams[args[0]].id,
                                          display_name=f"Renamed {index}")
            elif kind == "group":
                await actions.update_team(services, teams[args[0]].id, group_ids=[group.id])
            elif kind == "new team":
                teams.append(await actions.create_team(services, cid, name=f"{slug} late {index}"))
            elif kind == "hide":
                await actions.update_team(services, teams[args[0]].id, hidden=True)
            await _check(services, cid)
    finally:
        await services.close()


@pytest.mark.parametrize("rule", RULES)
def test_a_partial_refresh_publishes_what_a_full_build_would(
        rule: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp(f"partial-{rule}")

    @settings(max_examples=8, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(example)
    def check(drawn: tuple[bool, list[tuple[Any, ...]]]) -> None:
        asyncio.run(_example(sqlite_template, root, rule, drawn))

    check()


async def test_the_partial_path_is_taken(services: Services) -> None:
    """A verdict reads only its team's row: the partial source runs, the whole one does not."""
    world = await make_world(services, teams=3)
    live = services.live
    assert live is not None
    await live.refresh(world.contest)
    calls = {"whole": 0, "partial": 0}
    source, partial = live._source, live._partial
    assert partial is not None

    async def counting_source(contest_id: int) -> Any:
        calls["whole"] += 1
        return await source(contest_id)

    async def counting_partial(*args: Any) -> Any:
        calls["partial"] += 1
        return await partial(*args)

    live._source, live._partial = counting_source, counting_partial
    from tests.factories import solve

    await solve(services, world, 1, "A", "AC", 10)
    assert calls == {"whole": 0, "partial": 2}  # the pending row, then the verdict
    state = await live.store.load(world.contest.id, "public")
    assert state is not None and state.ordered()[0] == world.teams[1].id
    assert state.rows[world.teams[1].id]["rank"] == 1
    # A state not built whole for whole_every seconds is built whole after the partial
    # refresh has published the change.
    live.whole_every = 0.0
    await solve(services, world, 2, "A", "WA", 12)
    assert calls == {"whole": 2, "partial": 4}  # the pending row, then the verdict
    live.whole_every = 3600.0
    await solve(services, world, 2, "A", "AC", 14)
    assert calls == {"whole": 2, "partial": 6}
    # A change of the problem set needs the whole board (the head changes).
    await actions.create_problem(services, slug="spring-c", title="Problem C")
    await actions.add_contest_problem(services, world.contest.id, "spring-c", label="C")
    assert calls["whole"] >= 1
    state = await live.store.load(world.contest.id, "public")
    assert state is not None and [p["label"] for p in state.head["problems"]] == ["A", "B", "C"]


async def test_a_late_earlier_accept_moves_the_frozen_first_to_solve_mark(
        services: Services) -> None:
    """During the freeze an accept from before it, judged late, takes the first-to-solve mark
    from the team that held it: that team's public row changes although its results did not."""
    from tests.factories import solve

    world = await make_world(services, teams=2, freeze=True, scoring_rule="icpc")
    assert services.live is not None
    await services.live.refresh(world.contest)
    await solve(services, world, 1, "A", "AC", 20)
    state = await services.live.store.load(world.contest.id, "public")
    assert state is not None and state.head["frozen"] is True
    assert state.rows[world.teams[1].id]["cells"][0]["first_to_solve"] is True
    await solve(services, world, 0, "A", "AC", 10)
    state = await services.live.store.load(world.contest.id, "public")
    assert state is not None
    assert state.rows[world.teams[0].id]["cells"][0]["first_to_solve"] is True
    assert state.rows[world.teams[1].id]["cells"][0]["first_to_solve"] is False
    await _check(services, world.contest.id)


async def test_a_reading_process_parses_again_only_the_rows_that_changed(
        make_settings: Any, db_url: str, redis_cleanup: None) -> None:
    """Two processes on one Redis: the one that did not refresh loads the new state, parsing
    only the rows stored differently and taking the others from the state it had."""
    from tests.conftest import REDIS_URL
    from tests.factories import solve

    settings = make_settings(database_url=db_url, redis_url=REDIS_URL)
    writer, reader = await Services.create(settings), await Services.create(settings)
    try:
        assert writer.live is not None and reader.live is not None
        world = await make_world(writer, teams=4, scoring_rule="icpc")
        for team, minute in ((0, 10), (1, 20), (2, 30)):
            await solve(writer, world, team, "A", "AC", minute)
        before = await reader.live._current(world.contest.id, "public")
        await solve(writer, world, 3, "B", "AC", 25)  # team 3 moves up to third place
        after = await reader.live._current(world.contest.id, "public")
        fresh = await reader.live.store.load(world.contest.id, "public")  # parsed whole
        assert before is not None and after is not None and fresh is not None
        assert after.version > before.version
        assert _published(after) == _published(fresh)
        assert after.ordered() == [world.teams[i].id for i in (0, 1, 3, 2)]
        reused = {t for t in after.rows if after.rows[t] is before.rows[t]}
        assert reused == {world.teams[0].id, world.teams[1].id}  # neither changed nor moved
    finally:
        await writer.close()
        await reader.close()


async def test_readers_of_a_version_not_parsed_yet_wait_for_one_load(
        make_settings: Any, db_url: str, redis_cleanup: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A restart's reconnection storm: many sockets of a process that holds no parsed state
    ask at once; the stored board is loaded and parsed once, and every reader gets it."""
    from tests.conftest import REDIS_URL
    from tests.factories import solve

    settings = make_settings(database_url=db_url, redis_url=REDIS_URL)
    writer, reader = await Services.create(settings), await Services.create(settings)
    try:
        assert writer.live is not None and reader.live is not None
        world = await make_world(writer, teams=3, scoring_rule="icpc")
        await solve(writer, world, 0, "A", "AC", 10)
        store = reader.live.store
        loads = []
        real_load = store.load

        async def counting_load(*args: Any, **kwargs: Any) -> Any:
            loads.append(args)
            await asyncio.sleep(0.01)  # the others arrive while this one loads
            return await real_load(*args, **kwargs)

        monkeypatch.setattr(store, "load", counting_load)
        states = await asyncio.gather(
            *(reader.live._current(world.contest.id, "public") for _ in range(50)))
        assert len(loads) == 1
        assert all(s is states[0] for s in states) and states[0] is not None
        await solve(writer, world, 1, "A", "AC", 20)  # a new version: loaded once more
        newer = await asyncio.gather(
            *(reader.live._current(world.contest.id, "public") for _ in range(20)))
        assert len(loads) == 2 and newer[0].version > states[0].version
        assert len({id(s) for s in newer}) == 1
    finally:
        await writer.close()
        await reader.close()
