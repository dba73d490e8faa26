"""Hostile submissions against both sandbox backends: the real pipeline, the real sandboxes.

**The table.** :data:`ATTACKS` holds one row per hostile submission (its source is in
``hostile/submissions/``): what it tries, and the verdict it must get. Every row is judged by
:func:`judges.judge.judge` exactly as a worker judges a Job (compiled by the language's own
command, run on test data read by content hash, checked by the ``tokens`` checker), on bwrap and
on Docker. An attack never gets AC and never a judge error (JE is ours: a contestant must not be
able to cause one). The test's answer is a secret kept in the host's blob store, so only a
program that reads the judge's answer file could be accepted.

The programs print ``contained`` when their attack failed (a wrong answer), ``ESCAPED ...`` for
anything that worked, and whatever secret they managed to read. After every row the host is
checked (:meth:`Host.assert_untouched`): no secret in anything the judge got back (the outputs the
checker saw, the compile output), no ``ESCAPED``, no file written outside the box, no connection
reached a host listener (TCP, UDP, Unix, abstract Unix), no process of the sandbox's uids alive.
The secrets: a canary file, the answer file, the judge's data dir, another box's source (that
box runs a process at the same time), a host process's command line, and ``PODIUM_SECRET_KEY`` in
the judge's environment. The host paths are open to every uid (0755/0777), so what keeps the
programs out is the sandbox, not file permissions.

The compile limits are lowered for the module (5 s of CPU, 1 GiB) so that the compile-time bombs
end in seconds; the run limits are each row's (500 ms, 64 MiB, 1 MiB of output by default).

**Box-level behaviour** both backends share (limits as RunResult flags, isolation, the box's
files) follows the table; what only one backend has stays in test_bwrap.py / test_docker.py.

**Leftovers.** ``leftovers`` (per backend, around the whole module) snapshots the host before and
after: processes of the backend's test uids or carrying :data:`MARK`, box containers of this test
process (and containerd shims naming them), mounts of its boxes (the bwrap tmpfs, the
containers' overlay), box directories; after the module nothing may be left.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

import judges.judge
from judges.checkers.tokens import TokensChecker
from judges.judge import COMPILE_OUTPUT_CAP, judge
from judges.languages.basic import C, CPP, Java, Python3
from judges.sandbox.base import Box, Limits, RunResult, Sandbox
from judges.sandbox.bwrap import RUNGUARD_IN_BOX, BwrapBox, BwrapSandbox
from judges.sandbox.docker import LABEL, OWNER_LABEL, RUNGUARD_IN_IMAGE
from server.components import CheckResult, Verdict
from server import judge_protocol as protocol
from server.judge_protocol import Job, JobFile, JudgeResult
from tests.judges.docker_images import docker_unavailable_reason
from tests.judges.hostile import HERE, build, marked_processes, processes_of_uids, source

UNAVAILABLE = docker_unavailable_reason()
BACKENDS = [
    pytest.param("bwrap", id="bwrap"),
    pytest.param("docker", id="docker", marks=[
        pytest.mark.docker,
        pytest.mark.skipif(UNAVAILABLE is not None,
                           reason=f"no usable Docker engine: {UNAVAILABLE}")]),
]

MiB = 1024 * 1024
MARK = f"podium-hostile-test-{uuid.uuid4().hex}"
BWRAP_UID = random.SystemRandom().randrange(61000, 65000)  # ours alone, as in test_bwrap
_DOCKER_FIRST = 60000 + 32 * random.SystemRandom().randrange(30)
DOCKER_UIDS = range(_DOCKER_FIRST, _DOCKER_FIRST + 32)  # outside DockerSandbox's default range
FAST = Limits(cpu_seconds=1, wall_seconds=2, memory_bytes=256 * MiB, processes=16,
              output_bytes=4 * MiB)
COMPILE = Limits(cpu_seconds=20, wall_seconds=40, memory_bytes=2048 * MiB, processes=64,
                 output_bytes=64 * MiB, open_files=256)
SUITE_COMPILE_LIMITS = replace(judges.judge.COMPILE_LIMITS, cpu_seconds=5, wall_seconds=20,
                               memory_bytes=1024 * MiB)
SUBMISSIONS = HERE / "submissions"
LANGUAGES = {language.name: language for language in (C(), CPP(), Java(), Python3())}
BY_SUFFIX = {".c": ("c", "main.c"), ".cpp": ("cpp", "main.cpp"), ".py": ("python3", "main.py"),
             ".java": ("java", "Main.java")}


# -- the host: secrets, open directories, listeners ---------------------------------------------

def _secret(kind: str) -> str:
    return f"podium-secret-{kind}-{secrets.token_hex(8)}"


def _host_addresses() -> list[str]:
    """Every IPv4 address of this host (the LOCAL /32 entries of the routing trie)."""
    found: set[str] = set()
    lines = Path("/proc/net/fib_trie").read_text().splitlines()
    for previous, line in zip(lines, lines[1:], strict=False):
        if "/32 host LOCAL" in line and "|--" in previous:
            found.add(previous.split("|--")[1].strip())
    return sorted(found | {"127.0.0.1"})


class RecordingChecker(TokensChecker):
    """The ``tokens`` checker, keeping every output it was given (for the host checks)."""

    def __init__(self) -> None:
        self.outputs: list[bytes] = []

    def check(self, output: bytes, answer: bytes, *, input: bytes = b"",
              flags: Sequence[str] = ()) -> CheckResult:
        self.outputs.append(output)
        return super().check(output, answer, input=input, flags=flags)


@dataclass
class Host:
    """What the hostile programs must not reach, read, write, connect to or leave behind."""

    dir: Path
    """Open to every uid (0755): the canary, the data dir, the listening Unix socket."""
    secrets: dict[str, str]
    name: str
    """The file name every write attack tries to create outside its box."""
    canary: Path
    data_dir: Path
    blobs: Path
    """The judge's blob cache (``judge-cache`` of a worker): input and answer files by hash."""
    open_dir: Path
    """World-writable (0777): must stay empty."""
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket
    abstract: socket.socket
    abstract_name: str
    addresses: list[str]
    process: subprocess.Popen[bytes]
    write_targets: list[Path] = field(default_factory=list)

    @property
    def answer(self) -> bytes:
        return self.secrets["answer"].encode() + b"\n"

    def blob(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.blobs / digest
        if not path.exists():
            path.write_bytes(data)
            path.chmod(0o644)
        return digest

    async def read_blob(self, digest: str) -> bytes:
        return (self.blobs / digest).read_bytes()

    def assert_untouched(self, backend: Backend, result: JudgeResult) -> None:
        """The host checks made after every attack."""
        texts = [*backend.checker.outputs, result.compile_output.encode(), result.error.encode()]
        for kind, value in self.secrets.items():
            leaks = [text[:300] for text in texts if value.encode() in text]
            assert not leaks, f"the {kind} secret leaked: {leaks}"
        escaped = [o[:500] for o in backend.checker.outputs if b"ESCAPED" in o]
        assert not escaped, escaped
        written = [str(d / self.name) for d in self.write_targets if (d / self.name).exists()]
        assert not written, written
        assert list(self.open_dir.iterdir()) == []
        assert self.canary.read_text() == self.secrets["canary"]
        for listener in (self.tcp, self.unix, self.abstract):
            with pytest.raises(BlockingIOError):
                listener.accept()  # nobody reached it
        with pytest.raises(BlockingIOError):
            self.udp.recvfrom(100)
        assert backend.leftover_processes() == []


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    root = Path(tempfile.mkdtemp(prefix="podium-hostile-host-"))
    root.chmod(0o755)
    values = {kind: _secret(kind) for kind in ("canary", "answer", "data", "env", "proc",
                                                "other-box")}
    canary = root / "canary.txt"
    canary.write_text(values["canary"])
    data_dir = root / "data"
    blobs = data_dir / "judge-cache"
    blobs.mkdir(parents=True)
    for directory in (data_dir, blobs):
        directory.chmod(0o755)
    (data_dir / "podium.sqlite3").write_text(values["data"])
    (data_dir / "secret_key").write_text(values["data"])
    open_dir = root / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    for path in (canary, data_dir / "podium.sqlite3", data_dir / "secret_key"):
        path.chmod(0o644)
    tcp = socket.create_server(("0.0.0.0", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(root / "listener.sock"))
    (root / "listener.sock").chmod(0o777)
    unix.listen()
    abstract_name = f"podium-hostile-{secrets.token_hex(6)}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + abstract_name)
    abstract.listen()
    for sock in (tcp, udp, unix, abstract):
        sock.setblocking(False)
    process = subprocess.Popen(["sh", "-c", "sleep 600; :", values["proc"]],
                               env={"PATH": os.environ["PATH"], "PODIUM_SECRET_KEY": values["env"]},
                               start_new_session=True)
    saved_key = os.environ.get("PODIUM_SECRET_KEY")
    os.environ["PODIUM_SECRET_KEY"] = values["env"]  # the judge's own environment
    name = f"podium-hostile-{secrets.token_hex(6)}"
    the_host = Host(dir=root, secrets=values, name=name, canary=canary, data_dir=data_dir,
                    blobs=blobs, open_dir=open_dir, tcp=tcp, udp=udp, unix=unix,
                    abstract=abstract, abstract_name=abstract_name,
                    addresses=_host_addresses(), process=process)
    the_host.write_targets = [Path(p) for p in ("/", "/tmp", "/root", "/var/tmp", "/dev/shm",
                                                "/etc", "/usr/local", "/run")
                              if os.path.isdir(p)] + [root, open_dir, data_dir, blobs]
    try:
        yield the_host
    finally:
        if saved_key is None:
            os.environ.pop("PODIUM_SECRET_KEY", None)
        else:
            os.environ["PODIUM_SECRET_KEY"] = saved_key
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for sock in (tcp, udp, unix, abstract):
            sock.close()
        shutil.rmtree(root)


# -- the backends -------------------------------------------------------------------------------

def _namespace_init(process: str) -> bool:
    """Whether the ``'pid name'`` process is pid 1 of a pid namespace (a Docker box's agent)."""
    try:
        status = Path(f"/proc/{process.split()[0]}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            pids = line.split()[1:]
            return len(pids) > 1 and pids[-1] == "1"
    return False


@dataclass
class Backend:
    """One sandbox backend as this module uses it."""

    name: str
    sandbox: Any
    """The real BwrapSandbox or DockerSandbox."""
    uids: Sequence[int]
    checker: RecordingChecker = field(default_factory=RecordingChecker)
    boxes_dir: Path | None = None
    engine: Any = None
    made: list[dict[str, str]] = field(default_factory=list)
    """Every box made in the module: bwrap {"root"}, Docker {"id", "name", "merged"}."""

    def leftover_processes(self) -> list[str]:
        """Processes of a run still alive. A Docker box's agent (its container's init, with the
        box's uid) is the box itself, not a run's: the containers check covers it."""
        found = processes_of_uids(self.uids)
        if self.name == "docker":
            found = [process for process in found if not _namespace_init(process)]
        return marked_processes(MARK) + found

    def box(self) -> AbstractAsyncContextManager[Box]:
        """A fresh box of the backend, recorded for the leftover checks."""
        return self._box()

    @asynccontextmanager
    async def _box(self) -> AsyncIterator[Box]:
        async with self.sandbox.box() as box:
            if isinstance(box, BwrapBox):
                self.made.append({"root": str(box.root)})
            else:
                info = await asyncio.to_thread(self.engine.api.inspect_container,
                                               box.container_id)
                merged = (info.get("GraphDriver") or {}).get("Data") or {}
                self.made.append({"id": info["Id"], "name": info["Name"].lstrip("/"),
                                  "merged": merged.get("MergedDir", "")})
            yield box

    def host_work(self, box: Box) -> Path | None:
        """Where the box's work dir is on the host (bwrap), or None (Docker: in the box)."""
        return box.work if isinstance(box, BwrapBox) else None

    def our_containers(self) -> list[str]:
        if self.engine is None:
            return []
        prefix = f"{socket.gethostname()}/{os.getpid()}/"
        found = self.engine.api.containers(all=True, filters={"label": LABEL})
        return [c["Names"][0].lstrip("/") for c in found
                if (c.get("Labels") or {}).get(OWNER_LABEL, "").startswith(prefix)]

    def snapshot(self) -> dict[str, list[str]]:
        """What this module could leave on the host."""
        marks = [v for box in self.made for k, v in box.items() if v and k != "name"]
        if self.boxes_dir is not None:
            marks.append(str(self.boxes_dir))
        mounts = [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                  if any(mark in line for mark in marks)]
        shims = []
        ids = [box["id"] for box in self.made if "id" in box]
        for pid in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if any(i in cmdline for i in ids):
                    shims.append(f"{pid} {cmdline[:100]}")
        temp = [str(p) for p in Path(tempfile.gettempdir()).iterdir()
                if p.name.startswith("podium-box-") and _owner(p) in self.uids]
        if self.boxes_dir is not None:
            temp += [str(p) for p in self.boxes_dir.iterdir()]
        names = {box["name"] for box in self.made if "name" in box}
        return {"processes": self.leftover_processes() + shims,
                "containers": sorted(set(self.our_containers()) | (
                    names & set(self._all_containers()))),
                "mounts": mounts, "temp": temp}

    def _all_containers(self) -> list[str]:
        if self.engine is None:
            return []
        return [c["Names"][0].lstrip("/") for c in self.engine.api.containers(all=True)]


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:
        return None


class _Judged:
    """The sandbox judge() gets: the backend's, with every box recorded, and for Docker every
    language in the test image (``podium-judge-test:host`` borrows the host's toolchain)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.name = backend.name

    async def check(self) -> None:
        await self.backend.sandbox.check()

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[Box]:
        return self.backend.box()


@pytest.fixture(scope="module", params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "bwrap":
        boxes_dir = Path(tempfile.mkdtemp(prefix="podium-test-boxes-"))
        boxes_dir.chmod(0o711)  # as root, bwrap runs as BWRAP_UID and must pass
        sandbox = BwrapSandbox(tmp_dir=boxes_dir, uid=BWRAP_UID, gid=BWRAP_UID)
        await sandbox.check()
        try:
            yield Backend("bwrap", sandbox, [BWRAP_UID], boxes_dir=boxes_dir)
        finally:
            if sandbox.snapshot is not None:
                shutil.rmtree(sandbox.snapshot)  # made for BWRAP_UID only
            shutil.rmtree(boxes_dir)
        return
    import docker

    from tests.judges.docker_images import ensure_test_image, test_sandbox

    engine = docker.from_env()
    try:
        ensure_test_image(engine)
        sandbox = test_sandbox(program_uids=DOCKER_UIDS)
        await sandbox.check()
        try:
            yield Backend("docker", sandbox, list(DOCKER_UIDS), engine=engine)
        finally:
            await sandbox.aclose()
    finally:
        engine.close()


@pytest.fixture(scope="module", autouse=True)
def leftovers(backend: Backend) -> Iterator[None]:
    """Nothing of this module's boxes stays on the host (see the module docstring)."""
    before = backend.snapshot()
    assert before == {"processes": [], "containers": [], "mounts": [], "temp": []}
    yield
    assert backend.snapshot() == before


@pytest.fixture(scope="module", autouse=True)
def small_compile_limits() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(judges.judge, "COMPILE_LIMITS", SUITE_COMPILE_LIMITS)
        yield


# -- the table ----------------------------------------------------------------------------------

Input = Callable[[Host, "Path | None"], str]


def _no_input(host: Host, other: Path | None) -> str:
    return ""


def _secret_paths(host: Host, other: Path | None) -> str:
    paths = [host.canary, host.data_dir, host.data_dir / "podium.sqlite3", host.blobs,
             *sorted(host.blobs.iterdir()), host.dir, "/etc/shadow", "/root", "/var/cache/podium",
             "/var/lib/docker", f"/proc/{host.process.pid}/cmdline",
             f"/proc/{host.process.pid}/environ"]
    if other is not None:
        paths += [other, other / "solution.py", other.parent]
    return "".join(f"{p}\n" for p in paths)


def _tcp_targets(host: Host, other: Path | None) -> str:
    port = host.tcp.getsockname()[1]
    addresses = [*host.addresses, "10.0.2.2", "172.17.0.1", "8.8.8.8"]
    return "".join(f"{a} {port}\n" for a in addresses) + "1.1.1.1 443\n8.8.8.8 53\n"


def _other_ways_out(host: Host, other: Path | None) -> str:
    port = host.udp.getsockname()[1]
    lines = [f"udp {a} {port}" for a in host.addresses]
    lines += [f"unix {host.dir / 'listener.sock'}", f"unix @{host.abstract_name}"]
    return "\n".join(lines) + "\n"


def _write_targets(host: Host, other: Path | None) -> str:
    return "\n".join([host.name, *map(str, host.write_targets)]) + "\n"


def _symlink_targets(host: Host, other: Path | None) -> str:
    return "\n".join([host.name, str(host.canary), str(host.open_dir), str(host.dir), "/root",
                      "/tmp"]) + "\n"


def _canary_path(host: Host, other: Path | None) -> str:
    return f"{host.canary}\n"


def _garbage(seed: int) -> Callable[[Host], bytes]:
    return lambda host: random.Random(seed).randbytes(64 * 1024)


def _ten_megabytes(host: Host) -> bytes:
    filler = b"/* " + b"padding " * (10 * MiB // 8) + b"*/\n"
    return filler + b'#include <stdio.h>\nint main(void) { puts("contained"); return 0; }\n'


def _from_file(file: str) -> Callable[[Host], bytes]:
    return lambda host: (SUBMISSIONS / file).read_bytes().replace(
        b"@SECRET_PATH@", str(host.canary).encode())


def _compile_output_capped(result: JudgeResult, host: Host) -> None:
    assert len(result.compile_output) <= COMPILE_OUTPUT_CAP
    assert "lvalue required" in result.compile_output


def _compile_stopped_by_a_limit(result: JudgeResult, host: Host) -> None:
    # The compiler proper (cc1plus, a grandchild of runguard) dies of RLIMIT_CPU (g++ says so;
    # runguard's own CPU account may not reach the limit then: its total is just short), or,
    # on a faster machine, reaches the compile memory limit first (g++: "virtual memory
    # exhausted" or "out of memory allocating N bytes"). Either way a limit stopped it, and the
    # judge says which.
    assert any(reason in result.compile_output for reason in (
        "(compilation exceeded its time limit)", "CPU time limit exceeded",
        "(compilation exceeded its memory limit)")), result


def _within_output_limit(result: JudgeResult, host: Host) -> None:
    assert all((run.output_size or 0) <= MiB for run in result.runs), result.runs


@dataclass(frozen=True)
class Attack:
    file: str
    what: str
    expected: Verdict
    input: Input = _no_input
    tests: int = 1
    """Tests in the job (each in a group of its own, so every one runs): a second test shows
    the box still works after the attack."""
    time_limit_ms: int = 500
    memory_limit_mb: int = 64
    generate: Callable[[Host], bytes] | None = None
    beside_another_box: bool = False
    check: Callable[[JudgeResult, Host], None] | None = None
    root_only_on_bwrap: bool = False

    @property
    def language(self) -> tuple[str, str]:
        return BY_SUFFIX[Path(self.file).suffix]

    def source(self, host: Host) -> bytes:
        return (self.generate or _from_file(self.file))(host)


V = Verdict
ATTACKS = [
    # resources
    Attack("fork_bomb.c", "fork() forever in every child", V.TIME_LIMIT),
    Attack("fork_bomb.py", "os.fork() forever, failures retried", V.TIME_LIMIT),
    Attack("memory_bomb.c", "malloc + touch 1 MiB forever", V.MEMORY_LIMIT),
    Attack("memory_bomb.py", "keeps 1 MiB bytearrays forever", V.MEMORY_LIMIT),
    Attack("memory_bomb.java", "keeps 1 MiB arrays forever (-Xmx = the limit)", V.MEMORY_LIMIT,
           memory_limit_mb=256, time_limit_ms=2000),
    Attack("huge_allocation.cpp", "one 16 GiB std::vector (fails at once)", V.MEMORY_LIMIT),
    Attack("stack_overflow.c", "infinite recursion (the stack may grow to the memory limit)",
           V.MEMORY_LIMIT),
    Attack("huge_stack_frame.c", "a 1 GiB array on the stack", V.RUN_ERROR),
    Attack("deep_recursion.py", "infinite recursion, recursion limit lifted", V.MEMORY_LIMIT),
    Attack("recursion_error.py", "10^6-deep recursion under the default limit", V.RUN_ERROR),
    Attack("stack_overflow.java", "infinite recursion (StackOverflowError; the JVM touches "
           "~0.5 GB on the way)", V.RUN_ERROR, memory_limit_mb=1024, time_limit_ms=2000),
    Attack("stdout_flood.c", "100 MiB to stdout", V.OUTPUT_LIMIT, check=_within_output_limit),
    Attack("stdout_flood.py", "prints forever", V.OUTPUT_LIMIT, check=_within_output_limit),
    Attack("stderr_flood.c", "100 MiB to stderr", V.OUTPUT_LIMIT),
    Attack("big_file.c", "a 100 MiB file in the work dir", V.OUTPUT_LIMIT),
    Attack("fill_workdir.py", "files under the size limit until the work dir is full",
           V.WRONG_ANSWER, root_only_on_bwrap=True),
    Attack("fill_tmp.py", "files under the size limit until /tmp is full", V.WRONG_ANSWER),
    Attack("fd_exhaust.c", "opens descriptors until refused", V.WRONG_ANSWER),
    Attack("sleep_forever.c", "pause() forever: no CPU, wall-clock backstop", V.TIME_LIMIT),
    Attack("busy_loop.c", "spins, ignoring SIGXCPU", V.TIME_LIMIT),
    Attack("busy_loop.py", "while True: pass", V.TIME_LIMIT),
    Attack("busy_threads.c", "8 threads spinning", V.TIME_LIMIT),
    Attack("thread_bomb.java", "starts sleeping threads forever", V.MEMORY_LIMIT,
           memory_limit_mb=256, time_limit_ms=2000),
    # network
    Attack("net_connect.c", "TCP to a host listener on every host address, and out",
           V.WRONG_ANSWER, input=_tcp_targets),
    Attack("net_escape.py", "UDP to the host, Unix and abstract sockets, docker.sock",
           V.WRONG_ANSWER, input=_other_ways_out),
    Attack("net_dns.py", "name lookups, DNS queries to public and local resolvers",
           V.WRONG_ANSWER),
    # secrets
    Attack("read_shadow.c", "/etc/shadow, root's keys and history", V.WRONG_ANSWER),
    Attack("steal_files.py", "the canary, the answer files, the data dir, /proc of the host",
           V.WRONG_ANSWER, input=_secret_paths, beside_another_box=True),
    Attack("steal_files.java", "the same paths from Java, and through `cat`", V.WRONG_ANSWER,
           input=_secret_paths, memory_limit_mb=256, time_limit_ms=2000),
    Attack("other_box.py", "another box's source: /proc/*/cwd, /proc/*/root, its host path",
           V.WRONG_ANSWER, input=_secret_paths, beside_another_box=True),
    Attack("proc_snoop.py", "cmdline and environ of every visible process", V.WRONG_ANSWER),
    Attack("env_leak.py", "its environment and its parent's (PODIUM_SECRET_KEY?)",
           V.WRONG_ANSWER),
    # writing and symlinks
    Attack("write_outside.c", "creates a file in /, /tmp, $HOME, /root, host dirs",
           V.WRONG_ANSWER, input=_write_targets),
    Attack("symlink_escape.py", "symlinks/hard links to the canary, /etc/shadow, host dirs",
           V.WRONG_ANSWER, input=_symlink_targets),
    Attack("symlink_output.py", "its output file becomes a symlink to the canary",
           V.WRONG_ANSWER, input=_canary_path, tests=2),
    Attack("output_fifo.py", "its output file becomes a FIFO (a judge would block)",
           V.WRONG_ANSWER, tests=2),
    Attack("output_dir.c", "its output file becomes a locked directory", V.WRONG_ANSWER,
           tests=2),
    Attack("output_chmod.c", "chmod 000 of its output file, chmod 555 of the work dir",
           V.WRONG_ANSWER, tests=2),
    Attack("setuid_chmod.c", "setuid(0), chmod/chown of system files, locked dirs",
           V.WRONG_ANSWER, tests=2),
    # processes
    Attack("outlive_daemon.c", "a double-forked setsid daemon ignoring every signal",
           V.WRONG_ANSWER, tests=2),
    Attack("outlive.py", "setsid sleep, a SIGHUP-proof child, a double-forked orphan",
           V.WRONG_ANSWER, tests=2),
    Attack("kill_parent.c", "kill(getppid()), kill(1), kill(-1, SIGKILL), ptrace",
           V.WRONG_ANSWER, tests=2),
    Attack("kill_parent.py", "os.kill of the parent, pid 1, its group, everyone",
           V.WRONG_ANSWER, tests=2),
    Attack("ptrace_unshare_mount.c", "ptrace, unshare, mount, chroot, pivot_root, bpf, keys",
           V.WRONG_ANSWER),
    # compile time
    Attack("include_dev_random.c", '#include "/dev/random"', V.COMPILE_ERROR),
    Attack("include_dev_stdin.c", '#include "/dev/stdin"', V.COMPILE_ERROR),
    Attack("include_secret.c", '#include of the canary and of /etc/shadow', V.COMPILE_ERROR),
    Attack("template_bomb.cpp", "a 268-million-element parameter pack", V.COMPILE_ERROR),
    Attack("template_explosion.cpp", "2^40 distinct template instantiations",
           V.COMPILE_ERROR, check=_compile_stopped_by_a_limit),
    Attack("huge_diagnostics.c", "30 000 errors through nested macros (~18 MB)",
           V.COMPILE_ERROR, check=_compile_output_capped),
    Attack("garbage.c", "64 KiB of random bytes as C", V.COMPILE_ERROR, generate=_garbage(1)),
    Attack("garbage.py", "64 KiB of random bytes as Python", V.COMPILE_ERROR,
           generate=_garbage(2)),
    Attack("ten_megabytes.c", "a 10 MB source (a comment) that compiles", V.WRONG_ANSWER,
           generate=_ten_megabytes),
]


def _job(attack: Attack, host: Host, source_bytes: bytes, input_bytes: bytes) -> Job:
    language, filename = attack.language
    input_hash, answer_hash = host.blob(input_bytes), host.blob(host.answer)
    return Job(
        job_id=f"hostile-{attack.file}", submission_id=ATTACKS.index(attack) + 1,
        language=language, files=[JobFile.of(filename, source_bytes)],
        time_limit_ms=attack.time_limit_ms, memory_limit_mb=attack.memory_limit_mb,
        output_limit_kb=1024, checker="tokens", stop_on_first_failure=False,
        groups=[protocol.TestGroupSpec(id=n, name=f"group-{n}", points=1)
                for n in range(1, attack.tests + 1)],
        tests=[protocol.TestCaseSpec(id=n, name=f"test-{n}", group_id=n, input_hash=input_hash,
                            answer_hash=answer_hash) for n in range(1, attack.tests + 1)])


def _describe(result: JudgeResult) -> str:
    runs = [(r.verdict.value, r.cpu_ms, r.wall_ms, r.memory_kb, r.exit_code, r.signal,
             r.output_size) for r in result.runs]
    return (f"{result.verdict.value}; error={result.error!r}; "
            f"compile={result.compile_output[:300]!r}; runs={runs}")


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.file)
async def test_a_hostile_submission_gets_its_verdict(backend: Backend, host: Host,
                                                     attack: Attack) -> None:
    if attack.root_only_on_bwrap and backend.name == "bwrap" and os.geteuid() != 0:
        pytest.xfail("without root a bwrap box is a plain directory: no size cap")
    backend.checker.outputs.clear()
    async with contextlib.AsyncExitStack() as stack:
        other_work = None
        sleeper = None
        if attack.beside_another_box:
            other = await stack.enter_async_context(backend.box())
            await other.write("solution.py", f"print({host.secrets['other-box']!r})\n".encode())
            other_work = backend.host_work(other)
            sleeper = asyncio.ensure_future(other.run(
                ["sh", "-c", "sleep 3"], limits=Limits(cpu_seconds=1, wall_seconds=4),
                env={"PODIUM_TEST_MARK": MARK}))
        job = _job(attack, host, attack.source(host), attack.input(host, other_work).encode())
        started = time.monotonic()
        result = await judge(job, sandbox=_Judged(backend), languages=LANGUAGES,
                             checkers={"tokens": backend.checker}, read_blob=host.read_blob)
        elapsed = time.monotonic() - started
        if sleeper is not None:
            assert (await sleeper).ok  # the other box was not disturbed
    assert result.verdict not in (Verdict.ACCEPTED, Verdict.JUDGE_ERROR), _describe(result)
    assert result.verdict is attack.expected, _describe(result)
    if result.verdict is not Verdict.COMPILE_ERROR:
        assert [r.verdict for r in result.runs] == [attack.expected] * attack.tests
        wall_limit = attack.time_limit_ms / 1000 * LANGUAGES[job.language].time_multiplier * 2 + 1
        assert all((r.wall_ms or 0) <= wall_limit * 1000 + 500 for r in result.runs), \
            (wall_limit, _describe(result))
    if result.verdict is Verdict.MEMORY_LIMIT and job.language != "java":
        assert all((r.memory_kb or 0) <= attack.memory_limit_mb * 1024 for r in result.runs)
    host.assert_untouched(backend, result)
    if attack.check is not None:
        attack.check(result, host)
    assert elapsed < 60


async def test_the_leftover_check_sees_a_live_box(backend: Backend) -> None:
    """The snapshot is not blind: a box in use, running a program, shows up in it."""
    async with backend.box() as box:
        sleeper = asyncio.ensure_future(box.run(["sleep", "2"], limits=Limits(
            cpu_seconds=1, wall_seconds=3), env={"PODIUM_TEST_MARK": MARK}))
        await asyncio.sleep(0.7)
        live = backend.snapshot()
        assert (await sleeper).wall_exceeded is False
    assert any("sleep" in p for p in live["processes"]), live
    if backend.name == "docker":
        assert live["containers"] and live["mounts"], live  # the container, its overlay
    else:
        assert live["temp"], live  # the box dir
        assert bool(live["mounts"]) is (os.geteuid() == 0), live  # as root, its tmpfs


def test_the_table_is_the_submissions_folder() -> None:
    on_disk = {p.name for p in SUBMISSIONS.iterdir() if p.suffix in BY_SUFFIX}
    generated = {a.file for a in ATTACKS if a.generate is not None}
    assert {a.file for a in ATTACKS} - generated == on_disk
    assert len(ATTACKS) >= 30


# -- box-level behaviour both backends share ----------------------------------------------------

@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
async def box(backend: Backend) -> AsyncIterator[Box]:
    async with backend.box() as box:
        yield box


async def run(box: Box, argv: list[str], limits: Limits = FAST, **kwargs: str) -> RunResult:
    return await box.run(argv, limits=limits, env={"PODIUM_TEST_MARK": MARK}, **kwargs)


async def install(box: Box, programs: dict[str, bytes], name: str) -> list[str]:
    await box.write(name, programs[name], executable=True)
    return [f"./{name}"]


def test_the_backend_follows_the_protocol(backend: Backend) -> None:
    assert isinstance(backend.sandbox, Sandbox)
    assert backend.sandbox.name == backend.name


async def test_the_environment_is_exactly_the_sandbox_one(backend: Backend, box: Box) -> None:
    result = await box.run(["env"], limits=FAST, stdout="out", env={"EXTRA": "1"})
    assert result.ok, result
    expected = ["EXTRA=1", "HOME=/tmp", "LANG=C.UTF-8", "PATH=/usr/local/bin:/usr/bin:/bin"]
    if backend.name == "bwrap":  # bubblewrap's --chdir sets PWD
        expected.append("PWD=/work")
    assert sorted((await box.read("out", limit=1000)).decode().split()) == expected


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
        backend: Backend, box: Box, programs: dict[str, bytes]) -> None:
    started = time.monotonic()
    result = await run(box, await install(box, programs, "forkbomb"),
                       Limits(cpu_seconds=1, wall_seconds=1, processes=16))
    assert not result.ok
    assert result.cpu_exceeded or result.wall_exceeded
    assert time.monotonic() - started < 3
    assert backend.leftover_processes() == []
    assert (await run(box, ["true"])).ok  # the box survived it


async def test_a_daemon_that_outlives_the_program_is_killed(
        backend: Backend, box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "daemon"))
    assert result.exit_code == 0 and result.ok
    assert backend.leftover_processes() == []
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


async def test_the_supervisor_cannot_be_killed_or_traced(
        box: Box, programs: dict[str, bytes]) -> None:
    result = await run(box, await install(box, programs, "killer"), stdout="out")
    assert result.ok, result
    assert await box.read("out", limit=1000) == b""
    assert result.extra["seccomp"] is True
    assert (await run(box, ["true"])).ok  # the box (Docker: the container's init) is still there


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
        backend: Backend, box: Box, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "podium.sqlite3").write_bytes(b"secret")
    repo = Path(__file__).resolve().parents[2]
    async with backend.box() as other:
        await other.write("solution.cpp", b"int main(){}")
        assert (await run(other, ["true"])).ok  # the file is really there
        paths = ["/etc/shadow", "/etc/gshadow", "/root", "/home", "/var", "/boot", "/etc/ssh",
                 str(data_dir), str(data_dir / "podium.sqlite3"), str(repo / "pyproject.toml"),
                 "/var/lib/docker", "/var/run/docker.sock", "/run/docker.sock",
                 "/proc/1/environ", "/proc/1/mem", "/proc/1/root/etc", "/var/cache/podium",
                 "/run/podium/etc/shadow", "/sys/fs/cgroup", "/sys/class", "/dev/shm"]
        if (other_work := backend.host_work(other)) is not None:  # bwrap: not even /sys
            paths += ["/sys", str(other_work / "solution.cpp"), str(other_work.parent)]
        await box.write("snoop.py", source("snoop.py"))
        result = await run(box, ["python3", "snoop.py", *paths], stdout="out")
        assert result.exit_code == 0, await box.read("out", limit=10000)
        script = "ls -A /sys /work; ls /tmp/solution.cpp /work/solution.cpp 2>/dev/null"
        result = await run(box, ["sh", "-c", script], stdout="out")
        listing = (await box.read("out", limit=10000)).decode().split()
        assert "solution.cpp" not in listing and not any("sys/" in w for w in listing[2:])


async def test_nothing_outside_the_work_dir_and_tmp_is_writable(backend: Backend,
                                                                box: Box) -> None:
    await box.write("scribble.py", source("scribble.py"))
    result = await run(box, ["python3", "scribble.py", "/", "/etc", "/usr", "/usr/bin", "/bin",
                             "/opt", "/opt/podium", "/dev", "/proc", "/proc/sys/kernel",
                             "/lib", "/sys", "/run", "/run/podium"], stdout="out")
    assert result.exit_code == 0, await box.read("out", limit=10000)
    result = await run(box, ["python3", "scribble.py", "/work", "/tmp"], stdout="out")
    assert result.exit_code == 1
    assert (await box.read("out", limit=1000)).split() == [b"/work", b"/tmp"]
    runguard = RUNGUARD_IN_BOX if backend.name == "bwrap" else RUNGUARD_IN_IMAGE
    result = await run(box, ["sh", "-c", f"echo x > {runguard}"])
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


async def test_a_replaced_or_locked_output_file_still_holds_the_output(box: Box) -> None:
    tricks = ["rm output.txt", "rm output.txt; ln -s /etc/passwd output.txt",
              "rm output.txt; mkfifo output.txt", "rm output.txt; mkdir -p output.txt/d; "
              "chmod 0 output.txt/d output.txt", "chmod 0 output.txt; chmod 555 .",
              "mv output.txt moved.txt; ln -s moved.txt output.txt"]
    for trick in tricks:
        result = await run(box, ["sh", "-c", f"echo answer; {trick}; true"],
                           stdout="output.txt")
        assert result.ok, (trick, result)
        assert await box.read("output.txt", limit=100) == b"answer\n", trick
        await box.write("next.txt", b"the work dir is still writable")


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


THREADS_AND_RECURSION = rb"""
#include <cstdio>
#include <thread>
#include <vector>
int deep(int n) { volatile char frame[1024]; frame[0] = n & 1; return n ? deep(n - 1) + frame[0] : 0; }
int main() {
    std::vector<std::thread> pool;
    int done[4] = {};
    for (int i = 0; i < 4; i++) pool.emplace_back([&done, i] { done[i] = deep(1000) + 1; });
    for (auto &t : pool) t.join();
    std::printf("%d %d %d\n", done[0], done[3], deep(20000));  // ~20 MiB of stack
}
"""


async def test_threads_and_deep_recursion_are_not_hostile(box: Box) -> None:
    """The stack is unlimited (bounded by the memory limits): a program may recurse deeply
    and still start threads, which a finite RLIMIT_STACK (every thread's reservation)
    would make impossible under a 64 MiB address space."""
    await box.write("main.cpp", THREADS_AND_RECURSION)
    compiled = await box.run(["g++", "-O1", "-static", "-pthread", "-o", "main", "main.cpp"],
                             limits=Limits(cpu_seconds=30, wall_seconds=60,
                                           memory_bytes=1024 * MiB, processes=64))
    assert compiled.ok, compiled.stderr
    result = await run(box, ["./main"], Limits(cpu_seconds=2, wall_seconds=5,
                                               memory_bytes=64 * MiB, processes=16),
                       stdout="out")
    assert result.ok, result
    assert (await box.read("out", limit=100)).split() == [b"501", b"501", b"10000"]
