"""AWS STS: who the credentials are, and assuming a role in another account."""

from __future__ import annotations

from typing import Final

from pipewarden.collect._aws import Credentials, Reading, Unreadable, credentials_error
from pipewarden.errors import CollectionError

__all__ = ["PERMISSIONS", "assume_role", "caller_identity"]

PERMISSIONS: Final[frozenset[str]] = frozenset({"sts:GetCallerIdentity", "sts:AssumeRole"})

SESSION_NAME: Final = "pipewarden-scan"


def caller_identity(reading: Reading) -> tuple[str, str, str]:
    """(account, ARN, partition) of the credentials; CollectionError when AWS refuses them."""
    try:
        response = reading.attempt("sts", None, "GetCallerIdentity")
    except Unreadable as failure:
        if failure.code in {"InvalidClientTokenId", "UnrecognizedClientException"}:
            raise credentials_error(failure.code, failure.message) from failure
        raise CollectionError(
            f"cannot establish who the AWS credentials belong to "
            f"(sts:GetCallerIdentity: {failure.code}"
            + (f": {failure.message[:300]})" if failure.message else ")")
        ) from failure
    arn = str(response.get("Arn", ""))
    parts = arn.split(":")
    partition = parts[1] if len(parts) > 1 and parts[1] else "aws"
    return str(response.get("Account", "")), arn, partition


def assume_role(
    reading: Reading, role_arn: str, *, external_id: str | None, duration: int = 3600
) -> Credentials:
    """Temporary credentials for ``role_arn``; Unreadable when it cannot be assumed."""
    params: dict[str, object] = {
        "RoleArn": role_arn,
        "RoleSessionName": SESSION_NAME,
        "DurationSeconds": duration,
    }
    if external_id:
        params["ExternalId"] = external_id
    response = reading.attempt("sts", None, "AssumeRole", **params)
    creds = response["Credentials"]
    return Credentials(
        access_key=str(creds["AccessKeyId"]),
        secret_key=str(creds["SecretAccessKey"]),
        token=str(creds["SessionToken"]),
    )
