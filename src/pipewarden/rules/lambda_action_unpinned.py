"""Detects Lambda invoke actions and gate rules that call a function without a version number.

## Rationale
An `Invoke`/`Lambda` action and a `LambdaInvoke` condition rule run whatever
code the function holds when the pipeline reaches them. Named without a
qualifier or with `$LATEST`, that is the function's unpublished code, which
anyone with `lambda:UpdateFunctionCode` can replace; named through an alias,
anyone with `lambda:UpdateAlias` can re-point it. Either way the code that
approves or performs a deployment changes outside the pipeline's review, and
a gate can be turned into a rubber stamp. A published version number is
immutable.

## Remediation
Publish a version (`aws lambda publish-version`, CloudFormation
`AWS::Lambda::Version`) and name it in `FunctionName` as `name:7` or
`arn:aws:lambda:<region>:<account>:function:name:7`; move the pin through a
reviewed change to the pipeline definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from pipewarden.model import Finding, Loc, Severity, Unresolved, Value
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import Who, condition_rules, who_of
from pipewarden.rules._gates import VERSION_PLACEHOLDER as _VERSION_PLACEHOLDER
from pipewarden.rules._gates import split_function

META = RuleMeta(
    id="PW502",
    slug="lambda-action-unpinned",
    title="Lambda action or gate runs a function that is not pinned to a version",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_3, CicdSec.SEC_8),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-Lambda.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-versions.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html",
    ),
)

_VARIABLE: Final = re.compile(r"#\{[^}]*\}")


_PLACEHOLDER: Final = re.compile(r"\$\{[^}]*\}")
# How a CloudFormation template names the number of an AWS::Lambda::Version.


def problem(value: str) -> str | None:
    """Why a FunctionName is not pinned, or None when it names a version."""
    function, qualifier = split_function(value)
    if qualifier is None or qualifier == "":
        return f"function `{function}` without a version qualifier"
    if qualifier == "$LATEST":
        return f"function `{function}` at `$LATEST`"
    if qualifier.isdigit() or _VERSION_PLACEHOLDER.match(qualifier):
        return None
    return f"function `{function}` through alias `{qualifier}`, which can be re-pointed"


def _judge(value: Value | None, loc: Loc, what: str, who: Who) -> Iterator[Finding]:
    if value is None:
        yield unknown(loc, f"{what} has no `FunctionName`", **who)
        return
    if isinstance(value, Unresolved):
        yield unknown(loc, f"the `FunctionName` of {what} is unresolved: {value.reason}", **who)
        return
    if _VARIABLE.search(value):
        yield unknown(loc, f"the `FunctionName` of {what} is set at run time by a variable", **who)
        return
    _, qualifier = split_function(value.strip())
    if qualifier and _PLACEHOLDER.search(qualifier) and not _VERSION_PLACEHOLDER.match(qualifier):
        yield unknown(loc, f"the version qualifier of {what} is set at deployment", **who)
        return
    why = problem(value.strip())
    if why is not None:
        yield fail(loc, f"{what} runs {why}", evidence={"FunctionName": value}, **who)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions():
        if action.owner != "AWS" or action.provider != "Lambda":
            continue
        yield from _judge(
            action.config("FunctionName"),
            action.loc / "configuration" / "FunctionName",
            f"Lambda action `{action.name}` in stage `{action.stage_name}`",
            who_of(action),
        )
    for stage, label, rule in condition_rules(ctx):
        if rule.provider != "LambdaInvoke":
            continue
        yield from _judge(
            rule.configuration.get("FunctionName"),
            rule.loc / "configuration" / "FunctionName",
            f"{label} rule `{rule.name}` of stage `{stage.name}`",
            Who(stage=stage.name),
        )


RULE = Rule(META, check, __doc__ or "")
