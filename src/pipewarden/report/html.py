"""One self-contained HTML file: a posture matrix and per-pipeline details.

Nothing is fetched: the style sheet is inline, there is no script, no font, no
image, and a Content-Security-Policy ``default-src 'none'; style-src
'unsafe-inline'`` forbids loading anything even if markup were injected. The
only URLs are plain links to rule documentation. Every value written into the
page, input-derived or not, goes through :func:`_h` (``html.escape`` with
``quote=True`` after :func:`~pipewarden.report._common.printable`); element
ids are generated (``p0``, ``p1``...), never taken from input.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

from pipewarden import __version__
from pipewarden.engine import ScanResult
from pipewarden.model import Result, Status
from pipewarden.report._common import (
    FAMILY_TITLES,
    PipelineGroup,
    docs_url,
    families,
    family_of,
    location_text,
    pipeline_groups,
    printable,
    summarize,
)

__all__ = ["CSP", "render"]

CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

_CSS: Final = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d2329;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de}
h3{font-size:1.05rem;margin:1.5rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.num{text-align:right}
.fail{background:#ffebe9}.unknown{background:#fff8c5}.pass{background:#dafbe1}.none{background:#f6f8fa;color:#57606a}
.suppressed{background:#eaeef2}
.badge{display:inline-block;padding:0 .4rem;border-radius:.6rem;font-size:.8rem;font-weight:600}
.b-fail{background:#cf222e;color:#fff}.b-unknown{background:#9a6700;color:#fff}.b-pass{background:#1a7f37;color:#fff}
.b-suppressed{background:#57606a;color:#fff}
.sev-critical{color:#a40e26;font-weight:700}.sev-high{color:#cf222e;font-weight:600}
.sev-medium{color:#9a6700}.sev-low{color:#0969da}.sev-info{color:#57606a}
code,.loc{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
.muted{color:#57606a}ul.ev{margin:0;padding-left:1rem}
"""

_STATUS_LABEL: Final = {Status.FAIL: "fail", Status.UNKNOWN: "unknown", Status.PASS: "pass"}


def _h(value: object) -> str:
    """Any value, escaped for HTML text and attribute context."""
    return html.escape(printable(value), quote=True)


def _badge(result: Result) -> str:
    if result.suppressed is not None:
        return f'<span class="badge b-suppressed">suppressed {_h(result.status)}</span>'
    label = _STATUS_LABEL[result.status]
    return f'<span class="badge b-{label}">{_h(label)}</span>'


def _cell_state(results: Sequence[Result]) -> tuple[str, str]:
    """CSS class and text of one matrix cell: the worst unsuppressed status, with counts."""
    if not results:
        return "none", "not evaluated"
    active = Counter(r.status for r in results if r.suppressed is None)
    suppressed = sum(1 for r in results if r.suppressed is not None)
    if active[Status.FAIL]:
        worst = "fail"
    elif active[Status.UNKNOWN]:
        worst = "unknown"
    elif active[Status.PASS]:
        worst = "pass"
    else:
        worst = "suppressed"
    parts = [
        f"{active[s]} {_STATUS_LABEL[s]}"
        for s in (Status.FAIL, Status.UNKNOWN, Status.PASS)
        if active[s]
    ]
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    return worst, " · ".join(parts)


def _matrix(groups: Sequence[PipelineGroup], columns: Sequence[str]) -> list[str]:
    head = "".join(
        f'<th scope="col">{_h(c)}<br><span class="muted">{_h(FAMILY_TITLES.get(c, ""))}</span></th>'
        for c in columns
    )
    rows = [
        f'<table class="matrix"><thead><tr><th scope="col">pipeline</th>{head}</tr></thead><tbody>'
    ]
    for index, group in enumerate(groups):
        by_family: dict[str, list[Result]] = {}
        for result in group.results:
            by_family.setdefault(family_of(result.rule_id), []).append(result)
        cells = []
        for column in columns:
            css, text = _cell_state(by_family.get(column, []))
            cells.append(f'<td class="{_h(css)}">{_h(text)}</td>')
        rows.append(
            f'<tr><th scope="row"><a href="#p{index}">{_h(group.name)}</a></th>{"".join(cells)}</tr>'
        )
    rows.append("</tbody></table>")
    return rows


def _evidence(result: Result) -> str:
    items = [
        f"<li><code>{_h(k)}</code>: <code>{_h(v)}</code></li>"
        for k, v in sorted(result.evidence.items())
    ]
    if result.suppressed is not None:
        items.append(f"<li>suppressed: {_h(result.suppressed)}</li>")
    return f'<ul class="ev">{"".join(items)}</ul>' if items else ""


def _details(index: int, group: PipelineGroup) -> list[str]:
    out = [f'<h3 id="p{index}">{_h(group.name)}</h3>']
    facts = [("ARN", group.arn), ("file", group.file)]
    shown = [f"{_h(k)}: <code>{_h(v)}</code>" for k, v in facts if v]
    if shown:
        out.append(f'<p class="muted">{" · ".join(shown)}</p>')
    if not group.results:
        out.append('<p class="muted">No rules evaluated.</p>')
        return out
    out.append(
        "<table><thead><tr><th>status</th><th>severity</th><th>rule</th><th>location</th>"
        "<th>message</th><th>evidence</th></tr></thead><tbody>"
    )
    for r in group.results:
        row_class = "suppressed" if r.suppressed is not None else _STATUS_LABEL[r.status]
        out.append(
            f'<tr class="{_h(row_class)}">'
            f"<td>{_badge(r)}</td>"
            f'<td class="sev-{_h(r.severity)}">{_h(r.severity)}</td>'
            f'<td><a href="{_h(docs_url(r.slug))}" rel="noreferrer noopener">{_h(r.rule_id)}</a> '
            f'<code>{_h(r.slug)}</code><br><span class="muted">{_h(r.title)}</span></td>'
            f'<td class="loc">{_h(location_text(r.location))}</td>'
            f"<td>{_h(r.message)}</td>"
            f"<td>{_evidence(r)}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def _list(title: str, items: Iterable[str]) -> list[str]:
    entries = [f"<li>{_h(item)}</li>" for item in items]
    if not entries:
        return []
    return [f"<h2>{_h(title)}</h2>", f"<ul>{''.join(entries)}</ul>"]


def render(scan: ScanResult) -> str:
    """The report as one HTML document."""
    summary = summarize(scan)
    groups = pipeline_groups(scan)
    columns = families(r.meta.id for r in scan.rules)
    counts = [
        ("pipelines", summary.pipelines),
        ("fail", summary.by_status["fail"]),
        ("unknown", summary.by_status["unknown"]),
        ("pass", summary.by_status["pass"]),
        ("suppressed", summary.suppressed),
        ("gaps", summary.gaps),
        ("rule errors", summary.errors),
    ]
    counts += [(f"{sev} failures", n) for sev, n in summary.failures_by_severity.items()]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_h(CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>PipeWarden report {_h(__version__)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        f'<h1>PipeWarden report</h1><p class="muted">PipeWarden {_h(__version__)} · '
        f"{_h(summary.pipelines)} pipeline(s) from {_h(summary.inputs)} input(s) · "
        f"{_h(len(scan.rules))} rule(s)</p>",
        "<h2>Summary</h2>",
        "<table><tbody>",
        *(f'<tr><th scope="row">{_h(k)}</th><td class="num">{_h(v)}</td></tr>' for k, v in counts),
        "</tbody></table>",
        "<h2>Posture</h2>",
        '<p class="muted">Worst unsuppressed status per rule family; unknown means evidence '
        "was missing, never a pass.</p>",
        *_matrix(groups, columns),
        "<h2>Pipelines</h2>",
    ]
    for index, group in enumerate(groups):
        out += _details(index, group)
    out += _list("Rule errors", (f"{c.rule_id} on {c.pipeline}: {c.message}" for c in scan.crashes))
    out += _list("Not evaluated (gaps)", scan.gaps)
    out += _list("Notes", scan.notes)
    out.append("</body></html>")
    return "\n".join(out) + "\n"
