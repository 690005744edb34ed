"""Detects artifact bucket policies that allow plain HTTP or let outsiders write artifacts.

## Rationale
The bucket policy is the last word on who can write the artifacts a pipeline
deploys. A statement that allows `s3:PutObject` (or `s3:Put*`, `s3:*`,
`s3:Delete*`) to `*`, or to principals in another account without limiting
them to the organisation, lets someone outside the pipeline's account replace
a build output between build and deploy. Without a deny for requests made
over plain HTTP (`aws:SecureTransport` false), artifacts, which often contain
source code and configuration, can be read or altered in transit by a
client that does not insist on TLS.

The rule passes a policy that has a `Deny` for `Principal: "*"` on the
bucket's objects (`arn:aws:s3:::bucket/*`, covering `s3:GetObject` and
`s3:PutObject`) with `Bool: {aws:SecureTransport: false}`, and whose `Allow`
statements grant write actions only to principals of the pipeline's account,
or to others under an `aws:PrincipalOrgID` (or `aws:PrincipalOrgPaths`)
condition. Service principals are not judged here. When the template cannot
tell whether a literal account id is the account it is deployed to, the
result is unknown.

## Remediation
Add to the artifact bucket's policy (`AWS::S3::BucketPolicy`, Terraform
`aws_s3_bucket_policy`):
`{Sid: DenyInsecureTransport, Effect: Deny, Principal: "*", Action: "s3:*", Resource: [arn:aws:s3:::bucket, arn:aws:s3:::bucket/*], Condition: {Bool: {aws:SecureTransport: "false"}}}`,
and grant cross-account deploy roles only `s3:GetObject*` (they read
artifacts), by role ARN, or add `Condition: {StringEquals: {aws:PrincipalOrgID: o-...}}`
to statements that must stay broad.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Final

from pipewarden.model import ArtifactStore, Bucket, Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._artifact_store import (
    aws_principals,
    bool_condition_is_false,
    covers_action,
    has_org_condition,
    limited_to_account,
    located,
    same_account,
    store_bucket,
    store_label,
)
from pipewarden.rules._policy import Statement, statements

META = RuleMeta(
    id="PW204",
    slug="artifact-store-policy-weak",
    title="Artifact bucket policy allows plain HTTP or lets outsiders write",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/S3-artifact-encryption.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html",
    ),
    needs=frozenset({"bucket"}),
)

# Actions that change what the pipeline will read from the bucket.
WRITE_ACTIONS: Final = (
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:ReplicateObject",
    "s3:PutBucketPolicy",
    "s3:PutLifecycleConfiguration",
)
OBJECT_ACTIONS: Final = ("s3:GetObject", "s3:PutObject")


def _covers_objects(statement: Statement, bucket: str) -> bool | None:
    """Whether the statement's resources include the bucket's objects."""
    sample = f"arn:aws:s3:::{bucket}/artifact"
    if statement.not_resources:
        return None
    verdicts: list[bool | None] = []
    for resource in statement.resources:
        if isinstance(resource, Unresolved):
            verdicts.append(None)
        else:
            verdicts.append(fnmatch.fnmatchcase(sample, str(resource)))
    if any(verdicts):
        return True
    return None if None in verdicts else False


def _tls_deny(document: object, bucket: str) -> bool | None:
    """Whether a statement denies non-TLS object access to everyone (None: cannot tell)."""
    unsure = False
    for st in statements(document):
        if st.effect != "Deny" or not bool_condition_is_false(st.conditions, "aws:SecureTransport"):
            continue
        if not any(p.wildcard and p.text == "*" for p in aws_principals(st)):
            continue
        actions = [covers_action(st, a) for a in OBJECT_ACTIONS]
        objects = _covers_objects(st, bucket)
        if all(actions) and objects:
            return True
        if None in actions or objects is None:
            unsure = True
    return None if unsure else False


def _write_grants(ctx: RuleContext, document: object) -> tuple[list[str], list[str]]:
    """Principals outside the account granted write, and principals that cannot be judged."""
    outside: list[str] = []
    unsure: list[str] = []
    mine = ctx.pipeline_account
    for st in statements(document):
        if not st.allows:
            continue
        label = f"statement `{st.sid}`" if st.sid else f"statement {st.index}"
        writes = [covers_action(st, a) for a in WRITE_ACTIONS]
        if not any(writes):
            if None in writes:
                unsure.append(f"whether {label} allows writes cannot be told (unresolved actions)")
            continue
        if has_org_condition(st) or limited_to_account(st, mine):
            continue
        for principal in aws_principals(st):
            if principal.unresolved:
                unsure.append(f"{label} lets an unresolved principal `{principal.text}` write")
            elif principal.wildcard:
                outside.append(f"lets `{principal.text}` write ({label})")
            else:
                verdict = same_account(principal.account, mine)
                if verdict is False and principal.is_root:
                    outside.append(f"lets account `{principal.account}` write ({label})")
                elif verdict is False:
                    outside.append(
                        f"lets `{principal.text}` (account `{principal.account}`) write ({label})"
                    )
                elif verdict is None:
                    unsure.append(
                        f"whether `{principal.text}`, which {label} lets write, is in the "
                        f"pipeline's account cannot be told"
                    )
    return outside, unsure


def _check_bucket(ctx: RuleContext, store: ArtifactStore, bucket: Bucket) -> Iterator[Finding]:
    loc = located(ctx, bucket.loc, store.loc / "location")
    what = f"{store_label(store).capitalize()} bucket `{bucket.name}`"
    if not bucket.policy_known:
        yield unknown(loc, f"{what}: its bucket policy is not known")
        return
    problems: list[str] = []
    unsure: list[str] = []
    if bucket.policy is None:
        problems.append("has no bucket policy, so nothing denies requests over plain HTTP")
    else:
        tls = _tls_deny(bucket.policy, bucket.name)
        if tls is False:
            problems.append("has no statement denying object access over plain HTTP")
        elif tls is None:
            unsure.append("whether its policy denies plain HTTP cannot be told (unresolved values)")
        outside, maybe = _write_grants(ctx, bucket.policy)
        problems.extend(outside)
        unsure.extend(maybe)
    if problems:
        yield fail(loc, f"{what} " + "; ".join(problems), evidence={"bucket": bucket.name})
    elif unsure:
        yield unknown(loc, f"{what}: " + "; ".join(unsure))


def check(ctx: RuleContext) -> Iterator[Finding]:
    for store in ctx.pipeline.artifact_stores:
        bucket = store_bucket(ctx, store)
        if isinstance(bucket, Finding):
            yield bucket
        else:
            yield from _check_bucket(ctx, store, bucket)


RULE = Rule(META, check, __doc__ or "")
