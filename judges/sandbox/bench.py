"""How much a sandboxed run costs: bare process vs runguard vs bwrap + runguard.

    python -m judges.sandbox.bench [-n 50]

Times N runs of ``true`` and of a trivial Python program in each mode, as the judge sees them
(from an asyncio task: spawn to parsed result), and prints the median and the 95th percentile
in ms. The modes take turns run by run, so that noise from the rest of the machine hits them
alike.

- bare: the program itself, started and awaited the way runs are (same environment);
- runguard: the unsafe backend's ``Box.run`` (runguard only, report parsed);
- bwrap: the bwrap backend's ``Box.run`` (namespaces + runguard inside).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable

from judges.sandbox.base import Limits
from judges.sandbox.bwrap import BwrapSandbox
from judges.sandbox.runguard import SANDBOX_ENV, supervise
from judges.sandbox.unsafe import UnsafeSandbox

__all__ = ["main"]

PROGRAMS = {"true": ["true"], "python": ["python3", "-S", "hello.py"]}
HELLO = b"print('hello')\n"


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return f"median {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms"


async def _bench(n: int) -> None:
    limits = Limits(cpu_seconds=2, wall_seconds=5)
    async with BwrapSandbox().box() as bwrap_box, UnsafeSandbox().box() as unsafe_box:
        for box in (bwrap_box, unsafe_box):
            await box.write("hello.py", HELLO)
        work = unsafe_box.work

        async def bare(argv: list[str]) -> None:
            code = await supervise(argv, pass_fds=(), cwd=work, env=SANDBOX_ENV,
                                   stderr=subprocess.DEVNULL, timeout=5)
            assert code == 0, code

        async def runguard(argv: list[str]) -> None:
            result = await unsafe_box.run(argv, limits=limits, stdout="out")
            assert result.exit_code == 0, result

        async def bwrap(argv: list[str]) -> None:
            result = await bwrap_box.run(argv, limits=limits, stdout="out")
            assert result.exit_code == 0, result

        modes: dict[str, Callable[[list[str]], Awaitable[None]]] = {
            "bare": bare, "runguard": runguard, "bwrap+runguard": bwrap}
        for program, argv in PROGRAMS.items():
            samples: dict[str, list[float]] = {mode: [] for mode in modes}
            for run in modes.values():  # warm caches once
                await run(argv)
            for _ in range(n):
                for mode, run in modes.items():
                    start = time.perf_counter()
                    await run(argv)
                    samples[mode].append((time.perf_counter() - start) * 1000)
            base = statistics.median(samples["bare"])
            for mode, values in samples.items():
                extra = statistics.median(values) - base
                print(f"{program:7} {mode:15} {_summary(values)}   (+{extra:5.2f} ms median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="runs per mode and program")
    asyncio.run(_bench(parser.parse_args().n))


if __name__ == "__main__":
    main()
