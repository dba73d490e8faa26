"""`podium judge bench` runs end to end and prints its figures (no timing is asserted)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_cli import run


def test_bench_prints_the_figures(tmp_path: Path) -> None:
    result = run("judge", "bench", "--submissions", "3", "--tests", "2", "--workers", "1",
                 "--keep", str(tmp_path / "bench"), data_dir=tmp_path / "data", timeout=600)
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert "submissions: 3 × 2 tests, 1 worker(s) on bwrap; verdicts: AC 3" in out
    for pattern in (r"throughput: \d+\.\d\d submissions/s",
                    r"submit→verdict: median \d+\.\d\d s, p99 \d+\.\d\d s",
                    r"total: \d+\.\d\d s", r"worker peak RSS \(MB\): \d+\.\d",
                    r"server peak RSS \(MB\): \d+\.\d"):
        assert re.search(pattern, out), (pattern, out)
    peak = float(re.search(r"worker peak RSS \(MB\): (\d+\.\d)", out)[1])  # type: ignore[index]
    assert 10 < peak < 1000
    # --keep kept the server's data and every process's log
    assert (tmp_path / "bench" / "server" / "podium.sqlite3").is_file()
    assert "judging for http://127.0.0.1" in (tmp_path / "bench" / "worker-1.log").read_text()


def test_bench_rejects_bad_arguments(tmp_path: Path) -> None:
    result = run("judge", "bench", "--submissions", "0", data_dir=tmp_path)
    assert result.returncode == 2
    assert "0 is not in the range" in result.stderr
