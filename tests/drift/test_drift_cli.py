"""``pipewarden baseline approve`` / ``drift check`` / ``drift handle-event`` end to end
on a real SQLite store, with CloudTrail events shaped as EventBridge delivers them."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli.main import main
from pipewarden.drift.events import EventError, actor_of, parse_event
from pipewarden.drift.lambda_handler import handle_event, handler
from pipewarden.store import open_store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/get-pipeline/payments-weak.json"
ARN = "arn:aws:codepipeline:us-east-1:111122223333:payments-api"
MALLORY = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:mallory",
    "arn": "arn:aws:sts::111122223333:assumed-role/Deployer/mallory",
    "accountId": "111122223333",
    "accessKeyId": "ASIAEXAMPLE",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLE",
            "arn": "arn:aws:iam::111122223333:role/Deployer",
            "accountId": "111122223333",
            "userName": "Deployer",
        },
        "attributes": {"creationDate": "2026-11-25T10:00:00Z", "mfaAuthenticated": "false"},
    },
}


def _run(argv: list[str], db: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    import sys

    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main([*argv, "--db", db], environ={"USER": "tester"})
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'pw.db'}"


def _declaration() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())["pipeline"]
    return doc


def _write(tmp_path: Path, decl: dict[str, Any]) -> Path:
    doc = json.loads(EXAMPLE.read_text())
    doc["pipeline"] = decl
    path = tmp_path / "current.json"
    path.write_text(json.dumps(doc))
    return path


def _event(name: str, request: dict[str, Any], source: str = "aws.codepipeline") -> dict[str, Any]:
    service = source.split(".", 1)[1]
    return {
        "version": "0",
        "id": "6f1c2d4e-0000-4000-8000-000000000001",
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": "111122223333",
        "time": "2026-11-25T10:05:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": MALLORY,
            "eventTime": "2026-11-25T10:05:00Z",
            "eventSource": f"{service}.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.17.0",
            "requestParameters": request,
            "responseElements": None,
            "requestID": "b7e9c7b0-0000-4000-8000-000000000002",
            "eventID": "c0ffee00-0000-4000-8000-000000000003",
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "111122223333",
            "eventCategory": "Management",
        },
    }


def test_approve_then_check_clean_then_weakened(db: str, tmp_path: Path) -> None:
    code, _, err = _run(["baseline", "approve", str(EXAMPLE), "--reason", "reviewed"], db)
    assert code == 0, err
    assert "by tester" in err
    code, out, _ = _run(["drift", "check", str(EXAMPLE), "-f", "json"], db)
    assert code == 0
    assert {r["status"] for r in json.loads(out)["results"]} == {"pass"}

    decl = _declaration()
    decl["artifactStore"]["location"] = "attacker-bucket"
    code, out, _ = _run(["drift", "check", str(_write(tmp_path, decl)), "-f", "json"], db)
    assert code == 1
    fails = [r for r in json.loads(out)["results"] if r["status"] == "fail"]
    assert [(r["rule_id"], r["evidence"]["pointer"]) for r in fails] == [
        ("PW901", "/artifactStore/location")
    ]
    assert fails[0]["evidence"]["new"] == "attacker-bucket"
    store = open_store(db)
    assert [e["pipeline"] for e in store.drift_events()] == [ARN]
    store.close()


def test_benign_change_is_pw902_and_passes_the_default_gate(db: str, tmp_path: Path) -> None:
    _run(["baseline", "approve", str(EXAMPLE), "--reason", "reviewed", "--by", "alice"], db)
    decl = _declaration()
    decl["stages"][0]["name"] = decl["stages"][0]["name"] + "-renamed"
    path = _write(tmp_path, decl)
    code, out, _ = _run(["drift", "check", str(path), "-f", "json"], db)
    assert code == 0
    fails = [r for r in json.loads(out)["results"] if r["status"] == "fail"]
    assert {r["rule_id"] for r in fails} == {"PW902"}
    code, _, _ = _run(["drift", "check", str(path), "--fail-on", "low"], db)
    assert code == 1


def test_no_baseline_is_unknown(db: str) -> None:
    code, out, err = _run(["drift", "check", str(EXAMPLE), "-f", "json"], db)
    assert code == 0
    assert {r["status"] for r in json.loads(out)["results"]} == {"unknown"}
    assert "no approved baseline" in err


def test_bad_input_and_empty_reason_exit_2(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert _run(["drift", "check", str(bad)], db)[0] == 2
    assert _run(["baseline", "approve", str(EXAMPLE), "--reason", " "], db)[0] == 2


def test_update_pipeline_event_weakening_records_actor(db: str) -> None:
    _run(["baseline", "approve", str(EXAMPLE), "--reason", "reviewed"], db)
    decl = _declaration()
    decl["pipelineType"] = "V1"
    decl["roleArn"] = "arn:aws:iam::111122223333:role/attacker"
    code, out, err = _run(
        ["drift", "handle-event"], db, json.dumps(_event("UpdatePipeline", {"pipeline": decl}))
    )
    assert code == 1, err
    finding = json.loads(out)
    assert finding["pipeline"] == ARN
    assert finding["weakening"] is True
    assert finding["actor"].startswith("arn:aws:sts::111122223333:assumed-role/Deployer/mallory")
    pointers = {r["evidence"]["pointer"] for r in finding["results"] if r["status"] == "fail"}
    assert "/roleArn" in pointers
    store = open_store(db)
    events = store.drift_events(ARN)
    store.close()
    assert events[-1]["event"] == "UpdatePipeline"
    assert "mallory" in events[-1]["actor"]


def test_update_pipeline_event_without_change_passes(db: str) -> None:
    _run(["baseline", "approve", str(EXAMPLE), "--reason", "reviewed"], db)
    finding = handle_event(_event("UpdatePipeline", {"pipeline": _declaration()}), db=db)
    assert finding["weakening"] is False
    assert {r["status"] for r in finding["results"]} == {"pass"}


def test_delete_webhook_and_project_events(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(["baseline", "approve", str(EXAMPLE), "--reason", "reviewed"], db)
    deleted = handle_event(_event("DeletePipeline", {"name": "payments-api"}), db=db)
    assert deleted["pipeline"] == ARN
    assert not deleted["weakening"]
    assert [r["rule_id"] for r in deleted["results"] if r["status"] == "fail"] == ["PW902"]
    hook = {
        "webhook": {
            "name": "payments-hook",
            "targetPipeline": "payments-api",
            "targetAction": "Source",
            "filters": [{"jsonPath": "$.ref", "matchEquals": "refs/heads/main"}],
            "authentication": "UNAUTHENTICATED",
            "authenticationConfiguration": {},
        },
        "tags": [],
    }
    assert handle_event(_event("PutWebhook", hook), db=db)["weakening"] is True
    project = {"name": "payments-build", "serviceRole": "arn:aws:iam::111122223333:role/admin"}
    monkeypatch.setenv("PIPEWARDEN_DB", db)
    found = handler(_event("UpdateProject", project, source="aws.codebuild"), None)
    assert found["weakening"] is True
    assert found["pipeline"] == "payments-build"


def test_events_that_are_not_handled_are_one_line_errors(db: str) -> None:
    with pytest.raises(EventError, match="not handled"):
        parse_event(_event("StartPipelineExecution", {"name": "x"}))
    failed = _event("UpdatePipeline", {"pipeline": _declaration()})
    failed["detail"]["errorCode"] = "AccessDenied"
    with pytest.raises(EventError, match="failed call"):
        parse_event(failed)
    wrong = _event("UpdateProject", {"name": "p"}, source="aws.codepipeline")
    with pytest.raises(EventError, match="expected source"):
        parse_event(wrong)
    assert _run(["drift", "handle-event"], db, "not json")[0] == 2
    assert _run(["drift", "handle-event"], db, json.dumps(copy.deepcopy(wrong)))[0] == 2


def test_actor_of_identity_kinds() -> None:
    assert actor_of({"type": "IAMUser", "arn": "arn:aws:iam::1:user/bob"}) == (
        "arn:aws:iam::1:user/bob (IAMUser)"
    )
    assert actor_of({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"}) == (
        "cloudformation.amazonaws.com (AWSService)"
    )
    assert actor_of(None) == "unknown"
