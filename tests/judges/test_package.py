"""Problem packages: the four Kattis examples, our own legacy and 2023-07 packages, bad ones."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from judges.problems import PackageError, ProblemPackage, load_package
from judges.problems.submissions import language_of
from server.components import Verdict

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT.parent / "shared" / "reference" / "problems"
PACKAGES = Path(__file__).resolve().parent / "packages"

V = Verdict


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / "hello" / "problem.yaml").is_file():
        pytest.fail(f"the reference problem packages are missing: expected them in {REFERENCE} "
                    "(the shared folder beside the repository)", pytrace=False)
    return REFERENCE


def case_names(package: ProblemPackage) -> list[str]:
    return [case.name for case in package.test_cases]


# ------------------------------------------------------------------ reference packages


def test_hello(reference: Path) -> None:
    package = load_package(reference / "hello")
    assert package.short_name == "hello"
    assert package.format_version == "legacy"
    assert package.types == {"pass-fail"}
    assert not package.custom_validator and package.validator_flags == ()
    assert package.titles == {"en": "Hello World!", "sv": "Hej Världen!"}
    assert [(s.language, s.format) for s in package.statements] == [("en", "tex"), ("sv", "tex")]
    assert (package.source, package.license, package.rights_owner) == (
        "Kattis", "public domain", "Kattis")
    assert package.limits.memory_mib == 512
    assert package.limits.time_limit is None
    assert (package.limits.ac_to_time_limit, package.limits.time_limit_to_tle) == (5.0, 2.0)
    assert [g.name for g in package.groups] == ["secret"]
    assert case_names(package) == ["secret/hello"]
    case = package.test_cases[0]
    assert case.input == reference.resolve() / "hello" / "data" / "secret" / "hello.in"
    assert case.answer.read_bytes().strip() == b"Hello World!"
    assert not case.is_sample
    assert package.submissions == () and package.warnings == ()


def test_different(reference: Path) -> None:
    package = load_package(reference / "different")
    assert package.types == {"pass-fail"}
    assert package.custom_validator
    assert package.output_validators == ()  # left out of the reference copy: a warning
    assert any("custom output validator" in w for w in package.warnings)
    assert package.title() == "A Different Problem"
    assert package.limits.time_limit_to_tle == 4.0
    assert case_names(package) == ["sample/1", "secret/01", "secret/02_extreme_cases"]
    assert [c.name for c in package.samples] == ["sample/1"]
    assert package.test_cases[1].description == "A bunch of handwritten cases."
    assert package.test_cases[2].description.startswith("The four possible combinations")


def test_guess(reference: Path) -> None:
    package = load_package(reference / "guess")
    assert package.format_version == "2023-07"
    assert package.is_interactive and not package.is_scoring
    assert package.types == {"interactive", "pass-fail"}
    assert package.custom_validator
    assert package.uuid == "5ca6ba5b-36d5-4eff-8aa7-d967cbc4375e"
    assert package.titles == {"en": "Guess the Number", "sv": "Gissa talet"}
    assert package.title("sv") == "Gissa talet" and package.title("de") == "Guess the Number"
    assert [(s.language, s.format) for s in package.statements] == [("en", "tex"), ("sv", "md")]
    assert package.limits.time_limit_to_tle == 4.0
    assert package.limits.ac_to_time_limit == 2.0
    sample = package.group("sample")
    assert sample.cases == ()
    assert [p.name for p in sample.interactions] == ["1.interaction", "2.interaction"]
    assert case_names(package) == [f"secret/{i:02d}" for i in range(1, 11)]


def test_oddecho(reference: Path) -> None:
    package = load_package(reference / "oddecho")
    assert package.format_version == "2023-07"
    assert package.types == {"scoring"}
    assert not package.custom_validator
    assert package.authors == ("Johan Sannemo",)
    assert package.source == "Principles of Algorithmic Problem Solving"
    assert [a.name for a in package.statement_assets] == ["cave.jpg"]
    assert [(g.name, g.parent, g.points, len(g.cases)) for g in package.groups] == [
        ("sample", None, 0.0, 2),
        ("secret", None, 100.0, 0),
        ("secret/subtask1", "secret", 50.0, 3),
        ("secret/subtask2", "secret", 50.0, 13),
    ]
    subtask1 = package.group("secret/subtask1")
    assert subtask1.raw == {"on_reject": "break", "accept_score": 50, "range": "0 50",
                            "grader_flags": "min", "input_validator_flags": "nFive=1"}
    assert package.group("secret").settings["grader_flags"] == "first_error accept_if_any_accepted"
    # lexicographic, like problemtools: 01 .. 09, 1, 10, 2, 3
    assert [c.name.rsplit("/", 1)[1] for c in package.group("secret/subtask2").cases] == [
        "01", "02", "03", "04", "05", "06", "07", "08", "09", "1", "10", "2", "3"]
    assert len(package.test_cases) == 18 and len(package.samples) == 2


def test_a_zipped_reference_package(reference: Path, tmp_path: Path) -> None:
    archive = tmp_path / "oddecho.zip"
    zip_folder(reference / "oddecho", archive, prefix="oddecho/")
    with load_package(archive) as package:
        assert package.short_name == "oddecho"
        assert package.owned is not None and package.root.is_relative_to(package.owned)
        assert len(package.test_cases) == 18
        assert package.test_cases[0].input.read_bytes() == (
            reference / "oddecho" / "data" / "sample" / "1.in").read_bytes()
        owned = package.owned
    assert not owned.exists()


# ---------------------------------------------------------------------- our packages


def test_legacy_package_with_a_timelimit_file() -> None:
    package = load_package(PACKAGES / "legacy_full")
    assert package.format_version == "legacy"
    assert package.types == {"scoring"} and not package.custom_validator
    assert package.titles == {"en": "Sum of Floats", "de": "Summe von {\\em Gleitkommazahlen}"}
    assert [(s.language, s.format) for s in package.statements] == [
        ("de", "tex"), ("en", "tex"), ("fr", "html")]
    assert [a.name for a in package.statement_assets] == ["figure.png"]
    assert package.authors == ("Ada Lovelace",)
    assert (package.source, package.source_url) == ("Podium Test Contest 2024",
                                                    "https://example.org/contest")
    assert (package.license, package.rights_owner) == ("cc by", "Podium")
    assert package.keywords == ("arithmetic", "floats")
    assert package.validator_flags == ("float_tolerance", "1e-6", "case_sensitive")
    limits = package.limits
    assert (limits.time_limit, limits.time_limit_from) == (2.5, ".timelimit")
    assert (limits.ac_to_time_limit, limits.time_limit_to_tle) == (3.0, 3.0)
    assert (limits.memory_mib, limits.output_mib, limits.code_kib) == (256, 16, 64)
    assert limits.compilation_time == 30.0
    assert [(g.name, g.parent, g.points, g.validator_flags[:1]) for g in package.groups] == [
        ("sample", None, None, ("float_tolerance",)),
        ("secret", None, 100.0, ("float_tolerance",)),
        ("secret/group1", "secret", 40.0, ("float_tolerance",)),
        ("secret/group2", "secret", 60.0, ("float_relative_tolerance",)),
        ("secret/group2/nested", "secret/group2", None, ("float_relative_tolerance",)),
    ]
    # settings are inherited, a folder's own file updates them
    assert package.group("secret/group2/nested").settings == {
        "range": "0 60", "on_reject": "continue", "accept_score": 60,
        "output_validator_flags": "float_relative_tolerance 1e-3"}
    assert package.group("secret/group2/nested").raw == {}
    assert case_names(package) == [
        "sample/1", "secret/group1/1", "secret/group1/10", "secret/group1/2",
        "secret/group2/a", "secret/group2/c", "secret/group2/nested/b"]
    sample = package.test_cases[0]
    assert sample.is_sample and sample.hint is not None and sample.hint.name == "1.hint"
    one, _, two = package.group("secret/group1").cases
    assert one.description == "Small numbers." and one.args is None and one.files is None
    assert two.args is not None and two.args.read_text() == "--fast\n"
    assert two.files is not None and (two.files / "extra.txt").is_file()
    assert [p.name for p in package.input_validators] == ["validate.py"]
    assert package.output_validators == ()
    subs = {s.name: s for s in package.submissions}
    assert list(subs) == ["accepted/multi", "accepted/sum.py", "mixed/maybe.kt",
                          "run_time_error/crash.rs", "time_limit_exceeded/Slow.java",
                          "wrong_answer/zero.c"]
    assert (subs["accepted/sum.py"].language, subs["accepted/sum.py"].expected) == (
        "python3", {V.ACCEPTED})
    multi = subs["accepted/multi"]
    assert multi.language == "cpp" and [f.name for f in multi.files] == ["main.cpp", "util.h"]
    assert subs["wrong_answer/zero.c"].expected == {V.WRONG_ANSWER, V.TIME_LIMIT}
    assert subs["wrong_answer/zero.c"].expected_from == "@EXPECTED_RESULTS@"
    assert (subs["mixed/maybe.kt"].language, subs["mixed/maybe.kt"].expected) == (
        "kotlin", {V.ACCEPTED, V.RUN_ERROR})
    assert subs["time_limit_exceeded/Slow.java"].expected == {V.TIME_LIMIT}
    assert subs["time_limit_exceeded/Slow.java"].expected_from == "folder"
    assert (subs["run_time_error/crash.rs"].language,
            subs["run_time_error/crash.rs"].expected) == ("rust", {V.RUN_ERROR})
    assert package.warnings == ()


def test_2023_07_package_with_nested_groups_and_points() -> None:
    package = load_package(PACKAGES / "modern_groups")
    assert package.format_version == "2023-07"
    assert package.types == {"scoring", "multi-pass"} and package.is_multi_pass
    assert package.custom_validator
    assert package.uuid == "3f1c2a7e-5a4b-4c1d-9e8f-000000000001"
    assert package.titles == {"en": "Nested Groups", "de": "Verschachtelte Gruppen"}
    assert package.authors == ("Grace Hopper", "Edsger Dijkstra")
    assert package.rights_owner == "Grace Hopper"
    assert (package.source, package.source_url) == ("Podium Open 2025", "https://example.org/open")
    assert package.license == "cc0" and package.keywords == ("groups", "nesting")
    limits = package.limits
    assert (limits.time_limit, limits.time_limit_from) == (1.5, "problem.yaml")
    assert (limits.ac_to_time_limit, limits.time_limit_to_tle) == (3.0, 2.0)
    assert (limits.memory_mib, limits.validation_passes) == (1024, 3)
    assert package.warnings == (".timelimit: 1 s ignored: problem.yaml says 1.5 s",)
    (validator,) = package.output_validators
    assert validator.language == "cpp" and [f.name for f in validator.files] == ["validator.cpp"]
    assert package.validator_flags == ("--mode", "strict")
    assert [(g.name, g.points, g.validator_flags, g.subgroups) for g in package.groups] == [
        ("sample", None, ("--mode", "strict"), ()),
        ("secret", None, ("--mode", "strict"), ("secret/group1", "secret/group2")),
        ("secret/group1", 30.0, ("--mode", "strict"), ()),
        ("secret/group2", 70.0, ("lenient",), ("secret/group2/b",)),
        ("secret/group2/b", 20.0, ("lenient",), ()),
    ]
    # subgroups and cases interleave in name order: a, b/, c
    assert case_names(package) == [
        "sample/1", "secret/group1/1", "secret/group1/10", "secret/group1/2",
        "secret/group2/a", "secret/group2/b/1", "secret/group2/c"]
    assert [c.group for c in package.test_cases][-2:] == ["secret/group2/b", "secret/group2"]


def test_bad_yaml() -> None:
    with pytest.raises(PackageError) as error:
        load_package(PACKAGES / "bad_yaml")
    assert error.value.file == "problem.yaml"
    assert str(error.value).startswith("problem.yaml: invalid YAML: line 4, column 2:")


def test_missing_data() -> None:
    with pytest.raises(PackageError, match=r"^data/: missing"):
        load_package(PACKAGES / "no_data")


# ------------------------------------------------------------------ broken packages


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    """A writable copy of legacy_full."""
    folder = tmp_path / "legacy"
    shutil.copytree(PACKAGES / "legacy_full", folder)
    return folder


@pytest.fixture
def modern(tmp_path: Path) -> Path:
    folder = tmp_path / "modern"
    shutil.copytree(PACKAGES / "modern_groups", folder)
    return folder


def edit_yaml(folder: Path, old: str, new: str) -> None:
    path = folder / "problem.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  memory: 256", "  memory: -1",
     "problem.yaml: limits.memory: must be a positive integer, not -1"),
    ("  memory: 256", "  memory: 1.5",
     "problem.yaml: limits.memory: must be a positive integer, not 1.5"),
    ("  memory: 256", "  time_limit: 0",
     "problem.yaml: limits.time_limit: must be a positive number, not 0"),
    ("  memory: 256", "  time_limit: fast",
     "problem.yaml: limits.time_limit: must be a positive number, not 'fast'"),
    ("  memory: 256", "  time_limit: true",
     "problem.yaml: limits.time_limit: must be a positive number, not True"),
    ("  memory: 256", "  time_multipliers: 3",
     "problem.yaml: limits.time_multipliers: must be a mapping"),
    ("type: scoring", "type: interactive",
     "problem.yaml: type: must be pass-fail or scoring, not 'interactive'"),
    ("validation: default", "validation: default interactive", "problem.yaml: validation: must"),
    ("validation: default", "validation: custom magic", "problem.yaml: validation: must"),
    ("license: cc by", "license: gpl", "problem.yaml: license: unknown license 'gpl'"),
    ("validator_flags: float_tolerance 1e-6 case_sensitive", "validator_flags: float_tolerance",
     "problem.yaml: validator_flags: validator flag 'float_tolerance' needs a value"),
    ("validator_flags: float_tolerance 1e-6 case_sensitive", "validator_flags: ignore_case",
     "problem.yaml: validator_flags: unknown validator flag 'ignore_case'"),
    ("name: Sum of Floats", "name: [Sum]",
     "problem.yaml: name: must be a string or a mapping"),
    ("name: Sum of Floats", "problem_format_version: 2099-01\nname: x",
     "problem.yaml: problem_format_version: unsupported version '2099-01'"),
    ("author: Ada Lovelace", "author: {first: Ada}", "problem.yaml: author: must be a string"),
])
def test_bad_problem_yaml_fields(legacy: Path, old: str, new: str, message: str) -> None:
    edit_yaml(legacy, old, new)
    with pytest.raises(PackageError) as error:
        load_package(legacy)
    assert str(error.value).startswith(message), str(error.value)


def test_yaml_file_errors(legacy: Path) -> None:
    (legacy / "problem.yaml").write_text("- just\n- a list\n")
    with pytest.raises(PackageError, match=r"^problem\.yaml: must be a mapping, not list"):
        load_package(legacy)
    (legacy / "problem.yaml").write_bytes(b"name: \xff\n")
    with pytest.raises(PackageError, match=r"^problem\.yaml: not UTF-8"):
        load_package(legacy)
    (legacy / "problem.yaml").unlink()
    with pytest.raises(PackageError, match=r"^problem\.yaml: missing"):
        load_package(legacy)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("type: [scoring, multi-pass]", "type: [scoring, pass-fail]",
     "problem.yaml: type: cannot be both pass-fail and scoring"),
    ("type: [scoring, multi-pass]", "type: speedrun", "problem.yaml: type: unknown type 'speedrun'"),
    ("name:\n  en: Nested Groups\n  de: Verschachtelte Gruppen\n", "",
     "problem.yaml: name: required in the 2023-07 format"),
    ("name:\n  en: Nested Groups", "name:\n  en: ''", "problem.yaml: name: en: must be"),
    ("  time_limit: 1.5", "  time_limit: -2",
     "problem.yaml: limits.time_limit: must be a positive number"),
    ("    time_limit_to_tle: 2", "    slack: 2",
     "problem.yaml: limits.time_multipliers.slack: unknown multiplier"),
    ("credits:\n  authors: [Grace Hopper, Edsger Dijkstra]", "credits:\n  authors: {a: 1}",
     "problem.yaml: credits.authors: must be a string or a list of strings"),
])
def test_bad_2023_07_fields(modern: Path, old: str, new: str, message: str) -> None:
    edit_yaml(modern, old, new)
    with pytest.raises(PackageError) as error:
        load_package(modern)
    assert str(error.value).startswith(message), str(error.value)


def test_a_time_limit_string_from_yaml_is_a_number(modern: Path) -> None:
    edit_yaml(modern, "  time_limit: 1.5", "  time_limit: 1e-1")  # PyYAML: a string
    assert load_package(modern).limits.time_limit == 0.1


def test_bad_timelimit_file(legacy: Path) -> None:
    (legacy / ".timelimit").write_text("two seconds\n")
    with pytest.raises(PackageError, match=r"^\.timelimit: time limit: must be a positive"):
        load_package(legacy)


def test_domjudge_ini_time_limit(legacy: Path) -> None:
    (legacy / ".timelimit").unlink()
    assert load_package(legacy).limits.time_limit is None
    (legacy / "domjudge-problem.ini").write_text("name='Sum'\ntimelimit='3'\n")
    limits = load_package(legacy).limits
    assert (limits.time_limit, limits.time_limit_from) == (3.0, "domjudge-problem.ini")


@pytest.mark.parametrize(("change", "message"), [
    (lambda p: (p / "data" / "secret" / "group1" / "10.ans").unlink(),
     "data/secret/group1/10.in: no answer file 10.ans"),
    (lambda p: shutil.rmtree(p / "data" / "secret"), "data/secret/: missing"),
    (lambda p: [f.unlink() for f in (p / "data" / "secret").rglob("*.in")],
     "data/secret/: no test cases"),
    (lambda p: (p / "data" / "secret" / "group1" / "testdata.yaml").write_text("points: lots\n"),
     "data/secret/group1/testdata.yaml: points: must be a non-negative number, not 'lots'"),
    (lambda p: (p / "data" / "secret" / "group1" / "testdata.yaml").write_text("range: 5\n"),
     "data/secret/group1/testdata.yaml: range: must be two numbers 'min max'"),
    (lambda p: (p / "data" / "secret" / "group1" / "testdata.yaml").write_text("range: 9 1\n"),
     "data/secret/group1/testdata.yaml: range: minimum 9 is above maximum 1"),
    (lambda p: (p / "data" / "secret" / "testdata.yaml").write_text("on_reject: [\n"),
     "data/secret/testdata.yaml: invalid YAML"),
    (lambda p: (p / "data" / "secret" / "group2" / "testdata.yaml").write_text(
        "output_validator_flags: float_tolerance x\n"),
     ("data/secret/group2/testdata.yaml: output_validator_flags: validator flag "
      "'float_tolerance': 'x' is not")),
    (lambda p: (p / "submissions" / "accepted" / "bad.py").write_text(
        "# @EXPECTED_RESULTS@: CORRECT, SLOW\n"),
     "submissions/accepted/bad.py: @EXPECTED_RESULTS@: unknown result 'SLOW'"),
    (lambda p: (p / "submissions" / "mixed" / "plain.py").write_text("print(1)\n"),
     "submissions/mixed/plain.py: unknown result folder 'mixed' and no @EXPECTED_RESULTS@"),
    (lambda p: (p / "submissions" / "loose.py").write_text("print(1)\n"),
     "submissions/loose.py: submissions must be in a folder named for their result"),
])
def test_broken_test_data_and_submissions(legacy: Path, change: Callable[[Path], object],
                                          message: str) -> None:
    change(legacy)
    with pytest.raises(PackageError) as error:
        load_package(legacy)
    assert str(error.value).startswith(message), str(error.value)


def test_flags_of_a_custom_validator_are_not_checked(modern: Path) -> None:
    (modern / "data" / "testdata.yaml").write_text("output_validator_args: anything goes\n")
    assert load_package(modern).validator_flags == ("anything", "goes")


def test_symlinks_must_stay_inside_the_package(legacy: Path, tmp_path: Path) -> None:
    inside = legacy / "data" / "secret" / "group1" / "3.in"
    inside.symlink_to(legacy / "data" / "secret" / "group1" / "1.in")
    (legacy / "data" / "secret" / "group1" / "3.ans").symlink_to("1.ans")
    assert "secret/group1/3" in case_names(load_package(legacy))
    secret = tmp_path / "secret.txt"
    secret.write_text("password\n")
    (legacy / "data" / "secret" / "group1" / "4.in").symlink_to(secret)
    (legacy / "data" / "secret" / "group1" / "4.ans").write_text("0\n")
    with pytest.raises(PackageError, match=r"^data/secret/group1/4\.in: symbolic link points "
                                           r"outside the package"):
        load_package(legacy)


def test_languages_from_extensions() -> None:
    cases = {"a.py": "python3", "a.c": "c", "a.cc": "cpp", "a.cpp": "cpp", "a.cxx": "cpp",
             "a.c++": "cpp", "A.java": "java", "a.js": "javascript", "a.rs": "rust",
             "a.kt": "kotlin", "a.CPP": "cpp", "a.txt": None, "Makefile": None}
    for name, language in cases.items():
        assert language_of([Path(name)]) == language, name
    assert language_of([Path("main.c"), Path("util.cpp")]) == "cpp"
    assert language_of([Path("main.py"), Path("Main.java")]) is None
    assert language_of([Path("main.cc"), Path("util.h")]) == "cpp"


# ------------------------------------------------------------------------- archives


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())


def test_a_zip_with_files_at_the_top(legacy: Path, tmp_path: Path) -> None:
    archive = tmp_path / "sumfloats.zip"
    zip_folder(legacy, archive)
    target = tmp_path / "unpacked"
    package = load_package(archive, extract_to=target)
    assert package.short_name == "sumfloats"
    assert package.root == target.resolve() and package.owned is None
    assert package.limits.time_limit == 2.5  # the dotfile came along
    assert case_names(package) == case_names(load_package(legacy))
    package.close()
    assert target.exists()  # the caller's folder is the caller's
    with pytest.raises(PackageError, match="not empty"):
        load_package(archive, extract_to=target)


def evil_zip(tmp_path: Path, name: str, write: Callable[[zipfile.ZipFile], None]) -> Path:
    archive = tmp_path / name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("problem.yaml", "name: Evil\n")
        zf.writestr("data/secret/1.in", "1\n")
        zf.writestr("data/secret/1.ans", "1\n")
        write(zf)
    return archive


def symlink_entry(zf: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("data/secret/2.in")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, "/etc/passwd")


def fifo_entry(zf: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("data/secret/pipe")
    info.external_attr = (stat.S_IFIFO | 0o644) << 16
    zf.writestr(info, "")


@pytest.mark.parametrize(("write", "message"), [
    (lambda zf: zf.writestr("../escape.txt", "x"), "evil.zip: ../escape.txt: path escapes"),
    (lambda zf: zf.writestr("data/../../escape.txt", "x"), "path escapes the package"),
    (lambda zf: zf.writestr("/etc/cron.d/evil", "x"), "evil.zip: /etc/cron.d/evil: absolute path"),
    (lambda zf: zf.writestr("C:/evil.txt", "x"), "absolute path"),
    (lambda zf: zf.writestr("data\\..\\evil.txt", "x"), "backslash"),
    (symlink_entry, "evil.zip: data/secret/2.in: symbolic links are not allowed"),
    (fifo_entry, "special files are not allowed"),
    (lambda zf: zf.writestr("problem.yaml", "name: Twice\n"), "duplicate entry"),
])
def test_unsafe_zip_entries_are_refused(tmp_path: Path, write: Callable[[zipfile.ZipFile], None],
                                        message: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        archive = evil_zip(tmp_path, "evil.zip", write)
    target = tmp_path / "out"
    with pytest.raises(PackageError) as error:
        load_package(archive, extract_to=target)
    assert message in str(error.value)
    assert not (tmp_path / "escape.txt").exists()
    assert list(target.iterdir()) == []  # nothing was left behind
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("podium-package-*"))
    with pytest.raises(PackageError):
        load_package(archive)
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("podium-package-*")) == before


def test_zip_bombs_are_refused(tmp_path: Path) -> None:
    zeros = b"\0" * (8 << 20)
    archive = evil_zip(tmp_path, "bomb.zip", lambda zf: zf.writestr("data/big.bin", zeros))
    assert archive.stat().st_size < 100_000
    with pytest.raises(PackageError, match=r"^bomb\.zip: more than 1048576 bytes uncompressed"):
        load_package(archive, max_bytes=1 << 20)
    with load_package(archive) as package:  # the default cap is 1 GiB
        assert len(package.test_cases) == 1


def test_a_lying_size_header_is_caught(tmp_path: Path) -> None:
    zeros = b"\0" * (4 << 20)
    archive = evil_zip(tmp_path, "liar.zip", lambda zf: zf.writestr("data/big.bin", zeros))
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        local = zf.getinfo("data/big.bin").header_offset
        central = data.index(b"data/big.bin", zf.start_dir) - 46
    assert data[local:local + 4] == b"PK\x03\x04" and data[central:central + 4] == b"PK\x01\x02"
    # claim 10 bytes uncompressed, in the local header and in the central directory
    for offset in (local + 22, central + 24):
        data[offset:offset + 4] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    with pytest.raises(PackageError, match=r"^liar\.zip: data/big\.bin: cannot extract"):
        load_package(archive, max_bytes=1 << 20)


def test_too_many_files(tmp_path: Path) -> None:
    def many(zf: zipfile.ZipFile) -> None:
        for i in range(20):
            zf.writestr(f"data/secret/{i}.desc", "")

    archive = evil_zip(tmp_path, "many.zip", many)
    with pytest.raises(PackageError, match=r"^many\.zip: more than 10 files"):
        load_package(archive, max_files=10)


def test_not_a_package(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(PackageError, match="not a folder or a zip archive"):
        load_package(tmp_path / "notes.txt")
    with pytest.raises(PackageError, match="no such file or folder"):
        load_package(tmp_path / "missing")
    archive = tmp_path / "empty.zip"
    zipfile.ZipFile(archive, "w").close()
    with pytest.raises(PackageError, match=r"^problem\.yaml: missing"):
        load_package(archive)


def test_python_byte_code_caches_are_not_part_of_a_package(tmp_path: Path) -> None:
    """Running a package's Python solutions or validators leaves __pycache__ folders
    behind; they are neither submissions nor validator files."""
    package = tmp_path / "legacy_full"
    shutil.copytree(PACKAGES / "legacy_full", package)
    with load_package(package) as clean:
        expected = [s.name for s in clean.submissions]
    for folder in (package / "submissions", package / "submissions" / "accepted",
                   package / "input_validators"):
        (folder / "__pycache__").mkdir(exist_ok=True)
        (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0garbage")
    with load_package(package) as loaded:
        assert [s.name for s in loaded.submissions] == expected
        assert [p.name for p in loaded.input_validators] == ["validate.py"]
