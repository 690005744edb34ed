"""Reach report renderers: table, json, openvex, cyclonedx, sarif.

Every string may come from the artifact or an OSV record (attacker-writable):
the table makes it printable and escapes rich markup; the JSON formats carry
it as JSON string data.

VEX mapping (OpenVEX 0.2.0 / CycloneDX 1.6):

==========================  ====================================================  ===========================
tier                        OpenVEX                                               CycloneDX analysis
==========================  ====================================================  ===========================
not-installed               not_affected, component_not_present                   not_affected, code_not_present
not-imported                not_affected, vulnerable_code_not_in_execute_path     not_affected, code_not_reachable
symbol-not-referenced       not_affected, vulnerable_code_not_in_execute_path     not_affected, code_not_reachable
                            (vulnerable_code_not_present when the symbols do      (code_not_present)
                            not exist in the installed code)
no-call-path                not_affected, vulnerable_code_not_in_execute_path     not_affected, code_not_reachable
reachable                   affected + action_statement                           exploitable, response update
unknown                     under_investigation                                   in_triage
==========================  ====================================================  ===========================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, Final

from pipewarden import __version__
from pipewarden._printable import printable
from pipewarden.errors import ConfigError
from pipewarden.reach.model import Finding, ReachReport, Tier

__all__ = ["DEFAULT_FORMAT", "FORMATS", "openvex_status", "render"]

FORMATS: Final = ("table", "json", "openvex", "cyclonedx", "sarif")
DEFAULT_FORMAT: Final = "table"
JSON_FORMAT: Final = "pipewarden-reach"
JSON_SCHEMA_VERSION: Final = 1
OPENVEX_CONTEXT: Final = "https://openvex.dev/ns/v0.2.0"
SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI: Final = "https://github.com/pipewarden/pipewarden"
_OSV_URL: Final = "https://osv.dev/vulnerability/"
_STATUS: Final = {
    Tier.NOT_INSTALLED: "not_affected",
    Tier.NOT_IMPORTED: "not_affected",
    Tier.SYMBOL_NOT_REFERENCED: "not_affected",
    Tier.NO_CALL_PATH: "not_affected",
    Tier.REACHABLE: "affected",
    Tier.UNKNOWN: "under_investigation",
}
_SECURITY_SEVERITY: Final = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 3.0}


def openvex_status(finding: Finding) -> str:
    return _STATUS[finding.tier]


def render(
    report: ReachReport,
    fmt: str,
    *,
    color: bool = False,
    now: dt.datetime | None = None,
    product: str | None = None,
) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`)."""
    when = now or dt.datetime.now(dt.UTC)
    if fmt == "table":
        return render_table(report, color=color)
    if fmt == "json":
        return json.dumps(json_document(report), indent=2, ensure_ascii=False) + "\n"
    if fmt == "openvex":
        return (
            json.dumps(openvex_document(report, when, product), indent=2, ensure_ascii=False) + "\n"
        )
    if fmt == "cyclonedx":
        return cyclonedx_document(report, when, product)
    if fmt == "sarif":
        return json.dumps(sarif_document(report), indent=2, ensure_ascii=False) + "\n"
    raise ConfigError(f"unknown reach format `{fmt}` (choose from {', '.join(FORMATS)})")


def product_id(report: ReachReport, product: str | None) -> str:
    """The VEX product: ``--product`` or ``pkg:generic/<artifact name>``."""
    if product:
        return product
    name = PurePosixPath(report.artifact.replace("\\", "/")).name or "artifact"
    safe = "".join(c if c.isalnum() or c in "._-" else "-" for c in name)
    return f"pkg:generic/{safe}"


# -- json ------------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "vulnerability": finding.vulnerability,
        "aliases": list(finding.aliases),
        "summary": finding.summary,
        "package": finding.package,
        "version": finding.version,
        "purl": finding.purl,
        "tier": finding.tier.value,
        "status": openvex_status(finding),
        "justification": finding.justification,
        "reason": finding.reason,
        "path": [frame.to_json() for frame in finding.path],
        "evidence": dict(finding.evidence),
        "severity": {
            "score": finding.severity.score,
            "label": finding.severity.label,
            "vector": finding.severity.vector,
        },
        "priority": finding.priority,
        "fixed_versions": list(finding.fixed),
        "symbol_data": finding.symbol_data,
        "version_source": finding.version_source,
    }


def summary_json(report: ReachReport) -> dict[str, Any]:
    matched = report.version_matched
    cut = report.noise_cut
    return {
        "findings": len(report.findings),
        "version_matched": len(matched),
        "not_affected": sum(1 for f in matched if f.not_affected),
        "noise_cut": round(cut, 4) if cut is not None else None,
        "tiers": report.counts(),
    }


def json_document(report: ReachReport) -> dict[str, Any]:
    return {
        "format": JSON_FORMAT,
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": "pipewarden", "version": __version__},
        "artifact": report.artifact,
        "entry_points": list(report.entry_points),
        "whole_application": report.whole_application,
        "summary": summary_json(report),
        "results": [finding_json(f) for f in report.findings],
        "notes": list(report.notes),
        "stats": dict(report.stats),
    }


# -- openvex -----------------------------------------------------------------------------


def _action(finding: Finding) -> str:
    if finding.fixed:
        return f"Upgrade {finding.package} to {' or '.join(finding.fixed)} or later."
    return f"No fixed version of {finding.package} is known: remove it or mitigate the vulnerable call."


def openvex_document(report: ReachReport, now: dt.datetime, product: str | None) -> dict[str, Any]:
    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    prod = product_id(report, product)
    statements = []
    for finding in report.findings:
        statement: dict[str, Any] = {
            "vulnerability": {"name": finding.vulnerability},
            "products": [{"@id": prod, "subcomponents": [{"@id": finding.purl}]}],
            "status": openvex_status(finding),
        }
        if finding.aliases:
            statement["vulnerability"]["aliases"] = list(finding.aliases)
        if finding.tier.not_affected:
            statement["justification"] = (
                finding.justification or "vulnerable_code_not_in_execute_path"
            )
            statement["impact_statement"] = finding.reason
        elif finding.tier is Tier.REACHABLE:
            statement["action_statement"] = _action(finding)
            statement["status_notes"] = finding.reason + _path_note(finding)
        else:
            statement["status_notes"] = finding.reason + _path_note(finding)
        statements.append(statement)
    body = json.dumps(statements, sort_keys=True).encode()
    identifier = uuid.uuid5(uuid.NAMESPACE_URL, f"{prod}#{hashlib.sha256(body).hexdigest()}")
    return {
        "@context": OPENVEX_CONTEXT,
        "@id": f"urn:uuid:{identifier}",
        "author": "PipeWarden",
        "role": "Reachability analysis",
        "timestamp": stamp,
        "version": 1,
        "tooling": f"pipewarden/{__version__}",
        "statements": statements,
    }


def _path_note(finding: Finding) -> str:
    if not finding.path:
        return ""
    steps = " -> ".join(frame.function for frame in finding.path)
    return f" (path: {steps})"


# -- cyclonedx --------------------------------------------------------------------------


def cyclonedx_document(report: ReachReport, now: dt.datetime, product: str | None) -> str:
    """A CycloneDX 1.6 VEX (JSON) built with cyclonedx-python-lib."""
    from cyclonedx.model import XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.impact_analysis import (
        ImpactAnalysisJustification,
        ImpactAnalysisResponse,
        ImpactAnalysisState,
    )
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityAnalysis,
        VulnerabilityRating,
        VulnerabilityReference,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    bom = Bom()
    bom.metadata.timestamp = now.astimezone(dt.UTC)
    bom.metadata.component = Component(
        name=PurePosixPath(report.artifact.replace("\\", "/")).name or "artifact",
        type=ComponentType.APPLICATION,
        bom_ref=product_id(report, product),
    )
    components: dict[str, Component] = {}
    for finding in report.findings:
        if finding.purl in components:
            continue
        try:
            purl = PackageURL.from_string(finding.purl)
        except ValueError:
            purl = None
        component = Component(
            name=finding.package,
            version=finding.version,
            type=ComponentType.LIBRARY,
            purl=purl,
            bom_ref=finding.purl,
        )
        components[finding.purl] = component
        bom.components.add(component)
    justification = {
        "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
        "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
        "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    }
    severities = {
        "critical": VulnerabilitySeverity.CRITICAL,
        "high": VulnerabilitySeverity.HIGH,
        "medium": VulnerabilitySeverity.MEDIUM,
        "low": VulnerabilitySeverity.LOW,
        "none": VulnerabilitySeverity.NONE,
    }
    for index, finding in enumerate(report.findings):
        if finding.tier.not_affected:
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.NOT_AFFECTED,
                justification=justification.get(
                    finding.justification or "", ImpactAnalysisJustification.CODE_NOT_REACHABLE
                ),
                detail=finding.reason,
            )
        elif finding.tier is Tier.REACHABLE:
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.EXPLOITABLE,
                responses=[ImpactAnalysisResponse.UPDATE],
                detail=finding.reason + _path_note(finding),
            )
        else:
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.IN_TRIAGE, detail=finding.reason + _path_note(finding)
            )
        ratings = []
        if finding.severity.label in severities:
            ratings.append(
                VulnerabilityRating(
                    score=None
                    if finding.severity.score is None
                    else _decimal(finding.severity.score),
                    severity=severities[finding.severity.label],
                    method=VulnerabilityScoreSource.CVSS_V3_1
                    if finding.severity.vector and finding.severity.vector.startswith("CVSS:3.1")
                    else (VulnerabilityScoreSource.CVSS_V3 if finding.severity.vector else None),
                    vector=finding.severity.vector,
                )
            )
        source = VulnerabilitySource(name="OSV", url=XsUri(_OSV_URL + finding.vulnerability))
        vulnerability = Vulnerability(
            bom_ref=f"{finding.vulnerability}/{finding.purl}/{index}",
            id=finding.vulnerability,
            source=source,
            description=finding.summary or None,
            references=[
                VulnerabilityReference(
                    id=alias, source=VulnerabilitySource(url=XsUri(_OSV_URL + alias))
                )
                for alias in finding.aliases
            ],
            ratings=ratings,
            analysis=analysis,
            affects=[BomTarget(ref=finding.purl)],
        )
        bom.vulnerabilities.add(vulnerability)
    return str(JsonV1Dot6(bom).output_as_string(indent=2)) + "\n"


def _decimal(value: float) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


# -- sarif -------------------------------------------------------------------------------


def _uri(path: str) -> str:
    from urllib.parse import quote

    return quote(path.replace("\\", "/"), safe="/", errors="surrogateescape")


def _physical(file: str, line: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
    if line:
        location["region"] = {"startLine": line}
    return location


def sarif_document(report: ReachReport) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in report.findings:
        if finding.tier.not_affected:
            continue
        if finding.vulnerability not in rule_index:
            rule_index[finding.vulnerability] = len(rules)
            score = finding.severity.score
            if score is None:
                score = _SECURITY_SEVERITY.get(finding.severity.label)
            properties: dict[str, Any] = {"tags": ["security", "vulnerability", "reachability"]}
            if score is not None:
                properties["security-severity"] = f"{score:.1f}"
            rules.append(
                {
                    "id": finding.vulnerability,
                    "name": finding.vulnerability,
                    "shortDescription": {"text": finding.summary or finding.vulnerability},
                    "fullDescription": {"text": finding.summary or finding.vulnerability},
                    "helpUri": _OSV_URL + finding.vulnerability,
                    "help": {"text": f"{finding.summary}\n\n{_action(finding)}"},
                    "properties": properties,
                }
            )
        reachable = finding.tier is Tier.REACHABLE
        level = "none"
        if reachable:
            level = {"critical": "error", "high": "error", "medium": "warning"}.get(
                finding.severity.label, "note"
            )
        first = next((f for f in finding.path if f.file), None)
        result: dict[str, Any] = {
            "ruleId": finding.vulnerability,
            "ruleIndex": rule_index[finding.vulnerability],
            "kind": "fail" if reachable else "review",
            "level": level,
            "message": {
                "text": f"{finding.package} {finding.version or '(version unknown)'}: {finding.reason}"
            },
            "locations": [
                {
                    **(
                        {"physicalLocation": _physical(first.file, first.line)}
                        if first and first.file
                        else {}
                    ),
                    "logicalLocations": [
                        {
                            "fullyQualifiedName": first.function if first else finding.purl,
                            "kind": "function" if first else "package",
                        }
                    ],
                }
            ],
            "partialFingerprints": {
                "pipewarden-reach/v1": hashlib.sha256(
                    f"{finding.vulnerability}|{finding.purl}".encode()
                ).hexdigest()
            },
            "properties": {
                "tier": finding.tier.value,
                "package": finding.package,
                "version": finding.version,
                "purl": finding.purl,
                "priority": finding.priority,
                "evidence": dict(finding.evidence),
            },
        }
        if finding.path:
            thread = []
            for frame in finding.path:
                entry: dict[str, Any] = {
                    "location": {
                        "message": {
                            "text": frame.function + (f" ({frame.edge})" if frame.edge else "")
                        },
                        "logicalLocations": [{"fullyQualifiedName": frame.function}],
                    }
                }
                if frame.file:
                    entry["location"]["physicalLocation"] = _physical(frame.file, frame.line)
                thread.append(entry)
            result["codeFlows"] = [{"threadFlows": [{"locations": thread}]}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "pipewarden",
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": "pipewarden-reach/"},
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {"level": "note", "message": {"text": note}} for note in report.notes
                        ],
                    }
                ],
                "properties": {"artifact": report.artifact, "summary": summary_json(report)},
            }
        ],
    }


# -- table ---------------------------------------------------------------------------------

_TIER_STYLE: Final = {
    Tier.REACHABLE: "bold red",
    Tier.UNKNOWN: "bold yellow",
    Tier.NO_CALL_PATH: "green",
    Tier.SYMBOL_NOT_REFERENCED: "green",
    Tier.NOT_IMPORTED: "green",
    Tier.NOT_INSTALLED: "dim",
}


def render_table(report: ReachReport, *, color: bool = False) -> str:
    from rich.markup import escape

    def t(text: object) -> str:
        return escape(printable(text)) if color else printable(text)

    def s(style: str, text: str) -> str:
        return f"[{style}]{text}[/]" if color else text

    lines: list[str] = []
    out: Callable[[str], None] = lines.append
    out(s("bold", f"PipeWarden {t(__version__)} reachability") + f": {t(report.artifact)}")
    for entry in report.entry_points:
        out(f"  entry point: {t(entry)}")
    order = [
        Tier.REACHABLE,
        Tier.UNKNOWN,
        Tier.NO_CALL_PATH,
        Tier.SYMBOL_NOT_REFERENCED,
        Tier.NOT_IMPORTED,
        Tier.NOT_INSTALLED,
    ]
    findings = sorted(
        report.findings, key=lambda f: (order.index(f.tier), f.package, f.vulnerability)
    )
    if findings:
        out("")
    for finding in findings:
        tier = finding.tier.value.ljust(22)
        out(
            f"  {s(_TIER_STYLE[finding.tier], tier)} {s('bold', t(finding.vulnerability))} "
            f"{t(finding.package)} {t(finding.version or '?')}  "
            f"(severity {t(finding.severity.label)}, priority {t(finding.priority)})"
        )
        out(f"      {t(finding.reason)}")
        for frame in finding.path:
            where = f"{frame.file}:{frame.line}" if frame.file else "outside the artifact"
            how = f"  --{frame.edge}-->" if frame.edge else ""
            out(s("dim", f"        {t(frame.function)} ({t(where)}){t(how)}"))
    if report.notes:
        out("")
        out(s("bold", "Notes"))
        for note in report.notes:
            out(f"  - {t(note)}")
    out("")
    summary = summary_json(report)
    cut = summary["noise_cut"]
    cut_text = "n/a" if cut is None else f"{cut * 100:.0f}%"
    tiers = ", ".join(f"{n} {k}" for k, n in summary["tiers"].items() if n)
    out(
        s(
            "bold red" if summary["tiers"]["reachable"] else "bold green",
            f"{summary['findings']} finding(s) ({tiers or 'none'}); noise cut: "
            f"{summary['not_affected']} of {summary['version_matched']} version-matched "
            f"finding(s) marked not affected ({cut_text})",
        )
    )
    text = "".join(line + "\n" for line in lines)
    if not color:
        return text
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        force_terminal=True,
        color_system="standard",
        highlight=False,
        emoji=False,
        width=200,
    )
    for line in lines:
        console.print(line, soft_wrap=True)
    return buffer.getvalue()
