"""The hardened declaration as ``aws codepipeline update-pipeline --cli-input-json`` input.

References to resources the fix creates become their planned values (a role
named after the pipeline and action, a bucket named after the pipeline,
account and region); those resources must exist before the update, so they
are created first (``--format cloudformation`` or ``--apply``). A value the
input left unresolved (a template parameter) is written as its expression
and listed in the notes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pipewarden.model import Unresolved
from pipewarden.remediate._values import Join, Ref, concrete
from pipewarden.remediate.plan import FixPlan, PipelinePlan

__all__ = ["declaration_json", "original_json", "render", "update_pipeline_input"]

_INTEGER_KEYS = frozenset({"runOrder", "timeoutInMinutes"})


def _plain(value: Any, notes: list[str], *, key: str = "", in_config: bool = False) -> Any:
    if isinstance(value, Ref | Join):
        return concrete(value)
    if isinstance(value, Unresolved) and key == "configuration":
        note = f"a configuration is unresolved in the input ({value.reason}): set it before use"
        if note not in notes:
            notes.append(note)
        return {}
    if isinstance(value, Unresolved):
        note = f"`{value.expr}` is unresolved in the input ({value.reason}): set it before use"
        if note not in notes:
            notes.append(note)
        return value.expr
    if in_config and isinstance(value, Mapping | list) and key != "configuration":
        # A template or module may write a configuration value as an object (jsonencode):
        # the API takes strings.
        return json.dumps(_plain(value, notes), separators=(",", ":"))
    if isinstance(value, Mapping):
        return {
            str(k): _plain(v, notes, key=str(k), in_config=in_config or k == "configuration")
            for k, v in value.items()
            if not str(k).startswith("__")
        }
    if isinstance(value, list):
        return [_plain(v, notes, key=key) for v in value]
    if key == "version" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if in_config:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
    if key in _INTEGER_KEYS and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _json_of(plan: PipelinePlan, declaration: Any, notes: list[str] | None) -> dict[str, Any]:
    out = _plain(declaration, notes if notes is not None else [])
    if not isinstance(out, dict):  # pragma: no cover - declarations are mappings
        out = {}
    if not isinstance(out.get("name"), str):
        out = {"name": plan.name, **out}
    if isinstance(out.get("version"), str) and out["version"].isdigit():
        out["version"] = int(out["version"])
    return out


def declaration_json(plan: PipelinePlan, notes: list[str] | None = None) -> dict[str, Any]:
    """The hardened declaration with concrete values (the ``pipeline`` member)."""
    return _json_of(plan, plan.declaration, notes)


def original_json(plan: PipelinePlan) -> dict[str, Any]:
    """The input's declaration in the same form (what a diff compares against)."""
    return _json_of(plan, plan.original, [])


def update_pipeline_input(plan: PipelinePlan, notes: list[str] | None = None) -> dict[str, Any]:
    """``{"pipeline": ...}``: the input of UpdatePipeline (and of CreatePipeline)."""
    return {"pipeline": declaration_json(plan, notes)}


def render(plan: FixPlan, notes: list[str] | None = None) -> str:
    """One update-pipeline input, or a list of them when the input had several pipelines."""
    docs = [update_pipeline_input(p, notes) for p in plan.pipelines]
    body: Any = docs[0] if len(docs) == 1 else docs
    return json.dumps(body, indent=2) + "\n"
