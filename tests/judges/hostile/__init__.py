"""Hostile programs for the sandbox tests, and the helpers that build them and find leftovers.

The ``*.c`` files are compiled on the host (``gcc -O2 -static``, in parallel) and written into
boxes as executables; the ``*.py`` files run with the box's ``python3``. Every run in the tests
carries ``PODIUM_TEST_MARK=<mark>`` in its environment, so a process that outlived its run can
be found by that mark (whatever its uid), as well as by the sandbox's uid.

``submissions/`` holds the hostile submissions of tests/judges/test_hostile.py: sources judged
through the whole pipeline (compiled in the box by the language's own command), one attack each.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Collection
from pathlib import Path

__all__ = ["HERE", "build", "marked_processes", "processes_of", "processes_of_uids", "source"]

HERE = Path(__file__).resolve().parent


def source(name: str) -> bytes:
    return (HERE / name).read_bytes()


def build(out: Path) -> dict[str, bytes]:
    """Every C program here, compiled statically: {"spin": b"\\x7fELF...", ...}."""
    jobs = {}
    for c_file in sorted(HERE.glob("*.c")):
        binary = out / c_file.stem
        jobs[c_file.stem] = (binary, subprocess.Popen(
            ["gcc", "-O2", "-static", "-o", str(binary), str(c_file)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    programs = {}
    for name, (binary, proc) in jobs.items():
        output = proc.communicate()[0]
        assert proc.returncode == 0, f"gcc {name}.c failed:\n{output.decode()}"
        programs[name] = binary.read_bytes()
    return programs


def _status(pid: str) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def marked_processes(mark: str) -> list[str]:
    """Live (non-zombie) processes whose environment holds ``mark``: 'pid name' strings."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if mark.encode() not in Path(f"/proc/{pid}/environ").read_bytes():
                continue
            status = _status(pid)
        except OSError:
            continue
        if not status.get("State", "").startswith("Z"):
            found.append(f"{pid} {status.get('Name')}")
    return found


def processes_of(uid: int) -> list[str]:
    """Live processes whose real uid is ``uid`` (what ``pgrep -u UID`` lists): 'pid name'."""
    return processes_of_uids([uid])


def processes_of_uids(uids: Collection[int]) -> list[str]:
    """Live processes whose real uid is one of ``uids`` (one pass over /proc): 'pid name'."""
    wanted = {str(uid) for uid in uids}
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = _status(pid)
        except OSError:
            continue
        uid = status.get("Uid", "").split()[:1]
        if uid and uid[0] in wanted and not status.get("State", "").startswith("Z"):
            found.append(f"{pid} {status.get('Name')}")
    return found
