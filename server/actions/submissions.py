"""Submitting code and recording verdicts."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, contest_by_ref, emit, get_or_404, unit_of_work
from server.actions.badges import award_badge
from server.actions.errors import Forbidden, Invalid, NotFound
from server.actions.leaderboards import feed_practice
from server.actions.queueing import enqueue_submission, fresh_pending
from server.actions.standings import refresh_soon, refresh_teams
from server.components import ProblemInfo, TeamInfo, Verdict, VerdictEvent
from server.i18n import N_
from server.models import (
    Contest,
    ContestLanguage,
    ContestProblem,
    Judging,
    JudgingRun,
    Rejudging,
    Role,
    Submission,
    SubmissionFile,
    SubmissionStatus,
    Team,
    TeamMember,
    User,
    utcnow,
)
from server.scoreboard.engine import contest_info
from server.services import Services

__all__ = ["MAX_FILES", "MAX_SOURCE_BYTES", "finish_rejudging_if_done", "record_verdict", "submit"]

log = logging.getLogger("podium.submissions")

MAX_FILES = 20
MAX_SOURCE_BYTES = 256 * 1024
FILENAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}$")
STAFF = {Role.ADMIN.value, Role.ORGANIZER.value, Role.JURY.value}


def _check_files(files: Mapping[str, bytes]) -> None:
    if not files:
        raise Invalid(N_("a submission needs at least one source file"), field="files")
    if len(files) > MAX_FILES:
        raise Invalid(N_("at most %(max_files)s files per submission"),
                      max_files=MAX_FILES, field="files")
    total = 0
    for name, content in files.items():
        if not FILENAME_RE.match(name):
            raise Invalid(N_("file name %(name)r is not allowed (letters, digits, _ . + -)"),
                          name=name,
                          field="files")
        total += len(content)
    if total > MAX_SOURCE_BYTES:
        raise Invalid(N_("the source is %(total)s bytes; the limit is %(max_source_bytes)s"),
                      total=total, max_source_bytes=MAX_SOURCE_BYTES,
                      field="files")


def source_hash(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


async def submit(
    services: Services,
    *,
    contest: int | str,
    team_id: int,
    problem: str | int,
    language: str,
    files: Mapping[str, bytes],
    user: User | None,
    origin: str = "web",
    entry_point: str | None = None,
    trusted: bool = False,
    at: datetime | None = None,
    refresh_later: bool = False,
) -> Submission:
    """Store a submission as queued and put it on the judge queue.

    ``problem`` is the contest label (or the problem id). A contestant must be in the team and
    the contest must be running; staff may submit for any team at any time. ``trusted`` callers
    (the CLI, importers, the demo) skip those checks and may set the submission time ``at``.
    """
    _check_files(files)
    if at is not None and not trusted:
        raise Forbidden(N_("only trusted callers may set the submission time"))
    now = at or utcnow()
    is_staff = trusted or (user is not None and user.role in STAFF)
    async with unit_of_work(services) as session:
        the_contest = await contest_by_ref(session, contest)
        team = await get_or_404(session, Team, team_id, "team")
        if team.contest_id != the_contest.id:
            raise NotFound(N_("team %(team_id)s is not in contest %(contest)r"),
                           team_id=team_id, contest=the_contest.slug)
        if not is_staff:
            if user is None:
                raise Forbidden(N_("log in to submit"))
            member = (await session.exec(select(TeamMember).where(
                TeamMember.team_id == team_id, TeamMember.user_id == user.id))).first()
            if member is None:
                raise Forbidden(N_("you are not a member of this team"))
            if not team.is_active:
                raise Forbidden(N_("your team is waiting for an organizer's approval"))
            if not the_contest.is_practice and not (
                the_contest.start_at <= now < the_contest.end_at
            ):
                raise Forbidden(N_("the contest is not running"))
        query = select(ContestProblem).where(ContestProblem.contest_id == the_contest.id)
        if isinstance(problem, int):
            query = query.where(ContestProblem.problem_id == problem)
        else:
            query = query.where(ContestProblem.label == problem)
        link = (await session.exec(query)).first()
        if link is None:
            raise NotFound(N_("problem %(problem)r is not in contest %(contest)r"),
                           problem=problem, contest=the_contest.slug, field="problem")
        if language not in services.plugins.languages:
            raise Invalid(N_("no language named %(language)r"), language=language, field="language")
        enabled = await session.get(ContestLanguage, (the_contest.id, language))
        if enabled is None:
            raise Invalid(N_("language %(language)r is not enabled for this contest"),
                          language=language,
                          field="language")
        pending = await fresh_pending(session, team_id)
        submission = Submission(
            contest_id=the_contest.id, team_id=team_id, user_id=user.id if user else None,
            problem_id=link.problem_id, language=language, submitted_at=now,
            source_hash=source_hash(files), entry_point=entry_point, origin=origin,
        )
        session.add(submission)
        await session.flush()
        for name, content in files.items():
            session.add(SubmissionFile(submission_id=submission.id, filename=name,
                                       content=content))
        audit(session, actor=user, action="submission.create", object_type="submission",
              object_id=submission.id, contest_id=the_contest.id,
              data={"team_id": team_id, "problem": link.label, "language": language})
    await enqueue_submission(services, submission_id=submission.id,  # type: ignore[arg-type]
                             contest_id=the_contest.id,  # type: ignore[arg-type]
                             practice=the_contest.is_practice, pending=pending)
    await emit(services, the_contest, "submission.created",
               {"id": submission.id, "team_id": team_id, "problem": link.label,
                "language": language},
               hook="podium_submission_created", submission=submission)
    # The new attempt shows as pending on the boards (and in the frozen public view): now, or
    # (``refresh_later``: a web form that should answer at once) coalesced in the background.
    if refresh_later:
        refresh_soon(services, the_contest.id, [team_id])  # type: ignore[arg-type]
    else:
        await refresh_teams(services, the_contest.id, [team_id])  # type: ignore[arg-type]
    return submission


async def record_verdict(
    services: Services,
    submission_id: int,
    verdict: Verdict | str,
    *,
    score: float | None = None,
    judge_host: str | None = None,
    job_key: str | None = None,
    runs: Sequence[Mapping[str, Any]] = (),
    compile_output: str = "",
    error: str = "",
    max_time_ms: int | None = None,
    max_memory_kb: int | None = None,
    actor: User | None = None,
) -> Judging:
    """Record a finished judging. With a ``job_key``, a second call records nothing.

    The job of the latest rejudge of a submission (or, never rejudged, its latest result)
    decides its verdict. A result whose job a rejudge replaced meanwhile (a late post of the old
    job) is kept as history (``is_current`` False) and changes neither the submission nor the
    standings: the job key decides which result is which. A rejudge's pending judging (created
    by ``rejudge``, keyed at claim time) is filled in; the last one of a rejudging marks it
    finished.
    """
    try:
        verdict = Verdict(verdict)
    except ValueError:
        raise Invalid(N_("unknown verdict %(verdict)r"), verdict=verdict, field="verdict") from None
    if score is not None and not 0.0 <= score <= 1.0:
        raise Invalid(N_("score must be a fraction between 0 and 1"), field="score")
    try:
        async with unit_of_work(services) as session:
            judging = None
            if job_key is not None:
                judging = (await session.exec(select(Judging).where(
                    Judging.job_key == job_key))).first()
                if judging is not None and judging.verdict is not None:
                    return judging  # recorded already (a retried post): nothing to do
            found = (await session.exec(select(Submission, Contest).join(
                Contest, col(Contest.id) == Submission.contest_id).where(
                Submission.id == submission_id))).first()
            if found is None:
                raise NotFound(N_("submission %(submission_id)r does not exist"),
                               submission_id=submission_id)
            submission, contest = found
            # The submission's judgings so far (a few at most): is a rejudge's the current one?
            others = list(await session.exec(select(Judging).where(
                Judging.submission_id == submission_id)))
            if judging is not None:  # a rejudge's pending judging, claimed by this job
                if judging.submission_id != submission_id:
                    raise Invalid(N_("job %(job_key)r judges submission %(judging_submission_id)s, "
                                     "not %(submission_id)s"),
                                  job_key=job_key, judging_submission_id=judging.submission_id,
                                  submission_id=submission_id, field="submission_id")
                current = not any(  # unless a later rejudge replaced it
                    j.id > judging.id and j.rejudging_id is not None  # type: ignore[operator]
                    for j in others)
            else:
                current = job_key is None or not any(j.rejudging_id is not None for j in others)
                judging = Judging(submission_id=submission_id, job_key=job_key)
            if current:
                for old in others:
                    if old.is_current:
                        old.is_current = False
                        session.add(old)
            judging.judge_host = judge_host or judging.judge_host
            judging.finished_at = utcnow()
            judging.verdict = verdict.value
            judging.score = score
            judging.max_time_ms = max_time_ms
            judging.max_memory_kb = max_memory_kb
            judging.compile_output = compile_output[:65536]
            judging.error = error[:65536]
            judging.is_current = current
            session.add(judging)
            await session.flush()
            for run in runs:
                session.add(JudgingRun(judging_id=judging.id, **dict(run)))
            if current:
                submission.status = (SubmissionStatus.ERROR.value
                                     if verdict is Verdict.JUDGE_ERROR
                                     else SubmissionStatus.JUDGED.value)
                submission.verdict = verdict.value
                submission.score = score
                submission.current_judging_id = judging.id
                session.add(submission)
            audit(session, actor=actor, action="judging.verdict", object_type="submission",
                  object_id=submission_id, contest_id=contest.id,
                  data={"verdict": verdict.value, "score": score, "judging_id": judging.id,
                        "judge_host": judging.judge_host, "current": current,
                        "rejudging_id": judging.rejudging_id})
            if judging.rejudging_id is not None:
                await finish_rejudging_if_done(session, judging.rejudging_id)
            # What badges see, read in this transaction; only when the contest has badges.
            badges = services.plugins.for_contest(contest).badges()
            event = (await _verdict_event(session, contest, submission, verdict)
                     if badges and current else None)
    except IntegrityError:
        if job_key is not None:  # a concurrent post of the same result won the race
            existing = await _judging_by_key(services, job_key)
            if existing is not None:
                return existing
        raise
    if not current:
        log.info("submission %s: judging %s (%s) was replaced by a rejudge; kept as history",
                 submission_id, judging.id, verdict.value)
        return judging
    # The verdict is stored: what follows derives from it. A failure here is logged and the
    # rest still runs (the team's page must hear of its verdict; a retried post of the same
    # job would return the stored judging without any of this).
    try:
        await refresh_teams(services, contest.id, [submission.team_id],  # type: ignore[arg-type,list-item]
                            contest=contest)
    except Exception:
        log.exception("submission %s: refreshing the standings failed", submission_id)
    if contest.is_practice:
        try:
            await feed_practice(services, submission, judging)
        except Exception:
            log.exception("submission %s: feeding the practice leaderboard failed",
                          submission_id)
    for badge, settings in badges:
        assert event is not None
        try:
            grants = badge.on_verdict(event, settings)
        except Exception:
            log.exception("badge %s failed", badge.name)
            continue
        for grant in grants:
            await award_badge(services, contest, grant,
                              plugin=services.plugins.badges.providers[badge.name])
    await emit(services, contest, "judging.finished",
               {"submission_id": submission_id, "team_id": submission.team_id,
                "judging_id": judging.id, "verdict": verdict.value},
               hook="podium_verdict_recorded", submission=submission, judging=judging)
    return judging


async def finish_rejudging_if_done(session: AsyncSession, rejudging_id: int) -> bool:
    """Mark the rejudging finished once none of its judgings is pending (in the caller's
    transaction); True if this call did it."""
    await session.flush()
    if await _exists(session, select(Judging.id).where(
            Judging.rejudging_id == rejudging_id, col(Judging.finished_at).is_(None))):
        return False
    rejudging = await session.get(Rejudging, rejudging_id)
    if rejudging is None or rejudging.finished_at is not None:
        return False
    rejudging.finished_at = utcnow()
    session.add(rejudging)
    return True


async def _exists(session: AsyncSession, query: Any) -> bool:
    return (await session.exec(query.limit(1))).first() is not None


async def _judging_by_key(services: Services, job_key: str) -> Judging | None:
    async with services.db.session() as session:
        return (await session.exec(select(Judging).where(Judging.job_key == job_key))).first()


async def _verdict_event(session, contest: Contest, sub: Submission, verdict: Verdict) -> VerdictEvent:  # type: ignore[no-untyped-def]
    team = await session.get(Team, sub.team_id)
    link = (await session.exec(select(ContestProblem).where(
        ContestProblem.contest_id == contest.id,
        ContestProblem.problem_id == sub.problem_id))).one()
    earlier = (
        select(func.count())
        .select_from(Submission)
        .where(
            Submission.contest_id == contest.id,
            Submission.verdict == Verdict.ACCEPTED.value,
            Submission.id != sub.id,
            (Submission.submitted_at < sub.submitted_at)
            | ((Submission.submitted_at == sub.submitted_at) & (col(Submission.id) < sub.id)),
        )
    )
    accepted_before = (await session.exec(earlier)).one()
    team_before = (await session.exec(earlier.where(Submission.team_id == sub.team_id))).one()
    return VerdictEvent(
        contest=contest_info(contest),
        team=TeamInfo(team.id, team.display_name or team.name),
        user_id=sub.user_id,
        problem=ProblemInfo(id=link.problem_id, label=link.label, points=link.points,
                            ordinal=link.ordinal),
        submission_id=sub.id,
        verdict=verdict,
        contest_seconds=(sub.submitted_at - contest.start_at).total_seconds(),
        accepted_before=accepted_before,
        team_accepted_before=team_before,
    )
