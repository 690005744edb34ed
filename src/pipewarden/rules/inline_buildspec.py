"""Detects CodeBuild projects used by a pipeline that keep their buildspec inline.

## Rationale
A buildspec kept inline in the project definition can be changed with
`codebuild:UpdateProject` (or in the console) by anyone holding that
permission, outside the repository's review and history, and the next
pipeline run executes it with the project's role and secrets. A buildspec
file in a reviewed repository (or a version-pinned S3 object) keeps the
commands under change control.

An inline `BuildspecOverride` in the pipeline action is not reported: it is
part of the pipeline declaration itself, which is what PipeWarden scans on
every change and watches for drift, and it is where a hardened pipeline
keeps the commands of its verification actions. A project whose buildspec
is overridden by every action that uses it is not judged on its own
buildspec.

## Remediation
Move the commands to a `buildspec.yml` in a repository whose changes are
reviewed (a separate build-definitions repository when the application
repository is untrusted), and set `Source.BuildSpec` to its path or remove
it; or keep short, fixed commands (such as a verifier) in the pipeline
action's `BuildspecOverride`. Restrict `codebuild:UpdateProject` to the
deployment role of the infrastructure pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Gap, Severity, Unresolved
from pipewarden.rules._api import (
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    fail,
    is_inline_buildspec,
    unknown,
)
from pipewarden.rules._build import ProjectUse, who_of

META = RuleMeta(
    id="PW701",
    slug="inline-buildspec",
    title="CodeBuild project keeps its buildspec inline, outside source review",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_4, CicdSec.SEC_7),
    references=(
        "https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html",
    ),
    needs=frozenset({"codebuild-project"}),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    seen: set[str] = set()
    for action in ctx.actions():
        if action.owner != "AWS" or action.provider != "CodeBuild":
            continue
        who = who_of(action)
        where = f"action `{action.name}` in stage `{action.stage_name}`"
        override = action.config("BuildspecOverride")
        override_loc = action.loc / "configuration" / "BuildspecOverride"
        if isinstance(override, Unresolved):
            yield unknown(
                override_loc,
                f"`BuildspecOverride` of {where} is unresolved: {override.reason}",
                **who,
            )
            continue
        if override is not None:
            continue  # the project's own buildspec is not used by this action
        project = ctx.codebuild_project(action)
        if project is None:
            continue
        key = project.resource if isinstance(project, Gap) else project.name
        if key in seen:
            continue
        seen.add(key)
        if isinstance(project, Gap):
            yield unknown(
                action.loc / "configuration" / "ProjectName",
                f"CodeBuild project of {where} is not known: {project.reason}",
                **who,
            )
            continue
        use = ProjectUse(action, project)
        loc = use.at(ctx, "Source", "BuildSpec")
        spec = project.buildspec
        if isinstance(spec, Unresolved):
            yield unknown(
                loc,
                f"the buildspec of CodeBuild project `{project.name}` is unresolved: {spec.reason}",
                **who,
            )
        elif spec is not None and is_inline_buildspec(spec):
            yield fail(loc, f"CodeBuild project `{project.name}` keeps its buildspec inline", **who)


RULE = Rule(META, check, __doc__ or "")
