"""The Docker sandbox: one hardened container per box, whose main process is the box's agent.

A box is one container, made when the box opens and removed (forced) when it closes, also on
errors and cancellation. Its main process is **runguard's agent** (``runguard --agent /work
LIFETIME``, :data:`RUNGUARD_IN_IMAGE`): the judge talks to it over the container's stdin and
stdout, reached through the container's attach socket (made with ``OpenStdin``/``StdinOnce``, no
tty; what comes back is Docker's multiplexed stream, 8-byte frame headers). Messages both ways
are length-prefixed fields (the protocol is in runguard.c, "agent mode"). A
:meth:`DockerBox.run` is one request: the agent empties ``/tmp`` (as bwrap gives every run a
fresh one), clears the output names, forks and execs runguard (see
:mod:`judges.sandbox.runguard`) with the run's limits, which sets the rlimits, enforces CPU, wall
and memory, kills every process of the program at the end and writes its JSON report into a
pipe to the agent; the agent answers with the report and the head and tail of the program's
stderr (an anonymous file unless named). No ``docker exec``, which costs about 100 ms on some
hosts (runc entering the container's namespaces): a run costs a few ms over a bare process, a
box's start and removal about 200 ms (``python -m judges.sandbox.bench_docker`` measures it).
The container:

- no network (``network_mode="none"``: a loopback only), its own IPC namespace without
  ``/dev/shm`` (``ipc_mode="none"``), hostname ``podium``; no log (the agent's answers);
- a read-only root file system; the only writable places are two size-capped tmpfs mounts,
  ``/work`` (the work dir, ``exec``) and ``/tmp`` (``nosuid,nodev`` both); ``/sys`` is an
  empty read-only tmpfs (no host hardware or cgroup details);
- no capabilities (``cap_drop=ALL``), ``no-new-privileges``, Docker's default seccomp profile
  and runguard's own filter; ``pids_limit``; ``mem_limit`` = ``memswap_limit`` (no swap);
  one CPU (``nano_cpus``); ulimits ``nofile``, ``nproc``, ``core=0``, ``fsize`` as upper
  bounds (runguard lowers them per run; a run asking for more is clamped to them);
- no host mount, except what the sandbox is told to bind read-only (``mounts``, ``runguard``):
  the development/test image borrows the host's toolchain this way, production images carry
  theirs and runguard at :data:`RUNGUARD_IN_IMAGE` (``judges/images/``; an image whose
  runguard has no ``--agent`` yet fails at the box's start, saying so: rebuild it).

**Users.** The container runs as a uid of its own for the box (agent, runguard, program), drawn
from ``program_uids``: RLIMIT_NPROC counts processes per uid across the whole host, so a shared
uid would let concurrent boxes (and bwrap boxes, which use 65534) eat each other's process
budget; runguard's ``--nproc`` is the run's ``processes`` plus one, for the agent. The default
range stays below 65536, which an engine with user-namespace remapping also accepts; two judge
processes may still draw the same uid (then they share a budget).

**The agent is out of the program's reach** although it has the program's uid. It is the pid
namespace's init, which gets no signal from inside that it has no handler for (it sets none),
and runguard's seccomp filter denies the program kill/tkill/tgkill/sigqueue to pid 1, to
runguard, to -1 and to runguard's group (and ptrace, pidfds, F_SETOWN). It is non-dumpable, so
neither ptrace nor ``/proc/1/fd``, ``/proc/1/mem`` or ``/proc/1/environ`` reach its stdin and
stdout; runguard gives the program only its own redirections (every other descriptor is closed)
and sends its report through a pipe the program never holds. The judge asks between runs only,
when runguard has killed every process of the program (orphans included: runguard is their
subreaper), so nothing of the program is alive while the agent touches files.

**Files.** Docker's archive API cannot reach a tmpfs mount (and refuses a read-only root), so
files move through the agent, as the box's uid: reads return at most ``limit`` bytes of a
regular file (symlinks, FIFOs, devices, directories: PermissionError; missing:
FileNotFoundError; a symlink or file on the way: NotADirectoryError), without following a
symlink anywhere; writes remove whatever the program left at the name and create the file anew,
and replace a symlink or file the program left on the way with a real directory (a directory
it locked is opened up). **Writes are deferred**: :meth:`DockerBox.write` validates the name
and queues the data, and the next request of the box (a run or a read) sends the queued files
first, in the same exchange. A failed deferred write raises OSError from that next call and
breaks the box (every later call raises SandboxError). The judge's per-test pattern (write the
input, run, read the output) is thus two exchanges with the agent.

**stderr.** Unnamed, the program's stderr goes to an anonymous file of the agent (its first KiB
and last ``STDERR_SCANNED`` bytes come back); named, it is a file in the box, and its head and
tail come back the same way (as on bwrap).

**Interactive runs** (``stdin_fd``/``stdout_fd``: host pipes) are the one thing left on
``docker exec``: the agent prepares the run, then one exec of ``env -i ... runguard`` as the
box's uid relays the host pipes through the exec's stream (see :meth:`DockerBox._run_piped`).

**Leftovers.** Containers are named ``podium-box-<random>`` and labelled :data:`LABEL` (plus
the owning process in :data:`OWNER_LABEL`). A judge process that dies closes its attach
sockets: each agent sees the end of its stdin and ends, and Docker removes its container
(``auto_remove``). The agent also ends after ``lifetime_seconds``; and
:meth:`DockerSandbox.cleanup` removes the boxes of dead judge processes (say, after the engine
or the host restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import glob
import os
import re
import secrets
import select
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from judges.sandbox.base import Limits, RunResult, SandboxError, SandboxUnavailable
from judges.sandbox.runguard import (
    RUN_GRACE_SECONDS,
    SANDBOX_ENV,
    STDERR_KEPT,
    STDERR_SCANNED,
    RunguardBuildError,
    ensure_runguard,
    process_start_time,
    result_from_report,
    runguard_args,
    split_name,
)

__all__ = ["BOX_PREFIX", "DEFAULT_IMAGE", "HOST_TOOLCHAIN", "LABEL", "OWNER_LABEL",
           "RUNGUARD_IN_IMAGE", "DockerBox", "DockerSandbox", "host_toolchain_sandbox"]

DEFAULT_IMAGE = "podium-judge-c"
"""The image of ``box()`` without ``image=`` (languages name theirs: ``podium-judge-<name>``)."""
RUNGUARD_IN_IMAGE = "/opt/podium/runguard"
"""Where every judge image has runguard (and where ``runguard=`` binds the host's)."""
WORK = "/work"
BOX_PREFIX = "podium-box-"
LABEL = "org.podium.box"
"""Every box container has this label (value ``"1"``)."""
OWNER_LABEL = "org.podium.box.owner"
"""``<hostname>/<pid>/<process start time>`` of the judge process that made the box."""
HOST_TOOLCHAIN = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin",
                  "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf",
                  "/etc/ld.so.conf.d", "/etc/java-*", "/etc/python3*", "/etc/localtime",
                  "/etc/locale.alias")
"""Host paths (globs) a development image borrows read-only: those that exist are bound."""
FILE_OP_SECONDS = 60.0
"""Backstop of a file operation (plus a second per 50 MB moved)."""
AGENT_START_SECONDS = 30.0
"""How long a new box's agent may take to say hello."""
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def _owner() -> str:
    """This process as :data:`OWNER_LABEL` says it."""
    return f"{socket.gethostname()}/{os.getpid()}/{process_start_time(os.getpid())}"


def _owner_alive(owner: str) -> bool | None:
    """Whether the judge process ``owner`` still runs; None when it is not of this host."""
    host, _, rest = owner.partition("/")
    if host != socket.gethostname():
        return None
    pid, _, started = rest.partition("/")
    return pid.isdigit() and process_start_time(int(pid)) == started != ""


class _AgentGone(OSError):
    """The agent's channel ended or broke (the container is gone, or the agent died)."""


class _Channel:
    """The judge's end of a box's agent: the container's attach socket (stdin, stdout and
    stderr, no tty). What comes back is multiplexed: frames of an 8-byte header (stream 1 or 2,
    three zero bytes, the payload's size, big-endian) and the payload; stream 1 is the agent's
    answers, stream 2 its complaints (kept, the last 4 KiB, for error messages). Messages both
    ways are a field count, then each field as its length and bytes (32-bit big-endian)."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self.raw: socket.socket = getattr(sock, "_sock", sock)
        self.lock = threading.Lock()
        self.errors = bytearray()
        self._in = bytearray()    # bytes received, not yet demultiplexed
        self._out = bytearray()   # the agent's stdout, demultiplexed, not yet consumed
        self._left = 0            # payload bytes of the current frame still to come
        self._stream = 1

    def send(self, fields: Sequence[bytes]) -> None:
        parts = [len(fields).to_bytes(4, "big")]
        for field in fields:
            parts += [len(field).to_bytes(4, "big"), field]
        small = [p for p in parts if len(p) < 1 << 16]
        if len(small) == len(parts):
            self.raw.sendall(b"".join(parts))
        else:  # a big file: no copy of it
            for part in parts:
                self.raw.sendall(part)

    def receive(self) -> list[bytes]:
        """One message of the agent."""
        count = int.from_bytes(self._take(4), "big")
        return [self._take(int.from_bytes(self._take(4), "big")) for _ in range(count)]

    def complaints(self) -> str:
        return self.errors.decode(errors="replace").strip()

    def _take(self, size: int) -> bytes:
        while len(self._out) < size:
            self._pump()
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def _pump(self) -> None:
        chunk = self.raw.recv(1 << 18)
        if not chunk:
            raise _AgentGone(errno.EPIPE, "the box's agent is gone")
        self._in += chunk
        at = 0
        while True:
            if self._left == 0:
                if len(self._in) - at < 8:
                    break
                self._stream = self._in[at]
                self._left = int.from_bytes(self._in[at + 4:at + 8], "big")
                at += 8
                continue
            payload = self._in[at:at + self._left]
            if not payload:
                break
            at += len(payload)
            self._left -= len(payload)
            if self._stream == 1:
                self._out += payload
            else:
                self.errors += payload
                del self.errors[:-4096]
        del self._in[:at]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.raw.shutdown(socket.SHUT_RDWR)  # also wakes a thread blocked on it
        with contextlib.suppress(OSError):
            self.raw.close()
        with contextlib.suppress(OSError):
            self._sock.close()


def _raise_for(reply: list[bytes], name: str) -> None:
    """Turn the agent's failure answer into the exception DirBox would raise."""
    if reply and reply[0] == b"ok":
        return
    code = reply[0].decode(errors="replace") if reply else "empty"
    where = reply[1].decode(errors="replace") if len(reply) > 1 and reply[1] else name
    detail = reply[2].decode(errors="replace") if len(reply) > 2 else ""
    if code == "missing":
        raise FileNotFoundError(errno.ENOENT, "no such file in the box", where)
    if code == "notregular":
        raise PermissionError(errno.EPERM, "not a regular file (or a symbolic link)", where)
    if code == "notdir":
        raise NotADirectoryError(errno.ENOTDIR, "a directory on the way is not a directory "
                                 "or is a symbolic link", where)
    if code == "write":
        raise OSError(errno.EIO, f"cannot write a queued file into the box ({detail})", where)
    if code == "io":
        raise OSError(errno.EIO, f"file operation failed ({detail})", where)
    raise SandboxError(f"the box's agent answered {code!r} {where!r} {detail!r}")


def _fields(*values: str | int | bytes) -> list[bytes]:
    return [v if isinstance(v, bytes) else os.fsencode(str(v)) for v in values]


class DockerBox:
    """One box: a running container, its uid, its agent, and the files queued for the agent."""

    def __init__(self, sandbox: DockerSandbox, client: Any, container_id: str, uid: int,
                 channel: _Channel) -> None:
        self._sandbox = sandbox
        self._client = client
        self.container_id = container_id
        self.uid = uid
        self._channel = channel
        self._pending: list[tuple[str, bytes, bool]] = []
        self._broken: str | None = None

    # -- the Box protocol ------------------------------------------------------------------

    async def write(self, name: str, data: bytes, *, executable: bool = False) -> None:
        """Queue a file for the box's next request (see the module docstring)."""
        split_name(name)
        self._alive()
        self._pending.append((name, bytes(data), executable))

    async def read(self, name: str, *, limit: int) -> bytes:
        """At most ``limit`` bytes of a regular file; symlinks, FIFOs, devices: PermissionError."""
        split_name(name)
        if limit < 0:
            raise ValueError("negative limit")
        reply = await self._ask(_fields("read", name, limit),
                                timeout=FILE_OP_SECONDS + limit / 50e6)
        _raise_for(reply, name)
        return reply[1]

    async def run(self, argv: Sequence[str], *, limits: Limits, stdin: str | None = None,
                  stdout: str | None = None, stderr: str | None = None,
                  env: Mapping[str, str] | None = None, stdin_fd: int | None = None,
                  stdout_fd: int | None = None) -> RunResult:
        """Run ``argv`` in the work dir under ``limits``; see :class:`judges.sandbox.base.Box`."""
        if stdin_fd is not None or stdout_fd is not None:
            return await self._run_piped(argv, limits=limits, stdin_fd=stdin_fd,
                                         stdout_fd=stdout_fd, stderr=stderr, env=env)
        if not argv:
            raise ValueError("empty argv")
        for name in (stdin, stdout, stderr):
            if name is not None:
                split_name(name)
        environ = _environment(env)
        limits = self._sandbox.clamp(limits)
        # "./" keeps a file named like "fd:1" from being taken for a descriptor.
        options = runguard_args(
            _with_agent(limits), stdin=f"./{stdin}" if stdin is not None else None,
            stdout=f"./{stdout}" if stdout is not None else None,
            stderr=f"./{stderr}" if stderr is not None else "fd:2", report="fd:3")
        request = _fields("run", STDERR_KEPT, STDERR_SCANNED, stdin or "", stdout or "",
                          stderr or "", len(environ), *environ, *options, "--", *argv)
        reply = await self._ask(request, timeout=limits.wall_seconds + RUN_GRACE_SECONDS)
        _raise_for(reply, stdin or stdout or stderr or "")
        report, head, tail, diagnostics = reply[1:5]
        result = result_from_report(
            report, head[:STDERR_KEPT], (diagnostics or head + tail).decode(errors="replace"),
            stderr_tail=tail)
        return dataclasses.replace(result, extra={**result.extra, "ended_at": time.monotonic()})

    async def _run_piped(self, argv: Sequence[str], *, limits: Limits, stdin_fd: int | None,
                         stdout_fd: int | None, stderr: str | None,
                         env: Mapping[str, str] | None) -> RunResult:
        """A run whose stdin and stdout are host pipes (interactive problems): one exec.

        The agent first empties /tmp and clears the stderr file's name (and writes the queued
        files). Then an exec of ``env -i ... runguard`` as the box's uid: its stdin carries the
        program's stdin, the program's stdout travels as the exec's *stderr* stream, relayed
        to ``stdout_fd`` as it comes, and the exec's stdout carries only runguard's report. The
        program's stderr goes to the named file (or /dev/null)."""
        owned = [fd for fd in (stdin_fd, stdout_fd) if fd is not None]
        try:
            if not argv:
                raise ValueError("empty argv")
            if stderr is not None:
                split_name(stderr)
            environ = _environment(env)
            _raise_for(await self._ask(_fields("prepare", "", stderr or ""),
                                       timeout=FILE_OP_SECONDS), stderr or "")
            limits = self._sandbox.clamp(limits)
            options = runguard_args(
                _with_agent(limits), stdin="fd:0" if stdin_fd is not None else None,
                stdout="fd:2" if stdout_fd is not None else None,
                stderr=f"./{stderr}" if stderr is not None else "/dev/null", report="fd:1")
            command = ["/usr/bin/env", "-i", *environ, self._sandbox.runguard_path, *options,
                       "--", *argv]
            try:
                report, ended_at = await asyncio.to_thread(
                    self._exec_piped_sync, command, owned, stdin_fd, stdout_fd,
                    limits.wall_seconds + RUN_GRACE_SECONDS)
            except SandboxError as exc:
                self._broken = str(exc)
                raise
        finally:
            for fd in owned:
                os.close(fd)
        run = result_from_report(report, b"", "a piped run")
        if stderr is not None:
            reply = await self._ask(_fields("ends", stderr, STDERR_KEPT, STDERR_SCANNED),
                                    timeout=FILE_OP_SECONDS)
            if reply[0] == b"ok":  # else the program replaced the file: no stderr
                run = result_from_report(report, reply[1], "a piped run", stderr_tail=reply[2])
        return dataclasses.replace(run, extra={**run.extra, "ended_at": ended_at})

    def _exec_piped_sync(self, command: list[str], owned: list[int], stdin_fd: int | None,
                         stdout_fd: int | None, timeout: float) -> tuple[bytes, float]:
        """Blocking: run the exec, pumping ``stdin_fd`` into it and its stderr stream out to
        ``stdout_fd``; closes both (and empties ``owned``) when the exec ends. The report,
        and ``time.monotonic()`` when the exec's stream ended."""
        import docker.errors

        api = self._client.api
        try:
            created = api.exec_create(
                self.container_id, command, stdout=True, stderr=True,
                stdin=stdin_fd is not None, user=f"{self.uid}:{self.uid}", workdir=WORK)
            sock = api.exec_start(created["Id"], socket=True)
        except docker.errors.NotFound:
            raise SandboxError("the box's container is gone") from None
        except (docker.errors.APIError, OSError) as exc:
            raise SandboxError(f"docker exec failed: {_explain(exc)}") from None
        raw: socket.socket = getattr(sock, "_sock", sock)
        stop = threading.Event()

        def pump() -> None:  # the program's stdin: host pipe -> exec stdin, then close it
            assert stdin_fd is not None
            try:
                while not stop.is_set():
                    ready, _, _ = select.select([stdin_fd], [], [], 0.05)
                    if not ready:
                        continue
                    chunk = os.read(stdin_fd, 1 << 16)
                    if not chunk:
                        break
                    raw.sendall(chunk)
                raw.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        pumper = None
        if stdin_fd is not None:
            pumper = threading.Thread(target=pump, name="podium-box-pipe", daemon=True)
            pumper.start()
        report = bytearray()
        try:
            raw.settimeout(timeout)
            try:
                while (header := _recv_exactly(raw, 8)) is not None:
                    stream, size = header[0], int.from_bytes(header[4:8], "big")
                    while size:
                        chunk = raw.recv(min(size, 1 << 16))
                        if not chunk:
                            raise OSError(errno.EPIPE, "the exec stream ended inside a frame")
                        size -= len(chunk)
                        if stream == 1 and len(report) < 1 << 16:
                            report += chunk
                        elif stream == 2 and stdout_fd is not None:
                            with contextlib.suppress(OSError):  # the reader may be gone
                                os.write(stdout_fd, chunk) if len(chunk) < 4096 else \
                                    _write_all(stdout_fd, chunk)
            except TimeoutError:
                self._kill()
                raise SandboxError("a piped exec outlived its wall limit; killed the box"
                                   ) from None
            except OSError as exc:
                raise SandboxError(f"the exec stream failed: {exc}") from None
        finally:
            ended_at = time.monotonic()
            if stdout_fd is not None:  # the program is done: its reader sees end-of-file
                owned.remove(stdout_fd)
                os.close(stdout_fd)
            stop.set()
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)
            if pumper is not None:
                pumper.join(timeout=FILE_OP_SECONDS)
            raw.close()
            with contextlib.suppress(OSError):
                sock.close()
        return bytes(report), ended_at

    # -- the agent -------------------------------------------------------------------------

    def _alive(self) -> None:
        if self._broken is not None:
            raise SandboxError(f"the box is unusable: {self._broken}")

    async def _ask(self, request: list[bytes], *, timeout: float) -> list[bytes]:
        """Send the queued files and ``request`` to the agent; its answer to ``request``. A
        queued file it could not write raises OSError and breaks the box."""
        self._alive()
        pending, self._pending = self._pending, []
        moved = sum(len(data) for _, data, _ in pending)
        try:
            failed, reply = await asyncio.to_thread(self._ask_sync, pending, request,
                                                    timeout + moved / 50e6)
        except SandboxError as exc:
            self._broken = str(exc)
            raise
        if failed is not None:
            self._broken = "a queued file could not be written"
            _raise_for(failed, "")
        return reply

    def _ask_sync(self, pending: list[tuple[str, bytes, bool]], request: list[bytes],
                  timeout: float) -> tuple[list[bytes] | None, list[bytes]]:
        """Blocking: one exchange with the agent (its answers to the queued writes are read
        after everything is sent: the agent answers a write in a few bytes)."""
        channel = self._channel
        with channel.lock:
            started = time.monotonic()
            try:
                channel.raw.settimeout(timeout)
                for name, data, executable in pending:
                    channel.send(_fields("write", name, int(executable), data))
                channel.send(request)
                failed = None
                for _ in pending:
                    answer = channel.receive()
                    if answer[0] != b"ok" and failed is None:
                        failed = answer
                return failed, channel.receive()
            except TimeoutError:
                self._kill()
                raise SandboxError(
                    f"the box's agent did not answer {time.monotonic() - started:.0f} s after "
                    "it was asked (runguard should have stopped the run); killed the box"
                    ) from None
            except OSError as exc:
                text = channel.complaints()
                raise SandboxError(f"the box's agent is gone ({exc})"
                                   + (f": {text}" if text else "")) from None

    def _kill(self) -> None:
        with contextlib.suppress(Exception):
            self._client.api.kill(self.container_id)


def _environment(env: Mapping[str, str] | None) -> list[str]:
    """The program's whole environment as NAME=VALUE strings."""
    environ = {**SANDBOX_ENV, **(env or {})}
    for key, value in environ.items():
        if not _ENV_NAME.fullmatch(key) or "\0" in value:
            raise ValueError(f"bad environment variable {key!r}")
    return [f"{key}={value}" for key, value in environ.items()]


def _with_agent(limits: Limits) -> Limits:
    """RLIMIT_NPROC counts the box uid's processes: the agent is one more, not the program's."""
    return replace(limits, processes=limits.processes + 1)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _recv_exactly(raw: socket.socket, size: int) -> bytes | None:
    """``size`` bytes, or None at a clean end of stream."""
    chunks, left = [], size
    while left:
        chunk = raw.recv(left)
        if not chunk:
            if left == size:
                return None
            raise OSError(errno.EPIPE, "the exec stream ended inside a frame")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _explain(exc: BaseException) -> str:
    return str(getattr(exc, "explanation", None) or exc)


class DockerSandbox:
    """Docker + runguard (see the module docstring)."""

    name = "docker"

    def __init__(self, image: str = DEFAULT_IMAGE, *, images: Sequence[str] | None = None,
                 mounts: Iterable[str] | Mapping[str, str] = (), runguard: Path | None = None,
                 uid: int = 65534, program_uids: range = range(30000, 60000),
                 memory_bytes: int = 3 * 1024**3, cpus: float = 1.0, pids: int = 256,
                 open_files: int = 1024, work_bytes: int = 256 * 1024**2,
                 tmp_bytes: int = 64 * 1024**2, lifetime_seconds: int = 4 * 3600,
                 api_timeout: float = 120.0) -> None:
        """``image``: the image of ``box()`` without ``image=``; ``images``: those
        :meth:`check` requires (default: ``image``); ``mounts``: host paths bound read-only at
        the same place (or a mapping host → container); ``runguard``: a host binary bound at
        :data:`RUNGUARD_IN_IMAGE` (None: the image has one there); ``program_uids``: where
        each box's uid (its container's, agent's and program's) is drawn from, never ``uid``
        (65534: bwrap's boxes); the rest: the container's limits (``memory_bytes`` covers the
        program, its tmpfs files and the agent; ``lifetime_seconds`` is how long a forgotten
        box lives)."""
        self.image = image
        self.images = tuple(images) if images is not None else (image,)
        self.mounts = dict(mounts) if isinstance(mounts, Mapping) else {p: p for p in mounts}
        self.runguard = runguard
        self.runguard_path = RUNGUARD_IN_IMAGE
        self.uid = uid
        self.program_uids = program_uids
        self.memory_bytes = memory_bytes
        self.cpus = cpus
        self.pids = pids
        self.open_files = open_files
        self.work_bytes = work_bytes
        self.tmp_bytes = tmp_bytes
        self.lifetime_seconds = lifetime_seconds
        self.api_timeout = api_timeout
        self._client: Any = None
        self._lock = threading.Lock()

    # -- the Sandbox protocol ----------------------------------------------------------------

    async def check(self) -> None:
        """Raise SandboxUnavailable saying why unless a box runs ``true`` here."""
        client = await self._ready()
        for image in self.images:
            await asyncio.to_thread(self._require_image, client, image)
        try:
            async with self.box() as box:
                result = await box.run(["true"], limits=Limits(cpu_seconds=5, wall_seconds=20))
        except (SandboxError, OSError) as exc:
            raise SandboxUnavailable(f"a Docker box cannot run `true` with image "
                                     f"{self.image!r}: {exc}") from None
        if result.exit_code != 0:
            raise SandboxUnavailable(f"`true` failed in a Docker box: {result}")

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[DockerBox]:
        """A fresh container of ``image`` (default: the sandbox's)."""
        return self._box(image or self.image)

    # -- the rest of the public surface -------------------------------------------------------

    def clamp(self, limits: Limits) -> Limits:
        """``limits`` within the container's own bounds (its ulimits and tmpfs)."""
        return replace(limits, processes=min(limits.processes, self.pids),
                       open_files=min(limits.open_files, self.open_files),
                       output_bytes=min(limits.output_bytes, self.work_bytes))

    async def cleanup(self, *, everything: bool = False) -> list[str]:
        """Remove the box containers of judge processes of this host that are gone (with
        ``everything``: every box container on the engine); the names removed."""
        client = await self._ready()
        return await asyncio.to_thread(self._cleanup_sync, client, everything)

    async def aclose(self) -> None:
        """Close the connection to the engine (a later call opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await asyncio.to_thread(client.close)

    # -- internals ---------------------------------------------------------------------------

    async def _ready(self) -> Any:
        if self._client is None:
            await asyncio.to_thread(self._connect_once)
        return self._client

    def _connect_once(self) -> None:
        with self._lock:
            if self._client is None:
                self._client = self._connect()

    def _connect(self) -> Any:
        try:
            import docker
        except ImportError:
            raise SandboxUnavailable("the docker Python package is not installed "
                                     "(pip install 'docker>=7')") from None
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if where.startswith("unix://"):  # the exact reason (and docker-py leaks the socket)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(10)
                try:
                    probe.connect(where.removeprefix("unix://"))
                except OSError as exc:
                    raise SandboxUnavailable(
                        f"the Docker engine is unreachable at {where}: {exc.strerror or exc} "
                        "(is dockerd running, and may this user use its socket?)") from None
        try:  # from_env asks the engine for its API version already
            client = docker.from_env(timeout=self.api_timeout)
        except (docker.errors.DockerException, OSError) as exc:  # requests' errors are OSError
            raise SandboxUnavailable(f"the Docker engine is unreachable at {where}: "
                                     f"{_explain(exc)}") from None
        try:
            client.ping()
        except (docker.errors.DockerException, OSError) as exc:
            client.close()
            raise SandboxUnavailable(f"the Docker engine is unreachable at {where}: "
                                     f"{_explain(exc)}") from None
        missing = [source for source in self.mounts if not os.path.exists(source)]
        if missing:
            client.close()
            raise SandboxUnavailable(f"host paths to mount are missing: {', '.join(missing)}")
        if self.runguard is not None and not os.access(self.runguard, os.X_OK):
            client.close()
            raise SandboxUnavailable(f"runguard binary {self.runguard} is not executable")
        return client

    def _require_image(self, client: Any, image: str) -> None:
        import docker.errors

        try:
            client.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(
                f"image {image!r} is not on this Docker engine: build it (judges/images/"
                "README.md); Podium never pulls judge images") from None
        except docker.errors.APIError as exc:
            raise SandboxUnavailable(f"cannot inspect image {image!r}: {_explain(exc)}"
                                     ) from None

    @asynccontextmanager
    async def _box(self, image: str) -> AsyncIterator[DockerBox]:
        client = await self._ready()
        name = BOX_PREFIX + secrets.token_hex(8)
        uid = self._take_uid()
        creating = asyncio.ensure_future(
            asyncio.to_thread(self._create_sync, client, name, image, uid))
        try:
            container_id, channel = await asyncio.shield(creating)
            yield DockerBox(self, client, container_id, uid, channel)
        finally:
            # Also on cancellation: let the creation finish, then remove what it made; the
            # removal itself is shielded from a second cancellation.
            await asyncio.shield(asyncio.ensure_future(self._dispose(client, creating, name)))
            with _uid_lock:
                _uids_in_use.discard(uid)

    async def _dispose(self, client: Any, creating: asyncio.Future[tuple[str, _Channel]],
                       name: str) -> None:
        await asyncio.wait([creating])
        if not creating.cancelled() and creating.exception() is None:
            creating.result()[1].close()  # the agent sees end-of-file and ends
        await asyncio.to_thread(self._remove_sync, client, name)

    def _take_uid(self) -> int:
        with _uid_lock:
            if len(_uids_in_use) >= len(self.program_uids) // 2:
                raise SandboxError("too many boxes at once for program_uids")
            while True:
                uid = self.program_uids[secrets.randbelow(len(self.program_uids))]
                if uid not in _uids_in_use and uid != self.uid:
                    _uids_in_use.add(uid)
                    return uid

    def _create_sync(self, client: Any, name: str, image: str, uid: int
                     ) -> tuple[str, _Channel]:
        """Blocking: create the container, attach to it, start it, wait for its agent's
        hello; its id and the agent's channel."""
        import docker.errors
        from docker.types import Ulimit

        api = client.api
        binds = [f"{source}:{target}:ro" for source, target in self.mounts.items()]
        if self.runguard is not None:
            binds.append(f"{self.runguard}:{RUNGUARD_IN_IMAGE}:ro")
        largest_file = max(self.work_bytes, self.tmp_bytes)
        host_config = api.create_host_config(
            network_mode="none", ipc_mode="none", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], pids_limit=self.pids,
            mem_limit=self.memory_bytes, memswap_limit=self.memory_bytes,
            nano_cpus=int(self.cpus * 1e9), auto_remove=True, binds=binds,
            log_config={"Type": "none"},  # the agent's answers are no log
            init=False,  # the agent is the init, whatever the engine's default
            tmpfs={WORK: f"size={self.work_bytes},mode=1777,exec,nosuid,nodev",
                   "/tmp": f"size={self.tmp_bytes},mode=1777,exec,nosuid,nodev",
                   "/sys": "ro,size=4k,nosuid,nodev,noexec"},
            ulimits=[Ulimit(name="nofile", soft=self.open_files, hard=self.open_files),
                     Ulimit(name="nproc", soft=self.pids, hard=self.pids),
                     Ulimit(name="core", soft=0, hard=0),
                     Ulimit(name="fsize", soft=largest_file, hard=largest_file),
                     Ulimit(name="stack", soft=-1, hard=-1)])
        try:
            created = api.create_container(
                image, command=[WORK, str(self.lifetime_seconds)],
                entrypoint=[self.runguard_path, "--agent"], name=name, user=f"{uid}:{uid}",
                hostname="podium", stdin_open=True,  # (and StdinOnce)
                labels={LABEL: "1", OWNER_LABEL: _owner()}, network_disabled=True,
                host_config=host_config)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(
                f"image {image!r} is not on this Docker engine: build it (judges/images/"
                "README.md); Podium never pulls judge images") from None
        except docker.errors.APIError as exc:
            raise SandboxError(f"cannot create a box container: {_explain(exc)}") from None
        container_id = str(created["Id"])
        try:
            channel = _Channel(api.attach_socket(
                container_id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}))
        except (docker.errors.APIError, OSError) as exc:
            raise SandboxError(f"cannot attach to a box container: {_explain(exc)}") from None
        try:
            try:
                api.start(container_id)
            except docker.errors.APIError as exc:
                raise SandboxError(f"cannot start a box container: {_explain(exc)}") from None
            try:
                channel.raw.settimeout(AGENT_START_SECONDS)
                hello = channel.receive()
            except OSError as exc:
                text = channel.complaints()
                raise SandboxError(
                    f"the box's agent ({self.runguard_path} --agent) did not start: "
                    f"{text or exc} (an image built before runguard had --agent? rebuild it, "
                    "judges/images/README.md)") from None
            if hello[:2] != [b"podium-agent", b"1"] or hello[2:] != [b"1"]:
                raise SandboxError(f"the box's agent is not the container's init: {hello!r}")
        except BaseException:
            channel.close()
            raise
        return container_id, channel

    def _remove_sync(self, client: Any, name: str) -> None:
        """Remove ``name`` for good (waiting out Docker's own auto-removal if it raced us)."""
        import docker.errors

        deadline = time.monotonic() + 30
        while True:
            try:
                client.api.remove_container(name, force=True)
            except docker.errors.NotFound:
                return
            except docker.errors.APIError as exc:
                if exc.status_code != 409 or time.monotonic() > deadline:  # 409: in progress
                    raise SandboxError(f"cannot remove box container {name}: {_explain(exc)}"
                                       ) from None
                time.sleep(0.05)
                continue
            return

    def _cleanup_sync(self, client: Any, everything: bool) -> list[str]:
        removed = []
        for info in client.api.containers(all=True, filters={"label": LABEL}):
            labels = info.get("Labels") or {}
            names = [n.lstrip("/") for n in info.get("Names") or []]
            if not names or not names[0].startswith(BOX_PREFIX):
                continue
            if everything or _owner_alive(labels.get(OWNER_LABEL, "")) is False:
                self._remove_sync(client, names[0])
                removed.append(names[0])
        return removed


def _host_runguard() -> Path:
    """The host's runguard (built if needed) for images without one."""
    try:
        return ensure_runguard()
    except RunguardBuildError as exc:
        raise SandboxUnavailable(f"cannot build runguard: {exc}") from None


def host_toolchain_sandbox(image: str, **options: Any) -> DockerSandbox:
    """A sandbox for an image without a toolchain (development and tests): the host's
    toolchain (:data:`HOST_TOOLCHAIN`) and runguard are bound read-only into every box."""
    mounts = sorted({path for pattern in HOST_TOOLCHAIN for path in glob.glob(pattern)})
    return DockerSandbox(image, mounts=mounts, runguard=_host_runguard(), **options)

