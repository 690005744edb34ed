"""Renderers on a hand-built ScanResult: content, ordering, escaping, validity."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest

from pipewarden.engine import ScanResult
from pipewarden.errors import ConfigError
from pipewarden.model import Status, mask
from pipewarden.report import FORMATS, printable, render
from pipewarden.report.markdown import md
from pipewarden.report.sarif import artifact_uri

ROOT = Path(__file__).resolve().parents[2]
REPORT_SCHEMA = ROOT / "src" / "pipewarden" / "schema" / "report-v1.json"
SARIF_SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"


def test_unknown_format_is_a_config_error(sample_scan: ScanResult) -> None:
    with pytest.raises(ConfigError, match="unknown report format `xml`"):
        render(sample_scan, "xml")


# What a format needs beyond the scan: ASFF an account and region (the sample's pipelines
# have no ARN) and a clock.
_OPTIONS: dict[str, dict[str, object]] = {
    "asff": {
        "account": "111122223333",
        "region": "us-east-1",
        "clock": lambda: dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC),
    }
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_rendering_is_deterministic(sample_scan: ScanResult, fmt: str) -> None:
    options = _OPTIONS.get(fmt, {})
    assert render(sample_scan, fmt, **options) == render(sample_scan, fmt, **options)


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_format_dumps_the_declaration_or_a_secret(
    sample_scan: ScanResult, secret: str, fmt: str
) -> None:
    out = render(sample_scan, fmt, color=True, **_OPTIONS.get(fmt, {}))
    assert secret not in out
    if fmt != "markdown":  # markdown shows failures without evidence
        assert mask(secret) in out


# -- json ----------------------------------------------------------------------------


def test_json_validates_and_is_complete(sample_scan: ScanResult) -> None:
    doc = json.loads(render(sample_scan, "json"))
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(doc)
    assert doc["summary"] == {
        "pipelines": 3,
        "inputs": 2,
        "results": 7,
        "by_status": {"fail": 3, "unknown": 1, "pass": 3},
        "failures_by_severity": {"critical": 0, "high": 2, "medium": 0, "low": 0, "info": 0},
        "suppressed": 1,
        "gaps": 1,
        "notes": 1,
        "errors": 1,
    }
    assert doc["errors"] == [{"rule_id": "PW281", "pipeline": "app", "message": "KeyError: 'x'"}]
    rule_a = next(r for r in doc["rules"] if r["id"] == "PW181")
    assert rule_a["cicd_sec"] == ["CICD-SEC-6", "CICD-SEC-2"]
    assert rule_a["fsbp"] == ["CodeBuild.1"]
    assert rule_a["help_uri"].endswith("/docs/rules/test-source-token.md")
    assert [p["ref"] for p in doc["pipelines"]] == [
        "infra/app.json#/pipeline",
        "arn:aws:codepipeline:us-east-1:111122223333:live#/pipeline",
        "other/app.json#",
    ]


def test_json_results_sorted_and_shaped(sample_scan: ScanResult) -> None:
    results = json.loads(render(sample_scan, "json"))["results"]
    order = [
        (r["severity"], r["rule_id"], r["location"]["subject"], r["location"]["pointer"])
        for r in results
    ]
    assert order == [
        ("high", "PW181", "arn:aws:codepipeline:us-east-1:111122223333:live", "/pipeline/stages/0"),
        (
            "high",
            "PW181",
            "infra/app.json",
            "/pipeline/stages/0/actions/0/configuration/OAuthToken",
        ),
        (
            "high",
            "PW181",
            "infra/app.json",
            "/pipeline/stages/1/actions/0/configuration/OAuthToken",
        ),
        ("high", "PW181", "other/app.json", ""),
        ("medium", "PW281", "arn:aws:codepipeline:us-east-1:111122223333:live", "/pipeline"),
        ("medium", "PW281", "infra/app.json", "/pipeline/artifactStore"),
        ("low", "PW781", "infra/app.json", "/pipeline"),
    ]
    token = results[1]
    assert token["status"] == "fail"
    assert token["location"] == {
        "subject": "infra/app.json",
        "pointer": "/pipeline/stages/0/actions/0/configuration/OAuthToken",
        "file": "infra/app.json",
        "line": 20,
        "column": 5,
        "logical": "infra/app.json#/pipeline/stages/0/actions/0/configuration/OAuthToken",
    }
    assert token["stage"] == "Source"
    assert token["suppressed"] is None
    assert re.fullmatch(r"[0-9a-f]{64}", token["fingerprint"])
    assert results[2]["suppressed"] == {"reason": "migrating in Q3"}
    live = results[0]
    assert live["location"]["file"] is None
    assert live["location"]["line"] is None
    assert live["pipeline_arn"] == "arn:aws:codepipeline:us-east-1:111122223333:live"


# -- sarif ---------------------------------------------------------------------------


def test_sarif_is_valid_and_follows_the_decisions(sample_scan: ScanResult) -> None:
    log = json.loads(render(sample_scan, "sarif"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "PipeWarden"
    assert [r["id"] for r in driver["rules"]] == ["PW181", "PW281", "PW781"]
    rule = driver["rules"][0]
    assert rule["name"] == "test-source-token"
    assert rule["shortDescription"]["text"] == "Title of test-source-token"
    assert rule["fullDescription"]["text"] == "Attackers like it.\nThey really do."
    assert "Remediation:\nFix it with `care`." in rule["help"]["text"]
    assert rule["helpUri"] == (
        "https://github.com/pipewarden/pipewarden/blob/main/docs/rules/test-source-token.md"
    )
    assert rule["properties"]["tags"] == ["security", "CICD-SEC-6", "CICD-SEC-2"]
    assert rule["properties"]["security-severity"] == "8.0"
    assert driver["rules"][1]["properties"]["security-severity"] == "5.5"
    assert driver["rules"][2]["properties"]["security-severity"] == "3.0"

    results = run["results"]
    # Passes are omitted: 3 fail (one suppressed) and 1 unknown.
    assert len(results) == 4
    assert all(r["ruleIndex"] == ["PW181", "PW281", "PW781"].index(r["ruleId"]) for r in results)
    live, token, suppressed, unknown = results
    assert (token["kind"], token["level"]) == ("fail", "error")
    region = token["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 20, "startColumn": 5}
    assert token["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/app.json"
    assert token["properties"]["evidence"]["OAuthToken"].startswith("ghp_…(")
    assert "suppressions" not in token
    assert suppressed["suppressions"] == [{"kind": "external", "justification": "migrating in Q3"}]
    # A live result has no file: logical location only.
    assert "physicalLocation" not in live["locations"][0]
    assert live["locations"][0]["logicalLocations"] == [
        {
            "fullyQualifiedName": "arn:aws:codepipeline:us-east-1:111122223333:live#/pipeline/stages/0",
            "kind": "resource",
        }
    ]
    assert (unknown["kind"], unknown["level"]) == ("review", "none")
    assert unknown["message"]["text"] == "Not evaluated (unknown): bucket not in input"
    for result in results:
        assert len(result["partialFingerprints"]["pipewarden/v1"]) == 64
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    levels = [n["level"] for n in invocation["toolExecutionNotifications"]]
    assert levels == ["error", "warning", "note"]


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("infra/app.json", "infra/app.json"),
        ("./infra/app.json", "infra/app.json"),
        ("dir with space/a#b.json", "dir%20with%20space/a%23b.json"),
        ("/abs/p.json", "file:///abs/p.json"),
        ("caf\udce9.json", "caf%E9.json"),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert artifact_uri(path) == uri


# -- table ---------------------------------------------------------------------------


def test_table_groups_by_pipeline_with_failures_first(sample_scan: ScanResult, secret: str) -> None:
    out = render(sample_scan, "table")
    assert "\x1b[" not in out
    lines = out.splitlines()
    start = lines.index("app (arn:aws:codepipeline:us-east-1:111122223333:app)")
    block = lines[start + 1 : start + 7]
    assert block[0].split()[:4] == ["FAIL", "high", "PW181", "test-source-token"]
    assert "infra/app.json:20" in block[0]
    assert block[1].strip() == f"evidence: OAuthToken={mask(secret)}"
    assert block[2].split()[:3] == ["UNKNOWN", "medium", "PW281"]
    assert block[3].split()[:3] == ["SUPPRESSED", "high", "PW181"]
    assert block[4].strip() == "suppressed: migrating in Q3"
    assert block[5].strip() == "1 passed"
    # Two pipelines named `app`, from different files, stay apart.
    assert "app (other/app.json)" in lines
    live = lines.index("live (arn:aws:codepipeline:us-east-1:111122223333:live)")
    assert "arn:aws:codepipeline:us-east-1:111122223333:live#/pipeline/stages/0" in lines[live + 1]
    assert "  - PW281 on app: KeyError: 'x'" in lines
    assert "  - role arn:aws:iam::111122223333:role/x: AccessDenied" in lines
    assert "  - skipped infra/readme.yaml: not a pipeline definition" in lines
    assert lines[-1] == (
        "3 pipelines; 7 results (3 fail, 1 unknown, 3 pass); failures by severity: 2 high; "
        "1 suppressed; 1 gap; 1 rule error"
    )


def test_table_colour_only_when_asked(sample_scan: ScanResult) -> None:
    assert "\x1b[" in render(sample_scan, "table", color=True)
    assert "\x1b[" not in render(sample_scan, "table", color=False)


# -- markdown ------------------------------------------------------------------------


def test_markdown_tables(sample_scan: ScanResult) -> None:
    text = render(sample_scan, "markdown")
    assert "**2 failing result(s)** in 3 pipeline(s)" in text
    failures = text.split("### Failures", 1)[1].split("<details>", 1)[0]
    rows = [line for line in failures.splitlines() if line.startswith("| high")]
    assert len(rows) == 2
    assert "infra/app.json:20" in rows[1]
    assert "\\`Source\\`" in rows[1]
    assert "<summary>Unknown: evidence missing (1)</summary>" in text
    assert "<summary>Suppressed (1)</summary>" in text
    assert "| app \\(other/app.json\\) | 0 | 0 | 1 |" in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("`code`", "\\`code\\`"),
        ("<script>", "&lt;script&gt;"),
        ("line\nbreak", "line\\\\nbreak"),
        ("[x](http://e)", "\\[x\\]\\(http://e\\)"),
        ("**b** _i_ ~s~ $m$", "\\*\\*b\\*\\* \\_i\\_ \\~s\\~ \\$m\\$"),
        ("@org/team", "@\u2060org/team"),
        ("a&amp;b", "a&amp;amp;b"),
    ],
)
def test_markdown_escaping(raw: str, escaped: str) -> None:
    assert md(raw) == escaped


# -- html ----------------------------------------------------------------------------


def test_html_matrix_worst_status_with_counts(sample_scan: ScanResult) -> None:
    page = render(sample_scan, "html")
    rows = re.findall(r'<tr><th scope="row"><a href="#p(\d)">([^<]*)</a></th>(.*?)</tr>', page)
    assert [(i, name) for i, name, _ in rows] == [("0", "app"), ("1", "live"), ("2", "app")]
    cells = {i: re.findall(r'<td class="(\w+)">([^<]*)</td>', body) for i, _, body in rows}
    assert cells["0"][0] == ("fail", "1 fail · 1 suppressed")  # PW1xx
    assert cells["0"][1] == ("unknown", "1 unknown")  # PW2xx
    assert cells["0"][6] == ("pass", "1 pass")  # PW7xx
    assert cells["0"][2] == ("none", "not evaluated")  # PW3xx: no rule ran
    assert cells["1"][0] == ("fail", "1 fail")
    assert cells["1"][1] == ("pass", "1 pass")
    assert cells["2"][0] == ("pass", "1 pass")
    assert len(cells["0"]) == 8  # PW1xx..PW8xx
    assert '<h3 id="p1">live</h3>' in page
    assert "migrating in Q3" in page


# -- printable -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("a\nb\tc\r", "a\\nb\\tc\\r"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("abc\u202edef", "abc\\u202edef"),
        ("x\u2028y", "x\\u2028y"),
        ("bad\udcffname", "bad\\udcffname"),
        ("\x85", "\\x85"),
        ("café ✓", "café ✓"),
    ],
)
def test_printable(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def test_status_values_are_known() -> None:
    assert {str(s) for s in Status} == {"pass", "fail", "unknown"}
