"""Problem packages (Kattis / ICPC problem package format) as plain data.

``load_package(path)`` reads a package folder or ``.zip`` into a :class:`ProblemPackage`, or
raises :class:`PackageError` naming the file and field at fault. Nothing here touches the
database: a judge host can use it as well as the server's import action.
"""

from judges.problems.model import (
    PackageError,
    ProblemLimits,
    ProblemPackage,
    Program,
    StatementFile,
    Submission,
    TestCase,
    TestGroup,
)
from judges.problems.package import load_package

__all__ = [
    "PackageError",
    "ProblemLimits",
    "ProblemPackage",
    "Program",
    "StatementFile",
    "Submission",
    "TestCase",
    "TestGroup",
    "load_package",
]
