"""Snapshot forms the live collector writes: account-wide IAM, tagging API, log group status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipewarden.errors import ParseError
from pipewarden.parse.snapshot import parse_snapshot

SCHEMA = Path(__file__).resolve().parents[3] / "src" / "pipewarden" / "schema" / "snapshot-v1.json"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deploy"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
POLICY = f"arn:aws:iam::{ACCOUNT}:policy/approve"
PIPELINE = f"arn:aws:codepipeline:us-east-1:{ACCOUNT}:app"
ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
APPROVE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "codepipeline:PutApprovalResult", "Resource": "*"}],
}


def snapshot() -> dict[str, Any]:
    gaad = "GetAccountAuthorizationDetails"
    return {
        "format": "pipewarden-snapshot",
        "schema_version": "1",
        "tool_version": "0.1.0",
        "collected_at": "2026-11-24T17:05:41Z",
        "partition": "aws",
        "accounts": [
            {
                "account_id": ACCOUNT,
                "global": {
                    "iam": {
                        "principals_complete": True,
                        "roles": {
                            ROLE: {
                                gaad: {
                                    "Arn": ROLE,
                                    "RoleName": "deploy",
                                    "AssumeRolePolicyDocument": ALLOW,
                                    "RolePolicyList": [
                                        {"PolicyName": "all", "PolicyDocument": ALLOW}
                                    ],
                                    "AttachedManagedPolicies": [
                                        {"PolicyName": "approve", "PolicyArn": POLICY}
                                    ],
                                }
                            }
                        },
                        "users": {
                            USER: {
                                gaad: {
                                    "Arn": USER,
                                    "UserName": "alice",
                                    "UserPolicyList": [],
                                    "AttachedManagedPolicies": [
                                        {"PolicyName": "approve", "PolicyArn": POLICY}
                                    ],
                                    "GroupList": [],
                                }
                            }
                        },
                        "policies": {
                            POLICY: {
                                gaad: {
                                    "Arn": POLICY,
                                    "PolicyName": "approve",
                                    "DefaultVersionId": "v2",
                                    "PolicyVersionList": [
                                        {
                                            "Document": ALLOW,
                                            "VersionId": "v1",
                                            "IsDefaultVersion": False,
                                        },
                                        {
                                            "Document": APPROVE,
                                            "VersionId": "v2",
                                            "IsDefaultVersion": True,
                                        },
                                    ],
                                }
                            }
                        },
                    }
                },
                "regions": {
                    "us-east-1": {
                        "codepipeline": {
                            "pipelines": {
                                PIPELINE: {
                                    "GetPipeline": {
                                        "pipeline": {
                                            "name": "app",
                                            "roleArn": ROLE,
                                            "stages": [
                                                {
                                                    "name": "Source",
                                                    "actions": [
                                                        {
                                                            "name": "Source",
                                                            "actionTypeId": {
                                                                "category": "Source",
                                                                "owner": "AWS",
                                                                "provider": "S3",
                                                                "version": "1",
                                                            },
                                                            "configuration": {"S3Bucket": "b"},
                                                        }
                                                    ],
                                                }
                                            ],
                                        },
                                        "metadata": {"pipelineArn": PIPELINE},
                                    },
                                    "GetResources": {
                                        "ResourceARN": PIPELINE,
                                        "Tags": [{"Key": "environment", "Value": "prod"}],
                                    },
                                }
                            }
                        },
                        "logs": {
                            "log_groups": {
                                "/aws/codebuild/never": {
                                    "DescribeLogGroups": {"logGroupName": "/aws/codebuild/never"}
                                },
                                "/aws/codebuild/had-one": {
                                    "DescribeLogGroups": {
                                        "logGroupName": "/aws/codebuild/had-one",
                                        "dataProtectionStatus": "ACTIVATED",
                                    }
                                },
                            }
                        },
                    }
                },
            }
        ],
        "gaps": [],
    }


def test_collector_forms_validate_against_the_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator(schema).validate(snapshot())


def test_account_wide_iam_read_gives_roles_and_identity_policies() -> None:
    inventory = parse_snapshot(snapshot(), source="s.json")
    role = inventory.roles[ROLE]
    assert role.complete
    assert role.trust_policy == ALLOW
    assert dict(role.inline_policies) == {"all": ALLOW}
    assert [(p.arn, p.document) for p in role.managed_policies] == [(POLICY, APPROVE)]
    assert inventory.identity_policies_complete
    owners = sorted((p.principal, p.name) for p in inventory.identity_policies)
    assert owners == [(ROLE, "all"), (ROLE, "approve"), (USER, "approve")]


def test_policy_without_its_default_version_makes_principals_incomplete() -> None:
    doc = snapshot()
    policy = doc["accounts"][0]["global"]["iam"]["policies"][POLICY]
    policy["GetAccountAuthorizationDetails"]["PolicyVersionList"].pop()
    inventory = parse_snapshot(doc, source="s.json")
    assert not inventory.roles[ROLE].complete
    assert not inventory.identity_policies_complete


def test_tags_from_the_tagging_api() -> None:
    [pipeline] = parse_snapshot(snapshot(), source="s.json").pipelines
    assert dict(pipeline.tags) == {"environment": "prod"}


def test_tagging_element_must_name_its_pipeline() -> None:
    doc = snapshot()
    entry = doc["accounts"][0]["regions"]["us-east-1"]["codepipeline"]["pipelines"][PIPELINE]
    entry["GetResources"]["ResourceARN"] = PIPELINE + "-other"
    with pytest.raises(ParseError, match="ResourceARN"):
        parse_snapshot(doc, source="s.json")


def test_log_group_without_a_protection_status_has_no_policy_of_its_own() -> None:
    groups = parse_snapshot(snapshot(), source="s.json").log_groups
    never = groups["/aws/codebuild/never"]
    assert never.data_protection_policy is None
    # Known to have none of its own, but the account-wide policy was not read.
    assert not never.policy_known
    assert not groups["/aws/codebuild/had-one"].policy_known
