"""Badge ``first_accepted``: a team's first accepted submission in a contest."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from server.components import Badge, BadgeGrant, VerdictEvent
from server.hooks import hookimpl

__all__ = ["FirstAccepted"]


class FirstAccepted(Badge):
    name = "first_accepted"
    title = "First accepted"
    description = "Awarded for the team's first accepted submission."

    def on_verdict(self, event: VerdictEvent, settings: BaseModel) -> Sequence[BadgeGrant]:
        if not event.verdict.is_accepted or event.team_accepted_before:
            return []
        return [
            BadgeGrant(
                badge=self.name,
                team_id=event.team.id,
                user_id=event.user_id,
                submission_id=event.submission_id,
                data={"problem": event.problem.label,
                      "contest_seconds": event.contest_seconds,
                      "first_in_contest": event.accepted_before == 0},
            )
        ]


@hookimpl
def podium_badges() -> list[Badge]:
    return [FirstAccepted()]
