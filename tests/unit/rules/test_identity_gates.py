"""Identity (PW301-PW309) and gate (PW402-PW406) rules: the logic fixtures cannot pin down easily."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest

from pipewarden.config import Config, RuleSettings
from pipewarden.model import (
    Finding,
    IdentityPolicy,
    Inventory,
    KeyStyle,
    Loc,
    ManagedPolicy,
    Pipeline,
    Role,
    Status,
    Unresolved,
)
from pipewarden.parse.declaration import parse_declaration
from pipewarden.rules import (
    approvers_without_mfa,
    condition_override_allowed,
    condition_weak,
    pipeline_single_role,
    prod_no_rollback,
    prod_stage_no_entry_gate,
    prod_without_approval,
    role_admin_attached,
    role_passrole_unscoped,
    role_shared_across_actions,
    role_trust_too_broad,
    role_wildcard_permissions,
    stage_multiple_prod_deploys,
    trigger_unfiltered,
)
from pipewarden.rules._api import Rule, RuleContext
from pipewarden.rules._gates import lambda_qualifier, unpinned_reason
from pipewarden.rules._iam import (
    access_level,
    action_info,
    arn_pattern_matches,
    expand,
    is_admin_policy_arn,
    known_service,
    service_has_write,
)
from pipewarden.rules._policy import Statement, statements

ACCT = "111122223333"
PIPELINE_ROLE = f"arn:aws:iam::{ACCT}:role/app-pipeline"
SOURCE = "unit.json"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCT}:role/{name}"


def action(
    name: str,
    category: str,
    provider: str,
    *,
    role: str | None = None,
    run_order: int = 1,
    configuration: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": provider,
            "version": "1",
        },
        "runOrder": run_order,
        "configuration": dict(configuration or {}),
    }
    if role is not None:
        out["roleArn"] = role
    return out


def pipeline(*stages: dict[str, Any], **extra: Any) -> Pipeline:
    decl = {"name": "app", "roleArn": PIPELINE_ROLE, "stages": list(stages), **extra}
    return parse_declaration(
        decl,
        loc=Loc(SOURCE, "/pipeline", KeyStyle.API),
        source=SOURCE,
        arn=f"arn:aws:codepipeline:us-east-1:{ACCT}:app",
        account=ACCT,
        region="us-east-1",
    )


def stage(name: str, *actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "actions": list(actions), **extra}


def source_stage() -> dict[str, Any]:
    return stage(
        "Source",
        action(
            "Source",
            "Source",
            "CodeStarSourceConnection",
            role=role_arn("app-source"),
            configuration={"BranchName": "main", "FullRepositoryId": "org/app"},
        ),
    )


def prod_stage(**extra: Any) -> dict[str, Any]:
    return stage(
        "Production",
        action(
            "Deploy",
            "Deploy",
            "S3",
            role=role_arn("app-deploy"),
            configuration={"BucketName": "site"},
        ),
        **extra,
    )


def doc(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(actions: Any, resources: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def trust_pipeline() -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"AWS": PIPELINE_ROLE}, "Action": "sts:AssumeRole"})


def make_role(
    name: str, *, trust: Any = None, inline: Mapping[str, Any] | None = None, **kw: Any
) -> Role:
    return Role(
        arn=role_arn(name),
        name=name,
        trust_policy=trust if trust is not None else trust_pipeline(),
        inline_policies=dict(inline or {}),
        **kw,
    )


class _Lines:
    """A position index placing every pointer on line 1."""

    def locate(self, pointer: str) -> tuple[int, int] | None:
        return (1, 1)


def run(
    rule: Rule,
    p: Pipeline,
    *,
    roles: tuple[Role, ...] = (),
    identity: tuple[IdentityPolicy, ...] = (),
    complete: bool = False,
    config: Config | None = None,
    positioned: bool = False,
) -> list[Finding]:
    inventory = Inventory(
        source_kind="unit test",
        pipelines=(p,),
        positions={SOURCE: _Lines()} if positioned else {},
        roles={r.arn: r for r in roles},
        identity_policies=identity,
        identity_policies_complete=complete,
    )
    return list(rule.check(RuleContext(p, inventory, config or Config())))


def statuses(findings: list[Finding]) -> set[Status]:
    return {f.status for f in findings}


def one_statement(raw: dict[str, Any]) -> Statement:
    return next(statements(doc(raw)))


# -- the IAM action database -----------------------------------------------------


def test_access_levels_come_from_the_database() -> None:
    assert access_level("s3:PutObject") == "Write"
    assert access_level("S3:putobject") == "Write"  # IAM action names are case-insensitive
    assert access_level("s3:GetObject") == "Read"
    assert access_level("s3:ListAllMyBuckets") == "List"
    assert access_level("iam:PassRole") == "Permissions management"
    assert access_level("ec2:CreateTags") == "Tagging"
    assert access_level("s3:NoSuchAction") is None
    assert access_level("nosuchservice:Get") is None
    assert access_level("not-an-action") is None


def test_actions_that_cannot_be_scoped_are_known() -> None:
    for name in ("codepipeline:PutJobSuccessResult", "ecr:GetAuthorizationToken"):
        info = action_info(name)
        assert info is not None
        assert info.wildcard_only, name
    info = action_info("logs:CreateLogGroup")
    assert info is not None
    assert not info.wildcard_only


def test_expand_wildcards_to_real_actions() -> None:
    puts = expand("s3:Put*")
    assert "s3:PutObject" in puts
    assert all(a.startswith("s3:Put") for a in puts)
    assert expand("iam:passrole") == ("iam:PassRole",)
    assert expand("iam:Pass?ole") == ("iam:PassRole",)
    assert expand("nosuchservice:*") == ()
    assert expand("no-colon") == ()
    everything = expand("*")
    assert len(everything) > 10_000
    assert "iam:PassRole" in everything
    assert expand("*:*") == everything
    assert "codepipeline:PutApprovalResult" in expand("code*:PutApproval*")


def test_service_facts() -> None:
    assert service_has_write("s3") is True
    assert service_has_write("nosuchservice") is None
    assert known_service("codepipeline")
    assert not known_service("nosuchservice")
    assert is_admin_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
    assert is_admin_policy_arn("arn:aws-us-gov:iam::aws:policy/AdministratorAccess")
    assert not is_admin_policy_arn(f"arn:aws:iam::{ACCT}:policy/AdministratorAccess")


def test_policy_sentry_is_not_imported_with_the_rules() -> None:
    code = "import sys, pipewarden.rules, pipewarden.engine; print('policy_sentry' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"


def test_arn_patterns() -> None:
    arn = f"arn:aws:codepipeline:us-east-1:{ACCT}:app/Approve/Release"
    assert arn_pattern_matches("*", arn)
    assert arn_pattern_matches(f"arn:aws:codepipeline:*:{ACCT}:app/*", arn)
    assert not arn_pattern_matches(f"arn:aws:codepipeline:*:{ACCT}:other/*", arn)
    assert not arn_pattern_matches("arn:aws:codepipeline:*:444455556666:app/*", arn)
    # an unknown region (written *) matches whatever region the policy names
    unknown_region = f"arn:aws:codepipeline:*:{ACCT}:app"
    assert arn_pattern_matches(f"arn:aws:codepipeline:eu-west-1:{ACCT}:app", unknown_region)
    assert not arn_pattern_matches(f"arn:aws:codepipeline:eu-west-1:{ACCT}:other", unknown_region)


# -- PW301 ---------------------------------------------------------------------------


def test_pw301_manual_approval_needs_no_role() -> None:
    p = pipeline(
        source_stage(),
        stage("Approve", action("Approve", "Approval", "Manual")),
        prod_stage(),
    )
    assert run(pipeline_single_role.RULE, p) == []


def test_pw301_unresolved_role_counts_as_own_role() -> None:
    unresolved = Unresolved("!ImportValue deploy-role", "imported from another stack")
    p = pipeline(source_stage(), prod_stage())
    actions = list(p.stages[1].actions)
    stages = (
        p.stages[0],
        replace(p.stages[1], actions=(replace(actions[0], role_arn=unresolved),)),
    )
    assert run(pipeline_single_role.RULE, replace(p, stages=stages)) == []


# -- PW302 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "issue"),
    [
        (allow("*"), "allows every action (`*`)"),
        (allow("iam:*", "arn:aws:iam::*:role/app-*"), "allows service-wide `iam:*`"),
        (allow(["logs:CreateLogGroup", "logs:PutLogEvents"]), "write actions on `Resource: *`"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "every action except `iam:*`"),
        (
            {"Effect": "Allow", "Action": "s3:PutObject", "NotResource": "arn:aws:s3:::x/*"},
            "`s3:PutObject`",
        ),
    ],
)
def test_pw302_flags(statement: dict[str, Any], issue: str) -> None:
    issues, opens = role_wildcard_permissions.assess(one_statement(statement))
    assert len(issues) == 1
    assert issue in issues[0]
    assert opens == []


@pytest.mark.parametrize(
    "statement",
    [
        allow(["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"]),
        allow(["ecr:GetAuthorizationToken", "sts:GetServiceBearerToken"]),
        allow(["s3:Get*", "s3:List*"]),
        allow("ec2:CreateTags"),  # Tagging is not write
        allow("iam:PassRole"),  # PW303's finding
        allow("s3:PutObject", "arn:aws:s3:::artifacts/*"),
        {"Effect": "Deny", "Action": "*", "Resource": "*"},
        allow("pricing:*"),  # a service with no write actions
    ],
)
def test_pw302_accepts(statement: dict[str, Any]) -> None:
    assert role_wildcard_permissions.assess(one_statement(statement)) == ([], [])


def test_pw302_unresolved_and_unknown_parts_are_open() -> None:
    stmt = one_statement(allow([Unresolved("!Ref Actions", "parameter `Actions` has no default")]))
    issues, opens = role_wildcard_permissions.assess(stmt)
    assert issues == []
    assert "unresolved action" in opens[0]
    _, opens = role_wildcard_permissions.assess(one_statement(allow("newservice:*")))
    assert "not in the IAM action database" in opens[0]
    _, opens = role_wildcard_permissions.assess(
        one_statement(allow("s3:PutObject", [Unresolved("!ImportValue bucket", "imported")]))
    )
    assert "unresolved `Resource`" in opens[0]


def test_pw302_incomplete_role_is_unknown_and_shared_policy_reported_once() -> None:
    p = pipeline(source_stage(), prod_stage())
    shared = ManagedPolicy(
        f"arn:aws:iam::{ACCT}:policy/shared",
        doc(allow("s3:*")),
        Loc(SOURCE, "/shared", KeyStyle.CLOUDFORMATION),
    )
    roles = (
        Role(PIPELINE_ROLE, "app-pipeline", trust_policy={}, complete=False),
        make_role("app-source", managed_policies=(shared,)),
        make_role("app-deploy", managed_policies=(shared,)),
    )
    findings = run(role_wildcard_permissions.RULE, p, roles=roles)
    unknowns = [f for f in findings if f.status is Status.UNKNOWN]
    fails = [f for f in findings if f.status is Status.FAIL]
    assert len(unknowns) == 1
    assert "some of its policies could not be read" in unknowns[0].message
    # The shared policy is not in a file of this input: each role is reported where it is used.
    assert {f.loc.pointer for f in fails} == {
        "/pipeline/stages/0/actions/0/roleArn",
        "/pipeline/stages/1/actions/0/roleArn",
    }
    # When the policy is in the file, its statement is reported once for both roles.
    fails = [
        f
        for f in run(role_wildcard_permissions.RULE, p, roles=roles, positioned=True)
        if f.status is Status.FAIL
    ]
    (finding,) = fails
    assert finding.loc.pointer == "/shared/PolicyDocument/Statement/0"
    assert "and 1 other role(s)" in finding.message


# -- PW303 ---------------------------------------------------------------------------


def test_pw303_passrole_cases() -> None:
    assess = role_passrole_unscoped.assess
    assert assess(one_statement(allow("iam:PassRole")))[0] is not None
    assert assess(one_statement(allow("iam:Pass*", f"arn:aws:iam::{ACCT}:role/*")))[0] is not None
    assert assess(one_statement(allow("*")))[0] is not None
    scoped = allow("iam:PassRole", role_arn("stack"))
    assert assess(one_statement(scoped)) == (None, None)
    conditioned = allow(
        "iam:PassRole",
        "*",
        Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    )
    assert assess(one_statement(conditioned)) == (None, None)
    not_action = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert assess(one_statement(not_action)) == (None, None)
    issue, _ = assess(one_statement({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}))
    assert issue is not None
    _, open_question = assess(one_statement(allow([Unresolved("!Ref A", "no default")])))
    assert open_question is not None


# -- PW304 ---------------------------------------------------------------------------


def test_pw304_same_provider_same_stage_may_share() -> None:
    shared = role_arn("deployer")
    p = pipeline(
        source_stage(),
        stage(
            "Production",
            action("DeployA", "Deploy", "S3", role=shared),
            action("DeployB", "Deploy", "S3", role=shared),
        ),
    )
    assert run(role_shared_across_actions.RULE, p) == []
    p = pipeline(
        source_stage(),
        stage("Staging", action("Deploy", "Deploy", "S3", role=shared)),
        stage("Production", action("Deploy", "Deploy", "S3", role=shared)),
    )
    (finding,) = run(role_shared_across_actions.RULE, p)
    assert finding.status is Status.FAIL
    assert "stages `Production`, `Staging`" in finding.message


# -- PW305 ---------------------------------------------------------------------------


def _trust_findings(*stmts: dict[str, Any]) -> list[Finding]:
    p = pipeline(
        source_stage(),
        stage(
            "Build",
            action(
                "Build",
                "Build",
                "CodeBuild",
                role=role_arn("app-build"),
                configuration={"ProjectName": "b"},
            ),
        ),
    )
    roles = (make_role("app-source"), make_role("app-build", trust=doc(*stmts)))
    return run(role_trust_too_broad.RULE, p, roles=roles)


def _trust(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


@pytest.mark.parametrize(
    ("principal", "condition", "expected"),
    [
        ({"AWS": PIPELINE_ROLE}, None, None),
        ({"AWS": f"arn:aws:iam::{ACCT}:root"}, None, Status.FAIL),
        ({"AWS": ACCT}, None, Status.FAIL),
        (
            {"AWS": f"arn:aws:iam::{ACCT}:root"},
            {"ArnEquals": {"aws:PrincipalArn": PIPELINE_ROLE}},
            None,
        ),
        ({"AWS": f"arn:aws:iam::{ACCT}:root"}, {"StringEquals": {"aws:SourceAccount": ACCT}}, None),
        (
            {"AWS": "arn:aws:iam::444455556666:root"},
            {"StringEquals": {"aws:SourceAccount": ACCT}},
            Status.FAIL,
        ),
        ({"AWS": role_arn("developer")}, None, Status.FAIL),
        ("*", None, Status.FAIL),
        ({"Service": "codepipeline.amazonaws.com"}, None, Status.FAIL),
        (
            {"Service": "codepipeline.amazonaws.com"},
            {"ArnLike": {"aws:SourceArn": "arn:aws:codepipeline:*"}},
            None,
        ),
        (
            {"Service": "codebuild.amazonaws.com"},
            {"StringEquals": {"aws:SourceAccount": ACCT}},
            Status.FAIL,
        ),
        (
            {
                "Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
            },
            None,
            Status.FAIL,
        ),
        ({"AWS": Unresolved("!ImportValue ci-role", "imported")}, None, Status.UNKNOWN),
    ],
)
def test_pw305_trust_shapes(principal: Any, condition: Any, expected: Status | None) -> None:
    extra = {"Condition": condition} if condition else {}
    findings = _trust_findings(_trust(principal, **extra))
    if expected is None:
        assert findings == []
    else:
        assert statuses(findings) == {expected}


def test_pw305_only_assume_statements_count() -> None:
    tag_only = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:TagSession"}
    assert _trust_findings(_trust({"AWS": PIPELINE_ROLE}), tag_only) == []
    web_identity = {
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }
    assert statuses(_trust_findings(web_identity)) == {Status.FAIL}


# -- PW306 and production classification ----------------------------------------------


def test_pw306_production_by_account() -> None:
    prod_role = "arn:aws:iam::444455556666:role/deployer"
    p = pipeline(
        source_stage(),
        stage(
            "Release",
            action("DeployUs", "Deploy", "S3", role=prod_role),
            action("DeployEu", "Deploy", "S3", role=prod_role),
        ),
    )
    assert run(stage_multiple_prod_deploys.RULE, p) == []
    config = Config(production_accounts=frozenset({"444455556666"}))
    (finding,) = run(stage_multiple_prod_deploys.RULE, p, config=config)
    assert finding.status is Status.FAIL
    assert finding.loc.pointer == "/pipeline/stages/1"


# -- PW307 ---------------------------------------------------------------------------


def test_pw307_equivalents_and_unread_policies() -> None:
    p = pipeline(source_stage(), prod_stage())
    admin_inline = make_role("app-source", inline={"all": doc(allow("*:*"))})
    aws_managed = ManagedPolicy("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    customer = ManagedPolicy(f"arn:aws:iam::{ACCT}:policy/deploy-extra")
    roles = (
        Role(PIPELINE_ROLE, "app-pipeline", trust_policy={}, managed_policies=(aws_managed,)),
        admin_inline,
        make_role("app-deploy", managed_policies=(customer,)),
    )
    findings = run(role_admin_attached.RULE, p, roles=roles)
    by_status = {f.status: f for f in findings}
    assert set(by_status) == {Status.FAIL, Status.UNKNOWN}
    assert "allows `*` on `*`" in by_status[Status.FAIL].message
    assert "`deploy-extra` was not read" in by_status[Status.UNKNOWN].message


# -- PW308 and PW309 -------------------------------------------------------------------


def _approval_pipeline() -> Pipeline:
    return pipeline(
        source_stage(), stage("Approve", action("Release", "Approval", "Manual")), prod_stage()
    )


def _approver(
    *stmts: dict[str, Any], principal: str = f"arn:aws:iam::{ACCT}:user/alice"
) -> IdentityPolicy:
    return IdentityPolicy(principal, "user", "approve", doc(*stmts))


def test_pw308_resource_must_match_this_pipeline() -> None:
    other = _approver(
        allow("codepipeline:PutApprovalResult", f"arn:aws:codepipeline:*:{ACCT}:other/*")
    )
    assert (
        run(approvers_without_mfa.RULE, _approval_pipeline(), identity=(other,), complete=True)
        == []
    )
    mine = _approver(allow("codepipeline:*", f"arn:aws:codepipeline:us-east-1:{ACCT}:app/*"))
    (finding,) = run(
        approvers_without_mfa.RULE, _approval_pipeline(), identity=(mine,), complete=True
    )
    assert finding.status is Status.FAIL
    assert "user `arn:aws:iam::111122223333:user/alice`" in finding.message


def test_pw308_pw309_ignore_principals_of_other_accounts() -> None:
    # CodePipeline has no resource policies: a principal of another account in the
    # same organisation snapshot cannot approve or override this pipeline.
    foreign = "arn:aws:iam::444455556666:user/mallory"
    approver = _approver(allow("codepipeline:PutApprovalResult"), principal=foreign)
    assert (
        run(approvers_without_mfa.RULE, _approval_pipeline(), identity=(approver,), complete=True)
        == []
    )
    overrider = _approver(allow("codepipeline:UpdatePipeline"), principal=foreign)
    assert (
        run(
            condition_override_allowed.RULE,
            _approval_pipeline(),
            identity=(overrider,),
            complete=True,
        )
        == []
    )
    local = _approver(allow("codepipeline:UpdatePipeline"))
    assert statuses(
        run(condition_override_allowed.RULE, _approval_pipeline(), identity=(local,), complete=True)
    ) == {Status.FAIL}


def test_pw308_mfa_conditions() -> None:
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    ok = _approver(allow("codepipeline:PutApprovalResult", Condition=mfa))
    assert (
        run(approvers_without_mfa.RULE, _approval_pipeline(), identity=(ok,), complete=True) == []
    )
    age = _approver(
        allow(
            "codepipeline:PutApprovalResult",
            Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        )
    )
    assert (
        run(approvers_without_mfa.RULE, _approval_pipeline(), identity=(age,), complete=True) == []
    )
    if_exists = _approver(
        allow(
            "codepipeline:PutApprovalResult",
            Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
        )
    )
    assert statuses(
        run(approvers_without_mfa.RULE, _approval_pipeline(), identity=(if_exists,), complete=True)
    ) == {Status.FAIL}
    denied = _approver(
        allow("codepipeline:PutApprovalResult"),
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    )
    assert (
        run(approvers_without_mfa.RULE, _approval_pipeline(), identity=(denied,), complete=True)
        == []
    )


def test_pw308_partial_view_is_unknown_not_pass() -> None:
    (finding,) = run(approvers_without_mfa.RULE, _approval_pipeline(), complete=False)
    assert finding.status is Status.UNKNOWN
    assert "only the principals in this input were seen" in finding.message
    # Roles of the pipeline count as identities too: a build role that can approve fails.
    build = make_role("app-source", inline={"ci": doc(allow("codepipeline:PutApprovalResult"))})
    (finding,) = run(approvers_without_mfa.RULE, _approval_pipeline(), roles=(build,))
    assert finding.status is Status.FAIL
    assert "role `arn:aws:iam::111122223333:role/app-source`" in finding.message


def test_pw309_break_glass_by_arn_or_name() -> None:
    grant = IdentityPolicy(
        role_arn("ops"), "role", "ops", doc(allow("codepipeline:UpdatePipeline"))
    )
    p = _approval_pipeline()
    (finding,) = run(condition_override_allowed.RULE, p, identity=(grant,), complete=True)
    assert finding.status is Status.FAIL
    for entry in (role_arn("ops"), "ops"):
        config = Config(rules={"PW309": RuleSettings(options={"break_glass": [entry]})})
        assert (
            run(condition_override_allowed.RULE, p, identity=(grant,), complete=True, config=config)
            == []
        )
    # an unrelated pipeline ARN in the Resource does not grant anything here
    other = IdentityPolicy(
        role_arn("ops"),
        "role",
        "ops",
        doc(allow("codepipeline:*", f"arn:aws:codepipeline:us-east-1:{ACCT}:other")),
    )
    assert run(condition_override_allowed.RULE, p, identity=(other,), complete=True) == []


def test_pw309_statement_with_unresolved_resource_is_unknown() -> None:
    grant = IdentityPolicy(
        role_arn("ops"),
        "role",
        "ops",
        doc(allow("codepipeline:UpdatePipeline", [Unresolved("!ImportValue arn", "imported")])),
    )
    (finding,) = run(
        condition_override_allowed.RULE, _approval_pipeline(), identity=(grant,), complete=True
    )
    assert finding.status is Status.UNKNOWN
    assert "unresolved parts" in finding.message


# -- PW402-PW406 ------------------------------------------------------------------------


def test_pw402_gate_needs_fail_and_rules() -> None:
    gate = {
        "beforeEntry": {
            "conditions": [
                {
                    "result": "FAIL",
                    "rules": [
                        {
                            "name": "Window",
                            "ruleTypeId": {"category": "Rule", "provider": "DeploymentWindow"},
                            "configuration": {"Cron": "0 0 9-17 ? * MON-FRI *"},
                        }
                    ],
                }
            ]
        }
    }
    assert run(prod_stage_no_entry_gate.RULE, pipeline(source_stage(), prod_stage(**gate))) == []
    empty = {"beforeEntry": {"conditions": [{"result": "FAIL", "rules": []}]}}
    (finding,) = run(prod_stage_no_entry_gate.RULE, pipeline(source_stage(), prod_stage(**empty)))
    assert finding.status is Status.FAIL
    assert finding.loc.pointer == "/pipeline/stages/1/beforeEntry"
    # non-production stages are not reported
    staging = stage("Staging", action("Deploy", "Deploy", "S3", role=role_arn("app-deploy")))
    assert run(prod_stage_no_entry_gate.RULE, pipeline(source_stage(), staging)) == []


def test_pw403_approval_must_come_before() -> None:
    after = pipeline(
        source_stage(), prod_stage(), stage("Approve", action("Approve", "Approval", "Manual"))
    )
    (finding,) = run(prod_without_approval.RULE, after)
    assert finding.status is Status.FAIL
    assert finding.loc.pointer == "/pipeline/stages/1/actions/0"


def test_pw404_unresolved_result_is_unknown() -> None:
    cond = {
        "beforeEntry": {
            "conditions": [
                {"result": Unresolved("!If [IsProd, FAIL, SKIP]", "branches differ"), "rules": []}
            ]
        }
    }
    (finding,) = run(condition_weak.RULE, pipeline(source_stage(), prod_stage(**cond)))
    assert finding.status is Status.UNKNOWN
    assert finding.loc.pointer == "/pipeline/stages/1/beforeEntry/conditions/0/result"


@pytest.mark.parametrize(
    ("function", "qualifier", "reason"),
    [
        ("gate", None, "has no version qualifier"),
        ("gate:7", "7", None),
        ("gate:$LATEST", "$LATEST", "uses `$LATEST`"),
        ("gate:live", "live", "uses the alias `live`"),
        (f"arn:aws:lambda:us-east-1:{ACCT}:function:gate", None, "has no version qualifier"),
        (f"arn:aws:lambda:us-east-1:{ACCT}:function:gate:12", "12", None),
        (f"arn:aws:lambda:us-east-1:{ACCT}:function:gate:prod", "prod", "uses the alias `prod`"),
        (f"{ACCT}:function:gate:3", "3", None),
        (f"{ACCT}:function:gate", None, "has no version qualifier"),
        # Template ARNs: placeholders hold colons; a !Ref to an AWS::Lambda::Version is pinned.
        (
            "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:gate:${GateVersion.Version}",
            "${GateVersion.Version}",
            None,
        ),
        (
            "arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:gate",
            None,
            "has no version qualifier",
        ),
    ],
)
def test_lambda_qualifiers(function: str, qualifier: str | None, reason: str | None) -> None:
    assert lambda_qualifier(function) == qualifier
    found = unpinned_reason(function)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(reason)


def test_pw405_conditions_without_result_count() -> None:
    alarm = {
        "onFailure": {
            "conditions": [
                {
                    "result": "ROLLBACK",
                    "rules": [
                        {
                            "name": "Alarm",
                            "ruleTypeId": {"category": "Rule", "provider": "CloudWatchAlarm"},
                            "configuration": {"AlarmName": "5xx"},
                        }
                    ],
                }
            ]
        }
    }
    assert run(prod_no_rollback.RULE, pipeline(source_stage(), prod_stage(**alarm))) == []
    fail_result = {"onFailure": {"result": "fail"}}
    assert run(prod_no_rollback.RULE, pipeline(source_stage(), prod_stage(**fail_result))) == []


def test_pw406_only_v2_pipelines_with_triggers() -> None:
    unfiltered = [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {
                "sourceActionName": "Source",
                "push": [{"filePaths": {"includes": ["**"]}}],
            },
        }
    ]
    v1 = pipeline(source_stage(), prod_stage(), triggers=unfiltered, pipelineType="V1")
    assert run(trigger_unfiltered.RULE, v1) == []
    # Triggers are a V2 parameter: with no stated type they make the pipeline V2.
    untyped = pipeline(source_stage(), prod_stage(), triggers=unfiltered)
    assert [f.status for f in run(trigger_unfiltered.RULE, untyped)] == [Status.FAIL]
    v2 = pipeline(source_stage(), prod_stage(), triggers=unfiltered, pipelineType="V2")
    (finding,) = run(trigger_unfiltered.RULE, v2)
    assert finding.status is Status.FAIL
    assert finding.loc.pointer == "/pipeline/triggers/0/gitConfiguration/push/0"
    tags = [
        {
            "providerType": "CodeStarSourceConnection",
            "gitConfiguration": {
                "sourceActionName": "Source",
                "push": [{"tags": {"includes": ["v*"]}}],
            },
        }
    ]
    assert (
        run(
            trigger_unfiltered.RULE,
            pipeline(source_stage(), prod_stage(), triggers=tags, pipelineType="V2"),
        )
        == []
    )
