"""Detects pull-request triggers that run a build whose buildspec comes from the pull request.

## Rationale
A V2 trigger with `pullRequest` filters starts the pipeline on pull-request
events: the source artifact is the head of the pull request, written by
whoever opened it, before anyone reviewed it. When a CodeBuild action then
reads its buildspec from that artifact (the project has no inline buildspec,
or names a file such as `buildspec.yml`, and the action has no inline
`BuildspecOverride`), the pull-request author decides what commands run,
with the build's service role, its secrets and its network access. This is
poisoned pipeline execution: one pull request from a fork or a compromised
contributor account is enough.

A build counts when its primary input (`PrimarySource`, or its only input) is
an output artifact of the action the pull-request trigger starts.

## Remediation
Keep the commands of pull-request builds out of the pull request: give the
CodeBuild project an inline `BuildSpec` (CloudFormation `Source.BuildSpec`,
Terraform `source { buildspec = <<EOF ... EOF }`), or an inline
`BuildspecOverride` in the action's configuration, or a buildspec stored in
S3 (`arn:aws:s3:::bucket/key`) that only the platform team can write. Run
pull-request validation in a separate pipeline whose roles have no deploy
permissions and no secrets.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pipewarden.model import Action, Finding, Gap, Severity, Trigger, Unresolved, Value
from pipewarden.rules._api import (
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    at_action,
    fail,
    is_inline_buildspec,
    unknown,
)

META = RuleMeta(
    id="PW106",
    slug="pull-request-build-untrusted",
    title="Pull-request trigger runs a build with a buildspec from the pull request",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_4,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-filter.html",
        "https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html",
        "https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-04-Poisoned-Pipeline-Execution",
    ),
    needs=frozenset({"codebuild-project"}),
)

DEFAULT_BUILDSPEC: Final = "buildspec.yml"


def _primary_input(action: Action) -> Value | None:
    """The artifact a CodeBuild action reads its buildspec from."""
    primary = action.config("PrimarySource")
    if primary is not None:
        return primary
    return action.input_artifacts[0] if action.input_artifacts else None


def _from_source(spec: Value | None) -> bool | Unresolved:
    """Whether a buildspec setting means "read a file from the primary source"."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return True
    if isinstance(spec, Unresolved):
        return spec
    return not is_inline_buildspec(spec) and not spec.startswith("arn:aws:s3:::")


def _buildspec(ctx: RuleContext, action: Action) -> tuple[str, str | None]:
    """(``"source"``, file) when the buildspec is read from the source artifact,
    (``"safe"``, None) when not, (``"unknown"``, reason) when it cannot be told."""
    override = action.config("BuildspecOverride")
    if override is not None:
        verdict = _from_source(override)
        if isinstance(verdict, Unresolved):
            return (
                "unknown",
                f"`BuildspecOverride` is unresolved ({verdict.expr}): {verdict.reason}",
            )
        return ("source", str(override)) if verdict else ("safe", None)
    project = ctx.codebuild_project(action)
    if project is None:
        return "safe", None
    if isinstance(project, Gap):
        return "unknown", project.reason
    verdict = _from_source(project.buildspec)
    if isinstance(verdict, Unresolved):
        return (
            "unknown",
            f"the buildspec of project `{project.name}` is unresolved: {verdict.reason}",
        )
    if verdict:
        spec = project.buildspec
        return "source", spec.strip() if isinstance(
            spec, str
        ) and spec.strip() else DEFAULT_BUILDSPEC
    return "safe", None


def _check_trigger(ctx: RuleContext, trigger: Trigger) -> Iterator[Finding]:
    source = next(
        (a for a in ctx.actions(category="Source") if a.name == trigger.source_action_name), None
    )
    if source is None:
        return
    artifacts = set(source.output_artifacts)
    for action in ctx.actions(provider="CodeBuild"):
        if action.category not in ("Build", "Test"):
            continue
        primary = _primary_input(action)
        if isinstance(primary, Unresolved):
            if not artifacts & set(action.input_artifacts):
                continue
        elif primary not in artifacts:
            continue
        status, detail = _buildspec(ctx, action)
        where = f"{action.category} action `{action.name}` in stage `{action.stage_name}`"
        loc = action.loc / "configuration"
        if status == "source":
            key = (
                "BuildspecOverride"
                if action.config("BuildspecOverride") is not None
                else "ProjectName"
            )
            yield fail(
                loc.raw(key),
                f"{where} runs buildspec `{detail}` from the output of `{source.name}`, which "
                f"a pull-request trigger fills with unreviewed code",
                **at_action(action),
                evidence={
                    "trigger": str(trigger.loc / "gitConfiguration" / "pullRequest"),
                    "buildspec": str(detail),
                },
            )
        elif status == "unknown":
            yield unknown(
                loc.raw("ProjectName"),
                f"{where} builds the output of `{source.name}`, which a pull-request trigger "
                f"fills: {detail}",
                stage=action.stage_name,
                action=action.name,
            )


def check(ctx: RuleContext) -> Iterator[Finding]:
    if ctx.pipeline.pipeline_type == "V1":
        return
    for trigger in ctx.pipeline.triggers:
        if trigger.pull_request:
            yield from _check_trigger(ctx, trigger)


RULE = Rule(META, check, __doc__ or "")
