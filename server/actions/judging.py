"""Judge hosts, test data and the judge queue's server side: claim, heartbeat, result."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.actions.base import audit, contest_by_ref, get_or_404, publish, unit_of_work
from server.actions.errors import Conflict, Invalid, NotFound
from server.actions.queueing import enqueue_submission, fresh_pending
from server.actions.submissions import finish_rejudging_if_done, record_verdict
from server.actions.users import hash_token
from server.blobs import BlobStore
from server.components import Verdict
from server.i18n import N_
from server.judge_protocol import (
    Job,
    JobFile,
    JudgeResult,
    TestCaseSpec,
    TestGroupSpec,
    ValidatorSpec,
)
from server.models import (
    Contest,
    ContestProblem,
    JudgeHost,
    Judging,
    Problem,
    Rejudging,
    Submission,
    SubmissionFile,
    SubmissionStatus,
    TestCase,
    TestGroup,
    User,
    utcnow,
)
from server.services import Services

__all__ = [
    "MAX_JUDGE_ATTEMPTS",
    "RejudgingSummary",
    "add_test_case",
    "blob_store",
    "claim_job",
    "create_judge_host",
    "finish_job",
    "heartbeat_job",
    "judge_host_for_token",
    "judgings_of",
    "list_rejudgings",
    "rejudge",
    "requeue_unjudged",
]

log = logging.getLogger("podium.judging")

MAX_JUDGE_ATTEMPTS = 3
HOST_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_TEST_BYTES = 512 * 1024 * 1024


def blob_store(services: Services) -> BlobStore:
    return BlobStore(services.settings.data_dir / "blobs")


async def create_judge_host(
    services: Services, name: str, *, actor: User | None = None
) -> tuple[JudgeHost, str]:
    """Register a judge host; returns it with its token (shown once, stored hashed)."""
    if not HOST_RE.match(name) or name.startswith("~"):
        raise Invalid(N_("judge host name must be 1-64 letters, digits, '_', '.' or '-'"),
                      field="name")
    token = "judge_" + secrets.token_urlsafe(32)
    host = JudgeHost(name=name, token_hash=hash_token(token))
    async with unit_of_work(services, conflict=(N_("judge host %(name)r already exists"),
                                                {"name": name})) as session:
        session.add(host)
        await session.flush()
        audit(session, actor=actor, action="judgehost.create", object_type="judge_host",
              object_id=host.id, data={"name": name})
    return host, token


async def judge_host_for_token(services: Services, token: str) -> JudgeHost | None:
    async with unit_of_work(services) as session:
        host = (await session.exec(select(JudgeHost).where(
            JudgeHost.token_hash == hash_token(token)))).first()
        if host is None or not host.is_active:
            return None
        host.last_seen_at = utcnow()
        session.add(host)
        return host


async def add_test_case(
    services: Services,
    problem: int | str,
    *,
    name: str,
    input: bytes,
    answer: bytes,
    group: str | None = None,
    group_points: float = 0.0,
    is_sample: bool = False,
    actor: User | None = None,
) -> TestCase:
    """Store one test case (data in the blob store), creating its group if needed."""
    if not name or len(name) > 255:
        raise Invalid(N_("test case name must be 1-255 characters"), field="name")
    if len(input) + len(answer) > MAX_TEST_BYTES:
        raise Invalid(N_("test case is too large"), field="input")
    store = blob_store(services)
    input_hash, answer_hash = store.put(input), store.put(answer)
    async with unit_of_work(services, conflict=(N_("test case %(name)r exists"),
                                                {"name": name})) as session:
        query = select(Problem)
        query = query.where(Problem.id == problem) if isinstance(problem, int) else query.where(
            Problem.slug == problem)
        the_problem = (await session.exec(query)).first()
        if the_problem is None:
            raise NotFound(N_("problem %(problem)r does not exist"), problem=problem)
        group_id = None
        if group is not None:
            found = (await session.exec(select(TestGroup).where(
                TestGroup.problem_id == the_problem.id, TestGroup.name == group))).first()
            if found is None:
                count = len(list(await session.exec(select(TestGroup.id).where(
                    TestGroup.problem_id == the_problem.id))))
                found = TestGroup(problem_id=the_problem.id, name=group, points=group_points,
                                  is_sample=is_sample, ordinal=count)
                session.add(found)
                await session.flush()
            group_id = found.id
        ordinal = len(list(await session.exec(select(TestCase.id).where(
            TestCase.problem_id == the_problem.id))))
        case = TestCase(problem_id=the_problem.id, group_id=group_id, name=name,
                        ordinal=ordinal, is_sample=is_sample, input_hash=input_hash,
                        answer_hash=answer_hash, input_size=len(input),
                        answer_size=len(answer))
        session.add(case)
        await session.flush()
        audit(session, actor=actor, action="problem.testcase", object_type="problem",
              object_id=the_problem.id, data={"name": name, "input": input_hash,
                                              "answer": answer_hash})
    return case


async def _job_for(services: Services, job_id: str, payload: dict[str, Any],
                   attempt: int, host: JudgeHost) -> Job | None:
    """The job spec of a queue entry; None if its submission is gone or a rejudge replaced
    the job (the pending judging of a rejudge gets the job's id as its key here)."""
    async with unit_of_work(services) as session:
        submission = await session.get(Submission, payload.get("submission_id"))
        if submission is None:
            return None
        judging_id = payload.get("judging_id")
        if judging_id is not None:
            pending = await session.get(Judging, judging_id)
            if (pending is None or pending.submission_id != submission.id
                    or pending.finished_at is not None):
                return None  # a newer rejudge replaced this one
            pending.job_key = job_id
            pending.judge_host = host.name
            pending.started_at = utcnow()
            session.add(pending)
        elif (await session.exec(select(Judging.id).where(
                Judging.submission_id == submission.id,
                col(Judging.rejudging_id).is_not(None)).limit(1))).first() is not None:
            return None  # queued before a rejudge of the submission: the rejudge's job counts
        problem = await session.get(Problem, submission.problem_id)
        assert problem is not None
        files = list(await session.exec(select(SubmissionFile).where(
            SubmissionFile.submission_id == submission.id).order_by(
            col(SubmissionFile.filename))))
        groups = list(await session.exec(select(TestGroup).where(
            TestGroup.problem_id == problem.id).order_by(col(TestGroup.ordinal))))
        tests = list(await session.exec(select(TestCase).where(
            TestCase.problem_id == problem.id).order_by(
            col(TestCase.is_sample).desc(), col(TestCase.ordinal), col(TestCase.name))))
        submission.status = SubmissionStatus.JUDGING.value
        session.add(submission)
    return Job(
        job_id=job_id, submission_id=submission.id or 0, attempt=attempt,
        language=submission.language,
        files=[JobFile.of(f.filename, f.content) for f in files],
        entry_point=submission.entry_point, time_limit_ms=problem.time_limit_ms,
        memory_limit_mb=problem.memory_limit_mb, output_limit_kb=problem.output_limit_kb,
        checker=problem.checker, checker_flags=problem.checker_flags.split(),
        stop_on_first_failure=problem.stop_on_first_failure,
        groups=[TestGroupSpec(id=g.id or 0, name=g.name, points=g.points,
                              is_sample=g.is_sample, checker_flags=_group_flags(problem, g))
                for g in groups],
        tests=[TestCaseSpec(id=t.id or 0, name=t.name, group_id=t.group_id,
                            is_sample=t.is_sample, input_hash=t.input_hash,
                            answer_hash=t.answer_hash) for t in tests],
        validator=(ValidatorSpec(archive_hash=problem.validator_hash)
                   if problem.validator_hash else None),
        interactive=problem.interactive,
    )


def _group_flags(problem: Problem, group: TestGroup) -> list[str] | None:
    """A group's own validator flags (testdata.yaml), when they differ from the problem's."""
    flags = (group.settings or {}).get("validator_flags")
    if not isinstance(flags, list) or flags == problem.checker_flags.split():
        return None
    return [str(f) for f in flags]


async def claim_job(services: Services, host: JudgeHost, *, timeout: float) -> Job | None:
    """Long-poll the queue for this host; None when nothing came within ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, 0.0)
    while True:
        queued = await services.queue.claim(host.name, timeout=max(deadline - loop.time(), 0))
        if queued is None:
            return None
        attempt = int(queued.payload.get("attempt", 1))
        job = await _job_for(services, queued.id, queued.payload, attempt, host)
        if job is not None:
            await publish(services, "judging.started",
                          {"submission_id": job.submission_id, "host": host.name},
                          contest_id=queued.payload.get("contest_id"))
            return job
        await services.queue.ack(queued.id)  # its submission was deleted, or it was replaced


async def heartbeat_job(services: Services, host: JudgeHost, job_id: str) -> None:
    if not await services.queue.heartbeat(job_id, host.name):
        raise Conflict(N_("this job is no longer yours (its lease expired and it was reclaimed)"))


async def finish_job(services: Services, host: JudgeHost, job_id: str,
                     result: JudgeResult) -> None:
    """Record a result (once per job), or retry a judge error a few times before giving up."""
    async with services.db.session() as session:
        submission = await session.get(Submission, result.submission_id)
        if submission is None:
            raise NotFound(N_("submission %(result_submission_id)s does not exist"),
                           result_submission_id=result.submission_id)
        contest = await get_or_404(session, Contest, submission.contest_id, "contest")
    if result.verdict is Verdict.JUDGE_ERROR:
        attempt = result.attempt
        log.warning("judge error on %s for submission %s (attempt %s): %s", host.name,
                    result.submission_id, attempt, result.error[:500])
        if attempt < MAX_JUDGE_ATTEMPTS and await services.queue.ack(job_id):
            async with services.db.session() as session:
                pending = (await session.exec(select(Judging).where(
                    Judging.job_key == job_id, col(Judging.verdict).is_(None)))).first()
                waiting = await fresh_pending(session, submission.team_id,
                                              exclude=submission.id)
            await enqueue_submission(
                services, submission_id=result.submission_id, contest_id=contest.id,  # type: ignore[arg-type]
                practice=contest.is_practice, pending=waiting, attempt=attempt + 1,
                judging_id=pending.id if pending else None,
                rejudging_id=pending.rejudging_id if pending else None)
            return
    await record_verdict(
        services, result.submission_id, result.verdict, score=result.score,
        judge_host=host.name, job_key=job_id,
        runs=[r.model_dump(mode="json") for r in result.runs],
        compile_output=result.compile_output, error=result.error,
        max_time_ms=result.max_time_ms, max_memory_kb=result.max_memory_kb)
    await services.queue.ack(job_id)


async def requeue_unjudged(services: Services) -> int:
    """Put every queued or judging submission (back) on the queue; returns how many.

    The embedded mode calls this at start-up (its memory queue died with the last process);
    in production ``podium queue rebuild`` does, after the Redis queue was lost.
    """
    async with services.db.session() as session:
        rows = list(await session.exec(
            select(Submission, Contest.is_practice)
            .join(Contest, Contest.id == Submission.contest_id)  # type: ignore[arg-type]
            .where(col(Submission.status).in_([SubmissionStatus.QUEUED.value,
                                               SubmissionStatus.JUDGING.value]))
            .order_by(col(Submission.submitted_at), col(Submission.id))))
        pending_rows = {j.submission_id: j for j in await session.exec(
            select(Judging).where(col(Judging.finished_at).is_(None))
            .order_by(col(Judging.id)))}
    fresh: dict[int, int] = defaultdict(int)
    for submission, practice in rows:
        pending = pending_rows.get(submission.id)  # type: ignore[arg-type]
        if pending is None:  # the k-th waiting submission of its team gets band min(k, 3)
            waiting = fresh[submission.team_id]
            fresh[submission.team_id] += 1
        await enqueue_submission(
            services, submission_id=submission.id, contest_id=submission.contest_id,  # type: ignore[arg-type]
            practice=practice, pending=waiting if pending is None else 0,
            judging_id=pending.id if pending else None,
            rejudging_id=pending.rejudging_id if pending else None)
    return len(rows)


# ------------------------------------------------------------------ rejudging


async def rejudge(
    services: Services,
    contest: int | str,
    *,
    submission_id: int | None = None,
    problem: int | str | None = None,
    verdicts: Iterable[str] = (),
    reason: str = "",
    actor: User | None = None,
) -> Rejudging:
    """Judge submissions of a contest again, keeping every earlier judging.

    Scope: one submission, one problem (its contest label or its slug, or the problem id),
    or the whole contest; ``verdicts`` keeps only submissions whose current verdict is one of
    them (e.g. every ``JE`` and ``TLE``). Each submission gets a pending judging of the new
    :class:`Rejudging` and goes back to ``queued`` with a fresh job in the rejudge band; until
    the new verdict arrives its current verdict (and the standings) stay as they were, and a
    late result of an older job only adds history. Raises ``Invalid`` when nothing matches.
    """
    wanted: list[str] = []
    for name in verdicts:
        try:
            value = Verdict(name).value
        except ValueError:
            raise Invalid(N_("unknown verdict %(name)r (one of %(verdicts)s)"),
                          name=name, verdicts=", ".join(v.value for v in Verdict),
                          field="verdicts") from None
        if value not in wanted:
            wanted.append(value)
    if len(reason) > 255:
        raise Invalid(N_("the reason is at most 255 characters"), field="reason")
    async with unit_of_work(services) as session:
        the_contest = await contest_by_ref(session, contest)
        conditions: list[Any] = [Submission.contest_id == the_contest.id]
        problem_id = label = None
        if problem is not None:
            problem_id, label = await _contest_problem(session, the_contest, problem)
            conditions.append(Submission.problem_id == problem_id)
        if submission_id is not None:
            found = await session.get(Submission, submission_id)
            if found is None or found.contest_id != the_contest.id:
                raise NotFound(N_("submission %(submission_id)s is not in contest %(contest)r"),
                               submission_id=submission_id, contest=the_contest.slug)
            conditions.append(Submission.id == submission_id)
        if wanted:
            conditions.append(col(Submission.verdict).in_(wanted))
        submissions = list(await session.exec(select(Submission).where(*conditions).order_by(
            col(Submission.submitted_at), col(Submission.id))))
        if not submissions:
            raise Invalid(N_("nothing to rejudge: no submission of contest %(contest)r matches"),
                          contest=the_contest.slug)
        rejudging = Rejudging(
            contest_id=the_contest.id, reason=reason, created_by=actor.id if actor else None,
            problem_id=problem_id, submission_id=submission_id, verdicts=wanted,
            submission_count=len(submissions))
        session.add(rejudging)
        await session.flush()
        now = utcnow()
        replaced: set[int] = set()
        in_scope = select(Submission.id).where(*conditions)
        for old in await session.exec(select(Judging).where(
                col(Judging.submission_id).in_(in_scope), col(Judging.finished_at).is_(None))):
            old.finished_at = now  # an earlier rejudge's pending judging: replaced by this one
            old.error = f"replaced by rejudging {rejudging.id}"
            session.add(old)
            if old.rejudging_id is not None:
                replaced.add(old.rejudging_id)
        rows = []
        for sub in submissions:
            pending = Judging(submission_id=sub.id, rejudging_id=rejudging.id,  # type: ignore[arg-type]
                              is_current=False, verdict_before=sub.verdict)
            session.add(pending)
            rows.append(pending)
            sub.status = SubmissionStatus.QUEUED.value
            session.add(sub)
        await session.flush()
        queued = [(row.submission_id, row.id or 0) for row in rows]
        for earlier in sorted(replaced):
            await finish_rejudging_if_done(session, earlier)
        audit(session, actor=actor, action="judging.rejudge", object_type="rejudging",
              object_id=rejudging.id, contest_id=the_contest.id,
              data={"reason": reason, "problem": label, "submission_id": submission_id,
                    "verdicts": wanted, "count": len(queued),
                    "submissions": [sub_id for sub_id, _ in queued]})
        practice = the_contest.is_practice
        contest_id = the_contest.id
    for sub_id, judging_id in queued:
        await enqueue_submission(services, submission_id=sub_id, contest_id=contest_id,  # type: ignore[arg-type]
                                 practice=practice, judging_id=judging_id,
                                 rejudging_id=rejudging.id)
    await publish(services, "rejudging.created",
                  {"id": rejudging.id, "count": len(queued), "problem": label,
                   "submission_id": submission_id, "verdicts": wanted},
                  contest_id=contest_id)
    return rejudging


async def _contest_problem(session: AsyncSession, contest: Contest,
                           problem: int | str) -> tuple[int, str]:
    """(problem id, label) of a contest problem given by label, slug or problem id."""
    query = select(ContestProblem).where(ContestProblem.contest_id == contest.id)
    if isinstance(problem, int):
        link = (await session.exec(query.where(ContestProblem.problem_id == problem))).first()
    else:
        link = (await session.exec(query.where(ContestProblem.label == problem))).first()
        if link is None:
            link = (await session.exec(
                query.join(Problem, Problem.id == ContestProblem.problem_id)  # type: ignore[arg-type]
                .where(Problem.slug == problem))).first()
    if link is None:
        raise NotFound(N_("problem %(problem)r is not in contest %(contest)r"),
                       problem=problem, contest=contest.slug)
    return link.problem_id, link.label


@dataclass
class RejudgingSummary:
    """A rejudging with its progress."""

    rejudging: Rejudging
    problem: str | None
    """The label of the problem in scope."""
    judged: int = 0
    """Its judgings with a verdict (current or not)."""
    pending: int = 0
    """Its judgings still waiting for a verdict."""
    changes: dict[str, int] = field(default_factory=dict)
    """``"<old>-><new>"`` -> how many submissions changed verdict that way (against the verdict
    they had when the rejudge queued them)."""

    @property
    def changed(self) -> int:
        return sum(self.changes.values())


async def list_rejudgings(services: Services, contest: int | str) -> list[RejudgingSummary]:
    """Every rejudging of a contest, newest first, with its counts and verdict changes."""
    async with services.db.session() as session:
        the_contest = await contest_by_ref(session, contest)
        rejudgings = list(await session.exec(select(Rejudging).where(
            Rejudging.contest_id == the_contest.id).order_by(col(Rejudging.id).desc())))
        labels = {link.problem_id: link.label for link in await session.exec(
            select(ContestProblem).where(ContestProblem.contest_id == the_contest.id))}
        judgings = list(await session.exec(select(Judging).where(
            col(Judging.rejudging_id).in_(select(Rejudging.id).where(
                Rejudging.contest_id == the_contest.id)))))
    summaries = {r.id: RejudgingSummary(r, labels.get(r.problem_id or 0))
                 for r in rejudgings}
    for judging in judgings:
        summary = summaries[judging.rejudging_id]  # type: ignore[index]
        if judging.verdict is not None:
            summary.judged += 1
            if judging.verdict_before not in (None, judging.verdict):
                key = f"{judging.verdict_before}->{judging.verdict}"
                summary.changes[key] = summary.changes.get(key, 0) + 1
        elif judging.finished_at is None:
            summary.pending += 1
    return list(summaries.values())


async def judgings_of(services: Services, submission_id: int) -> list[Judging]:
    """Every judging of a submission, newest first: still pending ones, then by the time they
    finished (a late result of a replaced job finishes after the judging that replaced it)."""
    async with services.db.session() as session:
        await get_or_404(session, Submission, submission_id, "submission")
        rows = list(await session.exec(select(Judging).where(
            Judging.submission_id == submission_id)))
    return sorted(rows, reverse=True, key=lambda j: (
        j.finished_at is None, j.finished_at or j.started_at, j.id))
