"""Detects stages that deploy to production more than once.

## Rationale
A stage is the unit CodePipeline gates, rolls back and retries. Several
production deploy actions in one stage run behind a single approval and a
single entry condition, fail and roll back together, and often run in
parallel (equal `runOrder`), so one approval releases several production
targets at once and a bad change reaches all of them before anyone can stop
it.

## Remediation
Put each production deployment (each account, region or service) in its own
stage, with its own `beforeEntry` gate and `onFailure` rollback, ordered as
a progressive rollout. Production is decided by configuration
(`[production] accounts`, `stage_pattern`, `tags`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import uncertain_production

META = RuleMeta(
    id="PW306",
    slug="stage-multiple-prod-deploys",
    title="A stage holds more than one production deploy action",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_1,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/concepts.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html",
    ),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for stage in ctx.pipeline.stages:
        prods = ctx.production_deploys(stage)
        names = ", ".join(f"`{a.name}`" for a in prods)
        if len(prods) > 1:
            yield fail(
                stage.loc,
                f"stage `{stage.name}` holds {len(prods)} production deploy actions: {names}",
                stage=stage.name,
                evidence={"actions": ",".join(a.name for a in prods)},
            )
            continue
        open_ = uncertain_production(ctx, stage)
        if len(prods) + len(open_) > 1:
            action, reason = open_[0]
            yield unknown(
                stage.loc,
                f"stage `{stage.name}` may hold several production deploys: {reason}",
                stage=stage.name,
                action=action.name,
            )


RULE = Rule(META, check, __doc__ or "")
