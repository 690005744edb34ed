"""``pipewarden gate``: the built-in Rego policy's allow, each deny, and fail-closed errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli import main
from pipewarden.verify.gate import Decision, Policy, decide, default_policy

Doc = dict[str, Any]


def result(rule_id: str, status: str, severity: str, *, suppressed: Any = None) -> Doc:
    return {
        "rule_id": rule_id,
        "slug": "test-rule",
        "title": "A test rule",
        "status": status,
        "severity": severity,
        "pipeline": "app",
        "pipeline_arn": "arn:aws:codepipeline:us-east-1:111122223333:app",
        "pipeline_ref": None,
        "account": "111122223333",
        "region": "us-east-1",
        "stage": None,
        "action": None,
        "location": {},
        "message": f'{rule_id} says "{status}"',
        "evidence": {},
        "fingerprint": "0" * 64,
        "suppressed": suppressed,
    }


def report(*results: Doc, errors: list[Doc] | None = None) -> Doc:
    return {
        "schema_version": "1.0",
        "tool": {"name": "pipewarden"},
        "results": list(results),
        "errors": errors or [],
    }


def handoff_record(*, verified: bool = True, sbom: bool = True) -> Doc:
    return {
        "verifier": "verify-handoff",
        "verified": verified,
        "reason": "every check passed" if verified else "envelope 1 signature does not verify",
        "sbom": {"attached": sbom},
    }


CLEAN_SCAN = report(
    result("PW101", "pass", "critical"),
    result("PW201", "fail", "medium"),
    result("PW202", "fail", "high", suppressed={"reason": "accepted until Q3"}),
    result("PW203", "unknown", "high"),
)


class Gate:
    def __init__(self, root: Path) -> None:
        self.root = root

    def file(self, name: str, content: Any) -> Path:
        path = self.root / name
        path.write_text(content if isinstance(content, str) else json.dumps(content), "utf-8")
        return path

    def run(self, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Doc, str]:
        code = main(["gate", *argv], environ={})
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        lines = captured.out.splitlines()
        assert len(lines) == 1, captured.out
        return code, json.loads(lines[0]), captured.err


@pytest.fixture
def gate(tmp_path: Path) -> Gate:
    return Gate(tmp_path)


def test_allow(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    scan = gate.file("scan.json", CLEAN_SCAN)
    evidence = gate.file("handoff.json", handoff_record())
    code, record, _ = gate.run(capsys, "--scan", str(scan), "--evidence", str(evidence))
    assert code == 0
    assert record["decision"] == "allow"
    assert record["verified"] is True
    assert record["reasons"] == []
    assert record["policy"]["source"] == "builtin:default"
    assert record["policy"]["sha256"] == default_policy().sha256
    assert record["inputs"]["scan"]["path"] == str(scan)
    assert record["inputs"]["evidence"][0]["records"] == 1


def test_evidence_as_json_lines_and_several_files(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    scan = gate.file("scan.json", CLEAN_SCAN)
    commit = {"verifier": "verify-commit", "verified": True, "reason": "good signature"}
    lines = gate.file("ev.jsonl", json.dumps(commit) + "\n" + json.dumps(handoff_record()) + "\n")
    code, record, _ = gate.run(capsys, "--scan", str(scan), "--evidence", str(lines))
    assert code == 0
    assert record["inputs"]["evidence"][0]["records"] == 2
    one = gate.file("commit.json", commit)
    two = gate.file("handoff.json", handoff_record())
    code, _, _ = gate.run(capsys, "--scan", str(scan), "--evidence", str(one), str(two))
    assert code == 0


DENIALS: dict[str, tuple[Doc | None, list[Doc], Doc | None, str]] = {
    "high failure": (
        report(result("PW301", "fail", "high")),
        [handoff_record()],
        None,
        'PW301 (high) fails on pipeline app: PW301 says "fail"',
    ),
    "critical failure": (
        report(result("PW101", "fail", "critical")),
        [handoff_record()],
        None,
        "PW101 (critical) fails on pipeline app",
    ),
    "rule crash": (
        report(errors=[{"rule_id": "PW102", "pipeline": "app", "message": "boom"}]),
        [handoff_record()],
        None,
        "the scan had 1 rule crash(es)",
    ),
    "no scan": (None, [handoff_record()], None, "no scan result"),
    "no attestation": (CLEAN_SCAN, [], None, "no verified attestation"),
    "unverified attestation": (
        CLEAN_SCAN,
        [handoff_record(verified=False)],
        None,
        "verify-handoff did not verify: envelope 1 signature does not verify",
    ),
    "unverified commit": (
        CLEAN_SCAN,
        [handoff_record(), {"verifier": "verify-commit", "verified": False, "reason": "unsigned"}],
        None,
        "verify-commit did not verify: unsigned",
    ),
    "no sbom": (CLEAN_SCAN, [handoff_record(sbom=False)], None, "no SBOM attached"),
    "drift": (
        CLEAN_SCAN,
        [handoff_record()],
        {"results": [result("PW901", "fail", "high")]},
        "drift from the baseline (PW901) on pipeline app",
    ),
}


@pytest.mark.parametrize("case", sorted(DENIALS))
def test_deny(gate: Gate, capsys: pytest.CaptureFixture[str], case: str) -> None:
    scan, evidence, drift, reason = DENIALS[case]
    argv: list[str] = []
    if scan is not None:
        argv += ["--scan", str(gate.file("scan.json", scan))]
    if evidence:
        argv += ["--evidence", str(gate.file("ev.json", evidence))]
    if drift is not None:
        argv += ["--drift", str(gate.file("drift.json", drift))]
    code, record, err = gate.run(capsys, *argv)
    assert code == 1
    assert record["decision"] == "deny"
    assert record["verified"] is False
    assert any(reason in r for r in record["reasons"]), record["reasons"]
    assert "pipewarden: deny: " in err


def test_drift_without_pw901_failures_allows(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    drift = {"results": [result("PW901", "pass", "high"), result("PW902", "fail", "high")]}
    argv = [
        "--scan",
        str(gate.file("scan.json", CLEAN_SCAN)),
        "--evidence",
        str(gate.file("ev.json", handoff_record())),
        "--drift",
        str(gate.file("drift.json", drift)),
    ]
    code, record, _ = gate.run(capsys, *argv)
    assert code == 0
    assert record["inputs"]["drift"]["path"].endswith("drift.json")


def test_every_reason_is_listed(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    scan = report(result("PW101", "fail", "critical"), result("PW301", "fail", "high"))
    code, record, _ = gate.run(capsys, "--scan", str(gate.file("s.json", scan)))
    assert code == 1
    assert len(record["reasons"]) == 3  # two failures and no attestation


ERRORS: dict[str, tuple[str, Any, str]] = {
    "scan missing": ("--scan", None, "no such scan result file"),
    "scan not json": ("--scan", "{", "not valid JSON"),
    "scan not a report": ("--scan", {"results": []}, "not a PipeWarden JSON report"),
    "scan null": ("--scan", "null", "JSON null"),
    "scan result without message": (
        "--scan",
        {"schema_version": "1.0", "results": [{"rule_id": "PW1", "status": "fail"}]},
        "`severity` must be a string",
    ),
    "scan bad status": (
        "--scan",
        report({**result("PW1", "fail", "high"), "status": "FAIL"}),
        "`status` must be one of",
    ),
    "scan severity in capitals": (
        "--scan",
        report(result("PW1", "fail", "High")),
        "`severity` must be one of critical, high",
    ),
    "evidence missing": ("--evidence", None, "no such evidence file"),
    "evidence empty": ("--evidence", "", "evidence is empty"),
    "evidence not json": ("--evidence", "{\n", "not valid JSON"),
    "evidence without verifier": ("--evidence", {"verified": True}, "`verifier` must be"),
    "evidence verified as string": (
        "--evidence",
        {"verifier": "verify-handoff", "verified": "true"},
        "`verified` must be true or false",
    ),
    "drift without results": ("--drift", {"changes": []}, "`results` must be a list"),
    "policy missing": ("--policy", None, "no such policy file"),
    "policy syntax": (
        "--policy",
        "package pipewarden.gate\ndeny contains x if {",
        "does not compile",
    ),
    "policy without deny": (
        "--policy",
        "package pipewarden.gate\nallow := true\n",
        "defines no `deny`",
    ),
    "policy other package": ("--policy", "package other\ndeny := set()\n", "defines no `deny`"),
    "policy deny not a set": ("--policy", "package pipewarden.gate\ndeny := 5\n", "must be a set"),
    "policy built-in error": (
        "--policy",
        'package pipewarden.gate\nimport rego.v1\ndeny contains x if { x := sprintf("%d", [1 / 0]) }\n',
        "failed to evaluate",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_deny(gate: Gate, capsys: pytest.CaptureFixture[str], case: str) -> None:
    option, content, reason = ERRORS[case]
    path = gate.root / "input" if content is None else gate.file("input", content)
    code, record, _ = gate.run(capsys, option, str(path))
    assert code == 1
    assert record["decision"] == "deny"
    (only,) = record["reasons"]
    assert only.startswith("no decision, so denied: ")
    assert reason in only, only


def test_policy_not_utf8(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    path = gate.root / "p.rego"
    path.write_bytes(b"\xff\xfe")
    code, record, _ = gate.run(capsys, "--policy", str(path))
    assert code == 1
    assert "not UTF-8" in record["reason"]


def test_custom_policy(gate: Gate, capsys: pytest.CaptureFixture[str]) -> None:
    policy = gate.file(
        "p.rego",
        "package pipewarden.gate\nimport rego.v1\n"
        'deny contains "need two records" if count(input.evidence) < 2\n',
    )
    code, record, _ = gate.run(capsys, "--policy", str(policy))
    assert code == 1
    assert record["reasons"] == ["need two records"]
    assert record["policy"]["source"] == str(policy)
    two = gate.file(
        "ev.jsonl", '{"verifier":"a","verified":true}\n{"verifier":"b","verified":true}'
    )
    code, record, _ = gate.run(capsys, "--policy", str(policy), "--evidence", str(two))
    assert code == 0


def test_policy_compile_errors_do_not_reach_stdout(
    gate: Gate, capfd: pytest.CaptureFixture[str]
) -> None:
    """rego-cpp prints diagnostics on the process's stdout unless told not to."""
    policy = gate.file("p.rego", "package pipewarden.gate\ndeny contains x if {")
    assert main(["gate", "--policy", str(policy)], environ={}) == 1
    out = capfd.readouterr().out
    assert len(out.splitlines()) == 1
    json.loads(out)


def test_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--scan"], environ={}) == 2
    assert main(["gate", "--nope"], environ={}) == 2


def test_real_scan_report_is_accepted_and_denied(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = Path(__file__).parents[2] / "examples" / "get-pipeline"
    out = gate.root / "scan.json"
    main(
        ["scan", str(examples), "--format", "json", "-o", str(out), "--fail-on", "none"], environ={}
    )
    capsys.readouterr()
    evidence = gate.file("ev.json", handoff_record())
    code, record, _ = gate.run(capsys, "--scan", str(out), "--evidence", str(evidence))
    assert code == 1
    assert all(" fails on pipeline " in r for r in record["reasons"])


def test_decide_library() -> None:
    decision = decide(scan=CLEAN_SCAN, evidence=[handoff_record()])
    assert decision == Decision(True, (), default_policy())
    bad = decide(Policy("x.rego", "package pipewarden.gate\n"), scan=CLEAN_SCAN)
    assert not bad.allowed
    assert "defines no `deny`" in bad.reasons[0]


def test_a_fifo_input_is_refused_without_blocking(
    gate: Gate, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    fifo = gate.root / "scan.json"
    os.mkfifo(fifo)
    code, record, _ = gate.run(capsys, "--scan", str(fifo))
    assert code == 1
    assert "not a regular file" in record["reason"]
