"""Read-only views of an artifact: a directory or a zip archive, treated as hostile.

Nothing is extracted. A zip member is read through :mod:`zipfile` with a cap
on the bytes actually inflated (declared sizes can lie); member names that are
absolute, contain ``..``, or are symbolic links are refused or skipped; a
directory walk never follows a link out of the artifact.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

from pipewarden.errors import InputError

__all__ = [
    "MAX_ARCHIVE_MEMBERS",
    "MAX_ARCHIVE_TOTAL",
    "MAX_FILES",
    "MAX_MEMBER_RATIO",
    "ArtifactFS",
    "DirFS",
    "ZipFS",
    "open_artifact",
]

MAX_FILES: Final = 400_000
"""Most files an artifact may hold (a large Django deployment has ~30,000)."""
MAX_ARCHIVE_MEMBERS: Final = 400_000
MAX_ARCHIVE_TOTAL: Final = 4 * 1024 * 1024 * 1024
"""Most bytes the members of an archive may declare in total, inflated."""
MAX_MEMBER_RATIO: Final = 200
"""Most a member may inflate relative to its compressed size once over 1 MiB."""
_RATIO_FLOOR: Final = 1024 * 1024
_SKIP_DIRS: Final = frozenset(
    {"__pycache__", ".git", ".hg", ".svn", "node_modules", ".tox", ".mypy_cache", ".pytest_cache"}
)


class ArtifactFS(Protocol):
    """What the analysis needs from an artifact: its file names and their bytes."""

    label: str
    notes: list[str]

    def files(self) -> list[str]:
        """Every regular file, as a POSIX path relative to the artifact root, sorted."""
        ...

    def read(self, path: str, *, limit: int) -> bytes:
        """The bytes of ``path``; InputError when missing or larger than ``limit``."""
        ...

    def size(self, path: str) -> int:
        """The size of ``path`` in bytes (as declared, for archives)."""
        ...


def _safe_name(name: str) -> str | None:
    """A normalised relative POSIX path, or None when it could escape the root."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(posix).parts if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        return None
    if any("\x00" in p for p in parts):
        return None
    return "/".join(parts)


class DirFS:
    """A directory artifact."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.label = str(root)
        self.notes: list[str] = []
        self._files: list[str] | None = None
        self._sizes: dict[str, int] = {}

    def files(self) -> list[str]:
        if self._files is None:
            self._files = sorted(self._walk())
        return self._files

    def _walk(self) -> Iterator[str]:
        count = 0
        root_text = str(self.root)
        stack = [self.root]
        while stack:
            directory = stack.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError as exc:
                self.notes.append(f"cannot list {directory}: {exc.strerror or exc}")
                continue
            for entry in entries:
                try:
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if not (target == root_text or target.startswith(root_text + os.sep)):
                            rel = os.path.relpath(entry.path, root_text)
                            self.notes.append(f"skipped link leaving the artifact: {rel}")
                            continue
                        if Path(target).is_dir():
                            continue  # links to directories inside: not followed (no cycles)
                        st = Path(target).stat()
                    elif entry.is_dir(follow_symlinks=False):
                        if entry.name not in _SKIP_DIRS:
                            stack.append(Path(entry.path))
                        continue
                    else:
                        st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode):
                    continue
                count += 1
                if count > MAX_FILES:
                    raise InputError(self.label, f"more than {MAX_FILES} files")
                rel = os.path.relpath(entry.path, root_text).replace(os.sep, "/")
                self._sizes[rel] = st.st_size
                yield rel

    def size(self, path: str) -> int:
        if path not in self._sizes:
            self.files()
        return self._sizes.get(path, 0)

    def read(self, path: str, *, limit: int) -> bytes:
        safe = _safe_name(path)
        if safe is None:
            raise InputError(self.label, f"refused path {path!r}")
        full = self.root / safe
        try:
            real = full.resolve()
            if not real.is_relative_to(self.root):
                raise InputError(self.label, f"{safe}: link leaves the artifact")
            # Non-blocking, so that a FIFO put where a file was listed cannot stall the read.
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise InputError(f"{self.label}/{safe}", "not a regular file")
                data = fh.read(limit + 1)
        except OSError as exc:
            raise InputError(f"{self.label}/{safe}", f"cannot read: {exc.strerror or exc}") from exc
        if len(data) > limit:
            raise InputError(f"{self.label}/{safe}", f"over the {limit}-byte limit")
        return data


class ZipFS:
    """A zip artifact (a Lambda deployment package, a wheel-like bundle)."""

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        self.notes: list[str] = []
        try:
            self._zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile, ValueError) as exc:
            raise InputError(self.label, f"not a readable zip archive: {exc}") from exc
        infos = self._zip.infolist()
        if len(infos) > MAX_ARCHIVE_MEMBERS:
            raise InputError(self.label, f"more than {MAX_ARCHIVE_MEMBERS} archive members")
        total = 0
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.is_dir():
                continue
            mode = (info.external_attr >> 16) & 0o170000
            if mode == stat.S_IFLNK:
                self.notes.append(f"skipped symbolic link in archive: {info.filename}")
                continue
            safe = _safe_name(info.filename)
            if safe is None:
                raise InputError(self.label, f"archive member escapes the root: {info.filename!r}")
            if safe in self._members:
                raise InputError(self.label, f"archive member appears twice: {safe}")
            if info.file_size < 0 or info.compress_size < 0:
                raise InputError(self.label, f"archive member has a negative size: {safe}")
            total += info.file_size
            if total > MAX_ARCHIVE_TOTAL:
                raise InputError(
                    self.label, f"archive inflates to more than {MAX_ARCHIVE_TOTAL} bytes"
                )
            if info.file_size > _RATIO_FLOOR and info.file_size > MAX_MEMBER_RATIO * max(
                info.compress_size, 1
            ):
                raise InputError(
                    self.label,
                    f"archive member {safe} inflates {info.file_size // max(info.compress_size, 1)}"
                    f"-fold (a decompression bomb?)",
                )
            self._members[safe] = info

    def files(self) -> list[str]:
        return sorted(self._members)

    def size(self, path: str) -> int:
        info = self._members.get(path)
        return info.file_size if info is not None else 0

    def read(self, path: str, *, limit: int) -> bytes:
        info = self._members.get(path)
        if info is None:
            raise InputError(self.label, f"no archive member {path}")
        if info.file_size > limit:
            raise InputError(f"{self.label}!{path}", f"over the {limit}-byte limit")
        try:
            with self._zip.open(info) as fh:
                data = fh.read(limit + 1)
        except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            raise InputError(f"{self.label}!{path}", f"cannot inflate: {exc}") from exc
        if len(data) > limit:
            raise InputError(f"{self.label}!{path}", f"inflates past the {limit}-byte limit")
        return data


def open_artifact(path: Path) -> ArtifactFS:
    """The artifact at ``path``: a directory, or a zip archive (any extension)."""
    if path.is_dir():
        return DirFS(path)
    if path.is_file():
        if zipfile.is_zipfile(path):
            return ZipFS(path)
        raise InputError(str(path), "not a directory or a zip archive")
    raise InputError(str(path), "no such file or directory")
