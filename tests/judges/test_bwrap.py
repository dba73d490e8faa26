"""The bubblewrap sandbox against hostile programs: real bwrap, real limits, no mocks.

bwrap is required (scripts/provision.sh installs it): nothing here skips. The boxes of this
module live in their own directory and their programs run as a uid of their own (TEST_UID,
picked per session, not 65534, which judges and other test sessions on this host may be using
at the same time), so the leftover checks at the end of the module see only what these tests
started.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from judges.sandbox.base import Box, Limits, RunResult, Sandbox, SandboxUnavailable
from judges.sandbox.bwrap import BwrapBox, BwrapSandbox
from tests.judges.hostile import build, marked_processes, processes_of, source

MiB = 1024 * 1024
TEST_UID = random.SystemRandom().randrange(61000, 65000)
MARK = f"podium-bwrap-test-{uuid.uuid4().hex}"
FAST = Limits(cpu_seconds=1, wall_seconds=2, memory_bytes=256 * MiB, processes=16,
              output_bytes=4 * MiB)
COMPILE = Limits(cpu_seconds=20, wall_seconds=40, memory_bytes=2048 * MiB, processes=64,
                 output_bytes=64 * MiB, open_files=256)


def _mounts() -> list[str]:
    """Mount points the sandbox could leave behind (other software, e.g. a Docker engine
    working at the same time, mounts elsewhere: those are not ours to judge)."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return sorted(line.split()[4] for line in lines
                  if "podium" in line.split()[4] or line.split()[4].startswith("/tmp"))


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def boxes_dir() -> Iterator[Path]:
    # Not under pytest's tmp dir: as root, bwrap runs as TEST_UID and must be able to pass.
    path = Path(tempfile.mkdtemp(prefix="podium-test-boxes-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
async def sandbox(boxes_dir: Path) -> AsyncIterator[BwrapSandbox]:
    mounts = _mounts()
    sandbox = BwrapSandbox(tmp_dir=boxes_dir, uid=TEST_UID, gid=TEST_UID)
    await sandbox.check()
    yield sandbox
    # After the whole module: nothing left behind.
    assert marked_processes(MARK) == []
    assert processes_of(TEST_UID) == []
    assert list(boxes_dir.iterdir()) == []
    assert _mounts() == mounts
    assert sandbox.snapshot is not None
    shutil.rmtree(sandbox.snapshot)  # made for TEST_UID only


@pytest.fixture
async def box(sandbox: BwrapSandbox) -> AsyncIterator[Box]:
    async with sandbox.box() as box:
        yield box


async def run(box: Box, argv: list[str], limits: Limits = FAST, **kwargs: str) -> RunResult:
    return await box.run(argv, limits=limits, env={"PODIUM_TEST_MARK": MARK}, **kwargs)


async def install(box: Box, programs: dict[str, bytes], name: str) -> list[str]:
    await box.write(name, programs[name], executable=True)
    return [f"./{name}"]


def test_the_backend_follows_the_protocol(sandbox: BwrapSandbox) -> None:
    assert isinstance(sandbox, Sandbox)
    assert sandbox.name == "bwrap"


async def test_the_default_sandbox_runs_programs_as_nobody() -> None:
    async with BwrapSandbox().box() as box:
        assert isinstance(box, Box)
        result = await run(box, ["sh", "-c", "id -u; id -g; pwd; echo $HOME $PATH"],
                           stdout="out")
        assert result.ok, result
        assert (await box.read("out", limit=1000)).decode().split() == [
            "65534", "65534", "/work", "/tmp", "/usr/local/bin:/usr/bin:/bin"]


async def test_check_says_why_bwrap_cannot_work(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0)  # bwrap, running as TEST_UID, cannot reach a box made here (nor can a user)
    with pytest.raises(SandboxUnavailable, match="bwrap cannot make a box: .*closed"):
        await BwrapSandbox(tmp_dir=closed, uid=TEST_UID, gid=TEST_UID).check()
    closed.chmod(0o700)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed"):
        await BwrapSandbox().check()


# -- limits and the verdict inputs -------------------------------------------------------------

@pytest.mark.parametrize("cpu", [0.5, 1.0])
async def test_a_busy_loop_hits_the_cpu_limit(box: Box, programs: dict[str, bytes],
                                              cpu: float) -> None:
    limits = Limits(cpu_seconds=cpu, wall_seconds=5, processes=4)
    result = await run(box, await install(box, programs, "spin"), limits)
    assert result.cpu_exceeded and not result.wall_exceeded and not result.ok
    assert result.signal == signal.SIGKILL and result.exit_code is None
    assert cpu <= result.cpu_seconds <= cpu + 0.5
    assert result.wall_seconds <= cpu + 1.0


async def test_sleeping_hits_the_wall_limit(box: Box) -> None:
    started = time.monotonic()
    result = await run(box, ["sleep", "100"], Limits(cpu_seconds=1, wall_seconds=1))
    assert result.wall_exceeded and not result.cpu_exceeded
    assert result.signal == signal.SIGKILL
    assert 1.0 <= result.wall_seconds < 1.5
    assert result.cpu_seconds < 0.2
    assert time.monotonic() - started < 2.5


async def test_a_memory_bomb_hits_the_memory_limit(box: Box, programs: dict[str, bytes]) -> None:
    limits = Limits(cpu_seconds=2, wall_seconds=4, memory_bytes=64 * MiB)
    result = await run(box, await install(box, programs, "membomb"), limits)
    assert result.memory_exceeded and not result.ok, result
    assert result.memory_bytes <= 64 * MiB


async def test_a_python_memory_bomb_hits_the_memory_limit(box: Box) -> None:
    await box.write("bomb.py", b"a = []\nwhile True:\n    a.append(bytearray(1 << 20))\n")
    limits = Limits(cpu_seconds=2, wall_seconds=4, memory_bytes=96 * MiB)
    result = await run(box, ["python3", "bomb.py"], limits)
    assert result.memory_exceeded and not result.ok, result
    assert b"MemoryError" in result.stderr


async def test_one_huge_failed_allocation_counts_as_memory(box: Box) -> None:
    await box.write("huge.py", b"a = bytearray(1 << 34)\n")
    await box.write("huge.cpp", b"#include <vector>\nint main(){std::vector<char> v(1ul << 34);"
                                b" return v[0];}\n")
    limits = Limits(cpu_seconds=2, wall_seconds=4, memory_bytes=96 * MiB)
    result = await run(box, ["python3", "huge.py"], limits)
    assert result.memory_exceeded and result.exit_code == 1, result
    assert result.extra["memory_exceeded_by"] == "stderr"
    compiled = await run(box, ["g++", "-O2", "-o", "huge", "huge.cpp"], COMPILE)
    assert compiled.ok, compiled.stderr
    result = await run(box, ["./huge"], limits, stderr="err.txt")
    assert result.memory_exceeded and result.signal == signal.SIGABRT, result


async def test_a_flood_stops_at_the_output_cap(box: Box, programs: dict[str, bytes]) -> None:
    limits = Limits(cpu_seconds=2, wall_seconds=4, output_bytes=1 * MiB)
    result = await run(box, await install(box, programs, "flood"), limits, stdout="out.txt")
    assert result.output_exceeded and not result.ok
    assert result.signal == signal.SIGXFSZ
    assert result.output_bytes == 1 * MiB
    assert len(await box.read("out.txt", limit=200 * MiB)) == 1 * MiB


async def test_a_fork_bomb_is_contained_and_leaves_nothing(
        box: Box, programs: dict[str, bytes]) -> None:
    started = time.monotonic()
    result = await run(box, await install(box, programs, "forkbomb"),
                       Limits(cpu_seconds=1, wall_seconds=1, processes=16))
    assert not result.ok
    assert result.cpu_exceeded or result.wall_exceeded
    assert time.monotonic() - started < 3
    assert marked_processes(MARK) == []
    assert processes_of(TEST_UID) == []


async def test_a_daemon_that_outlives_the_program_is_killed(
        box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "daemon"))
    assert result.exit_code == 0 and result.ok
    assert marked_processes(MARK) == []
    assert processes_of(TEST_UID) == []
    beats = (box_work(box) / "heartbeat").stat().st_size
    await asyncio.sleep(0.2)
    assert (box_work(box) / "heartbeat").stat().st_size == beats


async def test_a_segfault_reports_signal_11(box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "segv"))
    assert result.signal == signal.SIGSEGV and result.exit_code is None
    assert not result.ok and not result.memory_exceeded and not result.cpu_exceeded


async def test_exit_3_reports_exit_code_3(box: Box) -> None:
    result = await run(box, ["sh", "-c", "exit 3"])
    assert result.exit_code == 3 and result.signal is None and not result.ok


async def test_a_missing_program_exits_127_with_the_reason(box: Box) -> None:
    result = await run(box, ["./nothing-here"])
    assert result.exit_code == 127
    assert b"nothing-here" in result.stderr
    assert "nothing-here" in str(result.extra["exec_error"])


async def test_the_supervisor_cannot_be_killed_or_traced(
        box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "killer"), stdout="out")
    assert result.ok, result
    assert await box.read("out", limit=1000) == b""
    assert result.extra["seccomp"] is True


# -- isolation ---------------------------------------------------------------------------------

async def test_there_is_no_network(box: Box) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        await box.write("connect.py", source("connect.py"))
        result = await run(box, ["python3", "connect.py", f"127.0.0.1:{port}", "1.1.1.1:53",
                                 "8.8.8.8:443", f"10.0.2.2:{port}"], stdout="out")
        assert result.exit_code == 0, await box.read("out", limit=1000)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody reached the host's port
    finally:
        listener.close()


async def test_host_secrets_and_other_boxes_are_invisible(
        sandbox: BwrapSandbox, box: Box, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "podium.sqlite3").write_bytes(b"secret")
    repo = Path(__file__).resolve().parents[2]
    async with sandbox.box() as other:
        await other.write("solution.cpp", b"int main(){}")
        other_root = box_work(other).parent
        paths = ["/etc/shadow", "/etc/gshadow", "/root", "/home", "/var", "/sys", "/boot",
                 str(data_dir), str(data_dir / "podium.sqlite3"), str(repo / "pyproject.toml"),
                 str(box_work(other) / "solution.cpp"), str(other_root), "/proc/1/environ",
                 "/proc/1/mem", "/run/podium/etc/shadow", "/etc/ssh", "/var/cache/podium"]
        await box.write("snoop.py", source("snoop.py"))
        result = await run(box, ["python3", "snoop.py", *paths], stdout="out")
        assert result.exit_code == 0, await box.read("out", limit=10000)


async def test_nothing_outside_the_work_dir_and_tmp_is_writable(box: Box) -> None:
    await box.write("scribble.py", source("scribble.py"))
    result = await run(box, ["python3", "scribble.py", "/", "/etc", "/usr", "/usr/bin", "/bin",
                             "/run", "/run/podium", "/dev", "/proc", "/proc/sys/kernel",
                             "/lib"], stdout="out")
    assert result.exit_code == 0, await box.read("out", limit=10000)
    result = await run(box, ["python3", "scribble.py", "/work", "/tmp"], stdout="out")
    assert result.exit_code == 1
    assert (await box.read("out", limit=1000)).split() == [b"/work", b"/tmp"]


async def test_symlink_tricks_reach_no_host_file(box: Box, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    await box.write("plant.py", source("plant.py"))
    result = await run(box, ["python3", "plant.py", "/etc/shadow", str(victim), str(tmp_path)],
                       stdout="planted")
    assert result.ok, result
    assert await box.read("planted", limit=1000) == b""  # nothing readable from inside
    for trap in ("secret.txt", "input.txt", "fifo.txt"):  # the judge does not follow them
        with pytest.raises(PermissionError):
            await asyncio.wait_for(box.read(trap, limit=1000), 5)
    await box.write("input.txt", b"new input\n")  # replaces the link, not its target
    await box.write("sub/input.txt", b"nested\n")  # a real directory replaces the link
    assert victim.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]
    assert await box.read("sub/input.txt", limit=100) == b"nested\n"
    result = await run(box, ["cat"], stdin="input.txt", stdout="output.txt")
    assert result.ok, result
    assert await box.read("output.txt", limit=1000) == b"new input\n"
    assert victim.read_bytes() == b"precious"
    with pytest.raises(ValueError):
        await box.read("../work/input.txt", limit=10)
    with pytest.raises(ValueError):
        await box.write("/etc/passwd", b"x")


# -- the box's files and programs ---------------------------------------------------------------

async def test_stdin_stdout_and_stderr_files(box: Box) -> None:
    await box.write("in.txt", b"hello\nworld\n")
    result = await run(box, ["sh", "-c", "tr a-z A-Z; echo oops >&2"], stdin="in.txt",
                       stdout="out.txt")
    assert result.ok and result.output_bytes == 12
    assert await box.read("out.txt", limit=100) == b"HELLO\nWORLD\n"
    assert result.stderr == b"oops\n"  # captured although no file was named
    result = await run(box, ["sh", "-c", "echo to-err >&2; exit 1"], stderr="err.txt")
    assert result.exit_code == 1
    assert await box.read("err.txt", limit=100) == b"to-err\n" == result.stderr
    assert await box.read("out.txt", limit=5) == b"HELLO"


async def test_nested_files_and_executables(box: Box) -> None:
    await box.write("sub/dir/run.sh", b"#!/bin/sh\necho nested\n", executable=True)
    result = await run(box, ["./sub/dir/run.sh"], stdout="sub/out")
    assert result.ok, result
    assert await box.read("sub/out", limit=100) == b"nested\n"


async def test_compile_and_run_a_c_program(box: Box) -> None:
    await box.write("main.c", b'#include <stdio.h>\nint main(void){int a,b;'
                              b'scanf("%d %d",&a,&b);printf("%d\\n",a+b);return 0;}\n')
    compiled = await run(box, ["gcc", "-O2", "-o", "main", "main.c"], COMPILE,
                         stdout="compile.out", stderr="compile.err")
    assert compiled.ok, compiled.stderr
    await box.write("input.txt", b"2 40\n")
    result = await run(box, ["./main"], stdin="input.txt", stdout="output.txt")
    assert result.ok, result
    assert await box.read("output.txt", limit=100) == b"42\n"
    assert 0 < result.memory_bytes < FAST.memory_bytes


async def test_a_compile_error_is_reported_on_stderr(box: Box) -> None:
    await box.write("main.c", b"int main(void){ return x; }\n")
    compiled = await run(box, ["gcc", "-o", "main", "main.c"], COMPILE, stderr="compile.err")
    assert compiled.exit_code == 1
    assert b"undeclared" in await box.read("compile.err", limit=10000)


async def test_run_a_python_program(box: Box) -> None:
    await box.write("main.py",
                    b"import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n")
    await box.write("input.txt", b"1 2 3\n")
    result = await run(box, ["python3", "main.py"], stdin="input.txt", stdout="output.txt")
    assert result.ok, result
    assert await box.read("output.txt", limit=100) == b"6\n"


async def test_compile_and_run_a_java_program(box: Box) -> None:
    await box.write("Main.java", b"public class Main { public static void main(String[] a) {"
                                 b" System.out.println(\"hi from java\"); } }\n")
    compiled = await run(box, ["javac", "-d", ".", "Main.java"],
                         Limits(cpu_seconds=20, wall_seconds=40, memory_bytes=1024 * MiB,
                                processes=64, address_space_bytes=0), stderr="javac.err")
    assert compiled.ok, compiled.stderr
    java = Limits(cpu_seconds=5, wall_seconds=10, memory_bytes=256 * MiB, processes=64,
                  address_space_bytes=0)
    result = await run(box, ["java", "-Xmx64m", "-Xss64m", "Main"], java, stdout="out")
    assert result.ok, result
    assert await box.read("out", limit=100) == b"hi from java\n"
    assert result.memory_bytes < java.memory_bytes


async def test_the_work_dir_is_gone_after_the_box_even_on_errors(sandbox: BwrapSandbox) -> None:
    async with sandbox.box() as box:
        await box.write("a.txt", b"x")
        result = await run(box, ["sh", "-c", "mkdir -p d/e && touch d/e/f && chmod 000 d"])
        assert result.ok
        root = box_work(box).parent
        assert root.is_dir()
    assert not root.exists()
    with pytest.raises(RuntimeError, match="boom"):
        async with sandbox.box() as box:
            root = box_work(box).parent
            raise RuntimeError("boom")
    assert not root.exists()


async def test_each_run_starts_clean(box: Box) -> None:
    first = await run(box, ["sh", "-c", "echo left > /tmp/left; ls /tmp"], stdout="out")
    assert first.ok
    second = await run(box, ["sh", "-c", "ls -A /tmp"], stdout="out")
    assert second.ok
    assert await box.read("out", limit=100) == b""  # a fresh /tmp for every run


def box_work(box: Box) -> Path:
    assert isinstance(box, BwrapBox)
    return box.work
