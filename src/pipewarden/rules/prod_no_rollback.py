"""Detects production deploy stages with no onFailure rollback or fail condition.

## Rationale
When a production deployment fails half-way, a stage without `onFailure`
leaves production on a partly deployed release until someone notices and
reacts. `onFailure` with `result: ROLLBACK` redeploys the last successful
artifacts of the stage automatically, and `onFailure` conditions (for
example a `CloudWatchAlarm` rule) roll back on the signals that matter. A
`RETRY` result only retries the failed release.

## Remediation
Add `onFailure` to every production stage:

```yaml
OnFailure:
  Result: ROLLBACK
```

or `onFailure` conditions whose rules watch the deployment's alarms. Stage
rollback needs `PipelineType: V2` and an execution mode other than
`PARALLEL`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Stage, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import result_of, uncertain_production

META = RuleMeta(
    id="PW405",
    slug="prod-no-rollback",
    title="A production deploy stage has no onFailure rollback or fail condition",
    severity=Severity.LOW,
    cicd_sec=(CicdSec.SEC_7,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-rollback.html",
    ),
)

_GOOD = frozenset({"ROLLBACK", "FAIL"})


def on_failure(stage: Stage) -> bool | Unresolved:
    """Whether ``onFailure`` rolls back or fails the stage (a result or conditions)."""
    handler = stage.on_failure
    if handler is None:
        return False
    result = result_of(handler.result)
    if isinstance(result, Unresolved):
        return result
    if result in _GOOD:
        return True
    return bool(handler.conditions)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for stage in ctx.pipeline.stages:
        prods = ctx.production_deploys(stage)
        uncertain = uncertain_production(ctx, stage)
        if not prods and not uncertain:
            continue
        verdict = on_failure(stage)
        if verdict is True:
            continue
        where = stage.on_failure.loc if stage.on_failure is not None else stage.loc
        if isinstance(verdict, Unresolved):
            yield unknown(
                where,
                f"the `onFailure` result of stage `{stage.name}` is unresolved ({verdict.reason})",
                stage=stage.name,
            )
        elif prods:
            detail = (
                "has no `onFailure`"
                if stage.on_failure is None
                else f"has `onFailure` result `{stage.on_failure.result}`, which neither rolls back nor fails"
            )
            yield fail(
                where,
                f"production stage `{stage.name}` {detail}",
                stage=stage.name,
                evidence={"deploys": ",".join(a.name for a in prods)},
            )
        else:
            action, reason = uncertain[0]
            yield unknown(
                where,
                f"stage `{stage.name}` has no `onFailure` rollback and may deploy to production: {reason}",
                stage=stage.name,
                action=action.name,
            )


RULE = Rule(META, check, __doc__ or "")
