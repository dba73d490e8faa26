"""Pick a sandbox backend by name and prove it works here before judging with it."""

from __future__ import annotations

from pathlib import Path

from judges.sandbox.base import Sandbox, SandboxUnavailable

__all__ = ["BACKENDS", "choose_sandbox"]

BACKENDS = ("bwrap", "docker")


def _make(name: str, data_dir: Path) -> Sandbox:
    if name == "bwrap":
        from judges.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    if name == "docker":
        from judges.sandbox.docker import DockerSandbox  # type: ignore[import-not-found]

        return DockerSandbox()  # type: ignore[no-any-return]
    raise SandboxUnavailable(f"unknown sandbox {name!r} (choose from {', '.join(BACKENDS)})")


async def choose_sandbox(name: str, data_dir: Path) -> Sandbox:
    """The named backend, checked; raises SandboxUnavailable saying why it cannot run."""
    try:
        sandbox = _make(name, data_dir)
    except ImportError as exc:
        raise SandboxUnavailable(f"the {name} sandbox is not available: {exc}") from None
    await sandbox.check()
    return sandbox
