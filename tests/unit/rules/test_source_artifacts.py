"""Unit tests for the source (PW1xx) and artifact (PW2xx) rules and their helpers.

Pipelines are parsed from small API-style declarations; inventories are built
directly, so each test states exactly which evidence exists.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from pipewarden.config import Config
from pipewarden.model import (
    Bucket,
    CodeBuildProject,
    Connection,
    EcrRepository,
    Finding,
    Inventory,
    KeyStyle,
    KmsKey,
    Loc,
    ObjectLock,
    PipelineWebhook,
    Status,
    Unresolved,
    WebhookFilterGroup,
)
from pipewarden.parse.declaration import parse_declaration
from pipewarden.rules import _family_a
from pipewarden.rules._api import Rule, RuleContext, arn_account, split_arn
from pipewarden.rules._artifact_store import same_account
from pipewarden.rules.artifact_store_no_cmk import RULE as NO_CMK
from pipewarden.rules.artifact_store_no_object_lock import RULE as NO_LOCK
from pipewarden.rules.artifact_store_policy_weak import RULE as POLICY_WEAK
from pipewarden.rules.artifact_store_shared import RULE as SHARED
from pipewarden.rules.artifact_store_unversioned import RULE as UNVERSIONED
from pipewarden.rules.cross_account_handoff_unverified import RULE as HANDOFF
from pipewarden.rules.cross_account_key_too_open import RULE as KEY_OPEN
from pipewarden.rules.pull_request_build_untrusted import RULE as PR_BUILD
from pipewarden.rules.source_clone_metadata_missing import RULE as CLONE_META
from pipewarden.rules.source_connection_untrusted import RULE as CONNECTION
from pipewarden.rules.source_ecr_mutable_tag import RULE as ECR_TAG
from pipewarden.rules.source_ecr_mutable_tag import tag_is_mutable
from pipewarden.rules.source_not_codeconnections import RULE as NOT_CONNECTIONS
from pipewarden.rules.source_oauth_token import RULE as OAUTH
from pipewarden.rules.source_oauth_token import describe_token
from pipewarden.rules.source_s3_mutable import RULE as S3_SOURCE
from pipewarden.rules.source_signature_unverified import RULE as SIGNATURE
from pipewarden.rules.webhook_unauthenticated import RULE as WEBHOOK
from pipewarden.rules.webhook_unauthenticated import is_anchored

ACCT = "111122223333"
OTHER = "444455556666"
CONN_ARN = f"arn:aws:codeconnections:us-east-1:{ACCT}:connection/8d3f7c2e"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCT}:key/3f9a1c7e"
BUCKET = "payments-api-artifacts"
DEPLOY_ROLE = f"arn:aws:iam::{OTHER}:role/payments-api-deploy"
GITHUB_TOKEN = "ghp_" + "Zq8Lm3Xv7Rt2Np5Kd9Wy4Hb6Jc1Fs0Ge8Ua3"
VERIFY_SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - git verify-commit HEAD\n"
BUILD_SPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"


# -- builders -------------------------------------------------------------------


def source(
    provider: str = "CodeStarSourceConnection", owner: str = "AWS", **config: str
) -> dict[str, Any]:
    defaults = {
        "CodeStarSourceConnection": {
            "ConnectionArn": CONN_ARN,
            "FullRepositoryId": "example-org/payments-api",
            "BranchName": "main",
        },
        "CodeCommit": {"RepositoryName": "payments-api", "BranchName": "main"},
        "S3": {"S3Bucket": "releases", "S3ObjectKey": "app.zip"},
        "ECR": {"RepositoryName": "payments-api"},
    }.get(provider, {})
    return {
        "name": "Source",
        "actionTypeId": {
            "category": "Source",
            "owner": owner,
            "provider": provider,
            "version": "1",
        },
        "configuration": {**defaults, **config},
        "outputArtifacts": [{"name": "SourceOutput"}],
    }


def build(
    name: str = "Build",
    inputs: tuple[str, ...] = ("SourceOutput",),
    *,
    project: str = "payments-api-build",
    run_order: int = 1,
    category: str = "Build",
    role: str | None = None,
    **config: str,
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": "CodeBuild",
            "version": "1",
        },
        "runOrder": run_order,
        "configuration": {"ProjectName": project, **config},
        "inputArtifacts": [{"name": i} for i in inputs],
        "outputArtifacts": [{"name": f"{name}Output"}],
    }
    if role:
        action["roleArn"] = role
    return action


def commands(name: str, inputs: tuple[str, ...], *lines: str, run_order: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "actionTypeId": {
            "category": "Compute",
            "owner": "AWS",
            "provider": "Commands",
            "version": "1",
        },
        "runOrder": run_order,
        "commands": list(lines),
        "inputArtifacts": [{"name": i} for i in inputs],
    }


def deploy(
    name: str = "Deploy", inputs: tuple[str, ...] = ("BuildOutput",), role: str | None = None
) -> dict[str, Any]:
    action: dict[str, Any] = {
        "name": name,
        "actionTypeId": {
            "category": "Deploy",
            "owner": "AWS",
            "provider": "CloudFormation",
            "version": "1",
        },
        "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": "app"},
        "inputArtifacts": [{"name": i} for i in inputs],
    }
    if role:
        action["roleArn"] = role
    return action


def declaration(*stages: tuple[str, list[dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    decl: dict[str, Any] = {
        "name": "payments-api",
        "roleArn": f"arn:aws:iam::{ACCT}:role/payments-api-pipeline",
        "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": BUCKET},
        "stages": [{"name": n, "actions": a} for n, a in stages],
    }
    decl.update(extra)
    return decl


def run(
    rule: Rule,
    decl: dict[str, Any],
    config: Config | None = None,
    *,
    others: tuple[dict[str, Any], ...] = (),
    **resources: Any,
) -> list[Finding]:
    pipelines = [
        parse_declaration(
            d,
            loc=Loc("test.json", f"/{i}", KeyStyle.API),
            source="test.json",
            arn=f"arn:aws:codepipeline:us-east-1:{ACCT}:{d['name']}",
            account=ACCT,
            region="us-east-1",
        )
        for i, d in enumerate((decl, *others))
    ]
    inventory = Inventory(source_kind="unit test", pipelines=tuple(pipelines), **resources)
    return list(rule.check(RuleContext(pipelines[0], inventory, config or Config())))


def statuses(findings: list[Finding]) -> list[str]:
    return [str(f.status) for f in findings]


def two_stage(
    src: dict[str, Any], *more: tuple[str, list[dict[str, Any]]], **extra: Any
) -> dict[str, Any]:
    return declaration(("Source", [src]), *more, **extra)


# -- registry and helpers ------------------------------------------------------------


def test_family_is_sorted_and_complete() -> None:
    ids = [rule.meta.id for rule in _family_a.FAMILY]
    assert ids == sorted(ids)
    assert ids == [f"PW10{i}" for i in range(1, 10)] + [f"PW20{i}" for i in range(1, 8)]


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        ("arn:aws:iam::123456789012:role/x", "123456789012"),
        ("arn:aws:iam::${AWS::AccountId}:root", "${AWS::AccountId}"),
        ("arn:aws:kms:${AWS::Region}:${AWS::AccountId}:key/K", "${AWS::AccountId}"),
        ("arn:aws:s3:::bucket/key", None),
        ("not-an-arn", None),
    ],
)
def test_arn_account_keeps_placeholders_whole(arn: str, account: str | None) -> None:
    assert arn_account(arn) == account


def test_split_arn_keeps_resource_colons() -> None:
    assert split_arn("arn:aws:logs:${AWS::Region}:1:log-group:g:*") == [
        "arn",
        "aws",
        "logs",
        "${AWS::Region}",
        "1",
        "log-group",
        "g",
        "*",
    ]


def test_same_account() -> None:
    assert same_account("${AWS::AccountId}", "${AWS::AccountId}") is True
    assert same_account(ACCT, OTHER) is False
    assert same_account(ACCT, None) is None
    assert same_account(Unresolved("Ref A", "no default"), ACCT) is None


# -- PW101 source-oauth-token --------------------------------------------------------


class TestSourceOauthToken:
    def github_v1(self, **config: str) -> dict[str, Any]:
        base = {"Owner": "example-org", "Repo": "app", "Branch": "main"}
        return source("GitHub", "ThirdParty", **{**base, **config})

    @pytest.mark.parametrize(
        ("token", "shown"),
        [
            ("****", "masked by AWS"),
            (
                "{{resolve:secretsmanager:github/app:SecretString:token}}",
                "Secrets Manager secret `github/app`",
            ),
            ("{{resolve:ssm-secure:/ci/github-token:2}}", "Parameter Store"),
            (GITHUB_TOKEN, "the literal `ghp_…(40 chars)`"),
        ],
    )
    def test_github_v1_token_fails_whatever_its_form(self, token: str, shown: str) -> None:
        findings = run(OAUTH, two_stage(self.github_v1(OAuthToken=token)))
        assert statuses(findings) == ["fail"]
        assert findings[0].loc.pointer == "/0/stages/0/actions/0/configuration/OAuthToken"
        assert shown in findings[0].message

    def test_github_v1_token_from_parameter_fails(self) -> None:
        token = Unresolved("Ref GitHubToken", "parameter `GitHubToken` has no default")
        assert describe_token(token) == "taken from `Ref GitHubToken`"
        findings = run(OAUTH, two_stage(self.github_v1(OAuthToken=token)))  # type: ignore[arg-type]
        assert statuses(findings) == ["fail"]
        assert "`Ref GitHubToken`" in findings[0].message

    def test_github_v1_without_token_key_still_fails(self) -> None:
        findings = run(OAUTH, two_stage(self.github_v1()))
        assert statuses(findings) == ["fail"]
        assert findings[0].loc.pointer == "/0/stages/0/actions/0/configuration"

    def test_literal_never_appears_in_output(self) -> None:
        custom = source("GitLabSource", "Custom", Project="app", AccessToken=GITHUB_TOKEN)
        findings = run(OAUTH, two_stage(custom))
        assert statuses(findings) == ["fail"]
        text = findings[0].message + repr(findings[0].evidence)
        assert GITHUB_TOKEN not in text
        assert GITHUB_TOKEN[4:20] not in text

    def test_parameters_count_only_under_token_names(self) -> None:
        param = Unresolved("Ref Value", "parameter `Value` has no default")
        custom = source("GitLabSource", "Custom", Project="app")
        custom["configuration"]["Branch"] = param
        assert run(OAUTH, two_stage(custom)) == []
        # A parameter under a token-named key is a token, whatever it resolves to.
        custom["configuration"]["AccessToken"] = param
        findings = run(OAUTH, two_stage(custom))
        assert statuses(findings) == ["fail"]
        assert findings[0].loc.pointer.endswith("/configuration/AccessToken")

    def test_masked_value_in_custom_source_fails(self) -> None:
        findings = run(
            OAUTH, two_stage(source("GitLabSource", "Custom", Project="app", Key="****"))
        )
        assert statuses(findings) == ["fail"]
        assert "masked by AWS" in findings[0].message

    def test_ordinary_sources_pass(self) -> None:
        assert run(OAUTH, two_stage(source())) == []
        assert run(OAUTH, two_stage(source("CodeCommit"))) == []


# -- PW102 source-not-codeconnections -------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "owner", "fails"),
    [
        ("CodeStarSourceConnection", "AWS", False),
        ("CodeCommit", "AWS", False),
        ("S3", "AWS", False),
        ("ECR", "AWS", False),
        ("GitHub", "ThirdParty", True),
        ("GitHubEnterpriseServerSource", "ThirdParty", True),
        ("BitbucketServer", "Custom", True),
    ],
)
def test_not_codeconnections(provider: str, owner: str, fails: bool) -> None:
    findings = run(NOT_CONNECTIONS, two_stage(source(provider, owner)))
    assert statuses(findings) == (["fail"] if fails else [])
    if fails:
        assert findings[0].loc.pointer == "/0/stages/0/actions/0/actionTypeId/provider"


# -- PW103 source-connection-untrusted -------------------------------------------------


class TestConnectionUntrusted:
    def connection(self, **fields: Any) -> dict[str, Connection]:
        base: dict[str, Any] = {
            "arn": CONN_ARN,
            "name": "example-org-github",
            "provider_type": "GitHub",
            "owner_account": ACCT,
            "status": "AVAILABLE",
        }
        base.update(fields)
        return {CONN_ARN: Connection(**base)}

    def test_available_own_connection_passes(self) -> None:
        config = Config(
            allowed_connection_providers=("GitHub",),
            allowed_connection_hosts=("github.com",),
            allowed_repository_owners=("Example-Org",),
        )
        assert run(CONNECTION, two_stage(source()), config, connections=self.connection()) == []

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"status": "PENDING"}, "is `PENDING`, not `AVAILABLE`"),
            ({"owner_account": OTHER}, f"owned by account `{OTHER}`"),
        ],
    )
    def test_status_and_owner_always_checked(self, fields: dict[str, Any], expected: str) -> None:
        findings = run(CONNECTION, two_stage(source()), connections=self.connection(**fields))
        assert statuses(findings) == ["fail"]
        assert expected in findings[0].message
        assert findings[0].loc.pointer.endswith("/configuration/ConnectionArn")

    def test_unknown_status_is_unknown(self) -> None:
        findings = run(CONNECTION, two_stage(source()), connections=self.connection(status=None))
        assert statuses(findings) == ["unknown"]
        assert "status" in findings[0].message

    def test_empty_allow_lists_are_not_configured(self) -> None:
        conn = self.connection(provider_type="Bitbucket")
        assert (
            run(CONNECTION, two_stage(source(FullRepositoryId="someone/x")), connections=conn) == []
        )

    def test_provider_not_allowed(self) -> None:
        config = Config(allowed_connection_providers=("GitHubEnterpriseServer",))
        findings = run(CONNECTION, two_stage(source()), config, connections=self.connection())
        assert statuses(findings) == ["fail"]
        assert "provider `GitHub`" in findings[0].message

    def test_host_matches_endpoint_host_name(self) -> None:
        conn = self.connection(
            provider_type="GitHubEnterpriseServer",
            host_arn=f"arn:aws:codeconnections:us-east-1:{ACCT}:host/ghes-1a2b",
            provider_endpoint="https://github.example.com",
        )
        allowed = Config(allowed_connection_hosts=("github.example.com",))
        assert run(CONNECTION, two_stage(source()), allowed, connections=conn) == []
        denied = Config(allowed_connection_hosts=("github.com",))
        findings = run(CONNECTION, two_stage(source()), denied, connections=conn)
        assert statuses(findings) == ["fail"]
        assert "host `https://github.example.com`" in findings[0].message

    def test_repository_owner_not_allowed(self) -> None:
        config = Config(allowed_repository_owners=("example-org",))
        decl = two_stage(source(FullRepositoryId="examp1e-org/payments-api"))
        findings = run(CONNECTION, decl, config, connections=self.connection())
        assert statuses(findings) == ["fail"]
        assert findings[0].loc.pointer.endswith("/configuration/FullRepositoryId")

    def test_foreign_arn_fails_without_the_connection(self) -> None:
        arn = f"arn:aws:codeconnections:us-east-1:{OTHER}:connection/x"
        findings = run(CONNECTION, two_stage(source(ConnectionArn=arn)))
        assert statuses(findings) == ["fail"]

    def test_missing_connection_is_unknown(self) -> None:
        findings = run(CONNECTION, two_stage(source()))
        assert statuses(findings) == ["unknown"]
        assert "is not in this unit test" in findings[0].message

    def test_literal_arn_in_template_account_is_unknown(self) -> None:
        decl = two_stage(source(), roleArn="arn:aws:iam::${AWS::AccountId}:role/pipeline")
        conn = self.connection(owner_account=None)
        pipelines = [parse_declaration(decl, loc=Loc("t.yaml", "", KeyStyle.API), source="t.yaml")]
        inventory = Inventory(source_kind="unit test", pipelines=tuple(pipelines), connections=conn)
        findings = list(CONNECTION.check(RuleContext(pipelines[0], inventory, Config())))
        assert statuses(findings) == ["unknown"]
        assert "cannot be told" in findings[0].message


# -- PW104 / verified_before -----------------------------------------------------------


class TestSignatureUnverified:
    def test_verifier_before_build_passes(self) -> None:
        decl = declaration(
            ("Source", [source(OutputArtifactFormat="CODEBUILD_CLONE_REF")]),
            ("Verify", [build("Verify", BuildspecOverride=VERIFY_SPEC)]),
            ("Build", [build(BuildspecOverride=BUILD_SPEC)]),
        )
        assert run(SIGNATURE, decl) == []

    def test_same_stage_needs_lower_run_order(self) -> None:
        decl = declaration(
            ("Source", [source()]),
            (
                "Build",
                [
                    build("Verify", run_order=1, BuildspecOverride=VERIFY_SPEC),
                    build("Build", run_order=1, BuildspecOverride=BUILD_SPEC),
                ],
            ),
        )
        findings = run(SIGNATURE, decl)
        assert statuses(findings) == ["fail"]
        assert findings[0].action == "Build"
        assert findings[0].loc.pointer == "/0/stages/1/actions/1/inputArtifacts/0"

    def test_verifier_with_buildspec_from_source_does_not_count(self) -> None:
        project = CodeBuildProject("verify", buildspec="buildspec-verify.yml")
        decl = declaration(
            ("Source", [source()]),
            ("Verify", [build("Verify", project="verify")]),
            ("Build", [commands("Build", ("SourceOutput",), "make")]),
        )
        findings = run(SIGNATURE, decl, codebuild_projects={"verify": project})
        assert statuses(findings) == ["fail"]
        assert findings[0].action == "Verify"

    def test_before_entry_commands_rule_verifies(self) -> None:
        rule = {
            "name": "VerifyCommit",
            "ruleTypeId": {
                "category": "Rule",
                "owner": "AWS",
                "provider": "Commands",
                "version": "1",
            },
            "commands": ["git verify-commit HEAD"],
            "inputArtifacts": [{"name": "SourceOutput"}],
        }
        decl = declaration(
            ("Source", [source()]), ("Build", [commands("Build", ("SourceOutput",), "make")])
        )
        decl["stages"][1]["beforeEntry"] = {"conditions": [{"result": "FAIL", "rules": [rule]}]}
        assert run(SIGNATURE, decl) == []
        # A SKIP gate of an earlier stage does not stop later stages.
        decl = declaration(
            ("Source", [source()]),
            ("Test", [commands("Test", ("SourceOutput",), "make test")]),
            ("Build", [commands("Build", ("SourceOutput",), "make")]),
        )
        decl["stages"][1]["beforeEntry"] = {"conditions": [{"result": "SKIP", "rules": [rule]}]}
        findings = run(SIGNATURE, decl)
        assert statuses(findings) == ["fail"]
        assert findings[0].action == "Build"

    def test_unknown_project_is_unknown(self) -> None:
        decl = declaration(("Source", [source()]), ("Build", [build()]))
        findings = run(SIGNATURE, decl)
        assert statuses(findings) == ["unknown"]
        assert "payments-api-build" in findings[0].message


# -- PW105 -----------------------------------------------------------------------------


def test_clone_metadata_counts_verifying_condition_rules() -> None:
    rule = {
        "name": "VerifyCommit",
        "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "Commands", "version": "1"},
        "commands": ["gitsign verify --certificate-identity=dev@example.com HEAD"],
        "inputArtifacts": [{"name": "SourceOutput"}],
    }
    decl = declaration(
        ("Source", [source()]), ("Build", [commands("Build", ("SourceOutput",), "make")])
    )
    decl["stages"][1]["beforeEntry"] = {"conditions": [{"result": "FAIL", "rules": [rule]}]}
    findings = run(CLONE_META, decl)
    assert statuses(findings) == ["fail"]
    assert "rule `VerifyCommit` of stage `Build`" in findings[0].message


def test_clone_metadata_unresolved_format_is_unknown() -> None:
    decl = declaration(
        ("Source", [source()]),
        ("Verify", [build("Verify", BuildspecOverride=VERIFY_SPEC)]),
    )
    decl["stages"][0]["actions"][0]["configuration"]["OutputArtifactFormat"] = Unresolved(
        "Ref Format", "parameter `Format` has no default"
    )
    findings = run(CLONE_META, decl)
    assert statuses(findings) == ["unknown"]
    assert findings[0].loc.pointer.endswith("/configuration/OutputArtifactFormat")


# -- PW106 -----------------------------------------------------------------------------


class TestPullRequestBuild:
    TRIGGER: ClassVar[list[dict[str, Any]]] = [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {
                "sourceActionName": "Source",
                "pullRequest": [{"events": ["OPEN"], "branches": {"includes": ["main"]}}],
            },
        }
    ]

    def test_project_buildspec_path_fails(self) -> None:
        decl = two_stage(source(), ("Build", [build()]), triggers=self.TRIGGER)
        project = CodeBuildProject("payments-api-build", buildspec="ci/buildspec.yml")
        findings = run(PR_BUILD, decl, codebuild_projects={project.name: project})
        assert statuses(findings) == ["fail"]
        assert "`ci/buildspec.yml`" in findings[0].message

    @pytest.mark.parametrize("buildspec", [BUILD_SPEC, "arn:aws:s3:::platform-buildspecs/pr.yml"])
    def test_inline_or_s3_buildspec_passes(self, buildspec: str) -> None:
        decl = two_stage(source(), ("Build", [build()]), triggers=self.TRIGGER)
        project = CodeBuildProject("payments-api-build", buildspec=buildspec)
        assert run(PR_BUILD, decl, codebuild_projects={project.name: project}) == []

    def test_primary_source_decides(self) -> None:
        other = source("CodeCommit")
        other["name"] = "Tooling"
        other["outputArtifacts"] = [{"name": "ToolingOutput"}]
        action = build(inputs=("SourceOutput", "ToolingOutput"), PrimarySource="ToolingOutput")
        decl = declaration(
            ("Source", [source(), other]), ("Build", [action]), triggers=self.TRIGGER
        )
        assert run(PR_BUILD, decl) == []

    def test_push_triggers_and_v1_are_ignored(self) -> None:
        push = copy.deepcopy(self.TRIGGER)
        del push[0]["gitConfiguration"]["pullRequest"]
        push[0]["gitConfiguration"]["push"] = [{"branches": {"includes": ["main"]}}]
        assert run(PR_BUILD, two_stage(source(), ("Build", [build()]), triggers=push)) == []
        v1 = two_stage(source(), ("Build", [build()]), triggers=self.TRIGGER, pipelineType="V1")
        assert run(PR_BUILD, v1) == []


# -- PW107 / PW108 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "expected", "text"),
    [
        (
            Bucket("releases", versioning=True, object_lock=ObjectLock(True, "GOVERNANCE", 30)),
            [],
            "",
        ),
        (Bucket("releases", versioning=True), ["fail"], "no object lock"),
        (Bucket("releases", versioning=False), ["fail"], "no versioning and no object lock"),
        (
            Bucket("releases", versioning=None, object_lock=ObjectLock(True)),
            ["unknown"],
            "versioning",
        ),
        (Bucket("releases", versioning=True, object_lock_known=False), ["unknown"], "object lock"),
    ],
)
def test_s3_source_bucket(bucket: Bucket, expected: list[str], text: str) -> None:
    findings = run(S3_SOURCE, two_stage(source("S3")), buckets={"releases": bucket})
    assert statuses(findings) == expected
    if text:
        assert text in findings[0].message


@pytest.mark.parametrize(
    ("mode", "exclusions", "tag", "mutable"),
    [
        ("IMMUTABLE", (), "latest", False),
        ("MUTABLE", (), "release", True),
        ("IMMUTABLE_WITH_EXCLUSION", ("latest",), "latest", True),
        ("IMMUTABLE_WITH_EXCLUSION", ("dev-*",), "v1.2.0", False),
        ("MUTABLE_WITH_EXCLUSION", ("v*",), "v1.2.0", False),
        ("MUTABLE_WITH_EXCLUSION", ("v*",), "latest", True),
        (None, (), "latest", None),
        ("IMMUTABLE_WITH_EXCLUSION", ("x",), None, None),
        ("IMMUTABLE", (), None, False),
    ],
)
def test_tag_is_mutable(
    mode: str | None, exclusions: tuple[str, ...], tag: str | None, mutable: bool | None
) -> None:
    repo = EcrRepository("app", tag_mutability=mode, mutability_exclusions=exclusions)
    assert tag_is_mutable(repo, tag) is mutable


def test_ecr_source_default_tag_is_latest() -> None:
    repo = EcrRepository("payments-api", tag_mutability="MUTABLE")
    findings = run(ECR_TAG, two_stage(source("ECR")), ecr_repositories={"payments-api": repo})
    assert statuses(findings) == ["fail"]
    assert "`latest` (the default)" in findings[0].message
    assert findings[0].loc.pointer.endswith("/configuration/RepositoryName")


# -- PW109 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "anchored"),
    [
        ("^refs/heads/main$", True),
        ("^(123|456)$", True),
        ("^[a|b]$", True),
        ("refs/heads/main", False),
        ("^refs/heads/main", False),
        ("refs/heads/main$", False),
        ("^123|456$", False),
        ("^main\\$", False),
    ],
)
def test_is_anchored(pattern: str, anchored: bool) -> None:
    assert is_anchored(pattern) is anchored


class TestWebhooks:
    def hook(self, target: Any = "payments-api", auth: Any = "UNAUTHENTICATED") -> PipelineWebhook:
        return PipelineWebhook("hook", target, "Source", auth)

    def test_unauthenticated_webhook_for_this_pipeline_fails(self) -> None:
        findings = run(WEBHOOK, two_stage(source()), webhooks=(self.hook(),))
        assert statuses(findings) == ["fail"]

    def test_other_pipelines_webhooks_are_ignored(self) -> None:
        assert run(WEBHOOK, two_stage(source()), webhooks=(self.hook("ledger"),)) == []

    def test_unresolved_target_is_unknown(self) -> None:
        target = Unresolved("Ref Target", "parameter `Target` has no default")
        findings = run(WEBHOOK, two_stage(source()), webhooks=(self.hook(target),))
        assert statuses(findings) == ["unknown"]

    def test_excluding_filters_may_be_unanchored(self) -> None:
        group = WebhookFilterGroup(
            (
                ("EVENT", "PUSH", False),
                ("ACTOR_ACCOUNT_ID", "1234", True),
                ("HEAD_REF", "^refs/heads/main$", False),
            )
        )
        project = CodeBuildProject("payments-api-build", webhook_filter_groups=(group,))
        decl = two_stage(source(), ("Build", [build()]))
        assert run(WEBHOOK, decl, codebuild_projects={project.name: project}) == []

    def test_unanchored_actor_filter_fails(self) -> None:
        group = WebhookFilterGroup(
            (("EVENT", "PULL_REQUEST_CREATED", False), ("ACTOR_ACCOUNT_ID", "1234", False))
        )
        project = CodeBuildProject("payments-api-build", webhook_filter_groups=(group,))
        decl = two_stage(source(), ("Build", [build()]))
        findings = run(WEBHOOK, decl, codebuild_projects={project.name: project})
        assert statuses(findings) == ["fail"]
        # No positions for the project: the finding points where the pipeline names it.
        assert findings[0].loc.pointer == "/0/stages/1/actions/0/configuration/ProjectName"


# -- PW201-PW205 ---------------------------------------------------------------------------


HARDENED_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def bucket(**fields: Any) -> dict[str, Bucket]:
    base: dict[str, Any] = {
        "name": BUCKET,
        "versioning": True,
        "object_lock": ObjectLock(True, "COMPLIANCE", 30),
        "sse_algorithm": "aws:kms",
        "sse_kms_key": KEY_ARN,
        "policy": HARDENED_POLICY,
    }
    base.update(fields)
    return {BUCKET: Bucket(**base)}


@pytest.mark.parametrize("rule", [NO_LOCK, NO_CMK, UNVERSIONED, POLICY_WEAK])
def test_hardened_bucket_passes_every_store_rule(rule: Rule) -> None:
    assert run(rule, two_stage(source()), buckets=bucket()) == []


def test_every_region_store_is_checked() -> None:
    stores = {
        "us-east-1": {"type": "S3", "location": BUCKET},
        "eu-west-1": {"type": "S3", "location": "payments-api-artifacts-eu"},
    }
    decl = two_stage(source(), artifactStores=stores)
    del decl["artifactStore"]
    findings = run(UNVERSIONED, decl, buckets=bucket())
    assert statuses(findings) == ["unknown"]
    assert findings[0].loc.pointer == "/0/artifactStores/eu-west-1/location"


@pytest.mark.parametrize(
    ("lock", "known", "expected"),
    [
        (None, True, "no object lock"),
        (ObjectLock(True), True, "no default retention"),
        (ObjectLock(True, "GOVERNANCE", None, 1), True, None),
        (None, False, "not known"),
    ],
)
def test_object_lock(lock: ObjectLock | None, known: bool, expected: str | None) -> None:
    findings = run(
        NO_LOCK, two_stage(source()), buckets=bucket(object_lock=lock, object_lock_known=known)
    )
    if expected is None:
        assert findings == []
    else:
        assert len(findings) == 1
        assert expected in findings[0].message


class TestNoCmk:
    @pytest.mark.parametrize(
        ("key", "keys", "fails"),
        [
            (KEY_ARN, {}, False),  # an explicit key ARN is taken as customer managed
            ("alias/payments-artifacts", {}, False),  # customer aliases name customer keys
            ("alias/aws/s3", {}, True),
            (f"arn:aws:kms:us-east-1:{ACCT}:alias/aws/s3", {}, True),
            (KEY_ARN, {KEY_ARN: KmsKey("3f9a1c7e", KEY_ARN, customer_managed=False)}, True),
        ],
    )
    def test_store_key(self, key: str, keys: dict[str, KmsKey], fails: bool) -> None:
        decl = two_stage(source())
        decl["artifactStore"]["encryptionKey"] = {"id": key, "type": "KMS"}
        findings = run(NO_CMK, decl, buckets=bucket(sse_algorithm="AES256"), kms_keys=keys)
        assert statuses(findings) == (["fail"] if fails else [])

    def test_bucket_default_kms_without_key_id_is_aws_managed(self) -> None:
        findings = run(NO_CMK, two_stage(source()), buckets=bucket(sse_kms_key=None))
        assert statuses(findings) == ["fail"]
        assert "AWS managed key `aws/s3`" in findings[0].message

    def test_unknown_encryption(self) -> None:
        findings = run(NO_CMK, two_stage(source()), buckets=bucket(encryption_known=False))
        assert statuses(findings) == ["unknown"]


class TestPolicyWeak:
    def policy(
        self, *extra: dict[str, Any], deny: dict[str, Any] | None = None
    ) -> dict[str, Bucket]:
        statements = [deny if deny is not None else HARDENED_POLICY["Statement"][0], *extra]
        return bucket(policy={"Version": "2012-10-17", "Statement": statements})

    def base_deny(self, **changes: Any) -> dict[str, Any]:
        deny = dict(HARDENED_POLICY["Statement"][0])
        deny.update(changes)
        return deny

    @pytest.mark.parametrize(
        "changes",
        [
            {"Action": "s3:PutObject"},  # reads over HTTP still allowed
            {"Resource": f"arn:aws:s3:::{BUCKET}"},  # does not cover objects
            {"Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}},  # not everyone
            {"Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        ],
    )
    def test_incomplete_tls_deny_fails(self, changes: dict[str, Any]) -> None:
        findings = run(
            POLICY_WEAK, two_stage(source()), buckets=self.policy(deny=self.base_deny(**changes))
        )
        assert statuses(findings) == ["fail"]
        assert "plain HTTP" in findings[0].message

    @pytest.mark.parametrize(
        "changes",
        [
            {"Principal": {"AWS": "*"}},
            {"Action": ["s3:GetObject", "s3:PutObject"]},
            {"Resource": "*"},
            {"Condition": {"BoolIfExists": {"aws:SecureTransport": ["false"]}}},
        ],
    )
    def test_equivalent_tls_denies_pass(self, changes: dict[str, Any]) -> None:
        assert (
            run(
                POLICY_WEAK,
                two_stage(source()),
                buckets=self.policy(deny=self.base_deny(**changes)),
            )
            == []
        )

    @pytest.mark.parametrize(
        ("statement", "expected"),
        [
            ({"Principal": "*", "Action": "s3:PutObject"}, ["fail"]),
            ({"Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "s3:Put*"}, ["fail"]),
            ({"Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/x"}, "Action": "s3:*"}, ["fail"]),
            ({"Principal": {"AWS": f"arn:aws:iam::{OTHER}:role/x"}, "Action": "s3:GetObject"}, []),
            (
                {"Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/build"}, "Action": "s3:PutObject"},
                [],
            ),
            (
                {
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
                },
                [],
            ),
            (
                {"Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject"},
                [],
            ),
            (
                {
                    "Principal": {"AWS": Unresolved("Ref Writer", "no default")},
                    "Action": "s3:PutObject",
                },
                ["unknown"],
            ),
        ],
    )
    def test_write_grants(self, statement: dict[str, Any], expected: list[str]) -> None:
        allow = {"Effect": "Allow", "Resource": f"arn:aws:s3:::{BUCKET}/*", **statement}
        findings = run(POLICY_WEAK, two_stage(source()), buckets=self.policy(allow))
        assert statuses(findings) == expected

    def test_no_policy_fails_and_unknown_policy_is_unknown(self) -> None:
        assert statuses(run(POLICY_WEAK, two_stage(source()), buckets=bucket(policy=None))) == [
            "fail"
        ]
        unknown = bucket(policy=None, policy_known=False)
        assert statuses(run(POLICY_WEAK, two_stage(source()), buckets=unknown)) == ["unknown"]


def test_shared_bucket_reported_on_each_pipeline() -> None:
    mine = two_stage(source())
    other = copy.deepcopy(mine)
    other["name"] = "ledger-service"
    third = copy.deepcopy(mine)
    third["name"] = "web"
    third["artifactStore"]["location"] = "web-artifacts"
    findings = run(SHARED, mine, others=(other, third))
    assert statuses(findings) == ["fail"]
    assert "`ledger-service`" in findings[0].message
    assert "`web`" not in findings[0].message
    assert run(SHARED, third, others=(mine, other)) == []


# -- PW206 / PW207 --------------------------------------------------------------------------


class TestHandoff:
    def test_cross_account_without_verifier_fails(self) -> None:
        decl = two_stage(
            source(),
            ("Build", [build()]),
            ("Prod", [deploy("Deploy", ("BuildOutput",), DEPLOY_ROLE)]),
        )
        decl["stages"][1]["actions"][0]["outputArtifacts"] = [{"name": "BuildOutput"}]
        findings = run(HANDOFF, decl)
        assert statuses(findings) == ["fail"]
        assert f"account `{OTHER}`" in findings[0].message

    def test_cross_account_verifier_itself_is_fine(self) -> None:
        verify = commands("VerifyInProd", ("BuildOutput",), "cosign verify-blob --key k.pub a.zip")
        verify["roleArn"] = DEPLOY_ROLE
        decl = two_stage(source(), ("Prod", [verify]))
        assert run(HANDOFF, decl) == []

    def test_unresolved_role_account_is_unknown(self) -> None:
        action = deploy("Deploy", ("SourceOutput",))
        decl = two_stage(source(), ("Prod", [action]))
        pipelines = [
            parse_declaration(
                decl, loc=Loc("t.json", "", KeyStyle.API), source="t.json", account=ACCT
            )
        ]
        pipeline = pipelines[0]
        stage = pipeline.stages[1]
        unresolved = Unresolved("Ref DeployRoleArn", "parameter `DeployRoleArn` has no default")
        changed = replace(stage, actions=(replace(stage.actions[0], role_arn=unresolved),))
        pipeline = replace(pipeline, stages=(pipeline.stages[0], changed))
        inventory = Inventory(source_kind="unit test", pipelines=(pipeline,))
        findings = list(HANDOFF.check(RuleContext(pipeline, inventory, Config())))
        assert statuses(findings) == ["unknown"]
        assert "DeployRoleArn" in findings[0].message


class TestKeyTooOpen:
    def key_policy(self, *statements: dict[str, Any]) -> dict[str, KmsKey]:
        admin = {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
        policy = {"Version": "2012-10-17", "Statement": [admin, *statements]}
        return {KEY_ARN: KmsKey("3f9a1c7e", KEY_ARN, policy=policy, account=ACCT)}

    def pipeline(self) -> dict[str, Any]:
        decl = two_stage(source(), ("Prod", [deploy("Deploy", ("SourceOutput",), DEPLOY_ROLE)]))
        decl["artifactStore"]["encryptionKey"] = {"id": KEY_ARN, "type": "KMS"}
        return decl

    @pytest.mark.parametrize(
        ("principal", "condition", "expected"),
        [
            (DEPLOY_ROLE, None, []),
            (f"arn:aws:iam::{OTHER}:root", None, ["fail"]),
            (OTHER, None, ["fail"]),
            (f"arn:aws:iam::{OTHER}:role/other-role", None, ["fail"]),
            (f"arn:aws:iam::{OTHER}:role/*", None, ["fail"]),
            ("*", None, ["fail"]),
            ("*", {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}, []),
            (f"arn:aws:iam::{OTHER}:root", {"ArnLike": {"aws:PrincipalArn": DEPLOY_ROLE}}, []),
            ("*", {"StringEquals": {"kms:CallerAccount": ACCT}}, []),
        ],
    )
    def test_decrypt_grants(
        self, principal: str, condition: dict[str, Any] | None, expected: list[str]
    ) -> None:
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
        }
        if condition:
            statement["Condition"] = condition
        findings = run(KEY_OPEN, self.pipeline(), kms_keys=self.key_policy(statement))
        assert statuses(findings) == expected

    def test_encrypt_only_grant_is_not_judged(self) -> None:
        statement = {"Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}
        assert run(KEY_OPEN, self.pipeline(), kms_keys=self.key_policy(statement)) == []

    def test_aws_managed_key_is_skipped(self) -> None:
        decl = self.pipeline()
        decl["artifactStore"]["encryptionKey"]["id"] = "alias/aws/s3"
        assert run(KEY_OPEN, decl) == []

    def test_unknown_key_or_policy(self) -> None:
        assert statuses(run(KEY_OPEN, self.pipeline())) == ["unknown"]
        keys = {KEY_ARN: KmsKey("3f9a1c7e", KEY_ARN, policy=None)}
        findings = run(KEY_OPEN, self.pipeline(), kms_keys=keys)
        assert statuses(findings) == ["unknown"]
        assert "key policy is not known" in findings[0].message


def test_no_rule_crashes_on_an_empty_pipeline() -> None:
    decl = declaration(("Source", [source()]))
    for rule in _family_a.FAMILY:
        for finding in run(rule, decl):
            assert finding.status in (Status.UNKNOWN, Status.FAIL)
