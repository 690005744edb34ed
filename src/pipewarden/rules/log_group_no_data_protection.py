"""Detects log groups receiving build or Lambda output that have no policy masking credentials.

## Rationale
Build and deployment logs routinely capture credentials: a verbose
`curl`, a failing `docker login`, a dumped environment, a stack trace with
a connection string. Everyone with `logs:GetLogEvents` on the group can read
them, usually far more people than may see the secrets. A CloudWatch Logs
data protection policy with a `Deidentify` statement masks recognised
credentials as they are ingested.

The groups checked are those of the CodeBuild projects the pipeline runs
(when CloudWatch logging is on), of the Lambda functions its invoke actions
and gate rules call, and `/aws/codepipeline/<pipeline>` for Commands and
ECRBuildAndPublish actions and Commands rules. A policy passes when its
`Deidentify` statement covers `AwsSecretKey` and at least one private-key
identifier (`OpenSshPrivateKey`, `PgpPrivateKey`, `PkcsPrivateKey`,
`PuttyPrivateKey`): AWS keys and private keys are the credentials builds
handle most. A snapshot also carries the account-wide data protection
policy, which applies to every group; a template or plan cannot show it, so
if you rely on one, suppress this rule for template scans with that reason.

## Remediation
Attach a data protection policy to each group (CloudFormation
`AWS::Logs::LogGroup` `DataProtectionPolicy`, or `aws logs
put-data-protection-policy`) with an `Audit` and a `Deidentify` statement
over `arn:aws:dataprotection::aws:data-identifier/AwsSecretKey`,
`.../OpenSshPrivateKey`, `.../PkcsPrivateKey` and the other credential
identifiers. Restrict `logs:Unmask` to incident responders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pipewarden.model import Finding, Gap, JsonValue, Loc, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import Who, attr_loc, condition_rules, used_projects

META = RuleMeta(
    id="PW604",
    slug="log-group-no-data-protection",
    title="Log group with build or Lambda output has no policy masking credentials",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_6, CicdSec.SEC_10),
    references=(
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/mask-sensitive-log-data.html",
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch-logs-data-protection-policies.html",
    ),
    needs=frozenset({"log-group", "codebuild-project", "lambda-function"}),
)

AWS_KEY_IDENTIFIER: Final = "AwsSecretKey"
PRIVATE_KEY_IDENTIFIERS: Final = frozenset(
    {"OpenSshPrivateKey", "PgpPrivateKey", "PkcsPrivateKey", "PuttyPrivateKey"}
)
MANAGED_COMPUTE: Final = frozenset({"Commands", "ECRBuildAndPublish"})


@dataclass(frozen=True, slots=True)
class _Target:
    """A log group (or why its name is not known) and who writes to it."""

    group: str | Unresolved
    loc: Loc
    writer: str
    stage: str | None = None
    action: str | None = None


def masked_identifiers(policy: JsonValue) -> frozenset[str]:
    """Short names of the data identifiers a policy's ``Deidentify`` statements cover."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except (ValueError, RecursionError):
            return frozenset()
    if not isinstance(policy, Mapping):
        return frozenset()
    raw = policy.get("Statement")
    found: set[str] = set()
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, Mapping):
            continue
        operation = statement.get("Operation")
        if not isinstance(operation, Mapping) or "Deidentify" not in operation:
            continue
        identifiers: Any = statement.get("DataIdentifier")
        for ident in identifiers if isinstance(identifiers, list) else [identifiers]:
            if isinstance(ident, str):
                found.add(ident.rsplit("/", 1)[-1])
    return frozenset(found)


def policy_gap(policy: JsonValue) -> str | None:
    """What the policy fails to mask, or None when it masks AWS keys and private keys."""
    covered = masked_identifiers(policy)
    missing = []
    if AWS_KEY_IDENTIFIER not in covered:
        missing.append(f"`{AWS_KEY_IDENTIFIER}`")
    if not covered & PRIVATE_KEY_IDENTIFIERS:
        missing.append("any private-key identifier")
    if not missing:
        return None
    return (
        "masks neither " + " nor ".join(missing)
        if len(missing) > 1
        else f"does not mask {missing[0]}"
    )


def _targets(ctx: RuleContext) -> tuple[list[_Target], list[Finding]]:
    targets: list[_Target] = []
    uses, project_gaps = used_projects(ctx)
    gaps = list(project_gaps)
    for use in uses:
        project = use.project
        who = Who(stage=use.action.stage_name, action=use.action.name)
        writer = f"CodeBuild project `{project.name}`"
        if project.cloudwatch_logs_enabled is None:
            gaps.append(
                unknown(use.ref_loc, f"whether {writer} logs to CloudWatch is not known", **who)
            )
        elif project.cloudwatch_logs_enabled:
            loc = use.at(ctx, "LogsConfig", "CloudWatchLogs") if project.log_group else use.ref_loc
            targets.append(_Target(project.effective_log_group, loc, writer, **who))
    pipeline_group: str | Unresolved = (
        f"/aws/codepipeline/{ctx.pipeline.name}"
        if isinstance(ctx.pipeline.name, str)
        else ctx.pipeline.name
    )
    for action in ctx.actions():
        who = Who(stage=action.stage_name, action=action.name)
        where = f"action `{action.name}` in stage `{action.stage_name}`"
        if action.owner == "AWS" and action.provider == "Lambda":
            targets.extend(
                _lambda_target(ctx, action.config("FunctionName"), action.loc, where, who)
            )
        elif action.owner == "AWS" and action.provider in MANAGED_COMPUTE:
            targets.append(_Target(pipeline_group, action.loc, f"{action.provider} {where}", **who))
    for stage, label, rule in condition_rules(ctx):
        who = Who(stage=stage.name)
        where = f"{label} rule `{rule.name}` of stage `{stage.name}`"
        if rule.provider == "LambdaInvoke":
            targets.extend(
                _lambda_target(ctx, rule.configuration.get("FunctionName"), rule.loc, where, who)
            )
        elif rule.provider == "Commands":
            targets.append(_Target(pipeline_group, rule.loc, f"Commands {where}", **who))
    return targets, gaps


def _lambda_target(
    ctx: RuleContext, name: object, base: Loc, where: str, who: Who
) -> Iterator[_Target]:
    loc = base / "configuration" / "FunctionName"
    writer = f"the Lambda function of {where}"
    if isinstance(name, Unresolved):
        yield _Target(name, loc, writer, **who)
        return
    if not isinstance(name, str):
        return
    found = ctx.inventory.lambda_function(name)
    if isinstance(found, Gap):
        yield _Target(Unresolved(name, found.reason), loc, writer, **who)
        return
    yield _Target(
        found.effective_log_group, loc, f"Lambda function `{found.name}` of {where}", **who
    )


def check(ctx: RuleContext) -> Iterator[Finding]:
    targets, gaps = _targets(ctx)
    yield from gaps
    seen: set[str] = set()
    for target in targets:
        who = Who(stage=target.stage, action=target.action)
        if isinstance(target.group, Unresolved):
            yield unknown(
                target.loc,
                f"the log group of {target.writer} is not known: {target.group.reason}",
                **who,
            )
            continue
        name = target.group
        if name in seen:
            continue
        seen.add(name)
        found = ctx.inventory.log_group(name)
        if isinstance(found, Gap):
            yield unknown(
                target.loc, f"log group `{name}` of {target.writer}: {found.reason}", **who
            )
            continue
        loc = attr_loc(ctx, found.loc, target.loc)
        if not found.policy_known:
            yield unknown(
                loc, f"the data protection policy of log group `{name}` is not known", **who
            )
        elif found.data_protection_policy is None:
            yield fail(
                loc,
                f"log group `{name}` of {target.writer} has no data protection policy",
                evidence={"logGroup": name},
                **who,
            )
        else:
            why = policy_gap(found.data_protection_policy)
            if why is not None:
                yield fail(
                    attr_loc(ctx, found.loc, target.loc, "DataProtectionPolicy"),
                    f"the data protection policy of log group `{name}` of {target.writer} {why}",
                    evidence={"logGroup": name},
                    **who,
                )


RULE = Rule(META, check, __doc__ or "")
