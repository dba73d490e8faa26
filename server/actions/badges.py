"""Awarding badges (once per contest, team and badge)."""

from __future__ import annotations

from sqlmodel import select

from server.actions.base import emit, unit_of_work
from server.components import BadgeGrant
from server.actions.errors import Conflict
from server.i18n import N_
from server.models import BadgeAward, Contest, User
from server.services import Services

__all__ = ["award_badge"]


async def award_badge(
    services: Services,
    contest: Contest,
    grant: BadgeGrant,
    *,
    plugin: str,
    actor: User | None = None,
) -> BadgeAward | None:
    """Store the award and emit ``podium_badge_awarded``; None if the team already has it."""
    try:
        async with unit_of_work(services, conflict=N_("awarded already")) as session:
            existing = (await session.exec(select(BadgeAward).where(
                BadgeAward.contest_id == contest.id, BadgeAward.team_id == grant.team_id,
                BadgeAward.badge == grant.badge))).first()
            if existing is not None:
                return None
            award = BadgeAward(contest_id=contest.id, team_id=grant.team_id,
                               user_id=grant.user_id, badge=grant.badge, plugin=plugin,
                               submission_id=grant.submission_id, data=dict(grant.data))
            session.add(award)
    except Conflict:  # a concurrent award of the same badge won
        return None
    await emit(services, contest, "badge.awarded",
               {"team_id": grant.team_id, "badge": grant.badge, "award_id": award.id},
               hook="podium_badge_awarded", award=award)
    return award

