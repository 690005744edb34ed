"""Pipeline declarations between key styles: API <-> CloudFormation, Terraform -> API.

The planner works on the API shape (``stages[].actions[].actionTypeId``). The
readers keep each declaration in its source's shape, so this module converts
along one schema of the declaration: which keys exist, which are objects,
lists of objects, string lists or free-form maps (``configuration``, whose
keys are the provider's and never renamed).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from pipewarden.model import KeyStyle, Unresolved

__all__ = ["SCHEMA", "api_to_cfn", "cfn_to_api", "tf_key", "tf_to_api", "to_api"]

# kind: "S" scalar, "C" free-form map, "LS" list of scalars, "O:x" object, "L:x" list of
# objects, "M:x" map of objects (API artifactStores, keyed by region).
SCHEMA: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "pipeline": (
        ("name", "S"),
        ("roleArn", "S"),
        ("artifactStore", "O:store"),
        ("artifactStores", "M:store"),
        ("stages", "L:stage"),
        ("version", "S"),
        ("executionMode", "S"),
        ("pipelineType", "S"),
        ("variables", "L:variable"),
        ("triggers", "L:trigger"),
    ),
    "store": (("type", "S"), ("location", "S"), ("encryptionKey", "O:key")),
    "key": (("id", "S"), ("type", "S")),
    "stage": (
        ("name", "S"),
        ("blockers", "L:blocker"),
        ("actions", "L:action"),
        ("beforeEntry", "O:conds"),
        ("onSuccess", "O:conds"),
        ("onFailure", "O:failconds"),
    ),
    "blocker": (("name", "S"), ("type", "S")),
    "conds": (("conditions", "L:condition"),),
    "failconds": (
        ("result", "S"),
        ("retryConfiguration", "O:retry"),
        ("conditions", "L:condition"),
    ),
    "retry": (("retryMode", "S"),),
    "condition": (("result", "S"), ("rules", "L:rule")),
    "rule": (
        ("name", "S"),
        ("ruleTypeId", "O:typeid"),
        ("configuration", "C"),
        ("commands", "LS"),
        ("inputArtifacts", "L:artifact"),
        ("roleArn", "S"),
        ("region", "S"),
        ("timeoutInMinutes", "S"),
    ),
    "typeid": (("category", "S"), ("owner", "S"), ("provider", "S"), ("version", "S")),
    "action": (
        ("name", "S"),
        ("actionTypeId", "O:typeid"),
        ("runOrder", "S"),
        ("configuration", "C"),
        ("commands", "LS"),
        ("outputArtifacts", "L:artifact"),
        ("inputArtifacts", "L:artifact"),
        ("outputVariables", "LS"),
        ("roleArn", "S"),
        ("region", "S"),
        ("namespace", "S"),
        ("timeoutInMinutes", "S"),
        ("environmentVariables", "L:envvar"),
    ),
    "artifact": (("name", "S"), ("files", "LS")),
    "envvar": (("name", "S"), ("value", "S"), ("type", "S")),
    "variable": (("name", "S"), ("defaultValue", "S"), ("description", "S")),
    "trigger": (("providerType", "S"), ("gitConfiguration", "O:git")),
    "git": (("sourceActionName", "S"), ("push", "L:push"), ("pullRequest", "L:pr")),
    "push": (("tags", "O:incexc"), ("branches", "O:incexc"), ("filePaths", "O:incexc")),
    "pr": (("events", "LS"), ("branches", "O:incexc"), ("filePaths", "O:incexc")),
    "incexc": (("includes", "LS"), ("excludes", "LS")),
}

_INTEGER_KEYS: Final = frozenset({"runOrder", "timeoutInMinutes"})


def _is_integer_key(kind: str, key: str) -> bool:
    return key in _INTEGER_KEYS or (kind == "pipeline" and key == "version")


def _int(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return value
    try:
        return int(value)
    except ValueError:
        return value


def _cfn_key(api_key: str) -> str:
    return api_key[:1].upper() + api_key[1:]


def cfn_to_api(decl: Any) -> dict[str, Any]:
    """A CloudFormation-style declaration (resolved ``Properties``) in API shape."""
    out: dict[str, Any] = dict(_from_style(decl, "pipeline", _cfn_key) or {})
    stores = decl.get("ArtifactStores") if isinstance(decl, Mapping) else None
    if isinstance(stores, list):
        regions: dict[str, Any] = {}
        for entry in stores:
            if isinstance(entry, Mapping) and isinstance(entry.get("Region"), str):
                regions[entry["Region"]] = _from_style(
                    entry.get("ArtifactStore"), "store", _cfn_key
                )
        out["artifactStores"] = regions
    return out


def _from_style(node: Any, kind: str, key_of: Any) -> Any:
    if not isinstance(node, Mapping):
        return copy.deepcopy(node)
    out: dict[str, Any] = {}
    for api_key, spec in SCHEMA[kind]:
        source_key = key_of(api_key)
        if source_key not in node:
            continue
        out[api_key] = _value_from_style(node[source_key], spec, key_of)
        if _is_integer_key(kind, api_key):
            out[api_key] = _int(out[api_key])
    return out


def _value_from_style(value: Any, spec: str, key_of: Any) -> Any:
    if spec.startswith("O:"):
        return _from_style(value, spec[2:], key_of)
    if spec.startswith("L:"):
        if not isinstance(value, list):
            return copy.deepcopy(value)
        return [_from_style(item, spec[2:], key_of) for item in value]
    if spec.startswith("M:"):
        if not isinstance(value, Mapping):
            return copy.deepcopy(value)
        return {k: _from_style(v, spec[2:], key_of) for k, v in value.items()}
    return copy.deepcopy(value)


def api_to_cfn(decl: Mapping[str, Any]) -> dict[str, Any]:
    """An API-shape declaration as CloudFormation ``Properties`` keys (values untouched)."""
    out: dict[str, Any] = dict(_to_style(decl, "pipeline", _cfn_key) or {})
    stores = decl.get("artifactStores")
    if isinstance(stores, Mapping):
        out["ArtifactStores"] = [
            {"Region": region, "ArtifactStore": _to_style(body, "store", _cfn_key)}
            for region, body in stores.items()
        ]
    return out


def _to_style(node: Any, kind: str, key_of: Any) -> Any:
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for api_key, spec in SCHEMA[kind]:
        if api_key not in node:
            continue
        value = node[api_key]
        if spec.startswith("O:"):
            value = _to_style(value, spec[2:], key_of)
        elif spec.startswith("L:") and isinstance(value, list):
            value = [_to_style(item, spec[2:], key_of) for item in value]
        elif spec.startswith("M:") and isinstance(value, Mapping):
            value = {k: _to_style(v, spec[2:], key_of) for k, v in value.items()}
        out[key_of(api_key)] = value
    return out


# -- Terraform -------------------------------------------------------------------

_TF_NAMES: Final = {
    "stages": "stage",
    "actions": "action",
    "conditions": "condition",
    "rules": "rule",
    "triggers": "trigger",
    "variables": "variable",
    "artifactStore": "artifact_store",
    "artifactStores": "artifact_store",
}
_CAMEL: Final = re.compile(r"(?<=[a-z0-9])([A-Z])")


def tf_key(api_key: str) -> str:
    """The Terraform attribute or block name of an API key."""
    if api_key in _TF_NAMES:
        return _TF_NAMES[api_key]
    return _CAMEL.sub(r"_\1", api_key).lower()


def _first(value: Any) -> Any:
    """Terraform keeps a single nested block as a one-element list."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _tf_node(node: Any, kind: str) -> Any:
    node = _first(node)
    if not isinstance(node, Mapping):
        return copy.deepcopy(node)
    out: dict[str, Any] = {}
    for api_key, spec in SCHEMA[kind]:
        if kind in ("action",) and api_key == "actionTypeId":
            out[api_key] = {k: node.get(k) for k in ("category", "owner", "provider", "version")}
            continue
        key = tf_key(api_key)
        if key not in node:
            continue
        value = node[key]
        if value is None or value == [] or value == {} or value == [None]:
            continue  # a plan writes absent optional values as null or empty
        if spec == "L:artifact":
            names = value if isinstance(value, list) else [value]
            out[api_key] = [
                _tf_node(n, "artifact") if isinstance(n, Mapping) else {"name": n}
                for n in names
                if n is not None
            ]
        elif spec.startswith("O:"):
            converted = _tf_node(value, spec[2:])
            if converted in (None, {}):
                continue
            out[api_key] = converted
        elif spec.startswith("L:"):
            items = value if isinstance(value, list) else [value]
            out[api_key] = [_tf_node(item, spec[2:]) for item in items if item is not None]
        else:
            out[api_key] = copy.deepcopy(value)
        if _is_integer_key(kind, api_key):
            out[api_key] = _int(out[api_key])
    return out


def tf_to_api(decl: Any) -> dict[str, Any]:
    """A Terraform-style declaration (``aws_codepipeline`` values) in API shape."""
    if not isinstance(decl, Mapping):
        return {}
    body = {k: v for k, v in decl.items() if k != "artifact_store"}
    out: dict[str, Any] = _tf_node(body, "pipeline")
    stores = decl.get("artifact_store")
    items = stores if isinstance(stores, list) else [stores] if stores else []
    converted = [
        (_first(s).get("region") if isinstance(_first(s), Mapping) else None, s) for s in items
    ]
    if len(converted) == 1 and not converted[0][0]:
        out["artifactStore"] = _tf_node(converted[0][1], "store")
    elif converted:
        out["artifactStores"] = {
            str(region): _tf_node(store, "store") for region, store in converted if region
        }
    return out


def to_api(decl: Any, style: KeyStyle) -> dict[str, Any]:
    """Any reader's declaration in API shape (a deep copy)."""
    if style is KeyStyle.CLOUDFORMATION:
        return cfn_to_api(decl)
    if style is KeyStyle.TERRAFORM:
        return tf_to_api(decl)
    if not isinstance(decl, Mapping):
        return {}
    out = _from_style(decl, "pipeline", lambda k: k)
    return out if isinstance(out, dict) else {}


def has_unresolved(value: Any) -> bool:
    """Whether a value holds an :class:`Unresolved` part anywhere."""
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, Mapping):
        return any(has_unresolved(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_unresolved(v) for v in value)
    return False
