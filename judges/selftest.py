"""``podium judge selftest``: prove that every language judge works on every sandbox backend.

For each language plugin and each working backend: the language's version (its
``version_command``, run in a box of its image), then its ``selftest_source`` (a program that
echoes its input line by line) judged through the real pipeline (:func:`judges.judge.judge`,
the Job built as :mod:`judges.verify` builds one) against one test whose input is a few lines
and whose answer is the same lines, compared byte for byte. A language passes when its version
command succeeds and the verdict is AC; a language without a self-test program fails (nothing
proves it works). Everything runs one after the other: judge hosts are often small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from judges.checkers.exact import ExactChecker
from judges.judge import judge
from judges.sandbox.base import Limits, Sandbox, SandboxError, SandboxUnavailable
from judges.sandbox.select import choose_sandbox
from server.components import Language, Verdict
from server.judge_protocol import Job, JobFile, JudgeResult, TestCaseSpec

__all__ = ["SELFTEST_ANSWER", "SELFTEST_INPUT", "SelftestReport", "SelftestRow",
           "format_table", "open_backends", "run_selftest", "selftest_job", "selftest_language"]

SELFTEST_INPUT = "Hello, Podium!\n3 1 4 1 5 9 2 6\nthe last line: caf\u00e9 \u03bb\n".encode()
SELFTEST_ANSWER = SELFTEST_INPUT
TIME_LIMIT_MS = 5000
"""Generous: the self-test proves the language works, not that it is fast."""
MEMORY_LIMIT_MB = 256
"""A typical contest limit (tighter than the Kattis default): runtimes that misbehave under a
memory limit (address-space reservations, heap flags) fail here rather than in a contest."""
OUTPUT_LIMIT_KB = 1024
VERSION_LIMITS = Limits(cpu_seconds=10, wall_seconds=30, memory_bytes=1024**3, processes=64,
                        output_bytes=1024 * 1024, open_files=256)
_CHECKER = ExactChecker()


@dataclass(frozen=True)
class SelftestRow:
    """One language on one backend."""

    language: str
    backend: str
    version: str | None
    """First line the version command printed (None: it failed)."""
    verdict: str
    """The judge's verdict, or ``-`` when nothing was judged."""
    time_ms: int | None
    """CPU time of the test run."""
    ok: bool
    message: str = ""
    """Why it failed: the judge error, compiler output, checker message or exit status."""

    def as_json(self) -> dict[str, object]:
        return {"language": self.language, "backend": self.backend, "version": self.version,
                "verdict": self.verdict, "time_ms": self.time_ms, "ok": self.ok,
                "message": self.message}


@dataclass(frozen=True)
class SelftestReport:
    rows: list[SelftestRow]
    unavailable: Mapping[str, str] = field(default_factory=dict)
    """Backend -> why it cannot run here (those backends were not tested)."""

    @property
    def failed(self) -> list[SelftestRow]:
        return [row for row in self.rows if not row.ok]

    @property
    def ok(self) -> bool:
        """Something was tested and every language passed."""
        return bool(self.rows) and not self.failed

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "results": [row.as_json() for row in self.rows],
                "unavailable": dict(self.unavailable)}


def selftest_job(language: Language, index: int = 1) -> tuple[Job, dict[str, bytes]]:
    """The Job of a language's self-test program and its test data by content hash."""
    input_hash = hashlib.sha256(SELFTEST_INPUT).hexdigest()
    answer_hash = hashlib.sha256(SELFTEST_ANSWER).hexdigest()
    blobs = {input_hash: SELFTEST_INPUT, answer_hash: SELFTEST_ANSWER}
    test = TestCaseSpec(id=1, name="selftest", input_hash=input_hash, answer_hash=answer_hash)
    job = Job(job_id=f"selftest-{language.name}", submission_id=index, language=language.name,
              files=[JobFile.of(language.source_file or f"main{_first(language.extensions)}",
                                language.selftest_source.encode())],
              time_limit_ms=TIME_LIMIT_MS, memory_limit_mb=MEMORY_LIMIT_MB,
              output_limit_kb=OUTPUT_LIMIT_KB, checker=_CHECKER.name, tests=[test])
    return job, blobs


def _first(items: Sequence[str]) -> str:
    return items[0] if items else ""


async def _version(sandbox: Sandbox, language: Language) -> tuple[str | None, str]:
    """The first line of the version command's output, or None and why it failed."""
    if not language.version_command:
        return None, "the language has no version_command"
    limits = VERSION_LIMITS
    if language.reserves_address_space:
        limits = replace(limits, address_space_bytes=0)
    async with sandbox.box(image=language.image) as box:
        result = await box.run(list(language.version_command), limits=limits,
                               stdout="version.out", stderr="version.err")
        text = (await box.read("version.out", limit=4096)
                + await box.read("version.err", limit=4096)).decode(errors="replace")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if not result.ok:
        how = (f"signal {result.signal}" if result.signal is not None
               else f"exit status {result.exit_code}")
        said = f": {first}" if first else ""
        return None, f"`{' '.join(language.version_command)}` failed ({how}){said}"
    return first[:100] or "?", ""


def _why(result: JudgeResult) -> str:
    """One line saying why a self-test judging did not end in AC."""
    if result.error:
        text = result.error
    elif result.verdict is Verdict.COMPILE_ERROR:
        text = result.compile_output
    elif result.runs and result.runs[0].checker_message:
        text = f"wrong output: {result.runs[0].checker_message}"
    elif result.runs:
        run = result.runs[0]
        text = (f"signal {run.signal}" if run.signal is not None
                else f"exit status {run.exit_code}")
        text += f", {run.cpu_ms} ms CPU, {run.memory_kb} KiB"
    else:
        text = "no test was run"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[:3])[:300]


async def selftest_language(sandbox: Sandbox, language: Language, *,
                            backend: str | None = None, index: int = 1) -> SelftestRow:
    """Version and self-test judging of one language on one sandbox."""
    backend = backend or sandbox.name
    if not language.selftest_source:
        return SelftestRow(language.name, backend, None, "-", None, ok=False,
                           message="the language has no selftest_source")
    try:
        version, problem = await _version(sandbox, language)
    except (SandboxError, OSError) as exc:
        version, problem = None, f"cannot run the version command: {type(exc).__name__}: {exc}"
    job, blobs = selftest_job(language, index)

    async def read_blob(digest: str) -> bytes:
        return blobs[digest]

    result = await judge(job, sandbox=sandbox, languages={language.name: language},
                         checkers={_CHECKER.name: _CHECKER}, read_blob=read_blob)
    accepted = result.verdict is Verdict.ACCEPTED
    messages = [m for m in (problem, "" if accepted else _why(result)) if m]
    return SelftestRow(language.name, backend, version, result.verdict.value,
                       result.max_time_ms, ok=accepted and version is not None,
                       message="; ".join(messages))


async def open_backends(names: Sequence[str], data_dir: Path
                        ) -> tuple[dict[str, Sandbox], dict[str, str]]:
    """The backends that work here (checked), and why each other one does not."""
    sandboxes: dict[str, Sandbox] = {}
    unavailable: dict[str, str] = {}
    for name in names:
        try:
            sandboxes[name] = await choose_sandbox(name, data_dir)
        except SandboxUnavailable as exc:
            unavailable[name] = " ".join(str(exc).split())
    return sandboxes, unavailable


async def run_selftest(languages: Mapping[str, Language], sandboxes: Mapping[str, Sandbox],
                       unavailable: Mapping[str, str] | None = None) -> SelftestReport:
    """Every language on every sandbox (backend name -> sandbox), one after the other."""
    rows = []
    for backend, sandbox in sandboxes.items():
        for index, language in enumerate(languages.values(), start=1):
            rows.append(await selftest_language(sandbox, language, backend=backend,
                                                index=index))
    return SelftestReport(rows, dict(unavailable or {}))


def format_table(report: SelftestReport) -> list[str]:
    """The report as aligned lines: language | backend | version | verdict | time."""
    header = ("language", "backend", "version", "verdict", "time")
    table = [header] + [
        (row.language, row.backend, row.version or "?", row.verdict,
         "-" if row.time_ms is None else f"{row.time_ms} ms")
        for row in report.rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header))]
    lines = []
    for cells in table:
        lines.append("  ".join(
            cell.rjust(width) if i == len(header) - 1 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))).rstrip())
    for row in report.failed:
        lines.append(f"FAILED {row.language} on {row.backend}: {row.message or row.verdict}")
    for backend, reason in report.unavailable.items():
        lines.append(f"{backend} unavailable: {reason}")
    return lines

