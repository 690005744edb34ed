"""A pipeline declaration in canonical form (API key style) and its hash.

The canonical declaration is built from the parsed model, so a pipeline read
from get-pipeline JSON, a snapshot, CloudFormation or Terraform normalises to
the same document. Unresolved values become ``{"$unresolved": expr}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pipewarden.model import (
    Action,
    Condition,
    ConditionRule,
    GitFilter,
    Pipeline,
    Stage,
    StageConditions,
    Trigger,
    Unresolved,
    Value,
)

__all__ = ["UNRESOLVED_KEY", "canonical", "canonical_json", "declaration_hash"]

UNRESOLVED_KEY = "$unresolved"


def _v(value: Value | None) -> Any:
    if isinstance(value, Unresolved):
        return {UNRESOLVED_KEY: value.expr}
    return value


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != [] and value != {}:
        out[key] = value


def _config(configuration: Mapping[str, Value]) -> dict[str, Any]:
    return {k: _v(v) for k, v in sorted(configuration.items())}


def _artifacts(names: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"name": n} for n in names]


def _action(action: Action) -> dict[str, Any]:
    t = action.type_id
    out: dict[str, Any] = {
        "name": action.name,
        "actionTypeId": {
            "category": t.category,
            "owner": t.owner,
            "provider": t.provider,
            "version": t.version,
        },
        "runOrder": action.run_order,
    }
    _put(out, "configuration", _config(action.configuration))
    _put(out, "commands", list(action.commands))
    _put(out, "inputArtifacts", _artifacts(action.input_artifacts))
    _put(out, "outputArtifacts", _artifacts(action.output_artifacts))
    _put(out, "roleArn", _v(action.role_arn))
    _put(out, "region", _v(action.region))
    _put(out, "namespace", action.namespace)
    _put(
        out,
        "environmentVariables",
        [
            {"name": e.name, "value": _v(e.value), "type": e.type}
            for e in action.environment_variables
        ],
    )
    return out


def _rule(rule: ConditionRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": rule.name,
        "ruleTypeId": {
            "category": "Rule",
            "owner": rule.owner,
            "provider": rule.provider,
            "version": rule.version,
        },
    }
    _put(out, "configuration", _config(rule.configuration))
    _put(out, "commands", list(rule.commands))
    _put(out, "inputArtifacts", _artifacts(rule.input_artifacts))
    _put(out, "roleArn", _v(rule.role_arn))
    _put(out, "region", _v(rule.region))
    return out


def _condition(condition: Condition) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "result", _v(condition.result))
    out["rules"] = [_rule(r) for r in condition.rules]
    return out


def _conditions(conditions: StageConditions | None) -> dict[str, Any] | None:
    if conditions is None:
        return None
    out: dict[str, Any] = {}
    _put(out, "result", _v(conditions.result))
    out["conditions"] = [_condition(c) for c in conditions.conditions]
    return out


def _stage(stage: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {"name": stage.name, "actions": [_action(a) for a in stage.actions]}
    _put(out, "beforeEntry", _conditions(stage.before_entry))
    _put(out, "onSuccess", _conditions(stage.on_success))
    _put(out, "onFailure", _conditions(stage.on_failure))
    return out


def _filter(f: GitFilter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, inc, exc in (
        ("branches", f.branches_include, f.branches_exclude),
        ("tags", f.tags_include, f.tags_exclude),
        ("filePaths", f.file_paths_include, f.file_paths_exclude),
    ):
        part: dict[str, Any] = {}
        _put(part, "includes", list(inc))
        _put(part, "excludes", list(exc))
        _put(out, key, part)
    _put(out, "events", list(f.events))
    return out


def _trigger(trigger: Trigger) -> dict[str, Any]:
    git: dict[str, Any] = {"sourceActionName": trigger.source_action_name}
    _put(git, "push", [_filter(f) for f in trigger.push])
    _put(git, "pullRequest", [_filter(f) for f in trigger.pull_request])
    return {"providerType": trigger.provider_type, "gitConfiguration": git}


def canonical(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's declaration in canonical API key style."""
    out: dict[str, Any] = {"name": _v(pipeline.name)}
    _put(out, "roleArn", _v(pipeline.role_arn))
    out["pipelineType"] = _v(pipeline.pipeline_type) if pipeline.pipeline_type else "V1"
    _put(out, "executionMode", _v(pipeline.execution_mode))
    stores: dict[str, Any] = {}
    for store in pipeline.artifact_stores:
        entry: dict[str, Any] = {"type": "S3", "location": _v(store.location)}
        if store.encryption_key is not None:
            entry["encryptionKey"] = {"id": _v(store.encryption_key), "type": "KMS"}
        stores[store.region or ""] = entry
    if list(stores) == [""]:
        out["artifactStore"] = stores[""]
    elif stores:
        out["artifactStores"] = stores
    out["stages"] = [_stage(s) for s in pipeline.stages]
    _put(out, "triggers", [_trigger(t) for t in pipeline.triggers])
    return out


def canonical_json(document: Any) -> bytes:
    """Canonical JSON (RFC 8785 style for string/integer documents): sorted keys,
    no insignificant whitespace, UTF-8."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def declaration_hash(document: Any) -> str:
    """sha256 (hex) of the canonical JSON of ``document``."""
    return hashlib.sha256(canonical_json(document)).hexdigest()
