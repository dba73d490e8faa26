"""Checker ``exact``: the output must equal the answer byte for byte."""

from __future__ import annotations

from collections.abc import Sequence

from server.components import Checker, CheckResult
from server.hooks import hookimpl

__all__ = ["ExactChecker", "first_difference"]


def first_difference(output: bytes, answer: bytes) -> str:
    """Where the two differ, as 'line L, column C' (1-based), for the judge's message."""
    limit = min(len(output), len(answer))
    index = next((i for i in range(limit) if output[i] != answer[i]), limit)
    line = output.count(b"\n", 0, index) + 1
    column = index - (output.rfind(b"\n", 0, index) + 1) + 1
    if index == limit:
        side = "output" if len(output) < len(answer) else "answer"
        return f"the {side} ends early at line {line}, column {column}"
    return f"first difference at line {line}, column {column}"


class ExactChecker(Checker):
    name = "exact"
    title = "Exact match (byte for byte)"

    def check(
        self, output: bytes, answer: bytes, *, input: bytes = b"", flags: Sequence[str] = ()
    ) -> CheckResult:
        if output == answer:
            return CheckResult(accepted=True)
        return CheckResult(accepted=False, message=first_difference(output, answer))


@hookimpl
def podium_checkers() -> list[Checker]:
    return [ExactChecker()]
