"""Detects pipeline roles that may pass any role to any service.

## Rationale
`iam:PassRole` lets a principal hand a role to an AWS service: a CodeBuild
project, a Lambda function, an EC2 instance, a CloudFormation stack. A
pipeline, action or build role allowed to pass every role (`Resource: *`,
or a pattern such as `arn:aws:iam::*:role/*`) without an
`iam:PassedToService` condition can launch compute with the most privileged
role in the account and act through it, so code running in a build escalates
to whatever the strongest role can do.

## Remediation
Scope `iam:PassRole` to the ARNs of the roles the action really passes (the
CloudFormation deployment role, the ECS task roles) and add a condition
naming the receiving service:
`"Condition": {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta
from pipewarden.rules._iam import PolicyDoc, Verdict, covers_action, judge_roles
from pipewarden.rules._policy import Statement

META = RuleMeta(
    id="PW303",
    slug="role-passrole-unscoped",
    title="A pipeline role may pass any role without an iam:PassedToService condition",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_5,),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html",
    ),
    needs=frozenset({"role", "codebuild-project"}),
)

PASS_ROLE = "iam:PassRole"  # noqa: S105 - an IAM action name, not a password


def covers_every_role(resource: str) -> bool:
    """Whether a Resource pattern names every role of an account (or of all accounts)."""
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in ("iam", "*"):
        return False
    return parts[5] in ("*", "role/*", "role*", "role/**")


def assess(stmt: Statement) -> tuple[str | None, str | None]:
    """(issue, open question) for one statement."""
    if not stmt.allows:
        return None, None
    covered = covers_action(stmt, PASS_ROLE)
    if covered is False:
        return None, None
    if "iam:passedtoservice" in stmt.condition_keys():
        return None, None
    if stmt.not_resources:
        scope = "every role outside `NotResource`"
    else:
        broad = [r for r in stmt.resources if isinstance(r, str) and covers_every_role(r)]
        if not broad:
            if any(isinstance(r, Unresolved) for r in stmt.resources):
                return None, f"statement {stmt.index} passes roles on an unresolved `Resource`"
            return None, None
        scope = f"`{broad[0]}`"
    if covered is None:
        return None, f"statement {stmt.index} has an unresolved action on {scope}"
    return f"allows `{PASS_ROLE}` on {scope} without an `iam:PassedToService` condition", None


def _judge(doc: PolicyDoc) -> Verdict:
    issues: list[tuple[str, Statement | None]] = []
    opens: list[str] = []
    for stmt in doc.statements():
        issue, unsure = assess(stmt)
        if issue is not None:
            issues.append((issue, stmt))
        if unsure is not None:
            opens.append(unsure)
    return issues, opens


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from judge_roles(ctx, _judge)


RULE = Rule(META, check, __doc__ or "")
