"""Helpers shared by the third-party, secrets, CodeBuild and image rules (PW5xx-PW8xx).

The CodeBuild projects a pipeline uses (each once, with an ``unknown`` finding
for each project that cannot be read), the location a finding about a
resource attribute should point at, third-party action classification, and
the scripts (inline buildspecs and ``commands``) a pipeline runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

from pipewarden.model import (
    Action,
    CodeBuildProject,
    ConditionRule,
    Finding,
    Gap,
    KeyStyle,
    Loc,
    Stage,
    Unresolved,
)
from pipewarden.rules._api import ActionRef, RuleContext, at_action, is_inline_buildspec, unknown

__all__ = [
    "ProjectUse",
    "RepoUse",
    "Script",
    "Who",
    "attr_loc",
    "condition_rules",
    "ecr_repositories",
    "is_third_party",
    "scripts",
    "type_label",
    "used_projects",
    "who_of",
]


Who = ActionRef
who_of = at_action


THIRD_PARTY_OWNERS: Final = frozenset({"ThirdParty", "Custom"})


def is_third_party(action: Action) -> bool:
    """A ``ThirdParty`` or ``Custom`` action type.

    The GitHub (version 1) source action is owned ``ThirdParty`` but operated
    by AWS; it is the business of PW101/PW102 and is not treated as a
    marketplace or job-worker action here.
    """
    if action.owner not in THIRD_PARTY_OWNERS:
        return False
    return not (
        action.category == "Source" and action.owner == "ThirdParty" and action.provider == "GitHub"
    )


def type_label(action: Action) -> str:
    """``Owner/Provider/Version`` of an action type."""
    tid = action.type_id
    return f"{tid.owner}/{tid.provider}/{tid.version}"


# CloudFormation property names of a CodeBuild project and their Terraform
# (plan JSON) equivalents; nested blocks are one-element lists in Terraform.
_TF_KEYS: Final[dict[str, tuple[str | int, ...]]] = {
    "Environment": ("environment", 0),
    "Image": ("image",),
    "PrivilegedMode": ("privileged_mode",),
    "EnvironmentVariables": ("environment_variable",),
    "Value": ("value",),
    "Source": ("source", 0),
    "BuildSpec": ("buildspec",),
    "Location": ("location",),
    "LogsConfig": ("logs_config", 0),
    "CloudWatchLogs": ("cloudwatch_logs", 0),
    "S3Logs": ("s3_logs", 0),
    "EncryptionDisabled": ("encryption_disabled",),
    "Artifacts": ("artifacts", 0),
    "SecondaryArtifacts": ("secondary_artifacts",),
}


def attr_loc(ctx: RuleContext, resource_loc: Loc | None, fallback: Loc, *cfn_path: str) -> Loc:
    """Where a finding about a resource attribute points.

    A resource defined in a template or plan that has positions is pointed at
    (at ``Properties/<cfn_path>`` in CloudFormation, at the matching attribute
    in a Terraform plan); a resource from a snapshot, which has no position,
    is reported where the pipeline references it (``fallback``).
    """
    if resource_loc is None or resource_loc.subject not in ctx.inventory.positions:
        return fallback
    if not cfn_path:
        return resource_loc
    loc = resource_loc
    if resource_loc.style is KeyStyle.CLOUDFORMATION:
        if not loc.pointer.endswith("/Properties"):
            loc = loc.raw("Properties")
        for key in cfn_path:
            loc = loc.raw(key)
        return loc
    if resource_loc.style is KeyStyle.TERRAFORM:
        for key in cfn_path:
            tokens = (int(key),) if key.isdigit() else _TF_KEYS.get(key)
            if tokens is None:
                return resource_loc
            for token in tokens:
                loc = loc.raw(token)
        return loc
    return resource_loc


@dataclass(frozen=True, slots=True)
class ProjectUse:
    """A CodeBuild project used by the pipeline, with the first action using it."""

    action: Action
    project: CodeBuildProject

    @property
    def ref_loc(self) -> Loc:
        """The action's ``ProjectName`` key."""
        return self.action.loc / "configuration" / "ProjectName"

    def at(self, ctx: RuleContext, *cfn_path: str) -> Loc:
        """The project attribute ``cfn_path`` (or the reference when it has no position)."""
        return attr_loc(ctx, self.project.loc, self.ref_loc, *cfn_path)


_T = TypeVar("_T")


def _memo(ctx: RuleContext, key: str, compute: Callable[[RuleContext], _T]) -> _T:
    """``compute(ctx)`` once per pipeline context (several rules ask the same question)."""
    store = ctx.memo
    if key not in store:
        store[key] = compute(ctx)
    result: _T = store[key]
    return result


def used_projects(ctx: RuleContext) -> tuple[tuple[ProjectUse, ...], tuple[Finding, ...]]:
    """Every CodeBuild project of the pipeline's actions, once each, and an
    ``unknown`` finding for each project that could not be read."""
    return _memo(ctx, "used_projects", _used_projects)


def _used_projects(ctx: RuleContext) -> tuple[tuple[ProjectUse, ...], tuple[Finding, ...]]:
    uses: list[ProjectUse] = []
    gaps: list[Finding] = []
    seen: set[str] = set()
    for action in ctx.actions():
        found = ctx.codebuild_project(action)
        if found is None:
            continue
        if isinstance(found, Gap):
            key = found.resource or f"{action.stage_index}/{action.index}"
            if key in seen:
                continue
            seen.add(key)
            gaps.append(
                unknown(
                    action.loc / "configuration" / "ProjectName",
                    f"CodeBuild project of action `{action.name}` in stage "
                    f"`{action.stage_name}` is not known: {found.reason}",
                    **who_of(action),
                )
            )
            continue
        if found.name in seen:
            continue
        seen.add(found.name)
        uses.append(ProjectUse(action, found))
    return tuple(uses), tuple(gaps)


def condition_rules(ctx: RuleContext) -> Iterator[tuple[Stage, str, ConditionRule]]:
    """Every rule of every stage condition: (stage, ``beforeEntry``/..., rule)."""
    for stage in ctx.pipeline.stages:
        for label, conditions in (
            ("beforeEntry", stage.before_entry),
            ("onSuccess", stage.on_success),
            ("onFailure", stage.on_failure),
        ):
            if conditions is None:
                continue
            for condition in conditions.conditions:
                for rule in condition.rules:
                    yield stage, label, rule


@dataclass(frozen=True, slots=True)
class Script:
    """Commands the pipeline runs: an inline buildspec or a ``commands`` list."""

    label: str  # "inline buildspec of CodeBuild project `x`"
    text: str
    loc: Loc
    stage: str | None = None
    action: str | None = None


def _buildspec_unknown(action: Action, what: str, reason: str) -> Finding:
    return unknown(
        action.loc / "configuration" / "ProjectName",
        f"{what} of action `{action.name}` in stage `{action.stage_name}` {reason}",
        **who_of(action),
    )


def scripts(ctx: RuleContext) -> tuple[list[Script], list[Finding]]:
    """Every script the pipeline runs, and an ``unknown`` finding for each
    buildspec PipeWarden cannot read (from the source repository, from S3, or
    of a project that is not known)."""
    out: list[Script] = []
    gaps: list[Finding] = []
    seen_projects: set[str] = set()
    for action in ctx.actions():
        who = who_of(action)
        where = f"action `{action.name}` in stage `{action.stage_name}`"
        if action.commands:
            for i, line in enumerate(action.commands):
                out.append(
                    Script(
                        f"command {i + 1} of Commands {where}",
                        line,
                        action.loc / "commands" / i,
                        **who,
                    )
                )
        if action.provider != "CodeBuild" or action.owner != "AWS":
            continue
        override = action.config("BuildspecOverride")
        override_loc = action.loc / "configuration" / "BuildspecOverride"
        if isinstance(override, Unresolved):
            gaps.append(
                unknown(
                    override_loc,
                    f"`BuildspecOverride` of {where} is unresolved: {override.reason}",
                    **who,
                )
            )
            continue
        if override is not None:
            if is_inline_buildspec(override):
                out.append(
                    Script(f"inline `BuildspecOverride` of {where}", override, override_loc, **who)
                )
            else:
                gaps.append(
                    unknown(
                        override_loc,
                        f"`BuildspecOverride` of {where} names `{override}`, a buildspec "
                        "PipeWarden cannot read (in the source artifact or S3)",
                        **who,
                    )
                )
            continue
        project = ctx.codebuild_project(action)
        if project is None:
            continue
        if isinstance(project, Gap):
            key = project.resource or f"{action.stage_index}/{action.index}"
            if key not in seen_projects:
                seen_projects.add(key)
                gaps.append(
                    _buildspec_unknown(
                        action, "the CodeBuild project", f"is not known: {project.reason}"
                    )
                )
            continue
        if project.name in seen_projects:
            continue
        seen_projects.add(project.name)
        use = ProjectUse(action, project)
        spec = project.buildspec
        label = f"CodeBuild project `{project.name}`"
        if isinstance(spec, Unresolved):
            gaps.append(
                unknown(
                    use.at(ctx, "Source", "BuildSpec"),
                    f"the buildspec of {label} is unresolved: {spec.reason}",
                    **who,
                )
            )
        elif spec is not None and is_inline_buildspec(spec):
            out.append(
                Script(
                    f"the inline buildspec of {label}",
                    spec,
                    use.at(ctx, "Source", "BuildSpec"),
                    **who,
                )
            )
        else:
            name = spec or "buildspec.yml"
            gaps.append(
                unknown(
                    use.at(ctx, "Source", "BuildSpec") if spec is not None else use.ref_loc,
                    f"{label} reads its buildspec `{name}` from "
                    + ("S3" if name.startswith("arn:aws:s3:::") else "the source artifact")
                    + ", which PipeWarden does not see",
                    **who,
                )
            )
    for stage, label, rule in condition_rules(ctx):
        for i, line in enumerate(rule.commands):
            out.append(
                Script(
                    f"command {i + 1} of {label} rule `{rule.name}` of stage `{stage.name}`",
                    line,
                    rule.loc / "commands" / i,
                    stage=stage.name,
                )
            )
    return out, gaps


@dataclass(frozen=True, slots=True)
class RepoUse:
    """An ECR repository the pipeline reads from or pushes to, where it is named."""

    name: str | Unresolved
    loc: Loc
    action: Action
    image_tag: str | None = None  # the tag an ECR source action follows
    via: str | None = None  # how a build names it, when not an action's configuration

    @property
    def how(self) -> str:
        if self.via is not None:
            return f"{self.via} (used by action `{self.action.name}` in stage `{self.action.stage_name}`) names"
        verb = {"ECR": "follows", "ECRBuildAndPublish": "pushes to", "InspectorScan": "scans"}
        return f"{self.action.provider} action `{self.action.name}` in stage `{self.action.stage_name}` {verb.get(self.action.provider, 'uses')}"


# (provider, configuration key naming the repository)
ECR_ACTIONS: Final = (
    ("ECR", "RepositoryName"),
    ("ECRBuildAndPublish", "ECRRepositoryName"),
    ("InspectorScan", "ECRRepositoryName"),
)


# ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]``
_ECR_URI: Final = re.compile(
    r"(?:\d{12}|\$\{AWS::AccountId\})\.dkr\.ecr\.[^/\s]+\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[A-Za-z0-9][A-Za-z0-9._/-]*)"
)


def ecr_repositories(ctx: RuleContext) -> list[RepoUse]:
    """ECR repositories the pipeline reads from or pushes to.

    Named by ECR source, ECRBuildAndPublish and InspectorScan actions, or by an
    ECR image URI in the environment of a CodeBuild project the pipeline runs
    (the usual way a build is told where to push). Images a deploy action takes
    from an artifact (ECS ``imagedefinitions.json``) are not visible.
    """
    out: list[RepoUse] = []
    for action in ctx.actions():
        if action.owner != "AWS":
            continue
        for provider, key in ECR_ACTIONS:
            if action.provider != provider:
                continue
            value = action.config(key)
            if value is None:
                continue
            tag = action.config("ImageTag")
            if provider == "ECR" and tag is None:
                tag = "latest"
            out.append(
                RepoUse(
                    value,
                    action.loc / "configuration" / key,
                    action,
                    tag if isinstance(tag, str) else None,
                )
            )
    uses, _gaps = used_projects(ctx)
    for use in uses:
        seen: set[str] = set()
        for var in use.project.environment_variables:
            if not isinstance(var.value, str) or var.type != "PLAINTEXT":
                continue
            match = _ECR_URI.search(var.value)
            if match is None or match.group("repo") in seen:
                continue
            seen.add(match.group("repo"))
            loc = (
                var.loc
                if var.loc is not None and var.loc.subject in ctx.inventory.positions
                else use.ref_loc
            )
            out.append(
                RepoUse(
                    match.group("repo"),
                    loc,
                    use.action,
                    None,
                    via=f"CodeBuild project `{use.project.name}` variable `{var.name}`",
                )
            )
    return out
