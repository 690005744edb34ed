"""Amazon CloudWatch Logs: data protection of the log groups builds and actions write.

Log groups are found with ``DescribeLogGroups`` by name prefix, one listing
per family of names (``/aws/codebuild/``, ``/aws/lambda/``, ...) rather than
one call per group. A group's own data protection policy is read only when
``DescribeLogGroups`` gives it a ``dataProtectionStatus`` (a group that never
had a policy has none); the account-wide policy is read once per region.
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = ["PERMISSIONS", "account_policies", "read_log_groups"]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {"logs:DescribeLogGroups", "logs:GetDataProtectionPolicy", "logs:DescribeAccountPolicies"}
)

_PAGE: Final = 50


def _family(name: str) -> str:
    """The prefix one listing covers: ``/aws/<service>/`` for service groups."""
    parts = name.split("/")
    if name.startswith("/aws/") and len(parts) > 3:
        return "/".join(parts[:3]) + "/"
    return name


def read_log_groups(reading: Reading, region: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Snapshot entries of the named log groups. A group that does not exist is a gap."""
    wanted = set(names)
    found: dict[str, dict[str, Any]] = {}
    listed_ok: set[str] = set()
    for prefix in sorted({_family(n) for n in wanted}):
        members = sorted(n for n in wanted if _family(n) == prefix)
        response = reading.call(
            "logs",
            region,
            "DescribeLogGroups",
            kind="log-group",
            resource=members[0] if len(members) == 1 else None,
            pages=True,
            page_size=_PAGE,
            logGroupNamePrefix=prefix,
        )
        if response is None:
            continue
        listed_ok.update(members)
        for group in response.get("logGroups", []):
            name = group.get("logGroupName")
            if name in wanted:
                found[name] = {"DescribeLogGroups": group}
    for name in sorted(listed_ok - set(found)):
        reading.gaps.add(
            account=reading.account_id,
            region=region,
            service="logs",
            operation="DescribeLogGroups",
            kind="log-group",
            resource=name,
            code="ResourceNotFoundException",
            message=f"log group {name} does not exist (yet)",
        )
    for name, entry in sorted(found.items()):
        if "dataProtectionStatus" not in entry["DescribeLogGroups"]:
            continue
        policy = reading.call(
            "logs",
            region,
            "GetDataProtectionPolicy",
            kind="log-group",
            resource=name,
            absent=("ResourceNotFoundException",),
            logGroupIdentifier=name,
        )
        if policy is not None:
            entry["GetDataProtectionPolicy"] = policy
    return found


def account_policies(reading: Reading, region: str) -> dict[str, Any] | None:
    """DescribeAccountPolicies for data protection (every page)."""
    policies: list[Any] = []
    token: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"policyType": "DATA_PROTECTION_POLICY"}
        if token:
            params["nextToken"] = token
        response = reading.call(
            "logs", region, "DescribeAccountPolicies", kind="log-group", resource=None, **params
        )
        if response is None:
            return None
        policies.extend(response.get("accountPolicies", []))
        token = response.get("nextToken")
        if not token:
            break
    return {"accountPolicies": policies}
