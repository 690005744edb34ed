"""``--format asff``: valid BatchImportFindings input, stable Ids, statuses, limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from pipewarden.cli import main
from pipewarden.engine import ScanResult
from pipewarden.model import Location, Result, Severity, Status
from pipewarden.report import render
from pipewarden.report.asff import AsffError, findings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Clock = Callable[[int], Callable[[], dt.datetime]]

_SHAPE = (
    botocore.session.get_session()
    .get_service_model("securityhub")
    .operation_model("BatchImportFindings")
    .input_shape
)


def assert_valid_import(docs: list[dict[str, Any]]) -> None:
    """botocore's own validator, against the securityhub service model."""
    validator = ParamValidator()
    for start in range(0, len(docs), 100):
        report = validator.validate({"Findings": docs[start : start + 100]}, _SHAPE)
        assert not report.has_errors(), report.generate_report()


def test_live_findings_are_valid_and_name_their_own_account(
    live_scan: ScanResult, clock: Clock
) -> None:
    docs = findings(live_scan, clock=clock(12))
    assert_valid_import(docs)
    assert len(docs) == len({r.fingerprint for r in live_scan.results}) > 100
    for doc in docs:
        account, region = doc["AwsAccountId"], doc["Region"]
        assert doc["SchemaVersion"] == "2018-10-08"
        assert doc["ProductArn"] == (
            f"arn:aws:securityhub:{region}:{account}:product/{account}/default"
        )
        assert re.fullmatch(rf"pipewarden/{account}/{region}/[0-9a-f]{{64}}", doc["Id"])
        assert re.fullmatch(r"pipewarden/PW[0-9]{3}", doc["GeneratorId"])
        (resource,) = doc["Resources"]
        assert resource["Type"] == "Other"
        assert resource["Id"].startswith(f"arn:aws:codepipeline:{region}:{account}:")
        assert doc["CreatedAt"] == doc["UpdatedAt"] == "2026-11-24T12:00:00.250Z"
        assert doc["RecordState"] == "ACTIVE"
        assert doc["Remediation"]["Recommendation"]["Url"].endswith(".md")
    assert {d["AwsAccountId"] for d in docs} == {"111122223333", "210987654321"}


def test_one_finding_in_detail(live_scan: ScanResult, clock: Clock) -> None:
    docs = findings(live_scan, clock=clock(12))
    (oauth,) = [
        d
        for d in docs
        if d["GeneratorId"] == "pipewarden/PW101"
        and d["Resources"][0]["Id"] == "arn:aws:codepipeline:us-east-1:111122223333:payments-api"
    ]
    assert oauth["Compliance"] == {"Status": "FAILED", "RelatedRequirements": ["OWASP CICD-SEC-6"]}
    assert oauth["Severity"] == {"Label": "CRITICAL", "Original": "CRITICAL"}
    assert oauth["Workflow"] == {"Status": "NEW"}
    assert oauth["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
    assert oauth["Title"].startswith("PW101 ")
    assert oauth["Description"].startswith("Failed: ")
    assert oauth["ProductFields"]["pipewarden/Pointer"] == (
        "/pipeline/stages/0/actions/0/configuration/OAuthToken"
    )
    assert oauth["Resources"][0]["Details"]["Other"]["Stage"] == "Source"


def test_statuses_map_to_compliance_severity_and_workflow(
    live_scan: ScanResult, clock: Clock
) -> None:
    docs = findings(live_scan, clock=clock(12))
    seen = set()
    for doc in docs:
        status = doc["ProductFields"]["pipewarden/Status"]
        seen.add(status)
        expected = {"fail": "FAILED", "unknown": "WARNING", "pass": "PASSED"}[status]
        assert doc["Compliance"]["Status"] == expected
        if status == "pass":
            assert doc["Severity"]["Label"] == "INFORMATIONAL"
            assert doc["Workflow"] == {"Status": "RESOLVED"}
        else:
            assert doc["Severity"]["Label"] == doc["Severity"]["Original"]
            assert doc["Workflow"] == {"Status": "NEW"}
    assert seen == {"fail", "unknown", "pass"}


def test_fsbp_mapped_rules_carry_the_standard_type(live_scan: ScanResult, clock: Clock) -> None:
    docs = findings(live_scan, clock=clock(12))
    mapped = [
        d
        for d in docs
        if any("AWS FSBP" in r for r in d["Compliance"].get("RelatedRequirements", []))
    ]
    assert mapped
    for doc in mapped:
        assert doc["Types"][-1].endswith("AWS-Foundational-Security-Best-Practices")


def test_ids_are_stable_across_scans_and_only_timestamps_change(
    clock: Clock, live_scan: ScanResult
) -> None:
    from pipewarden.config import Config
    from pipewarden.rules import RULES
    from pipewarden.runner import scan_paths

    again = scan_paths(
        [EXAMPLES / "snapshot", EXAMPLES / "get-pipeline"],  # another order, another run
        rules=RULES,
        config=Config(),
        today=dt.date(2026, 11, 25),
    ).result
    first = {d["Id"]: d for d in findings(live_scan, clock=clock(9))}
    second = {d["Id"]: d for d in findings(again, clock=clock(17))}
    assert first.keys() == second.keys()
    for key, doc in first.items():
        later = second[key]
        assert later["UpdatedAt"] == "2026-11-24T17:00:00.250Z"
        assert {k: v for k, v in doc.items() if not k.endswith("At")} == {
            k: v for k, v in later.items() if not k.endswith("At")
        }


def test_inputs_without_account_need_one(template_scan: ScanResult, clock: Clock) -> None:
    with pytest.raises(AsffError, match=r"--asff-account and --asff-region"):
        findings(template_scan, clock=clock(12))
    with pytest.raises(AsffError, match="region"):
        findings(template_scan, account="111122223333", clock=clock(12))
    with pytest.raises(AsffError, match="12-digit"):
        findings(template_scan, account="1111", region="us-east-1", clock=clock(12))
    docs = findings(template_scan, account="111122223333", region="eu-west-1", clock=clock(12))
    assert_valid_import(docs)
    assert {d["AwsAccountId"] for d in docs} == {"111122223333"}
    assert {d["Resources"][0]["Region"] for d in docs} == {"eu-west-1"}
    # The file location stands in for the ARN the template does not have.
    assert all(d["Resources"][0]["Id"].endswith((".yaml", ".json")) for d in docs)
    assert all("File" in d["Resources"][0]["Details"]["Other"] for d in docs)


def _result(**changes: Any) -> Result:
    base = Result(
        rule_id="PW301",
        slug="pipeline-single-role",
        title="Actions run under the pipeline service role instead of their own role",
        severity=Severity.HIGH,
        status=Status.FAIL,
        pipeline="app",
        location=Location("arn:aws:codepipeline:eu-west-1:444455556666:app", "/pipeline"),
        message="3 actions run under the pipeline role",
        pipeline_arn="arn:aws:codepipeline:eu-west-1:444455556666:app",
        account="444455556666",
        region="eu-west-1",
    )
    return dataclasses.replace(base, **changes)


def test_a_suppressed_failure_is_suppressed_with_its_reason(clock: Clock) -> None:
    scan = ScanResult(
        results=(_result(suppressed="migrating in Q1 (JIRA-42)"),), rules=(), pipelines=()
    )
    (doc,) = findings(scan, clock=clock(12))
    assert_valid_import([doc])
    assert doc["Workflow"] == {"Status": "SUPPRESSED"}
    assert doc["Compliance"]["Status"] == "FAILED"
    assert doc["ProductFields"]["pipewarden/SuppressionReason"] == "migrating in Q1 (JIRA-42)"
    # Without the rule's metadata, the remediation still points at its page.
    assert doc["Remediation"]["Recommendation"]["Url"].endswith("pipeline-single-role.md")


def test_hostile_strings_are_printable_and_within_security_hub_limits(clock: Clock) -> None:
    name = "\x1b[2J\u202e" + "p" * 3000
    scan = ScanResult(
        results=(
            _result(
                pipeline=name,
                message="m\x00" * 2000,
                stage="s" * 2000,
                evidence={"k\x07": "v" * 5000},
            ),
        ),
        rules=(),
        pipelines=(),
    )
    (doc,) = findings(scan, clock=clock(12))
    assert_valid_import([doc])
    text = json.dumps(doc, ensure_ascii=False)
    for char in ("\x1b", "\u202e", "\x00", "\x07"):
        assert char not in text
    assert len(doc["Title"]) <= 256
    assert len(doc["Description"]) <= 1024
    assert len(doc["Remediation"]["Recommendation"]["Text"]) <= 512
    assert all(len(v) < 1024 for v in doc["Resources"][0]["Details"]["Other"].values())
    assert len(doc["ProductFields"]) <= 50


def test_a_clock_without_timezone_is_refused() -> None:
    scan = ScanResult(results=(_result(),), rules=(), pipelines=())
    with pytest.raises(ValueError, match="aware"):
        findings(scan, clock=lambda: dt.datetime(2026, 1, 1))  # noqa: DTZ001 - the point


# -- the command line ----------------------------------------------------------------


def test_cli_format_asff_for_live_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", str(EXAMPLES / "get-pipeline"), "--format", "asff"], environ={})
    out, _err = capsys.readouterr()
    assert code == 1  # the weak example fails high-severity rules
    docs = json.loads(out)
    assert_valid_import(docs)
    assert {d["AwsAccountId"] for d in docs} == {"111122223333"}


def test_cli_format_asff_needs_an_account_for_templates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = str(EXAMPLES / "cloudformation" / "weak-pipeline.yaml")
    code = main(["scan", path, "--format", "asff"], environ={})
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "--asff-account" in err

    argv = ["scan", path, "--format", "asff", "--asff-account", "111122223333"]
    code = main([*argv, "--asff-region", "eu-west-1", "--fail-on", "none"], environ={})
    out, err = capsys.readouterr()
    assert code == 0
    docs = json.loads(out)
    assert_valid_import(docs)
    assert {d["ProductArn"] for d in docs} == {
        "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
    }


@pytest.mark.parametrize(
    ("option", "value"), [("--asff-account", "12345"), ("--asff-region", "Europe")]
)
def test_cli_refuses_a_malformed_account_or_region(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    path = str(EXAMPLES / "cloudformation" / "weak-pipeline.yaml")
    code = main(["scan", path, "--format", "asff", option, value], environ={})
    _out, err = capsys.readouterr()
    assert code == 2
    assert value in err


def test_render_dispatches_asff_options(template_scan: ScanResult, clock: Clock) -> None:
    text = render(
        template_scan, "asff", account="111122223333", region="eu-west-1", clock=clock(12)
    )
    assert json.loads(text) == findings(
        template_scan, account="111122223333", region="eu-west-1", clock=clock(12)
    )
