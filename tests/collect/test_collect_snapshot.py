"""A live collection against moto: the snapshot it writes, what it reads, and how often."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from collect_moto import REGION, Seed

from pipewarden.collect import HOP_ACTIONS, PERMISSIONS, Scope, collect, count_calls, iam_action
from pipewarden.engine import scan
from pipewarden.model import Status
from pipewarden.parse.snapshot import parse_snapshot
from pipewarden.rules import RULES

SCHEMA = Path(__file__).resolve().parents[2] / "src" / "pipewarden" / "schema" / "snapshot-v1.json"
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
CODEBUILD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def validate(doc: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors[:5]]


def rich_account(seed: Seed, pipelines: int = 2) -> dict[str, str]:
    """An account whose pipelines use one of everything the collector reads."""
    policy = seed.managed_policy("deploy-everything", ADMIN)
    role = seed.role("pipeline-role", inline={"inline": ADMIN}, managed=[policy])
    build_role = seed.role("build-role", trust=CODEBUILD_TRUST)
    seed.bucket("artifacts-locked", lock=True)
    key = seed.key("alias/artifacts")
    secret = seed.secret("db-password")
    repo = seed.repository("app", immutable=True)
    image = f"{seed.account}.dkr.ecr.{REGION}.amazonaws.com/{repo}:latest"
    seed.project(
        "build",
        role=build_role,
        env=[
            {"name": "DB", "value": secret, "type": "SECRETS_MANAGER"},
            {"name": "IMAGE", "value": image, "type": "PLAINTEXT"},
        ],
    )
    seed.log_group("/aws/codebuild/build")
    function = seed.function("gate", role=build_role)
    seed.log_group(f"/aws/lambda/{function}")
    invoke = {
        "name": "Gate",
        "actions": [
            {
                "name": "Check",
                "actionTypeId": {
                    "category": "Invoke",
                    "owner": "AWS",
                    "provider": "Lambda",
                    "version": "1",
                },
                "configuration": {"FunctionName": function},
                "inputArtifacts": [{"name": "out"}],
            }
        ],
    }
    for index in range(pipelines):
        seed.pipeline(
            f"app-{index}",
            role=role,
            bucket="artifacts-locked",
            key="alias/artifacts",
            build_project="build",
            extra_stages=[invoke],
            tags={"environment": "prod"},
        )
    return {"role": role, "key": key, "secret": secret}


def test_snapshot_validates_parses_and_holds_what_the_rules_ask_for(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    rich_account(seed)
    doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    validate(doc)
    inventory = parse_snapshot(doc, source="live")
    assert sorted(p.name for p in inventory.pipelines) == ["app-0", "app-1"]
    assert inventory.identity_policies_complete
    account = doc["accounts"][0]
    region = account["regions"][REGION]
    assert set(region) == {
        "codepipeline",
        "codebuild",
        "lambda",
        "secretsmanager",
        "logs",
        "ecr",
        "kms",
    }
    assert set(account["global"]["s3"]["buckets"]) == {"artifacts-locked"}
    assert sorted(region["logs"]["log_groups"]) == ["/aws/codebuild/build", "/aws/lambda/gate"]
    assert doc["gaps"] == []

    # Every lookup a rule makes finds the resource or a recorded gap, never "not in snapshot".
    result = scan([inventory], rules=RULES)
    vague = [r for r in result.results if "is not in this snapshot" in r.message]
    assert not vague, [f"{r.rule_id}: {r.message}" for r in vague[:5]]
    by_rule = {(r.rule_id, r.pipeline): r for r in result.results}
    assert by_rule[("PW201", "app-0")].status is Status.PASS  # artifact bucket object lock
    assert by_rule[("PW107", "app-0")].status is Status.PASS  # S3 source: locked bucket
    assert {p.name: dict(p.tags) for p in inventory.pipelines}["app-1"] == {"environment": "prod"}


def test_output_is_deterministic(seed: Seed, session: boto3.Session, endpoint: str) -> None:
    rich_account(seed)
    scope = Scope(endpoint_url=endpoint, regions=(REGION,))
    first = collect(scope, session=session)
    second = collect(scope, session=session)
    first.pop("collected_at")
    second.pop("collected_at")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_never_calls_an_action_outside_the_declared_permissions(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    from collect_moto import fail_requests

    rich_account(seed)
    # The account-wide IAM read denied: the role-by-role reads run too.
    fail_requests(session, "iam", "GetAccountAuthorizationDetails", code="AccessDenied", status=403)
    with count_calls(session) as calls:
        collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    used = {iam_action(service, operation) for service, operation in calls}
    assert "iam:GetRole" in used
    assert "s3:GetBucketObjectLockConfiguration" in used
    assert used <= PERMISSIONS, sorted(used - PERMISSIONS)


def test_declared_permissions_are_real_read_only_iam_actions() -> None:
    from policy_sentry.querying.actions import get_action_data

    assert {"sts:AssumeRole"} == HOP_ACTIONS  # the one write: into the scanner role
    for action in sorted(PERMISSIONS - HOP_ACTIONS):
        service, name = action.split(":")
        data = get_action_data(service, name)
        assert data, f"{action} is not an IAM action"
        assert data.get(service), f"{action} is not an IAM action"
        levels = {entry["access_level"] for entry in data[service] if entry["action"] == action}
        assert levels, f"{action} is not an IAM action"
        assert levels <= {"Read", "List"}, f"{action}: {levels}"


def test_shared_resources_are_read_once(seed: Seed, session: boto3.Session, endpoint: str) -> None:
    rich_account(seed, pipelines=12)
    with count_calls(session) as calls:
        doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    assert len(parse_snapshot(doc, source="live").pipelines) == 12
    assert calls[("codepipeline", "GetPipeline")] == 12
    assert calls[("codepipeline", "ListTagsForResource")] == 0  # one tagging call instead
    once = [
        ("resourcegroupstaggingapi", "GetResources"),
        ("iam", "GetAccountAuthorizationDetails"),
        ("iam", "GetPolicy"),
        ("s3", "GetBucketVersioning"),
        ("s3", "GetObjectLockConfiguration"),
        ("kms", "DescribeKey"),
        ("kms", "GetKeyPolicy"),
        ("codebuild", "BatchGetProjects"),
        ("lambda", "GetFunction"),
        ("secretsmanager", "DescribeSecret"),
        ("ecr", "DescribeRepositories"),
        ("logs", "DescribeAccountPolicies"),
    ]
    for key in once:
        assert calls[key] <= 1, (key, calls[key])
    assert calls[("iam", "GetRole")] == 0  # roles come with the account-wide read


def test_calls_per_pipeline_with_many_pipelines(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    rich_account(seed, pipelines=20)
    with count_calls(session) as calls:
        collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    extra = Counter(calls)
    for key in (("codepipeline", "ListPipelines"), ("codepipeline", "GetPipeline")):
        del extra[key]
    assert sum(extra.values()) / 20 <= 1.5, dict(extra)


def test_secret_configuration_is_masked_in_the_snapshot(
    seed: Seed, session: boto3.Session, endpoint: str
) -> None:
    token = "ghp_" + "Zr4Tq9mWx2Lk7Bv3Nc8Hd1Fs6Gj0Py5Ua2Ei"
    role = seed.role("pipeline-role")
    seed.bucket("artifacts")
    seed.pipeline(
        "legacy",
        role=role,
        bucket="artifacts",
        source={
            "name": "Source",
            "actionTypeId": {
                "category": "Source",
                "owner": "ThirdParty",
                "provider": "GitHub",
                "version": "1",
            },
            "configuration": {
                "Owner": "example",
                "Repo": "app",
                "Branch": "main",
                "OAuthToken": token,
                "PollForSourceChanges": "true",
            },
            "outputArtifacts": [{"name": "src"}],
        },
    )
    # moto returns the token unmasked; AWS would show ****.
    raw = seed.client("codepipeline").get_pipeline(name="legacy")
    assert raw["pipeline"]["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == token
    doc = collect(Scope(endpoint_url=endpoint, regions=(REGION,)), session=session)
    text = json.dumps(doc)
    assert token not in text
    assert token[:8] not in text
    entry = next(iter(doc["accounts"][0]["regions"][REGION]["codepipeline"]["pipelines"].values()))
    config = entry["GetPipeline"]["pipeline"]["stages"][0]["actions"][0]["configuration"]
    assert config["OAuthToken"] == "****"


@pytest.mark.parametrize("max_workers", [1, 4])
def test_any_concurrency_gives_the_same_snapshot(
    seed: Seed, session: boto3.Session, endpoint: str, max_workers: int
) -> None:
    rich_account(seed, pipelines=3)
    serial = collect(
        Scope(endpoint_url=endpoint, regions=(REGION,), max_workers=1), session=session
    )
    other = collect(
        Scope(endpoint_url=endpoint, regions=(REGION,), max_workers=max_workers), session=session
    )
    serial.pop("collected_at")
    other.pop("collected_at")
    assert serial == other
