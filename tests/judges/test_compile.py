"""What the judge tells a contestant whose compilation fails (bwrap sandbox, real runs)."""

from __future__ import annotations

import hashlib

import pytest

from judges.judge import judge
from judges.languages.basic import C
from judges.sandbox.bwrap import BwrapSandbox
from server.components import Verdict
from server.judge_protocol import Job, JobFile, TestCaseSpec, TestGroupSpec
from server.services import build_registry
from server.settings import Settings


class ScriptedCompiler(C):
    """C whose "compiler" is a shell script: it prints the source as its diagnostics, fails."""

    name = "scripted"
    compile_command = ("sh", "-c", "cat main.c >&2; exit 1")


@pytest.fixture(scope="module")
async def sandbox() -> BwrapSandbox:
    bwrap = BwrapSandbox()
    await bwrap.check()
    return bwrap


async def _compile_output(sandbox: BwrapSandbox, diagnostics: bytes) -> str:
    answer = b"1\n"
    digest = hashlib.sha256(answer).hexdigest()

    async def read(_: str) -> bytes:
        return answer

    job = Job(job_id="c", submission_id=1, language="scripted",
              files=[JobFile.of("main.c", diagnostics)], time_limit_ms=1000, memory_limit_mb=64,
              output_limit_kb=64, checker="tokens", stop_on_first_failure=True,
              groups=[TestGroupSpec(id=1, name="secret", points=1)],
              tests=[TestCaseSpec(id=1, name="t1", group_id=1, input_hash=digest,
                                  answer_hash=digest)])
    result = await judge(job, sandbox=sandbox, languages={"scripted": ScriptedCompiler()},
                         checkers=build_registry(Settings()).checkers.items,
                         read_blob=read)
    assert result.verdict is Verdict.COMPILE_ERROR
    return result.compile_output


@pytest.mark.parametrize("diagnostics", [
    b"cc1plus: out of memory allocating 208 bytes after a total of 19984384 bytes\n",
    b"virtual memory exhausted: Cannot allocate memory\n",
    b"java.lang.OutOfMemoryError: Java heap space\n",
])
async def test_a_compiler_out_of_memory_is_called_the_memory_limit(
        sandbox: BwrapSandbox, diagnostics: bytes) -> None:
    output = await _compile_output(sandbox, diagnostics)
    assert output.startswith(diagnostics.decode())
    assert output.endswith("\n(compilation exceeded its memory limit)")


async def test_an_ordinary_compile_error_gets_no_limit_note(sandbox: BwrapSandbox) -> None:
    diagnostics = b"main.c:1:1: error: expected ';' before '}' token\n"
    assert await _compile_output(sandbox, diagnostics) == diagnostics.decode()
