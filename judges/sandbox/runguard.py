"""runguard from Python: build and locate the binary, drive it, and the box it works in.

**Building.** ``runguard.c`` beside this module is compiled with ``cc -O2 -static`` (a dynamic
build when the static C library is missing) into a cache directory, named after the SHA-256 of
the source and the flags, so an edited source is rebuilt and an unchanged one never is. The
build writes a temporary file and renames it into place, so concurrent builders cannot expose a
half-written binary. The cache directory is, first that applies:

1. ``PODIUM_RUNGUARD_DIR``;
2. ``$PODIUM_DATA_DIR/cache``;
3. ``/var/cache/podium`` when running as root (the bwrap sandbox then starts bubblewrap as an
   unprivileged user, which must reach the files it binds; ``/root`` is closed to it);
4. ``$XDG_CACHE_HOME/podium`` or ``~/.cache/podium``.

``PODIUM_RUNGUARD`` names a prebuilt binary instead (judge images may ship one).

**Driving.** :class:`DirBox` is a box on the host — a private directory whose ``work/`` is the
program's work dir — and runs commands through runguard, wrapped by its subclass (bubblewrap in
:mod:`judges.sandbox.bwrap`, nothing in :mod:`judges.sandbox.unsafe`). runguard's JSON report
comes back through an inherited pipe, out of the program's reach; stderr, when the caller does
not name a file for it, goes to an anonymous file. Its first KiB is kept, and its last 4 KiB
are searched for an out-of-memory message (see :func:`result_from_report`). The judge's own
file access never follows a symlink the program made and refuses FIFOs and devices, so a
program cannot make the judge read or overwrite a host file.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from judges.sandbox.base import Limits, RunResult, SandboxError

__all__ = ["OUT_OF_MEMORY_MESSAGES", "RUN_GRACE_SECONDS", "SANDBOX_ENV", "SOURCE", "STDERR_KEPT",
           "STDERR_SCANNED", "DirBox", "RunguardBuildError", "cache_dir", "ensure_runguard",
           "process_start_time", "remove_tree", "result_from_report", "runguard_args",
           "split_name", "supervise"]

SANDBOX_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8"}
"""The program's whole environment (callers may add to it)."""
STDERR_KEPT = 1024
"""Bytes of stderr kept in RunResult.stderr."""
STDERR_SCANNED = 4096
"""Bytes at the end of stderr searched for an out-of-memory message."""
OUT_OF_MEMORY_MESSAGES = (b"MemoryError", b"std::bad_alloc", b"java.lang.OutOfMemoryError",
                          b"Cannot allocate memory", b"out of memory",
                          b"memory allocation of ", b"JavaScript heap out of memory")
"""What Python, C++, Java, libc's strerror(ENOMEM), Rust's allocator, Node and others print
when an allocation fails."""
RUN_GRACE_SECONDS = 10.0
RLIM_INFINITY = 2**64 - 1
"""runguard's ``--stack`` for "unlimited" (Linux's RLIM_INFINITY)."""
"""How long after the wall limit the judge waits before it kills the run itself (a backstop:
runguard enforces the wall limit)."""

SOURCE = Path(__file__).with_name("runguard.c")
_FLAGS = ("-O2", "-std=gnu11", "-Wall")
_lock = threading.Lock()


class RunguardBuildError(RuntimeError):
    """runguard could not be built; the message holds the compiler's complaint."""


def cache_dir() -> Path:
    """Where built runguard binaries live (see the module docstring for the order)."""
    if explicit := os.environ.get("PODIUM_RUNGUARD_DIR"):
        return Path(explicit)
    if data_dir := os.environ.get("PODIUM_DATA_DIR"):
        return Path(data_dir) / "cache"
    if os.geteuid() == 0:
        return Path("/var/cache/podium")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "podium"


def _compiler() -> str:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and (path := shutil.which(name)):
            return path
    raise RunguardBuildError("no C compiler found (install gcc: apt-get install gcc)")


def ensure_runguard(directory: Path | None = None) -> Path:
    """The path of a runguard binary built from the current source; builds it if needed."""
    if prebuilt := os.environ.get("PODIUM_RUNGUARD"):
        path = Path(prebuilt)
        if not os.access(path, os.X_OK):
            raise RunguardBuildError(f"PODIUM_RUNGUARD={prebuilt} is not an executable file")
        return path
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source + " ".join(_FLAGS).encode()).hexdigest()[:16]
    directory = directory or cache_dir()
    target = directory / f"runguard-{digest}"
    if os.access(target, os.X_OK):
        return target
    with _lock:
        if os.access(target, os.X_OK):
            return target
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        cc = _compiler()
        fd, tmp = tempfile.mkstemp(prefix=".runguard-", dir=directory)
        os.close(fd)
        try:
            errors = []
            for link in (("-static",), ()):  # static first: no loader, fastest start
                result = subprocess.run(
                    [cc, *_FLAGS, *link, "-o", tmp, str(SOURCE), "-lm"],
                    capture_output=True, text=True, check=False)
                if result.returncode == 0:
                    break
                errors.append(f"{' '.join(link) or 'dynamic'}: {result.stderr.strip()}")
            else:
                raise RunguardBuildError(f"cannot build {SOURCE} with {cc}:\n"
                                         + "\n".join(errors))
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)  # atomic: readers see no binary or a whole one
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


# -- driving runguard ------------------------------------------------------------------------------

def process_start_time(pid: int) -> str:
    """The start time of ``pid`` (field 22 of /proc/PID/stat, clock ticks since boot), ""
    when there is no such process: with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def split_name(name: str) -> list[str]:
    """The components of a relative file name in the work dir; no '..', '.', '' or NUL."""
    parts = name.split("/")
    if not name or "\0" in name or name.startswith("/") or any(
            p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad file name {name!r}: relative names without '..' only")
    return parts


def remove_tree(path: Path) -> None:
    """Remove a box even when the program made parts of it unreadable (chmod 000)."""
    def retry(function: object, failed: str, _exc: object) -> None:
        parent = os.path.dirname(failed)
        if os.path.isdir(parent) and not os.path.islink(parent):
            os.chmod(parent, 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, ignore_errors=True)
        elif os.path.lexists(failed):
            os.unlink(failed)

    if os.path.lexists(path):
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)


class DirBox:
    """A box on the host: ``root`` (private) holds ``root/work``, the program's work dir.

    The judge's file access never follows a symlink the program made. ``owner`` (uid, gid) is
    given to every file the judge writes (None: leave as is). :meth:`run` runs runguard, as
    wrapped by the subclass's :meth:`_wrap` (bubblewrap, or nothing).
    """

    runguard_path: str
    """runguard as the wrapped command sees it."""

    def __init__(self, root: Path, owner: tuple[int, int] | None) -> None:
        self.root = root
        self.work = root / "work"
        self._owner = owner

    # -- judge-side file access (blocking; called through asyncio.to_thread) ----------------

    def _dir_fd(self, parts: list[str], *, create: bool) -> int:
        """An fd of the directory holding ``parts[-1]``; no component may be a symlink."""
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.work, flags)
        try:
            for part in parts[:-1]:
                if create:
                    try:
                        child = os.open(part, flags, dir_fd=fd)
                    except OSError as exc:  # missing, or a file or symlink the program left
                        if exc.errno not in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
                            raise
                        if exc.errno != errno.ENOENT:
                            os.unlink(part, dir_fd=fd)
                        os.mkdir(part, 0o755, dir_fd=fd)
                        if self._owner:
                            os.chown(part, *self._owner, dir_fd=fd, follow_symlinks=False)
                        child = os.open(part, flags, dir_fd=fd)
                else:
                    child = os.open(part, flags, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def write_sync(self, name: str, data: bytes, executable: bool) -> None:
        parts = split_name(name)
        dir_fd = self._dir_fd(parts, create=True)
        try:
            tmp = f".podium-{secrets.token_hex(8)}"
            mode = 0o755 if executable else 0o644
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, mode, dir_fd=dir_fd)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fchmod(fd, mode)
                if self._owner:
                    os.fchown(fd, *self._owner)
            finally:
                os.close(fd)
            try:  # rename replaces a symlink itself, never its target
                os.replace(tmp, parts[-1], src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except IsADirectoryError:  # the program left a directory of that name
                shutil.rmtree(parts[-1], dir_fd=dir_fd)
                os.replace(tmp, parts[-1], src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    def open_regular(self, name: str) -> int:
        """A read-only fd of the regular file ``name``; symlinks, FIFOs, devices and
        directories raise PermissionError (without blocking on a FIFO)."""
        parts = split_name(name)
        dir_fd = self._dir_fd(parts, create=False)
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PermissionError(errno.EPERM, "refusing a symbolic link", name) from None
            raise
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PermissionError(errno.EPERM, "not a regular file", name)
        return fd

    def read_sync(self, name: str, limit: int) -> bytes:
        fd = self.open_regular(name)
        try:
            chunks, left = [], limit
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def unlink_sync(self, name: str) -> None:
        """Remove ``name`` (a file, symlink or directory the program left) if it exists."""
        parts = split_name(name)
        try:
            dir_fd = self._dir_fd(parts, create=False)
        except OSError:  # no such dir, or the program made it a symlink: its own mess, and
            return       # runguard resolves the name inside the sandbox anyway
        try:
            os.unlink(parts[-1], dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            shutil.rmtree(parts[-1], dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    # -- runs and the Box protocol -------------------------------------------------------------

    def _wrap(self, command: list[str], env: Mapping[str, str] | None
              ) -> tuple[list[str], Path | None, dict[str, str]]:
        """The command line that runs runguard's ``command``, its working dir and environment
        (``env`` is the caller's addition to :data:`SANDBOX_ENV` for the program)."""
        raise NotImplementedError

    async def run(self, argv: Sequence[str], *, limits: Limits, stdin: str | None = None,
                  stdout: str | None = None, stderr: str | None = None,
                  env: Mapping[str, str] | None = None, stdin_fd: int | None = None,
                  stdout_fd: int | None = None) -> RunResult:
        """Run ``argv`` in the work dir under ``limits``; see :class:`judges.sandbox.base.Box`."""
        owned = [fd for fd in (stdin_fd, stdout_fd) if fd is not None]
        fds: list[int] = []
        try:
            if not argv:
                raise ValueError("empty argv")
            for name in (stdin, stdout, stderr):
                if name is not None:
                    split_name(name)
            for name in (stdout, stderr):  # fresh files: no planted symlink or FIFO (a few µs)
                if name is not None:
                    self.unlink_sync(name)
            if stdin_fd is not None:
                stdin = f"fd:{stdin_fd}"
            if stdout_fd is not None:
                stdout = f"fd:{stdout_fd}"
            read_fd, write_fd = os.pipe()
            fds += [read_fd, write_fd]
            diag_fd = _anonymous_file(self.root, fds)  # the wrapper's own complaints
            err_fd = _anonymous_file(self.root, fds) if stderr is None else -1
            options = runguard_args(
                limits, stdin=stdin, stdout=stdout,
                stderr=stderr if stderr is not None else f"fd:{err_fd}",
                report=f"fd:{write_fd}")
            command, cwd, environ = self._wrap([self.runguard_path, *options, "--", *argv], env)
            status = await supervise(
                command, pass_fds=[fd for fd in (write_fd, err_fd, *owned) if fd >= 0],
                cwd=cwd, env=environ, stderr=diag_fd,
                timeout=limits.wall_seconds + RUN_GRACE_SECONDS, close_after_start=owned)
            ended_at = time.monotonic()
            # (a closed descriptor's number may already be another run's: never close twice)
            raw = read_report(read_fd)  # runguard and every other writer are gone by now
            diagnostics = os.pread(diag_fd, 4000, 0).decode(errors="replace")
            head = tail = b""
            if stderr is not None:
                with contextlib.suppress(OSError):  # the program may have replaced it
                    err_fd = self.open_regular(stderr)
                    fds.append(err_fd)
            if err_fd >= 0:  # a few KiB: no thread needed
                head = os.pread(err_fd, STDERR_KEPT, 0)
                tail = os.pread(err_fd, STDERR_SCANNED,
                                max(0, os.fstat(err_fd).st_size - STDERR_SCANNED))
        finally:
            for fd in fds + owned:  # owned: emptied by supervise once the program holds them
                os.close(fd)
        result = result_from_report(raw, head, f"exit status {status}: {diagnostics}",
                                    stderr_tail=tail)
        return dataclasses.replace(result, extra={**result.extra, "ended_at": ended_at})

    async def write(self, name: str, data: bytes, *, executable: bool = False) -> None:
        """Create or replace a file in the work dir (``name`` is relative, no ``..``)."""
        await asyncio.to_thread(self.write_sync, name, data, executable)

    async def read(self, name: str, *, limit: int) -> bytes:
        """At most ``limit`` bytes of a regular file; symlinks, FIFOs, devices: PermissionError."""
        return await asyncio.to_thread(self.read_sync, name, limit)


def runguard_args(limits: Limits, *, stdin: str | None, stdout: str | None,
                  stderr: str, report: str) -> list[str]:
    """runguard's options for ``limits`` (everything before ``--``)."""
    address_space = (limits.memory_bytes if limits.address_space_bytes is None
                     else limits.address_space_bytes)
    args = ["--cpu", f"{limits.cpu_seconds:.3f}", "--wall", f"{limits.wall_seconds:.3f}",
            "--mem", str(address_space), "--rss", str(limits.memory_bytes),
            "--nproc", str(limits.processes), "--fsize", str(limits.output_bytes),
            "--nofile", str(limits.open_files),
            "--stack", str(limits.stack_bytes or RLIM_INFINITY),
            "--stderr", stderr, "--report", report]
    if stdin is not None:
        args += ["--stdin", stdin]
    if stdout is not None:
        args += ["--stdout", stdout]
    return args


def result_from_report(raw: bytes, stderr: bytes, diagnostics: str, *,
                       stderr_tail: bytes = b"") -> RunResult:
    """A RunResult from runguard's JSON report; SandboxError when it is missing or an error.

    One heuristic is added to runguard's: a failed run whose stderr (first KiB or last
    :data:`STDERR_SCANNED` bytes) holds a runtime's out-of-memory message exceeded its memory
    limit, even when the failed allocation was a single huge one that left no trace in the
    measured peaks (``extra["memory_exceeded_by"] = "stderr"``).
    """
    try:
        report = json.loads(raw)
    except ValueError:
        raise SandboxError(f"runguard wrote no report: {diagnostics.strip() or 'no output'}"
                           ) from None
    if report.get("error"):
        raise SandboxError(f"runguard: {report['error']}")
    extra = {key: report[key] for key in ("vm_peak_bytes", "seccomp", "exec_error")
             if report.get(key) is not None}
    memory_exceeded = report["memory_exceeded"]
    failed = report["exit_code"] not in (0, None) or report["signal"] is not None
    if (failed and not memory_exceeded and not report["cpu_exceeded"]
            and not report["wall_exceeded"]
            and any(m in stderr or m in stderr_tail for m in OUT_OF_MEMORY_MESSAGES)):
        memory_exceeded = True
        extra["memory_exceeded_by"] = "stderr"
    return RunResult(
        exit_code=report["exit_code"], signal=report["signal"],
        cpu_seconds=report["cpu_seconds"], wall_seconds=report["wall_seconds"],
        memory_bytes=report["memory_bytes"], output_bytes=report["output_bytes"],
        cpu_exceeded=report["cpu_exceeded"], wall_exceeded=report["wall_exceeded"],
        memory_exceeded=memory_exceeded, output_exceeded=report["output_exceeded"],
        stderr=stderr, extra=extra)


def read_report(fd: int) -> bytes:
    """Everything in the report pipe (its writers are gone; never blocks)."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _anonymous_file(directory: Path, fds: list[int]) -> int:
    """An unnamed file in ``directory`` (gone when closed); its fd is appended to ``fds``."""
    try:
        fd = os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError:  # a file system without O_TMPFILE
        fd, path = tempfile.mkstemp(dir=directory)
        os.unlink(path)
    fds.append(fd)
    return fd


async def supervise(argv: Sequence[str], *, pass_fds: Sequence[int], cwd: Path | None,
                    env: dict[str, str], stderr: int, timeout: float,
                    close_after_start: list[int] | None = None) -> int:
    """Run a (wrapped) runguard command line; its exit status.

    Popen + a waiting thread, not asyncio's subprocess machinery, which costs about 2 ms more
    per run. On timeout or cancellation the process is killed: bwrap's death (or runguard's,
    unwrapped) takes everything it started with it. ``close_after_start`` (pipe ends handed to
    the program) are closed here as soon as the process holds its copies, and the list emptied.
    """
    try:  # vfork + exec: blocks the loop for well under a millisecond
        proc = subprocess.Popen(  # noqa: ASYNC220
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            pass_fds=tuple(pass_fds), cwd=cwd, env=env)
    except OSError as exc:
        raise SandboxError(f"cannot start {argv[0]}: {exc}") from exc
    finally:
        while close_after_start:
            os.close(close_after_start.pop())
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[int] = loop.create_future()

    def wait() -> None:
        code = proc.wait()
        try:
            loop.call_soon_threadsafe(lambda: exited.done() or exited.set_result(code))
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    threading.Thread(target=wait, name=f"podium-run-{proc.pid}", daemon=True).start()
    try:
        return await asyncio.wait_for(asyncio.shield(exited), timeout)
    except BaseException as exc:
        proc.kill()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(exited), 5)
        if isinstance(exc, TimeoutError):
            raise SandboxError(f"the run did not end {timeout:.0f} s after it started "
                               "(runguard should have stopped it); killed it") from None
        raise
