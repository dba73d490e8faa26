"""``podium problem verify``: judge a package's own submissions and compare with expectations.

Every file and folder under ``submissions/<expected verdict>/`` is judged like a contest
submission (same pipeline, same sandbox). A package without a declared time limit gets one by
the Kattis rule: the accepted submissions run first under a generous limit, and the limit is
their slowest time × ``ac_to_time_limit`` (rounded up to whole tenths of a second).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from judges.judge import judge, validator_archive
from judges.problems.model import (
    DEFAULT_MEMORY_MIB,
    DEFAULT_OUTPUT_MIB,
    ProblemPackage,
    Program,
    Submission,
)
from judges.sandbox.base import Sandbox
from server.components import Checker, Language, Verdict
from server.judge_protocol import Job, JobFile, TestCaseSpec, TestGroupSpec, ValidatorSpec

__all__ = ["VerifyRow", "derive_time_limit", "verify_package"]

PROBE_TIME_LIMIT_S = 10.0


@dataclass(frozen=True)
class VerifyRow:
    submission: str
    expected: tuple[str, ...]
    verdict: str
    time_s: float | None
    memory_kb: int | None
    ok: bool
    message: str = ""
    score: float | None = None
    """Points earned, for a scoring problem (None otherwise)."""
    max_score: float | None = None
    expected_score: str | None = None
    """What the score must be: ``max``, ``partial`` (strictly between 0 and max) or a number."""

    def as_json(self) -> dict[str, object]:
        row: dict[str, object] = {
            "submission": self.submission, "expected": list(self.expected),
            "verdict": self.verdict, "time_s": self.time_s, "memory_kb": self.memory_kb,
            "ok": self.ok}
        if self.max_score is not None:
            row["score"] = self.score
        return row


class _Blobs:
    """Test data of the package, addressed by content hash like the server's blob store."""

    def __init__(self, package: ProblemPackage) -> None:
        self.paths: dict[str, Path] = {}
        self.specs: list[TestCaseSpec] = []
        group_ids = {g.name: index + 1 for index, g in enumerate(package.groups)}
        for index, case in enumerate(package.test_cases, start=1):
            spec = TestCaseSpec(id=index, name=case.name, group_id=group_ids.get(case.group),
                                is_sample=case.is_sample, input_hash=self._add(case.input),
                                answer_hash=self._add(case.answer))
            self.specs.append(spec)
        self.groups = [TestGroupSpec(
            id=group_ids[g.name], name=g.name, points=g.points or 0.0, is_sample=g.is_sample,
            checker_flags=(list(g.validator_flags) if g.validator_flags != package.validator_flags
                           else None)) for g in package.groups]
        self.data: dict[str, bytes] = {}
        self.validator: ValidatorSpec | None = None
        if package.output_validators:
            self.validator = ValidatorSpec(archive_hash=self._add_bytes(
                program_archive(package.output_validators[0])))

    def _add(self, path: Path) -> str:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self.paths[digest] = path
        return digest

    def _add_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.data[digest] = data
        return digest

    async def read(self, digest: str) -> bytes:
        if digest in self.data:
            return self.data[digest]
        return self.paths[digest].read_bytes()


def program_archive(program: Program) -> bytes:
    """The validator archive (see :func:`judges.judge.validator_archive`) of a program."""
    if program.path.is_dir():
        files = {str(f.relative_to(program.path)): f.read_bytes() for f in program.files}
    else:
        files = {program.path.name: program.path.read_bytes()}
    return validator_archive(files)


def _job(package: ProblemPackage, blobs: _Blobs, sub: Submission, index: int,
         time_limit_s: float, checker: str) -> Job:
    root = sub.path if sub.path.is_dir() else sub.path.parent
    files = [JobFile.of(str(f.relative_to(root)) if sub.path.is_dir() else f.name,
                        f.read_bytes()) for f in sub.files]
    limits = package.limits
    return Job(
        job_id=f"verify-{index}", submission_id=index, language=sub.language or "?",
        files=files, time_limit_ms=max(1, round(time_limit_s * 1000)),
        memory_limit_mb=limits.memory_mib or DEFAULT_MEMORY_MIB,
        output_limit_kb=(limits.output_mib or DEFAULT_OUTPUT_MIB) * 1024,
        checker=checker, checker_flags=list(package.validator_flags),
        stop_on_first_failure=not package.is_scoring, groups=blobs.groups, tests=blobs.specs,
        validator=blobs.validator, interactive=package.is_interactive)


def derive_time_limit(slowest_ac_s: float, multiplier: float) -> float:
    """Kattis: slowest accepted time × multiplier, rounded up to a tenth (at least 0.1 s)."""
    return max(0.1, math.ceil(slowest_ac_s * multiplier * 10 - 1e-9) / 10)


async def verify_package(
    package: ProblemPackage,
    *,
    sandbox: Sandbox,
    languages: Mapping[str, Language],
    checkers: Mapping[str, Checker],
) -> tuple[float, list[VerifyRow]]:
    """Judge every submission of the package; returns the time limit used and one row each."""
    blobs = _Blobs(package)
    if (package.custom_validator or package.is_interactive) and blobs.validator is None:
        raise ValueError("the package needs its own output validator "
                         "(output_validators/ or output_validator/) and has none")
    subs: Sequence[Submission] = package.submissions
    results: dict[str, tuple[Verdict, float | None, int | None, str, float | None]] = {}
    holding = {t.group_id for t in blobs.specs}
    max_score = (sum(g.points for g in blobs.groups if not g.is_sample and g.id in holding)
                 if package.is_scoring else None)

    async def run(sub: Submission, index: int, limit: float) -> None:
        if sub.language not in languages:
            results[sub.name] = (Verdict.JUDGE_ERROR, None, None,
                                 f"no language for {sub.path.name}", None)
            return
        outcome = await judge(_job(package, blobs, sub, index, limit, "tokens"),
                              sandbox=sandbox, languages=languages, checkers=checkers,
                              read_blob=blobs.read)
        time_s = None if outcome.max_time_ms is None else outcome.max_time_ms / 1000
        points = None
        if max_score is not None:
            points = round((outcome.score or 0.0) * max_score, 6)
        results[sub.name] = (outcome.verdict, time_s, outcome.max_memory_kb,
                             outcome.error or outcome.compile_output[:200], points)

    time_limit = package.limits.time_limit
    if time_limit is None:
        accepted = [s for s in subs if s.expected == frozenset({Verdict.ACCEPTED})]
        for index, sub in enumerate(accepted, start=1):
            await run(sub, index, PROBE_TIME_LIMIT_S)
        slowest = max((results[s.name][1] or 0.0 for s in accepted), default=0.0)
        time_limit = derive_time_limit(slowest, package.limits.ac_to_time_limit)
        results.clear()
    for index, sub in enumerate(subs, start=1):
        await run(sub, index, time_limit)
    rows = []
    for sub in subs:
        verdict, time_s, memory_kb, message, points = results[sub.name]
        want = _expected_score(sub) if max_score is not None else None
        ok = verdict in sub.expected and _score_ok(want, points, max_score)
        rows.append(VerifyRow(
            submission=f"submissions/{sub.name}",
            expected=tuple(sorted(v.value for v in sub.expected)), verdict=verdict.value,
            time_s=time_s, memory_kb=memory_kb, ok=ok, message=message, score=points,
            max_score=max_score, expected_score=want))
    return time_limit, rows


def _expected_score(sub: Submission) -> str | None:
    """For a scoring problem: ``@EXPECTED_SCORE@`` if the source says, else by folder —
    ``accepted`` must get every point, ``partially_accepted`` some but not all."""
    if sub.expected_score is not None:
        return f"{sub.expected_score:g}"
    return {"accepted": "max", "partially_accepted": "partial"}.get(sub.category)


def _score_ok(want: str | None, points: float | None, max_score: float | None) -> bool:
    if want is None or max_score is None:
        return True
    got = points or 0.0
    if want == "max":
        return abs(got - max_score) < 1e-6
    if want == "partial":
        return 1e-9 < got < max_score - 1e-9
    return abs(got - float(want)) < 1e-6
