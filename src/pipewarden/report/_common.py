"""Helpers shared by the renderers: counts, ordering, grouping, locations, rule docs.

Everything a report prints comes from a :class:`~pipewarden.engine.ScanResult`,
and every string in it may have been written by an attacker (pipeline, stage
and action names, ARNs, file names). :func:`printable` makes such text safe to
show as one line on a terminal or in a document: control characters and the
bidirectional-override characters used in "Trojan Source" tricks become
visible escapes. Each format then applies its own escaping on top.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pipewarden._printable import printable
from pipewarden.engine import ScanResult
from pipewarden.model import Location, Pipeline, Result, Severity, Status
from pipewarden.rules._api import Rule

__all__ = [
    "DOCS_BASE",
    "FAMILY_TITLES",
    "INDENT_LIMIT",
    "PipelineGroup",
    "RuleText",
    "Summary",
    "docs_url",
    "dump_json",
    "families",
    "family_of",
    "location_text",
    "pipeline_groups",
    "printable",
    "result_sort_key",
    "rule_text",
    "severity_order",
    "sorted_results",
    "summarize",
]

DOCS_BASE: Final = "https://github.com/pipewarden/pipewarden/blob/main/docs/rules/"

FAMILY_TITLES: Final[dict[str, str]] = {
    "PW1xx": "source",
    "PW2xx": "artifacts",
    "PW3xx": "identity",
    "PW4xx": "gates",
    "PW5xx": "third-party actions",
    "PW6xx": "secrets and logs",
    "PW7xx": "CodeBuild",
    "PW8xx": "images",
}

# Status order within a pipeline: what needs attention first.
_STATUS_RANK: Final = {Status.FAIL: 0, Status.UNKNOWN: 1, Status.PASS: 2}


# C0 and C1 controls and DEL; the bidirectional embedding, override and isolate
# characters (U+202A..U+202E, U+2066..U+2069) and marks (U+200E, U+200F, U+061C)
# that can reorder or hide text; the line and paragraph separators (U+2028,
# U+2029); and lone surrogates (an undecodable file name), which no output
# encoding accepts.
def severity_order(severity: Severity) -> int:
    """Sort key putting the most severe first."""
    return -severity.rank


def result_sort_key(result: Result) -> tuple[object, ...]:
    """Deterministic order: severity (highest first), rule, place, pipeline, status, message.

    The fingerprint is not part of the key: it is a function of the rule id, subject
    and pointer, which come first, so it could never break a tie.
    """
    loc = result.location
    return (
        -result.severity.rank,
        result.rule_id,
        loc.subject,
        loc.pointer,
        result.pipeline,
        result.pipeline_ref or "",
        _STATUS_RANK[result.status],
        result.message,
    )


def sorted_results(results: Iterable[Result]) -> list[Result]:
    """``results`` in :func:`result_sort_key` order."""
    return sorted(results, key=result_sort_key)


def _attention_key(result: Result) -> tuple[object, ...]:
    return (_STATUS_RANK[result.status], *result_sort_key(result))


def location_text(loc: Location) -> str:
    """``file:line[:column]`` for file inputs, else ``subject#pointer`` (an ARN for live ones)."""
    if loc.file is not None and loc.line is not None:
        return f"{loc.file}:{loc.line}"
    if loc.file is not None:
        return f"{loc.file}#{loc.pointer}"
    return loc.logical


def docs_url(slug: str) -> str:
    """The documentation page of a rule."""
    return f"{DOCS_BASE}{slug}.md"


def family_of(rule_id: str) -> str:
    """``PW104`` -> ``PW1xx``."""
    if len(rule_id) >= 3 and rule_id.startswith("PW") and rule_id[2].isdigit():
        return f"PW{rule_id[2]}xx"
    return "other"


@dataclass(frozen=True, slots=True)
class Summary:
    """Counts over a scan."""

    pipelines: int
    inputs: int
    results: int
    by_status: dict[str, int]
    failures_by_severity: dict[str, int]  # unsuppressed failures
    suppressed: int
    gaps: int
    notes: int
    errors: int

    @property
    def failures(self) -> int:
        """Unsuppressed failures."""
        return sum(self.failures_by_severity.values())


def summarize(scan: ScanResult) -> Summary:
    """Count a scan's results."""
    status = Counter(str(r.status) for r in scan.results)
    severities = Counter(
        str(r.severity) for r in scan.results if r.status is Status.FAIL and r.suppressed is None
    )
    ordered = sorted(Severity, key=severity_order)
    return Summary(
        pipelines=len(scan.pipelines),
        inputs=len(scan.inputs),
        results=len(scan.results),
        by_status={
            str(s): status.get(str(s), 0) for s in (Status.FAIL, Status.UNKNOWN, Status.PASS)
        },
        failures_by_severity={str(s): severities.get(str(s), 0) for s in ordered},
        suppressed=sum(1 for r in scan.results if r.suppressed is not None),
        gaps=len(scan.gaps),
        notes=len(scan.notes),
        errors=len(scan.crashes),
    )


@dataclass(frozen=True, slots=True)
class PipelineGroup:
    """The results of one pipeline, in the order a reader should see them."""

    ref: str
    name: str
    arn: str | None
    file: str | None
    results: tuple[Result, ...]

    @property
    def label(self) -> str:
        """The pipeline name, with its ARN or file when known."""
        where = self.arn or self.file
        return f"{self.name} ({where})" if where and where != self.name else self.name

    def with_status(self, status: Status, *, suppressed: bool | None = None) -> list[Result]:
        """Results of one status (optionally only (un)suppressed ones)."""
        return [
            r
            for r in self.results
            if r.status is status
            and (suppressed is None or (r.suppressed is not None) == suppressed)
        ]


def _group_key(result: Result) -> str:
    if result.pipeline_ref is not None:
        return result.pipeline_ref
    return f"{result.pipeline}\x00{result.pipeline_arn or ''}"


def _pipeline_key(pipeline: Pipeline) -> str:
    return str(pipeline.loc)


def pipeline_groups(scan: ScanResult) -> list[PipelineGroup]:
    """Results grouped by pipeline, pipelines in scan order, failures first in each."""
    by_key: dict[str, list[Result]] = {}
    for result in scan.results:
        by_key.setdefault(_group_key(result), []).append(result)
    groups: list[PipelineGroup] = []
    seen: set[str] = set()
    for pipeline in scan.pipelines:
        key = _pipeline_key(pipeline)
        if key in seen:
            continue
        seen.add(key)
        results = by_key.get(key, [])
        groups.append(
            PipelineGroup(
                ref=key,
                name=pipeline.display_name,
                arn=pipeline.arn,
                file=pipeline.source_file,
                results=tuple(sorted(results, key=_attention_key)),
            )
        )
    # Results whose pipeline is not in ``scan.pipelines`` (a hand-built ScanResult).
    for key, results in by_key.items():
        if key in seen:
            continue
        seen.add(key)
        first = results[0]
        groups.append(
            PipelineGroup(
                ref=key,
                name=first.pipeline,
                arn=first.pipeline_arn,
                file=first.location.file,
                results=tuple(sorted(results, key=_attention_key)),
            )
        )
    return groups


@dataclass(frozen=True, slots=True)
class RuleText:
    """A rule's documentation split into the parts reports show."""

    summary: str
    rationale: str
    remediation: str
    sections: tuple[tuple[str, str], ...]


def _dedent(lines: Sequence[str]) -> str:
    body = [line.rstrip() for line in lines]
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    indents = [len(line) - len(line.lstrip()) for line in body if line.strip()]
    cut = min(indents, default=0)
    return "\n".join(line[cut:] for line in body)


def rule_text(rule: Rule) -> RuleText:
    """Split a rule's docstring: a summary paragraph, then ``## Heading`` sections.

    The docstring is ``rule.doc``, else the docstring of the rule's module.
    """
    doc = rule.doc
    if not doc.strip():
        module = sys.modules.get(getattr(rule.check, "__module__", "") or "")
        doc = (module.__doc__ if module is not None else None) or ""
    summary: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith("## "):
            sections.append((stripped[3:].strip(), []))
        elif sections:
            sections[-1][1].append(line)
        else:
            summary.append(line)
    parts = tuple((title, _dedent(body)) for title, body in sections)
    lookup = {title.lower(): body for title, body in parts}
    first = _dedent(summary).split("\n\n", 1)[0]
    return RuleText(
        summary=" ".join(first.split()) or rule.meta.title,
        rationale=lookup.get("rationale", ""),
        remediation=lookup.get("remediation", ""),
        sections=parts,
    )


def families(rule_ids: Iterable[str]) -> list[str]:
    """The rule families to show: PW1xx..PW8xx plus any other family present."""
    present = {family_of(r) for r in rule_ids}
    return sorted(set(FAMILY_TITLES) | present)


# Above this many results a JSON report is written without indentation:
# json's C encoder only runs for compact output, and a report of a whole
# organisation is read by programs, not people.
INDENT_LIMIT: Final = 20_000


def dump_json(document: object, results: int) -> str:
    """JSON text of a report document: indented, or compact for large reports."""
    if results <= INDENT_LIMIT:
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
