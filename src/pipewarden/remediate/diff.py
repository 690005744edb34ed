"""The fix as a unified diff against the input.

A CloudFormation template or a ``.tf`` module is diffed against its patched
version; any other input (get-pipeline JSON, a snapshot, a plan) is diffed as
update-pipeline JSON, the original declaration against the hardened one. A
removed line never shows a secret: the literals the fix moved to Secrets
Manager, and anything the secret detector recognises, are masked.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable

from pipewarden.model import mask
from pipewarden.remediate._secretfix import literal_in_text
from pipewarden.remediate.plan import FixPlan

__all__ = ["declaration_diff", "masked_lines", "unified"]


def masked_lines(lines: Iterable[str], secrets: Iterable[str]) -> list[str]:
    """Lines with every known secret literal (and every detected one) masked."""
    known = sorted({s for s in secrets if s}, key=len, reverse=True)
    out = []
    for line in lines:
        for literal in [*known, *literal_in_text(line)]:
            if literal and literal in line:
                line = line.replace(literal, mask(literal))
        out.append(line)
    return out


def unified(
    before: str, after: str, path: str, secrets: Iterable[str], *, new: bool = False
) -> str:
    """One file's unified diff (``a/path`` -> ``b/path``), secrets masked."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    lines = difflib.unified_diff(
        a, b, "/dev/null" if new else f"a/{path}", f"b/{path}", lineterm="\n"
    )
    text = [
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    ]
    return "".join(masked_lines(text, secrets))


def declaration_diff(plan: FixPlan, path: str) -> str:
    """Original against hardened declarations, as update-pipeline JSON."""
    from pipewarden.remediate.pipeline_json import original_json, update_pipeline_input

    secrets: set[str] = set()
    before_docs: list[object] = []
    after_docs: list[object] = []
    for pipeline in plan.pipelines:
        secrets |= pipeline.redact
        before_docs.append({"pipeline": original_json(pipeline)})
        after_docs.append(update_pipeline_input(pipeline))
    one = len(plan.pipelines) == 1
    before = json.dumps(before_docs[0] if one else before_docs, indent=2) + "\n"
    after = json.dumps(after_docs[0] if one else after_docs, indent=2) + "\n"
    return unified(before, after, path, secrets)
