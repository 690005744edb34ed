"""Reading untrusted input files: size limits, encoding, JSON with positions."""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import InputError, ParseError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "JsonPositions", "check_depth", "load_json", "read_text"]

MAX_BYTES: Final = 20 * 1024 * 1024
MAX_DEPTH: Final = 200


def read_text(path: Path, *, max_bytes: int = MAX_BYTES) -> str:
    """Read a UTF-8 text file no larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if size > max_bytes:
        raise InputError(str(path), f"file is {size} bytes, over the {max_bytes}-byte limit")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise InputError(str(path), f"file is over the {max_bytes}-byte limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})") from exc
    return text.removeprefix("\ufeff")


def check_depth(value: Any, source: str, *, limit: int = MAX_DEPTH) -> None:
    """Refuse documents nested deeper than ``limit`` (the root is at depth 1; no recursion).

    Walks one level at a time, keeping only the containers of the next level.
    """
    depth = 1  # of the nodes in ``level``
    level = [value]
    while level:
        if depth > limit:
            raise ParseError(source, f"nesting deeper than {limit} levels")
        children: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                children.extend(node.values())
            elif isinstance(node, list):
                children.extend(node)
        if children and depth + 1 > limit:
            raise ParseError(source, f"nesting deeper than {limit} levels")
        level = [c for c in children if isinstance(c, (dict, list))]
        depth += 1


_OPEN_DEPTH: Final = re.compile(r"[\[{]")


def load_json(text: str, source: str) -> Any:
    """Decode JSON, refusing pathological nesting before decoding it."""
    # A cheap pre-check: json's C decoder recurses per level.
    depth = 0
    deepest = 0
    if text.count("[") + text.count("{") > MAX_DEPTH:
        in_string = False
        escaped = False
        for ch in text:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"':
                in_string = True
            elif ch in "[{":
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_DEPTH:
                    raise ParseError(source, f"nesting deeper than {MAX_DEPTH} levels")
            elif ch in "]}":
                depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(source, f"invalid JSON: {exc.msg}", line=exc.lineno) from exc
    except RecursionError as exc:
        raise ParseError(source, "nesting too deep") from exc


_WHITESPACE: Final = re.compile(r"[ \t\n\r]*")
_DECODER: Final = json.JSONDecoder()


class JsonPositions:
    """Position index of a JSON text: pointer -> 1-based (line, column).

    Members point at their key, elements at their value. Lookups walk the
    text along the pointer, skipping sibling values with the C decoder, and
    remember every member and element passed on the way, so a file costs
    about one decode however many results point into it. Where a key repeats,
    the last one wins, as in ``json.loads``.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        # pointer -> (offset reported, offset of the value)
        self._seen: dict[str, tuple[int, int]] = {"": (0, _WHITESPACE.match(text).end())}  # type: ignore[union-attr]
        self._scanned: set[str] = set()

    def _skip(self, offset: int) -> int:
        return _WHITESPACE.match(self._text, offset).end()  # type: ignore[union-attr]

    def _scan(self, pointer: str, offset: int) -> None:
        """Record every member or element of the container at ``offset``."""
        text = self._text
        self._scanned.add(pointer)
        try:
            opener = text[offset]
            i = self._skip(offset + 1)
            if opener == "{":
                while text[i] == '"':
                    key, j = scanstring(text, i + 1)
                    j = self._skip(j)
                    if text[j] != ":":
                        return
                    value = self._skip(j + 1)
                    token = key.replace("~", "~0").replace("/", "~1")
                    self._seen[f"{pointer}/{token}"] = (i, value)
                    end = self._skip(_DECODER.raw_decode(text, value)[1])
                    if text[end] != ",":
                        return
                    i = self._skip(end + 1)
            elif opener == "[":
                index = 0
                while text[i] != "]":
                    self._seen[f"{pointer}/{index}"] = (i, i)
                    end = self._skip(_DECODER.raw_decode(text, i)[1])
                    if text[end] != ",":
                        return
                    i = self._skip(end + 1)
                    index += 1
        except (IndexError, ValueError):
            return

    def _find(self, pointer: str) -> int | None:
        found = self._seen.get(pointer)
        if found is not None:
            return found[0]
        if not pointer:
            return None
        parent = pointer.rsplit("/", 1)[0]
        if parent in self._scanned:
            return None
        if self._find(parent) is None:
            return None
        self._scan(parent, self._seen[parent][1])
        found = self._seen.get(pointer)
        return found[0] if found is not None else None

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer`` or of its nearest ancestor that has one."""
        probe = pointer
        while True:
            offset = self._find(probe)
            if offset is not None:
                line = self._text.count("\n", 0, offset) + 1
                return line, offset - self._text.rfind("\n", 0, offset)
            if not probe:
                return None
            probe = probe.rsplit("/", 1)[0]
