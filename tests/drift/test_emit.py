"""Drift findings sent to SNS (read back from a subscribed SQS queue) and Security
Hub (BatchImportFindings/GetFindings, which moto implements; it ignores
GetFindings filters, which the code re-applies), through moto on loopback."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli.main import main
from pipewarden.collect.securityhub import import_findings
from pipewarden.demo.server import Emulator
from pipewarden.drift.emit import SNS_MAX_BYTES, sns_message
from pipewarden.drift.lambda_handler import EmissionError, handler
from pipewarden.store import open_store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/get-pipeline/payments-weak.json"
ACCOUNT, REGION = "123456789012", "us-east-1"
ARN = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:payments-api"


def _declaration() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(EXAMPLE.read_text())["pipeline"]
    return doc


def _approve(tmp_path: Path) -> str:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    path = tmp_path / "approved.json"
    path.write_text(json.dumps({"pipeline": _declaration(), "metadata": {"pipelineArn": ARN}}))
    assert _run(["baseline", "approve", str(path), "--reason", "ok", "--db", db])[0] == 0
    return db


def _run(argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def _event(decl: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"id-{event_id}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.codepipeline",
        "account": ACCOUNT,
        "time": "2026-11-25T10:05:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory"},
            "eventTime": "2026-11-25T10:05:00Z",
            "eventSource": "codepipeline.amazonaws.com",
            "eventName": "UpdatePipeline",
            "awsRegion": REGION,
            "requestParameters": {"pipeline": decl},
            "eventID": event_id,
            "recipientAccountId": ACCOUNT,
        },
    }


def _weakened() -> dict[str, Any]:
    decl = _declaration()
    decl["artifactStore"]["location"] = "attacker-bucket"
    return decl


def _subscribed_queue(aws: Emulator) -> tuple[str, Any, str]:
    session = aws.session()
    sns = session.client("sns", endpoint_url=aws.endpoint_url)
    sqs = session.client("sqs", endpoint_url=aws.endpoint_url)
    topic = sns.create_topic(Name="pipewarden-drift")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="drift-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return str(topic), sqs, str(queue_url)


def _messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_weakening_is_published_to_sns(aws: Emulator, tmp_path: Path) -> None:
    db = _approve(tmp_path)
    topic, sqs, queue = _subscribed_queue(aws)
    argv = ["drift", "handle-event", "--db", db, "--sns-topic", topic]
    code, out, err = _run(argv, json.dumps(_event(_weakened(), "ev-1")))
    assert code == 1, err
    finding = json.loads(out)
    assert finding["emitted"]["sns"]["message_id"]
    [envelope] = _messages(sqs, queue)
    assert envelope["TopicArn"] == topic
    assert envelope["Subject"] == "PipeWarden PW901: payments-api"
    assert envelope["MessageAttributes"]["rule_id"]["Value"] == "PW901"
    assert envelope["MessageAttributes"]["pipeline"]["Value"] == ARN
    message = json.loads(envelope["Message"])
    assert message["weakening"] is True
    assert message["actor"].startswith(f"arn:aws:iam::{ACCOUNT}:user/mallory")
    assert [(r["rule_id"], r["evidence"]["pointer"]) for r in message["results"]] == [
        ("PW901", "/artifactStore/location")
    ]
    # An event that changes nothing is not worth a message.
    code, _, err = _run(argv, json.dumps(_event(_declaration(), "ev-2")))
    assert code == 0, err
    assert _messages(sqs, queue) == []


def test_findings_go_to_security_hub_and_are_archived_when_the_pipeline_is_restored(
    aws: Emulator, tmp_path: Path
) -> None:
    db = _approve(tmp_path)
    hub = aws.session().client("securityhub", endpoint_url=aws.endpoint_url)
    # A scanner finding of the same pipeline, which drift must never archive.
    scan_finding = {
        "SchemaVersion": "2018-10-08",
        "Id": f"pipewarden/{ACCOUNT}/{REGION}/scan-1",
        "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        "GeneratorId": "pipewarden/PW101",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks"],
        "CreatedAt": "2026-11-24T10:00:00.000Z",
        "UpdatedAt": "2026-11-24T10:00:00.000Z",
        "Severity": {"Label": "HIGH"},
        "Title": "PW101",
        "Description": "scan",
        "Resources": [{"Type": "Other", "Id": ARN}],
        "RecordState": "ACTIVE",
    }
    assert (
        import_findings(
            [scan_finding], session=aws.session(), endpoint_url=aws.endpoint_url
        ).imported
        == 1
    )

    argv = ["drift", "handle-event", "--db", db, "--to-security-hub"]
    code, out, err = _run(argv, json.dumps(_event(_weakened(), "ev-1")))
    assert code == 1, err
    assert json.loads(out)["emitted"]["security_hub"] == {"imported": 1, "failed": 0, "archived": 0}
    findings = {f["GeneratorId"]: f for f in hub.get_findings()["Findings"]}
    drift = findings["pipewarden/PW901"]
    assert drift["Compliance"]["Status"] == "FAILED"
    assert drift["Resources"][0]["Id"] == ARN
    assert drift["ProductFields"]["pipewarden/Evidence/new"] == "attacker-bucket"

    code, out, err = _run(argv, json.dumps(_event(_declaration(), "ev-2")))  # restored
    assert code == 0, err
    assert json.loads(out)["emitted"]["security_hub"]["archived"] == 1
    states = {f["GeneratorId"]: f["RecordState"] for f in hub.get_findings()["Findings"]}
    assert states == {"pipewarden/PW101": "ACTIVE", "pipewarden/PW901": "ARCHIVED"}


def test_lambda_handler_sends_to_both_from_its_environment(
    aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _approve(tmp_path)
    topic, sqs, queue = _subscribed_queue(aws)
    monkeypatch.setenv("PIPEWARDEN_DB", db)
    monkeypatch.setenv("PIPEWARDEN_SNS_TOPIC", topic)
    monkeypatch.setenv("PIPEWARDEN_SECURITY_HUB", "true")
    finding = handler(_event(_weakened(), "ev-1"))
    assert set(finding["emitted"]) == {"sns", "security_hub"}
    assert finding["emitted"]["security_hub"]["imported"] == 1
    assert len(_messages(sqs, queue)) == 1


def test_undeliverable_finding_fails_the_invocation_and_a_retry_records_once(
    aws: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _approve(tmp_path)
    missing = f"arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic"
    monkeypatch.setenv("PIPEWARDEN_DB", db)
    monkeypatch.setenv("PIPEWARDEN_SNS_TOPIC", missing)
    event = _event(_weakened(), "ev-retried")
    for _ in range(2):  # EventBridge retries the failed invocation
        with pytest.raises(EmissionError, match=r"sns: SNS Publish to .*no-such-topic failed"):
            handler(event)
    store = open_store(db)
    events = store.drift_events(ARN)
    store.close()
    assert [e["event_id"] for e in events] == ["ev-retried"]
    code, _, err = _run(["drift", "handle-event", "--db", db], json.dumps(event))
    assert code == 2
    assert "finding not delivered: sns:" in err


def test_sns_message_stays_within_the_limit() -> None:
    big = {
        "pipeline": ARN,
        "weakening": True,
        "results": [
            {"status": "fail", "rule_id": "PW902", "message": "x" * 2000} for _ in range(400)
        ],
    }
    text = sns_message(big)
    assert len(text.encode()) <= SNS_MAX_BYTES
    body = json.loads(text)
    assert body["results_omitted"] == 400 - len(body["results"]) > 0
