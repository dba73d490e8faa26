"""`podium judge selftest`, and JavaScript and Rust judged for real.

Real sandboxes (bubblewrap; Docker with the host-toolchain test image), real compilers and
runtimes (/usr/bin/node, /usr/bin/rustc: scripts/provision.sh installs them), the real judge
pipeline (judges.judge.judge). The broken languages are a real plugin
(tests/judges/broken_languages.py), found through its entry point by the `podium` command.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from judges.checkers.exact import ExactChecker
from judges.judge import judge
from judges.languages.basic import JavaScript, Rust
from judges.sandbox.base import Box
from judges.sandbox.bwrap import BwrapSandbox
from judges.sandbox.docker import DockerSandbox
from judges.selftest import SELFTEST_INPUT, format_table, run_selftest
from server.components import Language
from server.judge_protocol import Job, JobFile
from server.judge_protocol import TestCaseSpec as CaseSpec
from server.services import build_registry
from server.settings import Settings
from tests.judges.broken_languages import BrokenEcho, NoCompiler
from tests.judges.docker_images import (
    HostToolchainImage,
    docker_unavailable_reason,
    ensure_test_image,
    test_sandbox,
)
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[2]
SIX = {"python3", "c", "cpp", "java", "javascript", "rust"}
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/podium-selftest.sock"}
"""An engine that is certainly unreachable: the docker backend is unavailable."""


def _rows(stdout: str) -> dict[str, dict[str, Any]]:
    report = json.loads(stdout)
    return {f"{r['language']}/{r['backend']}": r for r in report["results"]}


# -- the command on bubblewrap -----------------------------------------------------------------


def test_selftest_passes_for_every_language_on_bwrap(tmp_path: Path) -> None:
    result = run("judge", "selftest", "--backend", "bwrap", "--json", data_dir=tmp_path,
                 timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["unavailable"] == {}
    rows = _rows(result.stdout)
    assert {key.split("/")[0] for key in rows} >= SIX
    for key, row in rows.items():
        assert (row["backend"], row["verdict"], row["ok"], row["message"]) == (
            "bwrap", "AC", True, ""), key
        assert row["time_ms"] is not None and 0 <= row["time_ms"] < 5000
    versions = {name: rows[f"{name}/bwrap"]["version"] for name in SIX}
    assert versions["python3"].startswith("Python 3.")
    assert versions["c"].startswith("gcc ") and versions["cpp"].startswith("g++ ")
    assert "version" in versions["java"]
    assert versions["javascript"].startswith("v")
    assert versions["rust"].startswith("rustc 1.")


def test_the_table_names_an_unavailable_backend_and_still_passes(tmp_path: Path) -> None:
    result = run("judge", "selftest", "--language", "rust", "--language", "javascript",
                 data_dir=tmp_path, env=NO_DOCKER, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["language", "backend", "version", "verdict", "time"]
    assert [line.split()[:2] for line in lines[1:3]] == [["javascript", "bwrap"],
                                                         ["rust", "bwrap"]]
    assert all(" AC " in line and line.endswith(" ms") for line in lines[1:3])
    assert lines[3].startswith("docker unavailable: the Docker engine is unreachable")
    assert len(lines) == 4


def _install_broken_plugin(tmp_path: Path) -> dict[str, str]:
    """A .dist-info whose entry point registers tests/judges/broken_languages.py."""
    info = tmp_path / "site" / "podium_selftest_broken-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: podium-selftest-broken\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[podium]\nselftest_broken = tests.judges.broken_languages\n")
    path = [str(tmp_path / "site"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in path if p)}


def test_a_broken_language_plugin_fails_with_exit_1_and_is_named(tmp_path: Path) -> None:
    result = run("judge", "selftest", "--backend", "bwrap", "--language", "python3",
                 "--language", "brokenecho", "--language", "nocompiler",
                 data_dir=tmp_path / "data", env=_install_broken_plugin(tmp_path), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    table = {line.split()[0]: line for line in result.stdout.splitlines()[1:4]}
    assert " AC " in table["python3"]
    assert " WA " in table["brokenecho"]
    assert " CE " in table["nocompiler"] and " ? " in table["nocompiler"]
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED ")]
    assert [line.split()[1] for line in failed] == ["brokenecho", "nocompiler"]
    assert "wrong output: first difference at line 1, column 2" in failed[0]
    assert "podium-no-such-compiler" in failed[1]


def test_an_unknown_backend_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run("judge", "selftest", "--backend", "chroot", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("podium: error: ")
    assert "'chroot' is not one of 'bwrap', 'docker', 'all'" in lines[0]


def test_asking_for_an_unavailable_backend_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run("judge", "selftest", "--backend", "docker", data_dir=tmp_path, env=NO_DOCKER)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("podium: error: the docker sandbox is unavailable: the Docker "
                               "engine is unreachable at unix:///nonexistent/")


def test_an_unknown_language_exits_2(tmp_path: Path) -> None:
    result = run("judge", "selftest", "--backend", "bwrap", "--language", "cobol",
                 data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("podium: error: no language named 'cobol' (have: ")


# -- the module, in process --------------------------------------------------------------------


class Silent(Language):
    """A language plugin that gives no self-test program: nothing proves it works."""

    name = "silent"
    source_file = "main.txt"
    run_command = ("cat", "{main}")
    version_command = ("cat", "--version")


@pytest.fixture(scope="module")
async def bwrap() -> BwrapSandbox:
    sandbox = BwrapSandbox()
    await sandbox.check()
    return sandbox


async def test_run_selftest_reports_each_failure_with_its_reason(bwrap: BwrapSandbox) -> None:
    languages: dict[str, Language] = {lang.name: lang
                                      for lang in (BrokenEcho(), NoCompiler(), Silent())}
    report = await run_selftest(languages, {"bwrap": bwrap}, {"docker": "not here"})
    assert not report.ok
    rows = {row.language: row for row in report.rows}
    echo, missing, silent = rows["brokenecho"], rows["nocompiler"], rows["silent"]
    assert (echo.verdict, echo.ok) == ("WA", False)
    assert echo.version is not None and echo.version.startswith("Python 3.")
    assert echo.message == "wrong output: first difference at line 1, column 2"
    assert (missing.verdict, missing.version, missing.ok) == ("CE", None, False)
    assert missing.message.startswith("`podium-no-such-compiler --version` failed")
    assert (silent.verdict, silent.time_ms, silent.ok) == ("-", None, False)
    assert silent.message == "the language has no selftest_source"
    lines = format_table(report)
    assert [line.split()[1] for line in lines if line.startswith("FAILED")] == [
        "brokenecho", "nocompiler", "silent"]
    assert lines[-1] == "docker unavailable: not here"
    assert report.as_json()["ok"] is False


async def test_the_selftest_input_is_a_few_lines_echoed_byte_for_byte() -> None:
    assert SELFTEST_INPUT.count(b"\n") >= 3 and SELFTEST_INPUT.endswith(b"\n")
    assert SELFTEST_INPUT.decode("utf-8") != SELFTEST_INPUT.decode("latin-1")  # not only ASCII


# -- the command's logic on Docker ------------------------------------------------------------

DOCKER_UNAVAILABLE = docker_unavailable_reason()


@pytest.fixture(scope="module")
async def docker_sandbox() -> AsyncIterator[HostToolchainImage]:
    import docker

    engine = docker.from_env()
    try:
        ensure_test_image(engine)
    finally:
        engine.close()
    sandbox = test_sandbox(program_uids=range(64880, 64912))
    await sandbox.check()
    yield HostToolchainImage(sandbox)
    await sandbox.aclose()


@pytest.mark.docker
@pytest.mark.skipif(DOCKER_UNAVAILABLE is not None,
                    reason=f"no usable Docker engine: {DOCKER_UNAVAILABLE}")
async def test_selftest_passes_for_every_language_on_docker(
        docker_sandbox: HostToolchainImage, tmp_path: Path) -> None:
    languages = build_registry(Settings(data_dir=tmp_path)).languages.items
    report = await run_selftest(languages, {"docker": docker_sandbox})
    assert report.ok, "\n".join(format_table(report))
    assert {row.language for row in report.rows} >= SIX
    assert {(row.backend, row.verdict) for row in report.rows} == {("docker", "AC")}
    versions = {row.language: row.version or "" for row in report.rows}
    assert versions["javascript"].startswith("v") and versions["rust"].startswith("rustc 1.")


@pytest.mark.docker
@pytest.mark.skipif(DOCKER_UNAVAILABLE is not None,
                    reason=f"no usable Docker engine: {DOCKER_UNAVAILABLE}")
async def test_a_broken_language_fails_on_docker_too(
        docker_sandbox: HostToolchainImage) -> None:
    report = await run_selftest({"brokenecho": BrokenEcho(), "rust": Rust()},
                                {"docker": docker_sandbox})
    assert [(row.language, row.verdict, row.ok) for row in report.rows] == [
        ("brokenecho", "WA", False), ("rust", "AC", True)]


# -- JavaScript and Rust through the judge ------------------------------------------------------

SUM_INPUT = b"4\n1 2 3 4\n"
SUM_ANSWER = b"10\n"
JS_SUM = ("const v = require('fs').readFileSync(0, 'utf8').trim().split(/\\s+/).map(Number);\n"
          "let s = 0;\nfor (let i = 1; i <= v[0]; i++) s += v[i];\n")
RS_SUM = ("use std::io::Read;\nfn main() {\n    let mut s = String::new();\n"
          "    std::io::stdin().read_to_string(&mut s).unwrap();\n"
          "    let v: Vec<i64> = s.split_whitespace().map(|t| t.parse().unwrap()).collect();\n"
          "    let sum: i64 = v[1..=v[0] as usize].iter().sum();\n")
PROGRAMS = {
    "javascript": {
        "AC": JS_SUM + "console.log(s);\n",
        "WA": JS_SUM + "console.log(s + 1);\n",
        "RTE": JS_SUM + "console.log(null.length);\n",
        "TLE": JS_SUM + "while (s > 0) { s = (s * 7 + 3) % 1000003 + 1; }\nconsole.log(s);\n",
        "CE": JS_SUM + "console.log(s;\n",
        "MLE": JS_SUM + "const a = [];\nfor (;;) a.push(new Array(100000).fill(s + 0.5));\n",
    },
    "rust": {
        "AC": RS_SUM + "    println!(\"{}\", sum);\n}\n",
        "WA": RS_SUM + "    println!(\"{}\", sum * 2);\n}\n",
        "RTE": RS_SUM + "    println!(\"{}\", v[sum as usize]);\n}\n",
        "TLE": RS_SUM + ("    let mut x = sum as u64;\n    while x != 0 {\n"
                         "        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);\n"
                         "    }\n    println!(\"{}\", x);\n}\n"),
        "CE": RS_SUM + "    let wrong: i32 = \"sum\";\n    println!(\"{}\", sum + wrong);\n}\n",
        "MLE": RS_SUM + ("    let mut all: Vec<Vec<i64>> = Vec::new();\n"
                         "    loop { all.push(vec![sum; 1 << 17]); }\n}\n"),
    },
}


TEST_DATA = {hashlib.sha256(data).hexdigest(): data for data in (SUM_INPUT, SUM_ANSWER)}


@pytest.mark.parametrize("verdict", ["AC", "WA", "RTE", "TLE", "CE", "MLE"])
@pytest.mark.parametrize("language", [JavaScript(), Rust()], ids=lambda lang: lang.name)
async def test_javascript_and_rust_are_judged(language: Language, verdict: str,
                                              bwrap: BwrapSandbox) -> None:
    source = PROGRAMS[language.name][verdict]
    job = Job(job_id=f"js-rs-{language.name}-{verdict}", submission_id=1,
              language=language.name, files=[JobFile.of(language.source_file, source.encode())],
              time_limit_ms=1000, memory_limit_mb=256, output_limit_kb=1024, checker="exact",
              tests=[CaseSpec(id=1, name="sum",
                              input_hash=hashlib.sha256(SUM_INPUT).hexdigest(),
                              answer_hash=hashlib.sha256(SUM_ANSWER).hexdigest())])

    async def read_blob(digest: str) -> bytes:
        return TEST_DATA[digest]

    result = await judge(job, sandbox=bwrap, languages={language.name: language},
                         checkers={"exact": ExactChecker()}, read_blob=read_blob)
    assert result.verdict.value == verdict, (result.error, result.compile_output, result.runs)
    if verdict == "CE":
        assert result.runs == []
        assert ("SyntaxError" if language.name == "javascript" else "error[E0308]"
                ) in result.compile_output
        return
    (run_report,) = result.runs
    limit_ms = 1000 * language.time_multiplier
    if verdict == "TLE":  # RLIMIT_CPU and rusage count CPU time apart: ~12% off seen here
        assert run_report.cpu_ms is not None and run_report.cpu_ms >= limit_ms * 0.5
    else:
        assert run_report.cpu_ms is not None and run_report.cpu_ms < limit_ms
    if verdict == "MLE":
        assert run_report.memory_kb is not None and run_report.memory_kb >= 200 * 1024
    if verdict == "RTE":
        assert run_report.exit_code not in (0, None) or run_report.signal is not None
    if verdict == "WA":
        assert run_report.checker_message.startswith("first difference at line 1, column ")
