"""Version pins from requirements files and lock files (when code is not installed).

Each reader returns :class:`Pin` records; a pin without an exact ``==``
version (a range, a wildcard, a ``name @ URL`` reference) keeps
``version=None`` (the version in use is then unknown, so a version range can
never clear it). Readers are strict about size and lenient about content: a
line they do not understand is skipped with a note, never guessed.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from typing import Any, Final

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pipewarden.errors import ParseError

__all__ = ["Pin", "is_pin_file", "read_pins"]

MAX_INCLUDES: Final = 20


@dataclass(frozen=True, slots=True)
class Pin:
    """One package named by a requirements or lock file."""

    name: str
    key: str
    version: str | None
    source: str
    requires: tuple[str, ...] | None = None
    """Canonical names of its dependencies, when the lock file records them."""


def is_pin_file(path: str) -> bool:
    """Whether ``path`` (relative, POSIX) names a file this module reads."""
    name = path.rpartition("/")[2]
    if name in ("poetry.lock", "uv.lock", "Pipfile.lock"):
        return True
    return name.endswith(".txt") and (
        name.startswith("requirements") or "/requirements/" in f"/{path}"
    )


def read_pins(path: str, text: str, notes: list[str]) -> list[Pin]:
    """Every pin in the file ``path`` (its kind judged by its name)."""
    name = path.rpartition("/")[2]
    if name == "poetry.lock":
        return _lock_toml(path, text, "poetry.lock")
    if name == "uv.lock":
        return _lock_toml(path, text, "uv.lock")
    if name == "Pipfile.lock":
        return _pipfile_lock(path, text, notes)
    return _requirements(path, text, notes)


def _requirements(path: str, text: str, notes: list[str]) -> list[Pin]:
    pins: list[Pin] = []
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        logical.append(line)
    for lineno, line in enumerate(logical, start=1):
        content = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not content or content.startswith("#"):
            continue
        if content.startswith("-"):
            continue  # options, -r/-c includes (read separately when present), -e
        # --hash options trail the requirement on the same logical line.
        content = content.split(" --", 1)[0].strip()
        if content.startswith((".", "/")):
            notes.append(f"{path}:{lineno}: not a named requirement, skipped")
            continue
        try:
            req = Requirement(content)
        except InvalidRequirement:
            what = "not a named requirement" if "://" in content else "cannot parse requirement"
            notes.append(f"{path}:{lineno}: {what}, skipped")
            continue
        # ``name @ URL`` names the package but not its version.
        version = None if req.url else _exact(req)
        pins.append(Pin(req.name, canonicalize_name(req.name), version, f"{path}:{lineno}"))
    return pins


def _exact(req: Requirement) -> str | None:
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _lock_toml(path: str, text: str, kind: str) -> list[Pin]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(path, f"invalid TOML: {exc}") from exc
    packages = data.get("package", [])
    if not isinstance(packages, list):
        raise ParseError(path, f"{kind}: `package` is not a list")
    pins: list[Pin] = []
    for entry in packages:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        version = entry.get("version")
        if not isinstance(name, str):
            continue
        requires = _lock_requires(entry.get("dependencies"))
        pins.append(
            Pin(
                name,
                canonicalize_name(name),
                version if isinstance(version, str) else None,
                path,
                requires,
            )
        )
    return pins


def _lock_requires(deps: Any) -> tuple[str, ...]:
    names: list[str] = []
    if isinstance(deps, dict):  # poetry: {name: constraint}
        names = [k for k in deps if isinstance(k, str)]
    elif isinstance(deps, list):  # uv: [{name = ...}]
        names = [d["name"] for d in deps if isinstance(d, dict) and isinstance(d.get("name"), str)]
    return tuple(sorted({canonicalize_name(n) for n in names}))


def _pipfile_lock(path: str, text: str, notes: list[str]) -> list[Pin]:
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(path, f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ParseError(path, "Pipfile.lock is not a JSON object")
    pins: list[Pin] = []
    section = data.get("default", {})
    if not isinstance(section, dict):
        return pins
    if data.get("develop"):
        notes.append(f"{path}: `develop` packages are not deployed and were not read")
    for name, entry in section.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            continue
        spec = entry.get("version")
        version = None
        if isinstance(spec, str) and spec.startswith("==") and "*" not in spec:
            version = spec[2:].strip()
        pins.append(Pin(name, canonicalize_name(name), version, path))
    return pins
