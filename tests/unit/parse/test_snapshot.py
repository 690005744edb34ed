"""Snapshot format: schema, structural validation, and the Inventory built from raw responses."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipewarden.engine import scan
from pipewarden.errors import ParseError
from pipewarden.model import (
    Bucket,
    CodeBuildProject,
    Finding,
    Gap,
    Inventory,
    KeyStyle,
    KmsKey,
    Loc,
    ObjectLock,
    Role,
    Severity,
    Status,
    WebhookFilterGroup,
)
from pipewarden.model.location import escape_token
from pipewarden.parse import load_paths
from pipewarden.parse.snapshot import KEY_PATTERNS, is_snapshot, parse_snapshot
from pipewarden.rules import RULES
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = ROOT / "src" / "pipewarden" / "schema" / "snapshot-v1.json"
REALISTIC = Path(__file__).parent / "snapshot" / "realistic.json"
EXAMPLE = ROOT / "examples" / "snapshot" / "example-snapshot.json"

ACCT = "111122223333"
P_US = "arn:aws:codepipeline:us-east-1:111122223333:payments-api"
P_EU = "arn:aws:codepipeline:eu-west-1:111122223333:legacy-web"
SHARED_ROLE = "arn:aws:iam::111122223333:role/service-role/pipeline-shared"
BUILD_SERVICE = "arn:aws:iam::111122223333:role/app-build-service"
DENIED_ROLE = "arn:aws:iam::111122223333:role/restricted/legacy-web-deploy"
KEY_US = "arn:aws:kms:us-east-1:111122223333:key/1f0c2a8e-5b7d-4c1e-9a3f-2d6b8e4c7a10"
KEY_EU = "arn:aws:kms:eu-west-1:111122223333:key/8b3e6d21-0c4f-4a97-b2d5-91e7f3a6c058"
CONN = (
    "arn:aws:codeconnections:us-east-1:111122223333:connection/7d2f4c1a-93e6-4b8d-a5f0-6c1e2b9d8a47"
)
# The unmasked GitHub v1 token the legacy pipeline's raw GetPipeline holds.
TOKEN = "ghp_R8x2Lq7VdN4sKz9PwT1mYc6HbJ3fGe5uAo0X"


def ptr(*tokens: str | int) -> str:
    return "".join("/" + escape_token(str(t)) for t in tokens)


ACCOUNT = ("accounts", 0)
IAM = (*ACCOUNT, "global", "iam")
US = (*ACCOUNT, "regions", "us-east-1")
EU = (*ACCOUNT, "regions", "eu-west-1")


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.fixture
def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REALISTIC.read_text())
    return loaded


@pytest.fixture(scope="module")
def inv() -> Inventory:
    text = REALISTIC.read_text()
    return parse_snapshot(json.loads(text), source=str(REALISTIC), text=text)


def scope_of(inventory: Inventory, arn: str) -> Inventory:
    pipeline = next(p for p in inventory.pipelines if p.arn == arn)
    return inventory.for_pipeline(pipeline)


# -- the schema -----------------------------------------------------------


def test_realistic_and_example_snapshots_validate_against_the_schema(
    validator: jsonschema.Draft202012Validator,
) -> None:
    for path in (REALISTIC, EXAMPLE):
        errors = sorted(validator.iter_errors(json.loads(path.read_text())), key=str)
        assert [f"{e.json_path}: {e.message}" for e in errors] == [], path.name


def test_identifier_patterns_are_the_schemas() -> None:
    defs = json.loads(SCHEMA_PATH.read_text())["$defs"]
    assert {name: defs[name]["pattern"] for name in KEY_PATTERNS} == dict(KEY_PATTERNS)


def test_schema_rejects_a_presigned_lambda_code_url(
    validator: jsonschema.Draft202012Validator, doc: dict[str, Any]
) -> None:
    code = doc["accounts"][0]["regions"]["eu-west-1"]["lambda"]["functions"][
        "legacy-web-smoke-test"
    ]
    code["GetFunction"]["Code"]["Location"] = "https://awslambda-eu-west-1-tasks.s3.amazonaws.com/x"
    assert not validator.is_valid(doc)


# -- pipelines --------------------------------------------------------------


def test_pipelines_are_live_style_with_arn_account_region_and_tags(inv: Inventory) -> None:
    assert inv.source_kind == "snapshot"
    assert inv.positions == {}
    by_arn = {p.arn: p for p in inv.pipelines}
    assert set(by_arn) == {P_US, P_EU}

    payments = by_arn[P_US]
    assert payments.name == "payments-api"
    assert (payments.account, payments.region) == (ACCT, "us-east-1")
    assert payments.loc == Loc(P_US, "/pipeline", KeyStyle.API)
    assert str(payments.stages[3].actions[0].loc) == f"{P_US}#/pipeline/stages/3/actions/0"
    assert payments.tags == {"environment": "prod", "team": "payments"}
    assert (payments.pipeline_type, payments.execution_mode) == ("V2", "QUEUED")
    assert payments.role_arn == SHARED_ROLE
    assert payments.artifact_stores[0].encryption_key == KEY_US
    assert payments.stages[3].before_entry is not None
    assert payments.stages[3].before_entry.conditions[0].rules[0].provider == "CloudWatchAlarm"
    assert payments.triggers[0].push[0].branches_include == ("main",)
    assert payments.source_file is None

    legacy = by_arn[P_EU]
    assert (legacy.account, legacy.region, legacy.pipeline_type) == (ACCT, "eu-west-1", "V1")
    assert legacy.tags == {"team": "web"}
    source = legacy.stages[0].actions[0]
    assert (source.owner, source.provider) == ("ThirdParty", "GitHub")
    assert legacy.role_arn == payments.role_arn  # one service role shared by both pipelines


def test_note_names_collection_time_and_tool(inv: Inventory) -> None:
    assert inv.notes == ("snapshot collected 2026-11-20T08:30:12.417Z by PipeWarden 0.1.0 (aws)",)


# -- IAM ------------------------------------------------------------------


def test_shared_role_trust_decoded_from_url_encoded_wire_form(inv: Inventory) -> None:
    role = inv.role(SHARED_ROLE)
    assert isinstance(role, Role)
    assert role.name == "pipeline-shared"
    assert role.trust_policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert list(role.inline_policies) == ["assume-action-roles"]
    assert role.inline_policies["assume-action-roles"]["Statement"][0]["Action"] == "sts:AssumeRole"
    (managed,) = role.managed_policies
    assert managed.arn == "arn:aws:iam::111122223333:policy/pipeline-artifact-access"
    assert managed.document["Statement"][1]["Resource"] == KEY_US
    assert role.complete is True
    assert role.loc is None
    # The same role object serves both pipelines' scopes.
    assert scope_of(inv, P_EU).role(SHARED_ROLE) is role


def test_role_with_an_unreadable_inline_policy_is_marked_incomplete(inv: Inventory) -> None:
    role = inv.role(BUILD_SERVICE)
    assert isinstance(role, Role)
    assert role.complete is False
    assert set(role.inline_policies) == {"logs"}  # "ssm-read" was listed, not readable
    (admin,) = role.managed_policies
    assert admin.name == "AdministratorAccess"
    assert admin.document == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }


def test_access_denied_role_is_a_gap_with_its_reason(inv: Inventory) -> None:
    for view in (inv, scope_of(inv, P_EU), scope_of(inv, P_US)):
        found = view.role(DENIED_ROLE)
        assert isinstance(found, Gap)
        assert found.reason.startswith("GetRole: AccessDenied (User: arn:aws:sts::111122223333:")
        assert found.reason.endswith("with an explicit deny in a service control policy)")
        assert found.operation == "GetRole"
    assert DENIED_ROLE not in inv.roles


def test_role_in_an_account_that_was_not_collected_is_not_in_the_snapshot(inv: Inventory) -> None:
    found = scope_of(inv, P_US).role("arn:aws:iam::444455556666:role/prod-cfn-deploy")
    assert isinstance(found, Gap)
    assert found.reason == (
        "role `arn:aws:iam::444455556666:role/prod-cfn-deploy` is not in this snapshot"
    )


def test_identity_policies_cover_users_groups_and_roles(inv: Inventory) -> None:
    scoped = scope_of(inv, P_US)
    found = {(p.principal_kind, p.principal, p.name) for p in scoped.identity_policies}
    assert ("user", "arn:aws:iam::111122223333:user/alice", "approve-releases") in found
    assert (
        "group",
        "arn:aws:iam::111122223333:group/release-managers",
        "release-override",
    ) in found
    assert ("role", SHARED_ROLE, "pipeline-artifact-access") in found
    approve = next(p for p in scoped.identity_policies if p.name == "approve-releases")
    assert approve.document["Statement"][1] == {
        "Effect": "Allow",
        "Action": "codepipeline:PutApprovalResult",
        "Resource": f"{P_US}/Approve/ReleaseApproval",
    }
    # The collector listed every principal, but one inline policy could not be read.
    assert scoped.identity_policies_complete is False
    assert inv.identity_policies_complete is False


def test_identity_policies_complete_when_every_policy_was_read(doc: dict[str, Any]) -> None:
    role = doc["accounts"][0]["global"]["iam"]["roles"][BUILD_SERVICE]
    role["ListRolePolicies"]["PolicyNames"] = ["logs"]
    inventory = parse_snapshot(doc, source="mem.json")
    assert inventory.identity_policies_complete is True
    found = inventory.role(BUILD_SERVICE)
    assert isinstance(found, Role)
    assert found.complete is True
    doc["accounts"][0]["global"]["iam"]["principals_complete"] = False
    assert parse_snapshot(doc, source="mem.json").identity_policies_complete is False


# -- S3, KMS, connections ------------------------------------------------------


def test_buckets_known_absent_and_unknown_parts(inv: Inventory) -> None:
    use1 = inv.bucket("acme-artifacts-111122223333-use1")
    assert use1 == Bucket(
        name="acme-artifacts-111122223333-use1",
        account=ACCT,
        region="us-east-1",
        versioning=True,
        object_lock=ObjectLock(enabled=True, mode="COMPLIANCE", days=30),
        sse_algorithm="aws:kms",
        sse_kms_key=KEY_US,
        policy=use1.policy if isinstance(use1, Bucket) else None,
    )
    assert isinstance(use1, Bucket)
    assert [s["Sid"] for s in use1.policy["Statement"]] == [
        "DenyInsecureConnections",
        "DenyUnEncryptedObjectUploads",
        "CrossAccountDeploy",
    ]

    euw1 = inv.bucket("acme-artifacts-111122223333-euw1")
    assert isinstance(euw1, Bucket)
    assert euw1.region == "eu-west-1"
    assert (euw1.object_lock, euw1.object_lock_known) == (None, True)  # not configured
    assert (euw1.sse_algorithm, euw1.sse_kms_key, euw1.encryption_known) == ("AES256", None, True)
    assert (euw1.policy, euw1.policy_known) == (None, False)  # AccessDenied, stored inline

    site = inv.bucket("acme-legacy-web-site")
    assert isinstance(site, Bucket)
    assert site.versioning is False  # GetBucketVersioning answered: never enabled
    assert (site.object_lock_known, site.encryption_known, site.policy_known) == (
        False,
        False,
        False,
    )


def test_kms_keys_and_aliases_resolve_in_their_own_region(inv: Inventory) -> None:
    us_key = scope_of(inv, P_US).kms_key("alias/pipeline-artifacts")
    eu_key = scope_of(inv, P_EU).kms_key("alias/pipeline-artifacts")
    assert isinstance(us_key, KmsKey)
    assert isinstance(eu_key, KmsKey)
    assert (us_key.arn, eu_key.arn) == (KEY_US, KEY_EU)
    assert us_key.customer_managed is True
    assert us_key.key_id == "1f0c2a8e-5b7d-4c1e-9a3f-2d6b8e4c7a10"
    assert us_key.account == ACCT
    assert us_key.policy["Statement"][1]["Principal"]["AWS"][1] == (
        "arn:aws:iam::444455556666:role/prod-cfn-deploy"
    )
    # By ARN, a key of another region is still found (cross-region artifact stores),
    # without its aliases, which resolve only in their own account and region.
    foreign = scope_of(inv, P_US).kms_key(KEY_EU)
    assert isinstance(foreign, KmsKey)
    assert (foreign.key_id, foreign.aliases) == (eu_key.key_id, ())
    aws_s3 = scope_of(inv, P_EU).kms_key("alias/aws/s3")
    assert isinstance(aws_s3, KmsKey)
    assert aws_s3.customer_managed is False
    # The whole-snapshot view cannot tell the two aliases apart and does not guess.
    assert isinstance(inv.kms_key("alias/pipeline-artifacts"), Gap)


def test_connection(inv: Inventory) -> None:
    connection = scope_of(inv, P_EU).connection(CONN)
    assert not isinstance(connection, Gap)
    assert (connection.name, connection.provider_type, connection.status) == (
        "acme-github",
        "GitHub",
        "AVAILABLE",
    )
    assert connection.owner_account == ACCT


# -- regional resources ---------------------------------------------------------


def test_codebuild_projects_resolve_per_account_and_region(inv: Inventory) -> None:
    us = scope_of(inv, P_US).codebuild_project("app-build")
    eu = scope_of(inv, P_EU).codebuild_project("app-build")
    assert isinstance(us, CodeBuildProject)
    assert isinstance(eu, CodeBuildProject)
    assert us.arn == "arn:aws:codebuild:us-east-1:111122223333:project/app-build"
    assert (us.privileged, eu.privileged) == (False, True)
    assert us.buildspec == "buildspec.yml"
    assert eu.buildspec is not None
    assert eu.buildspec.startswith("version: 0.2\nphases:")
    assert us.image == (
        "111122223333.dkr.ecr.us-east-1.amazonaws.com/build-images/python@sha256:" + "3f" * 32
    )
    assert [(v.name, v.type) for v in us.environment_variables] == [
        ("SONAR_TOKEN", "SECRETS_MANAGER"),
        ("APP_ENV", "PLAINTEXT"),
    ]
    assert us.service_role == BUILD_SERVICE
    assert (us.cloudwatch_logs_enabled, us.s3_logs_enabled, us.log_group) == (
        True,
        False,
        "/acme/codebuild/payments",
    )
    assert us.effective_log_group == "/acme/codebuild/payments"
    assert (eu.cloudwatch_logs_enabled, eu.s3_logs_enabled, eu.s3_logs_encryption_disabled) == (
        False,
        True,
        True,
    )
    assert us.encryption_key == KEY_US
    assert (us.artifacts_type, us.artifacts_encryption_disabled) == ("CODEPIPELINE", False)
    assert us.tags == {"team": "payments"}
    assert eu.webhook_filter_groups == (
        WebhookFilterGroup((("EVENT", "PUSH", False), ("HEAD_REF", "^refs/heads/main$", False))),
        WebhookFilterGroup(
            (
                ("EVENT", "PULL_REQUEST_CREATED,PULL_REQUEST_UPDATED", False),
                ("ACTOR_ACCOUNT_ID", "1234567", False),
            )
        ),
    )
    # Two regions each define `app-build`: the whole-snapshot view leaves it out.
    assert isinstance(inv.codebuild_project("app-build"), Gap)


def test_webhooks_and_action_types(inv: Inventory) -> None:
    eu = scope_of(inv, P_EU)
    (hook,) = eu.webhooks
    assert (hook.name, hook.target_pipeline, hook.target_action, hook.authentication) == (
        "legacy-web--Source--acme--legacy-web",
        "legacy-web",
        "Source",
        "GITHUB_HMAC",
    )
    assert hook.filters == (("$.ref", "refs/heads/{Branch}"),)
    assert scope_of(inv, P_US).webhooks == ()

    jenkins = eu.action_type(("Build", "Custom", "AcmeJenkins", "2"))
    assert not isinstance(jenkins, Gap)
    assert (jenkins.owner, jenkins.provider, jenkins.executor_type) == (
        "Custom",
        "AcmeJenkins",
        None,
    )
    # ListActionTypes was throttled in us-east-1: the lookup says so.
    missing = scope_of(inv, P_US).action_type(("Build", "Custom", "AcmeJenkins", "2"))
    assert isinstance(missing, Gap)
    assert missing.reason == "ListActionTypes: ThrottlingException (Rate exceeded)"


def test_lambda_versions_aliases_and_code_hash(inv: Inventory) -> None:
    fn = scope_of(inv, P_EU).lambda_function("legacy-web-smoke-test:live")
    assert not isinstance(fn, Gap)
    assert fn.arn == "arn:aws:lambda:eu-west-1:111122223333:function:legacy-web-smoke-test"
    assert fn.versions == ("$LATEST", "3", "4")
    assert fn.aliases == {"live": "4"}
    assert fn.code_sha256 == "m3Lz0aVq8yN1c5tR2wXkE7bP4sJ9hG6dF0uQ1iO3rTw="
    assert fn.effective_log_group == "/aws/lambda/legacy-web-smoke-test"
    assert isinstance(scope_of(inv, P_US).lambda_function("legacy-web-smoke-test"), Gap)


def test_secrets_rotation(inv: Inventory) -> None:
    sonar = scope_of(inv, P_US).secret(
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:payments/sonar-token-Xy12Ab"
    )
    assert not isinstance(sonar, Gap)
    assert (sonar.name, sonar.rotation_enabled, sonar.rotation_days) == (
        "payments/sonar-token",
        True,
        30,
    )
    deploy_key = scope_of(inv, P_EU).secret("legacy/deploy-key")
    assert not isinstance(deploy_key, Gap)
    assert deploy_key.rotation_days == 2  # rate(36 hours), rounded up to whole days
    denied = scope_of(inv, P_EU).secret(
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:legacy/github-token-Zx56Cv"
    )
    assert isinstance(denied, Gap)
    assert denied.reason.startswith("DescribeSecret: AccessDeniedException (User: ")


def test_log_groups_data_protection(inv: Inventory) -> None:
    us = scope_of(inv, P_US)
    protected = us.log_group("/acme/codebuild/payments")
    assert not isinstance(protected, Gap)
    assert protected.policy_known is True
    assert protected.data_protection_policy["Statement"][1]["Operation"] == {
        "Deidentify": {"MaskConfig": {}}
    }
    unprotected = us.log_group("/aws/codepipeline/payments-api")
    assert not isinstance(unprotected, Gap)
    assert (unprotected.data_protection_policy, unprotected.policy_known) == (None, True)
    # No own policy, and the account-wide policies were not read: not known.
    lambda_logs = scope_of(inv, P_EU).log_group("/aws/lambda/legacy-web-smoke-test")
    assert not isinstance(lambda_logs, Gap)
    assert (lambda_logs.data_protection_policy, lambda_logs.policy_known) == (None, False)


def test_account_wide_data_protection_policy_applies_to_groups_without_one(
    doc: dict[str, Any],
) -> None:
    logs = doc["accounts"][0]["regions"]["eu-west-1"]["logs"]
    policy = {"Name": "account", "Version": "2021-06-01", "Statement": []}
    logs["DescribeAccountPolicies"] = {
        "accountPolicies": [
            {
                "policyName": "account-dp",
                "policyType": "DATA_PROTECTION_POLICY",
                "policyDocument": json.dumps(policy),
                "scope": "ALL",
                "accountId": ACCT,
            }
        ]
    }
    inventory = parse_snapshot(doc, source="mem.json")
    group = scope_of(inventory, P_EU).log_group("/aws/lambda/legacy-web-smoke-test")
    assert not isinstance(group, Gap)
    assert (group.data_protection_policy, group.policy_known) == (policy, True)


def test_ecr_repositories_and_registry_scanning(inv: Inventory) -> None:
    us = scope_of(inv, P_US)
    # The registry rule covers `payments-*` only, so the registry as a whole does not scan on push.
    assert us.ecr_registry_scan_on_push is False
    payments = us.ecr_repository("payments-api")
    images = us.ecr_repository("build-images/python")
    assert not isinstance(payments, Gap)
    assert not isinstance(images, Gap)
    assert (payments.tag_mutability, payments.scan_on_push) == ("IMMUTABLE", True)
    assert (images.tag_mutability, images.mutability_exclusions, images.scan_on_push) == (
        "MUTABLE_WITH_EXCLUSION",
        ("latest",),
        False,
    )
    eu = scope_of(inv, P_EU)
    legacy = eu.ecr_repository("legacy-web")
    assert not isinstance(legacy, Gap)
    # Registry scanning not read in eu-west-1: a registry rule might scan it.
    assert (eu.ecr_registry_scan_on_push, legacy.scan_on_push) == (None, None)


def test_registry_rule_matching_every_repository_scans_the_registry(doc: dict[str, Any]) -> None:
    ecr = doc["accounts"][0]["regions"]["us-east-1"]["ecr"]
    rule = ecr["GetRegistryScanningConfiguration"]["scanningConfiguration"]["rules"][0]
    rule["scanFrequency"] = "CONTINUOUS_SCAN"
    rule["repositoryFilters"] = [{"filter": "*", "filterType": "WILDCARD"}]
    scoped = scope_of(parse_snapshot(doc, source="mem.json"), P_US)
    assert scoped.ecr_registry_scan_on_push is True
    repo = scoped.ecr_repository("build-images/python")
    assert not isinstance(repo, Gap)
    assert repo.scan_on_push is True


# -- gaps -----------------------------------------------------------------------


def test_gaps_become_gap_records(inv: Inventory) -> None:
    records = {(g.kind, g.resource, g.operation): g.reason for g in inv.gaps}
    assert records[("action-type", "*", "ListActionTypes")] == (
        "ListActionTypes: ThrottlingException (Rate exceeded)"
    )
    assert records[("region", "ap-east-1", "ListPipelines")] == (
        "ListPipelines: UnrecognizedClientException "
        "(The security token included in the request is invalid.)"
    )
    assert records[("bucket", "acme-legacy-web-site", "GetBucketEncryption")] == (
        "GetBucketEncryption: SlowDown (Please reduce your request rate.)"
    )
    assert records[("account", "444455556666", "AssumeRole")].startswith(
        "AssumeRole: AccessDenied ("
    )
    # An error stored in place of a response is a gap too (not "no bucket policy").
    assert records[("bucket", "acme-artifacts-111122223333-euw1", "GetBucketPolicy")] == (
        "GetBucketPolicy: AccessDenied (Access Denied)"
    )
    assert ("role", DENIED_ROLE, "GetRole") in records


def test_gaps_of_another_region_do_not_leak_into_a_scope(inv: Inventory) -> None:
    eu_kinds = {(g.kind, g.resource) for g in scope_of(inv, P_EU).gaps}
    assert ("action-type", "*") not in eu_kinds  # throttled in us-east-1 only
    assert ("role", DENIED_ROLE) in eu_kinds  # ARNs are global


def test_missing_primary_read_without_a_gap_is_recorded(doc: dict[str, Any]) -> None:
    roles = doc["accounts"][0]["global"]["iam"]["roles"]
    del roles[SHARED_ROLE]["GetRole"]
    inventory = parse_snapshot(doc, source="mem.json")
    found = inventory.role(SHARED_ROLE)
    assert isinstance(found, Gap)
    assert found.reason == "GetRole: not in snapshot"


def test_codebuild_project_gap_given_by_arn_is_keyed_by_name(doc: dict[str, Any]) -> None:
    doc["gaps"].append(
        {
            "account_id": ACCT,
            "region": "us-east-1",
            "service": "codebuild",
            "operation": "BatchGetProjects",
            "resource_kind": "codebuild-project",
            "resource": "arn:aws:codebuild:us-east-1:111122223333:project/integration-tests",
            "error_code": "NotFound",
            "message": "",
        }
    )
    found = scope_of(parse_snapshot(doc, source="mem.json"), P_US).codebuild_project(
        "integration-tests"
    )
    assert isinstance(found, Gap)
    assert found.reason == "BatchGetProjects: NotFound"


# -- scanning -----------------------------------------------------------------


def _privileged_check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(provider="CodeBuild"):
        project = ctx.codebuild_project(action)
        if isinstance(project, CodeBuildProject) and project.privileged:
            yield fail(
                action.loc / "configuration" / "ProjectName", f"`{project.arn}` is privileged"
            )


PRIVILEGED = Rule(
    RuleMeta("PW999", "test-privileged", "test rule", Severity.LOW, (CicdSec.SEC_5,)),
    _privileged_check,
)


def test_engine_evaluates_each_pipeline_against_its_own_region(inv: Inventory) -> None:
    results = scan([inv], rules=[PRIVILEGED], today=dt.date(2026, 11, 25)).results
    by_pipeline = {r.pipeline_arn: r for r in results}
    assert by_pipeline[P_US].status is Status.PASS
    failed = by_pipeline[P_EU]
    assert failed.status is Status.FAIL
    assert (
        failed.message
        == "`arn:aws:codebuild:eu-west-1:111122223333:project/app-build` is privileged"
    )
    assert failed.location.subject == P_EU
    assert failed.location.pointer == "/pipeline/stages/1/actions/0/configuration/ProjectName"
    assert (failed.location.file, failed.location.line) == (None, None)


def test_unmasked_oauth_token_never_reaches_a_result(inv: Inventory) -> None:
    result = scan([inv], rules=RULES, today=dt.date(2026, 11, 25))
    assert len(result.results) >= 2 * len(RULES)
    for item in result.results:
        shown = " ".join(
            [item.message, item.location.pointer, *item.evidence.keys(), *item.evidence.values()]
        )
        assert TOKEN not in shown, item.rule_id
        assert TOKEN[:8] not in shown, item.rule_id
    for text in (*result.notes, *result.gaps):
        assert TOKEN[:8] not in text


def test_load_paths_detects_a_snapshot_file(tmp_path: Path) -> None:
    target = tmp_path / "snap.json"
    target.write_text(REALISTIC.read_text())
    loaded = load_paths([tmp_path])
    assert loaded.errors == []
    (inventory,) = loaded.inventories
    assert inventory.source_kind == "snapshot"
    assert {p.arn for p in inventory.pipelines} == {P_US, P_EU}


def test_example_snapshot_parses(validator: jsonschema.Draft202012Validator) -> None:
    text = EXAMPLE.read_text()
    inventory = parse_snapshot(json.loads(text), source=str(EXAMPLE), text=text)
    assert inventory.pipelines
    assert all(p.arn and p.arn.startswith("arn:aws:codepipeline:") for p in inventory.pipelines)
    assert inventory.gaps


# -- bad shapes ---------------------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _at(doc: dict[str, Any], *path: str | int) -> Any:
    node: Any = doc
    for key in path:
        node = node[key]
    return node


def _set(*path: str | int, value: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        _at(doc, *path[:-1])[path[-1]] = value

    return apply


def _delete(*path: str | int) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        del _at(doc, *path[:-1])[path[-1]]

    return apply


def _rename(*path: str | int, to: str) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        parent = _at(doc, *path[:-1])
        parent[to] = parent.pop(path[-1])

    return apply


def _duplicate_account(doc: dict[str, Any]) -> None:
    doc["accounts"].append(copy.deepcopy(doc["accounts"][0]))


ROLE = (*IAM, "roles", SHARED_ROLE)
PIPE_US = (*US, "codepipeline", "pipelines", P_US)
BUCKET = (*ACCOUNT, "global", "s3", "buckets", "acme-artifacts-111122223333-use1")
LAMBDA = (*EU, "lambda", "functions", "legacy-web-smoke-test")

# (id, mutation, pointer of the error, message fragment, whether the schema also rejects it)
BAD: list[tuple[str, Mutation, str, str, bool]] = [
    ("missing-gaps", _delete("gaps"), "", "`gaps` is required", True),
    ("unknown-member", _set("extras", value={}), "/extras", "unknown member `extras`", True),
    (
        "collected-at",
        _set("collected_at", value="yesterday"),
        "/collected_at",
        "RFC 3339",
        True,
    ),
    (
        "account-id",
        _set(*ACCOUNT, "account_id", value="1111"),
        ptr(*ACCOUNT, "account_id"),
        "not a valid account id",
        True,
    ),
    (
        "region-name",
        _rename(*ACCOUNT, "regions", "us-east-1", to="US-EAST-1"),
        ptr(*ACCOUNT, "regions", "US-EAST-1"),
        "not a valid region name",
        True,
    ),
    (
        "unknown-service",
        _set(*US, "sqs", value={}),
        ptr(*US, "sqs"),
        "unknown member `sqs`",
        True,
    ),
    (
        "accounts-not-array",
        _set("accounts", value={}),
        "/accounts",
        "expected an array, found an object",
        True,
    ),
    (
        "role-arn-mismatch",
        _set(*ROLE, "GetRole", "Role", "Arn", value="arn:aws:iam::111122223333:role/other"),
        ptr(*ROLE, "GetRole", "Role", "Arn"),
        "does not match its key",
        False,
    ),
    (
        "trust-not-json",
        _set(*ROLE, "GetRole", "Role", "AssumeRolePolicyDocument", value="%7Bnot json"),
        ptr(*ROLE, "GetRole", "Role", "AssumeRolePolicyDocument"),
        "embedded JSON is not valid",
        False,
    ),
    (
        "bucket-policy-not-json",
        _set(*BUCKET, "GetBucketPolicy", "Policy", value="{'Version': 1}"),
        ptr(*BUCKET, "GetBucketPolicy", "Policy"),
        "embedded JSON is not valid",
        False,
    ),
    (
        "bucket-policy-array",
        _set(*BUCKET, "GetBucketPolicy", "Policy", value="[]"),
        ptr(*BUCKET, "GetBucketPolicy", "Policy"),
        "policy document must be a JSON object",
        False,
    ),
    (
        "versioning-status-type",
        _set(*BUCKET, "GetBucketVersioning", "Status", value=1),
        ptr(*BUCKET, "GetBucketVersioning", "Status"),
        "expected a string, found a number",
        True,
    ),
    (
        "stages-not-list",
        _set(*PIPE_US, "GetPipeline", "pipeline", "stages", value={"name": "Source"}),
        ptr(*PIPE_US, "GetPipeline", "pipeline", "stages"),
        "`stages` must be a list",
        True,
    ),
    (
        "pipeline-wrong-region",
        _rename(
            *US,
            "codepipeline",
            "pipelines",
            P_US,
            to="arn:aws:codepipeline:us-west-2:111122223333:payments-api",
        ),
        ptr(
            *US,
            "codepipeline",
            "pipelines",
            "arn:aws:codepipeline:us-west-2:111122223333:payments-api",
        ),
        "is not in account 111122223333, region us-east-1",
        False,
    ),
    (
        "pipeline-name-mismatch",
        _set(*PIPE_US, "GetPipeline", "pipeline", "name", value="other"),
        ptr(*PIPE_US, "GetPipeline", "pipeline", "name"),
        "pipeline name `other` does not match",
        False,
    ),
    (
        "lambda-code-location",
        _set(*LAMBDA, "GetFunction", "Code", "Location", value="https://example.invalid/x"),
        ptr(*LAMBDA, "GetFunction", "Code", "Location"),
        "presigned URL",
        True,
    ),
    (
        "gap-kind",
        _set("gaps", 0, "resource_kind", value="queue"),
        "/gaps/0/resource_kind",
        "unknown resource kind `queue`",
        True,
    ),
    (
        "gap-missing-field",
        _delete("gaps", 1, "message"),
        "/gaps/1",
        "`message` is required",
        True,
    ),
    ("duplicate-account", _duplicate_account, "/accounts/1/account_id", "appears twice", False),
    (
        "error-without-code",
        _set(*BUCKET, "GetBucketPolicy", value={"Error": {"Message": "x"}}),
        ptr(*BUCKET, "GetBucketPolicy", "Error"),
        "`Code` is required",
        True,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "pointer", "fragment", "schema_rejects"),
    [pytest.param(m, p, f, s, id=i) for i, m, p, f, s in BAD],
)
def test_bad_shape_is_a_parse_error_with_pointer(
    doc: dict[str, Any],
    validator: jsonschema.Draft202012Validator,
    mutate: Mutation,
    pointer: str,
    fragment: str,
    schema_rejects: bool,
) -> None:
    mutate(doc)
    text = json.dumps(doc, indent=2)
    with pytest.raises(ParseError) as caught:
        parse_snapshot(json.loads(text), source="snap.json", text=text)
    error = caught.value
    assert error.pointer == pointer
    assert fragment in error.message
    assert error.message.startswith(f"snapshot {pointer or '/'}: ")
    assert error.line is not None
    assert "\n" not in str(error)
    assert validator.is_valid(doc) is not schema_rejects


def test_bad_shape_error_names_the_line(doc: dict[str, Any]) -> None:
    _set(*BUCKET, "GetBucketVersioning", "Status", value=1)(doc)
    text = json.dumps(doc, indent=2)
    with pytest.raises(ParseError) as caught:
        parse_snapshot(json.loads(text), source="snap.json", text=text)
    line = text.splitlines()[caught.value.line - 1] if caught.value.line else ""
    assert line.strip() == '"Status": 1,' or line.strip() == '"Status": 1'
    assert str(caught.value).startswith(f"snap.json:{caught.value.line}: snapshot /accounts/0/")


@pytest.mark.parametrize(("version", "shown"), [("2", "'2'"), ("1.1", "'1.1'"), ("", "''")])
def test_unsupported_schema_version_is_named(doc: dict[str, Any], version: str, shown: str) -> None:
    doc["schema_version"] = version
    with pytest.raises(ParseError) as caught:
        parse_snapshot(doc, source="snap.json")
    assert caught.value.pointer == "/schema_version"
    assert f"unsupported snapshot schema_version {shown}" in caught.value.message
    assert "reads version '1'" in caught.value.message


def test_non_string_schema_version(doc: dict[str, Any]) -> None:
    doc["schema_version"] = 1
    with pytest.raises(ParseError, match="must be the string '1', found a number"):
        parse_snapshot(doc, source="snap.json")


def test_is_snapshot_needs_the_format_marker() -> None:
    assert is_snapshot({"format": "pipewarden-snapshot"})
    assert not is_snapshot({"pipeline": {"name": "x", "stages": []}})
    assert not is_snapshot([{"format": "pipewarden-snapshot"}])
    with pytest.raises(ParseError, match="not a PipeWarden snapshot"):
        parse_snapshot({"format": "other"}, source="x.json")


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


_ALL_PATHS = [p for p in _paths(json.loads(REALISTIC.read_text())) if p]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(_ALL_PATHS) - 1), value=_JSON)
def test_any_replaced_value_parses_or_is_a_parse_error(index: int, value: Any) -> None:
    doc = json.loads(REALISTIC.read_text())
    path = _ALL_PATHS[index]
    _at(doc, *path[:-1])[path[-1]] = value
    with contextlib.suppress(ParseError):  # anything else (a crash) fails the test
        parse_snapshot(doc, source="snap.json")
