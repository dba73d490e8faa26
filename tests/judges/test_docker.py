"""The Docker sandbox against hostile programs: a real engine, real containers, no mocks.

The boxes are ``podium-judge-test:host`` (an empty imported image, see docker_images.py) with
the host's toolchain and runguard bound read-only, hardened exactly as production boxes. The
module skips only when the engine is unreachable (or PODIUM_TEST_DOCKER=unavailable). Its
programs run as uids of their own (TEST_UIDS), so the leftover checks at the end of the module
see only what these tests started: no process, no ``podium-box-`` container.

These are the bubblewrap tests' cases (test_bwrap.py), plus what only a container has.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from judges.sandbox.base import Box, Limits, RunResult, Sandbox, SandboxError, SandboxUnavailable
from judges.sandbox.docker import (
    BOX_PREFIX,
    LABEL,
    OWNER_LABEL,
    RUNGUARD_IN_IMAGE,
    DockerBox,
    DockerSandbox,
)
from tests.judges.docker_images import (
    TEST_IMAGE,
    docker_unavailable_reason,
    ensure_test_image,
    test_sandbox,
)
from tests.judges.hostile import build, marked_processes, processes_of, source

UNAVAILABLE = docker_unavailable_reason()
pytestmark = [pytest.mark.docker,
              pytest.mark.skipif(UNAVAILABLE is not None,
                                 reason=f"no usable Docker engine: {UNAVAILABLE}")]

MiB = 1024 * 1024
TEST_UIDS = range(64800, 64832)
MARK = f"podium-docker-test-{uuid.uuid4().hex}"
FAST = Limits(cpu_seconds=1, wall_seconds=2, memory_bytes=256 * MiB, processes=16,
              output_bytes=4 * MiB)
COMPILE = Limits(cpu_seconds=20, wall_seconds=40, memory_bytes=2048 * MiB, processes=64,
                 output_bytes=64 * MiB, open_files=256)
OWNER_PREFIX = f"{socket.gethostname()}/{os.getpid()}/"


def our_containers(engine: Any) -> list[str]:
    """Box containers this test process made that still exist (`docker ps -a` with filters)."""
    found = engine.api.containers(all=True, filters={"label": LABEL})
    return [c["Names"][0].lstrip("/") for c in found
            if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(OWNER_PREFIX)]


def leftover_processes() -> list[str]:
    return marked_processes(MARK) + [p for uid in TEST_UIDS for p in processes_of(uid)]


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker.from_env()
    yield client
    client.close()


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
async def sandbox(engine: Any) -> AsyncIterator[DockerSandbox]:
    ensure_test_image(engine)
    sandbox = test_sandbox(program_uids=TEST_UIDS)
    await sandbox.check()
    yield sandbox
    await sandbox.aclose()
    # After the whole module: nothing left behind.
    assert leftover_processes() == []
    assert our_containers(engine) == []


@pytest.fixture
async def box(sandbox: DockerSandbox) -> AsyncIterator[Box]:
    async with sandbox.box() as box:
        yield box


async def run(box: Box, argv: list[str], limits: Limits = FAST, **kwargs: str) -> RunResult:
    return await box.run(argv, limits=limits, env={"PODIUM_TEST_MARK": MARK}, **kwargs)


async def install(box: Box, programs: dict[str, bytes], name: str) -> list[str]:
    await box.write(name, programs[name], executable=True)
    return [f"./{name}"]


def container(engine: Any, box: Box) -> dict[str, Any]:
    assert isinstance(box, DockerBox)
    info: dict[str, Any] = engine.api.inspect_container(box.container_id)
    return info


def test_the_backend_follows_the_protocol(sandbox: DockerSandbox) -> None:
    assert isinstance(sandbox, Sandbox)
    assert sandbox.name == "docker"


async def test_programs_run_as_the_box_uid_without_privileges(sandbox: DockerSandbox) -> None:
    async with sandbox.box() as one, sandbox.box() as two:
        assert isinstance(one, Box) and isinstance(one, DockerBox)
        ids = []
        for box in (one, two):
            script = ("id -u; id -g; id -G; pwd; echo $HOME $PATH; "
                      "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status; "
                      "grep '^Uid:' /proc/1/status")
            result = await run(box, ["sh", "-c", script], stdout="out")
            assert result.ok, result
            words = (await box.read("out", limit=1000)).decode().split()
            uid = int(words[0])
            assert uid in TEST_UIDS and words[1:3] == [str(uid)] * 2
            assert words[3:6] == ["/work", "/tmp", "/usr/local/bin:/usr/bin:/bin"]
            assert words[6:12] == ["CapEff:", "0" * 16, "CapBnd:", "0" * 16, "NoNewPrivs:", "1"]
            assert words[12:14] == ["Uid:", "65534"]  # the container's own process
            ids.append(uid)
        assert ids[0] != ids[1]  # one uid per box: RLIMIT_NPROC counts each box alone


async def test_the_environment_is_exactly_the_sandbox_one(box: Box) -> None:
    result = await box.run(["env"], limits=FAST, stdout="out", env={"EXTRA": "1"})
    assert result.ok, result
    assert sorted((await box.read("out", limit=1000)).decode().split()) == [
        "EXTRA=1", "HOME=/tmp", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"]
    with pytest.raises(ValueError):
        await box.run(["env"], limits=FAST, env={"-i": "x"})


async def test_the_container_is_hardened(engine: Any, sandbox: DockerSandbox, box: Box) -> None:
    info = container(engine, box)
    host = info["HostConfig"]
    assert info["Name"].startswith(f"/{BOX_PREFIX}")
    assert info["Config"]["User"] == "65534:65534"
    assert info["Config"]["Labels"][LABEL] == "1"
    assert info["Config"]["Labels"][OWNER_LABEL].startswith(OWNER_PREFIX)
    assert host["NetworkMode"] == "none" and host["IpcMode"] == "none"
    assert host["ReadonlyRootfs"] is True and host["Privileged"] is False
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["PidsLimit"] == sandbox.pids
    assert host["Memory"] == host["MemorySwap"] == sandbox.memory_bytes
    assert host["NanoCpus"] == 10**9
    assert set(host["Tmpfs"]) == {"/work", "/tmp", "/sys"}
    assert f"size={sandbox.work_bytes}" in host["Tmpfs"]["/work"]
    assert {u["Name"] for u in host["Ulimits"]} == {"nofile", "nproc", "core", "fsize", "stack"}
    assert all(bind.endswith(":ro") for bind in host["Binds"])
    assert any(bind.endswith(f":{RUNGUARD_IN_IMAGE}:ro") for bind in host["Binds"])
    assert not info["Mounts"] or all(not m["RW"] for m in info["Mounts"])


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
    result = await run(box, ["./huge"], limits, stderr="err.txt")  # a failed run: head fetched
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
    assert leftover_processes() == []
    assert (await run(box, ["true"])).ok  # the box survived it


async def test_concurrent_boxes_do_not_share_a_process_budget(sandbox: DockerSandbox) -> None:
    # Nine processes each, twelve allowed: fine alone, but not if both counted under one uid.
    children = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait"]
    limits = Limits(cpu_seconds=2, wall_seconds=5, processes=12)
    async with sandbox.box() as one, sandbox.box() as two:
        results = await asyncio.gather(run(one, children, limits), run(two, children, limits))
    assert all(r.ok for r in results), results


async def test_a_daemon_that_outlives_the_program_is_killed(
        box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "daemon"))
    assert result.exit_code == 0 and result.ok
    assert leftover_processes() == []
    beats = len(await box.read("heartbeat", limit=MiB))
    await asyncio.sleep(0.2)
    assert len(await box.read("heartbeat", limit=MiB)) == beats


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


async def test_the_supervisor_and_the_container_cannot_be_killed_or_traced(
        box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "killer"), stdout="out")
    assert result.ok, result
    assert await box.read("out", limit=1000) == b""
    assert result.extra["seccomp"] is True
    assert (await run(box, ["true"])).ok  # the container's init is still there


# -- isolation ---------------------------------------------------------------------------------

async def test_there_is_no_network(box: Box) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        await box.write("connect.py", source("connect.py"))
        result = await run(box, ["python3", "connect.py", f"127.0.0.1:{port}", "1.1.1.1:53",
                                 "8.8.8.8:443", f"10.0.2.2:{port}", f"172.17.0.1:{port}"],
                           stdout="out")
        assert result.exit_code == 0, await box.read("out", limit=1000)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody reached the host's port
        result = await run(box, ["sh", "-c", "ls /sys/class/net 2>/dev/null; cat /proc/net/dev"],
                           stdout="out")
        interfaces = [line.split(":")[0].strip() for line in
                      (await box.read("out", limit=10000)).decode().splitlines()[2:]]
        assert interfaces == ["lo"]
    finally:
        listener.close()


async def test_host_secrets_and_other_boxes_are_invisible(
        sandbox: DockerSandbox, box: Box, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "podium.sqlite3").write_bytes(b"secret")
    repo = Path(__file__).resolve().parents[2]
    async with sandbox.box() as other:
        await other.write("solution.cpp", b"int main(){}")
        assert (await run(other, ["true"])).ok  # the file is really there
        paths = ["/etc/shadow", "/etc/gshadow", "/root", "/home", "/var", "/boot", "/etc/ssh",
                 str(data_dir), str(data_dir / "podium.sqlite3"), str(repo / "pyproject.toml"),
                 "/var/lib/docker", "/var/run/docker.sock", "/run/docker.sock",
                 "/proc/1/environ", "/proc/1/mem", "/proc/1/root/etc", "/var/cache/podium",
                 "/sys/fs/cgroup", "/sys/class", "/dev/shm"]
        await box.write("snoop.py", source("snoop.py"))
        result = await run(box, ["python3", "snoop.py", *paths], stdout="out")
        assert result.exit_code == 0, await box.read("out", limit=10000)
        script = "ls -A /sys /work; ls /tmp/solution.cpp /work/solution.cpp 2>/dev/null"
        result = await run(box, ["sh", "-c", script], stdout="out")
        listing = (await box.read("out", limit=10000)).decode().split()
        assert "solution.cpp" not in listing and not any("sys/" in w for w in listing[2:])


async def test_nothing_outside_the_work_dir_and_tmp_is_writable(box: Box) -> None:
    await box.write("scribble.py", source("scribble.py"))
    result = await run(box, ["python3", "scribble.py", "/", "/etc", "/usr", "/usr/bin", "/bin",
                             "/opt", "/opt/podium", "/dev", "/proc", "/proc/sys/kernel",
                             "/lib", "/sys", "/run"], stdout="out")
    assert result.exit_code == 0, await box.read("out", limit=10000)
    result = await run(box, ["python3", "scribble.py", "/work", "/tmp"], stdout="out")
    assert result.exit_code == 1
    assert (await box.read("out", limit=1000)).split() == [b"/work", b"/tmp"]
    result = await run(box, ["sh", "-c", f"echo x > {RUNGUARD_IN_IMAGE}"])
    assert result.exit_code != 0


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
    with pytest.raises(NotADirectoryError):
        await box.read("sub/victim", limit=1000)
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


async def test_a_named_stderr_of_a_successful_run_stays_in_its_file(box: Box) -> None:
    result = await run(box, ["sh", "-c", "echo warning >&2"], stderr="err.txt")
    assert result.ok and result.stderr == b""  # documented: fetched for failed runs only
    assert await box.read("err.txt", limit=100) == b"warning\n"


async def test_a_file_named_like_a_descriptor_is_a_file(box: Box) -> None:
    await box.write("fd:0", b"from a file\n")
    result = await run(box, ["cat"], stdin="fd:0", stdout="fd:1")
    assert result.ok, result
    assert await box.read("fd:1", limit=100) == b"from a file\n"


async def test_reads_are_capped_and_refuse_what_is_not_a_file(box: Box) -> None:
    await box.write("big", b"x" * 100_000)
    assert await box.read("big", limit=10) == b"x" * 10
    assert await box.read("big", limit=0) == b""
    assert len(await box.read("big", limit=1 << 30)) == 100_000
    with pytest.raises(FileNotFoundError):
        await box.read("nothing", limit=10)
    traps = "mkdir adir; mkfifo fifo; ln -s /dev/zero zero; ln -s big link; ln -s /work sub"
    assert (await run(box, ["sh", "-c", traps])).ok
    for name in ("adir", "fifo", "zero", "link"):
        with pytest.raises(PermissionError):
            await asyncio.wait_for(box.read(name, limit=10), 5)
    with pytest.raises(NotADirectoryError):  # no symlink on the way either
        await box.read("sub/big", limit=10)
    await box.write("b\nc -d", b"odd name")
    assert await box.read("b\nc -d", limit=100) == b"odd name"


async def test_a_write_over_what_the_program_left_replaces_it(box: Box) -> None:
    result = await run(box, ["sh", "-c", "mkdir -p out.txt/x && chmod 000 out.txt/x out.txt"])
    assert result.ok, result
    await box.write("out.txt", b"fresh")
    assert await box.read("out.txt", limit=100) == b"fresh"


async def test_a_write_through_what_the_program_left_makes_real_directories(box: Box) -> None:
    script = "echo file > d; ln -s /tmp t; mkdir -p locked/in; chmod 000 locked/in locked"
    assert (await run(box, ["sh", "-c", script])).ok
    await box.write("d/x", b"1")
    await box.write("t/x", b"2")
    await box.write("locked/in/x", b"3")
    assert [await box.read(f"{d}/x", limit=10) for d in ("d", "t", "locked/in")] == [
        b"1", b"2", b"3"]
    result = await run(box, ["sh", "-c", "ls -A /tmp; test -d t && test ! -L t"], stdout="out")
    assert result.ok and await box.read("out", limit=100) == b""


async def test_a_failed_queued_write_breaks_the_box() -> None:
    sandbox = test_sandbox(program_uids=TEST_UIDS, work_bytes=1 * MiB)
    try:
        async with sandbox.box() as box:
            await box.write("small", b"fits")
            await box.write("big", b"x" * (2 * MiB))  # more than the work dir holds
            await box.write("after", b"never written")
            with pytest.raises(OSError, match="queued file"):
                await box.read("small", limit=10)
            with pytest.raises(SandboxError, match="unusable"):
                await box.read("small", limit=10)
    finally:
        await sandbox.aclose()


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
    assert b"undeclared" in compiled.stderr


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


async def test_each_run_starts_clean(box: Box) -> None:
    script = "echo left > /tmp/left; mkdir /tmp/d; touch /tmp/.h; chmod 000 /tmp/d; ls /tmp"
    first = await run(box, ["sh", "-c", script], stdout="out")
    assert first.ok
    second = await run(box, ["sh", "-c", "ls -A /tmp"], stdout="out")
    assert second.ok
    assert await box.read("out", limit=100) == b""  # a fresh /tmp for every run


async def test_execs_leak_no_descriptors_or_threads(box: Box) -> None:
    async def cycle() -> None:
        await box.write("in", b"data")
        assert (await run(box, ["cat"], stdin="in", stdout="out")).ok
        assert await box.read("out", limit=10) == b"data"
        assert (await run(box, ["sh", "-c", "echo e >&2; exit 1"], stderr="err")).stderr == b"e\n"
        with pytest.raises(FileNotFoundError):
            await box.read("missing", limit=10)

    await cycle()  # warm the connection pool
    fds, threads = len(os.listdir("/proc/self/fd")), threading.active_count()
    for _ in range(5):
        await cycle()
    assert len(os.listdir("/proc/self/fd")) <= fds
    assert threading.active_count() <= threads


# -- the container's life -----------------------------------------------------------------------

async def test_the_container_is_gone_after_the_box_even_on_errors(
        engine: Any, sandbox: DockerSandbox) -> None:
    async with sandbox.box() as box:
        await box.write("a.txt", b"x")
        assert (await run(box, ["true"])).ok
        name = container(engine, box)["Name"].lstrip("/")
        assert name in our_containers(engine)
    assert name not in our_containers(engine)
    with pytest.raises(RuntimeError, match="boom"):
        async with sandbox.box() as box:
            name = container(engine, box)["Name"].lstrip("/")
            raise RuntimeError("boom")
    assert name not in our_containers(engine)


async def test_a_cancelled_run_removes_its_container(engine: Any,
                                                    sandbox: DockerSandbox) -> None:
    started = asyncio.Event()

    async def judge() -> None:
        async with sandbox.box() as box:
            started.set()
            await run(box, ["sleep", "100"], Limits(cpu_seconds=100, wall_seconds=100))

    task = asyncio.create_task(judge())
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.sleep(0.5)  # the run is under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert our_containers(engine) == []
    assert leftover_processes() == []

    task = asyncio.create_task(judge())  # cancelled while the container is being made
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert our_containers(engine) == []


async def test_cleanup_removes_boxes_of_dead_judges_only(
        engine: Any, sandbox: DockerSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import judges.sandbox.docker as module

    dead = f"{socket.gethostname()}/{2**22 + 7}/1"  # above pid_max: never a live process
    monkeypatch.setattr(module, "_owner", lambda: dead)
    client = await sandbox._ready()
    orphan = f"{BOX_PREFIX}orphan-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(sandbox._create_sync, client, orphan, TEST_IMAGE, TEST_UIDS[-1])
    monkeypatch.undo()
    try:
        async with sandbox.box() as live:
            live_name = container(engine, live)["Name"].lstrip("/")
            removed = await sandbox.cleanup()
            assert orphan in removed and live_name not in removed
            assert (await run(live, ["true"])).ok
        names = [c["Names"][0].lstrip("/") for c in
                 engine.api.containers(all=True, filters={"label": LABEL})]
        assert orphan not in names
    finally:
        await asyncio.to_thread(sandbox._remove_sync, client, orphan)


# -- check() says why ---------------------------------------------------------------------------

async def test_check_names_a_missing_image() -> None:
    sandbox = test_sandbox(images=["podium-judge-no-such-image:1"])
    with pytest.raises(SandboxUnavailable, match="podium-judge-no-such-image:1.*not on this"):
        await sandbox.check()
    await sandbox.aclose()
    sandbox = DockerSandbox("podium-judge-no-such-image:2")
    with pytest.raises(SandboxUnavailable, match="podium-judge-no-such-image:2"):
        async with sandbox.box():
            pass
    await sandbox.aclose()


async def test_check_says_when_the_engine_is_unreachable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(SandboxUnavailable, match="engine is unreachable at unix://"):
        await DockerSandbox().check()


async def test_check_says_when_the_docker_package_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "docker", None)
    with pytest.raises(SandboxUnavailable, match="docker Python package is not installed"):
        await DockerSandbox().check()


async def test_check_says_when_runguard_is_missing_from_the_image() -> None:
    sandbox = test_sandbox()
    sandbox.runguard = None  # the empty image has no runguard of its own
    with pytest.raises(SandboxUnavailable, match="cannot run `true`.*runguard"):
        await sandbox.check()
    await sandbox.aclose()
