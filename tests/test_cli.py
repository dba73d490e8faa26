"""The `podium` command, run as a user runs it: a separate process."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PODIUM = shutil.which("podium", path=str(Path(sys.executable).parent)) or "podium"
COMMANDS = [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"], ["db", "current"], ["user"],
            ["user", "create"], ["user", "token"], ["demo"], ["plugins"], ["judge"],
            ["judge", "add-host"], ["judge", "doctor"], ["problem", "import"],
            ["problem", "verify"], ["rejudge"]]


def run(*args: str, data_dir: Path, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    base.update({"PODIUM_DATA_DIR": str(data_dir), **(env or {})})
    return subprocess.run([PODIUM, *args], capture_output=True, text=True, env=base,
                          timeout=timeout)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "podium")
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = run(*command, "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: podium")
    assert len(result.stdout.splitlines()) > 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--port", "abc"], "'abc' is not a valid integer"),
        (["serve", "--port", "70000"], "70000 is not in the range"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["user", "create"], "Missing argument 'USERNAME'"),
        (["serve", "--bogus"], "No such option '--bogus'"),
        (["worker", "--server", "ftp://x", "--token", "t"], "--server must be an http"),
        (["user", "create", "x", "--admin", "--role", "jury"], "--admin and --role disagree"),
        (["rejudge"], "Missing argument 'CONTEST'"),
        (["rejudge", "spring", "--submission", "abc"], "'abc' is not a valid integer"),
        (["rejudge", "spring", "--submission", "0"], "0 is not in the range x>=1"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(args: list[str], message: str,
                                                  tmp_path: Path) -> None:
    result = run(*args, data_dir=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("podium: error: ")
    assert message in lines[0]
    assert result.stdout == ""


def test_production_mode_without_a_secret_is_refused(tmp_path: Path) -> None:
    result = run("db", "current", data_dir=tmp_path,
                 env={"PODIUM_REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert result.returncode == 2
    assert "PODIUM_SECRET_KEY is not set" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_settings_are_one_line(tmp_path: Path) -> None:
    result = run("db", "current", data_dir=tmp_path,
                 env={"PODIUM_DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 2
    assert result.stderr.startswith("podium: error: invalid settings: PODIUM_DATABASE_URL")


def test_db_upgrade_user_create_and_token(tmp_path: Path) -> None:
    upgraded = run("db", "upgrade", data_dir=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    from server import migrate

    assert f"database at {migrate.head()}" in upgraded.stdout
    assert run("db", "current", data_dir=tmp_path).stdout.strip() == migrate.head()

    created = run("user", "create", "root", "--admin", data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "created admin 'root'" in created.stdout
    password = created.stdout.split("password: ", 1)[1].strip()
    assert len(password) >= 12

    again = run("user", "create", "root", "--password", "another-password", data_dir=tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip() == "podium: error: user 'root' already exists"

    weak = run("user", "create", "eve", "--password", "short", data_dir=tmp_path)
    assert weak.returncode == 2 and "at least 8 characters" in weak.stderr

    token = run("user", "token", "root", data_dir=tmp_path)
    assert token.returncode == 0 and token.stdout.startswith("pod_")
    missing = run("user", "token", "nobody", data_dir=tmp_path)
    assert missing.returncode == 2 and "user 'nobody' does not exist" in missing.stderr

    with sqlite3.connect(tmp_path / "podium.sqlite3") as db:
        rows = db.execute("SELECT username, role FROM users").fetchall()
    assert rows == [("root", "admin")]


def test_plugins_lists_the_builtins(tmp_path: Path) -> None:
    result = run("plugins", data_dir=tmp_path)
    assert result.returncode == 0
    for name in ("points", "medals", "first_accepted", "json_snapshot", "exact", "languages"):
        assert any(line.split()[0] == name for line in result.stdout.splitlines()), name
    blocked = run("plugins", data_dir=tmp_path, env={"PODIUM_DISABLE_PLUGINS": "medals"})
    assert "medals           (skipped: in PODIUM_DISABLE_PLUGINS)" in blocked.stdout


def test_worker_reports_an_unreachable_server(tmp_path: Path) -> None:
    result = run("worker", "--server", "http://127.0.0.1:9", "--token", "t", data_dir=tmp_path)
    assert result.returncode == 2
    assert "cannot reach http://127.0.0.1:9" in result.stderr
