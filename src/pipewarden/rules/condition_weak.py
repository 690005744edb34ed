"""Detects stage conditions that cannot block: SKIP entry conditions and unpinned Lambda gates.

## Rationale
A `beforeEntry` condition whose result is `SKIP` does not stop a release:
when its rule fails, the stage is skipped and the pipeline carries on to the
next stage, so a failing policy check silently removes a stage (for example
the one running the tests, or the verification before production) instead of
stopping the run. A `LambdaInvoke` gate rule decides with whatever code its
function runs: a function named without a version, with `$LATEST`, or with
an alias (which anyone with `lambda:UpdateAlias` can repoint) can be
replaced by code that always passes, without any change to the pipeline
(see also PW502 for Lambda invoke actions).

## Remediation
Use `result: FAIL` for conditions that must hold. Reference gate functions
by a published version, `FunctionName: my-gate:7` or the full version ARN,
and publish a new version (reviewed like any other change) to update the
gate.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import result_of, unpinned_reason

META = RuleMeta(
    id="PW404",
    slug="condition-weak",
    title="A stage condition skips instead of blocking, or its Lambda gate is unpinned",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_1,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-LambdaInvoke.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html",
    ),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for stage in ctx.pipeline.stages:
        for kind, conditions in (
            ("beforeEntry", stage.before_entry),
            ("onSuccess", stage.on_success),
            ("onFailure", stage.on_failure),
        ):
            if conditions is None:
                continue
            for condition in conditions.conditions:
                result = result_of(condition.result)
                if kind == "beforeEntry":
                    if result == "SKIP":
                        yield fail(
                            condition.loc / "result",
                            f"the `beforeEntry` condition of stage `{stage.name}` has result "
                            "`SKIP`: when its rules fail the stage is skipped, not stopped",
                            stage=stage.name,
                        )
                    elif isinstance(result, Unresolved):
                        yield unknown(
                            condition.loc / "result",
                            f"the `beforeEntry` result of stage `{stage.name}` is unresolved "
                            f"({result.reason})",
                            stage=stage.name,
                        )
                for rule in condition.rules:
                    if rule.provider != "LambdaInvoke":
                        continue
                    function = rule.configuration.get("FunctionName")
                    loc = rule.loc / "configuration" / "FunctionName"
                    label = f"gate rule `{rule.name}` ({kind} of stage `{stage.name}`)"
                    if function is None:
                        yield unknown(
                            rule.loc, f"{label} names no `FunctionName`", stage=stage.name
                        )
                    elif isinstance(function, Unresolved):
                        yield unknown(
                            loc,
                            f"the function of {label} is unresolved ({function.reason})",
                            stage=stage.name,
                        )
                    elif (reason := unpinned_reason(function)) is not None:
                        yield fail(
                            loc,
                            f"{label} invokes Lambda `{function}`, which {reason}",
                            stage=stage.name,
                            evidence={"function": function},
                        )


RULE = Rule(META, check, __doc__ or "")
