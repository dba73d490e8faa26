"""What only the Docker sandbox has: a real engine, real containers, no mocks.

The boxes are ``podium-judge-test:host`` (an empty imported image, see docker_images.py) with
the host's toolchain and runguard bound read-only, hardened exactly as production boxes. The
module skips only when the engine is unreachable (or PODIUM_TEST_DOCKER=unavailable). Its
boxes run as uids of their own (TEST_UIDS, a block drawn per session), so the leftover checks at
the end of the module see only what these tests started: no process, no ``podium-box-``
container.

The behaviour both backends share (limits, isolation, hostile programs, the box's files) is
tested on both in test_hostile.py; here: a uid per box, the container's hardening, the box's
agent (files and runs without an exec, out of the program's reach), and the container's life.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from judges.sandbox.base import Box, Limits, RunResult, SandboxError, SandboxUnavailable
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
from tests.judges.hostile import marked_processes, processes_of_uids

UNAVAILABLE = docker_unavailable_reason()
pytestmark = [pytest.mark.docker,
              pytest.mark.skipif(UNAVAILABLE is not None,
                                 reason=f"no usable Docker engine: {UNAVAILABLE}")]

MiB = 1024 * 1024
_FIRST_UID = 64000 + 32 * random.SystemRandom().randrange(25)  # per session: a box's agent
TEST_UIDS = range(_FIRST_UID, _FIRST_UID + 32)  # lives as long as its box, with the box's uid
MARK = f"podium-docker-test-{uuid.uuid4().hex}"
FAST = Limits(cpu_seconds=1, wall_seconds=2, memory_bytes=256 * MiB, processes=16,
              output_bytes=4 * MiB)
OWNER_PREFIX = f"{socket.gethostname()}/{os.getpid()}/"


def our_containers(engine: Any) -> list[str]:
    """Box containers this test process made that still exist (`docker ps -a` with filters)."""
    found = engine.api.containers(all=True, filters={"label": LABEL})
    return [c["Names"][0].lstrip("/") for c in found
            if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(OWNER_PREFIX)]


def leftover_processes() -> list[str]:
    return marked_processes(MARK) + processes_of_uids(TEST_UIDS)


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker.from_env()
    yield client
    client.close()


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


def container(engine: Any, box: Box) -> dict[str, Any]:
    assert isinstance(box, DockerBox)
    info: dict[str, Any] = engine.api.inspect_container(box.container_id)
    return info


async def test_programs_run_as_the_box_uid_without_privileges(sandbox: DockerSandbox) -> None:
    async with sandbox.box() as one, sandbox.box() as two:
        assert isinstance(one, Box) and isinstance(one, DockerBox)
        ids = []
        for box in (one, two):
            script = ("id -u; id -g; id -G; pwd; echo $HOME $PATH; "
                      "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status; "
                      "grep '^Uid:' /proc/1/status; tr '\\0' ' ' < /proc/1/cmdline")
            result = await run(box, ["sh", "-c", script], stdout="out")
            assert result.ok, result
            words = (await box.read("out", limit=1000)).decode().split()
            uid = int(words[0])
            assert uid in TEST_UIDS and words[1:3] == [str(uid)] * 2
            assert words[3:6] == ["/work", "/tmp", "/usr/local/bin:/usr/bin:/bin"]
            assert words[6:12] == ["CapEff:", "0" * 16, "CapBnd:", "0" * 16, "NoNewPrivs:", "1"]
            assert words[12:14] == ["Uid:", str(uid)]  # the agent: RLIMIT_NPROC is per box
            assert words[17:] == [RUNGUARD_IN_IMAGE, "--agent", "/work",
                                  str(sandbox.lifetime_seconds)]
            ids.append(uid)
        assert ids[0] != ids[1]  # one uid per box: RLIMIT_NPROC counts each box alone


async def test_a_bad_environment_name_is_refused(box: Box) -> None:
    with pytest.raises(ValueError):  # it would be an option of `env` in the exec
        await box.run(["env"], limits=FAST, env={"-i": "x"})


async def test_the_container_is_hardened(engine: Any, sandbox: DockerSandbox, box: Box) -> None:
    info = container(engine, box)
    host = info["HostConfig"]
    assert info["Name"].startswith(f"/{BOX_PREFIX}")
    assert isinstance(box, DockerBox)
    assert info["Config"]["User"] == f"{box.uid}:{box.uid}"
    assert info["Config"]["OpenStdin"] is True and info["Config"]["StdinOnce"] is True
    assert info["Config"]["Tty"] is False and host["LogConfig"]["Type"] == "none"
    assert host["Init"] is False  # the agent is the pid namespace's init
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


# -- limits -------------------------------------------------------------------------------------

async def test_concurrent_boxes_do_not_share_a_process_budget(sandbox: DockerSandbox) -> None:
    # Nine processes each, twelve allowed: fine alone, but not if both counted under one uid.
    children = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait"]
    limits = Limits(cpu_seconds=2, wall_seconds=5, processes=12)
    async with sandbox.box() as one, sandbox.box() as two:
        results = await asyncio.gather(run(one, children, limits), run(two, children, limits))
    assert all(r.ok for r in results), results


# -- the box's files (through its agent) --------------------------------------------------------

async def test_a_named_stderr_is_in_its_file_and_in_the_result(box: Box) -> None:
    result = await run(box, ["sh", "-c", "echo warning >&2"], stderr="err.txt")
    assert result.ok and result.stderr == b"warning\n"  # as on bwrap
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


async def test_big_files_and_many_requests_keep_the_channel_in_step(box: Box) -> None:
    data = os.urandom(5 * MiB + 12345)  # many frames of the attach stream, both ways
    await box.write("big.bin", data)
    await box.write("small", b"s")
    assert await box.read("big.bin", limit=10 * MiB) == data
    assert await box.read("big.bin", limit=70000) == data[:70000]
    result = await run(box, ["sh", "-c", "head -c 100000 big.bin >&2; exit 1"], stdout="out")
    assert result.exit_code == 1 and result.stderr == data[:1024]  # head of a 100 kB stderr
    for i in range(50):
        await box.write(f"n{i}", str(i).encode())
        assert (await run(box, ["cat", f"n{i}"], stdout="o")).ok
        assert await box.read("o", limit=10) == str(i).encode()
    assert await box.read("small", limit=10) == b"s"


async def test_deep_and_locked_leftovers_are_removed(box: Box) -> None:
    # Deeper than the agent keeps descriptors open for, and locked (chmod 000) on the way.
    script = ("cd /tmp && for i in $(seq 100); do mkdir d && cd d && echo x > f; done; "
              "chmod 000 /tmp/d/d/d/d/d/d/d/d/d/d/d /tmp/d/d/d; cd /work; mkdir -p out/a/b; "
              "chmod 000 out/a out; ls -A /tmp")
    result = await run(box, ["sh", "-c", script], stdout="listing")
    assert result.ok and await box.read("listing", limit=100) == b"d\n"
    assert (await run(box, ["sh", "-c", "ls -A /tmp"], stdout="out")).ok
    assert await box.read("out", limit=100) == b""  # the stdout file replaced the locked tree


async def test_the_agent_is_out_of_the_program_s_reach(box: Box) -> None:
    probe = b"""
import os, signal
for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP, signal.SIGUSR1):
    try:
        os.kill(1, sig); print("ESCAPED kill", sig)
    except PermissionError:
        pass
for path in ("/proc/1/fd/0", "/proc/1/fd/1", "/proc/1/environ", "/proc/1/mem", "/proc/1/fd"):
    try:
        os.listdir(path) if path.endswith("fd") else open(path, "rb").read(1)
        print("ESCAPED read", path)
    except PermissionError:
        pass
print("contained")
"""
    await box.write("probe.py", probe)
    result = await run(box, ["python3", "probe.py"], stdout="out")
    assert result.ok, result
    assert await box.read("out", limit=1000) == b"contained\n"
    assert (await run(box, ["true"])).ok  # the agent still answers


async def test_an_image_without_the_agent_says_so() -> None:
    sandbox = test_sandbox(program_uids=TEST_UIDS)
    sandbox.runguard = Path("/bin/true")  # an old runguard: no --agent, the container ends
    try:
        with pytest.raises(SandboxError, match="agent .*did not start.*rebuild"):
            async with sandbox.box():
                pass
    finally:
        await sandbox.aclose()


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


async def test_a_box_ends_by_itself_when_its_judge_or_its_lifetime_is_gone(
        engine: Any) -> None:
    sandbox = test_sandbox(program_uids=TEST_UIDS, lifetime_seconds=2)
    client = await sandbox._ready()
    names = [f"{BOX_PREFIX}gone-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        _, dropped = await asyncio.to_thread(sandbox._create_sync, client, names[0],
                                             TEST_IMAGE, TEST_UIDS[-2])
        _, kept = await asyncio.to_thread(sandbox._create_sync, client, names[1], TEST_IMAGE,
                                          TEST_UIDS[-3])
        dropped.close()  # what a judge process that dies does: its agent sees end-of-file
        for _ in range(100):
            left = set(names) & set(our_containers(engine))
            if not left:
                break
            await asyncio.sleep(0.1)
        assert left == set()  # the second one outlived its lifetime (2 s)
        kept.close()
    finally:
        for name in names:
            await asyncio.to_thread(sandbox._remove_sync, client, name)
        await sandbox.aclose()


async def test_cleanup_removes_boxes_of_dead_judges_only(
        engine: Any, sandbox: DockerSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import judges.sandbox.docker as module

    dead = f"{socket.gethostname()}/{2**22 + 7}/1"  # above pid_max: never a live process
    monkeypatch.setattr(module, "_owner", lambda: dead)
    client = await sandbox._ready()
    orphan = f"{BOX_PREFIX}orphan-{uuid.uuid4().hex[:8]}"
    # (its channel stays open, as if its judge hung: the agent waits)
    _, channel = await asyncio.to_thread(sandbox._create_sync, client, orphan, TEST_IMAGE,
                                         TEST_UIDS[-1])
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
        channel.close()
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
