"""Judge one submission: compile, run every test in a sandbox box, check, aggregate.

Pure judging logic over the sandbox protocol; it knows nothing of HTTP or databases. The
worker feeds it a :class:`server.judge_protocol.Job` and a way to read test data.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from judges.sandbox.base import Box, Limits, RunResult, Sandbox
from server.components import Checker, Language, Verdict
from server.judge_protocol import Job, JudgeResult, RunReport, TestCaseSpec

__all__ = ["COMPILE_LIMITS", "judge", "run_verdict"]

log = logging.getLogger("podium.judge")

COMPILE_LIMITS = Limits(cpu_seconds=30, wall_seconds=60, memory_bytes=2 * 1024**3,
                        processes=128, output_bytes=64 * 1024 * 1024, open_files=256)
COMPILE_OUTPUT_CAP = 64 * 1024
CHECKER_INPUT_CAP = 256 * 1024 * 1024
MB = 1024 * 1024

ReadBlob = Callable[[str], Awaitable[bytes]]


def run_verdict(result: RunResult) -> Verdict | None:
    """The verdict a run earns before its output is checked (None: check the output)."""
    if result.memory_exceeded:
        return Verdict.MEMORY_LIMIT
    if result.cpu_exceeded or result.wall_exceeded:
        return Verdict.TIME_LIMIT
    if result.output_exceeded:
        return Verdict.OUTPUT_LIMIT
    if result.signal is not None or result.exit_code != 0:
        return Verdict.RUN_ERROR
    return None


def _expand(command: Sequence[str], *, files: Sequence[str], main: str, memory_mb: int) -> list[str]:
    argv: list[str] = []
    for part in command:
        if part == "{files}":
            argv.extend(files)
        else:
            argv.append(part.format(main=main, memory_mb=memory_mb))
    return argv


def _main_of(language: Language, job: Job, files: Sequence[str]) -> str:
    if job.entry_point:
        return job.entry_point
    if language.name == "java":
        return next((f[:-5] for f in files if f.endswith(".java")), "Main")
    return files[0]


@dataclass
class _Outcome:
    verdict: Verdict
    report: RunReport


async def _run_test(box: Box, argv: Sequence[str], limits: Limits, test: TestCaseSpec,
                    checker: Checker, flags: Sequence[str], read_blob: ReadBlob,
                    output_cap: int) -> _Outcome:
    await box.write("input.txt", await read_blob(test.input_hash))
    result = await box.run(argv, limits=limits, stdin="input.txt", stdout="output.txt",
                           stderr="stderr.txt")
    verdict = run_verdict(result)
    message = ""
    if verdict is None:
        output = await box.read("output.txt", limit=output_cap)
        answer = await read_blob(test.answer_hash)
        check = checker.check(output, answer, flags=flags)
        verdict = Verdict.ACCEPTED if check.accepted else Verdict.WRONG_ANSWER
        message = check.message[:1000]
    report = RunReport(
        test_case_id=test.id, verdict=verdict, cpu_ms=round(result.cpu_seconds * 1000),
        wall_ms=round(result.wall_seconds * 1000), memory_kb=result.memory_bytes // 1024,
        exit_code=result.exit_code, signal=result.signal, output_size=result.output_bytes,
        checker_message=message)
    return _Outcome(verdict, report)


def _score(job: Job, verdicts: Mapping[int, Verdict]) -> float | None:
    """Fraction of the points of non-sample groups whose every test was accepted."""
    groups = [g for g in job.groups if not g.is_sample and g.points > 0]
    total = sum(g.points for g in groups)
    if not total:
        return None
    earned = 0.0
    for group in groups:
        tests = [t for t in job.tests if t.group_id == group.id]
        if tests and all(verdicts.get(t.id) is Verdict.ACCEPTED for t in tests):
            earned += group.points
    return round(earned / total, 6)


async def judge(job: Job, *, sandbox: Sandbox, languages: Mapping[str, Language],
                checkers: Mapping[str, Checker], read_blob: ReadBlob) -> JudgeResult:
    """Judge a job. Failures of ours come back as a judge error, never as the contestant's."""
    language = languages.get(job.language)
    checker = checkers.get(job.checker)
    if language is None or checker is None:
        missing = f"language {job.language!r}" if language is None else f"checker {job.checker!r}"
        return JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                           verdict=Verdict.JUDGE_ERROR, error=f"this judge host has no {missing}")
    files = [f.filename for f in job.files]
    main = _main_of(language, job, files)
    memory_mb = max(16, round(job.memory_limit_mb * language.memory_multiplier))
    try:
        async with sandbox.box(image=language.image) as box:
            for f in job.files:
                await box.write(f.filename, f.data())
            compile_output = ""
            unlimited_as = {"address_space_bytes": 0} if language.reserves_address_space else {}
            if language.compile_command:
                compiled = await box.run(
                    _expand(language.compile_command, files=files, main=main,
                            memory_mb=memory_mb),
                    limits=replace(COMPILE_LIMITS, **unlimited_as), stdout="compile.out",
                    stderr="compile.err")
                out = await box.read("compile.out", limit=COMPILE_OUTPUT_CAP)
                err = await box.read("compile.err", limit=COMPILE_OUTPUT_CAP)
                compile_output = (out + err).decode(errors="replace")[:COMPILE_OUTPUT_CAP]
                if not compiled.ok:
                    if compiled.cpu_exceeded or compiled.wall_exceeded:
                        compile_output += "\n(compilation exceeded its time limit)"
                    return JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                                       verdict=Verdict.COMPILE_ERROR,
                                       compile_output=compile_output)
            cpu = job.time_limit_ms / 1000 * language.time_multiplier
            limits = Limits(cpu_seconds=cpu, wall_seconds=cpu * 2 + 1,
                            memory_bytes=memory_mb * MB,
                            output_bytes=job.output_limit_kb * 1024, **unlimited_as)
            argv = _expand(language.run_command, files=files, main=main, memory_mb=memory_mb)
            reports: list[RunReport] = []
            verdicts: dict[int, Verdict] = {}
            final = Verdict.ACCEPTED
            failed_groups: set[int] = set()
            for test in job.tests:
                if test.group_id is not None and test.group_id in failed_groups:
                    continue  # the group's points are lost already: judge the next group
                outcome = await _run_test(box, argv, limits, test, checker, job.checker_flags,
                                          read_blob, min(job.output_limit_kb * 1024,
                                                         CHECKER_INPUT_CAP))
                reports.append(outcome.report)
                verdicts[test.id] = outcome.verdict
                if outcome.verdict is not Verdict.ACCEPTED:
                    if test.group_id is not None:
                        failed_groups.add(test.group_id)
                    if final is Verdict.ACCEPTED:
                        final = outcome.verdict
                        if job.stop_on_first_failure:
                            break
    except Exception as exc:  # the sandbox or the checker failed: ours, not theirs
        log.exception("judging submission %s failed", job.submission_id)
        return JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                           verdict=Verdict.JUDGE_ERROR, error=f"{type(exc).__name__}: {exc}")
    return JudgeResult(
        submission_id=job.submission_id, attempt=job.attempt, verdict=final,
        score=_score(job, verdicts), runs=reports, compile_output=compile_output,
        max_time_ms=max((r.cpu_ms or 0 for r in reports), default=None),
        max_memory_kb=max((r.memory_kb or 0 for r in reports), default=None))
