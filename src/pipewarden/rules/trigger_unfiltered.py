"""Detects V2 triggers of production pipelines that start on any pushed branch or tag.

## Rationale
A V2 trigger replaces the source action's branch setting: when it has no
branch or tag filter, any ref pushed to the repository starts the
pipeline, so a push to a feature branch, a fork's branch or a throwaway tag
runs the production pipeline with unreviewed code. Only pipelines with a
production deploy are reported. A push filter that only excludes refs, or
includes everything (`*`, `**`), is not a filter. A trigger with no filter
at all starts on pushes to the source action's `BranchName` (as a V1
pipeline does), so it is reported only when that branch is missing.

## Remediation
Give every trigger a push filter that includes only the protected branches
or release tags that may reach production:

```yaml
Triggers:
  - ProviderType: CodeStarSourceConnection
    GitConfiguration:
      SourceActionName: Source
      Push:
        - Branches:
            Includes: [main]
```

Protect those branches and tags in the repository (required reviews, no
force pushes), and run pull-request triggers in a separate pipeline without
production access.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, GitFilter, Loc, Severity, Unresolved, Value
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import maybe_production

META = RuleMeta(
    id="PW406",
    slug="trigger-unfiltered",
    title="A V2 trigger starts a production pipeline on any branch or tag",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_4,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-triggers.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-filter.html",
    ),
)

_MATCH_ALL = frozenset({"*", "**", "**/*", "*/**"})


def _meaningful(includes: tuple[str, ...]) -> bool:
    return any(pattern.strip() not in _MATCH_ALL for pattern in includes)


def is_filtered(push: GitFilter) -> bool:
    """Whether a push filter limits the branches or tags that start the pipeline."""
    return _meaningful(push.branches_include) or _meaningful(push.tags_include)


def _default_branch(ctx: RuleContext, source_action: str) -> Value | None:
    for action in ctx.actions(category="Source"):
        if action.name == source_action:
            return action.config("BranchName")
    return None


def check(ctx: RuleContext) -> Iterator[Finding]:
    pipeline = ctx.pipeline
    if pipeline.pipeline_type == "V1" or not pipeline.triggers:
        return
    prods = [a for a in ctx.actions() if ctx.is_production_deploy(a)]
    open_reason = None
    if not prods:
        open_reason = next(
            (r for a in ctx.actions() if (r := maybe_production(ctx, a)) is not None), None
        )
        if open_reason is None:
            return
    target = f"`{prods[0].stage_name}/{prods[0].name}`" if prods else "production"
    for trigger in pipeline.triggers:
        problems: list[tuple[Loc, str]] = []
        if not trigger.push and not trigger.pull_request:
            # Without filters a trigger starts on pushes to the source action's BranchName.
            branch = _default_branch(ctx, trigger.source_action_name)
            if isinstance(branch, Unresolved):
                yield unknown(
                    trigger.loc,
                    f"the trigger on source action `{trigger.source_action_name}` has no filter and "
                    f"the action's `BranchName` is unresolved ({branch.reason})",
                )
            elif branch is None:
                problems.append(
                    (
                        trigger.loc,
                        f"the trigger on source action `{trigger.source_action_name}` has no filter "
                        "and the action names no `BranchName`",
                    )
                )
        problems.extend(
            (
                push.loc,
                f"a push filter of the trigger on source action `{trigger.source_action_name}` "
                "includes no specific branch or tag",
            )
            for push in trigger.push
            if not is_filtered(push)
        )
        for loc, text in problems:
            if open_reason is None:
                yield fail(
                    loc, f"{text}, so any pushed ref starts a pipeline that deploys {target}"
                )
            else:
                yield unknown(loc, f"{text}; the pipeline may deploy to production: {open_reason}")


RULE = Rule(META, check, __doc__ or "")
