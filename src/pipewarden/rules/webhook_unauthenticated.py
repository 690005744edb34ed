"""Detects unauthenticated pipeline webhooks and unanchored CodeBuild webhook filters.

## Rationale
A pipeline webhook (`AWS::CodePipeline::Webhook`, `PutWebhook`) with
`Authentication: UNAUTHENTICATED` starts the pipeline for anyone who learns
its URL: no HMAC secret and no source-IP check stands between the internet
and a pipeline run, so anyone can start builds and deployments at will,
replay old events, or exhaust build capacity.

CodeBuild webhooks decide who may start a build with filter groups. The
`ACTOR_ACCOUNT_ID`, `HEAD_REF` and `BASE_REF` patterns are regular
expressions matched anywhere in the value unless anchored: `12345` also
matches the account id `9912345`, and `refs/heads/main` also matches
`refs/heads/attacker/refs/heads/main`. An unanchored actor filter is how a
fork's pull request gets built with the project's role and secrets. The
rule reports the webhooks of every CodeBuild project the pipeline uses
(actions and condition rules). Patterns that exclude (`excludeMatchedPattern`)
are not reported: an unanchored exclusion only excludes more.

Pipeline webhooks are expected for event-driven `ThirdParty` and `Custom`
source actions (`PollForSourceChanges: false`); when the input does not hold
the webhook for such an action the result is unknown.

## Remediation
Set `Authentication: GITHUB_HMAC` with a `SecretToken` from Secrets Manager
(or `IP` with `AllowedIPRange`) on pipeline webhooks; better, move the source
to CodeConnections, which needs no webhook. Anchor every CodeBuild
`ACTOR_ACCOUNT_ID`, `HEAD_REF` and `BASE_REF` pattern as `^...$`, grouping
alternatives: `^(12345|67890)$`, `^refs/heads/main$`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pipewarden.model import (
    CodeBuildProject,
    Finding,
    Gap,
    Loc,
    Pipeline,
    PipelineWebhook,
    Severity,
    Unresolved,
    Value,
)
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._artifact_store import located

META = RuleMeta(
    id="PW109",
    slug="webhook-unauthenticated",
    title="Webhook is unauthenticated or its actor and ref filters are unanchored",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_7,),
    references=(
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-codepipeline-webhook.html",
        "https://docs.aws.amazon.com/codebuild/latest/userguide/github-webhook.html",
    ),
    needs=frozenset({"webhook", "codebuild-project"}),
)

ANCHORED_FILTERS: Final = frozenset({"ACTOR_ACCOUNT_ID", "HEAD_REF", "BASE_REF"})


def is_anchored(pattern: str) -> bool:
    """Whether a regular expression is anchored at both ends as a whole.

    ``^a|b$`` is not: each alternative is anchored at one end only.
    """
    if not pattern.startswith("^") or not pattern.endswith("$"):
        return False
    if pattern.endswith("\\$") and not pattern.endswith("\\\\$"):
        return False
    depth = 0
    in_class = False
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "|" and depth == 0:
            return False
    return True


def _targets(webhook: PipelineWebhook, pipeline: Pipeline) -> bool | None:
    if isinstance(webhook.target_pipeline, Unresolved) or isinstance(pipeline.name, Unresolved):
        return None
    return webhook.target_pipeline == pipeline.name


def _pipeline_webhooks(ctx: RuleContext) -> Iterator[Finding]:
    pipeline = ctx.pipeline
    targeted: set[str] = set()
    for webhook in ctx.inventory.webhooks:
        aims = _targets(webhook, pipeline)
        if aims is False:
            continue
        loc = located(ctx, webhook.loc, pipeline.loc)
        auth = webhook.authentication
        if aims is None:
            if auth == "UNAUTHENTICATED" or isinstance(auth, Unresolved):
                yield unknown(
                    loc,
                    f"webhook `{webhook.name}` may target this pipeline (its target pipeline is "
                    f"unresolved) and its authentication is `{_text(auth)}`",
                )
            continue
        targeted.add(_text(webhook.target_action))
        if isinstance(auth, Unresolved):
            yield unknown(
                loc,
                f"webhook `{webhook.name}` authentication is unresolved ({auth.expr}): {auth.reason}",
            )
        elif auth.upper() == "UNAUTHENTICATED":
            yield fail(
                loc,
                f"Pipeline webhook `{webhook.name}` starts source action "
                f"`{_text(webhook.target_action)}` with authentication `UNAUTHENTICATED`",
                evidence={"webhook": webhook.name, "authentication": auth},
            )
    for action in ctx.actions(category="Source"):
        if action.owner == "AWS" or action.name in targeted:
            continue
        if str(action.config("PollForSourceChanges") or "").lower() != "false":
            continue
        gap = ctx.inventory.gap("webhook", f"{pipeline.display_name}/{action.name}")
        yield unknown(
            action.loc,
            f"Source action `{action.name}` in stage `{action.stage_name}` is started by a "
            f"webhook that is not known: {gap.reason}",
            stage=action.stage_name,
            action=action.name,
        )


def _text(value: Value) -> str:
    return value.expr if isinstance(value, Unresolved) else value


def _projects(ctx: RuleContext) -> Iterator[tuple[Value, Loc, str | None, str | None]]:
    """(project name, where it is named, stage, action) for every CodeBuild use."""
    for stage in ctx.pipeline.stages:
        for action in stage.actions:
            if action.provider == "CodeBuild":
                name = action.config("ProjectName")
                if name is not None:
                    loc = (action.loc / "configuration").raw("ProjectName")
                    yield name, loc, stage.name, action.name
        for conditions in (stage.before_entry, stage.on_success, stage.on_failure):
            for condition in conditions.conditions if conditions else ():
                for rule in condition.rules:
                    name = rule.configuration.get("ProjectName")
                    if rule.provider == "CodeBuild" and name is not None:
                        loc = (rule.loc / "configuration").raw("ProjectName")
                        yield name, loc, stage.name, None


def _unanchored(project: CodeBuildProject) -> list[str]:
    found = []
    for group in project.webhook_filter_groups:
        for kind, pattern, exclude in group.filters:
            if kind.upper() in ANCHORED_FILTERS and not exclude and not is_anchored(pattern):
                found.append(f"{kind.upper()} `{pattern}`")
    return found


def _project_webhooks(ctx: RuleContext) -> Iterator[Finding]:
    seen: set[str] = set()
    for name, ref_loc, stage, action in _projects(ctx):
        key = name.expr if isinstance(name, Unresolved) else name
        if key in seen:
            continue
        seen.add(key)
        if isinstance(name, Unresolved):
            yield unknown(
                ref_loc,
                f"CodeBuild project is unresolved ({name.expr}): {name.reason}",
                stage=stage,
                action=action,
            )
            continue
        project = ctx.inventory.codebuild_project(name)
        if isinstance(project, Gap):
            yield unknown(ref_loc, project.reason, stage=stage, action=action)
            continue
        bad = _unanchored(project)
        if bad:
            yield fail(
                located(ctx, project.webhook_loc or project.loc, ref_loc),
                f"CodeBuild project `{project.name}` has webhook filters that are not anchored "
                f"`^...$`: " + ", ".join(bad),
                stage=stage,
                action=action,
                evidence={"project": project.name, "filters": "; ".join(bad)},
            )


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from _pipeline_webhooks(ctx)
    yield from _project_webhooks(ctx)


RULE = Rule(META, check, __doc__ or "")
