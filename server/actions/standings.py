"""Standings upkeep after a change, and what follows it: index, levels, sync targets, hooks."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime
from collections.abc import Iterable

from sqlalchemy import and_, or_
from sqlmodel import col, select

from server.actions.base import emit, unit_of_work
from server.components import RowScore
from server.models import Contest, LevelState, Team, utcnow
from server.plugins import PluginError
from server.scoreboard import engine, reveal
from server.scoreboard.live import LiveState, PartialRows, ViewRows
from server.services import Services

__all__ = [
    "after_standings_change",
    "live_boards",
    "live_rows",
    "rebuild_standings",
    "refresh_live",
    "refresh_live_boundaries",
    "refresh_soon",
    "refresh_teams",
    "scoreboard",
]

log = logging.getLogger("podium.standings")


async def rebuild_standings(services: Services, contest_id: int) -> engine.Board | None:
    """Recompute every team's row from the submissions, refill the index, notify.

    Returns the new board, or None when the contest's scoring rule is not available (its plugin
    was removed): the server keeps running and the board waits for the rule to return.
    """
    return await refresh_teams(services, contest_id, None)


async def refresh_teams(
    services: Services, contest_id: int, team_ids: Iterable[int] | None, *,
    contest: Contest | None = None,
) -> engine.Board | None:
    """Recompute the rows of these teams (None = all) in one transaction, then notify.

    ``contest``: the contest as the caller just read it, in the transaction of the change
    (saves reading it again); else it is read here."""
    async with unit_of_work(services) as session:
        if contest is None or contest.id != contest_id:
            contest = await session.get(Contest, contest_id)
        if contest is None:
            return None
        try:
            rule, settings = services.plugins.for_contest(contest).scoring_rule()
        except PluginError:
            log.warning("contest %s: scoring rule %r unavailable", contest.slug,
                        contest.scoring_rule)
            return None
        everyone = team_ids is None
        if team_ids is None:
            team_ids = list(await session.exec(select(Team.id).where(Team.contest_id == contest_id)))
        rows = await engine.recompute_teams(session, contest, rule, settings, team_ids)  # type: ignore[arg-type]
    scores = {r.team_id: r.rank_score for r in rows}
    if everyone:
        await services.index.replace(contest_id, scores)
    else:
        await services.index.set_many(contest_id, scores)
    return await after_standings_change(services, contest, scores, whole=everyone,
                                        board_needed=everyone)


@dataclasses.dataclass
class _Pending:
    team_ids: set[int]
    task: asyncio.Task[None]


REFRESH_WINDOW = 0.2
"""Seconds a background refresh waits for more teams before it starts (a burst of
submissions costs one refresh per window instead of one each)."""


def refresh_soon(services: Services, contest_id: int, team_ids: Iterable[int]) -> None:
    """Recompute these teams' rows in the background, coalesced: the teams asked for within
    :data:`REFRESH_WINDOW`, or while a refresh of the contest runs, are done together.

    For callers that must answer before the boards move (a submission shows as pending a moment
    later). ``services.drain()`` waits for it; ``services.close()`` does too."""
    key = ("refresh", contest_id)
    entry = services.background.get(key)
    if entry is not None:
        entry.team_ids.update(team_ids)
        return
    pending = set(team_ids)

    async def run() -> None:
        try:
            await asyncio.sleep(REFRESH_WINDOW)  # gather what arrives meanwhile
            while pending:
                batch = sorted(pending)
                pending.clear()
                try:
                    await refresh_teams(services, contest_id, batch)
                except Exception:
                    log.exception("refreshing the standings of contest %s failed", contest_id)
        finally:
            services.background.pop(key, None)

    services.background[key] = _Pending(pending, asyncio.get_running_loop().create_task(
        run(), name=f"podium-refresh-{contest_id}"))


async def scoreboard(services: Services, contest: Contest, *, public: bool) -> engine.Board:
    """The ordered board of a contest (raises PluginError if its rule is unavailable).

    The public board honours the freeze; during a reveal it is the frozen board with the first
    ``contest.reveal_step`` pending cells revealed (``board.reveal`` = ``{step, total}``)."""
    rule, settings = services.plugins.for_contest(contest).scoring_rule()
    now = utcnow()
    async with services.db.read() as session:
        board = await engine.board(session, contest, rule, settings, public=public, now=now)
        if not (public and board.frozen and contest.reveal_step is not None):
            return board
        final = await engine.board(session, contest, rule, settings, public=False, now=now)
    rows, steps = reveal.reveal_board(rule, settings, final.problems, board.rows, final.rows,
                                      contest.reveal_step)
    total = sum(1 for row in board.rows for cell in row.cells if cell.pending)
    revealed = engine.Board(contest, board.problems, rows, frozen=True,
                            time_column=board.time_column)
    last = dataclasses.asdict(steps[-1]) if steps else None
    revealed.reveal = {"step": len(steps), "total": total, "last": last}  # type: ignore[attr-defined]
    return revealed


async def live_boards(services: Services, contest_id: int
                      ) -> tuple[Contest, dict[str, engine.Board | None]] | None:
    """The contest as stored now and the board of each live view (``jury``, ``public``).

    The public board is the jury board itself while nothing is hidden (started, not frozen);
    a view's board is None when the contest's scoring rule is unavailable."""
    async with services.db.read() as session:
        contest = await session.get(Contest, contest_id)
    if contest is None:
        return None
    try:
        jury = await scoreboard(services, contest, public=False)
    except PluginError:
        return contest, {"jury": None, "public": None}
    now = utcnow()
    if now >= contest.start_at and not contest.is_frozen_at(now):
        return contest, {"jury": jury, "public": jury}
    return contest, {"jury": jury, "public": await scoreboard(services, contest, public=True)}


async def live_rows(services: Services, contest_id: int, team_ids: set[int],
                    published: dict[str, LiveState]) -> PartialRows | None:
    """The rows of these teams in each live view, for a partial refresh of the published
    states (see :meth:`server.scoreboard.live.LiveBoards.refresh`): the jury rows from the
    stored standings (the recompute that preceded found every row the change affects), the
    public ones the same while nothing is hidden, and during the freeze folded from the
    attempts before it (with the teams whose first-to-solve marks move). None when only a full
    build will do: the rule is unavailable, a reveal runs, or problem values depend on solves
    (``solve_counts``) while the board is frozen."""
    async with services.db.read() as session:
        contest = await session.get(Contest, contest_id)
        if contest is None:
            return None
        try:
            rule, settings = services.plugins.for_contest(contest).scoring_rule()
        except PluginError:
            return None
        now = utcnow()
        problems = await engine.contest_problems(session, contest_id)
        jury = ViewRows(problems, False, rule.time_column, await engine.jury_rows(
            session, contest, rule, settings, team_ids, problems))
        frozen = contest.is_frozen_at(now)
        if now >= contest.start_at and not frozen:
            public = jury
        elif frozen:
            if contest.reveal_step is not None or rule.solve_counts:
                return None
            marks = {team_id: {c["problem_id"] for c in row["cells"] if c["first_to_solve"]}
                     for team_id, row in published["public"].rows.items()}
            public = ViewRows(problems, True, rule.time_column, await engine.frozen_rows(
                session, contest, rule, settings, team_ids, problems, marks))
        else:  # before the start the public board names no problem
            public = ViewRows([], False, rule.time_column, await engine.jury_rows(
                session, contest, rule, settings, team_ids, []))
    return PartialRows(contest, {"jury": jury, "public": public},
                       lambda score: rule.sort_key(score, settings), rule.dense_ranks)


async def refresh_live(services: Services, contest: Contest,
                       teams: Iterable[int] | None = None) -> None:
    """Publish the contest's live scoreboards if they changed (after a committed change);
    ``teams``: only these teams' rows changed (None: anything may have)."""
    if services.live is not None:
        await services.live.refresh(contest, teams)


async def refresh_live_boundaries(services: Services, since: datetime, now: datetime) -> int:
    """Refresh the live boards of contests that started, froze, ended or thawed in
    ``(since, now]`` (their public board changes without any verdict). Returns how many."""
    if services.live is None:
        return 0
    columns = (Contest.start_at, Contest.freeze_at, Contest.end_at, Contest.unfreeze_at)
    async with services.db.session() as session:
        contests = list(await session.exec(select(Contest).where(
            or_(*(and_(col(c) > since, col(c) <= now) for c in columns)))))
    for contest in contests:
        await services.live.refresh(contest)
    return len(contests)


async def after_standings_change(
    services: Services, contest: Contest, team_ids: Iterable[int], *, whole: bool = True,
    board_needed: bool = False,
) -> engine.Board | None:
    """After commit: the live boards, levels for the changed teams, then sync targets and the
    standings hook (they get the jury board the live refresh built, or one built here).

    ``whole``: every row may have changed (else only ``team_ids``' rows and the rows their
    change affects, which the recompute returned with them). The jury board is returned when
    one was built (a plugin needed it, or the live refresh had it), or always with
    ``board_needed``; else None."""
    changed = set(team_ids)
    await refresh_live(services, contest, None if whole else changed)
    plugins = services.plugins.for_contest(contest)
    board = services.live.jury_board(contest.id) if services.live is not None else None  # type: ignore[arg-type]
    needed = (board_needed or bool(plugins.level_systems()) or bool(plugins.sync_targets())
              or plugins.implements("podium_standings_changed"))
    if board is None and needed:
        try:
            board = await scoreboard(services, contest, public=False)
        except PluginError:
            return None
    rows = board.rows if board is not None else []  # no board: nobody below reads rows
    for system, settings in plugins.level_systems():
        for row in rows:
            if row.team.id in changed:
                await _update_level(services, contest, system, settings, row.team.id, row.score)
    for target, settings in plugins.sync_targets():
        try:
            await target.standings_changed(engine.contest_info(contest), rows, settings,
                                           services)
        except Exception:
            log.exception("sync target %s failed for contest %s", target.name, contest.slug)
    await emit(services, contest, "standings.changed",
               {"id": contest.id, "teams": sorted(changed)},
               hook="podium_standings_changed", rows=rows)
    return board


async def _update_level(services, contest, system, settings, team_id: int, score: RowScore) -> None:  # type: ignore[no-untyped-def]
    result = system.level_for(score, settings)
    async with unit_of_work(services) as session:
        state = (await session.exec(select(LevelState).where(
            LevelState.contest_id == contest.id, LevelState.team_id == team_id,
            LevelState.system == system.name))).first()
        old_level = state.level if state is not None else None
        if state is None:
            state = LevelState(contest_id=contest.id, team_id=team_id, system=system.name)
        elif state.level == result.level and state.progress == result.progress:
            return
        state.level = result.level
        state.level_index = result.index
        state.progress = result.progress
        state.updated_at = utcnow()
        session.add(state)
    if old_level != result.level:
        await emit(services, contest, "level.changed",
                   {"team_id": team_id, "system": system.name, "level": result.level,
                    "old": old_level},
                   hook="podium_level_changed", state=state, old_level=old_level)

