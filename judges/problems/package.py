"""Load a Kattis / ICPC problem package (a folder or a .zip) into a :class:`ProblemPackage`.

Both problem.yaml generations are read: *legacy* (no ``problem_format_version``; ``type:
pass-fail|scoring``, ``validation: default|custom [interactive] [score]``,
``validator_flags``, ``problem_statement/``, ``output_validators/<name>/``) and *2023-07*
(``problem_format_version: 2023-07`` or ``2023-07-draft``; ``type`` as a word or list,
``name`` per language, ``credits``, ``limits.time_limit`` and ``limits.time_multipliers``,
``statement/``, ``output_validator/``, ``output_validator_args``). DOMjudge's ``.timelimit``
file (and ``domjudge-problem.ini``) supply a time limit when problem.yaml has none.

Everything is checked before anything is returned: a broken package raises
:class:`PackageError` naming the file and field, never a half-read package.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from judges.checkers.tokens import parse_flags
from judges.problems.archive import MAX_BYTES, MAX_FILES, extract_zip, package_root
from judges.problems.files import Tree, number, words
from judges.problems.model import (
    PackageError,
    ProblemLimits,
    ProblemPackage,
    Program,
    StatementFile,
)
from judges.problems.submissions import program, read_submissions
from judges.problems.testdata import read_testdata

__all__ = ["LICENSES", "TYPES", "load_package"]

LICENSES = ("unknown", "public domain", "cc0", "cc by", "cc by-sa", "educational", "permission")
TYPES = ("pass-fail", "scoring", "interactive", "multi-pass", "submit-answer")
_VERSIONS = {"legacy": "legacy", "legacy-icpc": "legacy", "2023-07": "2023-07",
             "2023-07-draft": "2023-07"}
_STATEMENT = re.compile(r"problem(?:\.([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*))?\.(tex|md|html|pdf)")
_PROBLEMNAME = re.compile(r"\\problemname\s*\{")
_YAML = "problem.yaml"
_LIMITS_INT = {"memory": "memory_mib", "output": "output_mib", "code": "code_kib",
               "compilation_memory": "compilation_memory_mib",
               "validation_memory": "validation_memory_mib",
               "validation_output": "validation_output_mib", "validation_passes":
               "validation_passes"}
_LIMITS_FLOAT = {"time_limit": "time_limit", "time_resolution": "time_resolution",
                 "compilation_time": "compilation_time", "validation_time": "validation_time"}


def load_package(path: Path, *, extract_to: Path | None = None, max_bytes: int = MAX_BYTES,
                 max_files: int = MAX_FILES) -> ProblemPackage:
    """Parse the problem package at ``path``: a folder, or a ``.zip`` file.

    A zip is checked and extracted (see :mod:`judges.problems.archive`) into ``extract_to``
    (an empty or new folder) or a temporary folder that the package owns: call
    ``package.close()`` or use ``with load_package(...) as package:`` to remove it. The short
    name is the folder's name or the zip's name without ``.zip``.
    """
    path = Path(path)
    if path.is_dir():
        return _parse(path, path.name)
    if not path.is_file():
        raise PackageError(str(path), "no such file or folder")
    if not zipfile.is_zipfile(path):
        raise PackageError(path.name, "not a folder or a zip archive")
    owned = None
    if extract_to is None:
        owned = Path(tempfile.mkdtemp(prefix="podium-package-"))
        dest = owned
    else:
        dest = Path(extract_to)
        dest.mkdir(parents=True, exist_ok=True)
        if any(dest.iterdir()):
            raise PackageError(str(dest), "the extraction folder is not empty")
    try:
        extract_zip(path, dest, max_bytes=max_bytes, max_files=max_files)
        package = _parse(package_root(dest), path.stem)
    except BaseException:
        shutil.rmtree(owned if owned is not None else dest, ignore_errors=True)
        if extract_to is not None:
            Path(extract_to).mkdir(parents=True, exist_ok=True)
        raise
    return replace(package, owned=owned) if owned is not None else package


# ------------------------------------------------------------------------------ parsing


def _parse(folder: Path, short_name: str) -> ProblemPackage:
    tree = Tree(folder)
    yaml_path = tree.root / _YAML
    if not yaml_path.is_file():
        raise PackageError(_YAML, "missing")
    config = tree.yaml(yaml_path)
    warnings: list[str] = []
    version = _version(config)
    legacy = version == "legacy"

    types, custom = _types(config, legacy)
    statements, assets = _statements(tree, legacy)
    titles = _titles(tree, config, statements, legacy)
    if not titles:
        warnings.append(f"{_YAML}: name: missing; the short name is the title")
    authors, source, source_url = _credits(config)
    license_ = _string(config, "license") or "unknown"
    if license_.lower() not in LICENSES:
        raise PackageError(_YAML, f"unknown license {license_!r} (one of: {', '.join(LICENSES)})",
                           field="license")
    rights_owner = _string(config, "rights_owner") or (authors[0] if authors else source)
    limits = _limits(tree, config, legacy, warnings)

    output_validators = _programs(tree, "output_validator", "output_validators")
    input_validators = _programs(tree, "input_validator", "input_validators")
    if not legacy and output_validators:
        custom = True
    if custom and not output_validators:
        warnings.append("the problem needs a custom output validator and has none "
                        "(output_validators/ or output_validator/)")

    flag_key = next((k for k in ("validator_flags", "output_validator_args",
                                 "output_validator_flags") if k in config), None)
    flags = words(config.get(flag_key), _YAML, flag_key or "validator_flags")
    check = _flag_checker(custom)
    if flag_key is not None:
        check(flags, _YAML, flag_key)
    testdata = read_testdata(tree, flags, check)
    warnings.extend(testdata.warnings)
    root_flags = next((testdata.root_settings[k] for k in ("output_validator_flags",
                                                            "output_validator_args")
                       if k in testdata.root_settings), None)
    if root_flags is not None:
        flags = words(root_flags, "data/testdata.yaml", "output_validator_args")

    return ProblemPackage(
        short_name=short_name, root=tree.root, format_version=version, config=config,
        titles=titles, statements=tuple(statements), statement_assets=tuple(assets),
        uuid=_string(config, "uuid"), authors=authors, source=source, source_url=source_url,
        license=license_.lower(), rights_owner=rights_owner,
        keywords=words(config.get("keywords"), _YAML, "keywords"), types=frozenset(types),
        custom_validator=custom, validator_flags=flags, limits=limits,
        output_validators=tuple(output_validators), input_validators=tuple(input_validators),
        groups=tuple(testdata.groups), test_cases=tuple(testdata.cases),
        submissions=tuple(read_submissions(tree)), warnings=tuple(warnings),
    )


def _flag_checker(custom: bool) -> Callable[[tuple[str, ...], str, str], None]:
    """Vets flags for the default validator (a custom validator's flags are its own affair)."""

    def check(flags: tuple[str, ...], file: str, field: str) -> None:
        if custom:
            return
        try:
            parse_flags(flags)
        except ValueError as exc:
            raise PackageError(file, str(exc), field=field) from None

    return check


def _version(config: dict[str, Any]) -> str:
    raw = config.get("problem_format_version", "legacy")
    version = _VERSIONS.get(str(raw))
    if version is None:
        raise PackageError(_YAML, f"unsupported version {raw!r} (supported: legacy, 2023-07)",
                           field="problem_format_version")
    return version


def _string(config: dict[str, Any], key: str, file: str = _YAML) -> str | None:
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise PackageError(file, f"must be a string, not {value!r}", field=key)
    return str(value).strip() or None


def _types(config: dict[str, Any], legacy: bool) -> tuple[set[str], bool]:
    """The problem types and whether the package judges output with its own validator."""
    if legacy:
        kind = _string(config, "type") or "pass-fail"
        if kind not in ("pass-fail", "scoring"):
            raise PackageError(_YAML, f"must be pass-fail or scoring, not {kind!r}", field="type")
        validation = (_string(config, "validation") or "default").split()
        if validation[0] not in ("default", "custom") or not set(validation[1:]) <= {
                "interactive", "score"} or (validation[0] == "default" and validation[1:]):
            raise PackageError(_YAML, "must be default, custom, custom interactive, custom "
                               f"score or custom interactive score, not {' '.join(validation)!r}",
                               field="validation")
        types = {kind} | ({"interactive"} if "interactive" in validation else set())
        return types, validation[0] == "custom"
    raw = config.get("type", "pass-fail")
    types = set(words(raw, _YAML, "type"))
    unknown = types - set(TYPES)
    if unknown or not types:
        raise PackageError(_YAML, f"unknown type {min(unknown) if unknown else raw!r} "
                           f"(types: {', '.join(TYPES)})", field="type")
    if {"pass-fail", "scoring"} <= types:
        raise PackageError(_YAML, "cannot be both pass-fail and scoring", field="type")
    if "scoring" not in types:
        types.add("pass-fail")
    custom = bool(types & {"interactive", "multi-pass"})
    return types, custom


def _statements(tree: Tree, legacy: bool) -> tuple[list[StatementFile], list[Path]]:
    names = ("problem_statement", "statement") if legacy else ("statement", "problem_statement")
    folder = next((tree.root / n for n in names if (tree.root / n).is_dir()), None)
    if folder is None:
        return [], []
    statements, assets = [], []
    for file in tree.files(folder):
        match = _STATEMENT.fullmatch(file.name) if file.parent == folder else None
        if match:
            statements.append(StatementFile(language=match.group(1) or "en",
                                            format=match.group(2), path=file))
        else:
            assets.append(file)
    statements.sort(key=lambda s: (s.language, s.format))
    return statements, assets


def _problemname(text: str) -> str | None:
    """The argument of ``\\problemname{...}`` (balanced braces)."""
    match = _PROBLEMNAME.search(text)
    if match is None:
        return None
    depth, start = 1, match.end()
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return " ".join(text[start:i].split()) or None
    return None


def _titles(tree: Tree, config: dict[str, Any], statements: list[StatementFile],
            legacy: bool) -> dict[str, str]:
    raw = config.get("name")
    titles: dict[str, str] = {}
    if isinstance(raw, str | int | float) and not isinstance(raw, bool):
        if str(raw).strip():
            titles["en"] = str(raw).strip()
    elif isinstance(raw, dict):
        for lang, title in raw.items():
            if not isinstance(lang, str) or not isinstance(title, str) or not title.strip():
                raise PackageError(_YAML, f"{lang}: must be a non-empty string", field="name")
            titles[lang] = title.strip()
    elif raw is not None:
        raise PackageError(_YAML, "must be a string or a mapping of language to string",
                           field="name")
    if not legacy and not titles:
        raise PackageError(_YAML, "required in the 2023-07 format", field="name")
    if legacy:
        for statement in statements:
            if statement.format == "tex" and statement.language not in titles:
                name = _problemname(tree.head(statement.path))
                if name:
                    titles[statement.language] = name
    return titles


def _credits(config: dict[str, Any]) -> tuple[tuple[str, ...], str | None, str | None]:
    authors: tuple[str, ...] = ()
    author = _string(config, "author")
    if author:
        authors = (author,)
    credits = config.get("credits")
    if credits is not None:
        if isinstance(credits, str):
            authors = (credits.strip(),)
        elif isinstance(credits, dict):
            value = credits.get("authors")
            if value is not None:
                if isinstance(value, str):
                    authors = (value.strip(),)
                elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                    authors = tuple(v.strip() for v in value)
                else:
                    raise PackageError(_YAML, "must be a string or a list of strings",
                                       field="credits.authors")
        else:
            raise PackageError(_YAML, "must be a string or a mapping", field="credits")
    raw, url = config.get("source"), _string(config, "source_url")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if isinstance(raw, dict):
        url = _string(raw, "url") or url
        source = _string(raw, "name")
    else:
        source = _string({"source": raw}, "source")
    return authors, source, url


def _limits(tree: Tree, config: dict[str, Any], legacy: bool,
            warnings: list[str]) -> ProblemLimits:
    raw = config.get("limits") or {}
    if not isinstance(raw, dict):
        raise PackageError(_YAML, "must be a mapping", field="limits")
    values: dict[str, Any] = {"ac_to_time_limit": 5.0 if legacy else 2.0,
                              "time_limit_to_tle": 2.0 if legacy else 1.5}
    for key, value in raw.items():
        field = f"limits.{key}"
        if key in _LIMITS_INT:
            values[_LIMITS_INT[key]] = int(number(value, _YAML, field, integer=True))
        elif key in _LIMITS_FLOAT:
            values[_LIMITS_FLOAT[key]] = float(number(value, _YAML, field))
        elif key == "time_multiplier":
            values["ac_to_time_limit"] = float(number(value, _YAML, field))
        elif key == "time_safety_margin":
            values["time_limit_to_tle"] = float(number(value, _YAML, field))
        elif key == "time_multipliers":
            if not isinstance(value, dict):
                raise PackageError(_YAML, "must be a mapping", field=field)
            for name, multiplier in value.items():
                if name not in ("ac_to_time_limit", "time_limit_to_tle"):
                    raise PackageError(_YAML, "unknown multiplier (ac_to_time_limit, "
                                       "time_limit_to_tle)", field=f"{field}.{name}")
                values[name] = float(number(multiplier, _YAML, f"{field}.{name}"))
        else:
            warnings.append(f"{_YAML}: {field}: unknown limit (ignored)")
    if "time_limit" in values:
        values["time_limit_from"] = _YAML
    extra = _domjudge_time_limit(tree)
    if extra is not None:
        file, seconds = extra
        if "time_limit" not in values:
            values["time_limit"], values["time_limit_from"] = seconds, file
        elif seconds != values["time_limit"]:
            warnings.append(f"{file}: {seconds:g} s ignored: problem.yaml says "
                            f"{values['time_limit']:g} s")
    return ProblemLimits(**values)


def _domjudge_time_limit(tree: Tree) -> tuple[str, float] | None:
    timelimit = tree.root / ".timelimit"
    if timelimit.is_file():
        text = tree.text(timelimit, limit=1024).strip()
        return ".timelimit", float(number(text, ".timelimit", "time limit"))
    ini = tree.root / "domjudge-problem.ini"
    if ini.is_file():
        for line in tree.text(ini).splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "timelimit":
                value = value.strip().strip("'\"")
                return ini.name, float(number(value, ini.name, "timelimit"))
    return None


def _programs(tree: Tree, single: str, several: str) -> list[Program]:
    """Validators: ``<single>/`` is one program; ``<several>/`` holds one per file or folder."""
    found: list[Program] = []
    folder = tree.root / single
    if folder.is_dir():
        tree.check(folder)
        if tree.files(folder):
            found.append(program(tree, folder))
    folder = tree.root / several
    if folder.is_dir():
        tree.check(folder)
        found.extend(program(tree, entry) for entry in tree.entries(folder))
    return found
