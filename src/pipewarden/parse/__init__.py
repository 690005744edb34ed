"""Inputs -> Inventory. Detects the kind of each file; walks directories."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipewarden.errors import InputError
from pipewarden.model import Inventory

__all__ = ["LoadResult", "load_paths"]


@dataclass
class LoadResult:
    """Inventories read, files skipped (with why) and files that failed."""

    inventories: list[Inventory] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


_SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".venv", "__pycache__", ".tox"})
_CANDIDATE_SUFFIXES = frozenset({".json", ".yaml", ".yml", ".template", ".tf"})


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if path.name not in _SKIP_DIRS:
                yield from _walk(path)
        elif path.is_file():
            yield path


def load_paths(paths: Iterable[Path], *, strict: bool = True) -> LoadResult:
    """Read every path (files, or directories walked recursively).

    A file named explicitly that is not a pipeline input is an error; inside a
    directory it is skipped with a note. A bad file inside a directory is
    recorded in ``errors`` and the rest are still read.
    """
    from pipewarden.parse.detect import load_file, load_terraform_dir

    result = LoadResult()
    for root in paths:
        if not root.exists():
            raise InputError(str(root), "no such file or directory")
        if root.is_file():
            inventory = load_file(root)
            if inventory is None:
                raise InputError(
                    str(root),
                    "not a pipeline definition (get-pipeline JSON, CloudFormation, CDK, Terraform or snapshot)",
                )
            result.inventories.append(inventory)
            result.files.append(str(root))
            continue
        tf_dirs: dict[Path, list[Path]] = {}
        for path in _walk(root):
            if path.suffix == ".tf":
                tf_dirs.setdefault(path.parent, []).append(path)
                continue
            if path.suffix.lower() not in _CANDIDATE_SUFFIXES:
                continue
            try:
                inventory = load_file(path)
            except InputError as exc:
                result.errors.append(exc)
                continue
            if inventory is None:
                result.notes.append(f"skipped {path}: not a pipeline definition")
                continue
            if not inventory.pipelines:
                result.notes.append(f"skipped {path}: defines no pipeline")
                continue
            result.inventories.append(inventory)
            result.files.append(str(path))
        for directory, files in sorted(tf_dirs.items()):
            try:
                inventory = load_terraform_dir(directory, files)
            except InputError as exc:
                result.errors.append(exc)
                continue
            if inventory is None or not inventory.pipelines:
                result.notes.append(f"skipped {directory}: Terraform without aws_codepipeline")
                continue
            result.inventories.append(inventory)
            result.files.extend(str(f) for f in files)
    return result
