"""AWS CodeConnections (formerly CodeStar Connections): the connections source actions use.

A connection ARN names its service: ``codeconnections`` or
``codestar-connections`` (both remain valid, and IAM matches the prefix of the
ARN). Each is read through its own API; where the ``codeconnections``
endpoint is not available (an older region or SDK), through
``codestar-connections``, which serves the same connections.
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Failure, Reading, Unreadable, jsonable

__all__ = ["PERMISSIONS", "read_connection"]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        "codeconnections:GetConnection",
        "codeconnections:GetHost",
        "codestar-connections:GetConnection",
        "codestar-connections:GetHost",
    }
)

_SERVICES: Final = ("codeconnections", "codestar-connections")
_ENDPOINT_CODES: Final = frozenset({"EndpointConnectionError", "UnknownService"})


def _arn_parts(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return (parts[2], parts[3]) if len(parts) > 3 else ("", "")


def read_connection(reading: Reading, arn: str) -> dict[str, Any] | None:
    """GetConnection (and GetHost for a host-based provider) of one connection."""
    service, region = _arn_parts(arn)
    if service not in _SERVICES or not region:
        return None
    services = [service] if service == "codestar-connections" else list(_SERVICES)
    last: Unreadable | None = None
    used = service
    got: Any = None
    for candidate in services:
        try:
            got = reading.attempt(candidate, region, "GetConnection", ConnectionArn=arn)
        except Unreadable as failure:
            last = failure
            if failure.failure is Failure.UNAVAILABLE and failure.code in _ENDPOINT_CODES:
                continue  # this API is not served here: try the other name
            break
        used = candidate
        last = None
        break
    if last is not None or got is None:
        if last is not None:
            reading.record(
                last,
                service=used,
                region=region,
                operation="GetConnection",
                kind="connection",
                resource=arn,
            )
        return None
    response = jsonable(got)
    entry: dict[str, Any] = {"GetConnection": response}
    connection = response.get("Connection") or {}
    host_arn = connection.get("HostArn")
    if isinstance(host_arn, str) and host_arn and not connection.get("ProviderEndpoint"):
        host = reading.call(
            used, region, "GetHost", kind="connection", resource=arn, HostArn=host_arn
        )
        if host is not None:
            entry["GetHost"] = host
    return entry
