"""No isolation at all: runguard's limits and accounting, nothing else. NEVER for contests.

For development on machines without bubblewrap, and only behind an explicit
``--unsafe-no-sandbox`` flag: the program sees the whole host file system and network with the
judge's rights (when the judge is root, runguard first drops to ``uid``/``gid``, so the program
is at least not root). Limits, verdict inputs, output caps and the killing of every descendant
at the end work as in the bwrap sandbox; a file the program writes outside its work dir stays.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from judges.sandbox.base import Limits, SandboxError, SandboxUnavailable
from judges.sandbox.runguard import (
    SANDBOX_ENV,
    DirBox,
    RunguardBuildError,
    ensure_runguard,
    remove_tree,
)

__all__ = ["UnsafeBox", "UnsafeSandbox"]


class UnsafeBox(DirBox):
    """A private work dir whose runs go through runguard only."""

    def __init__(self, sandbox: UnsafeSandbox, runguard: Path, root: Path) -> None:
        as_root = os.geteuid() == 0
        super().__init__(root, (sandbox.uid, sandbox.gid) if as_root else None)
        self.runguard_path = str(runguard)
        self._prefix = ([str(runguard), "--exec-as", f"{sandbox.uid}:{sandbox.gid}", "--"]
                        if as_root else [])

    def _wrap(self, command: list[str], env: Mapping[str, str] | None
              ) -> tuple[list[str], Path | None, dict[str, str]]:
        return [*self._prefix, *command], self.work, {**SANDBOX_ENV, **(env or {})}


class UnsafeSandbox:
    """runguard without namespaces (see the module docstring)."""

    name = "unsafe"

    def __init__(self, *, tmp_dir: Path | None = None, uid: int = 65534,
                 gid: int = 65534) -> None:
        self.tmp_dir = tmp_dir
        self.uid = uid
        self.gid = gid
        self._runguard: Path | None = None

    async def _ready(self) -> Path:
        if self._runguard is None:
            try:
                self._runguard = await asyncio.to_thread(ensure_runguard)
            except (RunguardBuildError, OSError) as exc:
                raise SandboxUnavailable(f"cannot build runguard: {exc}") from None
        return self._runguard

    async def check(self) -> None:
        await self._ready()
        try:
            async with self.box() as box:
                result = await box.run(["true"], limits=Limits(cpu_seconds=5, wall_seconds=20))
        except (SandboxError, OSError) as exc:
            raise SandboxUnavailable(f"runguard cannot run here: {exc}") from None
        if result.exit_code != 0:
            raise SandboxUnavailable(f"`true` failed under runguard: {result}")

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[UnsafeBox]:
        return self._box()

    @asynccontextmanager
    async def _box(self) -> AsyncIterator[UnsafeBox]:
        runguard = await self._ready()
        root = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="podium-unsafe-",
                                            dir=self.tmp_dir))
        try:
            (root / "work").mkdir(mode=0o700)
            if os.geteuid() == 0:
                for path in (root, root / "work"):
                    os.chown(path, self.uid, self.gid)
            yield UnsafeBox(self, runguard, root)
        finally:
            await asyncio.to_thread(remove_tree, root)
