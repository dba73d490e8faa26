"""The Docker sandbox: one hardened container per box, runguard inside it for every run.

A box is one container, made when the box opens and removed (forced) when it closes, also on
errors and cancellation. Its main process is ``sleep`` (a lifetime, below); nothing in it runs
until the judge asks. Every :meth:`DockerBox.run` is one ``docker exec`` of
``runguard [limits] -- argv`` (see :mod:`judges.sandbox.runguard`), which sets the rlimits,
enforces CPU, wall and memory, kills every descendant at the end and writes its JSON report to
the exec's stdout, out of the program's reach. The container:

- no network (``network_mode="none"``: a loopback only), its own IPC namespace without
  ``/dev/shm`` (``ipc_mode="none"``), hostname ``podium``;
- a read-only root file system; the only writable places are two size-capped tmpfs mounts,
  ``/work`` (the work dir, ``exec``) and ``/tmp`` (``nosuid,nodev`` both), and ``/tmp`` is
  emptied before every run, as bwrap gives every run a fresh one; ``/sys`` is an empty
  read-only tmpfs (no host hardware or cgroup details);
- no capabilities (``cap_drop=ALL``), ``no-new-privileges``, Docker's default seccomp profile
  and runguard's own filter; ``pids_limit``; ``mem_limit`` = ``memswap_limit`` (no swap);
  one CPU (``nano_cpus``); ulimits ``nofile``, ``nproc``, ``core=0``, ``fsize`` as upper
  bounds (runguard lowers them per run; a run asking for more is clamped to them);
- no host mount, except what the sandbox is told to bind read-only (``mounts``, ``runguard``):
  the development/test image borrows the host's toolchain this way, production images carry
  theirs and runguard at :data:`RUNGUARD_IN_IMAGE` (``judges/images/``).

**Users.** The container's own process runs as 65534 (``uid``). Every exec (the program, and
the judge's file operations) runs as a uid of its own for the box, drawn from
``program_uids``: RLIMIT_NPROC counts processes per uid across the whole host, so a shared uid
would let concurrent boxes (and bwrap boxes, which also use 65534) eat each other's process
budget. The default range stays below 65536, which an engine with user-namespace remapping
also accepts; two judge processes may still draw the same uid (then they share a budget). The
program cannot signal the container's main process either way: it is the pid namespace's init,
and init gets no signal from inside that it has no handler for.

**Files.** Docker's archive API cannot reach a tmpfs mount (and refuses a read-only root), so
files move through execs of ``/bin/sh`` and coreutils, run as the box's uid between runs, when
no process of the program is alive (runguard killed them all): reads are ``head -c limit`` of
a regular file (symlinks, FIFOs, devices, directories: PermissionError; missing:
FileNotFoundError; a symlink on the way: NotADirectoryError), writes remove whatever the
program left at the name and create the file anew (``set -C``), and replace a symlink or file
the program left on the way with a real directory. An exec costs about 100 ms on some hosts
(runc starting a process in the container's namespaces: ``python -m
judges.sandbox.bench_docker`` measures it), so
**writes are deferred**: :meth:`DockerBox.write` validates the name and queues the data, and
the next exec of the box (a run or a read) receives the queued files on its stdin and creates
them before doing its own work. A failed deferred write raises OSError from that next call
and breaks the box (every later call raises SandboxError). The judge's per-test pattern
(write the input, run, read the output) is thus two execs.

**stderr.** Unnamed, the program's stderr streams through the exec (its first KiB and last
``STDERR_SCANNED`` bytes are kept). Named, it is a file in the box, and its head and tail are
fetched (one more exec) only when the run did not succeed: ``RunResult.stderr`` is empty for a
successful run with a named stderr file (the file holds it).

**Leftovers.** Containers are named ``podium-box-<random>`` and labelled :data:`LABEL` (plus
the owning process in :data:`OWNER_LABEL`); :meth:`DockerSandbox.cleanup` removes those of
dead judge processes. A judge killed outright leaves its boxes behind until then, or until
their ``sleep`` ends (``lifetime_seconds``) and Docker removes them (``auto_remove``).
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
from dataclasses import dataclass, replace
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
_MARK = b"\npodium-box:"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# The judge's side of every exec. Arguments: ACTION COUNT [NAME SIZE EXECUTABLE]*COUNT ARGS...
# The COUNT queued files come first, read from stdin (head -c reads exactly SIZE bytes), then
# the action: "run OUT ERR IN ENV... RUNGUARD..." (exec: nothing of the shell stays around the
# program), "read NAME LIMIT" or "ends NAME HEAD TAIL" (size, head and tail of a file). Failures
# end stderr with "podium-box:CODE NAME"; a read ends it with "podium-box:ok".
_SCRIPT = r"""
fail() { printf '\npodium-box:%s %s\n' "$1" "$2" >&2; exit 111; }
indir() {
  case $1 in */*) [ "$(readlink -f -- "${1%/*}")" = "/work/${1%/*}" ] || fail "$2" "$1";; esac
}
fresh() {
  if [ -d "$1" ] && [ ! -L "$1" ]; then chmod -R u+rwx -- "$1" 2>/dev/null; fi
  if [ -e "$1" ] || [ -L "$1" ]; then rm -rf -- "$1" || fail "$2" "$1"; fi
}
parents() {
  p= rest=$1
  while :; do
    case $rest in */*) ;; *) return;; esac
    p=${p:+$p/}${rest%%/*} rest=${rest#*/}
    if [ -L "$p" ] || { [ -e "$p" ] && [ ! -d "$p" ]; }; then rm -f -- "$p" || fail write "$p"; fi
    if [ ! -d "$p" ]; then mkdir -- "$p" || fail write "$p"; fi
    if [ ! -w "$p" ] || [ ! -x "$p" ]; then chmod u+rwx -- "$p" || fail write "$p"; fi
  done
}
regular() {
  indir "$1" notdir
  if [ -L "$1" ]; then fail notregular "$1"; fi
  [ -e "$1" ] || fail missing "$1"
  [ -f "$1" ] || fail notregular "$1"
}
cd /work || fail setup /work
set -C
action=$1 n=$2
shift 2
while [ "$n" -gt 0 ]; do
  parents "$1"
  fresh "$1" write
  head -c "$2" > "$1" || fail write "$1"
  if [ "$3" = 1 ]; then chmod 755 -- "$1" || fail write "$1"; fi
  shift 3
  n=$((n - 1))
done
case $action in
run)
  for f in "$1" "$2"; do if [ -n "$f" ]; then indir "$f" notdir; fresh "$f" io; fi; done
  for f in /tmp/* /tmp/.[!.]* /tmp/..?*; do
    if [ -e "$f" ] || [ -L "$f" ]; then
      rm -rf /tmp/* /tmp/.[!.]* /tmp/..?* 2>/dev/null || {
        chmod -R u+rwx /tmp/* /tmp/.[!.]* /tmp/..?* 2>/dev/null
        rm -rf /tmp/* /tmp/.[!.]* /tmp/..?* 2>/dev/null; }
      break
    fi
  done
  if [ -n "$3" ]; then indir "$3" notdir; fi
  shift 3
  exec env -i "$@" ;;
read)
  regular "$1"
  head -c "$2" -- "$1" || fail io "$1"
  printf '\npodium-box:ok\n' >&2 ;;
flush)
  printf '\npodium-box:ok\n' >&2 ;;
ends)
  regular "$1"
  wc -c < "$1" && head -c "$2" -- "$1" && tail -c "$3" -- "$1" || fail io "$1"
  printf '\npodium-box:ok\n' >&2 ;;
esac
"""

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def _owner() -> str:
    """This process as :data:`OWNER_LABEL` says it."""
    return f"{socket.gethostname()}/{os.getpid()}/{_start_time(os.getpid())}"


def _start_time(pid: int) -> str:
    """The start time of ``pid`` (field 22 of /proc/PID/stat), "" when there is no such pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _owner_alive(owner: str) -> bool | None:
    """Whether the judge process ``owner`` still runs; None when it is not of this host."""
    host, _, rest = owner.partition("/")
    if host != socket.gethostname():
        return None
    pid, _, started = rest.partition("/")
    return pid.isdigit() and _start_time(int(pid)) == started != ""


@dataclass(frozen=True)
class _Exec:
    """What came back from one exec."""

    stdout: bytes
    stderr_head: bytes
    stderr_tail: bytes


class DockerBox:
    """One box: a running container, its uid, and the files queued for its next exec."""

    def __init__(self, sandbox: DockerSandbox, client: Any, container_id: str,
                 uid: int) -> None:
        self._sandbox = sandbox
        self._client = client
        self.container_id = container_id
        self.uid = uid
        self._pending: list[tuple[str, bytes, bool]] = []
        self._broken: str | None = None

    # -- the Box protocol ------------------------------------------------------------------

    async def write(self, name: str, data: bytes, *, executable: bool = False) -> None:
        """Queue a file for the box's next exec (see the module docstring)."""
        split_name(name)
        self._alive()
        self._pending.append((name, bytes(data), executable))

    async def read(self, name: str, *, limit: int) -> bytes:
        """At most ``limit`` bytes of a regular file; symlinks, FIFOs, devices: PermissionError."""
        split_name(name)
        if limit < 0:
            raise ValueError("negative limit")
        result = await self._exec(["read"], [name, str(limit)], stdout_cap=limit,
                                  timeout=FILE_OP_SECONDS + limit / 50e6)
        self._check_script(result, name, need_ok=True)
        return result.stdout

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
        environ = {**SANDBOX_ENV, **(env or {})}
        for key, value in environ.items():
            if not _ENV_NAME.fullmatch(key) or "\0" in value:
                raise ValueError(f"bad environment variable {key!r}")
        limits = self._sandbox.clamp(limits)
        # "./" keeps a file named like "fd:1" from being taken for a descriptor.
        options = runguard_args(
            limits, stdin=f"./{stdin}" if stdin is not None else None,
            stdout=f"./{stdout}" if stdout is not None else None,
            stderr=f"./{stderr}" if stderr is not None else "fd:2", report="fd:1")
        args = [stdout or "", stderr or "", stdin or "",
                *(f"{key}={value}" for key, value in environ.items()),
                self._sandbox.runguard_path, *options, "--", *argv]
        result = await self._exec(["run"], args, stdout_cap=1 << 16,
                                  timeout=limits.wall_seconds + RUN_GRACE_SECONDS)
        diagnostics = (result.stderr_head + result.stderr_tail).decode(errors="replace")
        head, tail = result.stderr_head[:STDERR_KEPT], result.stderr_tail
        if not result.stdout.strip():  # no report: did the script fail before runguard?
            self._check_script(result, stdout or "", need_ok=False)
        if stderr is None:
            return result_from_report(result.stdout, head, diagnostics, stderr_tail=tail)
        run = result_from_report(result.stdout, b"", diagnostics)
        if run.ok:
            return run
        try:  # a failed run: its stderr's head and tail (also for out-of-memory messages)
            head, tail = await self._ends(stderr)
        except OSError:  # the program may have replaced the file
            head = tail = b""
        return result_from_report(result.stdout, head, diagnostics, stderr_tail=tail)

    async def _run_piped(self, argv: Sequence[str], *, limits: Limits, stdin_fd: int | None,
                         stdout_fd: int | None, stderr: str | None,
                         env: Mapping[str, str] | None) -> RunResult:
        """A run whose stdin and stdout are host pipes (interactive problems).

        The exec's stdin carries the program's stdin (nothing else: queued files go first in
        an exec of their own), and the program's stdout travels as the exec's *stderr* stream,
        relayed to ``stdout_fd`` as it comes; the exec's stdout still carries only runguard's
        report. The program's stderr goes to the named file (or /dev/null)."""
        owned = [fd for fd in (stdin_fd, stdout_fd) if fd is not None]
        try:
            if not argv:
                raise ValueError("empty argv")
            if stderr is not None:
                split_name(stderr)
            environ = {**SANDBOX_ENV, **(env or {})}
            for key, value in environ.items():
                if not _ENV_NAME.fullmatch(key) or "\0" in value:
                    raise ValueError(f"bad environment variable {key!r}")
            if self._pending:
                self._check_script(await self._exec(["flush"], [], stdout_cap=0,
                                                    timeout=FILE_OP_SECONDS), "",
                                   need_ok=True)
            self._alive()
            limits = self._sandbox.clamp(limits)
            options = runguard_args(
                limits, stdin="fd:0" if stdin_fd is not None else None,
                stdout="fd:2" if stdout_fd is not None else None,
                stderr=f"./{stderr}" if stderr is not None else "/dev/null", report="fd:1")
            command = ["/bin/sh", "-c", _SCRIPT, "podium-box", "run", "0", "", stderr or "",
                       "", *(f"{key}={value}" for key, value in environ.items()),
                       self._sandbox.runguard_path, *options, "--", *argv]
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
        if not run.ok and stderr is not None:
            try:
                head, tail = await self._ends(stderr)
            except OSError:
                head = tail = b""
            run = result_from_report(report, head, "a piped run", stderr_tail=tail)
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

    # -- execs -----------------------------------------------------------------------------

    async def _ends(self, name: str) -> tuple[bytes, bytes]:
        """The first STDERR_KEPT and last STDERR_SCANNED bytes of a file."""
        result = await self._exec(["ends"], [name, str(STDERR_KEPT), str(STDERR_SCANNED)],
                                  stdout_cap=64 + STDERR_KEPT + STDERR_SCANNED,
                                  timeout=FILE_OP_SECONDS)
        self._check_script(result, name, need_ok=True)
        size_line, _, rest = result.stdout.partition(b"\n")
        try:
            size = int(size_line)
        except ValueError:
            raise SandboxError(f"cannot read the size of {name}: {result.stdout[:80]!r}"
                               ) from None
        kept = min(size, STDERR_KEPT)
        return rest[:kept], rest[kept:]

    def _check_script(self, result: _Exec, name: str, *, need_ok: bool) -> None:
        """Raise what the script's failure line says. Only for execs whose stderr no program
        wrote to: a read, or a run that produced no report. A failed queued write breaks the
        box (the files after it were not written either)."""
        stderr = result.stderr_head + result.stderr_tail
        if _MARK + b"write " in stderr:
            self._broken = "a queued file could not be written"
        _raise_for_marker(stderr, name, need_ok=need_ok)

    def _alive(self) -> None:
        if self._broken is not None:
            raise SandboxError(f"the box is unusable: {self._broken}")

    async def _exec(self, action: list[str], args: list[str], *, stdout_cap: int,
                    timeout: float) -> _Exec:
        """One exec of the box's script, carrying the queued files."""
        self._alive()
        pending, self._pending = self._pending, []
        header = [action[0], str(len(pending))]
        for name, data, executable in pending:
            header += [name, str(len(data)), "1" if executable else "0"]
        payload = [data for _, data, _ in pending]
        moved = sum(len(data) for data in payload)
        try:
            result = await asyncio.to_thread(
                self._exec_sync, ["/bin/sh", "-c", _SCRIPT, "podium-box", *header, *args],
                payload, stdout_cap, timeout + moved / 50e6)
        except SandboxError as exc:
            self._broken = str(exc)
            raise
        return result

    def _exec_sync(self, command: list[str], payload: list[bytes], stdout_cap: int,
                   timeout: float) -> _Exec:
        """Blocking: create and start the exec, feed its stdin, collect its output."""
        import docker.errors

        api = self._client.api
        try:
            created = api.exec_create(
                self.container_id, command, stdout=True, stderr=True, stdin=bool(payload),
                user=f"{self.uid}:{self.uid}", workdir=WORK)
            sock = api.exec_start(created["Id"], socket=True)
        except docker.errors.NotFound:
            raise SandboxError("the box's container is gone") from None
        except (docker.errors.APIError, OSError) as exc:
            raise SandboxError(f"docker exec failed: {_explain(exc)}") from None
        raw: socket.socket = getattr(sock, "_sock", sock)
        sender: threading.Thread | None = None
        send_error: list[BaseException] = []
        try:
            raw.settimeout(timeout)
            if payload:
                sender = threading.Thread(target=_send, args=(raw, payload, send_error),
                                          name="podium-box-stdin", daemon=True)
                sender.start()
            started = time.monotonic()
            try:
                out, head, tail = _collect(raw, stdout_cap)
            except TimeoutError:
                self._kill()
                raise SandboxError(
                    f"an exec did not end {time.monotonic() - started:.0f} s after it started "
                    "(runguard should have stopped it); killed the box") from None
            except OSError as exc:
                raise SandboxError(f"the exec stream failed: {exc}") from None
            if sender is not None:
                # The exec is over. A script that failed early left stdin unread, and dockerd
                # then neither reads nor closes it: unblock the sender.
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_RDWR)
                sender.join(timeout=FILE_OP_SECONDS)
                if send_error and _MARK not in head + tail:
                    raise SandboxError(f"sending files into the box failed: {send_error[0]}")
        finally:
            with contextlib.suppress(OSError):
                raw.shutdown(socket.SHUT_RDWR)
            raw.close()
            with contextlib.suppress(OSError):
                sock.close()
        return _Exec(out, head, tail)

    def _kill(self) -> None:
        with contextlib.suppress(Exception):
            self._client.api.kill(self.container_id)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _send(raw: socket.socket, payload: list[bytes], errors: list[BaseException]) -> None:
    """Write the queued files to the exec's stdin, then close it (the sender thread)."""
    try:
        for data in payload:
            raw.sendall(data)
        raw.shutdown(socket.SHUT_WR)
    except OSError as exc:
        errors.append(exc)


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


def _collect(raw: socket.socket, stdout_cap: int) -> tuple[bytes, bytes, bytes]:
    """Read the multiplexed exec stream to its end: stdout (at most ``stdout_cap`` bytes kept),
    the first STDERR_KEPT bytes of stderr and its last STDERR_SCANNED bytes."""
    out, head, tail = bytearray(), bytearray(), bytearray()
    while (header := _recv_exactly(raw, 8)) is not None:
        stream, size = header[0], int.from_bytes(header[4:8], "big")
        while size:
            chunk = raw.recv(min(size, 1 << 20))
            if not chunk:
                raise OSError(errno.EPIPE, "the exec stream ended inside a frame")
            size -= len(chunk)
            if stream == 1:
                if len(out) < stdout_cap:
                    out += chunk[:stdout_cap - len(out)]
            elif stream == 2:
                if len(head) < STDERR_KEPT:
                    take = STDERR_KEPT - len(head)
                    head += chunk[:take]
                    chunk = chunk[take:]
                tail += chunk
                del tail[:-STDERR_SCANNED]
    return bytes(out), bytes(head), bytes(tail)


def _raise_for_marker(stderr: bytes, name: str, *, need_ok: bool) -> None:
    """Turn the script's failure line into the exception DirBox would raise."""
    at = stderr.rfind(_MARK)
    line = stderr[at + len(_MARK):].split(b"\n", 1)[0].decode(errors="replace") if at >= 0 else ""
    if line == "ok":
        return
    code, _, where = line.partition(" ")
    where = where or name
    if code == "missing":
        raise FileNotFoundError(errno.ENOENT, "no such file in the box", where)
    if code == "notregular":
        raise PermissionError(errno.EPERM, "not a regular file (or a symbolic link)", where)
    if code == "notdir":
        raise NotADirectoryError(errno.ENOTDIR, "a directory on the way is missing, not a "
                                 "directory or a symbolic link", where)
    if code == "write":
        raise OSError(errno.EIO, "cannot write a queued file into the box", where)
    if code:
        raise OSError(errno.EIO, f"file operation failed ({code})", where)
    if need_ok:
        text = stderr.decode(errors="replace").strip()
        raise SandboxError(f"a file operation in the box gave no answer: {text or 'no output'}")


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
        :data:`RUNGUARD_IN_IMAGE` (None: the image has one there); ``uid``: the container's
        own process; ``program_uids``: where each box's uid is drawn from; the rest: the
        container's limits (``memory_bytes`` covers the program, its tmpfs files and the
        judge's execs; ``lifetime_seconds`` is how long a forgotten box lives)."""
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
            container_id = await asyncio.shield(creating)
            yield DockerBox(self, client, container_id, uid)
        finally:
            # Also on cancellation: let the creation finish, then remove what it made; the
            # removal itself is shielded from a second cancellation.
            await asyncio.shield(asyncio.ensure_future(self._dispose(client, creating, name)))
            with _uid_lock:
                _uids_in_use.discard(uid)

    async def _dispose(self, client: Any, creating: asyncio.Future[str], name: str) -> None:
        await asyncio.wait([creating])
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

    def _create_sync(self, client: Any, name: str, image: str, uid: int) -> str:
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
                image, command=[str(self.lifetime_seconds)], entrypoint=["/bin/sleep"],
                name=name, user=f"{self.uid}:{self.uid}", hostname="podium",
                labels={LABEL: "1", OWNER_LABEL: _owner()}, network_disabled=True,
                host_config=host_config)
        except docker.errors.ImageNotFound:
            raise SandboxUnavailable(
                f"image {image!r} is not on this Docker engine: build it (judges/images/"
                "README.md); Podium never pulls judge images") from None
        except docker.errors.APIError as exc:
            raise SandboxError(f"cannot create a box container: {_explain(exc)}") from None
        try:
            api.start(created["Id"])
        except docker.errors.APIError as exc:
            raise SandboxError(f"cannot start a box container: {_explain(exc)}") from None
        return str(created["Id"])

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

