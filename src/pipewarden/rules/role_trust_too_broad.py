"""Detects action roles that can be assumed by principals other than the pipeline's service role.

## Rationale
CodePipeline runs an action with its `roleArn` by assuming it with the
pipeline service role. Any other principal the role trusts can act as the
action outside the pipeline, without its gates or approvals: a developer
role deploying straight to production, another account, or every principal
of an account when the trust names the account root without a condition.
PipeWarden accepts exactly two trust shapes for an action (or gate rule)
role: the pipeline's service role ARN, and the pipeline's account root
restricted by an `aws:SourceArn`, `aws:SourceAccount` or `aws:PrincipalArn`
condition.

A `Service` principal is also reported: CodePipeline never assumes an action
role as `codepipeline.amazonaws.com` (the pipeline role does), so trusting the
service only widens who can use the role. It is accepted when confused-deputy
conditions (`aws:SourceArn` or `aws:SourceAccount`) limit it to this account's
pipelines; any other service, federated principals, `*` (unless restricted by
`aws:PrincipalArn`) and `NotPrincipal` fail.

## Remediation
Set the role's `AssumeRolePolicyDocument` to a single statement allowing
`sts:AssumeRole` to the pipeline service role ARN (`Principal: {AWS:
!GetAtt PipelineRole.Arn}`); for cross-account deploy roles, name the
pipeline role of the tooling account. When the account root must be named,
add `"Condition": {"ArnEquals": {"aws:PrincipalArn": "<pipeline role ARN>"}}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Gap, Role, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import located
from pipewarden.rules._iam import (
    RoleUse,
    covers_action,
    decode_document,
    describe_uses,
    document_gap,
    positioned,
    role_name,
    role_uses,
    trust_loc,
)
from pipewarden.rules._policy import Statement, statements

META = RuleMeta(
    id="PW305",
    slug="role-trust-too-broad",
    title="An action role trusts principals other than the pipeline service role",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_2,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
    ),
    needs=frozenset({"role"}),
)

ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML")
PIPELINE_SERVICE = "codepipeline.amazonaws.com"
_ROOT_CONDITIONS = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:principalarn"})
_SERVICE_CONDITIONS = frozenset({"aws:sourcearn", "aws:sourceaccount"})


class _Judge:
    """Compares trust principals with the pipeline's service role and account."""

    def __init__(self, ctx: RuleContext) -> None:
        self.pipeline_role = ctx.pipeline.role_arn
        self.account = ctx.pipeline_account

    def root_forms(self) -> tuple[str, ...] | None:
        if not isinstance(self.account, str):
            return None
        partition = "aws"
        if isinstance(self.pipeline_role, str) and self.pipeline_role.startswith("arn:"):
            partition = self.pipeline_role.split(":")[1] or "aws"
        return (f"arn:{partition}:iam::{self.account}:root", self.account)

    def aws_principal(self, value: object, stmt: Statement) -> tuple[str | None, str | None]:
        """(problem, open question) for one ``AWS`` principal value."""
        if isinstance(value, Unresolved):
            return None, f"principal `{value.expr}` is unresolved ({value.reason})"
        if not isinstance(value, str):
            return None, None
        keys = stmt.condition_keys()
        if value == "*":
            if "aws:principalarn" in keys:
                return None, None
            return "every principal (`*`)", None
        if isinstance(self.pipeline_role, str) and value == self.pipeline_role:
            return None, None
        roots = self.root_forms()
        if roots is not None and value in roots:
            if keys & _ROOT_CONDITIONS:
                return None, None
            return (
                f"the account root `{value}` without an `aws:SourceArn`/`aws:SourceAccount` condition",
                None,
            )
        if roots is None and (value.endswith(":root") or value.isdigit()):
            return None, f"the pipeline's account is not known, so `{value}` cannot be compared"
        if not isinstance(self.pipeline_role, str) and ":role/" in value:
            return None, "the pipeline service role ARN is not known"
        return f"`{value}`", None

    def statement(self, stmt: Statement) -> tuple[list[str], list[str]]:
        if not stmt.allows:
            return [], []
        verdicts = [covers_action(stmt, a) for a in ASSUME_ACTIONS]
        if not any(v is not False for v in verdicts):
            return [], []
        if all(v is None or v is False for v in verdicts) and None in verdicts:
            return [], [f"statement {stmt.index} has an unresolved action"]
        problems: list[str] = []
        opens: list[str] = []
        if stmt.not_principals:
            problems.append("every principal outside `NotPrincipal`")
        keys = stmt.condition_keys()
        for kind, values in stmt.principals.items():
            for value in values:
                if kind == "AWS" or kind == "*":
                    problem, question = self.aws_principal(value, stmt)
                elif isinstance(value, Unresolved):
                    problem, question = (
                        None,
                        f"principal `{value.expr}` is unresolved ({value.reason})",
                    )
                elif kind == "Service":
                    if value == PIPELINE_SERVICE and keys & _SERVICE_CONDITIONS:
                        problem, question = None, None
                    elif value == PIPELINE_SERVICE:
                        problem = (
                            f"the service `{value}` without an `aws:SourceArn`/`aws:SourceAccount` "
                            "condition"
                        )
                        question = None
                    else:
                        problem, question = f"the service `{value}`", None
                else:
                    problem, question = f"{kind} principal `{value}`", None
                if problem is not None:
                    problems.append(problem)
                if question is not None:
                    opens.append(question)
        return problems, opens


def _judge_role(judge: _Judge, role: Role) -> tuple[list[str], list[str], Statement | None]:
    """Problems, open questions and the first offending statement of a role's trust."""
    trust = decode_document(role.trust_policy)
    if trust is None:
        return [], ["its trust policy is not known"], None
    gap = document_gap(trust)
    if gap is not None:
        return [], [f"its trust policy cannot be read: {gap}"], None
    problems: list[str] = []
    opens: list[str] = []
    first: Statement | None = None
    for stmt in statements(trust):
        found, unsure = judge.statement(stmt)
        if found and first is None:
            first = stmt
        problems.extend(p for p in found if p not in problems)
        opens.extend(unsure)
    return problems, opens, first


def check(ctx: RuleContext) -> Iterator[Finding]:
    judge = _Judge(ctx)
    groups: dict[str, list[RoleUse]] = {}
    for use in role_uses(ctx, codebuild=False):
        if isinstance(use, RoleUse) and use.kind in ("action", "rule"):
            groups.setdefault(use.key, []).append(use)
    for uses in groups.values():
        first = uses[0]
        kw = located(first.action)
        found = ctx.role(first.arn)
        if isinstance(found, Gap):
            yield unknown(first.loc, f"{describe_uses(uses)}: {found.reason}", **kw)
            continue
        label = f"role `{role_name(found, first.arn)}` ({describe_uses(uses)})"
        problems, opens, stmt = _judge_role(judge, found)
        if problems:
            shown = "; ".join(problems[:3]) + (
                f"; +{len(problems) - 3} more" if len(problems) > 3 else ""
            )
            pipeline_role = judge.pipeline_role if isinstance(judge.pipeline_role, str) else "?"
            yield fail(
                positioned(ctx, trust_loc(found, stmt), first.loc),
                f"{label} trusts more than the pipeline service role `{pipeline_role}`: {shown}",
                **kw,
                evidence={"role": found.arn, "pipelineRole": pipeline_role},
            )
        elif opens:
            yield unknown(
                first.loc, f"{label} trust cannot be judged: {'; '.join(opens[:3])}", **kw
            )


RULE = Rule(META, check, __doc__ or "")
