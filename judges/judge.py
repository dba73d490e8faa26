"""Judge one submission: compile, run every test in a sandbox box, check, aggregate.

Pure judging logic over the sandbox protocol; it knows nothing of HTTP or databases. The
worker feeds it a :class:`server.judge_protocol.Job` and a way to read test data.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import time
import zipfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from judges.sandbox.base import Box, Limits, RunResult, Sandbox
from server.components import Checker, Language, Verdict
from server.judge_protocol import Job, JudgeResult, RunReport, TestCaseSpec, ValidatorSpec

__all__ = ["COMPILE_LIMITS", "ValidatorError", "judge", "language_for_files", "run_verdict",
           "validator_archive"]

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


ACCEPT_EXIT, REJECT_EXIT = 42, 43
"""The Kattis output validator's exit codes."""
VALIDATOR_MAIN_STEMS = ("validator", "validate", "interactor", "main")
FEEDBACK_MESSAGE_CAP = 1000


class ValidatorError(RuntimeError):
    """The problem's own validator failed (did not compile, crashed, exceeded a limit): a judge
    error, never the contestant's fault."""


def validator_archive(files: Mapping[str, bytes]) -> bytes:
    """The zip that carries a validator's source files (``name -> content``) to judge hosts.

    Deterministic (fixed timestamps, sorted names), so one validator has one content hash."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _unpack(data: bytes) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {}
            for info in archive.infolist():
                path = PurePosixPath(info.filename)
                if info.is_dir():
                    continue
                if path.is_absolute() or ".." in path.parts or not path.parts:
                    raise ValidatorError(f"bad file name in the validator archive: "
                                         f"{info.filename!r}")
                files[str(path)] = archive.read(info)
            return files
    except zipfile.BadZipFile as exc:
        raise ValidatorError(f"the validator archive is not a zip: {exc}") from None


def language_for_files(names: Sequence[str], languages: Mapping[str, Language]
                       ) -> Language | None:
    """The language whose extensions most of ``names`` carry (Kattis conventions)."""
    counts: dict[str, int] = {}
    for name in names:
        suffix = PurePosixPath(name).suffix.lower()
        for language in languages.values():
            if suffix in language.extensions:
                counts[language.name] = counts.get(language.name, 0) + 1
                break
    if not counts:
        return None
    return languages[max(counts, key=lambda n: counts[n])]


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


@dataclass
class _Validator:
    """A compiled output validator in a box of its own (the submission never sees its box)."""

    box: Box
    argv: list[str]
    limits: Limits
    interactive: bool

    async def _stage(self, test: TestCaseSpec, read_blob: ReadBlob) -> str:
        await self.box.write("input.in", await read_blob(test.input_hash))
        await self.box.write("answer.ans", await read_blob(test.answer_hash))
        feedback = f"feedback_{test.id}"
        await self.box.write(f"{feedback}/judgemessage.txt", b"")
        return feedback

    def _command(self, feedback: str, flags: Sequence[str]) -> list[str]:
        return [*self.argv, "input.in", "answer.ans", f"{feedback}/", *flags]

    async def _message(self, feedback: str) -> str:
        with suppress(OSError):
            data = await self.box.read(f"{feedback}/judgemessage.txt",
                                       limit=FEEDBACK_MESSAGE_CAP)
            return data.decode(errors="replace").strip()
        return ""

    def _failure(self, result: RunResult, test: TestCaseSpec) -> ValidatorError:
        if result.cpu_exceeded or result.wall_exceeded:
            what = "exceeded its time limit"
        elif result.memory_exceeded:
            what = "exceeded its memory limit"
        elif result.signal is not None:
            what = f"was killed by signal {result.signal}"
        else:
            what = f"exited with {result.exit_code} (42 accepts, 43 rejects)"
        detail = result.stderr.decode(errors="replace").strip()[:300]
        return ValidatorError(f"the output validator {what} on test {test.name}"
                              + (f": {detail}" if detail else ""))

    async def check(self, test: TestCaseSpec, output: bytes, flags: Sequence[str],
                    read_blob: ReadBlob) -> tuple[Verdict, str]:
        feedback = await self._stage(test, read_blob)
        await self.box.write("team.out", output)
        result = await self.box.run(self._command(feedback, flags), limits=self.limits,
                                    stdin="team.out", stdout="validator.out")
        if result.exit_code == ACCEPT_EXIT and result.signal is None:
            return Verdict.ACCEPTED, await self._message(feedback)
        if result.exit_code == REJECT_EXIT and result.signal is None:
            return Verdict.WRONG_ANSWER, await self._message(feedback)
        raise self._failure(result, test)

    async def interact(self, box: Box, argv: Sequence[str], limits: Limits,
                       test: TestCaseSpec, flags: Sequence[str], read_blob: ReadBlob
                       ) -> tuple[RunResult, Verdict, str]:
        """Run the submission and the validator connected by two pipes (Kattis interactive).

        As in Kattis problemtools: a validator that rejects *before* the submission ends means
        wrong answer (the submission may then die of the closed pipe); otherwise the
        submission's own run verdict (time, memory, run-time error) comes first, then the
        validator's (42 accepted, 43 wrong answer). Any other validator exit is a judge
        error."""
        feedback = await self._stage(test, read_blob)
        to_program, from_validator = os.pipe()
        try:
            to_validator, from_program = os.pipe()
        except OSError:
            os.close(to_program)
            os.close(from_validator)
            raise
        validator_limits = replace(self.limits, wall_seconds=max(
            self.limits.wall_seconds, limits.wall_seconds + 2))
        ended: list[str] = []

        async def timed(name: str, run: Awaitable[RunResult]) -> RunResult:
            try:
                return await run
            finally:
                ended.append(name)

        launched = time.monotonic()
        program, validator = await asyncio.gather(
            timed("program", box.run(argv, limits=limits, stdin_fd=to_program,
                                      stdout_fd=from_program, stderr="stderr.txt")),
            timed("validator", self.box.run(
                self._command(feedback, flags), limits=validator_limits,
                stdin_fd=to_validator, stdout_fd=from_validator, stderr="validator.err")),
            return_exceptions=True)
        for outcome in (program, validator):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(program, RunResult) and isinstance(validator, RunResult)
        if validator.signal is not None or validator.exit_code not in (ACCEPT_EXIT,
                                                                         REJECT_EXIT):
            raise self._failure(validator, test)
        verdict = run_verdict(program)
        rejected = validator.exit_code == REJECT_EXIT
        ends = (program.extra.get("ended_at"), validator.extra.get("ended_at"))
        if isinstance(ends[0], float) and isinstance(ends[1], float):
            # When the program ended: its backend reports when its supervisor finished, which
            # on a loaded host can come after the validator saw end-of-file from the killed
            # program; its own wall time from the launch bounds the end from below. So a
            # validator that only rejects the program's death is never taken as first.
            program_end = min(ends[0], launched + program.wall_seconds)
            validator_first = ends[1] < program_end
        else:  # a backend that does not say: the order the runs came back in
            validator_first = ended[0] == "validator"
        if rejected and validator_first:
            # It rejected first: whatever the program did after its pipe closed is moot.
            return program, Verdict.WRONG_ANSWER, await self._message(feedback)
        if verdict is not None:
            return program, verdict, ""
        return (program, Verdict.WRONG_ANSWER if rejected else Verdict.ACCEPTED,
                await self._message(feedback))


VALIDATOR_CACHE_SIZE = 16
VALIDATOR_BINARY_CAP = 256 * MB
_compiled_validators: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
"""Compiled validators of this judge process, by archive hash, language and image (LRU): a
contest's validator compiles once per judge host, not once per submission (a testlib
validator takes seconds to compile)."""


def _single_binary(language: Language) -> str | None:
    """The one file a compiled language leaves (``-o main``): what the validator cache keeps.
    None for languages whose run needs more (Java's classes, interpreters' sources)."""
    command = list(language.compile_command or ())
    if "-o" in command and command.index("-o") + 1 < len(command):
        target = command[command.index("-o") + 1]
        if target == "main" and list(language.run_command) == ["./main"]:
            return target
    return None


async def _prepare_validator(stack: AsyncExitStack, sandbox: Sandbox, spec: ValidatorSpec,
                             interactive: bool, languages: Mapping[str, Language],
                             read_blob: ReadBlob) -> _Validator:
    files = _unpack(await read_blob(spec.archive_hash))
    language = (languages.get(spec.language) if spec.language
                else language_for_files(list(files), languages))
    if language is None:
        raise ValidatorError(f"no language on this judge host for the output validator "
                             f"({spec.language or ', '.join(sorted(files))})")
    sources = [n for n in sorted(files) if PurePosixPath(n).suffix.lower() in
               language.extensions]
    if not sources:
        raise ValidatorError("the output validator has no source file")
    main = next((n for stem in VALIDATOR_MAIN_STEMS for n in sources
                 if PurePosixPath(n).stem.lower() == stem), sources[0])
    if language.name == "java":
        main = PurePosixPath(main).stem
    memory_mb = spec.memory_limit_mb
    box = await stack.enter_async_context(sandbox.box(image=language.image))
    for name, data in files.items():
        await box.write(name, data)
    unlimited_as = {"address_space_bytes": 0} if language.reserves_address_space else {}
    cache_key = (spec.archive_hash, language.name, language.image or "")
    single_binary = _single_binary(language)
    if single_binary and cache_key in _compiled_validators:
        _compiled_validators.move_to_end(cache_key)
        await box.write(single_binary, _compiled_validators[cache_key], executable=True)
    elif language.compile_command:
        compiled = await box.run(
            _expand(language.compile_command, files=sources, main=main, memory_mb=memory_mb),
            limits=replace(COMPILE_LIMITS, **unlimited_as), stdout="compile.out",
            stderr="compile.err")
        if not compiled.ok:
            out = await box.read("compile.out", limit=2000)
            err = await box.read("compile.err", limit=2000)
            raise ValidatorError("the output validator does not compile: "
                                 + (out + err).decode(errors="replace").strip()[:1000])
        if single_binary:
            _compiled_validators[cache_key] = await box.read(single_binary,
                                                             limit=VALIDATOR_BINARY_CAP)
            while len(_compiled_validators) > VALIDATOR_CACHE_SIZE:
                _compiled_validators.popitem(last=False)
    cpu = spec.time_limit_ms / 1000
    limits = Limits(cpu_seconds=cpu, wall_seconds=cpu * 2 + 1, memory_bytes=memory_mb * MB,
                    output_bytes=spec.output_limit_kb * 1024, **unlimited_as)
    argv = _expand(language.run_command, files=sources, main=main, memory_mb=memory_mb)
    return _Validator(box=box, argv=argv, limits=limits, interactive=interactive)


async def _run_test(box: Box, argv: Sequence[str], limits: Limits, test: TestCaseSpec,
                    checker: Checker, flags: Sequence[str], read_blob: ReadBlob,
                    output_cap: int, validator: _Validator | None = None) -> _Outcome:
    message = ""
    if validator is not None and validator.interactive:
        result, verdict, message = await validator.interact(box, argv, limits, test, flags,
                                                            read_blob)
        return _Outcome(verdict, _report(test, verdict, result, message))
    await box.write("input.txt", await read_blob(test.input_hash))
    result = await box.run(argv, limits=limits, stdin="input.txt", stdout="output.txt",
                           stderr="stderr.txt")
    verdict = run_verdict(result)
    if verdict is None:
        output = await box.read("output.txt", limit=output_cap)
        if validator is not None:
            verdict, message = await validator.check(test, output, flags, read_blob)
        else:
            answer = await read_blob(test.answer_hash)
            check = checker.check(output, answer, flags=flags)
            verdict = Verdict.ACCEPTED if check.accepted else Verdict.WRONG_ANSWER
            message = check.message
    return _Outcome(verdict, _report(test, verdict, result, message))


def _report(test: TestCaseSpec, verdict: Verdict, result: RunResult, message: str
            ) -> RunReport:
    return RunReport(
        test_case_id=test.id, verdict=verdict, cpu_ms=round(result.cpu_seconds * 1000),
        wall_ms=round(result.wall_seconds * 1000), memory_kb=result.memory_bytes // 1024,
        exit_code=result.exit_code, signal=result.signal, output_size=result.output_bytes,
        checker_message=message[:FEEDBACK_MESSAGE_CAP])


def _score(job: Job, verdicts: Mapping[int, Verdict]) -> float | None:
    """Fraction of the points of non-sample groups whose every test was accepted.

    Only groups that hold tests themselves count: a parent folder's ``range`` (``secret``
    around its subtasks) is the sum of its children, not points of its own."""
    holding = {t.group_id for t in job.tests}
    groups = [g for g in job.groups if not g.is_sample and g.points > 0 and g.id in holding]
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
    if job.validator is not None:
        checker = checker or Checker()  # unused: the problem's validator compares
    if language is None or checker is None:
        missing = f"language {job.language!r}" if language is None else f"checker {job.checker!r}"
        return JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                           verdict=Verdict.JUDGE_ERROR, error=f"this judge host has no {missing}")
    if job.interactive and job.validator is None:
        return JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                           verdict=Verdict.JUDGE_ERROR,
                           error="an interactive problem without its validator")
    files = [f.filename for f in job.files]
    main = _main_of(language, job, files)
    memory_mb = max(16, round(job.memory_limit_mb * language.memory_multiplier))
    group_flags = {g.id: g.checker_flags for g in job.groups if g.checker_flags is not None}
    try:
        async with AsyncExitStack() as stack:
            box = await stack.enter_async_context(sandbox.box(image=language.image))
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
                    elif compiled.memory_exceeded:  # the sandbox reads the compiler's stderr
                        compile_output += "\n(compilation exceeded its memory limit)"
                    return JudgeResult(submission_id=job.submission_id, attempt=job.attempt,
                                       verdict=Verdict.COMPILE_ERROR,
                                       compile_output=compile_output)
            validator = None
            if job.validator is not None:
                validator = await _prepare_validator(stack, sandbox, job.validator,
                                                     job.interactive, languages, read_blob)
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
                flags = group_flags.get(test.group_id or 0, job.checker_flags)
                outcome = await _run_test(box, argv, limits, test, checker, flags, read_blob,
                                          min(job.output_limit_kb * 1024, CHECKER_INPUT_CAP),
                                          validator)
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
