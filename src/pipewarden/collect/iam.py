"""AWS IAM: every principal with its policies, roles one by one, managed policies.

The whole account is read with ``GetAccountAuthorizationDetails`` (roles,
users, groups with their inline and attached policies, and the customer
managed policies with their versions): a handful of pages however many roles
the pipelines use, and what the approval and override rules (PW308, PW309)
need to be answered at all. AWS managed policies attached to principals are
read with ``GetPolicy`` / ``GetPolicyVersion``, once per scan.

When the account-wide read is denied, the roles the pipelines name are read
one by one instead (``GetRole`` and the role policy calls), and the account's
principals are marked incomplete.
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = [
    "PERMISSIONS",
    "AuthorizationDetails",
    "attached_policy_arns",
    "authorization_details",
    "read_policy",
    "read_role",
]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        "iam:GetAccountAuthorizationDetails",
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    }
)

GAAD: Final = "GetAccountAuthorizationDetails"
_FILTER: Final = ("User", "Role", "Group", "LocalManagedPolicy")
_PAGE: Final = 1000

AuthorizationDetails = dict[str, dict[str, dict[str, Any]]]


def authorization_details(reading: Reading) -> AuthorizationDetails | None:
    """``{"roles"|"users"|"groups"|"policies": {ARN: {GAAD: element}}}`` of the whole
    account; None (with a gap) when it cannot be read."""
    response = reading.call(
        "iam",
        None,
        GAAD,
        kind="identity-policies",
        resource=None,
        pages=True,
        page_size=_PAGE,
        Filter=list(_FILTER),
    )
    if response is None:
        return None
    out: AuthorizationDetails = {"roles": {}, "users": {}, "groups": {}, "policies": {}}
    for member, key in (
        ("RoleDetailList", "roles"),
        ("UserDetailList", "users"),
        ("GroupDetailList", "groups"),
        ("Policies", "policies"),
    ):
        for element in response.get(member, []):
            arn = element.get("Arn") if isinstance(element, dict) else None
            if isinstance(arn, str) and arn:
                out[key][arn] = {GAAD: element}
    return out


def attached_policy_arns(entry: dict[str, Any]) -> list[str]:
    """Managed policy ARNs attached to a principal's snapshot entry."""
    element = entry.get(GAAD)
    if isinstance(element, dict):
        items = element.get("AttachedManagedPolicies") or []
    else:
        listed = entry.get("ListAttachedRolePolicies") or {}
        items = listed.get("AttachedPolicies") or []
    return [str(i["PolicyArn"]) for i in items if isinstance(i, dict) and i.get("PolicyArn")]


def read_role(reading: Reading, arn: str) -> dict[str, Any] | None:
    """One role: GetRole, its inline policies and its attached policy list."""
    name = arn.rsplit("/", 1)[-1]
    got = reading.call("iam", None, "GetRole", kind="role", resource=arn, RoleName=name)
    if got is None:
        return None
    entry: dict[str, Any] = {"GetRole": got}
    names = reading.call(
        "iam", None, "ListRolePolicies", kind="role", resource=arn, pages=True, RoleName=name
    )
    if names is not None:
        entry["ListRolePolicies"] = {"PolicyNames": names.get("PolicyNames", [])}
        inline: dict[str, Any] = {}
        for policy_name in entry["ListRolePolicies"]["PolicyNames"]:
            doc = reading.call(
                "iam",
                None,
                "GetRolePolicy",
                kind="role",
                resource=arn,
                RoleName=name,
                PolicyName=policy_name,
            )
            if doc is not None:
                inline[policy_name] = doc
        entry["GetRolePolicy"] = inline
    attached = reading.call(
        "iam",
        None,
        "ListAttachedRolePolicies",
        kind="role",
        resource=arn,
        pages=True,
        RoleName=name,
    )
    if attached is not None:
        entry["ListAttachedRolePolicies"] = {
            "AttachedPolicies": attached.get("AttachedPolicies", [])
        }
    return entry


def read_policy(reading: Reading, arn: str) -> dict[str, Any] | None:
    """One managed policy: GetPolicy and the document of its default version."""
    policy = reading.call("iam", None, "GetPolicy", kind="policy", resource=arn, PolicyArn=arn)
    if policy is None:
        return None
    entry: dict[str, Any] = {"GetPolicy": policy}
    version_id = (policy.get("Policy") or {}).get("DefaultVersionId")
    if isinstance(version_id, str) and version_id:
        version = reading.call(
            "iam",
            None,
            "GetPolicyVersion",
            kind="policy",
            resource=arn,
            PolicyArn=arn,
            VersionId=version_id,
        )
        if version is not None:
            entry["GetPolicyVersion"] = version
    return entry
