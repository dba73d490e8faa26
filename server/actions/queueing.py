"""Putting a submission on the judge queue with its priority and band (see :mod:`server.queue`).

Priority: contest work (:data:`~server.queue.HIGH`) before practice (:data:`~server.queue.LOW`).
Band inside it: :func:`server.queue.band_for` — a fresh submission goes to band
``min(pending, 3)``, where ``pending`` counts its team's *other* submissions that still wait
for a first verdict, so a team with fewer pending submissions is judged first; rejudges go to
the last band, after every fresh submission of their priority.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.models import Submission, SubmissionStatus
from server.queue import HIGH, LOW, band_for
from server.services import Services

__all__ = ["enqueue_submission", "fresh_pending", "priority_of"]

log = logging.getLogger("podium.queueing")

WAITING = (SubmissionStatus.QUEUED.value, SubmissionStatus.JUDGING.value)


def priority_of(practice: bool) -> int:
    """:data:`~server.queue.LOW` for a practice contest, else :data:`~server.queue.HIGH`."""
    return LOW if practice else HIGH


async def fresh_pending(session: AsyncSession, team_id: int, *,
                        exclude: int | None = None) -> int:
    """The team's submissions waiting for their first verdict (a rejudged submission keeps
    its verdict meanwhile, so rejudges never count against a team)."""
    query = select(func.count()).select_from(Submission).where(
        Submission.team_id == team_id, col(Submission.status).in_(WAITING),
        col(Submission.verdict).is_(None))
    if exclude is not None:
        query = query.where(Submission.id != exclude)
    return int((await session.exec(query)).one())


async def enqueue_submission(
    services: Services,
    *,
    submission_id: int,
    contest_id: int,
    practice: bool,
    pending: int = 0,
    attempt: int = 1,
    judging_id: int | None = None,
    rejudging_id: int | None = None,
) -> str | None:
    """Queue one judging of a submission; returns the job id, or None when the queue failed
    (logged: the submission is committed, and ``requeue_unjudged`` queues it again).

    ``judging_id`` names the pending judging row of a rejudge (its job goes to the rejudge
    band); without it, ``pending`` (the team's other fresh pending submissions) picks the band.
    """
    payload: dict[str, Any] = {"submission_id": submission_id, "contest_id": contest_id}
    if attempt != 1:
        payload["attempt"] = attempt
    if judging_id is not None:
        payload["judging_id"] = judging_id
        payload["rejudging_id"] = rejudging_id
    try:
        return await services.queue.enqueue(
            payload, priority=priority_of(practice),
            band=band_for(pending=pending, rejudge=judging_id is not None))
    except Exception:  # stored and committed: `requeue_unjudged` re-enqueues it
        log.exception("could not enqueue submission %s", submission_id)
        return None
