"""The JSON report, schema version 1.0 (``pipewarden/schema/report-v1.json``).

One result per rule per pipeline evaluated (pass, fail or unknown), sorted by
severity (highest first), rule id, subject, pointer and pipeline, so two scans
of the same input produce byte-identical reports. Nothing time-dependent is
written. Compatible additions raise the minor version; anything else, the major.
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden import __version__
from pipewarden.engine import ScanResult
from pipewarden.model import Result
from pipewarden.report._common import docs_url, dump_json, result_sort_key, summarize

__all__ = ["SCHEMA_VERSION", "render", "report_document"]

SCHEMA_VERSION: Final = "1.0"


def _result(result: Result) -> dict[str, Any]:
    loc = result.location
    return {
        "rule_id": result.rule_id,
        "slug": result.slug,
        "title": result.title,
        "status": str(result.status),
        "severity": str(result.severity),
        "pipeline": result.pipeline,
        "pipeline_arn": result.pipeline_arn,
        "pipeline_ref": result.pipeline_ref,
        "account": result.account,
        "region": result.region,
        "stage": result.stage,
        "action": result.action,
        "location": {
            "subject": loc.subject,
            "pointer": loc.pointer,
            "file": loc.file,
            "line": loc.line,
            "column": loc.column,
            "logical": loc.logical,
        },
        "message": result.message,
        "evidence": {str(k): str(v) for k, v in sorted(result.evidence.items())},
        "fingerprint": result.fingerprint,
        "suppressed": None if result.suppressed is None else {"reason": result.suppressed},
    }


def report_document(scan: ScanResult) -> dict[str, Any]:
    """The report as a JSON-ready dict."""
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
        "results": [_result(r) for r in sorted(scan.results, key=result_sort_key)],
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
    """The report as indented JSON text (UTF-8, newline-terminated)."""
    return dump_json(report_document(scan), len(scan.results))
