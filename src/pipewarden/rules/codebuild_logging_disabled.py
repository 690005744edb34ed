"""Detects CodeBuild projects used by the pipeline that log neither to CloudWatch nor to S3.

## Rationale
Build logs are the record of what a build fetched, ran and produced. Without
them an investigation cannot tell whether a compromised dependency ran, what
a poisoned buildspec did, or which build pushed an image (Security Hub
control CodeBuild.4).

## Remediation
Enable at least one destination in the project's `LogsConfig`:
`CloudWatchLogs.Status: ENABLED` (optionally with `GroupName`), or
`S3Logs.Status: ENABLED` with a `Location` in a bucket with retention.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import used_projects, who_of

META = RuleMeta(
    id="PW606",
    slug="codebuild-logging-disabled",
    title="CodeBuild project logs neither to CloudWatch nor to S3",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_10,),
    fsbp=("CodeBuild.4",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/codebuild-controls.html",
    ),
    needs=frozenset({"codebuild-project"}),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    uses, gaps = used_projects(ctx)
    yield from gaps
    for use in uses:
        project = use.project
        cloudwatch, s3 = project.cloudwatch_logs_enabled, project.s3_logs_enabled
        if cloudwatch or s3:
            continue
        who = who_of(use.action)
        loc = use.at(ctx, "LogsConfig")
        if cloudwatch is None or s3 is None:
            yield unknown(
                loc,
                f"the logging configuration of CodeBuild project `{project.name}` is not known",
                **who,
            )
            continue
        yield fail(
            loc,
            f"CodeBuild project `{project.name}` has both CloudWatch Logs and S3 logs disabled",
            **who,
        )


RULE = Rule(META, check, __doc__ or "")
