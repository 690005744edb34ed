"""Inputs -> Inventory. Detects the kind of each file; walks directories."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipewarden.errors import InputError
from pipewarden.model import Inventory

__all__ = ["LoadResult", "Unit", "load_paths", "load_units", "plan_units"]


@dataclass
class LoadResult:
    """Inventories read, files skipped (with why) and files that failed."""

    inventories: list[Inventory] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        """Append another result's contents."""
        self.inventories.extend(other.inventories)
        self.notes.extend(other.notes)
        self.errors.extend(other.errors)
        self.files.extend(other.files)


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of input: a file, or the ``.tf`` files of one module directory.

    ``explicit`` units were named on the command line: when they are not a
    pipeline definition that is an error, not a note.
    """

    files: tuple[Path, ...]
    explicit: bool = False
    terraform_dir: Path | None = None


_SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".venv", "__pycache__", ".tox"})
_CANDIDATE_SUFFIXES = frozenset({".json", ".yaml", ".yml", ".template"})


def _walk(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if path.name not in _SKIP_DIRS:
                yield from _walk(path)
        elif path.is_file():
            yield path


def _is_auto_tfvars(path: Path) -> bool:
    """Variable files Terraform loads by itself: ``terraform.tfvars`` and ``*.auto.tfvars``."""
    return path.name == "terraform.tfvars" or path.name.endswith(".auto.tfvars")


def plan_units(paths: Iterable[Path]) -> list[Unit]:
    """Expand paths into units, in a deterministic order."""
    units: list[Unit] = []
    for root in paths:
        if not root.exists():
            raise InputError(str(root), "no such file or directory")
        if root.is_file():
            if root.suffix == ".tf":
                units.append(Unit((root,), explicit=True, terraform_dir=root.parent))
            else:
                units.append(Unit((root,), explicit=True))
            continue
        tf_dirs: dict[Path, list[Path]] = {}
        for path in _walk(root):
            if path.suffix == ".tf" or _is_auto_tfvars(path):
                tf_dirs.setdefault(path.parent, []).append(path)
            elif path.suffix.lower() in _CANDIDATE_SUFFIXES:
                units.append(Unit((path,)))
        units.extend(
            Unit(tuple(files), terraform_dir=directory)
            for directory, files in sorted(tf_dirs.items())
            if any(f.suffix == ".tf" for f in files)
        )
    return units


def load_units(units: Iterable[Unit]) -> LoadResult:
    """Read units. A bad unit found in a directory walk is recorded; the rest are read."""
    from pipewarden.parse.detect import load_file, load_terraform_dir

    result = LoadResult()
    for unit in units:
        label = str(
            unit.terraform_dir if unit.terraform_dir and len(unit.files) > 1 else unit.files[0]
        )
        try:
            if unit.terraform_dir is not None:
                inventory = load_terraform_dir(unit.terraform_dir, list(unit.files))
            else:
                inventory = load_file(unit.files[0])
        except InputError as exc:
            if unit.explicit:
                raise
            result.errors.append(exc)
            continue
        if inventory is None or not inventory.pipelines:
            what = "not a pipeline definition" if inventory is None else "defines no pipeline"
            if unit.explicit and inventory is None:
                raise InputError(
                    label,
                    "not a pipeline definition (get-pipeline JSON, CloudFormation, CDK, "
                    "Terraform or snapshot)",
                )
            result.notes.append(f"skipped {label}: {what}")
            continue
        result.inventories.append(inventory)
        result.files.extend(str(f) for f in unit.files)
    return result


def load_paths(paths: Iterable[Path]) -> LoadResult:
    """Read every path (files, or directories walked recursively).

    A file named explicitly that is not a pipeline input is an error; inside a
    directory it is skipped with a note. A bad file inside a directory is
    recorded in ``errors`` and the rest are still read.
    """
    return load_units(plan_units(paths))
