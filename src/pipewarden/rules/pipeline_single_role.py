"""Detects actions that run under the pipeline service role instead of a role of their own.

## Rationale
An action without `roleArn` runs with the pipeline service role, so every
action of the pipeline holds the union of the permissions that any of them
needs: the source action can deploy, the build can approve its own release,
and code running in a build (or a compromised third-party action) inherits
rights to every stage, artifact and deployment target. CodePipeline assumes
a per-action role through the pipeline role, which lets each action hold only
what it uses. Manual approval actions need no AWS permissions and are not
reported.

## Remediation
Give each action that calls AWS its own least-privilege role with
`roleArn` (CloudFormation `RoleArn` on the action, Terraform `role_arn` in the
`action` block), trusted only by the pipeline service role, and remove the
action's permissions from the pipeline service role. A CodeBuild project's
own `ServiceRole` still governs what the build itself can do.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail
from pipewarden.rules._gates import located

META = RuleMeta(
    id="PW301",
    slug="pipeline-single-role",
    title="Actions run under the pipeline service role instead of their own role",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_5,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html",
    ),
)


def needs_permissions(category: str, provider: str) -> bool:
    """Every action needs AWS permissions except a Manual approval."""
    return not (category == "Approval" and provider == "Manual")


def check(ctx: RuleContext) -> Iterator[Finding]:
    pipeline_role = ctx.pipeline.role_arn
    role_text = (
        f"`{pipeline_role}`"
        if isinstance(pipeline_role, str)
        else "(unresolved)"
        if isinstance(pipeline_role, Unresolved)
        else "(not declared)"
    )
    for action in ctx.actions():
        if not needs_permissions(action.category, action.provider):
            continue
        where = f"{action.category} action `{action.name}` in stage `{action.stage_name}`"
        if action.role_arn is None:
            yield fail(
                action.loc,
                f"{where} has no `roleArn`, so it runs under the pipeline service role {role_text}",
                **located(action),
                evidence={"pipelineRole": str(pipeline_role or "")},
            )
        elif isinstance(action.role_arn, str) and action.role_arn == pipeline_role:
            yield fail(
                action.loc / "roleArn",
                f"{where} names the pipeline service role {role_text} as its `roleArn`",
                **located(action),
                evidence={"pipelineRole": action.role_arn},
            )


RULE = Rule(META, check, __doc__ or "")
