"""The JSON report, schema version 1.0 (``pipewarden/schema/report-v1.json``).

One result per rule per pipeline evaluated (pass, fail or unknown), sorted by
severity (highest first), rule id, subject, pointer and pipeline, so two scans
of the same input produce byte-identical reports. Nothing time-dependent is
written. Compatible additions raise the minor version; anything else, the major.

A scan of an organisation has hundreds of thousands of results, so each result
is written straight to JSON text with the string escaper ``json.dumps`` itself
uses, instead of being built as nested dicts and encoded afterwards. The text
is exactly what ``json.dumps`` gives for the same document (indented by two
spaces, or compact above :data:`~pipewarden.report._common.INDENT_LIMIT`
results); the rest of the document, small, goes through ``json.dumps``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any, Final

from pipewarden import __version__
from pipewarden.engine import ScanResult, collector_paused
from pipewarden.model import Result, fingerprint
from pipewarden.report._common import INDENT_LIMIT, docs_url, sorted_results, summarize

__all__ = ["SCHEMA_VERSION", "render", "report_document"]

SCHEMA_VERSION: Final = "1.0"

# The members of a result, in the order they are written.
_RESULT_KEYS: Final = (
    "rule_id", "slug", "title", "status", "severity", "pipeline", "pipeline_arn",
    "pipeline_ref", "account", "region", "stage", "action", "location", "message",
    "evidence", "fingerprint", "suppressed",
)  # fmt: skip
_LOCATION_KEYS: Final = ("subject", "pointer", "file", "line", "column", "logical")


class _Layout:
    """Where ``json.dumps`` puts whitespace: two-space indentation, or none (compact)."""

    def __init__(self, indented: bool) -> None:
        self.indented = indented
        self.key_sep = ": " if indented else ":"

    def newline(self, depth: int) -> str:
        """What separates the items of a container whose items are at ``depth``."""
        return "\n" + "  " * depth if self.indented else ""

    def prefixes(self, keys: tuple[str, ...], depth: int) -> list[str]:
        """The text before each member's value in an object whose members are at ``depth``."""
        pad = self.newline(depth)
        return [
            f"{'{' if i == 0 else ','}{pad}{encode_basestring(key)}{self.key_sep}"
            for i, key in enumerate(keys)
        ]

    def container(self, opener: str, closer: str, items: list[str], depth: int) -> str:
        """An object or list of already-encoded ``items`` at ``depth`` (``[]``/``{}`` if empty)."""
        if not items:
            return opener + closer
        pad = self.newline(depth)
        return f"{opener}{pad}{(',' + pad).join(items)}{self.newline(depth - 1)}{closer}"

    def value(self, value: object, depth: int) -> str:
        """``json.dumps`` of a value written at ``depth``."""
        # json.dumps escapes the newlines inside strings: every newline it writes is indentation.
        if not self.indented:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", self.newline(depth))


def _string(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _result_writer(layout: _Layout) -> Callable[[Result], str]:
    """A function writing one result as an element of the top-level ``results`` list."""
    depth = 3  # the result's members: document > results > result > member
    p = layout.prefixes(_RESULT_KEYS, depth)
    q = layout.prefixes(_LOCATION_KEYS, depth + 1)
    close = layout.newline(depth - 1) + "}"
    close_location = layout.newline(depth) + "}"
    reason_prefix = layout.prefixes(("reason",), depth + 1)[0]

    def evidence(items: Mapping[str, str]) -> str:
        as_text = {str(k): str(v) for k, v in sorted(items.items())}
        members = [
            f"{encode_basestring(k)}{layout.key_sep}{encode_basestring(v)}"
            for k, v in as_text.items()
        ]
        return layout.container("{", "}", members, depth + 1)

    # Rule and pipeline members repeat across results: each distinct run is encoded once.
    rule_parts: dict[tuple[str, ...], str] = {}
    pipeline_parts: dict[tuple[str | None, ...], str] = {}

    def write(r: Result) -> str:
        rule = (r.rule_id, r.slug, r.title, r.status, r.severity)
        head = rule_parts.get(rule)
        if head is None:
            head = rule_parts[rule] = "".join(map(str.__add__, p[:5], map(encode_basestring, rule)))
        owner = (r.pipeline, r.pipeline_arn, r.pipeline_ref, r.account, r.region)
        middle = pipeline_parts.get(owner)
        if middle is None:
            middle = pipeline_parts[owner] = "".join(map(str.__add__, p[5:10], map(_string, owner)))
        loc = r.location
        subject, pointer = loc.subject, loc.pointer
        stage, action, file = r.stage, r.action, loc.file
        line, column, suppressed = loc.line, loc.column, r.suppressed
        return (
            f"{head}{middle}"
            f"{p[10]}{'null' if stage is None else encode_basestring(stage)}"
            f"{p[11]}{'null' if action is None else encode_basestring(action)}"
            f"{p[12]}{q[0]}{encode_basestring(subject)}{q[1]}{encode_basestring(pointer)}"
            f"{q[2]}{'null' if file is None else encode_basestring(file)}"
            f"{q[3]}{'null' if line is None else int.__repr__(line)}"
            f"{q[4]}{'null' if column is None else int.__repr__(column)}"
            f"{q[5]}{encode_basestring(f'{subject}#{pointer}')}{close_location}"
            f"{p[13]}{encode_basestring(r.message)}"
            f"{p[14]}{evidence(r.evidence) if r.evidence else '{}'}"
            f'{p[15]}"{fingerprint(r.rule_id, subject, pointer)}"'
            f"{p[16]}"
            f"{'null' if suppressed is None else reason_prefix + encode_basestring(suppressed)}"
            f"{'' if suppressed is None else close_location}"
            f"{close}"
        )

    return write


def _head(scan: ScanResult) -> dict[str, Any]:
    summary = summarize(scan)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pipewarden", "version": __version__},
        "summary": {
            "pipelines": summary.pipelines,
            "inputs": summary.inputs,
            "results": summary.results,
            "by_status": summary.by_status,
            "failures_by_severity": summary.failures_by_severity,
            "suppressed": summary.suppressed,
            "gaps": summary.gaps,
            "notes": summary.notes,
            "errors": summary.errors,
        },
    }


def _tail(scan: ScanResult) -> dict[str, Any]:
    return {
        "rules": [
            {
                "id": rule.meta.id,
                "slug": rule.meta.slug,
                "title": rule.meta.title,
                "severity": str(rule.meta.severity),
                "cicd_sec": [sec.code for sec in rule.meta.cicd_sec],
                "fsbp": list(rule.meta.fsbp),
                "references": list(rule.meta.references),
                "help_uri": docs_url(rule.meta.slug),
            }
            for rule in sorted(scan.rules, key=lambda r: r.meta.id)
        ],
        "pipelines": [
            {
                "name": p.display_name,
                "arn": p.arn,
                "account": p.account,
                "region": p.region,
                "file": p.source_file,
                "ref": str(p.loc),
            }
            for p in scan.pipelines
        ],
        "inputs": list(scan.inputs),
        "notes": list(scan.notes),
        "gaps": list(scan.gaps),
        "errors": [
            {"rule_id": c.rule_id, "pipeline": c.pipeline, "message": c.message}
            for c in scan.crashes
        ],
    }


def render(scan: ScanResult) -> str:
    """The report as JSON text (UTF-8, newline-terminated): indented, compact when large."""
    layout = _Layout(indented=len(scan.results) <= INDENT_LIMIT)
    head, tail = _head(scan), _tail(scan)
    prefixes = iter(layout.prefixes((*head, "results", *tail), 1))
    # One list of pieces joined once: the results alone can be hundreds of megabytes.
    pieces: list[str] = []
    for value in head.values():
        pieces += (next(prefixes), layout.value(value, 1))
    pieces.append(next(prefixes))
    if scan.results:
        write = _result_writer(layout)
        separator = "," + layout.newline(2)
        pieces.append("[" + layout.newline(2))
        with collector_paused():
            for result in sorted_results(scan.results):
                pieces += (write(result), separator)
        pieces[-1] = layout.newline(1) + "]"
    else:
        pieces.append("[]")
    for value in tail.values():
        pieces += (next(prefixes), layout.value(value, 1))
    pieces.append(layout.newline(0) + "}\n")
    return "".join(pieces)


def report_document(scan: ScanResult) -> dict[str, Any]:
    """The report as a JSON-ready dict: :func:`render`'s text, decoded."""
    document: dict[str, Any] = json.loads(render(scan))
    return document
