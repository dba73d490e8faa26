"""Freeze, unfreeze and the step-by-step reveal of a frozen scoreboard.

The freeze itself is a time (``contest.freeze_at``); after it the public board shows later
attempts as pending while the jury board stays live. The board thaws at ``unfreeze_at``, by the
jury's button (:func:`unfreeze`), or at the end of a reveal (:func:`reveal_next`): the public
board then shows the frozen board with ``contest.reveal_step`` pending cells revealed, from the
bottom up (see :mod:`server.scoreboard.reveal`).
"""

from __future__ import annotations

from typing import Any

from server.actions.base import audit, contest_by_ref, unit_of_work
from server.actions.contests import update_contest
from server.actions.errors import Invalid
from server.actions.standings import refresh_live, scoreboard
from server.i18n import N_
from server.models import Contest, User, utcnow
from server.services import Services

__all__ = ["end_now", "freeze_now", "reveal_next", "reveal_status", "start_now", "start_reveal",
           "unfreeze"]


async def _contest(services: Services, ref: int | str) -> Contest:
    async with services.db.read() as session:
        return await contest_by_ref(session, ref)


async def freeze_now(services: Services, ref: int | str, *, actor: User | None = None) -> Contest:
    """Freeze the public board from this moment (the contest must be running)."""
    contest = await _contest(services, ref)
    now = utcnow()
    if not contest.start_at <= now < contest.end_at:
        raise Invalid(N_("only a running contest can be frozen"))
    if contest.is_frozen_at(now):
        raise Invalid(N_("the scoreboard is already frozen"))
    return await update_contest(services, contest.id, actor=actor, freeze_at=now,  # type: ignore[arg-type]
                                unfrozen=False)


async def start_now(services: Services, ref: int | str, *, actor: User | None = None) -> Contest:
    """Start a scheduled contest at this moment (its end stays where it was)."""
    contest = await _contest(services, ref)
    now = utcnow().replace(microsecond=0)
    if now >= contest.start_at:
        raise Invalid(N_("the contest has already started"))
    if now >= contest.end_at:
        raise Invalid(N_("the contest's end is in the past: move it first"))
    changes: dict[str, object] = {"start_at": now}
    if contest.freeze_at is not None and contest.freeze_at < now:
        changes["freeze_at"] = now
    return await update_contest(services, contest.id, actor=actor, **changes)  # type: ignore[arg-type]


async def end_now(services: Services, ref: int | str, *, actor: User | None = None) -> Contest:
    """End a running contest at this moment. A freeze planned for later is dropped; a board
    frozen now stays frozen (for the reveal)."""
    contest = await _contest(services, ref)
    now = utcnow()
    if not contest.start_at <= now < contest.end_at:
        raise Invalid(N_("only a running contest can be ended"))
    changes: dict[str, object] = {"end_at": now}
    if contest.freeze_at is not None and contest.freeze_at > now:
        changes["freeze_at"] = None
    return await update_contest(services, contest.id, actor=actor, **changes)  # type: ignore[arg-type]


async def unfreeze(services: Services, ref: int | str, *, actor: User | None = None) -> Contest:
    """Show every result on the public board now (the jury's button)."""
    contest = await _contest(services, ref)
    if not contest.is_frozen_at(utcnow()):
        raise Invalid(N_("the scoreboard is not frozen"))
    async with unit_of_work(services) as session:
        stored = await contest_by_ref(session, contest.id)  # type: ignore[arg-type]
        stored.reveal_step = None
        session.add(stored)
    return await update_contest(services, contest.id, actor=actor, unfrozen=True)  # type: ignore[arg-type]


async def reveal_status(services: Services, ref: int | str) -> dict[str, Any]:
    """``{"active", "step", "total", "frozen", "last"}`` of the contest's reveal."""
    contest = await _contest(services, ref)
    board = await scoreboard(services, contest, public=True)
    reveal = getattr(board, "reveal", None)
    if reveal is None:
        pending = sum(1 for row in board.rows for cell in row.cells if cell.pending)
        return {"active": False, "step": 0, "total": pending, "frozen": board.frozen,
                "last": None}
    return {"active": True, "frozen": board.frozen, **reveal}


async def start_reveal(services: Services, ref: int | str, *, actor: User | None = None
                       ) -> dict[str, Any]:
    """Begin the reveal of an ended contest's frozen board (nothing is revealed yet)."""
    contest = await _contest(services, ref)
    now = utcnow()
    if now < contest.end_at:
        raise Invalid(N_("the reveal starts after the contest has ended"))
    if not contest.is_frozen_at(now):
        raise Invalid(N_("the public scoreboard is not frozen: there is nothing to reveal"))
    async with unit_of_work(services) as session:
        stored = await contest_by_ref(session, contest.id)  # type: ignore[arg-type]
        if stored.reveal_step is not None:
            raise Invalid(N_("the reveal has already started"))
        stored.reveal_step = 0
        session.add(stored)
        audit(session, actor=actor, action="contest.reveal", object_type="contest",
              object_id=stored.id, contest_id=stored.id, data={"step": 0})
    await refresh_live(services, stored)
    return await reveal_status(services, stored.id)  # type: ignore[arg-type]


async def reveal_next(services: Services, ref: int | str, *, steps: int = 1,
                      actor: User | None = None) -> dict[str, Any]:
    """Reveal the next ``steps`` pending cells; after the last one the board is unfrozen."""
    if steps < 1:
        raise Invalid(N_("steps must be at least 1"), field="steps")
    contest = await _contest(services, ref)
    if contest.reveal_step is None:
        raise Invalid(N_("the reveal has not started"))
    status = await reveal_status(services, contest.id)  # type: ignore[arg-type]
    if not status["frozen"]:
        raise Invalid(N_("the scoreboard is already unfrozen"))
    step = min(contest.reveal_step + steps, status["total"])
    async with unit_of_work(services) as session:
        stored = await contest_by_ref(session, contest.id)  # type: ignore[arg-type]
        if stored.reveal_step != contest.reveal_step:
            raise Invalid(N_("another reveal step was taken at the same time; try again"))
        stored.reveal_step = step
        session.add(stored)
        audit(session, actor=actor, action="contest.reveal", object_type="contest",
              object_id=stored.id, contest_id=stored.id, data={"step": step})
    if step < status["total"]:
        await refresh_live(services, stored)
        return await reveal_status(services, contest.id)  # type: ignore[arg-type]
    done = await reveal_status(services, contest.id)  # type: ignore[arg-type]
    await update_contest(services, contest.id, actor=actor, unfrozen=True)  # type: ignore[arg-type]
    return {**done, "active": False, "frozen": False}
