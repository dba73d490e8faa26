"""The problem's own output validator, run by judges/judge.py in a box of its own (bwrap)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from judges import judge as judge_module
from judges.judge import judge, validator_archive
from judges.sandbox.base import Box, RunResult
from judges.sandbox.bwrap import BwrapSandbox
from server.judge_protocol import Job, JobFile, TestCaseSpec, TestGroupSpec, ValidatorSpec
from server.services import build_registry
from server.settings import Settings

# Accepts when the output's first token equals the answer's; writes its flags and a
# message to the feedback dir; exits 7 (a broken validator) when the answer says "crash".
VALIDATOR_CPP = rb"""
#include <fstream>
#include <iostream>
#include <string>
int main(int argc, char **argv) {
    std::ifstream answer(argv[2]);
    std::string want, got, flags;
    answer >> want;
    std::cin >> got;
    for (int i = 4; i < argc; i++) flags += std::string(" ") + argv[i];
    std::ofstream(std::string(argv[3]) + "judgemessage.txt") << "want " << want << " got "
                                                              << got << " flags" << flags;
    if (want == "crash") return 7;
    return want == got ? 42 : 43;
}
"""


class CountingSandbox:
    """The real bwrap sandbox, counting the compiler runs of its boxes."""

    name = "bwrap"

    def __init__(self, sandbox: BwrapSandbox) -> None:
        self.sandbox = sandbox
        self.compiles = 0

    async def check(self) -> None:
        await self.sandbox.check()

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[Box]:
        return self._box()

    @asynccontextmanager
    async def _box(self) -> AsyncIterator[Box]:
        async with self.sandbox.box() as box:
            outer = self
            real_run = box.run

            async def run(argv: Sequence[str], **options: object) -> RunResult:
                if argv and argv[0] in ("g++", "gcc"):
                    outer.compiles += 1
                return await real_run(argv, **options)  # type: ignore[arg-type]

            box.run = run  # type: ignore[method-assign]
            yield box


@pytest.fixture(scope="module")
async def sandbox() -> CountingSandbox:
    bwrap = BwrapSandbox()
    await bwrap.check()
    return CountingSandbox(bwrap)


@pytest.fixture(scope="module")
def plugins() -> tuple[Mapping[str, object], Mapping[str, object]]:
    registry = build_registry(Settings())
    return registry.languages.items, registry.checkers.items


def _job(source: bytes, answers: Sequence[bytes], validator: bytes = VALIDATOR_CPP,
         group_flags: list[str] | None = None) -> tuple[Job, dict[str, bytes]]:
    blobs: dict[str, bytes] = {}

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest

    archive = put(validator_archive({"validate.cpp": validator}))
    tests = [TestCaseSpec(id=i + 1, name=f"t{i + 1}", group_id=1, input_hash=put(b"x\n"),
                          answer_hash=put(answer)) for i, answer in enumerate(answers)]
    return Job(job_id="v", submission_id=1, language="python3",
               files=[JobFile.of("main.py", source)], time_limit_ms=2000, memory_limit_mb=256,
               output_limit_kb=1024, checker="custom", checker_flags=["problem_flag"],
               groups=[TestGroupSpec(id=1, name="secret", points=1,
                                     checker_flags=group_flags)],
               tests=tests, validator=ValidatorSpec(archive_hash=archive),
               stop_on_first_failure=False), blobs


async def _judge(sandbox: CountingSandbox, plugins: tuple, job: Job, blobs: dict[str, bytes]):
    async def read(digest: str) -> bytes:
        return blobs[digest]

    languages, checkers = plugins
    return await judge(job, sandbox=sandbox, languages=languages, checkers=checkers,
                       read_blob=read)


async def test_verdicts_messages_and_flags_come_from_the_validator(
        sandbox: CountingSandbox, plugins: tuple) -> None:
    job, blobs = _job(b"print('yes')\n", [b"yes\n", b"no\n"], group_flags=["group_flag"])
    result = await _judge(sandbox, plugins, job, blobs)
    assert [r.verdict.value for r in result.runs] == ["AC", "WA"]
    assert result.verdict.value == "WA"
    assert result.runs[0].checker_message == "want yes got yes flags group_flag"
    assert result.runs[1].checker_message == "want no got yes flags group_flag"
    job, blobs = _job(b"print('yes')\n", [b"yes\n"])  # no group flags: the problem's
    result = await _judge(sandbox, plugins, job, blobs)
    assert result.runs[0].checker_message.endswith("flags problem_flag")


async def test_a_validator_compiles_once_per_judge_process(
        sandbox: CountingSandbox, plugins: tuple) -> None:
    unique = VALIDATOR_CPP + b"// cache test\n"
    judge_module._compiled_validators.clear()
    before = sandbox.compiles
    for _ in range(3):
        job, blobs = _job(b"print('yes')\n", [b"yes\n"], validator=unique)
        assert (await _judge(sandbox, plugins, job, blobs)).verdict.value == "AC"
    assert sandbox.compiles - before == 1


async def test_a_broken_validator_is_a_judge_error_never_the_contestants(
        sandbox: CountingSandbox, plugins: tuple) -> None:
    job, blobs = _job(b"print('yes')\n", [b"crash\n"])
    result = await _judge(sandbox, plugins, job, blobs)
    assert result.verdict.value == "JE"
    assert "exited with 7" in result.error and "t1" in result.error
    job, blobs = _job(b"print('yes')\n", [b"yes\n"], validator=b"int main( {")
    result = await _judge(sandbox, plugins, job, blobs)
    assert result.verdict.value == "JE"
    assert "does not compile" in result.error


async def test_the_submission_cannot_read_the_answer_file(
        sandbox: CountingSandbox, plugins: tuple) -> None:
    """The answer lives only in the validator's box: the submission's box has no such file
    (and the validator's box is another directory it cannot see)."""
    snoop = (b"import os\n"
             b"print('yes' if not any(os.path.exists(p) for p in "
             b"('answer.ans', '../answer.ans', 'input.in')) else 'found')\n")
    job, blobs = _job(snoop, [b"yes\n"])
    result = await _judge(sandbox, plugins, job, blobs)
    assert result.verdict.value == "AC", result.runs[0].checker_message

