"""The terminal report: results grouped by pipeline, failures first, then a summary.

Every input-derived string goes through :func:`_t`, which first makes it one
visible line (:func:`~pipewarden.report._common.printable`: no terminal escape
sequences, no bidi overrides) and then escapes rich markup, so a pipeline named
``[bold red]x[/]`` is printed as written. Emoji codes are off for the same
reason.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
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


class _Markup:
    """Writes rich markup (for a colour terminal), escaping input-derived text."""

    @staticmethod
    def t(text: object) -> str:
        """Input-derived text, safe for a rich markup string."""
        return escape(printable(text))

    @staticmethod
    def s(style: str, text: str) -> str:
        """``text`` (already safe) in ``style``."""
        return f"[{style}]{text}[/]"


class _Plain(_Markup):
    """Writes plain text: no styles, so nothing to escape but unprintable characters.

    Far faster than having rich render a report of thousands of lines.
    """

    @staticmethod
    def t(text: object) -> str:
        return printable(text)

    @staticmethod
    def s(style: str, text: str) -> str:
        return text


_t = _Markup.t


def _evidence(m: type[_Markup], evidence: Mapping[str, str]) -> str:
    return ", ".join(f"{m.t(k)}={m.t(v)}" for k, v in sorted(evidence.items()))


def _line(m: type[_Markup], result: Result, label: str) -> list[str]:
    status = label.ljust(_STATUS_WIDTH)
    severity = str(result.severity).ljust(_SEVERITY_WIDTH)
    head = (
        f"  {m.s(_STATUS_STYLE[result.status], status)} "
        f"{m.s(_SEVERITY_STYLE[result.severity], severity)} "
        f"{m.s('bold', m.t(result.rule_id))} {m.t(result.slug)}  "
        f"{m.s('blue', m.t(location_text(result.location)))}  {m.t(result.message)}"
    )
    lines = [head]
    indent = " " * (2 + _STATUS_WIDTH + 1 + _SEVERITY_WIDTH + 1)
    if result.evidence:
        lines.append(f"{indent}{m.s('dim', 'evidence: ' + _evidence(m, result.evidence))}")
    if result.suppressed is not None:
        lines.append(f"{indent}{m.s('dim', 'suppressed: ' + m.t(result.suppressed))}")
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
    if not color:
        lines: list[str] = []
        _body(_Plain, scan, lines.append)
        return "".join(line + "\n" for line in lines)
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        emoji=False,
        width=200,
        legacy_windows=False,
    )
    _body(_Markup, scan, lambda markup: console.print(markup, soft_wrap=True))
    return buffer.getvalue()


def _body(m: type[_Markup], scan: ScanResult, out: Callable[[str], None]) -> None:
    summary = summarize(scan)
    out(
        f"{m.s('bold', 'PipeWarden ' + m.t(__version__))}: {summary.pipelines} pipeline(s) "
        f"from {summary.inputs} input(s), {len(scan.rules)} rule(s)"
    )
    for group in pipeline_groups(scan):
        out("")
        out(m.s("bold underline", m.t(group.label)))
        if not group.results:
            out("  " + m.s("dim", "no rules evaluated"))
            continue
        for result in group.with_status(Status.FAIL, suppressed=False):
            for line in _line(m, result, "FAIL"):
                out(line)
        for result in group.with_status(Status.UNKNOWN, suppressed=False):
            for line in _line(m, result, "UNKNOWN"):
                out(line)
        for result in (r for r in group.results if r.suppressed is not None):
            for line in _line(m, result, "SUPPRESSED"):
                out(line)
        passed = len(group.with_status(Status.PASS))
        out("  " + m.s("green", f"{passed} passed"))
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
        out("")
        out(m.s("bold", title))
        for item in items:
            out(f"  - {m.t(item)}")
    out("")
    style = "bold red" if summary.failures or summary.errors else "bold green"
    out(m.s(style, _summary_line(summary)))
