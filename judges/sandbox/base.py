"""The sandbox protocol: what every backend (bubblewrap, Docker, ...) provides.

A *box* is one isolated work area for one submission: files are written into it, commands run
inside it under limits, and outputs are read back. The judge never runs untrusted code any
other way. Backends live beside this module; this module imports nothing from ``server``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Box", "Limits", "RunResult", "Sandbox", "SandboxError", "SandboxUnavailable"]


class SandboxUnavailable(RuntimeError):
    """The backend cannot work on this host; the message says why (for `judge doctor`)."""


class SandboxError(RuntimeError):
    """The sandbox itself failed during a run (a judge error, never the program's fault)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits of one run. Sizes in bytes, times in seconds."""

    cpu_seconds: float = 1.0
    wall_seconds: float = 3.0
    """Wall-clock backstop (a sleeping program uses no CPU)."""
    memory_bytes: int = 256 * 1024 * 1024
    processes: int = 64
    output_bytes: int = 64 * 1024 * 1024
    """Largest file the program may write (stdout is a file), and the stdout cap."""
    open_files: int = 64
    stack_bytes: int | None = None
    """None = unlimited: the stack grows until the address space or memory limit stops it
    (deep recursion is fine, runaway recursion is MLE), and threads get glibc's default stack
    size. A finite RLIMIT_STACK would also be every thread's stack reservation, so a program
    with a few threads would exhaust RLIMIT_AS at once."""
    address_space_bytes: int | None = None
    """Address space of every process (RLIMIT_AS); None = ``memory_bytes``, 0 = unlimited.

    ``memory_bytes`` always bounds the peak resident memory too. The JVM reserves far more
    address space than it touches (about 2 GiB even with a small heap): give Java a larger value
    (or 0) here and cap its heap with its own ``-Xmx``."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """What happened in one run."""

    exit_code: int | None
    """Exit status when the program exited normally, else None."""
    signal: int | None
    """The signal that ended the program, else None."""
    cpu_seconds: float
    wall_seconds: float
    memory_bytes: int
    """Peak resident memory."""
    output_bytes: int
    """Size of the captured stdout."""
    cpu_exceeded: bool = False
    wall_exceeded: bool = False
    memory_exceeded: bool = False
    output_exceeded: bool = False
    stderr: bytes = b""
    """The first KiB of stderr (for compile errors and debugging)."""
    extra: Mapping[str, object] = field(default_factory=dict)
    """Backend details: ``ended_at`` (``time.monotonic()`` when the run ended, which orders
    the two ends of an interactive run), ``vm_peak_bytes``, ``seccomp``, ``exec_error``..."""

    @property
    def ok(self) -> bool:
        return (self.exit_code == 0 and not self.cpu_exceeded and not self.wall_exceeded
                and not self.memory_exceeded and not self.output_exceeded)


@runtime_checkable
class Box(Protocol):
    """One submission's isolated work area."""

    async def write(self, name: str, data: bytes, *, executable: bool = False) -> None:
        """Create or replace a file in the work dir (``name`` is relative, no ``..``)."""

    async def read(self, name: str, *, limit: int) -> bytes:
        """Read at most ``limit`` bytes of a file in the work dir."""

    async def run(
        self,
        argv: Sequence[str],
        *,
        limits: Limits,
        stdin: str | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
        env: Mapping[str, str] | None = None,
        stdin_fd: int | None = None,
        stdout_fd: int | None = None,
    ) -> RunResult:
        """Run ``argv`` in the work dir under ``limits``.

        ``stdin``/``stdout``/``stderr`` name files in the work dir (None: /dev/null for stdin,
        discarded output). Never raises for what the program does; raises only when the sandbox
        itself fails (a judge error).

        ``stdin_fd``/``stdout_fd`` are host pipe ends given to the program instead of files
        (interactive problems: two runs connected by two pipes). The box takes ownership: it
        closes them once the program holds them, and also when it raises, so the other end sees
        end-of-file when the program exits. A backend that cannot pass descriptors raises
        SandboxError (the judge records a judge error).
        """


@runtime_checkable
class Sandbox(Protocol):
    """A sandbox backend."""

    name: str

    async def check(self) -> None:
        """Raise SandboxUnavailable (with the reason) if this backend cannot run here."""

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[Box]:
        """A fresh box; everything in it is gone when the context exits."""
