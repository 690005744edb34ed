"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

Decisions:

* ``ruleId`` is the rule id (``PW104``); the rule's ``name`` is its slug.
  ``help`` holds the rationale and remediation from the rule's docstring and
  ``helpUri`` its documentation page. ``properties.security-severity`` maps
  severities to the scores GitHub ranks by (critical 9.5, high 8.0, medium 5.5,
  low 3.0, info 0.0); ``properties.tags`` carries ``security`` and the
  OWASP CICD-SEC ids.
* Failures are ``kind: "fail"`` with ``level`` error (critical, high), warning
  (medium) or note (low, info). Unknown results are ``kind: "review"``: the
  evidence was missing and a person must look; SARIF requires ``level:
  "none"`` for any kind but ``fail``. Passes are omitted (code scanning shows
  failures only; the JSON report carries the full posture).
* Every result has a logical location ``subject#pointer`` (the pipeline ARN for
  live inputs, the file otherwise); a physical location only when file and line
  are known. ``partialFingerprints["pipewarden/v1"]`` is the stable fingerprint.
* Suppressed results carry ``suppressions: [{kind: "external", justification}]``.
* Rule crashes, notes and gaps are ``invocations[0].toolExecutionNotifications``.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Final
from urllib.parse import quote

from pipewarden import __version__
from pipewarden.engine import ScanResult
from pipewarden.model import Result, Severity, Status
from pipewarden.report._common import docs_url, dump_json, result_sort_key, rule_text

__all__ = ["SECURITY_SEVERITY", "render", "sarif_document"]

SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI: Final = "https://github.com/pipewarden/pipewarden"
FINGERPRINT_KEY: Final = "pipewarden/v1"

SECURITY_SEVERITY: Final = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_LEVEL: Final = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def artifact_uri(path: str) -> str:
    """A file path as a SARIF URI reference: relative paths stay relative."""
    posix = path.replace("\\", "/")
    if posix.startswith("/"):
        return "file://" + quote(posix, safe="/", errors="surrogateescape")
    parts = [p for p in PurePosixPath(posix).parts if p != "."]
    return quote("/".join(parts), safe="/", errors="surrogateescape")


def _rule(rule_index: int, scan: ScanResult) -> dict[str, Any]:
    rule = scan.rules[rule_index]
    meta = rule.meta
    text = rule_text(rule)
    rationale = text.rationale or text.summary
    help_text = rationale
    help_md = f"**{meta.title}**\n\n## Rationale\n\n{rationale}"
    if text.remediation:
        help_text += f"\n\nRemediation:\n{text.remediation}"
        help_md += f"\n\n## Remediation\n\n{text.remediation}"
    help_md += f"\n\n[Documentation]({docs_url(meta.slug)})"
    return {
        "id": meta.id,
        "name": meta.slug,
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": rationale},
        "help": {"text": help_text, "markdown": help_md},
        "helpUri": docs_url(meta.slug),
        "defaultConfiguration": {"level": _LEVEL[meta.severity]},
        "properties": {
            "tags": ["security", *(sec.code for sec in meta.cicd_sec)],
            "security-severity": SECURITY_SEVERITY[meta.severity],
            "precision": "high",
            "severity": str(meta.severity),
            "fsbp": list(meta.fsbp),
        },
    }


def _location(result: Result) -> dict[str, Any]:
    loc = result.location
    out: dict[str, Any] = {}
    if loc.file is not None and loc.line is not None:
        region: dict[str, int] = {"startLine": loc.line}
        if loc.column is not None:
            region["startColumn"] = loc.column
        out["physicalLocation"] = {
            "artifactLocation": {"uri": artifact_uri(loc.file)},
            "region": region,
        }
    out["logicalLocations"] = [{"fullyQualifiedName": loc.logical, "kind": "resource"}]
    return out


def _result(result: Result, rule_index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"ruleId": result.rule_id}
    if result.rule_id in rule_index:
        out["ruleIndex"] = rule_index[result.rule_id]
    if result.status is Status.FAIL:
        out["kind"] = "fail"
        out["level"] = _LEVEL[result.severity]
        text = result.message
    else:
        out["kind"] = "review"
        out["level"] = "none"
        text = f"Not evaluated (unknown): {result.message}"
    out["message"] = {"text": text}
    out["locations"] = [_location(result)]
    out["partialFingerprints"] = {FINGERPRINT_KEY: result.fingerprint}
    if result.suppressed is not None:
        out["suppressions"] = [{"kind": "external", "justification": result.suppressed}]
    properties: dict[str, Any] = {
        "status": str(result.status),
        "severity": str(result.severity),
        "security-severity": SECURITY_SEVERITY[result.severity],
        "pipeline": result.pipeline,
    }
    optional = {
        "pipelineArn": result.pipeline_arn,
        "account": result.account,
        "region": result.region,
        "stage": result.stage,
        "action": result.action,
    }
    properties.update({k: v for k, v in optional.items() if v is not None})
    if result.evidence:
        properties["evidence"] = {str(k): str(v) for k, v in sorted(result.evidence.items())}
    out["properties"] = properties
    return out


def _notifications(scan: ScanResult) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "level": "error",
            "message": {"text": f"rule {c.rule_id} crashed on pipeline {c.pipeline}: {c.message}"},
            "associatedRule": {"id": c.rule_id},
        }
        for c in scan.crashes
    ]
    out.extend({"level": "warning", "message": {"text": f"not evaluated: {g}"}} for g in scan.gaps)
    out.extend({"level": "note", "message": {"text": n}} for n in scan.notes)
    return out


def sarif_document(scan: ScanResult) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict."""
    rule_index = {rule.meta.id: i for i, rule in enumerate(scan.rules)}
    reported = sorted((r for r in scan.results if r.status is not Status.PASS), key=result_sort_key)
    invocation: dict[str, Any] = {"executionSuccessful": not scan.crashes}
    notifications = _notifications(scan)
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "PipeWarden",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [_rule(i, scan) for i in range(len(scan.rules))],
                    }
                },
                "invocations": [invocation],
                "results": [_result(r, rule_index) for r in reported],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(scan: ScanResult) -> str:
    """The SARIF log as indented JSON text."""
    return dump_json(sarif_document(scan), len(scan.results))
