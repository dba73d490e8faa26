"""The ``submissions/`` folder: example solutions and the results their authors expect.

Every file or folder in ``submissions/<folder>/`` is one submission (a folder is a multi-file
submission). The folder names the expected result (``accepted``, ``wrong_answer``, ...); a
DOMjudge ``@EXPECTED_RESULTS@: CORRECT, TIMELIMIT`` line anywhere in a source file overrides it.
The language comes from the file extension, Kattis style.
"""

from __future__ import annotations

import re
from pathlib import Path

from judges.problems.files import Tree
from judges.problems.model import PackageError, Program, Submission
from server.components import Verdict

__all__ = ["EXPECTED_RESULTS", "FOLDERS", "LANGUAGES", "language_of", "program",
           "read_submissions"]

V = Verdict
_REJECTED = frozenset({V.WRONG_ANSWER, V.TIME_LIMIT, V.RUN_ERROR, V.MEMORY_LIMIT,
                       V.OUTPUT_LIMIT})

FOLDERS: dict[str, frozenset[Verdict]] = {
    "accepted": frozenset({V.ACCEPTED}),
    "partially_accepted": _REJECTED,  # rejected on some test, with a partial score
    "wrong_answer": frozenset({V.WRONG_ANSWER}),
    "time_limit_exceeded": frozenset({V.TIME_LIMIT}),
    "run_time_error": frozenset({V.RUN_ERROR}),
    "memory_limit_exceeded": frozenset({V.MEMORY_LIMIT}),
    "output_limit_exceeded": frozenset({V.OUTPUT_LIMIT}),
    "compile_error": frozenset({V.COMPILE_ERROR}),
    "compiler_error": frozenset({V.COMPILE_ERROR}),
    "no_output": frozenset({V.WRONG_ANSWER}),
    "rejected": _REJECTED,
}
"""Expected results by folder name (Kattis names, plus DOMjudge's extra folders)."""

EXPECTED_RESULTS: dict[str, Verdict] = {
    "CORRECT": V.ACCEPTED,
    "WRONG-ANSWER": V.WRONG_ANSWER,
    "TIMELIMIT": V.TIME_LIMIT,
    "RUN-ERROR": V.RUN_ERROR,
    "COMPILER-ERROR": V.COMPILE_ERROR,
    "NO-OUTPUT": V.WRONG_ANSWER,
    "OUTPUT-LIMIT": V.OUTPUT_LIMIT,
    "MEMORY-LIMIT": V.MEMORY_LIMIT,
    **{verdict.value: verdict for verdict in Verdict if verdict is not V.JUDGE_ERROR},
}
"""``@EXPECTED_RESULTS@`` names (DOMjudge's; Podium's abbreviations work too). ``NO-OUTPUT``
is a wrong answer in Podium."""

LANGUAGES: dict[str, str] = {
    ".py": "python3",
    ".c": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".java": "java",
    ".js": "javascript",
    ".rs": "rust",
    ".kt": "kotlin",
    ".go": "go",
    ".cs": "csharp",
    ".hs": "haskell",
    ".rb": "ruby",
    ".pas": "pascal",
}
"""Language names by file extension (lower case), as Kattis names them."""

_HEADER = re.compile(rb"@EXPECTED_RESULTS@\s*:?([^\r\n]*)")
_SCORE_HEADER = re.compile(rb"@EXPECTED_SCORE@\s*:?\s*([^\s]*)")
_NAME = re.compile(r"[A-Za-z][A-Za-z_-]*")
_SCAN = 1 << 20


def language_of(files: list[Path]) -> str | None:
    """The language of one source file or the files of a folder (C with C++ counts as C++)."""
    found = {LANGUAGES[f.suffix.lower()] for f in files if f.suffix.lower() in LANGUAGES}
    if found == {"c", "cpp"}:
        return "cpp"
    return found.pop() if len(found) == 1 else None


def program(tree: Tree, path: Path) -> Program:
    files = tree.files(path) if path.is_dir() else [path]
    return Program(name=path.name, path=path, files=tuple(files), language=language_of(files))


def _expected_header(tree: Tree, files: list[Path]) -> frozenset[Verdict] | None:
    found: frozenset[Verdict] | None = None
    for file in files:
        with open(file, "rb") as handle:
            head = handle.read(_SCAN)
        match = _HEADER.search(head)
        if match is None:
            continue
        text = match.group(1).decode("utf-8", errors="replace")
        names = _NAME.findall(text)
        if not names:
            raise PackageError(tree.rel(file), "no result names", field="@EXPECTED_RESULTS@")
        verdicts = set()
        for name in names:
            verdict = EXPECTED_RESULTS.get(name.upper())
            if verdict is None:
                known = ", ".join(list(EXPECTED_RESULTS)[:8])
                raise PackageError(tree.rel(file), f"unknown result {name!r} (known: {known})",
                                   field="@EXPECTED_RESULTS@")
            verdicts.add(verdict)
        if found is not None and found != verdicts:
            raise PackageError(tree.rel(file), "differs from another file of the submission",
                               field="@EXPECTED_RESULTS@")
        found = frozenset(verdicts)
    return found


def _expected_score(tree: Tree, files: list[Path]) -> float | None:
    """The ``@EXPECTED_SCORE@: N`` header of a scoring problem's submission, if any."""
    for file in files:
        with open(file, "rb") as handle:
            match = _SCORE_HEADER.search(handle.read(_SCAN))
        if match is not None:
            try:
                return float(match.group(1))
            except ValueError:
                raise PackageError(tree.rel(file), "not a number: "
                                   f"{match.group(1).decode(errors='replace')!r}",
                                   field="@EXPECTED_SCORE@") from None
    return None


def read_submissions(tree: Tree) -> list[Submission]:
    folder = tree.root / "submissions"
    if not folder.is_dir():
        return []
    result: list[Submission] = []
    for category in tree.entries(folder):
        if not category.is_dir():
            raise PackageError(tree.rel(category),
                               "submissions must be in a folder named for their result, "
                               "e.g. submissions/accepted/")
        for entry in tree.entries(category):
            files = tree.files(entry) if entry.is_dir() else [entry]
            name = f"{category.name}/{entry.name}"
            header = _expected_header(tree, files)
            if header is not None:
                expected, source = header, "@EXPECTED_RESULTS@"
            elif category.name in FOLDERS:
                expected, source = FOLDERS[category.name], "folder"
            else:
                raise PackageError(
                    f"submissions/{name}",
                    f"unknown result folder {category.name!r} and no @EXPECTED_RESULTS@ line "
                    f"(folders: {', '.join(FOLDERS)})")
            result.append(Submission(
                name=name, path=entry, files=tuple(files), category=category.name,
                expected=expected, expected_from=source, language=language_of(files),
                expected_score=_expected_score(tree, files),
            ))
    return result
