"""`podium judge doctor` reports each sandbox backend with the reason it cannot run."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run


def test_doctor_names_every_backend(tmp_path: Path) -> None:
    result = run("judge", "doctor", data_dir=tmp_path)
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert set(lines) == {"bwrap", "docker"}
    assert lines["bwrap"] == "ok"  # bubblewrap is provisioned wherever the tests run
    assert lines["docker"] == "ok" or lines["docker"].startswith("unavailable: ")
    assert result.returncode == 0


def test_worker_help_offers_the_unsafe_flag_loudly(tmp_path: Path) -> None:
    result = run("worker", "--help", data_dir=tmp_path)
    assert "--unsafe-no-sandbox" in result.stdout and "WITHOUT isolation" in result.stdout
