"""Reach renderers on a hand-built report: one finding per tier, hostile names, a planted secret.

Each format is parsed back and checked against its schema (OpenVEX 0.2.0 as the
specification documents its fields, CycloneDX 1.6 with the schema shipped in
cyclonedx-python-lib, SARIF 2.1.0, the reach JSON v1 schema) and for the
decisions it encodes: the status and justification per tier, the path as
locations and code flows, the ordering, the noise cut.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipewarden.errors import ConfigError
from pipewarden.reach.model import Finding, Frame, ReachReport, Severity, Tier
from pipewarden.reach.render import FORMATS, ordered, render

ROOT = Path(__file__).resolve().parents[2]
REACH_SCHEMA = ROOT / "src" / "pipewarden" / "schema" / "reach-v1.json"
SARIF_SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"

NOW = dt.datetime(2026, 11, 24, 12, 30, 5, tzinfo=dt.UTC)
SECRET = "ghp_" + "Xq8Lm2Rt5Vb9Nc3Kd7Hs1Gf4Jw6Py0Ue2Aa"
HOSTILE_PACKAGE = "evil<script>alert(1)</script>\x1b[2J\u202e"
HOSTILE_REASON = "\x1b[31mowned\x1b[0m [bold]markup[/bold] <img src=x onerror=alert(1)>"
HOSTILE_FUNCTION = "evil:<script>run</script>"

ENTRY = Frame("entry point app:handler", "app.py", None, "entry")
HANDLER = Frame("app:handler", "app.py", 5, "call")
PARSE = Frame("vulnlib:parse", "vulnlib/__init__.py", 2, "call")
INNER = Frame("vulnlib:_inner", "vulnlib/__init__.py", 4)

REACHABLE = Finding(
    vulnerability="PYSEC-2026-1",
    aliases=("CVE-2026-0001", "GHSA-aaaa-bbbb-cccc"),
    summary="vulnlib parse runs code",
    package="vulnlib",
    version="1.0",
    purl="pkg:pypi/vulnlib@1.0",
    tier=Tier.REACHABLE,
    reason=f"vulnlib:_inner is reached from an entry point (token {SECRET})",
    path=(ENTRY, HANDLER, PARSE, INNER),
    evidence={"version_source": "vulnlib-1.0.dist-info/METADATA", "basis": "symbol"},
    severity=Severity(9.8, "critical", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    fixed=("1.1",),
    symbol_data=True,
    version_source="vulnlib-1.0.dist-info/METADATA",
    priority="critical",
    references=("https://example.com/advisory/1", "ftp://example.com/not-a-web-link"),
    deployed_to_production=True,
)
UNKNOWN = Finding(
    vulnerability="GHSA-dddd-eeee-ffff",
    aliases=(),
    summary="",
    package=HOSTILE_PACKAGE,
    version="0.1",
    purl="pkg:pypi/evil-pkg@0.1",
    tier=Tier.UNKNOWN,
    reason=HOSTILE_REASON,
    # A justification the model should never carry for unknown: it must not leak.
    justification="vulnerable_code_not_in_execute_path",
    path=(
        Frame("app:handler", "my dir/app#1.py", 7, "dynamic (potential)"),
        Frame("<module evil handed to code outside the analysis>", None, None, "escape"),
        Frame(HOSTILE_FUNCTION, None, None),
    ),
    evidence={"basis": "symbol", "symbols": ["evil:run"]},
    severity=Severity(None, "medium"),
    symbol_data=True,
    priority="low",
    deployed_to_production=True,
)
NO_CALL_PATH = Finding(
    vulnerability="PYSEC-2026-3",
    aliases=("CVE-2026-0003",),
    summary="other risky",
    package="other",
    version="2.0",
    purl="pkg:pypi/other@2.0",
    tier=Tier.NO_CALL_PATH,
    reason="a vulnerable symbol is referenced (app:setup at app.py:9) but no call path leads to it",
    justification="vulnerable_code_not_in_execute_path",
    evidence={"basis": "symbol", "references": ["app:setup at app.py:9"]},
    symbol_data=True,
)
ABSENT = Finding(
    vulnerability="PYSEC-2026-4",
    aliases=(),
    summary="gone symbol",
    package="other",
    version="2.0",
    purl="pkg:pypi/other@2.0",
    tier=Tier.SYMBOL_NOT_REFERENCED,
    reason="none of the vulnerable symbols exists in the installed other",
    justification="vulnerable_code_not_present",
    evidence={"absent_symbols": ["other:gone"]},
    symbol_data=True,
)
UNREFERENCED = Finding(
    vulnerability="PYSEC-2026-5",
    aliases=(),
    summary="",
    package="third",
    version="3.0",
    purl="pkg:pypi/third@3.0",
    tier=Tier.SYMBOL_NOT_REFERENCED,
    reason="third is imported, but no vulnerable or derived symbol is referenced",
    justification=None,  # the renderer supplies the tier's default
)
NOT_IMPORTED = Finding(
    vulnerability="PYSEC-2026-6",
    aliases=(),
    summary="",
    package="gone",
    version="1.0",
    purl="pkg:pypi/gone@1.0",
    tier=Tier.NOT_IMPORTED,
    reason="no module of gone is imported from any entry point",
    justification="not-a-vex-label",  # not an OpenVEX label: the default applies
)
NOT_INSTALLED = Finding(
    vulnerability="PYSEC-2026-7",
    aliases=(),
    summary="",
    package="vulnlib",
    version="1.0",
    purl="pkg:pypi/vulnlib@1.0",
    tier=Tier.NOT_INSTALLED,
    reason="vulnlib 1.0 is outside the affected versions",
    justification="component_not_present",
)
FINDINGS = (NOT_INSTALLED, UNREFERENCED, NOT_IMPORTED, ABSENT, UNKNOWN, NO_CALL_PATH, REACHABLE)

DEPLOYMENT: dict[str, Any] = {
    "production": True,
    "basis": "inventory",
    "targets": [
        {
            "pipeline": "app",
            "stage": "Prod",
            "action": "Deploy\x1b[1m",
            "provider": "CloudFormation",
            "production": True,
            "source": "inventory",
        }
    ],
}


def _report(
    findings: tuple[Finding, ...] = FINDINGS, *, deployment: dict[str, Any] | None = None
) -> ReachReport:
    return ReachReport(
        artifact="/builds/out/my app<1>.zip",
        findings=findings,
        entry_points=("explicit: app:handler (--entry)",),
        whole_application=False,
        notes=("entry point lambda_function: module lambda_function is not in the artifact",),
        stats={"seconds": 0.5, "parse_cache_hits": 3},
        deployment=DEPLOYMENT if deployment is None else deployment,
    )


def _by_vuln(items: list[dict[str, Any]], key: str = "vulnerability") -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name = item[key]["name"] if isinstance(item[key], dict) else item[key]
        assert name not in out
        out[name] = item
    return out


# -- every format -------------------------------------------------------------------------


def test_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown reach format `xml`"):
        render(_report(), "xml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_planted_secret_is_carried_once_as_reason_data(fmt: str) -> None:
    # The reason is data: reproduced once where the format carries it, never copied
    # into identifiers, URIs or fingerprints.
    out = render(_report(), fmt, now=NOW)
    assert out.count(SECRET) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_does_not_depend_on_input_order(fmt: str) -> None:
    forward = render(_report(), fmt, now=NOW)
    backward = render(_report(tuple(reversed(FINDINGS))), fmt, now=NOW)
    assert forward == backward


def test_order_is_tier_then_package() -> None:
    tiers = [f.tier for f in ordered(_report())]
    assert tiers == [
        Tier.REACHABLE,
        Tier.UNKNOWN,
        Tier.NO_CALL_PATH,
        Tier.SYMBOL_NOT_REFERENCED,
        Tier.SYMBOL_NOT_REFERENCED,
        Tier.NOT_IMPORTED,
        Tier.NOT_INSTALLED,
    ]
    assert [f.package for f in ordered(_report())][3:5] == ["other", "third"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("fmt", ["json", "openvex", "cyclonedx", "sarif"])
def test_json_formats_keep_hostile_text_as_escaped_data(fmt: str) -> None:
    out = render(_report(), fmt, now=NOW)
    assert "\x1b" not in out  # JSON escapes control characters
    strings = _strings(json.loads(out))
    # Carried verbatim as data (OpenVEX names packages by purl only).
    assert any(HOSTILE_REASON in s for s in strings)
    if fmt != "openvex":
        assert any(HOSTILE_PACKAGE in s for s in strings)


# -- openvex ------------------------------------------------------------------------------

# OpenVEX 0.2.0, written from the fields the specification documents (document,
# statement, product/component and vulnerability tables; status and justification
# labels; "not_affected needs a justification or an impact statement", "affected
# needs an action statement").
_JUSTIFICATIONS = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
]
_COMPONENT_PROPERTIES: dict[str, Any] = {
    "@id": {"type": "string", "minLength": 1},
    "identifiers": {
        "type": "object",
        "propertyNames": {"enum": ["purl", "cpe22", "cpe23"]},
        "additionalProperties": {"type": "string"},
    },
    "hashes": {
        "type": "object",
        "propertyNames": {
            "enum": [
                "md5",
                "sha1",
                "sha-256",
                "sha-384",
                "sha-512",
                "sha3-224",
                "sha3-256",
                "sha3-384",
                "sha3-512",
                "blake2s-256",
                "blake2b-256",
                "blake2b-512",
            ]
        },
        "additionalProperties": {"type": "string"},
    },
}
OPENVEX_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["@context", "@id", "author", "timestamp", "version", "statements"],
    "additionalProperties": False,
    "properties": {
        "@context": {"const": "https://openvex.dev/ns/v0.2.0"},
        "@id": {"type": "string", "minLength": 1},
        "author": {"type": "string", "minLength": 1},
        "role": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "last_updated": {"type": "string", "format": "date-time"},
        "version": {"type": "integer", "minimum": 1},
        "tooling": {"type": "string"},
        "statements": {"type": "array", "items": {"$ref": "#/$defs/statement"}},
    },
    "$defs": {
        "component": {
            "type": "object",
            "additionalProperties": False,
            "properties": _COMPONENT_PROPERTIES,
        },
        "product": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                **_COMPONENT_PROPERTIES,
                "subcomponents": {"type": "array", "items": {"$ref": "#/$defs/component"}},
            },
        },
        "statement": {
            "type": "object",
            "required": ["vulnerability", "status"],
            "additionalProperties": False,
            "properties": {
                "@id": {"type": "string"},
                "version": {"type": "integer"},
                "vulnerability": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "@id": {"type": "string"},
                        "name": {"type": "string", "minLength": 1},
                        "description": {"type": "string"},
                        "aliases": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "timestamp": {"type": "string", "format": "date-time"},
                "last_updated": {"type": "string", "format": "date-time"},
                "products": {"type": "array", "items": {"$ref": "#/$defs/product"}},
                "status": {"enum": ["not_affected", "affected", "fixed", "under_investigation"]},
                "supplier": {"type": "string"},
                "status_notes": {"type": "string"},
                "justification": {"enum": _JUSTIFICATIONS},
                "impact_statement": {"type": "string"},
                "action_statement": {"type": "string"},
                "action_statement_timestamp": {"type": "string", "format": "date-time"},
            },
            "allOf": [
                {
                    "if": {"properties": {"status": {"const": "not_affected"}}},
                    "then": {
                        "anyOf": [
                            {"required": ["justification"]},
                            {"required": ["impact_statement"]},
                        ]
                    },
                },
                {
                    "if": {"properties": {"status": {"const": "affected"}}},
                    "then": {"required": ["action_statement"]},
                },
            ],
        },
    },
}


def _openvex(**kwargs: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render(_report(**kwargs), "openvex", now=NOW))
    jsonschema.Draft202012Validator(OPENVEX_SCHEMA).validate(doc)
    return doc


def test_openvex_document_shape() -> None:
    doc = _openvex()
    assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", doc["@id"])
    assert doc["author"] == "PipeWarden"
    assert doc["timestamp"] == "2026-11-24T12:30:05Z"
    assert doc["version"] == 1
    assert doc["tooling"].startswith("pipewarden/")
    assert len(doc["statements"]) == len(FINDINGS)
    for statement in doc["statements"]:
        # The artifact is the product; the package version is the subcomponent.
        (product,) = statement["products"]
        assert product["@id"] == "pkg:generic/my-app-1-.zip"
        assert [s["@id"] for s in product["subcomponents"]] in (
            [f.purl] for f in FINDINGS if f.vulnerability == statement["vulnerability"]["name"]
        )


def test_openvex_status_and_justification_per_tier() -> None:
    statements = _by_vuln(_openvex()["statements"])
    expected = {
        "PYSEC-2026-1": ("affected", None),
        "GHSA-dddd-eeee-ffff": ("under_investigation", None),
        "PYSEC-2026-3": ("not_affected", "vulnerable_code_not_in_execute_path"),
        "PYSEC-2026-4": ("not_affected", "vulnerable_code_not_present"),
        "PYSEC-2026-5": ("not_affected", "vulnerable_code_not_in_execute_path"),
        "PYSEC-2026-6": ("not_affected", "vulnerable_code_not_in_execute_path"),
        "PYSEC-2026-7": ("not_affected", "component_not_present"),
    }
    got = {k: (s["status"], s.get("justification")) for k, s in statements.items()}
    assert got == expected

    reach = statements["PYSEC-2026-1"]
    assert reach["vulnerability"]["aliases"] == ["CVE-2026-0001", "GHSA-aaaa-bbbb-cccc"]
    assert reach["vulnerability"]["description"] == "vulnlib parse runs code"
    assert reach["vulnerability"]["@id"] == "https://osv.dev/vulnerability/PYSEC-2026-1"
    assert reach["action_statement"] == "Upgrade vulnlib to 1.1 or later."
    assert reach["status_notes"].endswith(
        "(path: entry point app:handler -> app:handler -> vulnlib:parse -> vulnlib:_inner)"
    )
    assert "impact_statement" not in reach

    # unknown is never not_affected, whatever justification the finding carries.
    unknown = statements["GHSA-dddd-eeee-ffff"]
    assert "justification" not in unknown
    assert "impact_statement" not in unknown
    assert "action_statement" not in unknown
    assert unknown["status_notes"].startswith(HOSTILE_REASON)
    assert "aliases" not in unknown["vulnerability"]
    assert "description" not in unknown["vulnerability"]

    for name in ("PYSEC-2026-3", "PYSEC-2026-4", "PYSEC-2026-5", "PYSEC-2026-6", "PYSEC-2026-7"):
        statement = statements[name]
        finding = next(f for f in FINDINGS if f.vulnerability == name)
        assert statement["impact_statement"] == finding.reason
        assert "action_statement" not in statement
        assert "status_notes" not in statement


def test_openvex_action_without_a_fixed_version() -> None:
    unfixed = dataclasses.replace(REACHABLE, fixed=())
    doc = json.loads(render(_report((unfixed,)), "openvex", now=NOW))
    assert doc["statements"][0]["action_statement"].startswith(
        "No fixed version of vulnlib is known"
    )


def test_openvex_id_follows_content_not_time() -> None:
    first = json.loads(render(_report(), "openvex", now=NOW))
    later = json.loads(render(_report(), "openvex", now=NOW + dt.timedelta(days=1)))
    assert first["@id"] == later["@id"]
    assert first["timestamp"] != later["timestamp"]
    other = json.loads(render(_report(FINDINGS[:-1]), "openvex", now=NOW))
    assert other["@id"] != first["@id"]


def test_openvex_product_override_and_empty_report() -> None:
    product = "pkg:oci/app@sha256%3A" + "a" * 64
    doc = json.loads(render(_report(), "openvex", now=NOW, product=product))
    assert {s["products"][0]["@id"] for s in doc["statements"]} == {product}
    empty = _openvex(findings=())
    assert empty["statements"] == []


# -- cyclonedx ----------------------------------------------------------------------------


def _cyclonedx(report: ReachReport | None = None, **kwargs: Any) -> dict[str, Any]:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render(report or _report(), "cyclonedx", now=NOW, **kwargs)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, errors
    doc: dict[str, Any] = json.loads(text)
    return doc


def test_cyclonedx_is_valid_1_6_vex() -> None:
    doc = _cyclonedx()
    assert doc["specVersion"] == "1.6"
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["metadata"]["timestamp"].startswith("2026-11-24T12:30:05")
    assert doc["metadata"]["component"]["bom-ref"] == "pkg:generic/my-app-1-.zip"
    assert doc["metadata"]["component"]["type"] == "application"
    assert [c["name"] for c in doc["metadata"]["tools"]["components"]] == ["pipewarden"]
    purls = sorted(c["purl"] for c in doc["components"])
    assert purls == sorted({f.purl for f in FINDINGS})
    # The artifact depends on every package a finding names (a complete graph).
    root = next(d for d in doc["dependencies"] if d["ref"] == "pkg:generic/my-app-1-.zip")
    assert sorted(root["dependsOn"]) == purls


def test_cyclonedx_analysis_per_tier() -> None:
    vulns = {(v["id"], v["affects"][0]["ref"]): v for v in _cyclonedx()["vulnerabilities"]}
    assert len(vulns) == len(FINDINGS)
    got = {
        key[0]: (v["analysis"]["state"], v["analysis"].get("justification"))
        for key, v in vulns.items()
    }
    assert got == {
        "PYSEC-2026-1": ("exploitable", None),
        "GHSA-dddd-eeee-ffff": ("in_triage", None),
        "PYSEC-2026-3": ("not_affected", "code_not_reachable"),
        "PYSEC-2026-4": ("not_affected", "code_not_present"),
        "PYSEC-2026-5": ("not_affected", "code_not_reachable"),
        "PYSEC-2026-6": ("not_affected", "code_not_reachable"),
        "PYSEC-2026-7": ("not_affected", "code_not_present"),
    }
    reach = vulns[("PYSEC-2026-1", "pkg:pypi/vulnlib@1.0")]
    assert reach["analysis"]["response"] == ["update"]
    assert reach["recommendation"] == "Upgrade vulnlib to 1.1 or later."
    assert "vulnlib:parse -> vulnlib:_inner" in reach["analysis"]["detail"]
    assert reach["ratings"] == [
        {
            "method": "CVSSv31",
            "score": 9.8,
            "severity": "critical",
            "vector": reach["ratings"][0]["vector"],
        }
    ]
    assert reach["ratings"][0]["vector"].endswith("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    assert [r["id"] for r in reach["references"]] == ["CVE-2026-0001", "GHSA-aaaa-bbbb-cccc"]
    # Only web links become advisories.
    assert [a["url"] for a in reach["advisories"]] == ["https://example.com/advisory/1"]
    assert reach["source"] == {"name": "OSV", "url": "https://osv.dev/vulnerability/PYSEC-2026-1"}
    props = {p["name"]: p["value"] for p in reach["properties"]}
    assert props == {
        "pipewarden:tier": "reachable",
        "pipewarden:priority": "critical",
        "pipewarden:deployed_to_production": "true",
    }
    unknown = vulns[("GHSA-dddd-eeee-ffff", "pkg:pypi/evil-pkg@0.1")]
    assert "response" not in unknown["analysis"]
    assert unknown["ratings"] == [{"severity": "medium"}]
    assert "recommendation" not in unknown
    absent = vulns[("PYSEC-2026-4", "pkg:pypi/other@2.0")]
    assert absent["analysis"]["detail"] == ABSENT.reason
    assert "ratings" not in absent  # severity unknown: no rating rather than a guess


def test_cyclonedx_exploitable_without_a_fix_has_no_update_response() -> None:
    doc = _cyclonedx(_report((dataclasses.replace(REACHABLE, fixed=()),)))
    (vuln,) = doc["vulnerabilities"]
    assert vuln["analysis"]["state"] == "exploitable"
    assert "response" not in vuln["analysis"]


def test_cyclonedx_serial_number_follows_content_and_empty_report_is_valid() -> None:
    first = _cyclonedx()
    again = json.loads(render(_report(), "cyclonedx", now=NOW + dt.timedelta(hours=1)))
    assert first["serialNumber"] == again["serialNumber"]
    empty = _cyclonedx(_report(()))
    assert "vulnerabilities" not in empty or empty["vulnerabilities"] == []


def test_cyclonedx_unparseable_purl_still_gives_a_valid_document() -> None:
    odd = dataclasses.replace(UNREFERENCED, purl="not a purl")
    doc = _cyclonedx(_report((odd,)))
    (component,) = doc["components"]
    assert component["bom-ref"] == "not a purl"
    assert "purl" not in component


# -- sarif --------------------------------------------------------------------------------


def _sarif(report: ReachReport | None = None) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render(report or _report(), "sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    return log


def test_sarif_results_rules_and_levels() -> None:
    run = _sarif()["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "PipeWarden"
    assert [r["id"] for r in driver["rules"]] == ["PYSEC-2026-1", "GHSA-dddd-eeee-ffff"]
    assert driver["rules"][0]["properties"]["security-severity"] == "9.8"
    assert driver["rules"][1]["properties"]["security-severity"] == "5.5"
    assert driver["rules"][0]["helpUri"] == "https://osv.dev/vulnerability/PYSEC-2026-1"
    assert "Upgrade vulnlib to 1.1 or later." in driver["rules"][0]["help"]["text"]
    # Not-affected findings are left out; the run's summary counts them.
    reach, unknown = run["results"]
    assert (reach["ruleId"], reach["ruleIndex"], reach["kind"], reach["level"]) == (
        "PYSEC-2026-1",
        0,
        "fail",
        "error",
    )
    assert (unknown["ruleId"], unknown["ruleIndex"], unknown["kind"], unknown["level"]) == (
        "GHSA-dddd-eeee-ffff",
        1,
        "review",
        "none",
    )
    assert unknown["message"]["text"].startswith("Not decided (unknown): ")
    assert run["properties"]["summary"]["noise_cut"] == 0.6667
    assert run["properties"]["deployment"]["production"] is True
    assert reach["properties"]["deployed_to_production"] is True
    assert reach["properties"]["tier"] == "reachable"
    for result in run["results"]:
        assert re.fullmatch(r"[0-9a-f]{64}", result["partialFingerprints"]["pipewarden-reach/v1"])
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == list(_report().notes)


def test_sarif_location_is_the_path_end_and_code_flow_the_path() -> None:
    reach, unknown = _sarif()["runs"][0]["results"]
    (location,) = reach["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "vulnlib/__init__.py"},
        "region": {"startLine": 4},
    }
    assert location["logicalLocations"] == [
        {"fullyQualifiedName": "vulnlib:_inner", "kind": "function"}
    ]
    (flow,) = reach["codeFlows"]
    (thread,) = flow["threadFlows"]
    steps = [step["location"] for step in thread["locations"]]
    assert [s["logicalLocations"][0]["fullyQualifiedName"] for s in steps] == [
        f.function for f in REACHABLE.path
    ]
    assert [s["message"]["text"] for s in steps] == [
        "entry point app:handler (entry)",
        "app:handler (call)",
        "vulnlib:parse (call)",
        "vulnlib:_inner",
    ]
    # The entry point has a file but no line: no region.
    assert steps[0]["physicalLocation"] == {"artifactLocation": {"uri": "app.py"}}
    assert steps[1]["physicalLocation"]["region"] == {"startLine": 5}
    # The unknown path ends outside the artifact: the last frame with a file is the
    # location, URI-escaped; frames without a file are logical only.
    (location,) = unknown["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "my%20dir/app%231.py"},
        "region": {"startLine": 7},
    }
    steps = [s["location"] for s in unknown["codeFlows"][0]["threadFlows"][0]["locations"]]
    assert ["physicalLocation" in s for s in steps] == [True, False, False]


def test_sarif_finding_without_path_has_a_package_location() -> None:
    bare = dataclasses.replace(UNKNOWN, path=())
    (result,) = _sarif(_report((bare,)))["runs"][0]["results"]
    assert result["locations"] == [
        {"logicalLocations": [{"fullyQualifiedName": "pkg:pypi/evil-pkg@0.1", "kind": "package"}]}
    ]
    assert "codeFlows" not in result


def test_sarif_empty_report_is_valid() -> None:
    run = _sarif(_report(()))["runs"][0]
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []


# -- json ---------------------------------------------------------------------------------

_RESULT_KEYS = [
    "vulnerability",
    "aliases",
    "summary",
    "package",
    "version",
    "purl",
    "tier",
    "status",
    "justification",
    "reason",
    "path",
    "evidence",
    "severity",
    "priority",
    "deployed_to_production",
    "fixed_versions",
    "symbol_data",
    "version_source",
    "references",
]


def _json(report: ReachReport | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(render(report or _report(), "json"))
    schema = json.loads(REACH_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc


def test_json_document_and_summary() -> None:
    doc = _json()
    assert list(doc) == [
        "format",
        "schema_version",
        "tool",
        "artifact",
        "entry_points",
        "whole_application",
        "summary",
        "results",
        "deployment",
        "notes",
        "stats",
    ]
    assert doc["format"] == "pipewarden-reach"
    assert doc["schema_version"] == "1.0"
    assert doc["summary"] == {
        "findings": 7,
        "version_matched": 6,
        "not_affected": 4,
        "noise_cut": 0.6667,
        "tiers": {
            "not-installed": 1,
            "not-imported": 1,
            "symbol-not-referenced": 2,
            "no-call-path": 1,
            "reachable": 1,
            "unknown": 1,
        },
    }
    assert doc["deployment"] == DEPLOYMENT
    assert doc["stats"] == {"seconds": 0.5, "parse_cache_hits": 3}


def test_json_results_keys_and_values() -> None:
    results = _json()["results"]
    assert all(list(r) == _RESULT_KEYS for r in results)
    assert [r["vulnerability"] for r in results] == [f.vulnerability for f in ordered(_report())]
    reach = results[0]
    assert reach["tier"] == "reachable"
    assert reach["status"] == "affected"
    assert reach["justification"] is None
    assert reach["path"] == [
        {"function": "entry point app:handler", "file": "app.py", "line": None, "edge": "entry"},
        {"function": "app:handler", "file": "app.py", "line": 5, "edge": "call"},
        {"function": "vulnlib:parse", "file": "vulnlib/__init__.py", "line": 2, "edge": "call"},
        {"function": "vulnlib:_inner", "file": "vulnlib/__init__.py", "line": 4},
    ]
    assert reach["evidence"] == dict(REACHABLE.evidence)
    assert reach["severity"] == {
        "score": 9.8,
        "label": "critical",
        "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    }
    assert reach["deployed_to_production"] is True
    unknown = results[1]
    assert (unknown["status"], unknown["justification"]) == ("under_investigation", None)
    assert unknown["package"] == HOSTILE_PACKAGE
    by_vuln = {r["vulnerability"]: r for r in results}
    assert by_vuln["PYSEC-2026-5"]["justification"] == "vulnerable_code_not_in_execute_path"
    assert by_vuln["PYSEC-2026-6"]["justification"] == "vulnerable_code_not_in_execute_path"
    assert by_vuln["PYSEC-2026-7"]["justification"] == "component_not_present"


def test_json_without_deployment_or_findings() -> None:
    doc = _json(_report((), deployment={}))
    assert doc["deployment"] is None
    assert doc["results"] == []
    assert doc["summary"]["noise_cut"] is None


def test_json_schema_rejects_unknown_marked_not_affected() -> None:
    # The schema itself holds the soundness rule.
    doc = _json()
    doc["results"][1]["status"] = "not_affected"
    doc["results"][1]["justification"] = "vulnerable_code_not_in_execute_path"
    schema = json.loads(REACH_SCHEMA.read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(doc)


# -- table --------------------------------------------------------------------------------


def test_table_plain_text() -> None:
    out = render(_report(), "table")
    assert "\x1b" not in out
    lines = out.splitlines()
    assert (
        lines[0] == "PipeWarden " + lines[0].split()[1] + " reachability: /builds/out/my app<1>.zip"
    )
    assert "  entry point: explicit: app:handler (--entry)" in lines
    assert "  deployment: deployed to production (inventory)" in lines
    assert "    deploy: app/Prod/Deploy\\x1b[1m (production, CloudFormation, inventory)" in lines
    # Tier counts and the noise cut, in words.
    assert lines[-1] == (
        "7 finding(s) (1 not-installed, 1 not-imported, 2 symbol-not-referenced, "
        "1 no-call-path, 1 reachable, 1 unknown); noise cut: 4 of 6 version-matched "
        "finding(s) marked not affected (67%)"
    )
    block = lines[lines.index("") + 1 :]
    assert block[0].split() == [
        "reachable",
        "PYSEC-2026-1",
        "vulnlib",
        "1.0",
        "(severity",
        "critical,",
        "priority",
        "critical,",
        "deployed",
        "to",
        "production)",
    ]
    assert block[2] == "        entry point app:handler (app.py)  --entry-->"
    assert block[3] == "        app:handler (app.py:5)  --call-->"
    assert block[5] == "        vulnlib:_inner (vulnlib/__init__.py:4)"
    assert "        <module evil handed to code outside the analysis> (outside the artifact)" in (
        "\n".join(lines)
    )


def test_table_escapes_control_characters_from_hostile_names() -> None:
    out = render(_report(), "table")
    assert "evil<script>alert(1)</script>\\x1b[2J\\u202e" in out
    assert "\\x1b[31mowned\\x1b[0m [bold]markup[/bold]" in out
    assert "\u202e" not in out


def test_table_with_colour_styles_but_keeps_hostile_text_inert() -> None:
    out = render(_report(), "table", color=True)
    assert "\x1b[" in out  # styled
    assert "\x1b[2J" not in out
    assert "\x1b[31mowned" not in out
    # Markup in the input is shown, not interpreted.
    assert "[bold]markup[/bold]" in out


def test_table_empty_report() -> None:
    out = render(_report((), deployment={}), "table")
    assert out.splitlines()[-1] == (
        "0 finding(s) (none); noise cut: 0 of 0 version-matched finding(s) marked not "
        "affected (n/a)"
    )
    assert "deployment" not in out
