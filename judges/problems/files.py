"""Reading a package folder safely: listings, YAML and small text files, checked values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml

from judges.problems.model import PackageError

__all__ = ["Tree", "number", "words"]


IGNORED_NAMES = frozenset({"__pycache__"})
"""Entries a package may carry by accident (Python's byte-code caches): never read."""

class Tree:
    """A package folder. Every listing goes through :meth:`entries`, which refuses symbolic
    links that lead outside the package (a package must not smuggle in ``/etc/passwd``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def rel(self, path: Path) -> str:
        """``path`` relative to the package root, with ``/`` (a folder ends with ``/``)."""
        try:
            text = path.relative_to(self.root).as_posix()
        except ValueError:
            text = path.as_posix()
        return text + "/" if path.is_dir() and not path.is_symlink() and text != "." else text

    def check(self, path: Path) -> Path:
        """``path``, refusing a symbolic link whose target is outside the package."""
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.root):
                raise PackageError(self.rel(path), "symbolic link points outside the package")
            if not target.exists():
                raise PackageError(self.rel(path), "broken symbolic link")
        return path

    def link_file(self, path: Path) -> Path:
        """Follow a symbolic link that was checked out as a plain file.

        Git stores a symlink as a small file holding its target; a checkout (or an archive)
        without symlink support leaves that file in place of the link. A test data file of
        under 256 bytes whose whole content is a relative path to another file of the package,
        with the same extension, is such a link: the target is returned instead.
        """
        try:
            if path.stat().st_size >= 256:
                return path
            text = path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return path
        if not text or "\n" in text or text.startswith("/") or not text.endswith(path.suffix):
            return path
        target = (path.parent / text).resolve()
        if target.is_file() and target.is_relative_to(self.root) and target != path.resolve():
            return self.check(target)
        return path

    def entries(self, folder: Path) -> list[Path]:
        """The visible entries of ``folder`` (no dotfiles, no ``__pycache__``), sorted by name
        like problemtools."""
        try:
            names = sorted(p.name for p in folder.iterdir()
                           if not p.name.startswith(".") and p.name not in IGNORED_NAMES)
        except OSError as exc:
            raise PackageError(self.rel(folder), f"cannot list: {exc.strerror}") from None
        return [self.check(folder / name) for name in names]

    def files(self, folder: Path) -> list[Path]:
        """Every file under ``folder``, recursively, sorted by relative path."""
        found: list[Path] = []
        for entry in self.entries(folder):
            if entry.is_dir():
                found.extend(self.files(entry))
            else:
                found.append(entry)
        return sorted(found, key=lambda p: p.relative_to(folder).as_posix())

    def text(self, path: Path, limit: int = 1 << 20) -> str:
        """A small UTF-8 text file."""
        self.check(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise PackageError(self.rel(path), f"cannot read: {exc.strerror}") from None
        if len(data) > limit:
            raise PackageError(self.rel(path), f"larger than {limit} bytes")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PackageError(self.rel(path),
                               f"not UTF-8 ({exc.reason} at byte {exc.start})") from None

    def head(self, path: Path, size: int = 1 << 16) -> str:
        """The beginning of a text file, leniently decoded (enough to find a title)."""
        self.check(path)
        try:
            with open(path, "rb") as handle:
                return handle.read(size).decode("utf-8", errors="replace")
        except OSError as exc:
            raise PackageError(self.rel(path), f"cannot read: {exc.strerror}") from None

    def yaml(self, path: Path) -> dict[str, Any]:
        """A YAML file holding a mapping (an empty file is an empty mapping)."""
        text = self.text(path)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise PackageError(self.rel(path), f"invalid YAML: {where}{problem}") from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise PackageError(self.rel(path), f"must be a mapping, not {type(data).__name__}")
        bad = [key for key in data if not isinstance(key, str)]
        if bad:
            raise PackageError(self.rel(path), f"keys must be strings, not {bad[0]!r}")
        return data


def number(value: Any, file: str, field: str, *, integer: bool = False,
           positive: bool = True) -> float:
    """A finite number from YAML (numeric strings too: PyYAML reads ``1e-3`` as a string)."""
    kind = "integer" if integer else "number"
    want = f"a positive {kind}" if positive else f"a non-negative {kind}"
    if isinstance(value, bool):
        raise PackageError(file, f"must be {want}, not {value!r}", field=field)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise PackageError(file, f"must be {want}, not {value!r}", field=field) from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise PackageError(file, f"must be {want}, not {value!r}", field=field)
    if value < 0 or (positive and value == 0):
        raise PackageError(file, f"must be {want}, not {value!r}", field=field)
    if integer and value != int(value):
        raise PackageError(file, f"must be {want}, not {value!r}", field=field)
    return value


def words(value: Any, file: str, field: str) -> tuple[str, ...]:
    """Flags or keywords given as a string (split on whitespace) or a list of strings."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(v, str | int | float) and
                                       not isinstance(v, bool) for v in value):
        return tuple(str(v) for v in value)
    raise PackageError(file, f"must be a string or a list of strings, not {value!r}", field=field)
