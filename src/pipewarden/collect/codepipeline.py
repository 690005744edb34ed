"""AWS CodePipeline: pipelines (with metadata and tags), action types, webhooks."""

from __future__ import annotations

import re
from typing import Any, Final

from pipewarden.collect._aws import Reading

__all__ = [
    "PERMISSIONS",
    "SECRET_MASK",
    "action_types",
    "list_pipeline_names",
    "mask_declaration",
    "read_pipeline",
    "read_tags",
    "webhooks",
]

PERMISSIONS: Final[frozenset[str]] = frozenset(
    {
        "codepipeline:ListPipelines",
        "codepipeline:GetPipeline",
        "codepipeline:ListTagsForResource",
        "codepipeline:ListActionTypes",
        "codepipeline:ListWebhooks",
    }
)

SECRET_MASK: Final = "****"  # noqa: S105 - the mask AWS shows, not a secret
# Configuration keys AWS always masks (GitHub version 1 source actions); others come
# from the `secret` flag of an action type's configuration properties.
ALWAYS_SECRET: Final = frozenset({"OAuthToken"})
_PIPELINE_NAME: Final = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")
_ALL_MASKED: Final = re.compile(r"^\*+$")


def list_pipeline_names(reading: Reading, region: str) -> list[str]:
    """Names of every pipeline in the region (raises Unreadable: the caller decides
    whether the region or the listing failed)."""
    response = reading.attempt_pages("codepipeline", region, "ListPipelines")
    names = {str(p.get("name", "")) for p in response.get("pipelines", [])}
    return sorted(n for n in names if _PIPELINE_NAME.fullmatch(n))


def read_pipeline(reading: Reading, region: str, name: str) -> tuple[str, dict[str, Any]] | None:
    """(ARN, snapshot entry) of one pipeline: its GetPipeline response (declaration and
    metadata). Tags come from the tagging API for the whole region, or :func:`read_tags`."""
    fallback_arn = f"arn:{reading.partition}:codepipeline:{region}:{reading.account_id}:{name}"
    got = reading.call(
        "codepipeline", region, "GetPipeline", kind="pipeline", resource=fallback_arn, name=name
    )
    if got is None or "pipeline" not in got:
        return None
    metadata = got.get("metadata") or {}
    arn = str(metadata.get("pipelineArn") or fallback_arn)
    return arn, {"GetPipeline": got}


def read_tags(reading: Reading, region: str, arn: str) -> dict[str, Any] | None:
    """ListTagsForResource of one pipeline (when the tagging API may not be used)."""
    tags = reading.call(
        "codepipeline",
        region,
        "ListTagsForResource",
        kind="pipeline",
        resource=arn,
        pages=True,
        resourceArn=arn,
    )
    return None if tags is None else {"tags": tags.get("tags", [])}


def action_types(reading: Reading, region: str, owner: str) -> list[dict[str, Any]] | None:
    """Every ``ListActionTypes`` element of one owner (``Custom`` or ``ThirdParty``)."""
    response = reading.call(
        "codepipeline",
        region,
        "ListActionTypes",
        kind="action-type",
        resource=None,
        pages=True,
        actionOwnerFilter=owner,
    )
    if response is None:
        return None
    return [t for t in response.get("actionTypes", []) if isinstance(t, dict)]


def webhooks(reading: Reading, region: str) -> dict[str, dict[str, Any]] | None:
    """Every pipeline webhook of the region by name, without its secret token or URL."""
    response = reading.call(
        "codepipeline", region, "ListWebhooks", kind="webhook", resource=None, pages=True
    )
    if response is None:
        return None
    out: dict[str, dict[str, Any]] = {}
    for item in response.get("webhooks", []):
        definition = item.get("definition") or {}
        name = definition.get("name")
        if not isinstance(name, str) or not name:
            continue
        element = {k: v for k, v in item.items() if k != "url"}
        auth = definition.get("authenticationConfiguration")
        if isinstance(auth, dict) and "SecretToken" in auth:
            element["definition"] = {
                **definition,
                "authenticationConfiguration": {**auth, "SecretToken": SECRET_MASK},
            }
        out[name] = {"ListWebhooks": element}
    return out


def mask_declaration(
    got: dict[str, Any], secret_keys: dict[tuple[str, ...], frozenset[str]]
) -> None:
    """Replace secret action configuration values by ``****``, as AWS does.

    ``secret_keys`` maps an action type id (category, owner, provider, version)
    to the configuration keys its type marks secret; ``OAuthToken`` always is.
    """
    pipeline = got.get("pipeline")
    if not isinstance(pipeline, dict):
        return
    for stage in pipeline.get("stages") or []:
        if not isinstance(stage, dict):
            continue
        for action in stage.get("actions") or []:
            if not isinstance(action, dict):
                continue
            config = action.get("configuration")
            if not isinstance(config, dict):
                continue
            tid = action.get("actionTypeId") or {}
            key = tuple(str(tid.get(k, "")) for k in ("category", "owner", "provider", "version"))
            secret = ALWAYS_SECRET | secret_keys.get(key, frozenset())
            for name in list(config):
                value = config[name]
                if name in secret and isinstance(value, str) and not _ALL_MASKED.match(value):
                    config[name] = SECRET_MASK
