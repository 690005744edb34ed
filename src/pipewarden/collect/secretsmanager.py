"""AWS Secrets Manager: rotation of the secrets pipelines and builds reference."""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = ["PERMISSIONS", "read_secret"]

PERMISSIONS: Final[frozenset[str]] = frozenset({"secretsmanager:DescribeSecret"})


def read_secret(reading: Reading, region: str, ref: str) -> tuple[str, dict[str, Any]] | None:
    """(secret ARN, snapshot entry) of the secret ``ref`` names (name or ARN).
    DescribeSecret returns metadata only, never the secret value."""
    described = reading.call(
        "secretsmanager", region, "DescribeSecret", kind="secret", resource=ref, SecretId=ref
    )
    if described is None:
        return None
    arn = described.get("ARN")
    if not isinstance(arn, str) or not described.get("Name"):
        return None
    return arn, {"DescribeSecret": described}
