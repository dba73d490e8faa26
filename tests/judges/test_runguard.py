"""runguard on its own: the build cache, the command line, limits, the report, the clean-up;
and the unsafe backend, which is runguard alone behind the Box protocol.

These run the real binary directly, without bubblewrap (no namespaces: the clean-up relies on
runguard alone). Commands that could harm the host if they ran as root (fork bomb, daemon) are
started through ``runguard --exec-as`` as TEST_UID.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from judges.sandbox import runguard
from judges.sandbox.base import Box, Limits, Sandbox
from judges.sandbox.runguard import RunguardBuildError, ensure_runguard
from judges.sandbox.unsafe import UnsafeSandbox
from tests.judges.hostile import build, marked_processes, processes_of

MiB = 1024 * 1024
TEST_UID = random.SystemRandom().randrange(61000, 65000)  # ours alone, as in test_bwrap
MARK = f"podium-runguard-test-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def binary() -> Path:
    return ensure_runguard()


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture
def work() -> Iterator[Path]:
    """A work dir the unprivileged TEST_UID can reach and use (when the tests run as root);
    not under pytest's tmp dir, which is closed to other users."""
    parent = Path(tempfile.mkdtemp(prefix="podium-runguard-test-"))
    parent.chmod(0o711)
    path = parent / "work"
    path.mkdir()
    if os.geteuid() == 0:
        os.chown(path, TEST_UID, TEST_UID)
    yield path
    shutil.rmtree(parent)


def ids() -> str:
    return f"{TEST_UID}:{TEST_UID}" if os.geteuid() == 0 else f"{os.getuid()}:{os.getgid()}"


def guard(binary: Path, *options: str, cmd: list[str], cwd: Path, as_user: bool = True,
          **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """Run ``cmd`` under runguard (as TEST_UID when root); (runguard's status, its report)."""
    prefix = [str(binary), "--exec-as", ids(), "--"] if as_user else []
    result = subprocess.run([*prefix, str(binary), *options, "--", *cmd], cwd=cwd,
                            capture_output=True, check=False,
                            env={"PATH": "/usr/bin:/bin", "PODIUM_TEST_MARK": MARK}, **kwargs)
    return result.returncode, json.loads(result.stdout or b"{}")


def install(work: Path, programs: dict[str, bytes], name: str) -> list[str]:
    path = work / name
    path.write_bytes(programs[name])
    path.chmod(0o755)
    return [f"./{name}"]


# -- building ----------------------------------------------------------------------------------

def test_the_build_is_cached_by_the_source_hash(tmp_path: Path) -> None:
    first = ensure_runguard(tmp_path)
    built_at = first.stat().st_mtime_ns
    assert ensure_runguard(tmp_path) == first
    assert first.stat().st_mtime_ns == built_at
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary files left
    assert first.name.startswith("runguard-") and os.access(first, os.X_OK)


def test_an_edited_source_is_rebuilt(binary: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    edited = tmp_path / "runguard.c"
    edited.write_bytes(runguard.SOURCE.read_bytes() + b"/* edited */\n")
    monkeypatch.setattr(runguard, "SOURCE", edited)
    rebuilt = ensure_runguard(tmp_path)
    assert rebuilt.name != binary.name and rebuilt.is_file()
    edited.write_bytes(b"this is not C\n")
    monkeypatch.setattr(runguard, "SOURCE", edited)
    with pytest.raises(RunguardBuildError, match="cannot build"):
        ensure_runguard(tmp_path)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".runguard-")]


def test_a_prebuilt_binary_can_be_named(binary: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_RUNGUARD", str(binary))
    assert ensure_runguard(tmp_path) == binary
    monkeypatch.setenv("PODIUM_RUNGUARD", str(tmp_path / "missing"))
    with pytest.raises(RunguardBuildError, match="not an executable"):
        ensure_runguard(tmp_path)


def test_the_cache_dir_follows_the_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_RUNGUARD_DIR", str(tmp_path / "explicit"))
    assert runguard.cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("PODIUM_RUNGUARD_DIR")
    monkeypatch.setenv("PODIUM_DATA_DIR", str(tmp_path / "data"))
    assert runguard.cache_dir() == tmp_path / "data" / "cache"


# -- the command line and the report -----------------------------------------------------------

def test_exit_codes_and_signals(binary: Path, work: Path) -> None:
    status, report = guard(binary, cmd=["sh", "-c", "exit 3"], cwd=work)
    assert status == 0
    assert report["exit_code"] == 3 and report["signal"] is None and report["error"] is None
    _, report = guard(binary, cmd=["sh", "-c", "kill -SEGV $$"], cwd=work)
    assert report["exit_code"] is None and report["signal"] == signal.SIGSEGV
    assert set(report) >= {"cpu_seconds", "wall_seconds", "memory_bytes", "cpu_exceeded",
                           "wall_exceeded", "memory_exceeded", "output_bytes",
                           "output_exceeded"}


@pytest.mark.parametrize("options, message", [
    ((), "no command given"),
    (("--cpu", "fast"), "bad --cpu"),
    (("--mem", "-5"), "bad --mem"),
    (("--stdin", "missing.txt"), "cannot open missing.txt"),
    (("--report", "fd:99"), None),
])
def test_setup_errors_exit_2(binary: Path, work: Path, options: tuple[str, ...],
                             message: str | None) -> None:
    cmd = [] if not options else ["true"]
    result = subprocess.run([str(binary), *options, "--", *cmd], cwd=work, capture_output=True,
                            check=False)
    assert result.returncode == 2
    if message:
        assert message in json.loads(result.stdout)["error"]
        assert message in result.stderr.decode()


def test_a_missing_command_exits_127(binary: Path, work: Path) -> None:
    _, report = guard(binary, "--stderr", "err.txt", cmd=["./absent"], cwd=work)
    assert report["exit_code"] == 127
    assert "cannot execute ./absent" in report["exec_error"]
    assert b"./absent" in (work / "err.txt").read_bytes()


def test_redirections_and_descriptors(binary: Path, work: Path) -> None:
    (work / "in.txt").write_bytes(b"abc\n")
    report_r, report_w = os.pipe()
    with open(work.parent / "out.bin", "wb") as out:
        result = subprocess.run(
            [str(binary), "--stdin", "in.txt", "--stdout", f"fd:{out.fileno()}",
             "--report", f"fd:{report_w}", "--", "sh", "-c", "cat; ls /proc/self/fd"],
            cwd=work, pass_fds=(out.fileno(), report_w), capture_output=True, check=False)
    os.close(report_w)
    report = json.loads(os.read(report_r, 65536))
    os.close(report_r)
    output = (work.parent / "out.bin").read_bytes()
    assert result.returncode == 0 and result.stdout == b""
    assert report["exit_code"] == 0 and report["output_bytes"] == len(output)
    lines = output.split(b"\n")
    assert lines[0] == b"abc"
    assert sorted(lines[1:-1]) == [b"0", b"1", b"2", b"3"]  # 3: ls's own dir fd; no others


def test_an_output_symlink_is_not_followed(binary: Path, work: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (work / "out.txt").symlink_to(victim)
    status, report = guard(binary, "--stdout", "out.txt", cmd=["echo", "x"], cwd=work,
                           as_user=False)
    assert status == 2 and "cannot open out.txt" in report["error"]
    assert victim.read_bytes() == b"precious"


def test_exec_as_drops_to_the_given_ids(binary: Path, work: Path) -> None:
    result = subprocess.run([str(binary), "--exec-as", ids(), "--", "id", "-u"], cwd=work,
                            capture_output=True, check=True)
    assert result.stdout.decode().strip() == ids().split(":")[0]


# -- limits -------------------------------------------------------------------------------------

def test_cpu_limit(binary: Path, work: Path, programs: dict[str, bytes]) -> None:
    _, report = guard(binary, "--cpu", "0.3", "--wall", "5",
                      cmd=install(work, programs, "spin"), cwd=work)
    assert report["cpu_exceeded"] and report["signal"] == signal.SIGKILL
    assert 0.3 <= report["cpu_seconds"] <= 0.8 and not report["wall_exceeded"]


def test_wall_limit(binary: Path, work: Path) -> None:
    started = time.monotonic()
    _, report = guard(binary, "--wall", "0.3", cmd=["sleep", "10"], cwd=work)
    assert report["wall_exceeded"] and not report["cpu_exceeded"]
    assert 0.3 <= report["wall_seconds"] < 0.8 and time.monotonic() - started < 2


def test_output_limit(binary: Path, work: Path) -> None:
    _, report = guard(binary, "--fsize", "1000", "--stdout", "out",
                      cmd=["head", "-c", "5000", "/dev/zero"], cwd=work)
    assert report["output_exceeded"] and report["output_bytes"] == 1000
    assert report["signal"] == signal.SIGXFSZ
    assert (work / "out").stat().st_size == 1000


def test_address_space_limit(binary: Path, work: Path) -> None:
    # runguard sees the address space by sampling VmPeak every 10 ms: a program that races
    # to the limit and dies between two samples is caught by the judge's stderr heuristic
    # (MemoryError, see judges.sandbox.runguard.result_from_report), not here. This one grows
    # at 1 MiB per 2 ms, so a sample always sees it near the limit.
    (work / "bomb.py").write_bytes(b"import time\na = []\nwhile True:\n"
                                   b"    a.append(bytearray(1 << 20))\n    time.sleep(0.002)\n")
    _, report = guard(binary, "--mem", str(64 * MiB), "--wall", "5",
                      cmd=["python3", "bomb.py"], cwd=work)
    assert report["memory_exceeded"] and report["exit_code"] == 1, report
    assert report["memory_bytes"] <= 64 * MiB


def test_resident_memory_limit_with_unlimited_address_space(binary: Path, work: Path) -> None:
    # The JVM way: address space left alone, resident memory sampled and enforced.
    (work / "bomb.py").write_bytes(b"a = []\nwhile True:\n    a.append(bytearray(1 << 20))\n")
    _, report = guard(binary, "--mem", "0", "--rss", str(64 * MiB), "--wall", "5",
                      cmd=["python3", "bomb.py"], cwd=work)
    assert report["memory_exceeded"] and report["signal"] == signal.SIGKILL
    # Sampled every 10 ms: the overshoot is what the program touches in about one period,
    # ~22 MiB on a fast machine (1 MiB bytearrays at 2+ GB/s); still killed and reported.
    assert report["memory_bytes"] <= 64 * MiB + 40 * MiB


def test_nproc_contains_a_fork_bomb_and_nothing_is_left(
        binary: Path, work: Path, programs: dict[str, bytes]) -> None:
    _, report = guard(binary, "--nproc", "16", "--wall", "1", "--cpu", "1",
                      cmd=install(work, programs, "forkbomb"), cwd=work)
    assert report["wall_exceeded"] or report["cpu_exceeded"]
    assert marked_processes(MARK) == []
    if os.geteuid() == 0:
        assert processes_of(TEST_UID) == []


# -- clean-up and self-defence ------------------------------------------------------------------

def test_a_daemon_is_killed_without_any_namespace(binary: Path, work: Path,
                                                  programs: dict[str, bytes]) -> None:
    _, report = guard(binary, cmd=install(work, programs, "daemon"), cwd=work)
    assert report["exit_code"] == 0
    assert marked_processes(MARK) == []
    size = (work / "heartbeat").stat().st_size
    time.sleep(0.1)
    assert (work / "heartbeat").stat().st_size == size


def test_the_command_cannot_signal_or_trace_runguard(binary: Path, work: Path,
                                                     programs: dict[str, bytes]) -> None:
    _, report = guard(binary, "--stdout", "out", cmd=install(work, programs, "killer"),
                      cwd=work)
    assert report["exit_code"] == 0 and report["seccomp"] is True
    assert (work / "out").read_bytes() == b""


def test_sigterm_from_the_parent_stops_everything(binary: Path, work: Path,
                                                  programs: dict[str, bytes]) -> None:
    cmd = install(work, programs, "daemon")
    proc = subprocess.Popen([str(binary), "--exec-as", ids(), "--", str(binary), "--", "sh",
                             "-c", f"{cmd[0]}; sleep 100"], cwd=work, stdout=subprocess.PIPE,
                            env={"PATH": "/usr/bin:/bin", "PODIUM_TEST_MARK": MARK})
    deadline = time.monotonic() + 5
    while not (work / "heartbeat").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.terminate()
    out, _ = proc.communicate(timeout=5)
    assert proc.returncode == 2
    assert json.loads(out)["error"] == "runguard was terminated"
    assert marked_processes(MARK) == []



# -- the unsafe backend: runguard alone behind the Box protocol --------------------------------

async def test_the_unsafe_backend_runs_under_limits(programs: dict[str, bytes]) -> None:
    boxes = Path(tempfile.mkdtemp(prefix="podium-unsafe-test-"))
    boxes.chmod(0o711)
    try:
        sandbox = UnsafeSandbox(tmp_dir=boxes, uid=TEST_UID, gid=TEST_UID)
        assert isinstance(sandbox, Sandbox)
        await sandbox.check()
        env = {"PODIUM_TEST_MARK": MARK}
        async with sandbox.box() as box:
            assert isinstance(box, Box)
            await box.write("in.txt", b"5\n")
            result = await box.run(["sh", "-c", "read n; echo $((n * 2)); exit 3"],
                                   limits=Limits(), stdin="in.txt", stdout="out.txt", env=env)
            assert result.exit_code == 3
            assert await box.read("out.txt", limit=10) == b"10\n"
            await box.write("spin", programs["spin"], executable=True)
            result = await box.run(["./spin"], limits=Limits(cpu_seconds=0.3), env=env)
            assert result.cpu_exceeded and result.cpu_seconds < 0.8
            await box.write("daemon", programs["daemon"], executable=True)
            result = await box.run(["./daemon"], limits=Limits(), env=env)
            assert result.ok and marked_processes(MARK) == []
        assert list(boxes.iterdir()) == []
    finally:
        shutil.rmtree(boxes)
