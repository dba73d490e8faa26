"""What the Docker sandbox costs: a box's container, and a run, against a bare process.

    python -m judges.sandbox.bench_docker [-n 20] [--image IMAGE] [--[no-]host-toolchain]

Prints the median and the 90th percentile in ms of:

- box: start (create, attach, start the container, the agent's hello) and remove
  (``async with sandbox.box()``), and both together: the once-per-submission cost;
- run ``true``: bare (``asyncio.create_subprocess_exec`` on the host), a ``docker exec`` of
  ``/bin/true`` through the SDK (create, start, read the stream to its end: what a run cost
  before the box's agent, and what an interactive run still costs), and ``Box.run`` (a request
  to the agent: runguard + its report);
- the judge's per-test pattern: write the input, run ``cat`` on it, read the output.

Each line also gives the overhead over the bare process: the median and 90th percentile of
(that sample - the bare sample of the same round; the modes take turns).

The default image is the tests' ``podium-judge-test:host`` with the host's toolchain bound in
(``python -m tests.judges.docker_images`` builds it); give ``--image podium-judge-c
--no-host-toolchain`` to measure a production image.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from judges.sandbox.base import Limits
from judges.sandbox.docker import DockerBox, DockerSandbox, host_toolchain_sandbox
from judges.sandbox.runguard import SANDBOX_ENV

__all__ = ["main"]

TEST_IMAGE = "podium-judge-test:host"
LIMITS = Limits(cpu_seconds=2, wall_seconds=5)


def _p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]


def _summary(samples: list[float]) -> str:
    return f"median {statistics.median(samples):7.1f} ms   p90 {_p90(samples):7.1f} ms"


async def _timed(samples: list[float], step: Callable[[], Awaitable[object]]) -> None:
    started = time.perf_counter()
    await step()
    samples.append((time.perf_counter() - started) * 1000)


async def _bench(sandbox: DockerSandbox, n: int) -> None:
    await sandbox.check()  # also warms the connection and the image
    starts: list[float] = []
    removes: list[float] = []
    for _ in range(n):
        started = time.perf_counter()
        async with sandbox.box():
            entered = time.perf_counter()
        done = time.perf_counter()
        starts.append((entered - started) * 1000)
        removes.append((done - entered) * 1000)
    print(f"box start           {_summary(starts)}")
    print(f"box remove          {_summary(removes)}")
    print(f"box start + remove  {_summary([a + b for a, b in zip(starts, removes, strict=True)])}")

    async with sandbox.box() as box:
        assert isinstance(box, DockerBox)
        api = box._client.api

        async def bare() -> None:
            proc = await asyncio.create_subprocess_exec(
                "true", env=SANDBOX_ENV, stdout=asyncio.subprocess.DEVNULL,
                stdin=asyncio.subprocess.DEVNULL)
            await proc.wait()

        def raw_exec() -> None:
            created = api.exec_create(box.container_id, ["/bin/true"], user=f"{box.uid}")
            api.exec_start(created["Id"])

        async def engine() -> None:
            await asyncio.to_thread(raw_exec)

        async def run() -> None:
            result = await box.run(["true"], limits=LIMITS)
            assert result.exit_code == 0, result

        async def judge_test() -> None:
            await box.write("input.txt", b"1 2\n" * 1000)
            result = await box.run(["cat"], limits=LIMITS, stdin="input.txt",
                                   stdout="output.txt", stderr="stderr.txt")
            assert result.ok, result
            assert len(await box.read("output.txt", limit=1 << 20)) == 4000

        modes: dict[str, Callable[[], Awaitable[None]]] = {
            "run true: bare": bare, "run true: exec": engine, "run true: Box.run": run,
            "write+run+read": judge_test}
        samples: dict[str, list[float]] = {mode: [] for mode in modes}
        for step in modes.values():  # warm up once
            await step()
        for _ in range(n):  # modes take turns, so noise hits them alike
            for mode, step in modes.items():
                await _timed(samples[mode], step)
        bare_samples = samples["run true: bare"]
        for mode, values in samples.items():
            extra = [v - b for v, b in zip(values, bare_samples, strict=True)]
            print(f"{mode:19} {_summary(values)}   over bare: median "
                  f"{statistics.median(extra):+6.1f} ms, p90 {_p90(extra):+6.1f} ms")
    await sandbox.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="samples per measurement")
    parser.add_argument("--image", default=TEST_IMAGE)
    parser.add_argument("--host-toolchain", action=argparse.BooleanOptionalAction,
                        default=None, help="bind the host's toolchain and runguard "
                        "(default: only for the test image)")
    args = parser.parse_args()
    host = args.host_toolchain if args.host_toolchain is not None else args.image == TEST_IMAGE
    sandbox = host_toolchain_sandbox(args.image) if host else DockerSandbox(args.image)
    asyncio.run(_bench(sandbox, args.n))


if __name__ == "__main__":
    main()
