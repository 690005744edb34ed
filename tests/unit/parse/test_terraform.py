"""Terraform input: ``terraform show -json`` plans and state, and raw ``.tf`` modules.

``tf/release.tfplan.json`` is real ``terraform show -json`` output (Terraform
1.11, AWS provider 5.100) of the module in ``tf/release/``; tests compare what
the plan and the raw files say about the same pipeline.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pipewarden.errors import ParseError
from pipewarden.model import Bucket, Inventory, KmsKey, Role, Unresolved
from pipewarden.parse import load_paths
from pipewarden.parse.terraform import is_terraform_plan, parse_hcl, parse_terraform_plan

TF = Path(__file__).parent / "tf"
PLAN = TF / "release.tfplan.json"
MODULE = TF / "release"
PLACEHOLDER = "${AWS::AccountId}"


def load_plan(doc: dict[str, Any] | None = None, source: str = "plan.json") -> Inventory:
    if doc is None:
        text = PLAN.read_text()
        return parse_terraform_plan(json.loads(text), source=str(PLAN), text=text)
    text = json.dumps(doc, indent=2)
    return parse_terraform_plan(doc, source=source, text=text)


def load_module(files: dict[str, str]) -> Inventory | None:
    return parse_hcl(files, module="mod")


def release_module() -> Inventory:
    inv = load_module({str(MODULE / "main.tf"): (MODULE / "main.tf").read_text()})
    assert inv is not None
    return inv


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def column_of(text: str, needle: str) -> int:
    start = text.index(needle)
    return start - text.rfind("\n", 0, start)


def a_role(inv: Inventory, arn: object) -> Role:
    assert isinstance(arn, str)
    role = inv.role(arn)
    assert isinstance(role, Role), role
    return role


# -- detection -------------------------------------------------------------------------


def test_detects_plan_and_state_but_not_other_json() -> None:
    assert is_terraform_plan(json.loads(PLAN.read_text()))
    assert is_terraform_plan({"format_version": "1.0", "values": {"root_module": {}}})
    assert not is_terraform_plan({"format_version": "1.0"})
    assert not is_terraform_plan({"planned_values": {"root_module": {}}})
    assert not is_terraform_plan({"pipeline": {"name": "x", "stages": []}})
    assert not is_terraform_plan([{"format_version": "1.2"}])


def test_not_a_plan_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not `terraform show -json` output"):
        parse_terraform_plan({"Resources": {}}, source="x.json", text="{}")


# -- plan: known values (state) ------------------------------------------------------------

STATE: dict[str, Any] = {
    "format_version": "1.0",
    "terraform_version": "1.11.4",
    "values": {
        "root_module": {
            "resources": [
                {
                    "address": "aws_iam_role.pipeline",
                    "mode": "managed",
                    "type": "aws_iam_role",
                    "name": "pipeline",
                    "values": {
                        "arn": "arn:aws:iam::123456789012:role/service-role/deploy",
                        "name": "deploy",
                        "path": "/service-role/",
                        "assume_role_policy": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codepipeline.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
                        "inline_policy": [{"name": "", "policy": ""}],
                        "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                    },
                },
                {
                    "address": "aws_s3_bucket.artifacts",
                    "mode": "managed",
                    "type": "aws_s3_bucket",
                    "name": "artifacts",
                    "values": {
                        "arn": "arn:aws:s3:::acme-artifacts",
                        "bucket": "acme-artifacts",
                        "object_lock_enabled": False,
                        "policy": "{not json",
                        "versioning": [{"enabled": True, "mfa_delete": False}],
                        "server_side_encryption_configuration": [
                            {
                                "rule": [
                                    {
                                        "apply_server_side_encryption_by_default": [
                                            {"kms_master_key_id": "", "sse_algorithm": "AES256"}
                                        ],
                                        "bucket_key_enabled": False,
                                    }
                                ]
                            }
                        ],
                    },
                },
                {
                    "address": "aws_codepipeline.app",
                    "mode": "managed",
                    "type": "aws_codepipeline",
                    "name": "app",
                    "values": {
                        "arn": "arn:aws:codepipeline:eu-central-1:123456789012:app",
                        "name": "app",
                        "pipeline_type": "V1",
                        "role_arn": "arn:aws:iam::123456789012:role/service-role/deploy",
                        "artifact_store": [
                            {
                                "encryption_key": [],
                                "location": "acme-artifacts",
                                "region": "",
                                "type": "S3",
                            }
                        ],
                        "stage": [
                            {
                                "name": "Source",
                                "before_entry": [],
                                "on_failure": [],
                                "on_success": [],
                                "action": [
                                    {
                                        "category": "Source",
                                        "owner": "AWS",
                                        "provider": "S3",
                                        "version": "1",
                                        "name": "Source",
                                        "configuration": {
                                            "S3Bucket": "acme-src",
                                            "S3ObjectKey": "app.zip",
                                        },
                                        "input_artifacts": [],
                                        "output_artifacts": ["src"],
                                        "role_arn": "",
                                        "region": "",
                                        "namespace": "",
                                        "run_order": 1,
                                    }
                                ],
                            }
                        ],
                        "tags": {"env": "prod"},
                        "trigger": [],
                    },
                },
            ]
        }
    },
}


def test_state_with_known_values() -> None:
    inv = load_plan(copy.deepcopy(STATE), source="state.json")
    assert inv.source_kind == "Terraform plan"
    (pipeline,) = inv.pipelines
    assert pipeline.name == "app"
    assert pipeline.arn == "arn:aws:codepipeline:eu-central-1:123456789012:app"
    assert (pipeline.account, pipeline.region) == ("123456789012", "eu-central-1")
    assert pipeline.pipeline_type == "V1"
    assert pipeline.tags == {"env": "prod"}
    assert pipeline.loc.pointer == "/values/root_module/resources/2/values"
    (action,) = pipeline.actions()
    # empty strings are Terraform's "unset", not a role ARN or a region
    assert action.role_arn is None
    assert action.region is None
    assert action.namespace is None
    assert action.configuration == {"S3Bucket": "acme-src", "S3ObjectKey": "app.zip"}
    assert pipeline.artifact_stores[0].location == "acme-artifacts"
    assert pipeline.artifact_stores[0].encryption_key is None

    role = a_role(inv, pipeline.role_arn)
    assert role.name == "deploy"
    assert role.inline_policies == {}
    assert [m.name for m in role.managed_policies] == ["AdministratorAccess"]
    assert role.trust_policy["Statement"][0]["Principal"] == {
        "Service": "codepipeline.amazonaws.com"
    }

    bucket = inv.bucket("acme-artifacts")
    assert isinstance(bucket, Bucket)
    assert bucket.versioning is True
    assert bucket.object_lock is None
    assert bucket.object_lock_known
    assert bucket.sse_algorithm == "AES256"
    assert bucket.sse_kms_key is None
    # an undecodable policy is unknown evidence, never "no policy"
    assert bucket.policy is None
    assert bucket.policy_known is False


# -- plan: values known only after apply, linked through configuration references ----------


def test_role_arn_unknown_in_plan_resolves_to_the_role_key() -> None:
    inv = load_plan()
    (pipeline,) = inv.pipelines
    assert pipeline.role_arn == f"arn:aws:iam::{PLACEHOLDER}:role/release-pipeline"
    role = a_role(inv, pipeline.role_arn)
    assert role.loc is not None
    assert role.loc.pointer.endswith("/values")
    build = next(a for a in pipeline.actions() if a.name == "Build")
    assert build.role_arn == f"arn:aws:iam::{PLACEHOLDER}:role/release-build-action"
    assert a_role(inv, build.role_arn).name == "release-build-action"
    # a literal ARN of a role outside the plan stays as written; the lookup reports the gap
    deploy = next(a for a in pipeline.actions() if a.name == "Deploy")
    assert deploy.role_arn == "arn:aws:iam::222222222222:role/release-deploy"
    gap = inv.role(deploy.role_arn)
    assert not isinstance(gap, Role)
    assert "not in this Terraform plan" in gap.reason


def test_codebuild_service_role_is_linked_and_projects_keyed_by_name() -> None:
    inv = load_plan()
    project = inv.codebuild_project("release-build")
    assert not isinstance(project, type(inv.gap("x", "y")))
    assert project.service_role == f"arn:aws:iam::{PLACEHOLDER}:role/release-build"
    assert project.privileged is True
    assert project.log_group == "/aws/codebuild/release-build"
    assert [(v.name, v.type) for v in project.environment_variables] == [
        ("STAGE", "PLAINTEXT"),
        ("NPM_TOKEN", "PARAMETER_STORE"),
    ]
    verify = inv.codebuild_project("release-verify")
    assert not isinstance(verify, type(inv.gap("x", "y")))
    assert isinstance(verify.buildspec, str)
    assert "git verify-commit HEAD" in verify.buildspec


def test_whole_configuration_unknown_until_apply_stays_unresolved() -> None:
    inv = load_plan()
    source = inv.pipelines[0].stages[0].actions[0]
    (value,) = source.configuration.values()
    assert isinstance(value, Unresolved)
    assert value.reason == "known only after apply"
    assert value.expr == "aws_codepipeline.release.stage[0].action[0].configuration"
    # the provider's computed defaults are not unknown evidence
    assert source.region is None
    assert source.run_order == 1


def test_artifact_store_through_child_module_output_and_kms_key() -> None:
    inv = load_plan()
    (store,) = inv.pipelines[0].artifact_stores
    # bucket_prefix: the name is known only after apply, so the bucket is keyed by address
    assert store.location == "module.artifacts.aws_s3_bucket.this"
    bucket = inv.bucket(store.location)
    assert isinstance(bucket, Bucket)
    assert bucket.loc is not None
    assert bucket.loc.pointer == "/planned_values/root_module/child_modules/0/resources/0/values"
    assert bucket.region == "eu-west-1"

    assert store.encryption_key == f"arn:aws:kms:eu-west-1:{PLACEHOLDER}:key/aws_kms_key.artifacts"
    key = inv.kms_key(store.encryption_key)
    assert isinstance(key, KmsKey)
    assert key.aliases == ("alias/release-artifacts",)
    assert inv.kms_key("alias/release-artifacts") == key
    # no key policy in the configuration: KMS's default policy (account root) applies
    assert key.policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{PLACEHOLDER}:root"}


def test_bucket_sub_resources_merged() -> None:
    inv = load_plan()
    bucket = inv.bucket("module.artifacts.aws_s3_bucket.this")
    assert isinstance(bucket, Bucket)
    assert bucket.versioning is True
    assert bucket.object_lock is not None
    assert (bucket.object_lock.enabled, bucket.object_lock.mode, bucket.object_lock.days) == (
        True,
        "GOVERNANCE",
        30,
    )
    assert bucket.object_lock_known
    assert bucket.sse_algorithm == "aws:kms"
    # the module input `kms_key_arn = aws_kms_key.artifacts.arn` is followed into the module
    assert bucket.sse_kms_key == f"arn:aws:kms:eu-west-1:{PLACEHOLDER}:key/aws_kms_key.artifacts"
    # the policy embeds the bucket ARN, unknown before apply: unknown, not "no policy"
    assert bucket.policy is None
    assert bucket.policy_known is False


def test_role_policies_and_attachments() -> None:
    inv = load_plan()
    role = a_role(inv, inv.pipelines[0].role_arn)
    assert set(role.inline_policies) == {"pipeline-access"}
    assert role.inline_policies["pipeline-access"] is None  # references values known after apply
    assert role.complete is False
    managed = {m.arn: m for m in role.managed_policies}
    assert set(managed) == {
        f"arn:aws:iam::{PLACEHOLDER}:policy/release-pipeline-logs",
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
    }
    logs = managed[f"arn:aws:iam::{PLACEHOLDER}:policy/release-pipeline-logs"]
    assert logs.document["Statement"][0]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert managed["arn:aws:iam::aws:policy/ReadOnlyAccess"].document is None

    build = a_role(inv, f"arn:aws:iam::{PLACEHOLDER}:role/release-build")
    assert set(build.inline_policies) == {"build-logs"}
    assert build.inline_policy_locs["build-logs"].pointer.endswith("/values/inline_policy/0/policy")
    assert build.complete is True
    principals = {(p.principal, p.name) for p in inv.identity_policies}
    assert (build.arn, "build-logs") in principals


def test_triggers_and_stage_conditions_from_plan() -> None:
    pipeline = load_plan().pipelines[0]
    assert pipeline.pipeline_type == "V2"
    (trigger,) = pipeline.triggers
    assert trigger.provider_type == "CodeStarSourceConnection"
    assert trigger.source_action_name == "Source"
    assert trigger.push[0].branches_include == ("main",)
    pull = trigger.pull_request[0]
    assert pull.events == ("OPEN", "UPDATED")
    assert pull.file_paths_exclude == ("docs/**",)
    prod = pipeline.stages[2]
    assert prod.before_entry is not None
    (condition,) = prod.before_entry.conditions
    assert condition.result == "FAIL"
    (rule,) = condition.rules
    assert (rule.name, rule.provider, rule.owner) == ("DeployWindow", "DeploymentWindow", "AWS")
    assert rule.configuration["TimeZone"] == "Europe/London"
    assert rule.role_arn is None
    assert prod.on_failure is not None
    assert prod.on_failure.result == "ROLLBACK"


def test_plan_pointers_map_to_lines() -> None:
    text = PLAN.read_text()
    inv = load_plan()
    pipeline = inv.pipelines[0]
    positions = inv.positions[str(PLAN)]
    verify = pipeline.stages[1].actions[0]
    pointer = (verify.loc / "configuration" / "ProjectName").pointer
    assert pointer == (
        "/planned_values/root_module/resources/3/values/stage/1/action/0/configuration/ProjectName"
    )
    needle = '"ProjectName": "release-verify"'
    assert positions.locate(pointer) == (line_of(text, needle), column_of(text, needle))
    rule = pipeline.stages[2].before_entry.conditions[0].rules[0]  # type: ignore[union-attr]
    line, _ = positions.locate(rule.loc.pointer + "/name") or (0, 0)
    assert line == line_of(text, '"name": "DeployWindow"')
    # a value known only after apply has no line of its own: its nearest ancestor's
    line, _ = positions.locate((pipeline.loc / "roleArn").pointer) or (0, 0)
    values_at = text.index('"values": {', text.index('"address": "aws_codepipeline.release"'))
    assert line == text[:values_at].count("\n") + 1


def test_ambiguous_references_are_not_guessed() -> None:
    doc = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_codepipeline.p",
                        "mode": "managed",
                        "type": "aws_codepipeline",
                        "name": "p",
                        "values": {
                            "name": "p",
                            "artifact_store": [{"location": "b", "type": "S3"}],
                            "stage": [
                                {
                                    "name": "S",
                                    "action": [
                                        {
                                            "name": "A",
                                            "category": "Build",
                                            "owner": "AWS",
                                            "provider": "CodeBuild",
                                            "version": "1",
                                            "configuration": {"ProjectName": "x"},
                                        }
                                    ],
                                }
                            ],
                        },
                    },
                    {
                        "address": "aws_iam_role.a",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "a",
                        "values": {"name": "a"},
                    },
                    {
                        "address": "aws_iam_role.b",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "b",
                        "values": {"name": "b"},
                    },
                ]
            }
        },
        "resource_changes": [
            {
                "address": "aws_codepipeline.p",
                "change": {
                    "after_unknown": {"role_arn": True, "stage": [{"action": [{"role_arn": True}]}]}
                },
            }
        ],
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_codepipeline.p",
                        "mode": "managed",
                        "type": "aws_codepipeline",
                        "name": "p",
                        "expressions": {
                            # a conditional between two roles: either could be meant
                            "role_arn": {
                                "references": [
                                    "aws_iam_role.a.arn",
                                    "aws_iam_role.a",
                                    "aws_iam_role.b.arn",
                                    "aws_iam_role.b",
                                ]
                            },
                            "stage": [{"action": [{"role_arn": {"references": ["local.role"]}}]}],
                        },
                    }
                ]
            }
        },
    }
    pipeline = load_plan(doc).pipelines[0]
    assert isinstance(pipeline.role_arn, Unresolved)
    assert pipeline.role_arn.expr == "aws_codepipeline.p.role_arn"
    assert pipeline.role_arn.reason == "known only after apply"
    action_role = pipeline.actions()[0].role_arn
    assert isinstance(action_role, Unresolved)  # locals are not in plan JSON


def _provider_plan(provider_config: dict[str, Any], role_provider: str) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.deploy",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "deploy",
                        "values": {"name": "deploy", "path": "/"},
                    }
                ]
            }
        },
        "resource_changes": [
            {"address": "aws_iam_role.deploy", "change": {"after_unknown": {"arn": True}}}
        ],
        "configuration": {
            "provider_config": provider_config,
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.deploy",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "deploy",
                        "provider_config_key": role_provider,
                        "expressions": {"name": {"constant_value": "deploy"}},
                    }
                ]
            },
        },
    }


def test_role_account_from_provider_configuration() -> None:
    providers = {
        "aws": {
            "name": "aws",
            "expressions": {
                "region": {"constant_value": "eu-west-1"},
                "allowed_account_ids": {"constant_value": ["111111111111"]},
            },
        },
        "aws.prod": {
            "name": "aws",
            "alias": "prod",
            "expressions": {
                "assume_role": [
                    {"role_arn": {"constant_value": "arn:aws:iam::222222222222:role/terraform"}}
                ]
            },
        },
        "aws.us_east_1": {
            "name": "aws",
            "alias": "us_east_1",
            "expressions": {
                "region": {"constant_value": "us-east-1"},
                "allowed_account_ids": {"constant_value": ["111111111111"]},
            },
        },
        "aws.other": {
            "name": "aws",
            "alias": "other",
            "expressions": {"profile": {"references": ["var.profile"]}},
        },
    }
    roles = {
        key: list(load_plan(_provider_plan(providers, key)).roles)
        for key in ("aws", "aws.prod", "aws.us_east_1", "aws.other")
    }
    assert roles == {
        "aws": ["arn:aws:iam::111111111111:role/deploy"],
        "aws.prod": ["arn:aws:iam::222222222222:role/deploy"],
        # same credentials as the default provider: same account
        "aws.us_east_1": ["arn:aws:iam::111111111111:role/deploy"],
        # other credentials, account unknown: a placeholder of its own, never the default's
        "aws.other": ["arn:aws:iam::${aws.other.account_id}:role/deploy"],
    }


def test_plan_without_pipeline_has_none() -> None:
    doc = _provider_plan({}, "aws")
    inv = load_plan(doc)
    assert inv.pipelines == ()
    assert list(inv.roles) == [f"arn:aws:iam::{PLACEHOLDER}:role/deploy"]


def test_hostile_policy_strings_are_unknown_not_errors() -> None:
    doc = copy.deepcopy(STATE)
    role_values = doc["values"]["root_module"]["resources"][0]["values"]
    role_values["assume_role_policy"] = "[" * 100_000
    role_values["inline_policy"] = [{"name": "deep", "policy": '{"a":' * 5000 + "1" + "}" * 5000}]
    inv = load_plan(doc)
    role = a_role(inv, "arn:aws:iam::123456789012:role/service-role/deploy")
    assert role.trust_policy is None
    assert role.inline_policies == {"deep": None}
    assert role.complete is False


# -- raw .tf files -----------------------------------------------------------------------------


def test_hcl_module_matches_the_plan_of_the_same_configuration() -> None:
    hcl, plan = release_module(), load_plan()
    assert hcl.source_kind == "Terraform configuration"
    (h,), (p,) = hcl.pipelines, plan.pipelines
    assert h.name == p.name == "release"
    assert h.role_arn == p.role_arn
    assert [a.role_arn for a in h.actions()] == [a.role_arn for a in p.actions()]
    assert [str(a.type_id) for a in h.actions()] == [str(a.type_id) for a in p.actions()]
    assert [a.run_order for a in h.actions()] == [a.run_order for a in p.actions()]
    assert h.artifact_stores[0].encryption_key == p.artifact_stores[0].encryption_key
    assert set(hcl.roles) == set(plan.roles)
    assert set(hcl.codebuild_projects) == set(plan.codebuild_projects)
    assert set(hcl.connections) == set(plan.connections)
    assert h.tags == p.tags == {"Environment": "production", "Team": "platform"}
    for stage_h, stage_p in zip(h.stages, p.stages, strict=True):
        for kind in ("before_entry", "on_success", "on_failure"):
            ch, cp = getattr(stage_h, kind), getattr(stage_p, kind)
            assert (ch is None) == (cp is None)
            if ch is not None and cp is not None:
                assert ch.result == cp.result
                assert [
                    (c.result, [(r.name, r.provider, dict(r.configuration)) for r in c.rules])
                    for c in ch.conditions
                ] == [
                    (c.result, [(r.name, r.provider, dict(r.configuration)) for r in c.rules])
                    for c in cp.conditions
                ]
    (th,), (tp,) = h.triggers, p.triggers
    assert (th.provider_type, th.source_action_name) == (tp.provider_type, tp.source_action_name)
    assert [(f.branches_include, f.file_paths_exclude, f.events) for f in th.pull_request] == [
        (("main",), ("docs/**",), ("OPEN", "UPDATED"))
    ]
    assert [(f.branches_include, f.file_paths_exclude, f.events) for f in tp.pull_request] == [
        (("main",), ("docs/**",), ("OPEN", "UPDATED"))
    ]
    # the raw files know what the plan could not: the role policies' content
    role = a_role(hcl, h.role_arn)
    assert {m.arn: m.document is not None for m in role.managed_policies} == {
        f"arn:aws:iam::{PLACEHOLDER}:policy/release-pipeline-logs": True,
        "arn:aws:iam::aws:policy/ReadOnlyAccess": False,
    }


def test_hcl_resolves_what_the_plan_cannot() -> None:
    inv = release_module()
    source = inv.pipelines[0].stages[0].actions[0]
    assert source.configuration == {
        "ConnectionArn": (
            f"arn:aws:codestar-connections:eu-west-1:{PLACEHOLDER}:connection/"
            "aws_codestarconnections_connection.github"
        ),
        "FullRepositoryId": "acme/release",  # "${var.github_owner}/release", default "acme"
        "BranchName": "main",
        "OutputArtifactFormat": "CODEBUILD_CLONE_REF",
    }
    assert source.configuration["ConnectionArn"] in inv.connections
    role = a_role(inv, inv.pipelines[0].role_arn)
    doc = role.inline_policies["pipeline-access"]
    first, second, third = doc["Statement"]
    # a module output is not followed: that leaf is unresolved, the rest is known
    assert isinstance(first["Resource"], Unresolved)
    assert first["Resource"].reason == "output of module `artifacts` is not followed"
    assert second["Resource"] == source.configuration["ConnectionArn"]
    assert third["Resource"] == [
        f"arn:aws:iam::{PLACEHOLDER}:role/release-build",
        "arn:aws:iam::222222222222:role/release-deploy",
    ]
    trust = a_role(inv, f"arn:aws:iam::{PLACEHOLDER}:role/release-build-action").trust_policy
    assert trust["Statement"][0]["Principal"] == {"AWS": inv.pipelines[0].role_arn}
    (store,) = inv.pipelines[0].artifact_stores
    assert isinstance(store.location, Unresolved)
    assert any("module `artifacts`" in note for note in inv.notes)


def test_hcl_line_numbers_for_action_configuration() -> None:
    inv = release_module()
    text = (MODULE / "main.tf").read_text()
    pipeline = inv.pipelines[0]
    positions = inv.positions[str(MODULE / "main.tf")]
    assert pipeline.loc.pointer == "/resource/aws_codepipeline/release"
    build = pipeline.stages[1].actions[1]
    pointer = (build.loc / "configuration" / "ProjectName").pointer
    assert (
        pointer == "/resource/aws_codepipeline/release/stage/1/action/1/configuration/ProjectName"
    )
    assert positions.locate(pointer) == (
        line_of(text, "ProjectName = aws_codebuild_project.build.name"),
        9,
    )
    line, _ = positions.locate((build.loc / "roleArn").pointer) or (0, 0)
    assert line == line_of(text, "role_arn         = aws_iam_role.build_action.arn")
    line, _ = positions.locate(pipeline.loc.pointer) or (0, 0)
    assert line == line_of(text, 'resource "aws_codepipeline" "release"')
    line, _ = positions.locate(pipeline.stages[2].loc.pointer + "/before_entry/0/condition/0") or (
        0,
        0,
    )
    assert line == line_of(text, 'result = "FAIL"') - 1
    # an unknown key falls back to its nearest ancestor
    line, _ = positions.locate((build.loc / "configuration" / "NoSuchKey").pointer) or (0, 0)
    assert line == line_of(text, "ProjectName = aws_codebuild_project.build.name") - 1


MODULE_TF = """\
variable "env" {
  type    = string
  default = "prod"
}

variable "stages" {
  default = ["Test", "Prod"]
}

variable "token" {
  type      = string
  sensitive = true
}

locals {
  name    = "app-${var.env}"
  account = "444455556666"
  tags    = merge({ Team = "payments" }, { Environment = var.env })
}

provider "aws" {
  region = "us-east-2"
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["codepipeline.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "pipeline" {
  name               = "${local.name}-pipeline"
  path               = "/ci/"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

resource "aws_iam_role" "deploy" {
  for_each = toset(["blue", "green"])
  name     = "${local.name}-deploy-${each.key}"
}

resource "aws_iam_role_policy" "pipeline" {
  role = aws_iam_role.pipeline.name
  name = "main"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "iam:PassRole"
      Resource = "arn:aws:iam::${local.account}:role/*"
    }]
  })
}

resource "aws_s3_bucket" "artifacts" {
  bucket = "${local.name}-artifacts"
  versioning {
    enabled = true
  }
}

resource "aws_codepipeline" "app" {
  name     = local.name
  role_arn = aws_iam_role.pipeline.arn

  artifact_store {
    location = aws_s3_bucket.artifacts.id
    type     = "S3"
  }

  stage {
    name = "Source"
    action {
      name             = "Source"
      category         = "Source"
      owner            = "ThirdParty"
      provider         = "GitHub"
      version          = "1"
      output_artifacts = ["src"]
      configuration = {
        Owner      = "acme"
        Repo       = "app"
        OAuthToken = var.token
        Escaped    = "a$${b}\\tc \\"q\\""
      }
    }
  }

  dynamic "stage" {
    for_each = var.stages
    content {
      name = stage.value
      action {
        name            = "Deploy${stage.value}"
        category        = "Deploy"
        owner           = "AWS"
        provider        = "CodeDeploy"
        version         = "1"
        input_artifacts = ["src"]
        role_arn        = aws_iam_role.deploy[stage.key == 0 ? "blue" : "green"].arn
        configuration = {
          ApplicationName     = "app"
          DeploymentGroupName = lower(stage.value)
          Script              = file("${path.module}/deploy.sh")
        }
      }
    }
  }

  tags = local.tags
}
"""


def test_hcl_variables_locals_references_and_policies() -> None:
    inv = load_module({"mod/main.tf": MODULE_TF})
    assert inv is not None
    (pipeline,) = inv.pipelines
    assert pipeline.name == "app-prod"
    assert pipeline.region == "us-east-2"
    assert pipeline.tags == {"Team": "payments", "Environment": "prod"}
    assert pipeline.role_arn == f"arn:aws:iam::{PLACEHOLDER}:role/ci/app-prod-pipeline"
    role = a_role(inv, pipeline.role_arn)
    assert role.trust_policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["sts:AssumeRole"],
                "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Condition": {"StringEquals": {"aws:SourceAccount": ["444455556666"]}},
            }
        ],
    }
    assert (
        role.inline_policies["main"]["Statement"][0]["Resource"]
        == "arn:aws:iam::444455556666:role/*"
    )
    assert pipeline.artifact_stores[0].location == "app-prod-artifacts"
    bucket = inv.bucket("app-prod-artifacts")
    assert isinstance(bucket, Bucket)
    assert bucket.versioning is True

    source = pipeline.stages[0].actions[0]
    token = source.configuration["OAuthToken"]
    assert isinstance(token, Unresolved)
    assert (token.expr, token.reason) == ("var.token", "variable `token` has no default")
    assert source.configuration["Escaped"] == 'a${b}\tc "q"'

    # dynamic stages over a variable with a default are expanded
    assert [s.name for s in pipeline.stages] == ["Source", "Test", "Prod"]
    test_deploy = pipeline.stages[1].actions[0]
    assert test_deploy.name == "DeployTest"
    assert test_deploy.configuration["DeploymentGroupName"] == "test"
    script = test_deploy.configuration["Script"]
    assert isinstance(script, Unresolved)
    # a conditional index is not evaluated: unresolved, not a guess between instances
    assert isinstance(test_deploy.role_arn, Unresolved)
    assert set(inv.roles) == {
        f"arn:aws:iam::{PLACEHOLDER}:role/ci/app-prod-pipeline",
        f"arn:aws:iam::{PLACEHOLDER}:role/app-prod-deploy-blue",
        f"arn:aws:iam::{PLACEHOLDER}:role/app-prod-deploy-green",
    }


def test_hcl_dynamic_stages_over_unknown_value_skip_the_pipeline() -> None:
    text = MODULE_TF.replace(
        'variable "stages" {\n  default = ["Test", "Prod"]\n}', 'variable "stages" {}'
    )
    inv = load_module({"mod/main.tf": text})
    assert inv is not None
    assert inv.pipelines == ()
    assert any(
        "pipeline `aws_codepipeline.app` not scanned" in note and "dynamic `stage`" in note
        for note in inv.notes
    )


def test_hcl_files_of_one_directory_form_one_module() -> None:
    variables = 'variable "region" {\n  default = "ap-south-1"\n}\n'
    main = MODULE_TF.replace('region = "us-east-2"', "region = var.region")
    inv = load_module({"mod/variables.tf": variables, "mod/main.tf": main})
    assert inv is not None
    assert inv.pipelines[0].region == "ap-south-1"
    assert set(inv.positions) == {"mod/variables.tf", "mod/main.tf"}


def test_hcl_without_pipeline_is_none() -> None:
    assert load_module({"m/main.tf": 'resource "aws_iam_role" "r" {\n  name = "r"\n}\n'}) is None


def test_hcl_syntax_error_names_the_file_and_line() -> None:
    bad = 'resource "aws_codepipeline" "p" {\n  name = \n}\n'
    with pytest.raises(ParseError) as caught:
        load_module({"mod/ok.tf": "locals {\n  a = 1\n}\n", "mod/broken.tf": bad})
    assert caught.value.source == "mod/broken.tf"
    assert caught.value.line == 2
    assert str(caught.value).startswith("mod/broken.tf:2: invalid HCL syntax")


def test_hcl_pathological_nesting_is_refused() -> None:
    deep = "a = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ParseError, match="nesting deeper than"):
        load_module({"mod/deep.tf": deep})


def test_hcl_self_reference_does_not_loop() -> None:
    text = """\
locals {
  a = local.b
  b = local.a
}
resource "aws_iam_role" "r" {
  name = "${aws_iam_role.r.arn}-x"
}
resource "aws_codepipeline" "p" {
  name     = local.a
  role_arn = aws_iam_role.r.arn
  stage {
    name = "S"
  }
}
"""
    inv = load_module({"m/main.tf": text})
    assert inv is not None
    (pipeline,) = inv.pipelines
    assert isinstance(pipeline.name, Unresolved)
    assert pipeline.name.reason == "refers to itself"
    assert pipeline.role_arn == f"arn:aws:iam::{PLACEHOLDER}:role/aws_iam_role.r"


# -- through load_paths ------------------------------------------------------------------------


def test_load_paths_directory_with_tf_files_and_a_plan(tmp_path: Path) -> None:
    shutil.copytree(MODULE, tmp_path / "infra")
    shutil.copy(PLAN, tmp_path / "release.tfplan.json")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "main.tf").write_text('resource "x" {\n')
    result = load_paths([tmp_path])
    kinds = sorted((inv.source_kind, inv.pipelines[0].name) for inv in result.inventories)
    assert kinds == [("Terraform configuration", "release"), ("Terraform plan", "release")]
    assert [e.source for e in result.errors] == [str(tmp_path / "broken" / "main.tf")]
    assert (
        f"skipped {tmp_path / 'infra' / 'modules' / 'artifact-bucket' / 'main.tf'}: not a pipeline definition"
        in result.notes
    )
    hcl = next(inv for inv in result.inventories if inv.source_kind == "Terraform configuration")
    assert hcl.pipelines[0].loc.subject == str(tmp_path / "infra" / "main.tf")


SUPPORTING_TF = """\
resource "aws_lambda_function" "gate" {
  function_name = "release-gate"
  role          = "arn:aws:iam::111111111111:role/gate"
  publish       = true
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.gate.arn
  function_version = "7"
}

resource "aws_secretsmanager_secret" "rotated" {
  name = "ci/rotated"
}

resource "aws_secretsmanager_secret_rotation" "rotated" {
  secret_id           = aws_secretsmanager_secret.rotated.id
  rotation_lambda_arn = "arn:aws:lambda:eu-west-1:111111111111:function:rotate"
  rotation_rules {
    schedule_expression = "rate(14 days)"
  }
}

resource "aws_secretsmanager_secret" "static" {
  name = "ci/static"
}

resource "aws_cloudwatch_log_group" "masked" {
  name = "/aws/codebuild/masked"
}

resource "aws_cloudwatch_log_data_protection_policy" "masked" {
  log_group_name  = aws_cloudwatch_log_group.masked.name
  policy_document = jsonencode({ Name = "mask", Version = "2021-06-01", Statement = [] })
}

resource "aws_cloudwatch_log_group" "plain" {
  name = "/aws/lambda/release-gate"
}

resource "aws_ecr_repository" "app" {
  name                 = "app"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
}

resource "aws_ecr_repository" "legacy" {
  name = "legacy"
}

resource "aws_codebuild_project" "pr" {
  name         = "pr-checks"
  service_role = "arn:aws:iam::111111111111:role/cb"
  artifacts {
    type = "NO_ARTIFACTS"
  }
  environment {
    compute_type = "BUILD_GENERAL1_SMALL"
    image        = "aws/codebuild/standard:7.0"
    type         = "LINUX_CONTAINER"
  }
  source {
    type     = "GITHUB"
    location = "https://github.com/acme/app.git"
  }
  logs_config {
    cloudwatch_logs {
      status = "DISABLED"
    }
    s3_logs {
      status              = "ENABLED"
      location            = "acme-logs/pr"
      encryption_disabled = true
    }
  }
}

resource "aws_codebuild_webhook" "pr" {
  project_name = aws_codebuild_project.pr.name
  filter_group {
    filter {
      type    = "EVENT"
      pattern = "PULL_REQUEST_CREATED"
    }
    filter {
      type                    = "ACTOR_ACCOUNT_ID"
      pattern                 = "12345"
      exclude_matched_pattern = false
    }
  }
}

resource "aws_codepipeline_webhook" "hook" {
  name            = "hook"
  authentication  = "IP"
  target_action   = "Source"
  target_pipeline = aws_codepipeline.p.name
  authentication_configuration {
    allowed_ip_range = "10.0.0.0/8"
  }
  filter {
    json_path    = "$.ref"
    match_equals = "refs/heads/main"
  }
}

resource "aws_iam_user" "approver" {
  name = "approver"
}

resource "aws_iam_user_policy" "approve" {
  name = "approve"
  user = aws_iam_user.approver.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "codepipeline:PutApprovalResult", Resource = "*" }]
  })
}

resource "aws_iam_group_policy" "operators" {
  name  = "override"
  group = "operators"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "codepipeline:OverrideStageCondition", Resource = "*" }]
  })
}

resource "aws_codepipeline" "p" {
  name     = "p"
  role_arn = "arn:aws:iam::111111111111:role/p"
  stage {
    name = "Source"
    action {
      name     = "Source"
      category = "Source"
      owner    = "AWS"
      provider = "S3"
      version  = "1"
      configuration = {
        S3Bucket    = "src"
        S3ObjectKey = "app.zip"
      }
    }
  }
}
"""


def test_hcl_supporting_resources() -> None:
    inv = load_module({"m/main.tf": SUPPORTING_TF})
    assert inv is not None
    gate = inv.lambda_function("release-gate:live")
    assert not isinstance(gate, type(inv.gap("x", "y")))
    assert gate.aliases == {"live": "7"}
    assert gate.arn == f"arn:aws:lambda:{'${AWS::Region}'}:{PLACEHOLDER}:function:release-gate"

    rotated, static = inv.secret("ci/rotated"), inv.secret("ci/static")
    assert (rotated.rotation_enabled, rotated.rotation_days) == (True, 14)  # type: ignore[union-attr]
    assert static.rotation_enabled is False  # type: ignore[union-attr]

    masked, plain = (
        inv.log_group("/aws/codebuild/masked"),
        inv.log_group("/aws/lambda/release-gate"),
    )
    assert masked.data_protection_policy == {
        "Name": "mask",
        "Version": "2021-06-01",
        "Statement": [],
    }  # type: ignore[union-attr]
    assert (plain.data_protection_policy, plain.policy_known) == (None, True)  # type: ignore[union-attr]

    app, legacy = inv.ecr_repository("app"), inv.ecr_repository("legacy")
    assert (app.tag_mutability, app.scan_on_push) == ("IMMUTABLE", True)  # type: ignore[union-attr]
    assert (legacy.tag_mutability, legacy.scan_on_push) == ("MUTABLE", False)  # type: ignore[union-attr]

    project = inv.codebuild_project("pr-checks")
    assert not isinstance(project, type(inv.gap("x", "y")))
    assert project.source_type == "GITHUB"
    assert project.source_location == "https://github.com/acme/app.git"
    assert project.buildspec is None  # buildspec.yml from the source
    assert (project.cloudwatch_logs_enabled, project.s3_logs_enabled) == (False, True)
    assert project.s3_logs_encryption_disabled is True
    assert project.artifacts_type == "NO_ARTIFACTS"
    assert [g.filters for g in project.webhook_filter_groups] == [
        (("EVENT", "PULL_REQUEST_CREATED", False), ("ACTOR_ACCOUNT_ID", "12345", False))
    ]
    assert project.webhook_loc is not None
    assert project.webhook_loc.pointer == "/resource/aws_codebuild_webhook/pr"

    (hook,) = inv.webhooks
    assert (hook.name, hook.target_pipeline, hook.authentication) == ("hook", "p", "IP")
    assert hook.filters == (("$.ref", "refs/heads/main"),)

    principals = {(p.principal, p.principal_kind, p.name) for p in inv.identity_policies}
    assert (f"arn:aws:iam::{PLACEHOLDER}:user/approver", "user", "approve") in principals
    assert ("operators", "group", "override") in principals


def test_hcl_template_edge_cases() -> None:
    text = """\
variable "n" {
  default = 3
}
resource "aws_codepipeline" "p" {
  name     = "p-${var.n}-${true}"
  role_arn = "%{ if var.n > 1 }a%{ else }b%{ endif }"
  stage {
    name = <<-EOT
      multi
        line
    EOT
    action {
      name     = "A"
      category = "Build"
      owner    = "AWS"
      provider = "CodeBuild"
      version  = "1"
      configuration = {
        Interp = "${upper("x}y")}-${jsonencode({ a = [1, "two"] })}"
        Json   = jsonencode("s")
        Yaml   = yamlencode({ k = ["v"] })
      }
    }
  }
}
"""
    inv = load_module({"m/main.tf": text})
    assert inv is not None
    (pipeline,) = inv.pipelines
    assert pipeline.name == "p-3-true"
    assert isinstance(pipeline.role_arn, Unresolved)
    assert pipeline.role_arn.reason == "template directives are not evaluated"
    assert pipeline.stages[0].name == "multi\n  line"
    config = pipeline.stages[0].actions[0].configuration
    # a map cannot be interpolated into a string: unresolved, not "{...}"
    assert isinstance(config["Interp"], Unresolved)
    assert config["Json"] == '"s"'
    assert config["Yaml"] == "k:\n- v\n"


EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "terraform"


def test_examples_parse_to_weak_and_hardened_pipelines() -> None:
    result = load_paths([EXAMPLES])
    assert result.errors == []
    names = sorted(
        (inv.source_kind, p.display_name) for inv in result.inventories for p in inv.pipelines
    )
    assert names == [
        ("Terraform configuration", "payments-legacy"),
        ("Terraform configuration", "payments-release"),
        ("Terraform plan", "orders-nightly"),
        ("Terraform plan", "orders-release"),
    ]
    hcl = next(inv for inv in result.inventories if inv.source_kind == "Terraform configuration")
    release = next(p for p in hcl.pipelines if p.name == "payments-release")
    (store,) = release.artifact_stores
    bucket = hcl.bucket(str(store.location))
    assert isinstance(bucket, Bucket)
    assert bucket.versioning is True
    assert bucket.object_lock is not None
    assert bucket.object_lock.mode == "COMPLIANCE"
    key = hcl.kms_key(str(store.encryption_key))
    assert isinstance(key, KmsKey)
    assert key.policy["Statement"][1]["Principal"] == {
        "AWS": "arn:aws:iam::222222222222:role/payments-deploy"
    }
    assert release.account == "111111111111"
    plan = next(inv for inv in result.inventories if inv.source_kind == "Terraform plan")
    nightly = next(p for p in plan.pipelines if p.name == "orders-nightly")
    assert nightly.account == "333333333333"
    role = a_role(plan, nightly.role_arn)
    assert [m.name for m in role.managed_policies] == ["AdministratorAccess"]


def test_hcl_tfvars_replace_variable_defaults() -> None:
    inv = load_module(
        {
            "mod/main.tf": MODULE_TF,
            "mod/terraform.tfvars": 'env = "staging"\n',
            "mod/z.auto.tfvars": 'stages = ["Canary"]\n',
        }
    )
    assert inv is not None
    (pipeline,) = inv.pipelines
    assert pipeline.name == "app-staging"
    assert [s.name for s in pipeline.stages] == ["Source", "Canary"]


def test_hcl_unexpanded_dynamic_blocks_outside_pipelines_are_noted() -> None:
    text = SUPPORTING_TF.replace(
        '    image        = "aws/codebuild/standard:7.0"\n    type         = "LINUX_CONTAINER"\n  }\n  source {\n    type     = "GITHUB"',
        '    image        = "aws/codebuild/standard:7.0"\n    type         = "LINUX_CONTAINER"\n'
        '    dynamic "environment_variable" {\n      for_each = var.env\n      content {\n'
        "        name  = environment_variable.key\n        value = environment_variable.value\n"
        '      }\n    }\n  }\n  source {\n    type     = "GITHUB"',
    )
    assert "dynamic" in text
    inv = load_module({"m/main.tf": text})
    assert inv is not None
    assert any(
        note.startswith(
            "mod: blocks generated by aws_codebuild_project.pr: dynamic `environment_variable`"
        )
        for note in inv.notes
    ), inv.notes


def test_module_instances_link_to_their_own_resources() -> None:
    path = TF / "foreach.tfplan.json"
    text = path.read_text()
    inv = parse_terraform_plan(json.loads(text), source=str(path), text=text)
    linked = {
        p.display_name: (p.role_arn, p.artifact_stores[0].location, p.loc.pointer)
        for p in inv.pipelines
    }
    assert linked == {
        "api": (
            f'arn:aws:iam::{PLACEHOLDER}:role/module.pipe["api"].aws_iam_role.pipeline',
            'module.pipe["api"].aws_s3_bucket.artifacts',
            "/planned_values/root_module/child_modules/0/resources/0/values",
        ),
        "web": (
            f'arn:aws:iam::{PLACEHOLDER}:role/module.pipe["web"].aws_iam_role.pipeline',
            'module.pipe["web"].aws_s3_bucket.artifacts',
            "/planned_values/root_module/child_modules/1/resources/0/values",
        ),
    }
    for role_arn, bucket, _ in linked.values():
        assert a_role(inv, role_arn).trust_policy is not None
        assert isinstance(inv.bucket(str(bucket)), Bucket)
