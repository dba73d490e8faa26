"""Safe extraction of a zipped problem package.

Refused, before anything is written: absolute names (``/x``, ``C:x``), ``..`` components,
backslashes and NUL bytes in names, duplicate names, symbolic links and other special files,
encrypted entries, more than ``max_files`` files, and archives that declare more than
``max_bytes`` uncompressed. While extracting, the bytes actually written are counted too, so a
lying header cannot get past ``max_bytes``. Files are created exclusively in a fresh folder and
no link is ever created, so nothing can be written outside it.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

from judges.problems.model import PackageError

__all__ = ["MAX_BYTES", "MAX_FILES", "extract_zip", "package_root"]

MAX_BYTES = 1 << 30
"""Default cap on the total uncompressed size of a package (1 GiB)."""

MAX_FILES = 100_000
"""Default cap on the number of files in a package."""

_BLOCK = 1 << 20
_IGNORED_TOP = {"__MACOSX"}


def _member_path(archive: str, info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    if "\x00" in name or "\\" in name:
        raise PackageError(archive, "a NUL byte or backslash in the name", field=repr(name))
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise PackageError(archive, "absolute path", field=name)
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise PackageError(archive, "path escapes the package ('..')", field=name)
    if not path.parts:
        raise PackageError(archive, "empty name", field=repr(name))
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise PackageError(archive, "symbolic links are not allowed", field=name)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise PackageError(archive, "special files are not allowed", field=name)
    if info.flag_bits & 0x1:
        raise PackageError(archive, "encrypted entries are not supported", field=name)
    return path


def extract_zip(zip_path: Path, dest: Path, *, max_bytes: int = MAX_BYTES,
                max_files: int = MAX_FILES) -> None:
    """Extract ``zip_path`` into the empty folder ``dest`` after checking every entry."""
    archive = zip_path.name
    try:
        zf = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise PackageError(archive, f"not a readable zip archive ({exc})") from None
    with zf:
        members: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
        folders: list[PurePosixPath] = []
        seen: set[PurePosixPath] = set()
        declared = files = 0
        for info in zf.infolist():
            path = _member_path(archive, info)
            if path in seen:
                raise PackageError(archive, "duplicate entry", field=info.filename)
            seen.add(path)
            if info.is_dir():
                folders.append(path)
                continue
            files += 1
            declared += info.file_size
            if files > max_files:
                raise PackageError(archive, f"more than {max_files} files")
            if declared > max_bytes:
                raise PackageError(
                    archive, f"more than {max_bytes} bytes uncompressed (a zip bomb?)")
            members.append((info, path))
        written = 0
        root = dest.resolve()
        for folder in folders:
            try:
                root.joinpath(*folder.parts).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PackageError(archive, f"cannot extract: {exc}", field=str(folder)) from None
        for info, path in members:
            target = root.joinpath(*path.parts)
            if not target.resolve().is_relative_to(root):  # pragma: no cover - defence in depth
                raise PackageError(archive, "path escapes the package", field=info.filename)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(target, "xb") as sink:
                    while block := source.read(_BLOCK):
                        written += len(block)
                        if written > max_bytes:
                            raise PackageError(
                                archive, f"more than {max_bytes} bytes uncompressed (a zip bomb?)")
                        sink.write(block)
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise PackageError(archive, f"cannot extract: {exc}", field=info.filename) from None


def package_root(folder: Path) -> Path:
    """Where the package is in an extracted archive: the folder itself, or its only subfolder."""
    if (folder / "problem.yaml").is_file():
        return folder
    top = [p for p in folder.iterdir() if p.name not in _IGNORED_TOP and not p.name.startswith(".")]
    if len(top) == 1 and top[0].is_dir() and (top[0] / "problem.yaml").is_file():
        return top[0]
    return folder
