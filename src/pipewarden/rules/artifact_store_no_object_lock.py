"""Detects artifact buckets without object lock and a default retention.

## Rationale
Every artifact a pipeline passes between stages (source zips, build outputs,
templates, image definitions) sits in the artifact bucket between the action
that wrote it and the actions that read it. Anyone who can write to the
bucket (an over-broad role in the account, a compromised build, a
cross-account principal) can replace an artifact after it was built and
tested and before it is deployed, or delete the version that would show what
was deployed. Object lock with a default retention makes every artifact
version immutable for the retention period: it can be read, never
overwritten in place or deleted, in `COMPLIANCE` mode not even by the root
user. Every bucket in `artifactStores` (one per region of a cross-region
pipeline) is checked.

## Remediation
Create the artifact bucket with object lock and a default retention at least
as long as a release takes to reach production: CloudFormation
`ObjectLockEnabled: true` and
`ObjectLockConfiguration: {ObjectLockEnabled: Enabled, Rule: {DefaultRetention: {Mode: COMPLIANCE, Days: 30}}}`
(Terraform `object_lock_enabled = true` and
`aws_s3_bucket_object_lock_configuration`). Object lock can be enabled on an
existing versioned bucket with `PutObjectLockConfiguration`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._artifact_store import located, store_bucket, store_label

META = RuleMeta(
    id="PW201",
    slug="artifact-store-no-object-lock",
    title="Artifact bucket has no object lock with a default retention",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/welcome-introducing-artifacts.html",
    ),
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
        lock = bucket.object_lock
        if not bucket.object_lock_known:
            yield unknown(loc, f"{what}: its object lock configuration is not known")
        elif lock is None or not lock.enabled:
            yield fail(loc, f"{what} has no object lock", evidence={"bucket": bucket.name})
        elif lock.mode is None or (lock.days is None and lock.years is None):
            yield fail(
                loc,
                f"{what} has object lock but no default retention, so new artifacts are not locked",
                evidence={"bucket": bucket.name},
            )


RULE = Rule(META, check, __doc__ or "")
