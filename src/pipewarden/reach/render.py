"""Reach report renderers: table, json, openvex, cyclonedx, sarif.

Every string may come from the artifact or an OSV record (attacker-writable):
the table makes it printable and escapes rich markup; the JSON formats carry
it as JSON string data. Every format lists the findings in the same order
(:func:`ordered`), whatever order the report holds them in, so the same
analysis always renders to the same bytes (the VEX documents' timestamps
aside).

VEX mapping (OpenVEX 0.2.0 / CycloneDX 1.6):

=====================  =================================================  ==================================
tier                   OpenVEX status, justification                      CycloneDX analysis state, just.
=====================  =================================================  ==================================
not-installed          not_affected, component_not_present                not_affected, code_not_present
not-imported           not_affected, vulnerable_code_not_in_execute_path  not_affected, code_not_reachable
symbol-not-referenced  not_affected, vulnerable_code_not_in_execute_path  not_affected, code_not_reachable
                       (vulnerable_code_not_present when no vulnerable    (code_not_present)
                       symbol exists in the installed code)
no-call-path           not_affected, vulnerable_code_not_in_execute_path  not_affected, code_not_reachable
reachable              affected + action_statement                        exploitable (+ response update
                                                                          when a fixed version exists)
unknown                under_investigation                                in_triage
=====================  =================================================  ==================================

A not-affected finding keeps the justification the analysis gave it when that
is one of the three above; otherwise its tier's default applies. An
``unknown`` finding is never rendered as not affected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from pipewarden import __version__
from pipewarden._printable import printable
from pipewarden.errors import ConfigError
from pipewarden.reach.model import Finding, ReachReport, Tier

if TYPE_CHECKING:
    from cyclonedx.model.bom import Bom

__all__ = [
    "DEFAULT_FORMAT",
    "FORMATS",
    "JSON_SCHEMA_VERSION",
    "OPENVEX_CONTEXT",
    "cyclonedx_justification",
    "json_document",
    "openvex_document",
    "openvex_justification",
    "openvex_status",
    "ordered",
    "render",
    "sarif_document",
]

FORMATS: Final = ("table", "json", "openvex", "cyclonedx", "sarif")
DEFAULT_FORMAT: Final = "table"
JSON_FORMAT: Final = "pipewarden-reach"
JSON_SCHEMA_VERSION: Final = "1.0"
OPENVEX_CONTEXT: Final = "https://openvex.dev/ns/v0.2.0"
SARIF_SCHEMA: Final = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI: Final = "https://github.com/pipewarden/pipewarden"
FINGERPRINT_KEY: Final = "pipewarden-reach/v1"
_OSV_URL: Final = "https://osv.dev/vulnerability/"
_TIER_ORDER: Final = (
    Tier.REACHABLE,
    Tier.UNKNOWN,
    Tier.NO_CALL_PATH,
    Tier.SYMBOL_NOT_REFERENCED,
    Tier.NOT_IMPORTED,
    Tier.NOT_INSTALLED,
)
_STATUS: Final = {
    Tier.NOT_INSTALLED: "not_affected",
    Tier.NOT_IMPORTED: "not_affected",
    Tier.SYMBOL_NOT_REFERENCED: "not_affected",
    Tier.NO_CALL_PATH: "not_affected",
    Tier.REACHABLE: "affected",
    Tier.UNKNOWN: "under_investigation",
}
_DEFAULT_JUSTIFICATION: Final = {
    Tier.NOT_INSTALLED: "component_not_present",
    Tier.NOT_IMPORTED: "vulnerable_code_not_in_execute_path",
    Tier.SYMBOL_NOT_REFERENCED: "vulnerable_code_not_in_execute_path",
    Tier.NO_CALL_PATH: "vulnerable_code_not_in_execute_path",
}
_CYCLONEDX_JUSTIFICATION: Final = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
}
_SECURITY_SEVERITY: Final = {"critical": 9.5, "high": 8.0, "medium": 5.5, "low": 3.0, "none": 0.0}
_SARIF_LEVEL: Final = {"critical": "error", "high": "error", "medium": "warning"}


def openvex_status(finding: Finding) -> str:
    """The OpenVEX status of a finding's tier."""
    return _STATUS[finding.tier]


def openvex_justification(finding: Finding) -> str | None:
    """The OpenVEX justification of a not-affected finding (None for any other)."""
    default = _DEFAULT_JUSTIFICATION.get(finding.tier)
    if default is None:
        return None
    given = finding.justification
    return given if given in _CYCLONEDX_JUSTIFICATION else default


def cyclonedx_justification(finding: Finding) -> str | None:
    """The CycloneDX ``analysis.justification`` of a not-affected finding (None otherwise)."""
    justification = openvex_justification(finding)
    return None if justification is None else _CYCLONEDX_JUSTIFICATION[justification]


def ordered(report: ReachReport) -> list[Finding]:
    """The findings in rendering order: reachable, unknown, then the not-affected tiers from
    the least to the most certain; by package, version and vulnerability within a tier."""
    return sorted(
        report.findings,
        key=lambda f: (
            _TIER_ORDER.index(f.tier),
            f.package.lower(),
            f.version or "",
            f.vulnerability,
            f.purl,
        ),
    )


def render(
    report: ReachReport,
    fmt: str,
    *,
    color: bool = False,
    now: dt.datetime | None = None,
    product: str | None = None,
) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`).

    ``now`` is the VEX documents' timestamp (default: the current time);
    ``product`` the VEX product identifier (default ``pkg:generic/<artifact>``).
    """
    if fmt == "table":
        return render_table(report, color=color)
    if fmt == "json":
        return _dump(json_document(report))
    when = now or dt.datetime.now(dt.UTC)
    if fmt == "openvex":
        return _dump(openvex_document(report, when, product))
    if fmt == "cyclonedx":
        return cyclonedx_document(report, when, product)
    if fmt == "sarif":
        return _dump(sarif_document(report))
    raise ConfigError(f"unknown reach format `{fmt}` (choose from {', '.join(FORMATS)})")


def _dump(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def product_id(report: ReachReport, product: str | None) -> str:
    """The VEX product: ``--product`` or ``pkg:generic/<artifact name>``."""
    if product:
        return product
    name = _artifact_name(report)
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "-" for c in name)
    return f"pkg:generic/{safe.strip('.') or 'artifact'}"


def _artifact_name(report: ReachReport) -> str:
    return PurePosixPath(report.artifact.replace("\\", "/")).name or "artifact"


def _osv_link(identifier: str) -> str:
    return _OSV_URL + quote(identifier, safe="")


def _content_digest(findings: Sequence[Finding], product: str) -> str:
    """A digest of what a VEX document states, for its content-derived identifier."""
    body = json.dumps(
        [product, [finding_json(f) for f in findings]], sort_keys=True, ensure_ascii=True
    )
    return hashlib.sha256(body.encode()).hexdigest()


# -- json ------------------------------------------------------------------------------


def finding_json(finding: Finding) -> dict[str, Any]:
    """One entry of the JSON report's ``results``."""
    return {
        "vulnerability": finding.vulnerability,
        "aliases": list(finding.aliases),
        "summary": finding.summary,
        "package": finding.package,
        "version": finding.version,
        "purl": finding.purl,
        "tier": finding.tier.value,
        "status": openvex_status(finding),
        "justification": openvex_justification(finding),
        "reason": finding.reason,
        "path": [frame.to_json() for frame in finding.path],
        "evidence": dict(finding.evidence),
        "severity": {
            "score": finding.severity.score,
            "label": finding.severity.label,
            "vector": finding.severity.vector,
        },
        "priority": finding.priority,
        "deployed_to_production": finding.deployed_to_production,
        "fixed_versions": list(finding.fixed),
        "symbol_data": finding.symbol_data,
        "version_source": finding.version_source,
        "references": list(finding.references),
    }


def summary_json(report: ReachReport) -> dict[str, Any]:
    """Counts over the report, with the noise cut (a share, 0 to 1, or None)."""
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
    """The JSON report (``schema/reach-v1.json``)."""
    return {
        "format": JSON_FORMAT,
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": "pipewarden", "version": __version__},
        "artifact": report.artifact,
        "entry_points": list(report.entry_points),
        "whole_application": report.whole_application,
        "summary": summary_json(report),
        "results": [finding_json(f) for f in ordered(report)],
        "deployment": dict(report.deployment) if report.deployment else None,
        "notes": list(report.notes),
        "stats": dict(report.stats),
    }


# -- openvex -----------------------------------------------------------------------------


def _action(finding: Finding) -> str:
    if finding.fixed:
        return f"Upgrade {finding.package} to {' or '.join(finding.fixed)} or later."
    return (
        f"No fixed version of {finding.package} is known: remove it or keep untrusted input "
        "away from the vulnerable code on the reported path."
    )


def _path_note(finding: Finding) -> str:
    if not finding.path:
        return ""
    steps = " -> ".join(frame.function for frame in finding.path)
    return f" (path: {steps})"


def openvex_document(report: ReachReport, now: dt.datetime, product: str | None) -> dict[str, Any]:
    """An OpenVEX 0.2.0 document: one statement per finding."""
    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    prod = product_id(report, product)
    findings = ordered(report)
    statements: list[dict[str, Any]] = []
    for finding in findings:
        vulnerability: dict[str, Any] = {
            "@id": _osv_link(finding.vulnerability),
            "name": finding.vulnerability,
        }
        if finding.summary:
            vulnerability["description"] = finding.summary
        if finding.aliases:
            vulnerability["aliases"] = list(finding.aliases)
        statement: dict[str, Any] = {
            "vulnerability": vulnerability,
            "products": [{"@id": prod, "subcomponents": [{"@id": finding.purl}]}],
            "status": openvex_status(finding),
        }
        justification = openvex_justification(finding)
        if justification is not None:
            statement["justification"] = justification
            statement["impact_statement"] = finding.reason
        elif finding.tier is Tier.REACHABLE:
            statement["action_statement"] = _action(finding)
            statement["status_notes"] = finding.reason + _path_note(finding)
        else:
            statement["status_notes"] = finding.reason + _path_note(finding)
        statements.append(statement)
    identifier = uuid.uuid5(
        uuid.NAMESPACE_URL, "urn:pipewarden:reach:openvex:" + _content_digest(findings, prod)
    )
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


# -- cyclonedx --------------------------------------------------------------------------


def cyclonedx_document(report: ReachReport, now: dt.datetime, product: str | None) -> str:
    """A CycloneDX 1.6 VEX (JSON) built with cyclonedx-python-lib."""
    from cyclonedx.output.json import JsonV1Dot6

    bom = _cyclonedx_bom(report, now, product)
    return str(JsonV1Dot6(bom).output_as_string(indent=2)) + "\n"


def _cyclonedx_bom(report: ReachReport, now: dt.datetime, product: str | None) -> Bom:
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.model.dependency import Dependency
    from cyclonedx.model.impact_analysis import (
        ImpactAnalysisJustification,
        ImpactAnalysisResponse,
        ImpactAnalysisState,
    )
    from cyclonedx.model.vulnerability import (
        BomTarget,
        Vulnerability,
        VulnerabilityAdvisory,
        VulnerabilityAnalysis,
        VulnerabilityReference,
        VulnerabilitySource,
    )
    from packageurl import PackageURL

    prod = product_id(report, product)
    findings = ordered(report)
    serial = uuid.uuid5(
        uuid.NAMESPACE_URL, "urn:pipewarden:reach:cyclonedx:" + _content_digest(findings, prod)
    )
    bom = Bom(serial_number=serial)
    bom.metadata.timestamp = now.astimezone(dt.UTC)
    bom.metadata.tools.components.add(
        Component(
            type=ComponentType.APPLICATION,
            name="pipewarden",
            version=__version__,
            bom_ref="pipewarden",
        )
    )
    root = Component(name=_artifact_name(report), type=ComponentType.APPLICATION, bom_ref=prod)
    bom.metadata.component = root
    components: dict[str, Component] = {}
    for finding in sorted(findings, key=lambda f: f.purl):
        if finding.purl in components:
            continue
        try:
            purl: PackageURL | None = PackageURL.from_string(finding.purl)
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
    # The artifact holds every package a finding names.
    bom.dependencies.add(
        Dependency(
            ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components.values()]
        )
    )
    for component in components.values():
        bom.dependencies.add(Dependency(ref=component.bom_ref))
    for index, finding in enumerate(findings):
        justification = cyclonedx_justification(finding)
        detail = finding.reason + _path_note(finding)
        if justification is not None:
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.NOT_AFFECTED,
                justification=ImpactAnalysisJustification(justification),
                detail=finding.reason,
            )
        elif finding.tier is Tier.REACHABLE:
            analysis = VulnerabilityAnalysis(
                state=ImpactAnalysisState.EXPLOITABLE,
                responses=[ImpactAnalysisResponse.UPDATE] if finding.fixed else None,
                detail=detail,
            )
        else:
            analysis = VulnerabilityAnalysis(state=ImpactAnalysisState.IN_TRIAGE, detail=detail)
        properties = [
            Property(name="pipewarden:tier", value=finding.tier.value),
            Property(name="pipewarden:priority", value=finding.priority),
        ]
        if finding.deployed_to_production is not None:
            properties.append(
                Property(
                    name="pipewarden:deployed_to_production",
                    value=str(finding.deployed_to_production).lower(),
                )
            )
        vulnerability = Vulnerability(
            bom_ref=f"{finding.vulnerability}/{finding.purl}/{index}",
            id=finding.vulnerability,
            source=VulnerabilitySource(name="OSV", url=XsUri(_osv_link(finding.vulnerability))),
            description=finding.summary or None,
            recommendation=_action(finding) if finding.tier is Tier.REACHABLE else None,
            references=[
                VulnerabilityReference(
                    id=alias, source=VulnerabilitySource(url=XsUri(_osv_link(alias)))
                )
                for alias in finding.aliases
            ],
            advisories=[
                VulnerabilityAdvisory(url=XsUri(url))
                for url in finding.references
                if url.startswith(("https://", "http://"))
            ],
            ratings=_ratings(finding),
            analysis=analysis,
            affects=[BomTarget(ref=finding.purl)],
            properties=properties,
        )
        bom.vulnerabilities.add(vulnerability)
    return bom


def _ratings(finding: Finding) -> list[Any]:
    from decimal import Decimal

    from cyclonedx.model.vulnerability import (
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
    )

    severity = finding.severity
    if severity.label not in ("critical", "high", "medium", "low", "none"):
        return []
    vector = severity.vector
    method = None
    if vector is not None:
        if vector.startswith("CVSS:3.1/"):
            method = VulnerabilityScoreSource.CVSS_V3_1
        elif vector.startswith("CVSS:3.0/"):
            method = VulnerabilityScoreSource.CVSS_V3
        elif vector.startswith("CVSS:4.0/"):
            method = VulnerabilityScoreSource.CVSS_V4
        else:
            method = VulnerabilityScoreSource.OTHER
    return [
        VulnerabilityRating(
            score=None if severity.score is None else Decimal(str(severity.score)),
            severity=VulnerabilitySeverity(severity.label),
            method=method,
            vector=vector,
        )
    ]


# -- sarif -------------------------------------------------------------------------------


def _uri(path: str) -> str:
    posix = path.replace("\\", "/")
    parts = [p for p in PurePosixPath(posix).parts if p not in (".", "/")]
    return quote("/".join(parts), safe="/", errors="surrogateescape")


def _physical(file: str, line: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
    if line:
        location["region"] = {"startLine": line}
    return location


def _sarif_rule(finding: Finding) -> dict[str, Any]:
    score = finding.severity.score
    if score is None:
        score = _SECURITY_SEVERITY.get(finding.severity.label)
    properties: dict[str, Any] = {"tags": ["security", "vulnerability", "reachability"]}
    if score is not None:
        properties["security-severity"] = f"{score:.1f}"
    text = finding.summary or finding.vulnerability
    return {
        "id": finding.vulnerability,
        "name": finding.vulnerability,
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "helpUri": _osv_link(finding.vulnerability),
        "help": {"text": f"{text}\n\n{_action(finding)}"},
        "properties": properties,
    }


def _sarif_result(finding: Finding, rule_index: int) -> dict[str, Any]:
    reachable = finding.tier is Tier.REACHABLE
    # SARIF: any kind but "fail" requires level "none".
    level = _SARIF_LEVEL.get(finding.severity.label, "note") if reachable else "none"
    # The primary location is where the path ends (the vulnerable code, a sink in
    # SARIF's terms); the code flow shows how the entry point gets there.
    sink = next((frame for frame in reversed(finding.path) if frame.file), None)
    location: dict[str, Any] = {}
    if sink is not None and sink.file:
        location["physicalLocation"] = _physical(sink.file, sink.line)
    location["logicalLocations"] = [
        {"fullyQualifiedName": sink.function, "kind": "function"}
        if sink is not None
        else {"fullyQualifiedName": finding.purl, "kind": "package"}
    ]
    version = finding.version or "(version unknown)"
    prefix = "" if reachable else "Not decided (unknown): "
    properties: dict[str, Any] = {
        "tier": finding.tier.value,
        "package": finding.package,
        "version": finding.version,
        "purl": finding.purl,
        "priority": finding.priority,
        "evidence": dict(finding.evidence),
    }
    if finding.deployed_to_production is not None:
        properties["deployed_to_production"] = finding.deployed_to_production
    result: dict[str, Any] = {
        "ruleId": finding.vulnerability,
        "ruleIndex": rule_index,
        "kind": "fail" if reachable else "review",
        "level": level,
        "message": {"text": f"{prefix}{finding.package} {version}: {finding.reason}"},
        "locations": [location],
        "partialFingerprints": {
            FINGERPRINT_KEY: hashlib.sha256(
                f"{finding.vulnerability}|{finding.purl}".encode()
            ).hexdigest()
        },
        "properties": properties,
    }
    if finding.path:
        thread = []
        for frame in finding.path:
            step: dict[str, Any] = {
                "message": {"text": frame.function + (f" ({frame.edge})" if frame.edge else "")},
                "logicalLocations": [{"fullyQualifiedName": frame.function}],
            }
            if frame.file:
                step["physicalLocation"] = _physical(frame.file, frame.line)
            thread.append({"location": step})
        result["codeFlows"] = [{"threadFlows": [{"locations": thread}]}]
    return result


def sarif_document(report: ReachReport) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one result per reachable or unknown finding.

    Reachable findings are ``kind: fail`` with a level from the severity;
    unknown ones ``kind: review``, ``level: none``. Not-affected findings are
    left out (the summary in the run's properties counts them).
    """
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for finding in ordered(report):
        if finding.tier.not_affected:
            continue
        if finding.vulnerability not in rule_index:
            rule_index[finding.vulnerability] = len(rules)
            rules.append(_sarif_rule(finding))
        results.append(_sarif_result(finding, rule_index[finding.vulnerability]))
    run_properties: dict[str, Any] = {"artifact": report.artifact, "summary": summary_json(report)}
    if report.deployment:
        run_properties["deployment"] = dict(report.deployment)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "PipeWarden",
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
                "properties": run_properties,
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
_TIER_WIDTH: Final = max(len(tier.value) for tier in Tier)


def _production(value: object) -> str:
    if value is True:
        return "deployed to production"
    if value is False:
        return "not deployed to production"
    return "production deployment unknown"


def _deployment_lines(deployment: Mapping[str, Any], t: Callable[[object], str]) -> list[str]:
    lines = [f"deployment: {_production(deployment.get('production'))}"]
    basis = deployment.get("basis")
    if basis:
        lines[0] += f" ({t(basis)})"
    targets = deployment.get("targets")
    for target in targets if isinstance(targets, list) else []:
        if not isinstance(target, Mapping):
            continue
        where = "/".join(t(target.get(k, "?")) for k in ("pipeline", "stage", "action"))
        facts = [t(target[k]) for k in ("provider", "source", "status", "when") if target.get(k)]
        kind = "production" if target.get("production") is True else "not production"
        lines.append(f"  deploy: {where} ({', '.join([kind, *facts])})")
    return lines


def render_table(report: ReachReport, *, color: bool = False) -> str:
    """Plain text for a terminal: one block per finding, then the summary with the noise cut.

    Every string from the input is made printable (control characters shown as
    escapes); with ``color``, rich markup in it is escaped too.
    """
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
    if report.deployment:
        for line in _deployment_lines(report.deployment, t):
            out(f"  {line}")
    findings = ordered(report)
    if findings:
        out("")
    for finding in findings:
        tier = finding.tier.value.ljust(_TIER_WIDTH)
        facts = [f"severity {t(finding.severity.label)}", f"priority {t(finding.priority)}"]
        if finding.deployed_to_production is not None:
            facts.append(_production(finding.deployed_to_production))
        out(
            f"  {s(_TIER_STYLE[finding.tier], tier)} {s('bold', t(finding.vulnerability))} "
            f"{t(finding.package)} {t(finding.version or '?')}  ({', '.join(facts)})"
        )
        out(f"      {t(finding.reason)}")
        for frame in finding.path:
            if frame.file is None:
                where = "outside the artifact"
            elif frame.line:
                where = f"{frame.file}:{frame.line}"
            else:
                where = frame.file
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
