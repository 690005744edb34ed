"""``pipewarden drift watch`` against moto's CodePipeline on loopback: a weakened
pipeline is reported, and a pass with nothing new fetches nothing (calls counted
with botocore's event hooks on the session, not with a mock)."""

from __future__ import annotations

import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli.main import main
from pipewarden.collect import count_calls
from pipewarden.collect.pipeline_watch import PipelineVersions
from pipewarden.demo.server import Emulator
from pipewarden.drift.watch import watch_once
from pipewarden.errors import ConfigError
from pipewarden.store import open_store

ACCOUNT, REGION = "123456789012", "us-east-1"
ARN = f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:release"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
GET = ("codepipeline", "GetPipeline")
LIST = ("codepipeline", "ListPipelines")


def _declaration(role: str) -> dict[str, Any]:
    return {
        "name": "release",
        "roleArn": role,
        "pipelineType": "V2",
        "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": "artifacts-approved"},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Src",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "S3",
                            "version": "1",
                        },
                        "configuration": {"S3Bucket": "src", "S3ObjectKey": "app.zip"},
                        "outputArtifacts": [{"name": "src"}],
                    }
                ],
            },
            {
                "name": "Deploy",
                "beforeEntry": {
                    "conditions": [
                        {
                            "result": "FAIL",
                            "rules": [
                                {
                                    "name": "NoAlarms",
                                    "ruleTypeId": {
                                        "category": "Rule",
                                        "owner": "AWS",
                                        "provider": "CloudWatchAlarm",
                                        "version": "1",
                                    },
                                    "configuration": {"AlarmName": "errors"},
                                }
                            ],
                        }
                    ]
                },
                "actions": [
                    {
                        "name": "Approve",
                        "actionTypeId": {
                            "category": "Approval",
                            "owner": "AWS",
                            "provider": "Manual",
                            "version": "1",
                        },
                    }
                ],
            },
        ],
    }


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv)
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


class _Account:
    """The emulated account: one pipeline, approved as its baseline."""

    def __init__(self, aws: Emulator, tmp_path: Path) -> None:
        self.aws = aws
        self.session = aws.session()
        self.codepipeline = self.session.client("codepipeline", endpoint_url=aws.endpoint_url)
        iam = self.session.client("iam", endpoint_url=aws.endpoint_url)
        role = iam.create_role(RoleName="pipeline", AssumeRolePolicyDocument=json.dumps(TRUST))
        self.declaration = _declaration(role["Role"]["Arn"])
        self.codepipeline.create_pipeline(pipeline=self.declaration)
        self.db = f"sqlite:///{tmp_path / 'pw.db'}"
        approved = tmp_path / "release.json"
        got = self.codepipeline.get_pipeline(name="release")
        approved.write_text(json.dumps(got, default=str))  # as `aws codepipeline get-pipeline`
        code, _, err = _run(
            ["baseline", "approve", str(approved), "--reason", "ok", "--db", self.db]
        )
        assert code == 0, err
        assert f"approved {ARN}" in err

    def update(self, change: Any) -> None:
        decl = copy.deepcopy(self.declaration)
        change(decl)
        self.codepipeline.update_pipeline(pipeline=decl)
        self.declaration = decl

    def poll(self) -> tuple[Any, dict[tuple[str, str], int]]:
        """One pass, as one `drift watch --once` process makes it: new clients, calls counted."""
        store = open_store(self.db)
        try:
            with count_calls(self.session) as calls:
                source = PipelineVersions(
                    session=self.session, endpoint_url=self.aws.endpoint_url, regions=[REGION]
                )
                done = watch_once(store, source)
        finally:
            store.close()
        return done, dict(calls)


def _fails(done: Any) -> list[tuple[str, str]]:
    return sorted(
        (r.rule_id, r.location.pointer) for r in done.result.results if r.status.value == "fail"
    )


def test_weakened_pipeline_is_reported_and_a_quiet_pass_fetches_nothing(
    aws: Emulator, tmp_path: Path
) -> None:
    account = _Account(aws, tmp_path)

    def relax(decl: dict[str, Any]) -> None:
        decl["stages"][1]["beforeEntry"]["conditions"][0]["result"] = "SKIP"

    account.update(relax)
    first, calls = account.poll()
    assert calls[GET] == 1
    assert calls[LIST] == 1
    assert first.fetched == (ARN,)
    assert _fails(first) == [("PW901", "/stages/1/beforeEntry/conditions/0/result")]

    second, calls = account.poll()
    assert calls.get(GET, 0) == 0  # nothing changed since the last pass: no GetPipeline
    assert calls[LIST] == 1
    assert (second.listed, second.fetched, second.result.results) == (1, (), ())

    def swap_bucket(decl: dict[str, Any]) -> None:
        decl["artifactStore"]["location"] = "attacker-bucket"

    account.update(swap_bucket)
    third, calls = account.poll()
    assert calls[GET] == 1
    assert _fails(third) == [
        ("PW901", "/artifactStore/location"),
        ("PW901", "/stages/1/beforeEntry/conditions/0/result"),
    ]
    store = open_store(account.db)
    events = store.drift_events(ARN)
    store.close()
    assert [(e["event"], e["weakening"]) for e in events] == [
        ("drift-watch", 1),
        ("drift-watch", 2),
    ]


def test_deleted_pipeline_is_reported_once(aws: Emulator, tmp_path: Path) -> None:
    account = _Account(aws, tmp_path)
    first, _ = account.poll()
    assert {r.status.value for r in first.result.results} == {"pass"}
    account.codepipeline.delete_pipeline(name="release")
    gone, calls = account.poll()
    assert calls.get(GET, 0) == 0
    assert gone.deleted == (ARN,)
    assert _fails(gone) == [("PW902", "")]
    again, _ = account.poll()
    assert (again.deleted, again.result.results) == ((), ())


def test_watch_once_on_the_command_line(aws: Emulator, tmp_path: Path) -> None:
    account = _Account(aws, tmp_path)
    account.update(lambda d: d["artifactStore"].update(location="attacker-bucket"))
    argv = ["drift", "watch", "--once", "--regions", REGION, "--db", account.db, "-f", "json"]
    code, out, err = _run(argv)
    assert code == 1, err
    fails = [r for r in json.loads(out)["results"] if r["status"] == "fail"]
    assert [(r["rule_id"], r["evidence"]["pointer"], r["pipeline_arn"]) for r in fails] == [
        ("PW901", "/artifactStore/location", ARN)
    ]
    assert "1 pipeline(s) listed in us-east-1; 1 fetched, 1 changed" in err
    code, out, err = _run(argv)
    assert code == 0, err
    assert "0 fetched" in err
    assert json.loads(out)["results"] == []


def test_watch_needs_a_region_and_credentials(
    aws: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigError, match="no region to watch"):
        PipelineVersions(endpoint_url=aws.endpoint_url)
    code, _, err = _run(["drift", "watch", "--once", "--regions", "mars-1"])
    assert code == 2
    assert "`mars-1` is not an AWS region name" in err


def test_watch_alerts_once_per_change_on_sns(aws: Emulator, tmp_path: Path) -> None:
    account = _Account(aws, tmp_path)
    sns = account.session.client("sns", endpoint_url=aws.endpoint_url)
    sqs = account.session.client("sqs", endpoint_url=aws.endpoint_url)
    topic = sns.create_topic(Name="drift")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def received() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in got.get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return [json.loads(json.loads(m["Body"])["Message"]) for m in got.get("Messages", [])]

    argv = ["drift", "watch", "--once", "--db", account.db, "--sns-topic", topic]
    assert _run(argv)[0] == 0  # first pass: as approved, nothing to say
    assert received() == []
    account.update(lambda d: d["artifactStore"].update(location="attacker-bucket"))
    assert _run(argv)[0] == 1
    [message] = received()
    assert (message["event"], message["pipeline"], message["weakening"]) == (
        "drift-watch",
        ARN,
        True,
    )
    assert _run(argv)[0] == 0  # nothing moved: no second alert
    assert received() == []
