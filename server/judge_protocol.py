"""The judge API's wire format, shared by the server and the judge hosts.

A judge host claims a :class:`Job` (everything needed to judge one submission, test data by
content hash), downloads what it lacks, judges, and posts a :class:`JudgeResult`. It never sees
the database or Redis.
"""

from __future__ import annotations

import base64

from pydantic import BaseModel, ConfigDict, Field

from server.components import Verdict

__all__ = ["Claim", "Job", "JobFile", "JudgeResult", "RunReport", "TestCaseSpec", "TestGroupSpec",
           "ValidatorSpec"]

API_PREFIX = "/api/judge/v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JobFile(_Model):
    filename: str
    content_b64: str

    def data(self) -> bytes:
        return base64.b64decode(self.content_b64)

    @classmethod
    def of(cls, filename: str, data: bytes) -> JobFile:
        return cls(filename=filename, content_b64=base64.b64encode(data).decode())


class TestGroupSpec(_Model):
    __test__ = False  # not a pytest class
    id: int
    name: str
    points: float = 0.0
    is_sample: bool = False
    checker_flags: list[str] | None = None
    """The group's own output validator flags (testdata.yaml); None: the job's."""


class TestCaseSpec(_Model):
    __test__ = False  # not a pytest class
    id: int
    name: str
    group_id: int | None = None
    is_sample: bool = False
    input_hash: str
    answer_hash: str


class ValidatorSpec(_Model):
    """A problem's own output validator (Kattis interface), shipped as source.

    ``archive_hash`` names a zip of its files in the blob store; the judge host downloads it
    like test data, picks the language from the file extensions and compiles it in a box of
    its own. It is run as ``validator input answer feedback_dir [flags] < output`` (exit 42:
    accepted, 43: wrong answer, anything else: a judge error), or, for an interactive problem,
    connected to the submission through two pipes."""

    archive_hash: str
    language: str | None = None
    """The language plugin's name; None: from the file extensions."""
    time_limit_ms: int = 30_000
    memory_limit_mb: int = 1024
    output_limit_kb: int = 8192


class Job(_Model):
    """One submission to judge."""

    job_id: str
    submission_id: int
    attempt: int = 1
    language: str
    files: list[JobFile]
    entry_point: str | None = None
    time_limit_ms: int
    memory_limit_mb: int
    output_limit_kb: int
    checker: str
    checker_flags: list[str] = Field(default_factory=list)
    stop_on_first_failure: bool = True
    groups: list[TestGroupSpec] = Field(default_factory=list)
    tests: list[TestCaseSpec] = Field(default_factory=list)
    validator: ValidatorSpec | None = None
    """The problem's own output validator; None: the ``checker`` plugin compares."""
    interactive: bool = False
    """Kattis interactive: the validator talks with the submission (needs ``validator``)."""


class Claim(_Model):
    """Body of a claim request."""

    timeout: float = Field(20.0, ge=0, le=60)
    """Seconds to wait for work (long-poll)."""


class RunReport(_Model):
    test_case_id: int
    verdict: Verdict
    cpu_ms: int | None = None
    wall_ms: int | None = None
    memory_kb: int | None = None
    exit_code: int | None = None
    signal: int | None = None
    output_size: int | None = None
    checker_message: str = ""
    score: float | None = None


class JudgeResult(_Model):
    submission_id: int
    attempt: int = Field(1, ge=1)
    """The job's ``attempt``, echoed: judge errors are retried a few times, then recorded."""
    verdict: Verdict
    score: float | None = Field(None, ge=0, le=1)
    runs: list[RunReport] = Field(default_factory=list)
    compile_output: str = ""
    error: str = ""
    """For a judge error: what went wrong on our side."""
    max_time_ms: int | None = None
    max_memory_kb: int | None = None
