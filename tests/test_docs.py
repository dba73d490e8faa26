"""The docs tell the truth: README commands, configuration table, CI entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_configuration_table_matches_the_settings() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "config_table.py"),
                             "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_quick_start_has_the_two_commands_and_ci_runs_the_test_one() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quick_start, re.S)
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci
    for script in ("demo.sh", "test.sh", "provision.sh"):
        assert (ROOT / "scripts" / script).is_file()


def test_readme_lists_every_builtin_plugin() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    block = pyproject.split("[project.entry-points.podium]", 1)[1].split("\n[", 1)[0]
    names = re.findall(r"^(\w+) = ", block, re.M)
    assert len(names) >= 6
    for name in names:
        assert f"`{name}`" in README, name
