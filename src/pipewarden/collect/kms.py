"""AWS KMS: the keys that encrypt artifact stores, with their policies and aliases."""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = ["PERMISSIONS", "read_key"]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {"kms:DescribeKey", "kms:GetKeyPolicy", "kms:ListAliases"}
)


def read_key(reading: Reading, region: str, ref: str) -> tuple[str, dict[str, Any]] | None:
    """(key ARN, snapshot entry) of the key ``ref`` names (key id, key ARN, alias name
    or alias ARN): DescribeKey, its default key policy and its aliases."""
    described = reading.call("kms", region, "DescribeKey", kind="kms-key", resource=ref, KeyId=ref)
    if described is None:
        return None
    arn = (described.get("KeyMetadata") or {}).get("Arn")
    if not isinstance(arn, str) or not arn:
        return None
    entry: dict[str, Any] = {"DescribeKey": described}
    policy = reading.call(
        "kms", region, "GetKeyPolicy", kind="kms-key", resource=arn, KeyId=arn, PolicyName="default"
    )
    if policy is not None:
        entry["GetKeyPolicy"] = policy
    aliases = reading.call(
        "kms", region, "ListAliases", kind="kms-key", resource=arn, pages=True, KeyId=arn
    )
    if aliases is not None:
        entry["ListAliases"] = {"Aliases": aliases.get("Aliases", [])}
    return arn, entry
