"""Importing problem packages: rows, blobs, contest links, and nothing stored on failure."""

from __future__ import annotations

from pathlib import Path

import shutil

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from judges.problems import PackageError, load_package
from server import models
from server.actions.errors import Conflict
from server.actions.judging import blob_store
from server.actions.problems import import_package
from server.models import ContestProblem, Problem
from server.services import Services
from tests.factories import make_world
from tests.test_cli import run

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "problems"
PACKAGES = ROOT / "tests" / "judges" / "packages"
VALIDATORS = ROOT / "tests" / "judges" / "validators"


@pytest.fixture(scope="module", autouse=True)
def reference_present() -> None:
    if not (REFERENCE / "hello").is_dir():
        pytest.fail(f"the shared reference problems are missing at {REFERENCE}", pytrace=False)


async def _count(services: Services, model: type) -> int:
    async with services.db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_a_scoring_package_with_groups(services: Services) -> None:
    with load_package(REFERENCE / "oddecho") as package:
        report = await import_package(services, package)
    problem = report.problem
    assert (problem.slug, problem.checker, problem.stop_on_first_failure) == (
        "oddecho", "tokens", False)
    assert report.test_cases == 18 and report.groups == 4
    assert any("no time limit" in w for w in report.warnings)
    async with services.db.session() as session:
        groups = {g.name: g for g in await session.exec(
            select(models.TestGroup).where(models.TestGroup.problem_id == problem.id))}
        cases = list(await session.exec(
            select(models.TestCase).where(models.TestCase.problem_id == problem.id)
            .order_by(col(models.TestCase.ordinal))))
    assert {name: g.points for name, g in groups.items()} == {
        "sample": 0, "secret": 100, "secret/subtask1": 50, "secret/subtask2": 50}
    assert groups["secret/subtask1"].parent_id == groups["secret"].id
    assert cases[0].is_sample and cases[0].name.startswith("sample/")
    store = blob_store(services)
    first = next(c for c in package.test_cases if c.name == cases[0].name)
    assert store.read(cases[0].input_hash) == first.input.read_bytes()
    assert cases[0].input_size == first.input.stat().st_size


async def test_import_into_a_contest_and_conflicts(services: Services) -> None:
    await make_world(services, problems=(("A", 100.0),))
    with load_package(REFERENCE / "hello") as package:
        report = await import_package(services, package, contest="spring", points=50)
        assert report.problem.title == "Hello World!"
        with pytest.raises(Conflict, match="already exists"):
            await import_package(services, package, contest="spring")
    async with services.db.session() as session:
        links = list(await session.exec(select(ContestProblem).order_by(
            col(ContestProblem.label))))
    assert [(link.label, link.points) for link in links] == [("A", 100.0), ("B", 50.0)]
    assert await _count(services, Problem) == 2


async def test_a_legacy_package_with_a_timelimit_file(services: Services) -> None:
    with load_package(PACKAGES / "legacy_full") as package:
        report = await import_package(services, package, slug="legacy")
        declared = package.limits.time_limit
    assert declared is not None
    assert report.problem.time_limit_ms == round(declared * 1000)
    assert not any("no time limit" in w for w in report.warnings)


def test_the_cli_imports_and_rejects_bad_packages(tmp_path: Path) -> None:
    without = run("problem", "import", str(REFERENCE / "different"), data_dir=tmp_path)
    assert without.returncode == 2
    assert "own validator and has none" in without.stderr
    package = tmp_path / "different"
    shutil.copytree(REFERENCE / "different", package)
    shutil.copytree(VALIDATORS / "different", package, dirs_exist_ok=True)
    ok = run("problem", "import", str(package), data_dir=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "imported 'different' (A Different Problem): 3 test cases" in ok.stdout
    assert "custom" in ok.stdout
    bad = run("problem", "import", str(PACKAGES / "bad_yaml"), data_dir=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.startswith("podium: error: ") and "problem.yaml" in bad.stderr
    missing = run("problem", "import", str(tmp_path / "nope"), data_dir=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    again = run("problem", "import", str(package), data_dir=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_a_broken_package_never_half_imports() -> None:
    with pytest.raises(PackageError):
        load_package(PACKAGES / "no_data")


def test_symlinks_checked_out_as_files_are_followed(tmp_path: Path) -> None:
    """oddecho's subtask2 reuses subtask1's cases through git symlinks stored as text."""
    with load_package(REFERENCE / "oddecho") as package:
        case = next(c for c in package.test_cases if c.name == "secret/subtask2/1")
        assert case.input.read_bytes() == (REFERENCE / "oddecho/data/secret/subtask1/1.in"
                                           ).read_bytes()
        assert case.answer.name == "1.ans" and case.answer.parent.name == "subtask1"
    package_dir = tmp_path / "p"
    (package_dir / "data" / "secret").mkdir(parents=True)
    (package_dir / "problem.yaml").write_text("name: Links\n")
    secret = package_dir / "data" / "secret"
    (secret / "a.in").write_text("1 2\n")
    (secret / "a.ans").write_text("3\n")
    (secret / "b.in").write_text("a.in\n")          # a link checked out as a file
    (secret / "b.ans").write_text("a.ans")
    (secret / "c.in").write_text("../../../etc.in")  # leads outside: stays plain data
    (secret / "c.ans").write_text("x\n")
    with load_package(package_dir) as package:
        cases = {c.name: c for c in package.test_cases}
    assert cases["secret/b"].input.name == "a.in" and cases["secret/b"].answer.name == "a.ans"
    assert cases["secret/c"].input.name == "c.in"


async def test_a_latex_statement_becomes_html_with_pandoc(services: Services,
                                                          tmp_path: Path) -> None:
    package = tmp_path / "guess"
    shutil.copytree(REFERENCE / "guess", package)
    shutil.copytree(VALIDATORS / "guess", package, dirs_exist_ok=True)
    with load_package(package) as loaded:
        report = await import_package(services, loaded)
    problem = report.problem
    assert problem.statement_format == "html"  # the English LaTeX, not the Swedish Markdown
    assert '<h2 class="unnumbered" id="interaction">Interaction</h2>' in problem.statement
    assert '<span class="math inline">\\(1000\\)</span>' in problem.statement
    assert "\\problemname" not in problem.statement
    assert not any("LaTeX" in w for w in report.warnings)


async def test_without_a_converter_the_latex_source_is_kept_with_a_notice(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pandoc on this PATH
    with load_package(REFERENCE / "hello") as loaded:
        report = await import_package(services, loaded)
    assert report.problem.statement_format == "latex"
    assert "\\problemname" in report.problem.statement
    assert any("kept as source" in w and "install pandoc" in w for w in report.warnings)
