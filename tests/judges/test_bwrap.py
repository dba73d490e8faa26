"""What only the bubblewrap sandbox has: real bwrap, no mocks.

The behaviour both backends share (limits, isolation, hostile programs, the box's files) is
tested on both in test_hostile.py; here: nobody as the default uid, check()'s diagnostics, the
box on the host (a directory, as root a size-capped tmpfs) and its removal.

bwrap is required (scripts/provision.sh installs it): nothing here skips. The boxes of this
module live in their own directory and their programs run as a uid of their own (TEST_UID,
picked per session, not 65534, which judges and other test sessions on this host may be using
at the same time), so the leftover checks at the end of the module see only what these tests
started.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from judges.sandbox.base import Box, Limits, RunResult, SandboxUnavailable
from judges.sandbox.bwrap import BwrapBox, BwrapSandbox
from tests.judges.hostile import marked_processes, processes_of

MiB = 1024 * 1024
TEST_UID = random.SystemRandom().randrange(61000, 65000)
MARK = f"podium-bwrap-test-{uuid.uuid4().hex}"
FAST = Limits(cpu_seconds=1, wall_seconds=2, memory_bytes=256 * MiB, processes=16,
              output_bytes=4 * MiB)


def _mounts(under: Path) -> list[str]:
    """Mount points under ``under``, where this module's boxes are (as root, each is a tmpfs;
    judges and other tests working at the same time mount theirs elsewhere)."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return sorted(line.split()[4] for line in lines if line.split()[4].startswith(f"{under}/"))


@pytest.fixture(scope="module")
def boxes_dir() -> Iterator[Path]:
    # Not under pytest's tmp dir: as root, bwrap runs as TEST_UID and must be able to pass.
    path = Path(tempfile.mkdtemp(prefix="podium-test-boxes-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
async def sandbox(boxes_dir: Path) -> AsyncIterator[BwrapSandbox]:
    mounts = _mounts(boxes_dir)
    sandbox = BwrapSandbox(tmp_dir=boxes_dir, uid=TEST_UID, gid=TEST_UID)
    await sandbox.check()
    yield sandbox
    # After the whole module: nothing left behind.
    assert marked_processes(MARK) == []
    assert processes_of(TEST_UID) == []
    assert list(boxes_dir.iterdir()) == []
    assert _mounts(boxes_dir) == mounts == []
    assert sandbox.snapshot is not None
    shutil.rmtree(sandbox.snapshot)  # made for TEST_UID only


@pytest.fixture
async def box(sandbox: BwrapSandbox) -> AsyncIterator[Box]:
    async with sandbox.box() as box:
        yield box


async def run(box: Box, argv: list[str], limits: Limits = FAST, **kwargs: str) -> RunResult:
    return await box.run(argv, limits=limits, env={"PODIUM_TEST_MARK": MARK}, **kwargs)


async def test_the_default_sandbox_runs_programs_as_nobody() -> None:
    async with BwrapSandbox().box() as box:
        assert isinstance(box, Box)
        result = await run(box, ["sh", "-c", "id -u; id -g; pwd; echo $HOME $PATH"],
                           stdout="out")
        assert result.ok, result
        assert (await box.read("out", limit=1000)).decode().split() == [
            "65534", "65534", "/work", "/tmp", "/usr/local/bin:/usr/bin:/bin"]


async def test_check_says_why_bwrap_cannot_work(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    closed = tmp_path / "closed"
    closed.mkdir()
    closed.chmod(0)  # bwrap, running as TEST_UID, cannot reach a box made here (nor can a user)
    with pytest.raises(SandboxUnavailable, match="bwrap cannot make a box: .*closed"):
        await BwrapSandbox(tmp_dir=closed, uid=TEST_UID, gid=TEST_UID).check()
    closed.chmod(0o700)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="bubblewrap is not installed"):
        await BwrapSandbox().check()


# -- the box on the host ------------------------------------------------------------------------

async def test_the_work_dir_is_gone_after_the_box_even_on_errors(sandbox: BwrapSandbox,
                                                                 boxes_dir: Path) -> None:
    async with sandbox.box() as box:
        await box.write("a.txt", b"x")
        result = await run(box, ["sh", "-c", "mkdir -p d/e && touch d/e/f && chmod 000 d"])
        assert result.ok
        root = box_work(box).parent
        assert root.is_dir()
    assert not root.exists()
    with pytest.raises(RuntimeError, match="boom"):
        async with sandbox.box() as box:
            root = box_work(box).parent
            raise RuntimeError("boom")
    assert not root.exists()
    assert _mounts(boxes_dir) == []


async def test_as_root_a_box_is_a_tmpfs_of_work_bytes(sandbox: BwrapSandbox,
                                                      boxes_dir: Path) -> None:
    small = BwrapSandbox(tmp_dir=boxes_dir, uid=TEST_UID, gid=TEST_UID, work_bytes=4 * MiB)
    fill = "head -c 3000000 /dev/zero > a && head -c 3000000 /dev/zero > b"
    async with small.box() as box:
        root = box_work(box).parent
        mounted = [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                   if line.split()[4] == str(root)]
        result = await run(box, ["sh", "-c", fill], Limits(output_bytes=4 * MiB))
        if os.geteuid() == 0:
            assert len(mounted) == 1 and " tmpfs " in mounted[0], mounted
            assert "size=4096k" in mounted[0] and "nosuid" in mounted[0]
            assert result.exit_code != 0  # no space left: 6 MB in 4 MiB
        else:  # a plain directory: each file is bounded, not their sum
            assert mounted == [] and result.ok, result
    assert _mounts(boxes_dir) == [] and not root.exists()


def box_work(box: Box) -> Path:
    assert isinstance(box, BwrapBox)
    return box.work


def test_boxes_of_a_judge_killed_outright_are_removed_by_the_next_one(tmp_path: Path) -> None:
    """A judge killed with SIGKILL leaves its box dir (and, as root, its tmpfs mount); the
    next sandbox on the same temp dir removes it, and leaves a live judge's boxes alone."""
    import signal
    import subprocess
    import sys
    import time

    holder = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from judges.sandbox.bwrap import BwrapSandbox\n"
        "async def main():\n"
        f"    async with BwrapSandbox(tmp_dir=Path({str(tmp_path)!r})).box():\n"
        "        print('open', flush=True)\n"
        "        await asyncio.sleep(600)\n"
        "asyncio.run(main())\n")
    root = Path(__file__).resolve().parents[2]
    killed = subprocess.Popen([sys.executable, "-c", holder], cwd=root, stdout=subprocess.PIPE,
                              text=True)
    alive = subprocess.Popen([sys.executable, "-c", holder], cwd=root, stdout=subprocess.PIPE,
                             text=True)
    try:
        assert killed.stdout is not None and alive.stdout is not None
        assert killed.stdout.readline().strip() == "open"
        assert alive.stdout.readline().strip() == "open"
        boxes = sorted(tmp_path.glob("podium-box-*"))
        assert len(boxes) == 2
        dead_box = next(b for b in boxes if f"-{killed.pid}-" in b.name)
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=10)
        assert dead_box.exists()
        if os.geteuid() == 0:
            assert str(dead_box) in _mounts(tmp_path)
        removed = BwrapSandbox(tmp_dir=tmp_path).cleanup()
        assert removed == [dead_box]
        assert not dead_box.exists() and str(dead_box) not in _mounts(tmp_path)
        assert [b for b in tmp_path.glob("podium-box-*")] == [
            b for b in boxes if b != dead_box]  # the live judge's box stays
    finally:
        for process in (killed, alive):
            process.kill()
            process.wait(timeout=10)
            if process.stdout is not None:
                process.stdout.close()
        time.sleep(0.1)
        BwrapSandbox(tmp_dir=tmp_path).cleanup()
