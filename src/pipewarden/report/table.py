"""The terminal report: results grouped by pipeline, failures first, then a summary.

Every input-derived string goes through :func:`_t`, which first makes it one
visible line (:func:`~pipewarden.report._common.printable`: no terminal escape
sequences, no bidi overrides) and then escapes rich markup, so a pipeline named
``[bold red]x[/]`` is printed as written. Emoji codes are off for the same
reason.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Final

from rich.console import Console
from rich.markup import escape

from pipewarden import __version__
from pipewarden.engine import ScanResult
from pipewarden.model import Result, Severity, Status
from pipewarden.report._common import (
    Summary,
    location_text,
    pipeline_groups,
    printable,
    summarize,
)

__all__ = ["render"]

_SEVERITY_STYLE: Final = {
    Severity.CRITICAL: "bold bright_red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_STATUS_STYLE: Final = {
    Status.FAIL: "bold red",
    Status.UNKNOWN: "bold yellow",
    Status.PASS: "green",
}
_STATUS_WIDTH: Final = 10
_SEVERITY_WIDTH: Final = 8


def _t(text: object) -> str:
    """Input-derived text, safe for a rich markup string."""
    return escape(printable(text))


def _evidence(evidence: Mapping[str, str]) -> str:
    return ", ".join(f"{_t(k)}={_t(v)}" for k, v in sorted(evidence.items()))


def _line(result: Result, label: str) -> list[str]:
    status_style = _STATUS_STYLE[result.status]
    sev_style = _SEVERITY_STYLE[result.severity]
    status = label.ljust(_STATUS_WIDTH)
    severity = str(result.severity).ljust(_SEVERITY_WIDTH)
    head = (
        f"  [{status_style}]{status}[/] [{sev_style}]{severity}[/] "
        f"[bold]{_t(result.rule_id)}[/] {_t(result.slug)}  "
        f"[blue]{_t(location_text(result.location))}[/]  {_t(result.message)}"
    )
    lines = [head]
    indent = " " * (2 + _STATUS_WIDTH + 1 + _SEVERITY_WIDTH + 1)
    if result.evidence:
        lines.append(f"{indent}[dim]evidence: {_evidence(result.evidence)}[/]")
    if result.suppressed is not None:
        lines.append(f"{indent}[dim]suppressed: {_t(result.suppressed)}[/]")
    return lines


def _summary_line(summary: Summary) -> str:
    statuses = ", ".join(f"{n} {s}" for s, n in summary.by_status.items())
    by_severity = ", ".join(f"{n} {s}" for s, n in summary.failures_by_severity.items() if n)
    parts = [
        f"{summary.pipelines} pipeline{'s' if summary.pipelines != 1 else ''}",
        f"{summary.results} results ({statuses})",
        f"failures by severity: {by_severity or 'none'}",
        f"{summary.suppressed} suppressed",
        f"{summary.gaps} gap{'s' if summary.gaps != 1 else ''}",
    ]
    if summary.errors:
        parts.append(f"{summary.errors} rule error{'s' if summary.errors != 1 else ''}")
    return "; ".join(parts)


def render(scan: ScanResult, *, color: bool = False) -> str:
    """The report as text; ANSI colour only when ``color`` is true."""
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        emoji=False,
        width=200,
        legacy_windows=False,
    )

    def out(markup: str = "") -> None:
        console.print(markup, soft_wrap=True)

    summary = summarize(scan)
    out(
        f"[bold]PipeWarden {_t(__version__)}[/]: {summary.pipelines} pipeline(s) "
        f"from {summary.inputs} input(s), {len(scan.rules)} rule(s)"
    )
    for group in pipeline_groups(scan):
        out()
        out(f"[bold underline]{_t(group.label)}[/]")
        if not group.results:
            out("  [dim]no rules evaluated[/]")
            continue
        for result in group.with_status(Status.FAIL, suppressed=False):
            for line in _line(result, "FAIL"):
                out(line)
        for result in group.with_status(Status.UNKNOWN, suppressed=False):
            for line in _line(result, "UNKNOWN"):
                out(line)
        suppressed = [r for r in group.results if r.suppressed is not None]
        for result in suppressed:
            for line in _line(result, "SUPPRESSED"):
                out(line)
        passed = len(group.with_status(Status.PASS))
        out(f"  [green]{passed} passed[/]")
    sections = (
        ("Notes", scan.notes),
        ("Gaps (not evaluated)", scan.gaps),
        (
            "Rule errors",
            tuple(f"{c.rule_id} on {c.pipeline}: {c.message}" for c in scan.crashes),
        ),
    )
    for title, items in sections:
        if not items:
            continue
        out()
        out(f"[bold]{title}[/]")
        for item in items:
            out(f"  - {_t(item)}")
    out()
    style = "bold red" if summary.failures or summary.errors else "bold green"
    out(f"[{style}]{_summary_line(summary)}[/]")
    return buffer.getvalue()
