"""Judge hosts, test data and the judge queue's server side: claim, heartbeat, result."""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from sqlmodel import col, select

from server.actions.base import audit, get_or_404, publish, unit_of_work
from server.actions.errors import Conflict, Invalid, NotFound
from server.actions.submissions import record_verdict
from server.actions.users import hash_token
from server.blobs import BlobStore
from server.components import Verdict
from server.judge_protocol import Job, JobFile, JudgeResult, TestCaseSpec, TestGroupSpec
from server.models import (
    Contest,
    JudgeHost,
    Problem,
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
    "add_test_case",
    "blob_store",
    "claim_job",
    "create_judge_host",
    "finish_job",
    "heartbeat_job",
    "judge_host_for_token",
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
        raise Invalid("judge host name must be 1-64 letters, digits, '_', '.' or '-'",
                      field="name")
    token = "judge_" + secrets.token_urlsafe(32)
    host = JudgeHost(name=name, token_hash=hash_token(token))
    async with unit_of_work(services, conflict=f"judge host {name!r} already exists") as session:
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
        raise Invalid("test case name must be 1-255 characters", field="name")
    if len(input) + len(answer) > MAX_TEST_BYTES:
        raise Invalid("test case is too large", field="input")
    store = blob_store(services)
    input_hash, answer_hash = store.put(input), store.put(answer)
    async with unit_of_work(services, conflict=f"test case {name!r} exists") as session:
        query = select(Problem)
        query = query.where(Problem.id == problem) if isinstance(problem, int) else query.where(
            Problem.slug == problem)
        the_problem = (await session.exec(query)).first()
        if the_problem is None:
            raise NotFound(f"problem {problem!r} does not exist")
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
                   attempt: int) -> Job | None:
    """The job spec of a queue entry; None if its submission is gone."""
    async with unit_of_work(services) as session:
        submission = await session.get(Submission, payload.get("submission_id"))
        if submission is None:
            return None
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
                              is_sample=g.is_sample) for g in groups],
        tests=[TestCaseSpec(id=t.id or 0, name=t.name, group_id=t.group_id,
                            is_sample=t.is_sample, input_hash=t.input_hash,
                            answer_hash=t.answer_hash) for t in tests],
    )


async def claim_job(services: Services, host: JudgeHost, *, timeout: float) -> Job | None:
    """Long-poll the queue for this host; None when nothing came within ``timeout``."""
    loop_deadline = timeout
    while True:
        queued = await services.queue.claim(host.name, timeout=loop_deadline)
        if queued is None:
            return None
        attempt = int(queued.payload.get("attempt", 1))
        job = await _job_for(services, queued.id, queued.payload, attempt)
        if job is not None:
            await publish(services, "judging.started",
                          {"submission_id": job.submission_id, "host": host.name},
                          contest_id=queued.payload.get("contest_id"))
            return job
        await services.queue.ack(queued.id)  # its submission was deleted
        loop_deadline = 0.0


async def heartbeat_job(services: Services, host: JudgeHost, job_id: str) -> None:
    if not await services.queue.heartbeat(job_id, host.name):
        raise Conflict("this job is no longer yours (its lease expired and it was reclaimed)")


async def finish_job(services: Services, host: JudgeHost, job_id: str,
                     result: JudgeResult) -> None:
    """Record a result (once per job), or retry a judge error a few times before giving up."""
    async with services.db.session() as session:
        submission = await session.get(Submission, result.submission_id)
        if submission is None:
            raise NotFound(f"submission {result.submission_id} does not exist")
        contest = await get_or_404(session, Contest, submission.contest_id, "contest")
    if result.verdict is Verdict.JUDGE_ERROR:
        attempt = result.attempt
        log.warning("judge error on %s for submission %s (attempt %s): %s", host.name,
                    result.submission_id, attempt, result.error[:500])
        if attempt < MAX_JUDGE_ATTEMPTS and await services.queue.ack(job_id):
            await services.queue.enqueue(
                {"submission_id": result.submission_id, "contest_id": contest.id,
                 "attempt": attempt + 1},
                priority=1 if contest.is_practice else 0)
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
            select(Submission.id, Submission.contest_id, Contest.is_practice)
            .join(Contest, Contest.id == Submission.contest_id)  # type: ignore[arg-type]
            .where(col(Submission.status).in_([SubmissionStatus.QUEUED.value,
                                               SubmissionStatus.JUDGING.value]))
            .order_by(col(Submission.submitted_at))))
    for submission_id, contest_id, practice in rows:
        await services.queue.enqueue({"submission_id": submission_id, "contest_id": contest_id},
                                     priority=1 if practice else 0)
    return len(rows)
