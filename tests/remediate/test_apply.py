"""`pipewarden fix --pipeline NAME --apply` against moto in server mode: a dry run
changes nothing, `--yes` creates the roles and updates the pipeline, `--rollback`
restores the previous declaration and deletes what was created."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from pipewarden.cli.main import main

NAME = "orders"
ACCOUNT = "123456789012"


def _trust() -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "codepipeline.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _action(
    name: str, category: str, provider: str, config: dict[str, str], **kw: Any
) -> dict[str, Any]:
    body = {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": provider,
            "version": "1",
        },
        "runOrder": 1,
        "configuration": config,
    }
    body.update(kw)
    return body


def _seed(endpoint: str) -> dict[str, Any]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_role(RoleName="orders-pipeline", AssumeRolePolicyDocument=_trust())
    pipeline = {
        "name": NAME,
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/orders-pipeline",
        "artifactStore": {"type": "S3", "location": "orders-artifacts"},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    _action(
                        "Source",
                        "Source",
                        "S3",
                        {"S3Bucket": "orders-source", "S3ObjectKey": "orders.zip"},
                        outputArtifacts=[{"name": "src"}],
                    )
                ],
            },
            {
                "name": "Build",
                "actions": [
                    _action(
                        "Build",
                        "Build",
                        "CodeBuild",
                        {"ProjectName": "orders-build"},
                        inputArtifacts=[{"name": "src"}],
                        outputArtifacts=[{"name": "pkg"}],
                    )
                ],
            },
            {
                "name": "Production",
                "actions": [
                    _action(
                        "DeployApi",
                        "Deploy",
                        "CloudFormation",
                        {
                            "ActionMode": "CREATE_UPDATE",
                            "StackName": "orders-api",
                            "TemplatePath": "pkg::api.yaml",
                        },
                        inputArtifacts=[{"name": "pkg"}],
                    ),
                    _action(
                        "DeployWeb",
                        "Deploy",
                        "S3",
                        {"BucketName": "orders-web", "Extract": "true"},
                        inputArtifacts=[{"name": "pkg"}],
                    ),
                ],
            },
        ],
    }
    codepipeline = boto3.client("codepipeline", endpoint_url=endpoint, region_name="us-east-1")
    return codepipeline.create_pipeline(pipeline=pipeline)["pipeline"]  # type: ignore[no-any-return]


def _run(*argv: str) -> tuple[int, str, str]:
    import sys

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(list(argv))
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


def _live_args(endpoint: str, state: Path) -> list[str]:
    return [
        "--region",
        "us-east-1",
        "--endpoint-url",
        endpoint,
        "--state-dir",
        str(state),
        "--gate-function",
        "orders-gate:3",
    ]


def _roles(endpoint: str) -> set[str]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    return {r["RoleName"] for r in iam.list_roles()["Roles"]}


def test_dry_run_changes_nothing(aws: str, tmp_path: Path) -> None:
    before = _seed(aws)
    code, out, err = _run("fix", "--pipeline", NAME, "--apply", *_live_args(aws, tmp_path))
    assert code == 0, err
    assert "dry run" in out
    assert "create-role" in out
    assert "update-pipeline" in out
    codepipeline = boto3.client("codepipeline", endpoint_url=aws, region_name="us-east-1")
    assert codepipeline.get_pipeline(name=NAME)["pipeline"] == before
    assert _roles(aws) == {"orders-pipeline"}


def test_apply_then_rollback(aws: str, tmp_path: Path) -> None:
    before = _seed(aws)
    code, _, err = _run("fix", "--pipeline", NAME, "--apply", "--yes", *_live_args(aws, tmp_path))
    assert code == 0, err
    codepipeline = boto3.client("codepipeline", endpoint_url=aws, region_name="us-east-1")
    after = codepipeline.get_pipeline(name=NAME)["pipeline"]
    assert after["pipelineType"] == "V2"
    assert after["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/pw-orders-pipeline"
    names = [s["name"] for s in after["stages"]]
    assert names == ["Source", "Build", "ApproveProduction", "Production", "Production-DeployWeb"]
    created = _roles(aws) - {"orders-pipeline"}
    assert "pw-orders-pipeline" in created
    for stage in after["stages"]:
        for action in stage["actions"]:
            if action["actionTypeId"]["category"] != "Approval":
                assert action["roleArn"].rsplit("/", 1)[-1] in created
        if stage["name"].startswith("Production"):
            rule = stage["beforeEntry"]["conditions"][0]["rules"][0]
            assert rule["configuration"]["FunctionName"] == "orders-gate:3"
            assert stage["onFailure"]["result"] == "ROLLBACK"
    iam = boto3.client("iam", endpoint_url=aws, region_name="us-east-1")
    policy = iam.get_role_policy(RoleName="pw-orders-pipeline", PolicyName="assume-action-roles")
    statements = policy["PolicyDocument"]["Statement"]
    assert statements[0]["Action"] == "sts:AssumeRole"
    saved = list((tmp_path / "us-east-1").glob("*.json"))
    assert len(saved) == 1
    code, _, err = _run(
        "fix",
        "--rollback",
        NAME,
        "--region",
        "us-east-1",
        "--endpoint-url",
        aws,
        "--state-dir",
        str(tmp_path),
    )
    assert code == 0, err
    restored = codepipeline.get_pipeline(name=NAME)["pipeline"]
    assert restored["stages"] == before["stages"]
    assert restored["roleArn"] == before["roleArn"]
    assert _roles(aws) == {"orders-pipeline"}


def test_rollback_without_state_is_a_clear_error(aws: str, tmp_path: Path) -> None:
    _seed(aws)
    code, _, err = _run(
        "fix",
        "--rollback",
        NAME,
        "--region",
        "us-east-1",
        "--endpoint-url",
        aws,
        "--state-dir",
        str(tmp_path),
    )
    assert code == 2
    assert "nothing to roll back" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra", [["--yes"], []])
def test_apply_needs_a_live_pipeline(extra: list[str], tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("{}")
    code, _, _ = _run("fix", str(path), "--apply", *extra)
    assert code == 2


def test_live_lambda_actions_are_pinned_to_the_published_version(aws: str, tmp_path: Path) -> None:
    import zipfile

    _seed(aws)
    iam = boto3.client("iam", endpoint_url=aws, region_name="us-east-1")
    role = iam.create_role(RoleName="notifier", AssumeRolePolicyDocument=_trust())["Role"]["Arn"]
    archive = tmp_path / "fn.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("index.py", "def handler(event, context):\n    return None\n")
    functions = boto3.client("lambda", endpoint_url=aws, region_name="us-east-1")
    functions.create_function(
        FunctionName="notifier",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": archive.read_bytes()},
        Publish=True,
    )
    codepipeline = boto3.client("codepipeline", endpoint_url=aws, region_name="us-east-1")
    pipeline = codepipeline.get_pipeline(name=NAME)["pipeline"]
    pipeline["stages"][2]["actions"].append(
        _action("Notify", "Invoke", "Lambda", {"FunctionName": "notifier"}, runOrder=2)
    )
    codepipeline.update_pipeline(pipeline=pipeline)
    code, out, err = _run(
        "fix", "--pipeline", NAME, "--region", "us-east-1", "--endpoint-url", aws, "--only", "PW502"
    )
    assert code == 0, err
    stages = json.loads(out)["pipeline"]["stages"]
    notify = next(a for s in stages for a in s["actions"] if a["name"] == "Notify")
    assert notify["configuration"]["FunctionName"] == "notifier:1", err
    assert "CHANGES BEHAVIOUR" in err
