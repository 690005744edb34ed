"""Detects S3 source buckets without versioning or object lock.

## Rationale
An S3 source action builds whatever object is at `S3ObjectKey`. Without
versioning, an overwrite leaves no trace: nobody can tell which upload a
release was built from, and the object can be replaced between the upload
that was reviewed and the run that builds it. Without object lock, anyone
with `s3:DeleteObjectVersion` (or a lifecycle rule) can erase the versions
that would show what was built, which is the record an investigation
needs. CodePipeline itself requires versioning on S3 source buckets; object
lock makes each version tamper-evident for its retention period.

## Remediation
Enable versioning and object lock on the source bucket, with a default
retention: CloudFormation `VersioningConfiguration: {Status: Enabled}`,
`ObjectLockEnabled: true` and
`ObjectLockConfiguration: {ObjectLockEnabled: Enabled, Rule: {DefaultRetention: {Mode: GOVERNANCE, Days: 30}}}`
(Terraform `aws_s3_bucket_versioning` and
`aws_s3_bucket_object_lock_configuration`). Restrict `s3:PutObject` on the
source key to the role that publishes releases.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Action, Finding, Gap, Severity, Unresolved
from pipewarden.rules._api import (
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    at_action,
    fail,
    unknown,
)

META = RuleMeta(
    id="PW107",
    slug="source-s3-mutable",
    title="S3 source bucket lacks versioning or object lock",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-S3.html",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html",
    ),
    needs=frozenset({"bucket"}),
)


def _check_action(ctx: RuleContext, action: Action) -> Iterator[Finding]:
    loc = (action.loc / "configuration").raw("S3Bucket")
    where = f"Source action `{action.name}` in stage `{action.stage_name}`"
    name = action.config("S3Bucket")
    if name is None:
        yield unknown(
            action.loc / "configuration",
            f"{where} has no `S3Bucket`",
            stage=action.stage_name,
            action=action.name,
        )
        return
    if isinstance(name, Unresolved):
        yield unknown(
            loc,
            f"{where} reads a bucket that is unresolved ({name.expr}): {name.reason}",
            stage=action.stage_name,
            action=action.name,
        )
        return
    bucket = ctx.inventory.bucket(name)
    if isinstance(bucket, Gap):
        yield unknown(
            loc,
            f"{where} reads a bucket that is not known: {bucket.reason}",
            stage=action.stage_name,
            action=action.name,
        )
        return

    missing: list[str] = []
    unsure: list[str] = []
    if bucket.versioning is None:
        unsure.append("its versioning is not known")
    elif not bucket.versioning:
        missing.append("versioning")
    if not bucket.object_lock_known:
        unsure.append("its object lock configuration is not known")
    elif bucket.object_lock is None or not bucket.object_lock.enabled:
        missing.append("object lock")
    if missing:
        yield fail(
            loc,
            f"{where} reads bucket `{name}`, which has no " + " and no ".join(missing),
            **at_action(action),
            evidence={"bucket": name, "missing": ", ".join(missing)},
        )
    elif unsure:
        yield unknown(
            loc,
            f"{where} reads bucket `{name}`: " + "; ".join(unsure),
            stage=action.stage_name,
            action=action.name,
        )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Source", provider="S3"):
        if action.owner == "AWS":
            yield from _check_action(ctx, action)


RULE = Rule(META, check, __doc__ or "")
