"""The reveal: a frozen board unfreezes one pending cell at a time, from the bottom up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server import actions
from server.actions import freeze
from server.models import utcnow
from tests.factories import World, solve


async def _ended_world(services) -> World:  # type: ignore[no-untyped-def]
    """An ICPC contest that ended an hour ago; the board froze an hour before the end."""
    start = utcnow().replace(microsecond=0) - timedelta(hours=5)
    admin = await actions.create_user(services, "admin", password="admin-password", role="admin")
    contest = await actions.create_contest(
        services, slug="final", title="Final", start_at=start, end_at=start + timedelta(hours=4),
        freeze_at=start + timedelta(hours=3), scoring_rule="icpc", actor=admin)
    for label in ("A", "B"):
        await actions.create_problem(services, slug=f"final-{label.lower()}", title=label)
        await actions.add_contest_problem(services, contest.id, f"final-{label.lower()}",
                                          label=label)
    await actions.enable_language(services, contest.id, "python3")
    teams, users = [], []
    for index in range(3):
        user = await actions.create_user(services, f"user{index}", password="user-password")
        teams.append(await actions.create_team(services, contest.id, name=f"team {index}",
                                               member_ids=[user.id]))
        users.append(user)
    world = World(contest=contest, teams=teams, users=users, admin=admin, start=start)
    await solve(services, world, 0, "A", "AC", 60)
    await solve(services, world, 1, "A", "AC", 90)
    # After the freeze (minute 180):
    await solve(services, world, 2, "A", "AC", 200)
    await solve(services, world, 2, "B", "AC", 210)
    await solve(services, world, 1, "B", "WA", 190)
    await solve(services, world, 0, "B", "AC", 220)
    return world


def _order(board) -> list[int]:  # type: ignore[no-untyped-def]
    return [row.team.id for row in board.rows]


async def test_reveal_walks_from_the_bottom_and_ends_unfrozen(services) -> None:  # type: ignore[no-untyped-def]
    world = await _ended_world(services)
    t0, t1, t2 = (t.id for t in world.teams)
    contest = world.contest
    frozen = await actions.scoreboard(services, contest, public=True)
    assert frozen.frozen and _order(frozen) == [t0, t1, t2]
    status = await freeze.reveal_status(services, contest.slug)
    assert status == {"active": False, "step": 0, "total": 4, "frozen": True, "last": None}
    with pytest.raises(actions.Invalid, match="has not started"):
        await freeze.reveal_next(services, contest.slug)

    started = await freeze.start_reveal(services, contest.slug)
    assert started["active"] and started["step"] == 0 and started["total"] == 4
    with pytest.raises(actions.Invalid, match="already started"):
        await freeze.start_reveal(services, contest.slug)
    async def public():  # type: ignore[no-untyped-def]
        fresh = await freeze._contest(services, contest.slug)
        return await actions.scoreboard(services, fresh, public=True)

    board = await public()
    assert _order(board) == [t0, t1, t2] and board.reveal["step"] == 0  # type: ignore[attr-defined]

    # Step 1: the lowest team with a pending cell is team 2; its A is revealed (solved).
    step = await freeze.reveal_next(services, contest.slug)
    assert step["last"] == {"team_id": t2, "problem_id": step["last"]["problem_id"],
                            "solved": True, "before": 3, "after": 3}
    board = await public()
    assert board.rows[2].cells[0].solved and board.rows[2].cells[1].pending == 1
    # Step 2: team 2's B: it jumps to the top.
    step = await freeze.reveal_next(services, contest.slug)
    assert (step["last"]["team_id"], step["last"]["before"], step["last"]["after"]) == (t2, 3, 1)
    assert _order(await public()) == [t2, t0, t1]
    # Step 3: team 1 (now last) gets its wrong answer; it stays where it is.
    step = await freeze.reveal_next(services, contest.slug)
    assert step["last"]["team_id"] == t1 and step["last"]["solved"] is False
    board = await public()
    assert board.rows[2].cells[1].attempts == 1 and board.rows[2].cells[1].pending == 0
    assert board.frozen  # team 0's B is still hidden
    assert not board.rows[1].cells[1].solved and board.rows[1].cells[1].pending == 1
    # Step 4, the last: team 0's B puts it first, and the board is unfrozen.
    done = await freeze.reveal_next(services, contest.slug, steps=5)
    assert done["frozen"] is False
    final = await public()
    jury = await actions.scoreboard(services, final.contest, public=False)
    assert not final.frozen and _order(final) == _order(jury) == [t0, t2, t1]
    assert [[c.as_dict() for c in r.cells] for r in final.rows] == \
        [[c.as_dict() for c in r.cells] for r in jury.rows]
    with pytest.raises(actions.Invalid):
        await freeze.reveal_next(services, contest.slug)


async def test_reveal_needs_an_ended_frozen_contest(services) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_world

    running = await make_world(services, slug="running", freeze=True)
    with pytest.raises(actions.Invalid, match="after the contest has ended"):
        await freeze.start_reveal(services, running.contest.slug)
    unfrozen = await make_world(services, slug="open", freeze=False)
    with pytest.raises(actions.Invalid, match="not frozen"):
        await freeze.unfreeze(services, unfrozen.contest.slug)
    contest = await freeze.freeze_now(services, unfrozen.contest.slug)
    assert contest.freeze_at is not None and contest.is_frozen_at(utcnow())
    with pytest.raises(actions.Invalid, match="already frozen"):
        await freeze.freeze_now(services, unfrozen.contest.slug)
    contest = await freeze.unfreeze(services, unfrozen.contest.slug)
    assert contest.unfrozen and not contest.is_frozen_at(utcnow())
