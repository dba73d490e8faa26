"""What a problem package is, as plain frozen data: no database, no judging.

:func:`judges.problems.package.load_package` builds these; an import action turns them into
rows, a judge host reads the files they point to. Paths are absolute (inside the package
folder, or the folder a zip was extracted to); names are relative to ``data/`` or
``submissions/`` with ``/`` separators, and keep the package's own spelling.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from server.components import Verdict

__all__ = [
    "DEFAULT_MEMORY_MIB",
    "DEFAULT_OUTPUT_MIB",
    "PackageError",
    "ProblemLimits",
    "ProblemPackage",
    "Program",
    "StatementFile",
    "Submission",
    "TestCase",
    "TestGroup",
]


DEFAULT_MEMORY_MIB = 2048
"""Memory limit of a package that declares none (the Kattis default)."""
DEFAULT_OUTPUT_MIB = 8
"""Output limit of a package that declares none (the Kattis default)."""


class PackageError(ValueError):
    """A problem package is broken. The message names the file (and field) at fault.

    ``str(error)`` reads like ``problem.yaml: limits.time_limit: must be a positive number``.
    """

    def __init__(self, file: str, message: str, field: str | None = None) -> None:
        self.file = file
        self.field = field
        self.message = message
        super().__init__(f"{file}: {field}: {message}" if field else f"{file}: {message}")


@dataclass(frozen=True, slots=True)
class StatementFile:
    language: str
    """ISO 639 code (``en``, ``sv``, ``pt-BR``); a legacy ``problem.tex`` is ``en``."""
    format: str
    """``tex``, ``md``, ``html`` or ``pdf``."""
    path: Path


@dataclass(frozen=True, slots=True)
class ProblemLimits:
    """``limits`` of problem.yaml; ``None`` where the package leaves the choice to the judge."""

    time_limit: float | None = None
    """Seconds: ``limits.time_limit``, else the DOMjudge ``.timelimit`` file (or
    ``domjudge-problem.ini``); legacy Kattis packages have none (it comes from the submissions)."""
    time_limit_from: str | None = None
    """The file the time limit came from."""
    ac_to_time_limit: float = 2.0
    """Time limit ÷ slowest accepted run (legacy ``time_multiplier``; 5 there by default)."""
    time_limit_to_tle: float = 1.5
    """TLE submissions must run this many time limits (legacy ``time_safety_margin``, 2)."""
    time_resolution: float | None = None
    memory_mib: int | None = None
    output_mib: int | None = None
    code_kib: int | None = None
    compilation_time: float | None = None
    compilation_memory_mib: int | None = None
    validation_time: float | None = None
    validation_memory_mib: int | None = None
    validation_output_mib: int | None = None
    validation_passes: int | None = None
    """Most passes of a multi-pass problem."""


@dataclass(frozen=True, slots=True)
class Program:
    """A validator (or other helper program) shipped as source: a file or a folder."""

    name: str
    path: Path
    files: tuple[Path, ...]
    """Every file of the program (the file itself, or the folder's files, sorted)."""
    language: str | None


@dataclass(frozen=True, slots=True)
class TestCase:
    __test__ = False  # not a pytest class

    name: str
    """Path relative to ``data/`` without the extension, e.g. ``secret/group1/01``."""
    group: str
    """Name of the group (folder) it is in, e.g. ``secret/group1``."""
    input: Path
    answer: Path
    is_sample: bool
    description: str = ""
    """Contents of the ``.desc`` file, stripped."""
    hint: Path | None = None
    args: Path | None = None
    files: Path | None = None
    """The ``<name>.files`` folder."""
    interaction: Path | None = None
    """A sample's ``.interaction`` file (shown in the statement)."""


@dataclass(frozen=True, slots=True)
class TestGroup:
    """A folder of ``data/``: ``sample``, ``secret`` or a nested group such as ``secret/g1``."""

    __test__ = False

    name: str
    path: Path
    parent: str | None
    is_sample: bool
    settings: dict[str, Any]
    """The effective testdata.yaml settings: the parent's, updated with this folder's own."""
    raw: dict[str, Any]
    """This folder's own testdata.yaml (empty without one)."""
    points: float | None
    """``points`` or ``score`` (or ``max_score``) of the own testdata.yaml, else the upper
    bound of its ``range``; ``None`` when the folder says nothing."""
    validator_flags: tuple[str, ...]
    """Effective output validator flags (``output_validator_flags``/``_args``, else the
    problem's)."""
    cases: tuple[TestCase, ...]
    """The test cases directly in this folder, in order."""
    subgroups: tuple[str, ...]
    interactions: tuple[Path, ...] = ()
    """``.interaction`` files without a test case (sample interactions of 2023-07 packages)."""


@dataclass(frozen=True, slots=True)
class Submission:
    name: str
    """Path relative to ``submissions/``, e.g. ``accepted/hello.py``."""
    path: Path
    files: tuple[Path, ...]
    category: str
    """The expected-verdict folder, e.g. ``accepted``."""
    expected: frozenset[Verdict]
    """Any of these results is what the author expects."""
    expected_from: str
    """``folder`` or ``@EXPECTED_RESULTS@`` (a header in the source overrides the folder)."""
    language: str | None
    """From the file extension (a folder: from its files); None when unknown."""
    expected_score: float | None = None
    """A scoring problem's ``@EXPECTED_SCORE@: 50`` header (Kattis), else None."""


@dataclass(frozen=True, slots=True)
class ProblemPackage:
    """A parsed Kattis / ICPC problem package (legacy or 2023-07 format)."""

    short_name: str
    root: Path
    format_version: str
    """``legacy`` or ``2023-07``."""
    config: dict[str, Any]
    """problem.yaml as read."""
    titles: dict[str, str]
    """Title by language."""
    statements: tuple[StatementFile, ...]
    statement_assets: tuple[Path, ...]
    uuid: str | None
    authors: tuple[str, ...]
    source: str | None
    source_url: str | None
    license: str
    rights_owner: str | None
    keywords: tuple[str, ...]
    types: frozenset[str]
    """Some of ``pass-fail``, ``scoring``, ``interactive``, ``multi-pass``, ``submit-answer``."""
    custom_validator: bool
    """Whether output is judged by the package's validator (else the ``tokens`` checker)."""
    validator_flags: tuple[str, ...]
    """Problem-wide output validator flags (a group may override them)."""
    limits: ProblemLimits
    output_validators: tuple[Program, ...]
    input_validators: tuple[Program, ...]
    groups: tuple[TestGroup, ...]
    """Every group, parents before children, in judging order (``sample`` before ``secret``)."""
    test_cases: tuple[TestCase, ...]
    """Every test case in judging order (lexicographic within a folder, like problemtools)."""
    submissions: tuple[Submission, ...]
    warnings: tuple[str, ...] = ()
    """Things worth telling the importer that do not make the package unusable."""
    owned: Path | None = field(default=None, compare=False)
    """A temporary folder this package created to extract a zip into (``root`` is inside it):
    :meth:`close` removes it. ``None`` for a folder package or a caller-chosen ``extract_to``."""

    # ------------------------------------------------------------------------ helpers

    @property
    def is_scoring(self) -> bool:
        return "scoring" in self.types

    @property
    def is_interactive(self) -> bool:
        return "interactive" in self.types

    @property
    def is_multi_pass(self) -> bool:
        return "multi-pass" in self.types

    def title(self, language: str = "en") -> str:
        """The title in ``language``, else English, else any, else the short name."""
        if language in self.titles:
            return self.titles[language]
        if "en" in self.titles:
            return self.titles["en"]
        return next(iter(self.titles.values()), self.short_name)

    def group(self, name: str) -> TestGroup:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)

    @property
    def samples(self) -> tuple[TestCase, ...]:
        return tuple(case for case in self.test_cases if case.is_sample)

    @property
    def secret(self) -> tuple[TestCase, ...]:
        return tuple(case for case in self.test_cases if not case.is_sample)

    def close(self) -> None:
        """Remove the temporary extraction folder of a zip package (nothing otherwise)."""
        if self.owned is not None:
            shutil.rmtree(self.owned, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

