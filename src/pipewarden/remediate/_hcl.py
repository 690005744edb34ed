"""A small HCL writer and block locator for the Terraform emitter.

The writer renders blocks, attributes and values: plain strings (quoted, with
``${``/``%{`` escaped; multi-line strings as heredocs), references and joins
to other resources (Terraform expressions), maps, lists, numbers and booleans,
and raw fragments kept from the input as python-hcl2 gave them.

The locator finds the text span of a top-level block (``resource "type"
"name" { ... }``) so that a patched module keeps every other byte of its
files; it knows strings, ``${}`` interpolations, heredocs and comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.remediate._iamdb import RemediationError
from pipewarden.remediate._values import Join, Ref

__all__ = ["Block", "JsonEncode", "Raw", "find_block", "render_blocks", "value"]

PSEUDO_EXPRESSIONS: Final = {
    "${AWS::AccountId}": "data.aws_caller_identity.current.account_id",
    "${AWS::Region}": "data.aws_region.current.name",
    "${AWS::Partition}": "data.aws_partition.current.partition",
}
DATA_SOURCES: Final = {
    "${AWS::AccountId}": ("aws_caller_identity", "current"),
    "${AWS::Region}": ("aws_region", "current"),
    "${AWS::Partition}": ("aws_partition", "current"),
}
_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True, slots=True)
class Raw:
    """An HCL expression written verbatim."""

    text: str


@dataclass
class Block:
    """``type "label" ... { body }``; the body keeps its order."""

    type: str
    labels: tuple[str, ...] = ()
    body: list[tuple[str, Any]] = field(default_factory=list)

    def attr(self, name: str, item: Any) -> Block:
        if item is not None:
            self.body.append((name, item))
        return self

    def block(self, child: Block) -> Block:
        self.body.append(("", child))
        return self


def _escape(text: str) -> str:
    out = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return out.replace("${", "$${").replace("%{", "%%{")


class _Uses:
    """Pseudo placeholders met while rendering (they need data sources)."""

    def __init__(self) -> None:
        self.pseudo: set[str] = set()


def _template_piece(text: str, uses: _Uses) -> str:
    """A literal piece inside a quoted template, with pseudo placeholders as expressions."""
    out = []
    rest = text
    while rest:
        match = re.search(r"\$\{AWS::(AccountId|Region|Partition)\}", rest)
        if match is None:
            out.append(_escape(rest))
            break
        out.append(_escape(rest[: match.start()]))
        uses.pseudo.add(match.group(0))
        out.append("${" + PSEUDO_EXPRESSIONS[match.group(0)] + "}")
        rest = rest[match.end() :]
    return "".join(out)


def _heredoc(text: str) -> str:
    marker = "EOT"
    while marker in text:
        marker += "X"
    body = text.replace("${", "$${").replace("%{", "%%{")
    if not body.endswith("\n"):
        body += "\n"
    return f"<<-{marker}\n{body}{marker}"


def value(item: Any, uses: _Uses, indent: int = 0) -> str:
    """One HCL value."""
    pad = "  " * indent
    if isinstance(item, Raw):
        return item.text
    if isinstance(item, JsonEncode):
        return "jsonencode(" + value(item.document, uses, indent) + ")"
    if isinstance(item, Ref):
        if not item.tf:
            return '"' + _template_piece(item.value, uses) + '"'
        return item.tf
    if isinstance(item, Join):
        pieces = []
        for part in item.parts:
            if isinstance(part, Ref) and part.tf:
                pieces.append("${" + part.tf + "}")
            else:
                pieces.append(_template_piece(str(part), uses))
        return '"' + "".join(pieces) + '"'
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return str(item)
    if isinstance(item, str):
        if "\n" in item and "${AWS::" not in item:
            return _heredoc(item)
        return '"' + _template_piece(item, uses) + '"'
    if isinstance(item, Mapping):
        if not item:
            return "{}"
        lines = ["{"]
        for key, child in item.items():
            if str(key).startswith("__"):
                continue
            name = str(key) if _IDENT.match(str(key)) else '"' + _escape(str(key)) + '"'
            lines.append(f"{pad}  {name} = {value(child, uses, indent + 1)}")
        lines.append(f"{pad}}}")
        return "\n".join(lines)
    if isinstance(item, Sequence):
        if not item:
            return "[]"
        rendered = [value(child, uses, indent + 1) for child in item]
        if all("\n" not in r for r in rendered) and sum(len(r) for r in rendered) < 80:
            return "[" + ", ".join(rendered) + "]"
        inner = ",\n".join(f"{pad}  {r}" for r in rendered)
        return f"[\n{inner},\n{pad}]"
    if item is None:
        return "null"
    raise RemediationError(f"cannot write {type(item).__name__} as HCL")


@dataclass(frozen=True, slots=True)
class JsonEncode:
    """``jsonencode({...})`` of a document, references kept as expressions."""

    document: Any


def _render_body(block: Block, uses: _Uses, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    width = max((len(n) for n, v in block.body if n and not isinstance(v, Block)), default=0)
    previous_block = False
    for name, item in block.body:
        if isinstance(item, Block):
            if lines and not previous_block:
                lines.append("")
            lines.extend(_render_block(item, uses, indent))
            previous_block = True
            continue
        if previous_block:
            lines.append("")
        previous_block = False
        rendered = value(item, uses, indent)
        lines.append(f"{pad}{name.ljust(width)} = {rendered}")
    return lines


def _render_block(block: Block, uses: _Uses, indent: int = 0) -> list[str]:
    pad = "  " * indent
    labels = "".join(f' "{label}"' for label in block.labels)
    lines = [f"{pad}{block.type}{labels} {{"]
    lines.extend(_render_body(block, uses, indent + 1))
    lines.append(f"{pad}}}")
    return lines


def render_blocks(
    blocks: Sequence[Block], *, existing_data: set[tuple[str, str]] | None = None
) -> str:
    """Top-level blocks as HCL text, with the data sources their placeholders need."""
    uses = _Uses()
    chunks = ["\n".join(_render_block(b, uses)) for b in blocks]
    have = existing_data or set()
    data = []
    for placeholder in sorted(uses.pseudo):
        source = DATA_SOURCES[placeholder]
        if source in have:
            continue
        data.append(f'data "{source[0]}" "{source[1]}" {{}}')
    return "\n\n".join(data + chunks) + "\n"


# -- locating blocks in source text -------------------------------------------------


def find_block(text: str, kind: str, labels: Sequence[str]) -> tuple[int, int] | None:
    """The span (start of the line, end after the closing brace and newline) of a block."""
    label_re = "".join(r'\s+"' + re.escape(label) + '"' for label in labels)
    header = re.compile(r"(?m)^[ \t]*" + re.escape(kind) + label_re + r"\s*\{")
    for match in header.finditer(text):
        if _in_code(text, match.start()):
            end = _closing(text, match.end())
            if end is None:
                return None
            if end < len(text) and text[end] == "\n":
                end += 1
            return match.start(), end
    return None


def _in_code(text: str, position: int) -> bool:
    """Whether ``position`` is outside strings, heredocs and comments (top-level scan)."""
    scanner = _Scanner(text)
    while scanner.pos < position:
        if not scanner.step():
            return False
    return scanner.pos == position


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def step(self) -> bool:
        """Advance past one token; False at the end."""
        text, i = self.text, self.pos
        if i >= len(text):
            return False
        if text.startswith("#", i) or text.startswith("//", i):
            end = text.find("\n", i)
            self.pos = len(text) if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            self.pos = len(text) if end < 0 else end + 2
        elif text[i] == '"':
            self.pos = _string_end(text, i)
        elif text.startswith("<<", i):
            match = re.match(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n", text[i:])
            if match:
                marker = match.group(1)
                closing = re.compile(r"(?m)^[ \t]*" + re.escape(marker) + r"[ \t]*$")
                found = closing.search(text, i + match.end())
                self.pos = len(text) if found is None else found.end()
            else:
                self.pos = i + 2
        else:
            self.pos = i + 1
        return True


def _string_end(text: str, start: int) -> int:
    """The index after a quoted string starting at ``start`` (interpolations nest)."""
    i = start + 1
    depth = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if text.startswith("${", i) or text.startswith("%{", i):
            depth += 1
            i += 2
            continue
        if char == "}" and depth:
            depth -= 1
        elif char == '"' and depth == 0:
            return i + 1
        elif char == '"' and depth:
            i = _string_end(text, i)
            continue
        i += 1
    return len(text)


def _closing(text: str, after_open: int) -> int | None:
    scanner = _Scanner(text)
    scanner.pos = after_open
    depth = 1
    while scanner.pos < len(text):
        char = text[scanner.pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return scanner.pos + 1
        scanner.step()
    return None
