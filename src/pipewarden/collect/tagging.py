"""AWS Resource Groups Tagging API: the tags of every pipeline of a region in one call.

Pipeline tags say which pipelines are production (``[production] tags`` in
the configuration). ``GetResources`` returns them for every pipeline of a
region that has (or had) tags, 100 a page, instead of one
``ListTagsForResource`` call per pipeline; a pipeline it does not return has
never been tagged. When it is refused, the collector falls back to
``ListTagsForResource`` (see :mod:`pipewarden.collect.codepipeline`).
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden.collect._aws import Reading, jsonable

__all__ = ["PERMISSIONS", "pipeline_tags"]

PERMISSIONS: Final[frozenset[str]] = frozenset({"tag:GetResources"})

_PAGE: Final = 100


def pipeline_tags(reading: Reading, region: str) -> dict[str, dict[str, Any]]:
    """``GetResources`` elements of the region's pipelines by ARN (raises Unreadable)."""
    response = reading.attempt_pages(
        "resourcegroupstaggingapi",
        region,
        "GetResources",
        page_size=_PAGE,
        ResourceTypeFilters=["codepipeline:pipeline"],
    )
    out: dict[str, dict[str, Any]] = {}
    for element in jsonable(response).get("ResourceTagMappingList", []):
        arn = element.get("ResourceARN") if isinstance(element, dict) else None
        if isinstance(arn, str) and ":codepipeline:" in arn:
            out[arn] = element
    return out
