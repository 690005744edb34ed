"""Detects production deploy stages that no entry condition can stop.

## Rationale
A `beforeEntry` condition with result `FAIL` is the policy gate of a V2
pipeline: its rules (a `LambdaInvoke` policy check, a `VariableCheck` on the
source branch, a `CloudWatchAlarm`, `Commands`, a `DeploymentWindow`) must
pass before the stage starts, and a failing rule stops the release. Without
one, anything that reaches the stage deploys to production: a change from an
unexpected branch, a release during an incident, an artifact that skipped
its checks. A condition with result `SKIP` does not block; it only skips the
stage (see PW404).

## Remediation
Add to every production stage a `beforeEntry` condition with `result: FAIL`
and at least one rule that checks what must hold before production, for
example:

```yaml
BeforeEntry:
  Conditions:
    - Result: FAIL
      Rules:
        - Name: OnlyMain
          RuleTypeId: {Category: Rule, Owner: AWS, Provider: VariableCheck, Version: "1"}
          Configuration: {Variable: "#{SourceVariables.BranchName}", Operator: EQ, Value: main}
```

Stage conditions need `PipelineType: V2`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Stage, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import result_of, uncertain_production

META = RuleMeta(
    id="PW402",
    slug="prod-stage-no-entry-gate",
    title="A production deploy stage has no blocking beforeEntry condition",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_1, CicdSec.SEC_9),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference.html",
    ),
)


def entry_gate(stage: Stage) -> bool | Unresolved:
    """Whether a ``beforeEntry`` condition with result ``FAIL`` and rules guards the stage."""
    if stage.before_entry is None:
        return False
    open_: Unresolved | None = None
    for condition in stage.before_entry.conditions:
        result = result_of(condition.result)
        if isinstance(result, Unresolved):
            open_ = open_ or result
        elif result == "FAIL" and condition.rules:
            return True
    return open_ if open_ is not None else False


def check(ctx: RuleContext) -> Iterator[Finding]:
    for stage in ctx.pipeline.stages:
        prods = ctx.production_deploys(stage)
        uncertain = uncertain_production(ctx, stage)
        if not prods and not uncertain:
            continue
        gate = entry_gate(stage)
        if gate is True:
            continue
        where = stage.before_entry.loc if stage.before_entry is not None else stage.loc
        if isinstance(gate, Unresolved):
            yield unknown(
                where,
                f"the `beforeEntry` result of stage `{stage.name}` is unresolved ({gate.reason})",
                stage=stage.name,
            )
        elif prods:
            deploys = ", ".join(f"`{a.name}`" for a in prods)
            detail = (
                "has no `beforeEntry` condition"
                if stage.before_entry is None
                else "has no `beforeEntry` condition with result `FAIL`"
            )
            yield fail(
                where,
                f"production stage `{stage.name}` (deploys {deploys}) {detail}",
                stage=stage.name,
                evidence={"deploys": ",".join(a.name for a in prods)},
            )
        else:
            action, reason = uncertain[0]
            yield unknown(
                where,
                f"stage `{stage.name}` has no blocking `beforeEntry` condition and may deploy to "
                f"production: {reason}",
                stage=stage.name,
                action=action.name,
            )


RULE = Rule(META, check, __doc__ or "")
