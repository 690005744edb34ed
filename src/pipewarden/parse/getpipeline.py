"""``aws codepipeline get-pipeline`` output, a bare declaration, or a list of either."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipewarden.errors import ParseError
from pipewarden.model import Inventory, KeyStyle, Loc, Pipeline
from pipewarden.parse._source import JsonPositions
from pipewarden.parse.declaration import parse_declaration

__all__ = ["is_get_pipeline", "parse_get_pipeline"]

SOURCE_KIND = "get-pipeline JSON (declaration only: roles, buckets and projects are not in it)"


def _is_declaration(doc: Any) -> bool:
    return isinstance(doc, Mapping) and "stages" in doc and "name" in doc


def _is_entry(doc: Any) -> bool:
    return isinstance(doc, Mapping) and (
        (isinstance(doc.get("pipeline"), Mapping) and _is_declaration(doc["pipeline"]))
        or _is_declaration(doc)
    )


def is_get_pipeline(doc: Any) -> bool:
    """Whether a decoded JSON document is get-pipeline output or declarations."""
    if isinstance(doc, list):
        return bool(doc) and all(_is_entry(item) for item in doc)
    return _is_entry(doc)


def _arn_parts(arn: str) -> tuple[str | None, str | None]:
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn":
        return parts[4] or None, parts[3] or None
    return None, None


def _one(entry: Mapping[str, Any], base: Loc, source: str) -> Pipeline:
    if isinstance(entry.get("pipeline"), Mapping):
        decl = entry["pipeline"]
        loc = Loc(base.subject, base.pointer + "/pipeline", KeyStyle.API)
        metadata = entry.get("metadata")
    else:
        decl = entry
        loc = Loc(base.subject, base.pointer, KeyStyle.API)
        metadata = None
    arn = None
    account = region = None
    if isinstance(metadata, Mapping) and isinstance(metadata.get("pipelineArn"), str):
        arn = metadata["pipelineArn"]
        account, region = _arn_parts(arn)
    tags: dict[str, str] = {}
    raw_tags = entry.get("tags")
    if isinstance(raw_tags, list):
        for tag in raw_tags:
            if isinstance(tag, Mapping) and "key" in tag:
                tags[str(tag["key"])] = str(tag.get("value", ""))
    return parse_declaration(
        decl,
        loc=loc,
        source=source,
        arn=arn,
        account=account,
        region=region,
        tags=tags,
        source_file=source,
    )


def parse_get_pipeline(doc: Any, *, source: str, text: str | None = None) -> Inventory:
    """Parse get-pipeline JSON (already decoded) into an Inventory."""
    if not is_get_pipeline(doc):
        raise ParseError(source, "not get-pipeline output or a pipeline declaration")
    entries = doc if isinstance(doc, list) else [doc]
    pipelines = []
    for index, entry in enumerate(entries):
        base = Loc(source, f"/{index}" if isinstance(doc, list) else "", KeyStyle.API)
        pipelines.append(_one(entry, base, source))
    positions = {source: JsonPositions(text)} if text is not None else {}
    return Inventory(source_kind=SOURCE_KIND, pipelines=tuple(pipelines), positions=positions)
