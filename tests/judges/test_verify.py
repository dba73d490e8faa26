"""`podium problem verify` on the shared Kattis examples, with our own solutions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from judges.problems import load_package
from judges.verify import verify_package
from server.services import build_registry
from server.settings import Settings
from tests.judges.docker_images import (
    HostToolchainImage,
    docker_unavailable_reason,
    ensure_test_image,
    test_sandbox,
)
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "problems"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
VALIDATORS = Path(__file__).resolve().parent / "validators"
"""Our own output validators for the reference problems that need one (the shared data has
none): merged into the package root."""


def _package(tmp_path: Path, name: str) -> Path:
    """The reference package with our submissions/ (and validator, if it needs one) added."""
    if not (REFERENCE / name).is_dir():
        pytest.fail(f"the shared reference problem {name} is missing at {REFERENCE}",
                    pytrace=False)
    target = tmp_path / name
    shutil.copytree(REFERENCE / name, target)
    shutil.copytree(SOLUTIONS / name, target / "submissions")
    if (VALIDATORS / name).is_dir():
        shutil.copytree(VALIDATORS / name, target, dirs_exist_ok=True)
    return target


@pytest.mark.parametrize("problem", ["hello", "oddecho", "different", "guess"])
def test_verify_passes_with_our_solutions(problem: str, tmp_path: Path) -> None:
    package = _package(tmp_path, problem)
    result = run("problem", "verify", str(package), "--json", data_dir=tmp_path / "data",
                 timeout=600)
    rows = json.loads(result.stdout)
    assert result.returncode == 0, json.dumps([r for r in rows if not r["ok"]], indent=1)
    languages = {Path(r["submission"]).suffix for r in rows}
    assert {".py", ".cpp", ".java"} <= languages
    verdicts = {r["verdict"] for r in rows}
    assert verdicts == {"AC", "WA", "TLE", "RTE"}
    keys = {"submission", "expected", "verdict", "time_s", "memory_kb", "ok"}
    for row in rows:
        assert set(row) == (keys | {"score"} if problem == "oddecho" else keys)
        assert row["submission"].startswith("submissions/")
    if problem == "oddecho":  # scoring: two subtasks of 50 points
        scores = {r["submission"].split("/")[1]: set() for r in rows}
        for row in rows:
            scores[row["submission"].split("/")[1]].add(row["score"])
        assert scores["accepted"] == {100}
        assert scores["partially_accepted"] == {50}
        assert scores["wrong_answer"] == {0}


def test_verify_checks_scores_of_a_scoring_problem(tmp_path: Path) -> None:
    """A "partial" solution that gets every point, or a score other than its
    @EXPECTED_SCORE@ header, is a mismatch."""
    package = _package(tmp_path, "oddecho")
    submissions = package / "submissions"
    for path in list(submissions.rglob("*")):
        if path.is_file() and path.name not in ("echo.py", "five.py"):
            path.unlink()
    shutil.copy(submissions / "accepted" / "echo.py",
                submissions / "partially_accepted" / "too_good.py")
    (submissions / "partially_accepted" / "claims_100.py").write_bytes(
        b"# @EXPECTED_SCORE@: 100\n" + (submissions / "partially_accepted" / "five.py"
                                         ).read_bytes())
    result = run("problem", "verify", str(package), "--json", data_dir=tmp_path / "data",
                 timeout=600)
    assert result.returncode == 1
    rows = {Path(r["submission"]).name: r for r in json.loads(result.stdout)}
    assert rows["echo.py"]["ok"] and rows["five.py"]["ok"]
    assert rows["too_good.py"]["score"] == 100 and not rows["too_good.py"]["ok"]
    assert rows["claims_100.py"]["score"] == 50 and not rows["claims_100.py"]["ok"]


def test_verify_reports_a_mismatch_with_exit_1(tmp_path: Path) -> None:
    package = _package(tmp_path, "hello")
    shutil.copy(SOLUTIONS / "hello" / "wrong_answer" / "wrong.py",
                package / "submissions" / "accepted" / "not_really.py")
    result = run("problem", "verify", str(package), data_dir=tmp_path / "data", timeout=600)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if "not_really.py" in x)
    assert " AC " in line and " WA " in line and line.rstrip().endswith("NO")
    assert "as expected" in result.stdout.splitlines()[-1]


@pytest.mark.docker
@pytest.mark.parametrize("problem", ["different", "guess"])
async def test_validators_run_on_the_docker_backend_too(problem: str, tmp_path: Path) -> None:
    """The custom validator and the interactive one (host pipes relayed through the exec
    stream) on Docker, with production-hardened boxes of the host-toolchain test image."""
    reason = docker_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    import docker

    engine = docker.from_env()
    try:
        ensure_test_image(engine)
    finally:
        engine.close()
    package = _package(tmp_path, problem)
    for path in (package / "submissions").rglob("*.java"):
        path.unlink()  # Python and C++ are enough here: the JVM costs seconds per run
    registry = build_registry(Settings(data_dir=tmp_path / "data"))
    sandbox = test_sandbox(program_uids=range(64920, 64952))
    try:
        with load_package(package) as loaded:
            _, rows = await verify_package(
                loaded, sandbox=HostToolchainImage(sandbox),
                languages=registry.languages.items, checkers=registry.checkers.items)
    finally:
        await sandbox.aclose()
    assert [r for r in rows if not r.ok] == []
    assert {r.verdict for r in rows} == {"AC", "WA", "TLE", "RTE"}
