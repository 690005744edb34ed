"""Detects artifact buckets without versioning.

## Rationale
Without versioning, an artifact overwritten in the artifact bucket leaves no
earlier version behind: a replaced build output cannot be detected by
comparing versions, cannot be recovered, and an investigation cannot tell
what was actually deployed. Versioning is also a prerequisite of object lock
(PW201) and of the version ids CodePipeline records for each artifact.

## Remediation
Enable versioning on every artifact bucket: CloudFormation
`VersioningConfiguration: {Status: Enabled}`, Terraform
`aws_s3_bucket_versioning` with `status = "Enabled"`. Keep noncurrent versions
at least as long as a release takes to reach production
(`NoncurrentVersionExpiration` in the lifecycle configuration).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._artifact_store import located, store_bucket, store_label

META = RuleMeta(
    id="PW203",
    slug="artifact-store-unversioned",
    title="Artifact bucket does not have versioning enabled",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_9,),
    references=("https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html",),
    needs=frozenset({"bucket"}),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for store in ctx.pipeline.artifact_stores:
        bucket = store_bucket(ctx, store)
        if isinstance(bucket, Finding):
            yield bucket
            continue
        loc = located(ctx, bucket.loc, store.loc / "location")
        what = f"{store_label(store).capitalize()} bucket `{bucket.name}`"
        if bucket.versioning is None:
            yield unknown(loc, f"{what}: its versioning status is not known")
        elif not bucket.versioning:
            yield fail(
                loc, f"{what} does not have versioning enabled", evidence={"bucket": bucket.name}
            )


RULE = Rule(META, check, __doc__ or "")
