"""Finding plaintext secrets in declaration values and naming their replacements.

The detectors are the rules' own (:mod:`pipewarden.rules._secrets`), so what
the fix moves is exactly what PW601/PW602 report. A secret found in free
text (a command line, an inline buildspec) is located down to the literal
itself, so only that literal is replaced by a variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

from pipewarden.model import mask
from pipewarden.rules._secrets import (
    find_secret,
    find_secret_in_text,
    is_reference,
    looks_secret_name,
)

__all__ = ["literal_in_text", "plaintext_env_entries", "secret_name"]

_ASSIGN: Final = re.compile(
    r"""["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?:=|:(?!//))\s*("[^"]*"|'[^']*'|[^\s;&|]+)"""
)
_FLAG: Final = re.compile(
    r"""--?([A-Za-z][A-Za-z0-9-]*)(?:=|\s+)("[^"]*"|'[^']*'|[^\s;&|-][^\s;&|]*)"""
)
_TOKEN: Final = re.compile(r"""[^\s'"=;&|()<>`,]+""")
_NAME_CHARS: Final = re.compile(r"[^A-Za-z0-9/_+=.@-]+")


def _candidates(line: str) -> Iterator[str]:
    for pattern in (_ASSIGN, _FLAG):
        for match in pattern.finditer(line):
            value = match.group(2).strip("'\"")
            if value and find_secret(match.group(1), value) is not None:
                yield value
    for match in _TOKEN.finditer(line):
        token = match.group(0)
        if (len(token) >= 8 and find_secret_in_text(token) is not None) or (
            "://" in token and find_secret_in_text(token) is not None
        ):
            yield token


def literal_in_text(text: str) -> list[str]:
    """The secret literals in a script or buildspec, longest first (empty when none)."""
    found: list[str] = []
    for line in text.splitlines():
        if find_secret_in_text(line) is None:
            continue
        for candidate in _candidates(line):
            if candidate not in found:
                found.append(candidate)
    return sorted(found, key=len, reverse=True)


def masked(literal: str) -> str:
    """The masked form shown instead of a secret."""
    return mask(literal)


def secret_name(pipeline: str, *words: str) -> str:
    """A Secrets Manager name for a moved secret: ``pipewarden/<pipeline>/<words>``."""
    tail = "-".join(_NAME_CHARS.sub("-", w).strip("-").lower() for w in words if w)
    name = f"pipewarden/{_NAME_CHARS.sub('-', pipeline)}/{tail}"
    return name[:512]


def plaintext_env_entries(raw: str) -> list[tuple[int, str, str]] | None:
    """(index, name, value) of PLAINTEXT entries of a CodeBuild ``EnvironmentVariables``
    JSON string that hold a secret; None when the string is not such JSON."""
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, list):
        return None
    out = []
    for index, entry in enumerate(doc):
        if not isinstance(entry, dict):
            continue
        if entry.get("type", "PLAINTEXT") != "PLAINTEXT":
            continue
        name, value = entry.get("name"), entry.get("value")
        if not isinstance(value, str) or not value.strip() or is_reference(value):
            continue
        if find_secret(str(name or ""), value) is not None or looks_secret_name(str(name or "")):
            out.append((index, str(name or ""), value))
    return out
