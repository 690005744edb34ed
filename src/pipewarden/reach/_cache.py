"""The parse cache: module IR keyed by the SHA-256 of the source, on disk, built on 2 cores.

Entries are :mod:`marshal` data (tuples, strings, integers; never code that
runs) under ``<dir>/<2 hex>/<sha256>.ir``, written atomically. The key covers
the source bytes, the IR format version and the Python minor version (the
``ast`` module changes between versions). A corrupt or foreign entry is a
miss, never an error. The directory must be as trusted as the tool itself:
anyone who can write to it can change what the analysis sees.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Final

from pipewarden.reach._ir import IR_VERSION, build_ir

__all__ = ["IRCache", "default_cache_dir"]

_LOG = logging.getLogger(__name__)
_PARALLEL_MIN: Final = 64
"""Fewer modules than this to build are built in-process (no worker start-up)."""
_CHUNK: Final = 32


def default_cache_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``$PIPEWARDEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/pipewarden``, else ``~/.cache/pipewarden``."""
    env = os.environ if environ is None else environ
    explicit = env.get("PIPEWARDEN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "pipewarden"


def _key(data: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(
        f"pipewarden-ir/{IR_VERSION}/py{sys.version_info[0]}.{sys.version_info[1]}/".encode()
    )
    digest.update(data)
    return digest.hexdigest()


def _build_chunk(items: Sequence[tuple[str, bytes, str]]) -> list[tuple[str, Any]]:
    return [(key, build_ir(data, name)) for key, data, name in items]


class IRCache:
    """Module IR by source hash: memory first, then the cache directory, then a build."""

    def __init__(self, directory: Path | None, *, jobs: int = 2) -> None:
        self.directory = directory / "ir" if directory is not None else None
        self.jobs = max(1, jobs)
        self._memory: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0
        self._writable = True

    def _path(self, key: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / key[:2] / f"{key}.ir"

    def _load(self, key: str) -> Any | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
            value = marshal.loads(raw)  # noqa: S302 - data written by this module only
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if not (isinstance(value, tuple) and len(value) == 5 and value[0] == IR_VERSION):
            return None
        return value

    def _store(self, key: str, ir: Any) -> None:
        path = self._path(key)
        if path is None or not self._writable:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(marshal.dumps(ir))
                Path(tmp).replace(path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            _LOG.debug("parse cache not writable (%s); continuing without it", exc)
            self._writable = False

    def get(self, data: bytes, name: str) -> Any:
        """The IR of ``data`` (the source of ``name``)."""
        key = _key(data)
        found = self._memory.get(key)
        if found is not None:
            return found
        found = self._load(key)
        if found is None:
            self.misses += 1
            found = build_ir(data, name)
            self._store(key, found)
        else:
            self.hits += 1
        self._memory[key] = found
        return found

    def prefetch(self, sources: Sequence[tuple[bytes, str]]) -> None:
        """Build (in worker processes when worthwhile) every IR not cached yet."""
        todo: list[tuple[str, bytes, str]] = []
        seen: set[str] = set()
        for data, name in sources:
            key = _key(data)
            if key in self._memory or key in seen:
                continue
            found = self._load(key)
            if found is not None:
                self.hits += 1
                self._memory[key] = found
                continue
            seen.add(key)
            todo.append((key, data, name))
        if not todo:
            return
        self.misses += len(todo)
        if self.jobs < 2 or len(todo) < _PARALLEL_MIN:
            results = _build_chunk(todo)
        else:
            chunks = [todo[i : i + _CHUNK] for i in range(0, len(todo), _CHUNK)]
            try:
                with ProcessPoolExecutor(max_workers=self.jobs) as pool:
                    results = [pair for part in pool.map(_build_chunk, chunks) for pair in part]
            except (OSError, RuntimeError) as exc:  # no worker processes here: build in-process
                _LOG.debug("worker processes unavailable (%s); parsing in-process", exc)
                results = _build_chunk(todo)
        for key, ir in results:
            self._memory[key] = ir
            self._store(key, ir)
