"""Detects artifact stores encrypted only with AWS managed keys.

## Rationale
Without an `encryptionKey`, CodePipeline encrypts artifacts with the AWS
managed key `aws/s3`. Its key policy cannot be changed: every principal in
the account that can read the bucket can decrypt every artifact (source code,
build outputs, templates with embedded configuration), other accounts can
never be granted access (so cross-account deploys force weaker workarounds),
and key use cannot be restricted or separately audited. A customer managed
key lets the key policy decide who decrypts artifacts, independently of the
bucket policy, and can be disabled in an incident.

The store passes when its `encryptionKey` is a customer managed key, or when
it has none and the bucket's default encryption is SSE-KMS with a customer
managed key. A key known to the inventory is judged by what the inventory
says. A key only named by the declaration is taken to be customer managed
unless it is named by an `alias/aws/...` alias: AWS managed keys cannot be
given other aliases, and pipelines name them by alias in practice.

## Remediation
Create a symmetric customer managed key (`AWS::KMS::Key`, Terraform
`aws_kms_key`) with rotation enabled and set it on the store:
`ArtifactStore: {Type: S3, Location: <bucket>, EncryptionKey: {Id: <key ARN>, Type: KMS}}`
(`artifactStores` for each region of a cross-region pipeline). Use the key
ARN, not an alias, if any action runs in another account. Set the same key as
the bucket's default encryption (`BucketEncryption` with `SSEAlgorithm: aws:kms`
and `KMSMasterKeyID`).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import ArtifactStore, Finding, KmsKey, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._artifact_store import is_aws_managed_key_ref, store_bucket, store_label

META = RuleMeta(
    id="PW202",
    slug="artifact-store-no-cmk",
    title="Artifact store is not encrypted with a customer managed KMS key",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/S3-artifact-encryption.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html",
    ),
    needs=frozenset({"bucket", "kms-key"}),
)


def is_customer_managed(ctx: RuleContext, ref: str) -> bool:
    """Whether the key named by ``ref`` is customer managed (see the module docstring)."""
    found = ctx.inventory.kms_key(ref)
    if isinstance(found, KmsKey):
        if found.customer_managed is not None:
            return found.customer_managed
        if any(alias.startswith("alias/aws/") for alias in found.aliases):
            return False
    return not is_aws_managed_key_ref(ref)


def _check_store(ctx: RuleContext, store: ArtifactStore) -> Iterator[Finding]:
    label = store_label(store)
    ref = store.encryption_key
    loc = store.loc / "encryptionKey" if ref is not None else store.loc
    if isinstance(ref, Unresolved):
        yield unknown(loc, f"the {label} encryption key is unresolved ({ref.expr}): {ref.reason}")
        return
    if ref is not None and is_customer_managed(ctx, ref):
        return
    store_says = f"encryptionKey `{ref}`, an AWS managed key," if ref else "no encryptionKey"

    bucket = store_bucket(ctx, store)
    if isinstance(bucket, Finding):
        yield unknown(loc, f"the {label} has {store_says}, and {bucket.message}")
        return
    what = f"{label.capitalize()} bucket `{bucket.name}`"
    if not bucket.encryption_known:
        yield unknown(loc, f"{what} has {store_says}, and its default encryption is not known")
        return
    algorithm = bucket.sse_algorithm
    if algorithm is not None and algorithm.startswith("aws:kms"):
        key = bucket.sse_kms_key
        if isinstance(key, Unresolved):
            yield unknown(
                loc,
                f"{what} has {store_says}, and its default KMS key is unresolved "
                f"({key.expr}): {key.reason}",
            )
            return
        if key is not None and is_customer_managed(ctx, key):
            return
        default = f"default bucket encryption SSE-KMS with the AWS managed key `{key or 'aws/s3'}`"
    elif algorithm:
        default = f"default bucket encryption `{algorithm}`"
    else:
        default = "no default bucket encryption (S3 applies SSE-S3)"
    yield fail(
        loc,
        f"{what} has {store_says} and {default}: artifacts are encrypted with AWS managed "
        f"keys, not a customer managed key",
        evidence={"bucket": bucket.name, "default_encryption": str(algorithm or "none")},
    )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for store in ctx.pipeline.artifact_stores:
        yield from _check_store(ctx, store)


RULE = Rule(META, check, __doc__ or "")
