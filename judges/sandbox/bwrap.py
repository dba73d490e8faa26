"""The bubblewrap sandbox: namespaces from ``bwrap``, limits and accounting from ``runguard``.

Every run is ``bwrap … --as-pid-1 … /run/podium/runguard [limits] -- argv``: runguard runs
*inside* the namespaces as the pid namespace's init, so its limits apply there, no signal from
inside can reach it, and when it exits the kernel kills whatever is left. The box:

- new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all``, plus an explicit
  ``--unshare-user`` so that ``--disable-userns`` can forbid nested user namespaces); the
  network namespace holds only a loopback that is down, so nothing connects anywhere;
- the program runs as uid/gid 65534 with no capabilities, no-new-privileges, in a new session
  (no terminal to inject into), under runguard's seccomp filter;
- the root is an empty tmpfs, remounted read-only once built, holding: ``/usr`` and the
  ``/bin``, ``/sbin``, ``/lib*`` links (or dirs) read-only; ``/etc`` and runguard read-only from
  a *snapshot* (below); ``/proc`` of the pid namespace; ``/dev`` with only ``null``, ``zero``,
  ``full``, ``random``, ``urandom`` and the ``fd``/``std*`` links (no ``/dev/shm``, no
  terminals); a size-capped tmpfs ``/tmp``; the box's work dir read-write at ``/work``, the
  working directory. Nothing else of the host is visible: not ``/etc/shadow``, ``/root``,
  ``/home``, the data dir, the host's ``/tmp``, nor any other box;
- a fixed environment: ``PATH``, ``HOME=/tmp``, ``LANG=C.UTF-8`` (plus what the caller adds).

**The snapshot.** Each bind mount costs about 0.2 ms on every run, so the few ``/etc`` entries
the toolchains read (``ld.so.cache``, ``ld.so.conf*``, ``alternatives``, ``java-*``,
``python3*``, ``localtime``, ``locale.alias``), a synthesized ``passwd``/``group`` and the
runguard binary are copied once into ``<cache>/sandbox-root-<hash>/`` and bound as two mounts.
The hash covers the sources' names, sizes and mtimes, so a changed host gives a new snapshot
when a sandbox object is next made (restart the judge after upgrading toolchains).

**Root.** Started by root, a user namespace would map the program's uid onto host root: its
files would be root's and RLIMIT_NPROC would not apply. So when the judge runs as root,
bubblewrap is started as the unprivileged ``uid`` (65534) through ``runguard --exec-as``
(Python's subprocess gives up vfork when it changes ids, which costs milliseconds); the box
belongs to that uid, and the program is uid 65534 inside and on the host. Every run has its own
user namespace, so the RLIMIT_NPROC count covers that run only. The snapshot must be reachable
by that uid: when the cache dir (:func:`judges.sandbox.runguard.cache_dir`) is closed to it,
e.g. inside a private data dir, root keeps the snapshot in ``/var/cache/podium`` instead.

**A box on the host** (removed when the context exits, also on errors)::

    <tmp>/podium-box-XXXXXXXX/   0700, owned by the program's uid; as root, a tmpfs of
        work/                    → /work       ``work_bytes`` (nosuid, nodev)

As root, each box is a size-capped tmpfs mounted for it (and unmounted when it closes), so a
program cannot fill the host's disk by writing many files each under the file size limit
(RLIMIT_FSIZE caps one file). Without root (or without CAP_SYS_ADMIN, in a container) the box
is a plain directory, bounded only by that limit and the time a run has. A judge killed
outright leaves its mounted boxes behind (``grep podium-box /proc/self/mountinfo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import glob
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from judges.sandbox.base import Limits, SandboxError, SandboxUnavailable
from judges.sandbox.runguard import (
    SANDBOX_ENV,
    DirBox,
    RunguardBuildError,
    cache_dir,
    ensure_runguard,
    process_start_time,
    remove_tree,
)

__all__ = ["BwrapBox", "BwrapSandbox"]

log = logging.getLogger("podium.sandbox.bwrap")

SNAPSHOT_IN_BOX = "/run/podium"
RUNGUARD_IN_BOX = f"{SNAPSHOT_IN_BOX}/runguard"
WORK_IN_BOX = "/work"
ROOT_CACHE = Path("/var/cache/podium")
"""Where root keeps the snapshot when the usual cache dir is closed to the program's uid."""
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
        "/etc/localtime", "/etc/locale.alias", "/etc/java-*", "/etc/python3*")
_TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_DEVICES = ("null", "zero", "urandom")


@dataclass(frozen=True)
class _Setup:
    bwrap: str
    runguard: Path
    """The binary outside (for --exec-as); the box uses the snapshot's copy."""
    snapshot: Path
    as_root: bool
    common: tuple[str, ...]
    """bwrap's options shared by every box: namespaces, ids, toolchain, snapshot, /dev."""


class BwrapBox(DirBox):
    """One box: a private work dir whose runs go through bubblewrap + runguard."""

    runguard_path = RUNGUARD_IN_BOX

    def __init__(self, sandbox: BwrapSandbox, setup: _Setup, root: Path) -> None:
        super().__init__(root, (sandbox.uid, sandbox.gid) if setup.as_root else None)
        self._sandbox = sandbox
        self._setup = setup

    def _wrap(self, command: list[str], env: Mapping[str, str] | None
              ) -> tuple[list[str], Path | None, dict[str, str]]:
        setup = self._setup
        argv = []
        if setup.as_root:
            argv += [str(setup.runguard), "--exec-as",
                     f"{self._sandbox.uid}:{self._sandbox.gid}", "--"]
        argv += [setup.bwrap, *setup.common, "--bind", str(self.work), WORK_IN_BOX,
                 "--remount-ro", "/", "--chdir", WORK_IN_BOX, "--clearenv"]
        for key, value in {**SANDBOX_ENV, **(env or {})}.items():
            argv += ["--setenv", key, value]
        return [*argv, "--", *command], None, {}


class BwrapSandbox:
    """Bubblewrap + runguard (see the module docstring)."""

    name = "bwrap"

    def __init__(self, *, tmp_dir: Path | None = None, uid: int = 65534, gid: int = 65534,
                 tmp_bytes: int = 64 * 1024 * 1024,
                 work_bytes: int = 256 * 1024 * 1024) -> None:
        """``tmp_dir``: where boxes are made (default: the system temp dir); ``uid``/``gid``:
        the program's ids; ``tmp_bytes``: the size of its /tmp; ``work_bytes``: the size of a
        box (its work dir and the judge's files) when the judge runs as root."""
        self.tmp_dir = tmp_dir
        self.uid = uid
        self.gid = gid
        self.tmp_bytes = tmp_bytes
        self.work_bytes = work_bytes
        self._setup: _Setup | None = None

    @property
    def snapshot(self) -> Path | None:
        """The snapshot directory bound at /etc and /run/podium (None until first used)."""
        return self._setup.snapshot if self._setup else None

    async def check(self) -> None:
        """Prove the whole set-up works here: run ``true`` in a real box."""
        await self._ready()
        try:
            async with self.box() as box:
                result = await box.run(["true"], limits=Limits(cpu_seconds=5, wall_seconds=20))
        except (SandboxError, OSError) as exc:
            raise SandboxUnavailable(_diagnose(str(exc))) from None
        if result.exit_code != 0:
            raise SandboxUnavailable(f"`true` failed in a box: {result}")

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[BwrapBox]:
        """A fresh box (``image`` is for container backends; bwrap uses the host toolchain)."""
        return self._box()

    @asynccontextmanager
    async def _box(self) -> AsyncIterator[BwrapBox]:
        setup = await self._ready()
        root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=_box_prefix(),
                                            dir=self.tmp_dir))
        mounted = False
        try:
            if setup.as_root:
                mounted = _mount_tmpfs(root, self.work_bytes, self.uid, self.gid)
            (root / "work").mkdir(mode=0o700)
            if setup.as_root:
                for path in (root, root / "work"):
                    os.chown(path, self.uid, self.gid)
            yield BwrapBox(self, setup, root)
        finally:
            try:
                if mounted:
                    _unmount(root)
            finally:
                await asyncio.to_thread(remove_tree, root)

    async def _ready(self) -> _Setup:
        if self._setup is None:
            self._setup = await asyncio.to_thread(self._prepare)
            await asyncio.to_thread(self.cleanup)
        return self._setup

    def cleanup(self) -> list[Path]:
        """Remove the boxes of judge processes that are gone (killed outright, their box dirs
        and tmpfs mounts stayed behind); the removed paths. Boxes of live processes, and dirs
        not named by :func:`_box_prefix`, are left alone."""
        removed = []
        directory = Path(self.tmp_dir or tempfile.gettempdir())
        mounted = _mount_points()
        for path in directory.glob("podium-box-*-*-*"):
            parts = path.name.split("-")
            try:
                pid, started = int(parts[2]), parts[3]
            except (IndexError, ValueError):
                continue
            if process_start_time(pid) == started:
                continue  # its judge process is alive
            try:
                if str(path) in mounted:
                    _unmount(path)
                remove_tree(path)
            except OSError as exc:
                log.warning("cannot remove the stale box %s: %s", path, exc)
                continue
            removed.append(path)
        if removed:
            log.info("removed %d box(es) of dead judge processes", len(removed))
        return removed

    def _prepare(self) -> _Setup:
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap is not installed (no bwrap on PATH): "
                                     "apt-get install bubblewrap")
        as_root = os.geteuid() == 0
        directory = cache_dir()
        if as_root and self._closed_dir(directory):  # e.g. a private data dir
            directory = ROOT_CACHE
        try:
            runguard = ensure_runguard()
            snapshot = self._snapshot(runguard, directory)
        except (RunguardBuildError, OSError) as exc:
            raise SandboxUnavailable(f"cannot prepare the sandbox: {exc}") from None
        if as_root and (closed := self._closed_dir(snapshot)):
            raise SandboxUnavailable(
                f"uid {self.uid} cannot reach {snapshot} ({closed} is closed to it): set "
                "PODIUM_RUNGUARD_DIR to a directory it can read")
        common = ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
                  "--new-session", "--as-pid-1", "--uid", str(self.uid), "--gid", str(self.gid),
                  "--hostname", "podium", "--ro-bind", "/usr", "/usr"]
        for top in _TOP_DIRS:
            if os.path.islink(top):
                common += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                common += ["--ro-bind", top, top]
        common += ["--ro-bind", str(snapshot), SNAPSHOT_IN_BOX,
                   "--symlink", f"{SNAPSHOT_IN_BOX}/etc", "/etc", "--proc", "/proc"]
        for device in _DEVICES:
            common += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
        common += ["--symlink", "/proc/self/fd", "/dev/fd"]
        for number, stream in enumerate(("stdin", "stdout", "stderr")):
            common += ["--symlink", f"/proc/self/fd/{number}", f"/dev/{stream}"]
        common += ["--size", str(self.tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp"]
        return _Setup(bwrap, runguard, snapshot, as_root, tuple(common))

    def _snapshot(self, runguard: Path, directory: Path) -> Path:
        """The read-only tree bound at /etc and /run/podium (see the module docstring)."""
        sources = sorted({p for pattern in _ETC for p in glob.glob(pattern)})
        digest = hashlib.sha256(f"{self.uid}:{self.gid}:{runguard.name}".encode())
        for path in _walk(sources):
            st = os.lstat(path)
            digest.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_mode}\0".encode())
        target = directory / f"sandbox-root-{digest.hexdigest()[:16]}"
        if target.is_dir():
            return target
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)
        tmp = Path(tempfile.mkdtemp(prefix=".sandbox-root-", dir=directory))
        try:
            os.chmod(tmp, 0o755)
            etc = tmp / "etc"
            etc.mkdir(mode=0o755)
            for source in sources:
                copy = etc / os.path.basename(source)
                if os.path.islink(source):
                    os.symlink(os.readlink(source), copy)
                elif os.path.isdir(source):
                    shutil.copytree(source, copy, symlinks=True)
                else:
                    shutil.copy2(source, copy)
            user = "nobody" if self.uid == 65534 else "judged"
            group = "nogroup" if self.gid == 65534 else "judged"
            (etc / "passwd").write_text(
                f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                f"{user}:x:{self.uid}:{self.gid}:{user}:/tmp:/usr/sbin/nologin\n")
            (etc / "group").write_text(f"root:x:0:\n{group}:x:{self.gid}:\n")
            for name in ("passwd", "group"):
                os.chmod(etc / name, 0o644)
            shutil.copy2(runguard, tmp / "runguard")
            os.rename(tmp, target)  # atomic; loses harmlessly to a concurrent builder
        except OSError:
            if not target.is_dir():
                raise
        finally:
            remove_tree(tmp)
        return target

    def _closed_dir(self, path: Path) -> Path | None:
        """As root, bwrap runs as ``uid``: the first existing directory on the way to ``path``
        that does not let it through, or None."""
        for directory in (*reversed(path.parents), path):
            try:
                st = os.stat(directory)
            except FileNotFoundError:
                return None  # made later by root with mode 0755
            if stat.S_ISDIR(st.st_mode) and not (
                    st.st_mode & stat.S_IXOTH
                    or (st.st_uid == self.uid and st.st_mode & stat.S_IXUSR)):
                return directory
        return None


_libc = ctypes.CDLL(None, use_errno=True)
_MS_NOSUID, _MS_NODEV, _MNT_DETACH = 2, 4, 2


def _box_prefix() -> str:
    """Box dirs carry their judge process (pid and start time): ``cleanup`` can tell a dead
    judge's boxes from a live one's."""
    pid = os.getpid()
    return f"podium-box-{pid}-{process_start_time(pid)}-"


def _mount_points() -> set[str]:
    """Mount points of this mount namespace (octal escapes of mountinfo decoded)."""
    points = set()
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", "rb") as info:
        for line in info:
            field = line.split(b" ")[4]
            points.add(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]),
                              field).decode(errors="replace"))
    return points


def _mount_tmpfs(path: Path, size: int, uid: int, gid: int) -> bool:
    """Mount a tmpfs of ``size`` bytes owned by uid:gid (0700) on ``path``; False when this
    process may not mount (no CAP_SYS_ADMIN)."""
    options = f"size={size},mode=0700,uid={uid},gid={gid}".encode()
    if _libc.mount(b"podium-box", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                   options) == 0:
        return True
    code = ctypes.get_errno()
    if code == errno.EPERM:
        return False
    raise OSError(code, f"cannot mount a tmpfs for the box: {os.strerror(code)}", str(path))


def _unmount(path: Path) -> None:
    """Unmount a box's tmpfs (lazily: nothing of the box runs any more)."""
    if _libc.umount2(os.fsencode(path), _MNT_DETACH) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"cannot unmount the box: {os.strerror(code)}", str(path))


def _walk(paths: list[str]) -> Iterator[str]:
    """The paths and, for real directories, everything under them (symlinks not followed)."""
    for path in paths:
        yield path
        if os.path.isdir(path) and not os.path.islink(path):
            for parent, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(dirs + files):
                    yield os.path.join(parent, name)


def _diagnose(error: str) -> str:
    """bwrap's complaint plus what this host's settings say about user namespaces."""
    def read(path: str) -> str | None:
        try:
            return Path(path).read_text().strip()
        except OSError:
            return None

    reasons = [f"bwrap cannot make a box: {error}"]
    if read("/proc/sys/user/max_user_namespaces") == "0":
        reasons.append("user namespaces are disabled (sysctl user.max_user_namespaces is 0)")
    if read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        reasons.append("unprivileged user namespaces are disabled "
                       "(sysctl kernel.unprivileged_userns_clone=1 enables them)")
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        reasons.append("AppArmor restricts unprivileged user namespaces (give bwrap a profile, "
                       "or sysctl kernel.apparmor_restrict_unprivileged_userns=0)")
    return "; ".join(reasons)
