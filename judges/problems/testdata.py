"""The ``data/`` folder: groups (``sample``, ``secret`` and nested folders) and test cases.

Like problemtools, a folder's entries are taken in lexicographic order, subgroups and test cases
interleaved, and the judging order is that walk (``data/sample`` before ``data/secret``). A test
case is an ``<name>.in`` with its ``<name>.ans``; ``.desc``, ``.hint``, ``.args``,
``.interaction`` and a ``<name>.files/`` folder are picked up beside it. ``testdata.yaml``
settings are inherited: a folder's settings are its parent's, updated with its own file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judges.problems.files import Tree, number, words
from judges.problems.model import PackageError, TestCase, TestGroup

__all__ = ["FLAG_KEYS", "TestData", "read_testdata"]

FLAG_KEYS = ("output_validator_flags", "output_validator_args")
"""testdata.yaml keys of output validator flags (legacy, 2023-07)."""

_POINT_KEYS = ("points", "score", "max_score")
_GROUPS = ("sample", "secret")


@dataclass(slots=True)
class TestData:
    __test__ = False

    groups: list[TestGroup] = field(default_factory=list)
    cases: list[TestCase] = field(default_factory=list)
    root_settings: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _flags(settings: dict[str, Any], file: str) -> tuple[str, ...] | None:
    for key in FLAG_KEYS:
        if key in settings:
            return words(settings[key], file, key)
    return None


def _points(raw: dict[str, Any], file: str) -> float | None:
    for key in _POINT_KEYS:
        if key in raw and not isinstance(raw[key], dict | list):
            return float(number(raw[key], file, key, positive=False))
    if "range" in raw:
        value = raw["range"]
        bounds = value.split() if isinstance(value, str) else value
        try:
            low, high = (float(bound) for bound in bounds)
        except (TypeError, ValueError):
            low = high = math.nan
        if not (math.isfinite(low) and math.isfinite(high)):
            raise PackageError(file, f"must be two numbers 'min max', not {raw['range']!r}",
                               field="range")
        if low > high:
            raise PackageError(file, f"minimum {low:g} is above maximum {high:g}", field="range")
        return high
    return None


def read_testdata(tree: Tree, problem_flags: tuple[str, ...],
                  check_flags: Callable[[tuple[str, ...], str, str], None]) -> TestData:
    """Walk ``data/``; ``check_flags(flags, file, field)`` vets every group's flags."""
    data = tree.root / "data"
    if not data.is_dir():
        raise PackageError("data/", "missing: a package needs data/secret/ with test cases")
    result = TestData()
    root_file = data / "testdata.yaml"
    if root_file.is_file():
        result.root_settings = tree.yaml(root_file)
    flags = _flags(result.root_settings, "data/testdata.yaml")
    if flags is not None:
        check_flags(flags, "data/testdata.yaml", _flag_key(result.root_settings))
    base_flags = problem_flags if flags is None else flags
    if not (data / "secret").is_dir():
        raise PackageError("data/secret/", "missing: a package needs secret test cases")
    for name in _GROUPS:
        folder = data / name
        if folder.is_dir():
            _walk(tree, folder, name, None, dict(result.root_settings), base_flags, check_flags,
                  result)
    if not any(not case.is_sample for case in result.cases):
        raise PackageError("data/secret/", "no test cases (<name>.in with <name>.ans)")
    return result


def _flag_key(settings: dict[str, Any]) -> str:
    return next(key for key in FLAG_KEYS if key in settings)


def _walk(tree: Tree, folder: Path, name: str, parent: str | None, inherited: dict[str, Any],
          inherited_flags: tuple[str, ...],
          check_flags: Callable[[tuple[str, ...], str, str], None], result: TestData) -> None:
    is_sample = name.split("/", 1)[0] == "sample"
    own_file = folder / "testdata.yaml"
    file = tree.rel(own_file)
    raw = tree.yaml(own_file) if own_file.is_file() else {}
    settings = {**inherited, **raw}
    own_flags = _flags(raw, file)
    if own_flags is not None:
        check_flags(own_flags, file, _flag_key(raw))
    flags = inherited_flags if own_flags is None else own_flags
    points = _points(raw, file)

    entries = tree.entries(folder)
    by_name = {entry.name: entry for entry in entries}
    cases: list[TestCase] = []
    subgroups: list[str] = []
    interactions: list[Path] = []
    index = len(result.groups)
    result.groups.append(None)  # type: ignore[arg-type]  # placeholder: parents come first
    for entry in entries:
        stem, dot, ext = entry.name.rpartition(".")
        if entry.is_dir():
            if ext == "files" and dot and f"{stem}.in" in by_name:
                continue
            sub = f"{name}/{entry.name}"
            subgroups.append(sub)
            _walk(tree, entry, sub, name, settings, flags, check_flags, result)
        elif ext == "in" and dot:
            case = _case(tree, folder, name, stem, by_name, is_sample)
            cases.append(case)
            result.cases.append(case)
        elif ext == "interaction" and dot and f"{stem}.in" not in by_name:
            interactions.append(entry)
        elif ext == "ans" and dot and f"{stem}.in" not in by_name:
            result.warnings.append(f"{tree.rel(entry)}: answer file without {stem}.in (ignored)")
    result.groups[index] = TestGroup(
        name=name, path=folder, parent=parent, is_sample=is_sample, settings=settings, raw=raw,
        points=points, validator_flags=flags, cases=tuple(cases), subgroups=tuple(subgroups),
        interactions=tuple(interactions),
    )


def _case(tree: Tree, folder: Path, group: str, stem: str, by_name: dict[str, Path],
          is_sample: bool) -> TestCase:
    def beside(ext: str) -> Path | None:
        return by_name.get(f"{stem}.{ext}")

    answer = beside("ans")
    if answer is None or not answer.is_file():
        raise PackageError(tree.rel(folder / f"{stem}.in"), f"no answer file {stem}.ans")
    desc = beside("desc")
    files = beside("files")
    return TestCase(
        name=f"{group}/{stem}", group=group, input=tree.link_file(folder / f"{stem}.in"),
        answer=tree.link_file(answer),
        is_sample=is_sample, description=tree.text(desc).strip() if desc else "",
        hint=beside("hint"), args=beside("args"),
        files=files if files is not None and files.is_dir() else None,
        interaction=beside("interaction"),
    )
