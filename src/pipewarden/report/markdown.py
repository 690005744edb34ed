"""Markdown for a pull-request comment (GitHub-flavoured).

A table of counts, a table of unsuppressed failures (most severe first), and
collapsed sections for unknown results, suppressed results, notes and rule
errors. Input-derived text goes through :func:`md`: one line, markdown
punctuation backslash-escaped (so names cannot open links, emphasis, code spans
or table cells), ``<``, ``>`` and ``&`` as entities (no raw HTML), and ``@``
followed by a word joiner so a name cannot mention a user or team. Each table
shows at most :data:`MAX_ROWS` rows; the JSON and SARIF reports carry all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from pipewarden import __version__
from pipewarden.engine import ScanResult
from pipewarden.model import Result, Status
from pipewarden.report._common import (
    docs_url,
    location_text,
    pipeline_groups,
    printable,
    result_sort_key,
    summarize,
)

__all__ = ["MAX_ROWS", "md", "render"]

MAX_ROWS: Final = 200

# Characters with inline meaning in a table cell: code spans, emphasis, links,
# cell separators, strikethrough and math.
_PUNCT: Final = re.compile(r"([\\`*_{}\[\]()|~$])")
_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def md(text: object) -> str:
    """Input-derived text, inert inside a markdown table cell."""
    line = printable(text)
    line = "".join(_ENTITIES.get(ch, ch) for ch in line)
    line = _PUNCT.sub(r"\\\1", line)
    return line.replace("@", "@\u2060")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in rows[:MAX_ROWS])
    if len(rows) > MAX_ROWS:
        lines.append("")
        lines.append(f"… and {len(rows) - MAX_ROWS} more (see the JSON or SARIF report).")
    return lines


def _rule_cell(result: Result) -> str:
    return f"[{md(result.rule_id)} {md(result.slug)}]({docs_url(result.slug)})"


def _rows(results: Iterable[Result], *, reason: bool = False) -> list[list[str]]:
    rows = []
    for r in results:
        row = [
            md(r.severity),
            _rule_cell(r),
            md(r.pipeline),
            md(location_text(r.location)),
            md(r.message),
        ]
        if reason:
            row.append(md(r.suppressed or ""))
        rows.append(row)
    return rows


def _details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def render(scan: ScanResult) -> str:
    """The report as GitHub-flavoured markdown."""
    summary = summarize(scan)
    ordered = sorted(scan.results, key=result_sort_key)
    failures = [r for r in ordered if r.status is Status.FAIL and r.suppressed is None]
    unknowns = [r for r in ordered if r.status is Status.UNKNOWN and r.suppressed is None]
    suppressed = [r for r in ordered if r.suppressed is not None]
    out: list[str] = [f"## PipeWarden {md(__version__)}", ""]
    verdict = (
        f"**{summary.failures} failing result(s)** in {summary.pipelines} pipeline(s)"
        if summary.failures
        else f"**No failing results** in {summary.pipelines} pipeline(s)"
    )
    out += [verdict, ""]
    out += _table(
        ["pipelines", "fail", "unknown", "pass", "suppressed", "gaps", "rule errors"],
        [
            [
                str(summary.pipelines),
                str(summary.by_status["fail"]),
                str(summary.by_status["unknown"]),
                str(summary.by_status["pass"]),
                str(summary.suppressed),
                str(summary.gaps),
                str(summary.errors),
            ]
        ],
    )
    out.append("")
    out += _table(
        list(summary.failures_by_severity),
        [[str(n) for n in summary.failures_by_severity.values()]],
    )
    out.append("")
    header = ["severity", "rule", "pipeline", "location", "message"]
    if failures:
        out += ["### Failures", ""]
        out += _table(header, _rows(failures))
        out.append("")
    if unknowns:
        out += _details(
            f"Unknown: evidence missing ({len(unknowns)})", _table(header, _rows(unknowns))
        )
    if suppressed:
        out += _details(
            f"Suppressed ({len(suppressed)})",
            _table([*header, "reason"], _rows(suppressed, reason=True)),
        )
    per_pipeline = [
        [
            md(g.label),
            str(len(g.with_status(Status.FAIL, suppressed=False))),
            str(len(g.with_status(Status.UNKNOWN, suppressed=False))),
            str(len(g.with_status(Status.PASS))),
        ]
        for g in pipeline_groups(scan)
    ]
    if per_pipeline:
        out += _details(
            f"Pipelines ({len(per_pipeline)})",
            _table(["pipeline", "fail", "unknown", "pass"], per_pipeline),
        )
    for title, items in (
        ("Rule errors", [f"{c.rule_id} on {c.pipeline}: {c.message}" for c in scan.crashes]),
        ("Not evaluated (gaps)", list(scan.gaps)),
        ("Notes", list(scan.notes)),
    ):
        if items:
            body = [f"- {md(item)}" for item in items[:MAX_ROWS]]
            if len(items) > MAX_ROWS:
                body.append(f"- … and {len(items) - MAX_ROWS} more")
            out += _details(f"{title} ({len(items)})", body)
    return "\n".join(out).rstrip("\n") + "\n"
