from __future__ import annotations

from server import actions
from tests.factories import make_world, solve


async def test_world_and_verdict(services) -> None:
    world = await make_world(services)
    await solve(services, world, 0, "A", "AC", 10)
    board = await actions.scoreboard(services, world.contest, public=False)
    assert [r.team.id for r in board.rows][0] == world.teams[0].id
    assert board.rows[0].score.points == 100.0
