"""Amazon S3: the controls of the buckets pipelines read from and store artifacts in."""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading, Unreadable, jsonable

__all__ = ["PERMISSIONS", "read_bucket"]

# IAM names three of these operations differently from the API.
PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        "s3:GetBucketLocation",
        "s3:GetBucketVersioning",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
    }
)

# Operation -> error codes that mean "not configured" (stored as the answer).
_READS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("GetBucketVersioning", frozenset()),
    ("GetObjectLockConfiguration", frozenset({"ObjectLockConfigurationNotFoundError"})),
    ("GetBucketEncryption", frozenset({"ServerSideEncryptionConfigurationNotFoundError"})),
    ("GetBucketPolicy", frozenset({"NoSuchBucketPolicy"})),
    ("GetPublicAccessBlock", frozenset({"NoSuchPublicAccessBlockConfiguration"})),
)


def _region(location: dict[str, Any]) -> str:
    constraint = location.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return {"EU": "eu-west-1"}.get(str(constraint), str(constraint))


def read_bucket(reading: Reading, name: str, region: str) -> dict[str, Any] | None:
    """Every control of one bucket (None when nothing could be read). ``region`` is
    where the referencing pipeline runs: the first guess for the bucket's own."""
    entry: dict[str, Any] = {}
    bucket_region = region
    try:
        location = jsonable(reading.attempt("s3", region, "GetBucketLocation", Bucket=name))
    except Unreadable as failure:
        reading.record(
            failure,
            service="s3",
            region=None,
            operation="GetBucketLocation",
            kind="bucket",
            resource=name,
        )
        if failure.code == "NoSuchBucket":
            return None  # nothing more to ask
    else:
        entry["GetBucketLocation"] = {"LocationConstraint": location.get("LocationConstraint")}
        bucket_region = _region(location)
    for operation, absent in _READS:
        response = reading.call(
            "s3",
            bucket_region,
            operation,
            kind="bucket",
            resource=name,
            absent=absent,
            global_resource=True,
            Bucket=name,
        )
        if response is not None:
            entry[operation] = response
    return entry or None
