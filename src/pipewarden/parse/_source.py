"""Reading untrusted input files: size limits, encoding, JSON with positions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import InputError, ParseError
from pipewarden.model.location import escape_token

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
    """Refuse documents nested deeper than ``limit`` (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise ParseError(source, f"nesting deeper than {limit} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


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


_TOKEN: Final = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|[{}\[\]:,]|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null|\n'
)


class JsonPositions:
    """Position index of a JSON text, built lazily on the first lookup.

    Maps every member and element to the 1-based line and column where its
    key (for members) or value (for elements) starts.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._index: dict[str, tuple[int, int]] | None = None

    def _build(self) -> dict[str, tuple[int, int]]:
        index: dict[str, tuple[int, int]] = {"": (1, 1)}
        # Stack of containers: [kind, pointer, next element index, pending key]
        stack: list[list[Any]] = []
        line = 1
        line_start = 0
        expecting_key = False
        pending: str | None = None
        for match in _TOKEN.finditer(self._text):
            tok = match.group()
            start = match.start()
            if tok == "\n":
                line += 1
                line_start = start + 1
                continue
            col = start - line_start + 1
            if tok in "{[":
                if stack:
                    top = stack[-1]
                    if top[0] == "[":
                        ptr = f"{top[1]}/{top[2]}"
                        index.setdefault(ptr, (line, col))
                        top[2] += 1
                    else:
                        ptr = f"{top[1]}/{escape_token(pending or '')}"
                else:
                    ptr = ""
                stack.append([tok, ptr, 0])
                expecting_key = tok == "{"
            elif tok in "]}":
                if stack:
                    stack.pop()
                expecting_key = False
            elif tok == ",":
                expecting_key = bool(stack) and stack[-1][0] == "{"
            elif tok == ":":
                expecting_key = False
            else:
                if not stack:
                    continue
                top = stack[-1]
                if top[0] == "{":
                    if expecting_key:
                        try:
                            pending = json.loads(tok)
                        except ValueError:
                            pending = tok.strip('"')
                        index[f"{top[1]}/{escape_token(str(pending))}"] = (line, col)
                        expecting_key = False
                else:
                    index.setdefault(f"{top[1]}/{top[2]}", (line, col))
                    top[2] += 1
        return index

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer`` or of its nearest ancestor that has one."""
        if self._index is None:
            self._index = self._build()
        probe = pointer
        while True:
            found = self._index.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe.rsplit("/", 1)[0]
