"""Detects artifact buckets that serve more than one pipeline.

## Rationale
Every pipeline's service role needs write access to its artifact bucket. When
several pipelines share one bucket, those grants are usually written for the
whole bucket, so a compromised build in one pipeline (a poisoned dependency,
a malicious pull request) can overwrite the artifacts another pipeline is
about to deploy, typically one with a more sensitive target. The shared
bucket also shares its key policy, retention and blast radius. A bucket per
pipeline keeps each pipeline's write access to its own artifacts.

The rule compares the pipelines of one input (a template, a plan, a
snapshot); sharing with pipelines defined elsewhere is not visible to it.

## Remediation
Give each pipeline its own artifact bucket (and, for cross-region pipelines,
its own bucket per region), with its own customer managed key, and scope
each pipeline role's S3 permissions to `arn:aws:s3:::<its bucket>/*`. CDK
does this by default; with CloudFormation, define an `AWS::S3::Bucket` next
to each `AWS::CodePipeline::Pipeline`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._artifact_store import store_label

META = RuleMeta(
    id="PW205",
    slug="artifact-store-shared",
    title="One artifact bucket serves several pipelines",
    severity=Severity.LOW,
    cicd_sec=(CicdSec.SEC_5,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/welcome-introducing-artifacts.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html",
    ),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    me = ctx.pipeline
    for store in me.artifact_stores:
        loc = store.loc / "location"
        if isinstance(store.location, Unresolved):
            yield unknown(
                loc,
                f"the {store_label(store)} bucket is unresolved ({store.location.expr}): "
                f"{store.location.reason}",
            )
            continue
        sharers: list[str] = []
        for other in ctx.inventory.pipelines:
            if other is me:
                continue
            if any(s.location == store.location for s in other.artifact_stores):
                name = other.display_name
                if name not in sharers:
                    sharers.append(name)
        if sharers:
            yield fail(
                loc,
                f"{store_label(store).capitalize()} bucket `{store.location}` also serves "
                + ", ".join(f"`{n}`" for n in sharers),
                evidence={"bucket": store.location, "pipelines": ", ".join(sharers)},
            )


RULE = Rule(META, check, __doc__ or "")
