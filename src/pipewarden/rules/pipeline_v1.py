"""Detects pipelines of type V1, which cannot use stage conditions or trigger filters.

## Rationale
V1 pipelines start on every change to the source branch and cannot hold
`beforeEntry`, `onSuccess` or `onFailure` conditions, trigger filters,
pipeline variables or the `QUEUED`/`PARALLEL` execution modes. Every
flow-control gate PipeWarden recommends (policy gates before production,
automatic rollback, branch and tag filters) needs a V2 pipeline. A pipeline
whose type is not stated is V1.

## Remediation
Set `pipelineType: V2` (CloudFormation `PipelineType: V2`, Terraform
`pipeline_type = "V2"`). V2 is billed per action-minute rather than per
active pipeline; the declaration is otherwise compatible.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown

META = RuleMeta(
    id="PW401",
    slug="pipeline-v1",
    title="Pipeline is type V1 and cannot use stage conditions or trigger filters",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_1,),
    references=("https://docs.aws.amazon.com/codepipeline/latest/userguide/pipeline-types.html",),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    pipeline = ctx.pipeline
    if pipeline.pipeline_type == "V2":
        return
    if pipeline.pipeline_type is None:
        yield fail(pipeline.loc, "pipeline type is not stated, so it is V1")
    elif isinstance(pipeline.pipeline_type, Unresolved):
        yield unknown(
            pipeline.loc / "pipelineType",
            f"pipeline type is unresolved: {pipeline.pipeline_type.reason}",
        )
    else:
        yield fail(
            pipeline.loc / "pipelineType",
            f"pipeline type is `{pipeline.pipeline_type}`",
            evidence={"pipelineType": pipeline.pipeline_type},
        )


RULE = Rule(META, check, __doc__ or "")
