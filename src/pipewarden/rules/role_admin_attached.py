"""Detects administrator access on a pipeline, action or CodeBuild role.

## Rationale
A role with `AdministratorAccess`, or any policy allowing `*` on `*`, makes
every step that runs under it an account administrator: a malicious
dependency in a build, a poisoned buildspec or a compromised third-party
action can create users, disable CloudTrail and reach every other
workload of the account. Pipelines are the most attacked path into an
account precisely because they so often hold these rights.

PipeWarden recognises the AWS-managed `AdministratorAccess` policy by ARN and
any inline or customer-managed statement that allows `*` (or `*:*`) on
`Resource: *`. Other AWS-managed policies are never `*` on `*`, so they are
not read; a customer-managed policy whose content is not in the input leaves
the result unknown.

## Remediation
Detach `AdministratorAccess` (CloudFormation `ManagedPolicyArns`, Terraform
`aws_iam_role_policy_attachment`) and grant only the actions each role uses,
scoped to the pipeline's resources. For CloudFormation deployments, give the
stack's `RoleArn` the permissions of the resources the template manages,
optionally under a permissions boundary.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta
from pipewarden.rules._iam import (
    PolicyDoc,
    Verdict,
    is_admin_policy_arn,
    judge_roles,
    resource_is_everything,
)
from pipewarden.rules._policy import Statement

META = RuleMeta(
    id="PW307",
    slug="role-admin-attached",
    title="A pipeline, action or CodeBuild role has administrator access",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_5,),
    references=(
        "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
    ),
    needs=frozenset({"role", "codebuild-project"}),
)


def _aws_managed(doc: PolicyDoc) -> bool:
    return doc.managed_arn is not None and ":iam::aws:policy/" in doc.managed_arn


def _unread_is_known(doc: PolicyDoc) -> bool:
    """An unread AWS-managed policy other than AdministratorAccess is not `*` on `*`."""
    return _aws_managed(doc) and not is_admin_policy_arn(doc.managed_arn or "")


def _judge(doc: PolicyDoc) -> Verdict:
    issues: list[tuple[str, Statement | None]] = []
    opens: list[str] = []
    if doc.managed_arn is not None and is_admin_policy_arn(doc.managed_arn):
        return [(f"has `{doc.managed_arn}` attached", None)], []
    for stmt in doc.statements():
        if not stmt.allows or stmt.not_actions:
            continue
        star = any(isinstance(a, str) and a.lower() in ("*", "*:*") for a in stmt.actions)
        unresolved_action = any(isinstance(a, Unresolved) for a in stmt.actions)
        everything = resource_is_everything(stmt)
        if star and everything is True:
            issues.append(("allows `*` on `*`", stmt))
        elif (star or unresolved_action) and everything is not False:
            opens.append(f"statement {stmt.index} may allow `*` on `*` (unresolved parts)")
    return issues, opens


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from judge_roles(ctx, _judge, unread_is_known=_unread_is_known)


RULE = Rule(META, check, __doc__ or "")
