"""Pick a sandbox backend by name and prove it works here before judging with it."""

from __future__ import annotations

from pathlib import Path

from judges.sandbox.base import Sandbox, SandboxUnavailable

__all__ = ["BACKENDS", "UNSAFE", "choose_sandbox", "diagnose"]

BACKENDS = ("bwrap", "docker")
UNSAFE = "unsafe"


def _make(name: str, data_dir: Path) -> Sandbox:
    if name == UNSAFE:
        from judges.sandbox.unsafe import UnsafeSandbox

        return UnsafeSandbox()
    if name == "bwrap":
        from judges.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    if name == "docker":
        from judges.sandbox.docker import DockerSandbox  # type: ignore[import-not-found]

        return DockerSandbox()  # type: ignore[no-any-return]
    raise SandboxUnavailable(f"unknown sandbox {name!r} (choose from {', '.join(BACKENDS)})")


async def diagnose(data_dir: Path) -> dict[str, str | None]:
    """Backend name -> None when it works here, else the reason it does not."""
    report: dict[str, str | None] = {}
    for name in BACKENDS:
        try:
            await choose_sandbox(name, data_dir)
            report[name] = None
        except SandboxUnavailable as exc:
            report[name] = str(exc)
    return report


async def choose_sandbox(name: str, data_dir: Path) -> Sandbox:
    """The named backend, checked; raises SandboxUnavailable saying why it cannot run.

    ``unsafe`` runs programs with rlimits only, no isolation: callers must demand an explicit
    ``--unsafe-no-sandbox`` before they ask for it.
    """
    try:
        sandbox = _make(name, data_dir)
    except ImportError as exc:
        raise SandboxUnavailable(f"the {name} sandbox is not available: {exc}") from None
    await sandbox.check()
    return sandbox
