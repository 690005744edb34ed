"""The fix as a CloudFormation template.

For a CloudFormation input the template itself is patched: it is loaded with
ruamel.yaml's round-trip loader (JSON input with the standard library, key
order kept), the pipeline's ``Properties`` are merged with the hardened
declaration so that every value that did not change keeps its original node
(``!Ref``, ``!Sub``, comments, anchors), resources the fix changes are edited
in place, and new resources are appended. YAML stays YAML with its short-form
tags and its indentation; JSON stays JSON with its indentation.

For any other input (get-pipeline JSON, a snapshot, Terraform) a new template
holds the hardened pipeline and everything it needs; resources the input
only names (a CodeBuild project, a deploy bucket) are referred to by name.

Roles that live in another account (for cross-account actions) cannot be in
the pipeline's stack: each target account gets a template of its own.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Mapping, MutableMapping, MutableSequence
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.model import KeyStyle, Unresolved
from pipewarden.model.location import split_pointer
from pipewarden.remediate._decl import SCHEMA
from pipewarden.remediate._iamdb import RemediationError
from pipewarden.remediate._values import Join, Ref, localize, text_parts
from pipewarden.remediate.plan import (
    BucketPatch,
    FixPlan,
    LogGroupPatch,
    NewResource,
    PipelinePlan,
    ProjectPatch,
    RepositoryPatch,
    WebhookPatch,
)

__all__ = ["Emitted", "render"]

_ORIGIN: Final = "__origin__"
# API fields CloudFormation's pipeline resource does not have.
_NOT_IN_CFN: Final = frozenset({("rule", "timeoutInMinutes")})
_MISSING: Final = object()
_PSEUDO: Final = re.compile(r"\$\{AWS::[A-Za-z]+\}")
_PLACEHOLDER: Final = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass
class Emitted:
    """Rendered files: the main document and one template per other account."""

    main: str
    extra: dict[str, str] = field(default_factory=dict)  # account id -> template
    notes: list[str] = field(default_factory=list)


# -- values --------------------------------------------------------------------------


class _Style:
    """How intrinsic functions are written: YAML short-form tags or JSON objects."""

    def __init__(self, yaml: bool) -> None:
        self.yaml = yaml
        self.known: set[str] | None = None  # logical ids a reference may name (None: any)

    def mapping(self) -> MutableMapping[str, Any]:
        if self.yaml:
            from ruamel.yaml.comments import CommentedMap

            return CommentedMap()
        return {}

    def sequence(self) -> MutableSequence[Any]:
        if self.yaml:
            from ruamel.yaml.comments import CommentedSeq

            return CommentedSeq()
        return []

    def tagged(self, tag: str, value: str) -> Any:
        if self.yaml:
            from ruamel.yaml.comments import TaggedScalar

            return TaggedScalar(value, style=None, tag=tag)
        return None

    def ref(self, ref: Ref) -> Any:
        if ref.attr == "Ref":
            return self.tagged("!Ref", ref.logical_id) if self.yaml else {"Ref": ref.logical_id}
        if self.yaml:
            return self.tagged("!GetAtt", f"{ref.logical_id}.{ref.attr}")
        return {"Fn::GetAtt": [ref.logical_id, ref.attr]}

    def sub(self, text: str) -> Any:
        if self.yaml:
            return self.tagged("!Sub", text)
        return {"Fn::Sub": text}

    def string(self, value: str) -> Any:
        if self.yaml and "\n" in value:
            from ruamel.yaml.scalarstring import LiteralScalarString

            return LiteralScalarString(value)
        return value


def _escape_sub(text: str) -> str:
    """Keep ``${...}`` that is not a pseudo parameter literal inside ``Fn::Sub``."""
    return _PLACEHOLDER.sub(
        lambda m: m.group(0) if m.group(0).startswith("${AWS::") else "${!" + m.group(1) + "}",
        text,
    )


def value_node(value: Any, style: _Style, *, account_param: str | None = None) -> Any:
    """A plan value as a CloudFormation node (Refs become Ref/GetAtt, placeholders Sub)."""
    if isinstance(value, Ref):
        if value.logical_id == "" or not _known(style, value):
            return value_node(value.value, style, account_param=account_param)
        return style.ref(value)
    if isinstance(value, Join):
        parts: list[str] = []
        for part in text_parts(value):
            if isinstance(part, Ref) and not _known(style, part):
                parts.append(_escape_sub(_account(part.value, account_param)))
            elif isinstance(part, Ref):
                if part.attr == "Ref":
                    parts.append("${" + part.logical_id + "}")
                else:
                    parts.append("${" + part.logical_id + "." + part.attr + "}")
            else:
                parts.append(_escape_sub(_account(part, account_param)))
        return style.sub("".join(parts))
    if isinstance(value, Unresolved):
        raise RemediationError(
            f"`{value.expr}` is unresolved in the input and cannot be written to a new place"
        )
    if isinstance(value, str):
        value = _account(value, account_param)
        if _PSEUDO.search(value) or (account_param and "${" + account_param + "}" in value):
            return style.sub(_escape_sub_keep(value, account_param))
        return style.string(value)
    if isinstance(value, Mapping):
        out = style.mapping()
        for key, item in value.items():
            if str(key).startswith("__"):
                continue
            out[str(key)] = value_node(item, style, account_param=account_param)
        return out
    if isinstance(value, list | tuple):
        seq = style.sequence()
        for item in value:
            seq.append(value_node(item, style, account_param=account_param))
        return seq
    return value


def _known(style: _Style, ref: Ref) -> bool:
    return style.known is None or ref.logical_id in style.known


def _account(text: str, account_param: str | None) -> str:
    if account_param is None:
        return text
    return text.replace("${AWS::AccountId}", "${" + account_param + "}")


def _escape_sub_keep(text: str, account_param: str | None) -> str:
    def keep(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("AWS::") or body == account_param:
            return match.group(0)
        return "${!" + body + "}"

    return _PLACEHOLDER.sub(keep, text)


# -- merging the hardened declaration into the template ------------------------------


def _plain_equal(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = {k for k in a if not str(k).startswith("__")} | {
            k for k in b if not str(k).startswith("__")
        }
        return all(_plain_equal(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_plain_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Ref | Join) or isinstance(b, Ref | Join):
        return bool(a == b)
    if isinstance(a, bool | int | float | str) and isinstance(b, bool | int | float | str):
        return (
            str(a).lower() == str(b).lower()
            if isinstance(a, bool) or isinstance(b, bool)
            else str(a) == str(b)
        )
    return bool(a == b)


def _cfn_key(api_key: str) -> str:
    return api_key[:1].upper() + api_key[1:]


class _Merger:
    """Merges an API-shape declaration into a raw CloudFormation ``Properties`` node."""

    def __init__(self, original: Mapping[str, Any], raw: Any, style: _Style) -> None:
        self.original = original
        self.raw = raw
        self.style = style

    def _raw_stage(self, index: int) -> Any:
        stages = self.raw.get("Stages") if isinstance(self.raw, Mapping) else None
        if isinstance(stages, list) and 0 <= index < len(stages):
            return stages[index]
        return None

    def _old_stage(self, index: int) -> Any:
        stages = self.original.get("stages")
        if isinstance(stages, list) and 0 <= index < len(stages):
            return stages[index]
        return None

    def _counterpart(self, kind: str, item: Mapping[str, Any]) -> tuple[Any, Any]:
        origin = item.get(_ORIGIN)
        if not isinstance(origin, list):
            return None, None
        if kind == "stage" and len(origin) == 1:
            return self._old_stage(origin[0]), copy.deepcopy(self._raw_stage(origin[0]))
        if kind == "action" and len(origin) == 2:
            old_stage = self._old_stage(origin[0])
            raw_stage = self._raw_stage(origin[0])
            old_actions = old_stage.get("actions") if isinstance(old_stage, Mapping) else None
            raw_actions = raw_stage.get("Actions") if isinstance(raw_stage, Mapping) else None
            old = (
                old_actions[origin[1]]
                if isinstance(old_actions, list) and origin[1] < len(old_actions)
                else None
            )
            raw = (
                raw_actions[origin[1]]
                if isinstance(raw_actions, list) and origin[1] < len(raw_actions)
                else None
            )
            return old, copy.deepcopy(raw)
        return None, None

    def merge(self, kind: str, new: Mapping[str, Any], old: Any, raw: Any) -> Any:
        if not isinstance(raw, MutableMapping) or not isinstance(old, Mapping):
            return value_node(_api_to_cfn_value(kind, new), self.style)
        schema = dict(SCHEMA[kind])
        for api_key, spec in SCHEMA[kind]:
            if kind == "pipeline" and api_key == "artifactStores":
                continue
            if (kind, api_key) in _NOT_IN_CFN:
                continue
            key = _cfn_key(api_key)
            if api_key not in new:
                if key in raw:
                    del raw[key]
                continue
            value = new[api_key]
            old_value = old.get(api_key, _MISSING)
            raw_value = raw.get(key, _MISSING)
            if (
                raw_value is not _MISSING
                and old_value is not _MISSING
                and _plain_equal(value, old_value)
            ):
                continue
            raw[key] = self._field(spec, value, old_value, raw_value)
        if kind == "pipeline" and "artifactStores" in new:
            old_value = old.get("artifactStores", _MISSING)
            if not _plain_equal(new["artifactStores"], old_value) or "ArtifactStores" not in raw:
                raw["ArtifactStores"] = value_node(
                    [
                        {"Region": region, "ArtifactStore": _api_to_cfn_value("store", body)}
                        for region, body in new["artifactStores"].items()
                    ],
                    self.style,
                )
        del schema
        return raw

    def _field(self, spec: str, value: Any, old_value: Any, raw_value: Any) -> Any:
        if spec.startswith("O:") and isinstance(value, Mapping):
            old = old_value if isinstance(old_value, Mapping) else None
            return self.merge(spec[2:], value, old, raw_value if old is not None else None)
        if spec.startswith("L:") and isinstance(value, list):
            return self._list(spec[2:], value, old_value, raw_value)
        if spec == "C" and isinstance(value, Mapping):
            return self._config(value, old_value, raw_value)
        if spec.startswith("O:") or spec.startswith("L:"):
            return value_node(_api_to_cfn_value(spec[2:], value), self.style)
        return value_node(value, self.style)

    def _list(self, kind: str, value: list[Any], old_value: Any, raw_value: Any) -> Any:
        old_list = old_value if isinstance(old_value, list) else []
        raw_list = raw_value if isinstance(raw_value, list) else []
        out = self.style.sequence()
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                out.append(value_node(item, self.style))
                continue
            if kind in ("stage", "action"):
                old, raw = self._counterpart(kind, item)
            elif index < len(old_list) and index < len(raw_list):
                old, raw = old_list[index], copy.deepcopy(raw_list[index])
            else:
                old, raw = None, None
            if old is not None and raw is not None and _plain_equal(item, old):
                out.append(raw)
            else:
                out.append(self.merge(kind, item, old, raw))
        if isinstance(raw_value, list) and hasattr(raw_value, "ca"):
            # keep the sequence's own comments
            raw_value[:] = list(out)
            return raw_value
        return out

    def _config(self, value: Mapping[str, Any], old_value: Any, raw_value: Any) -> Any:
        if not isinstance(raw_value, MutableMapping) or not isinstance(old_value, Mapping):
            return value_node(dict(value), self.style)
        for key in list(raw_value):
            if key not in value:
                del raw_value[key]
        for key, item in value.items():
            if key in raw_value and key in old_value and _plain_equal(item, old_value[key]):
                continue
            raw_value[key] = value_node(item, self.style)
        return raw_value


def _api_to_cfn_value(kind: str, value: Any) -> Any:
    """An API-shape subtree with CloudFormation keys (values untouched)."""
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for api_key, spec in SCHEMA[kind]:
        if api_key not in value or (kind, api_key) in _NOT_IN_CFN:
            continue
        item = value[api_key]
        if kind == "pipeline" and api_key == "artifactStores" and isinstance(item, Mapping):
            out["ArtifactStores"] = [
                {"Region": r, "ArtifactStore": _api_to_cfn_value("store", b)}
                for r, b in item.items()
            ]
            continue
        if spec.startswith("O:"):
            item = _api_to_cfn_value(spec[2:], item)
        elif spec.startswith("L:") and isinstance(item, list):
            item = [_api_to_cfn_value(spec[2:], x) for x in item]
        out[_cfn_key(api_key)] = item
    return out


# -- loading and dumping -----------------------------------------------------------


def _yaml(indent: tuple[int, int, int] = (2, 4, 2)) -> Any:
    from ruamel.yaml import YAML

    loader = YAML(typ="rt")
    loader.preserve_quotes = True
    loader.width = 4096
    loader.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return loader


_INDENTS: Final = ((2, 4, 2), (2, 2, 0), (4, 4, 0), (4, 6, 2), (4, 4, 2), (2, 3, 1))


def _guess_indent(text: str) -> tuple[int, int, int]:
    """The ruamel indentation that round-trips the text with the fewest changed lines."""
    import difflib

    best: tuple[int, tuple[int, int, int]] | None = None
    for indent in _INDENTS:
        loader = _yaml(indent)
        try:
            data = loader.load(text)
            out = io.StringIO()
            loader.dump(data, out)
        except Exception:  # noqa: BLE001, S112 - a style that cannot round-trip is skipped
            continue
        changed = sum(
            1
            for line in difflib.unified_diff(text.splitlines(), out.getvalue().splitlines())
            if line[:1] in "+-"
        )
        if best is None or changed < best[0]:
            best = (changed, indent)
        if changed <= 2:
            break
    return best[1] if best is not None else _INDENTS[0]


def _json_indent(text: str) -> int:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped and len(line) != len(stripped):
            return len(line) - len(stripped)
    return 2


class _Document:
    """The template being written (loaded input or a new one)."""

    def __init__(self, text: str | None, *, yaml: bool) -> None:
        self.yaml = yaml
        self.style = _Style(yaml)
        self.text = text
        if text is None:
            self.indent = _INDENTS[0]
            self.doc = self.style.mapping()
            self.doc["AWSTemplateFormatVersion"] = "2010-09-09"
            self.doc["Description"] = "Hardened pipeline written by pipewarden fix"
            self.doc["Resources"] = self.style.mapping()
        elif yaml:
            self.indent = _guess_indent(text)
            self.doc = _yaml(self.indent).load(text)
        else:
            self.indent = (_json_indent(text), 0, 0)
            self.doc = json.loads(text)
        if not isinstance(self.doc, MutableMapping):
            raise RemediationError("the template is not a mapping")
        if not isinstance(self.doc.get("Resources"), MutableMapping):
            self.doc["Resources"] = self.style.mapping()

    @property
    def resources(self) -> MutableMapping[str, Any]:
        resources = self.doc["Resources"]
        if not isinstance(resources, MutableMapping):  # pragma: no cover - set in __init__
            raise RemediationError("the template has no Resources mapping")
        return resources

    def dump(self) -> str:
        if not self.yaml:
            return json.dumps(_jsonable(self.doc), indent=self.indent[0]) + "\n"
        out = io.StringIO()
        _yaml(self.indent).dump(self.doc, out)
        return out.getvalue()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# -- patches of existing resources ------------------------------------------------


def _props(doc: _Document, logical_id: str) -> MutableMapping[str, Any] | None:
    resource = doc.resources.get(logical_id)
    if not isinstance(resource, MutableMapping):
        return None
    props = resource.get("Properties")
    if not isinstance(props, MutableMapping):
        props = doc.style.mapping()
        resource["Properties"] = props
    return props


def _child(doc: _Document, node: MutableMapping[str, Any], key: str) -> MutableMapping[str, Any]:
    value = node.get(key)
    if not isinstance(value, MutableMapping):
        value = doc.style.mapping()
        node[key] = value
    return value


def _logical(loc: Any) -> str | None:
    tokens = split_pointer(loc.pointer)
    if len(tokens) >= 2 and tokens[0] == "Resources":
        return tokens[1]
    return None


def _refers_to(node: Any, logical_id: str, name: str) -> bool:
    """Whether a raw ``Bucket`` value names the bucket (``!Ref Id``, ``{"Ref": Id}``, its name)."""
    if isinstance(node, str):
        return node in (logical_id, name) if not hasattr(node, "tag") else False
    tag = getattr(node, "tag", None)
    value = getattr(node, "value", None)
    if tag is not None and str(getattr(tag, "value", tag)) == "!Ref":
        return str(value) == logical_id
    if isinstance(node, Mapping):
        return node.get("Ref") == logical_id
    return False


def _bucket_patch(doc: _Document, patch: BucketPatch, notes: list[str]) -> None:
    lid = _logical(patch.loc)
    props = _props(doc, lid) if lid else None
    if lid is None or props is None:
        return
    style = doc.style
    if patch.versioning:
        versioning = _child(doc, props, "VersioningConfiguration")
        versioning["Status"] = "Enabled"
    if patch.lock_mode:
        if props.get("ObjectLockEnabled") is not True:
            notes.append(
                f"bucket `{patch.name}`: CloudFormation may replace a bucket to enable object "
                "lock; an existing bucket keeps its data if you enable it with "
                "`aws s3api put-object-lock-configuration` first"
            )
        props["ObjectLockEnabled"] = True
        props["ObjectLockConfiguration"] = value_node(
            {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": patch.lock_mode, "Days": patch.lock_days}},
            },
            style,
        )
    if patch.kms_key is not None:
        props["BucketEncryption"] = value_node(
            {
                "ServerSideEncryptionConfiguration": [
                    {
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": patch.kms_key,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
            style,
        )
    if not patch.policy_add and not patch.policy_remove:
        return
    for policy_id, resource in doc.resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::S3::BucketPolicy":
            continue
        pprops = resource.get("Properties")
        if not isinstance(pprops, MutableMapping) or not _refers_to(
            pprops.get("Bucket"), lid, patch.name
        ):
            continue
        document = _child(doc, pprops, "PolicyDocument")
        statements = document.get("Statement")
        if not isinstance(statements, MutableSequence):
            statements = style.sequence() if statements is None else _seq(style, [statements])
            document["Statement"] = statements
        for index in sorted(patch.policy_remove, reverse=True):
            if index < len(statements):
                del statements[index]
        for statement in patch.policy_add:
            statements.append(value_node(statement, style))
        del policy_id
        return
    doc.resources[f"{lid}PipeWardenPolicy"] = value_node(
        {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": Ref(lid, "Ref", patch.name),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": list(patch.policy_add)},
            },
        },
        style,
    )


def _seq(style: _Style, items: list[Any]) -> MutableSequence[Any]:
    out = style.sequence()
    for item in items:
        out.append(item)
    return out


def _project_patch(doc: _Document, patch: ProjectPatch) -> None:
    lid = _logical(patch.loc)
    props = _props(doc, lid) if lid else None
    if props is None:
        return
    style = doc.style
    environment = _child(doc, props, "Environment")
    if patch.privileged_off:
        environment["PrivilegedMode"] = False
    if patch.log_group is not None:
        logs = _child(doc, props, "LogsConfig")
        logs["CloudWatchLogs"] = value_node(
            {"Status": "ENABLED", "GroupName": patch.log_group}, style
        )
    if patch.encryption_on:
        artifacts = props.get("Artifacts")
        if isinstance(artifacts, MutableMapping) and "EncryptionDisabled" in artifacts:
            del artifacts["EncryptionDisabled"]
        for item in props.get("SecondaryArtifacts") or []:
            if isinstance(item, MutableMapping) and "EncryptionDisabled" in item:
                del item["EncryptionDisabled"]
        logs_config = props.get("LogsConfig")
        s3 = logs_config.get("S3Logs") if isinstance(logs_config, MutableMapping) else None
        if isinstance(s3, MutableMapping) and "EncryptionDisabled" in s3:
            del s3["EncryptionDisabled"]
    variables = environment.get("EnvironmentVariables")
    if patch.env_to_secrets and isinstance(variables, MutableSequence):
        for index, secret in patch.env_to_secrets:
            if index < len(variables) and isinstance(variables[index], MutableMapping):
                variables[index]["Type"] = "SECRETS_MANAGER"
                variables[index]["Value"] = secret
    if patch.buildspec_secrets:
        source = _child(doc, props, "Source")
        spec = source.get("BuildSpec")
        if isinstance(spec, str):
            for literal, var, _ in patch.buildspec_secrets:
                spec = spec.replace(literal, f"${var}")
            source["BuildSpec"] = style.string(str(spec))
        if not isinstance(variables, MutableSequence):
            variables = style.sequence()
            environment["EnvironmentVariables"] = variables
        for _, var, secret in patch.buildspec_secrets:
            variables.append(
                value_node({"Name": var, "Type": "SECRETS_MANAGER", "Value": secret}, style)
            )
    if patch.source_location is not None:
        _child(doc, props, "Source")["Location"] = patch.source_location
    if patch.anchor_filters:
        groups: Any = _child(doc, props, "Triggers").get("FilterGroups")
        for g, f, pattern in patch.anchor_filters:
            try:
                groups[g][f]["Pattern"] = pattern
            except (IndexError, KeyError, TypeError):
                continue


def _repository_patch(doc: _Document, patch: RepositoryPatch) -> None:
    lid = _logical(patch.loc)
    props = _props(doc, lid) if lid else None
    if props is None:
        return
    if patch.immutable:
        props["ImageTagMutability"] = "IMMUTABLE"
        for key in ("ImageTagMutabilityExclusionFilters",):
            if key in props:
                del props[key]
    if patch.scan_on_push:
        _child(doc, props, "ImageScanningConfiguration")["ScanOnPush"] = True


def _log_group_patch(doc: _Document, patch: LogGroupPatch) -> None:
    lid = _logical(patch.loc)
    props = _props(doc, lid) if lid else None
    if props is not None:
        props["DataProtectionPolicy"] = value_node(dict(patch.policy), doc.style)


def _webhook_patch(doc: _Document, patch: WebhookPatch) -> None:
    lid = _logical(patch.loc)
    if lid is None or lid not in doc.resources:
        return
    if patch.delete:
        del doc.resources[lid]
        _drop_references(doc, lid)
        return
    props = _props(doc, lid)
    if props is None or patch.secret_name is None:
        return
    props["Authentication"] = "GITHUB_HMAC"
    props["AuthenticationConfiguration"] = value_node(
        {"SecretToken": "{{resolve:secretsmanager:" + patch.secret_name + "}}"}, doc.style
    )


def _drop_references(doc: _Document, lid: str) -> None:
    outputs = doc.doc.get("Outputs")
    if isinstance(outputs, MutableMapping):
        for name in list(outputs):
            if lid in json.dumps(_jsonable_tags(outputs[name])):
                del outputs[name]
    for resource in doc.resources.values():
        if not isinstance(resource, MutableMapping):
            continue
        depends = resource.get("DependsOn")
        if depends == lid:
            del resource["DependsOn"]
        elif isinstance(depends, MutableSequence) and lid in depends:
            depends.remove(lid)


def _jsonable_tags(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable_tags(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable_tags(v) for v in value]
    if hasattr(value, "tag") and hasattr(value, "value"):
        return f"{value.tag} {value.value}"
    return value


# -- rendering ----------------------------------------------------------------------


def _resource_node(resource: NewResource, style: _Style, account_param: str | None) -> Any:
    body: dict[str, Any] = {"Type": resource.type, "Properties": dict(resource.properties)}
    if resource.depends_on:
        body["DependsOn"] = list(resource.depends_on)
    return value_node(body, style, account_param=account_param)


def _add_depends(resource: MutableMapping[str, Any], ids: list[str], style: _Style) -> None:
    if not ids:
        return
    current = resource.get("DependsOn")
    existing: list[str] = []
    if isinstance(current, str):
        existing = [current]
    elif isinstance(current, list):
        existing = [str(x) for x in current]
    merged = existing + [i for i in ids if i not in existing]
    resource["DependsOn"] = value_node(merged, style)


def _parameterise(value: Any, params: dict[str, str], notes: list[str], key: str = "") -> Any:
    """Unresolved values of the input become template parameters (a whole unresolved
    configuration becomes empty, with a note): a new template cannot invent them."""
    if isinstance(value, Unresolved):
        if key == "configuration":
            notes.append(f"a configuration is unresolved in the input ({value.reason}): set it")
            return {}
        for name, expr in params.items():
            if expr == value.expr:
                return Ref(name, "Ref", value.expr)
        name = f"Unresolved{len(params) + 1}"
        params[name] = value.expr
        return Ref(name, "Ref", value.expr)
    if isinstance(value, Mapping):
        return {k: _parameterise(v, params, notes, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_parameterise(v, params, notes, key) for v in value]
    return value


def _pipeline_resource(
    pipeline: PipelinePlan, style: _Style, params: dict[str, str], notes: list[str]
) -> Any:
    declaration = _parameterise(dict(pipeline.declaration), params, notes)
    declaration = localize(declaration, pipeline.account, pipeline.region)
    if style.known is not None:
        style.known |= set(params)
    if not isinstance(declaration.get("name"), str):
        declaration["name"] = pipeline.name
    props = _api_to_cfn_value("pipeline", declaration)
    props.pop("Version", None)
    return value_node({"Type": "AWS::CodePipeline::Pipeline", "Properties": props}, style)


def _externalize(value: Any, local: set[str], external: dict[str, tuple[str, str]]) -> Any:
    """References to resources of the pipeline's stack become parameters of another stack."""
    if isinstance(value, Ref) and value.logical_id not in local:
        name = value.logical_id + ("" if value.attr == "Ref" else value.attr.replace(".", ""))
        external[name] = (
            f"{value.attr} of `{value.logical_id}` in the pipeline's stack",
            value.value,
        )
        return Ref(name, "Ref", value.value)
    if isinstance(value, Join):
        return Join(tuple(_externalize(p, local, external) for p in value.parts))
    if isinstance(value, Mapping):
        return {k: _externalize(v, local, external) for k, v in value.items()}
    if isinstance(value, list):
        return [_externalize(v, local, external) for v in value]
    return value


def _target_templates(plan: FixPlan, yaml: bool) -> dict[str, str]:
    by_account: dict[str, list[NewResource]] = {}
    for pipeline in plan.pipelines:
        for resource in pipeline.resources:
            if resource.account:
                by_account.setdefault(resource.account, []).append(resource)
    out: dict[str, str] = {}
    for account, resources in by_account.items():
        doc = _Document(None, yaml=yaml)
        doc.doc["Description"] = (
            f"Roles in account {account} for cross-account actions of pipelines hardened by "
            "pipewarden fix; deploy this stack in that account"
        )
        params = doc.style.mapping()
        params["PipelineAccountId"] = value_node(
            {
                "Type": "String",
                "Description": "the account the pipeline (and its service role) lives in",
            },
            doc.style,
        )
        doc.doc["Parameters"] = params
        doc.doc.move_to_end("Resources") if hasattr(doc.doc, "move_to_end") else None
        local = {r.logical_id for r in resources}
        external: dict[str, tuple[str, str]] = {}
        for resource in resources:
            properties = _externalize(dict(resource.properties), local, external)
            body = NewResource(
                resource.logical_id,
                resource.type,
                properties,
                resource.tf_name,
                resource.depends_on,
            )
            doc.resources[resource.logical_id] = _resource_node(
                body, doc.style, "PipelineAccountId"
            )
        for name, (description, default) in external.items():
            spec: dict[str, Any] = {"Type": "String", "Description": description}
            if default and "${" not in default:
                spec["Default"] = default
            params[name] = value_node(spec, doc.style)
        out[account] = doc.dump()
    return out


def render(plan: FixPlan, *, text: str | None = None, yaml: bool = True) -> Emitted:
    """The fix as CloudFormation: ``text`` is the input template to patch (None: new)."""
    patching = (
        text is not None
        and plan.editable
        and all(p.pipeline.loc.style is KeyStyle.CLOUDFORMATION for p in plan.pipelines)
    )
    doc = _Document(text if patching else None, yaml=yaml)
    notes: list[str] = []
    style = doc.style
    style.known = set(doc.resources) | {
        r.logical_id for p in plan.pipelines for r in p.resources if not r.account
    }
    parameters = doc.doc.get("Parameters")
    if isinstance(parameters, Mapping):
        style.known |= set(parameters)
    for pipeline in plan.pipelines:
        new_ids: list[str] = []
        for resource in pipeline.resources:
            if resource.account:
                continue
            if resource.logical_id in doc.resources:
                raise RemediationError(
                    f"logical id `{resource.logical_id}` is already used in the template"
                )
            if not patching:
                resource = NewResource(
                    resource.logical_id,
                    resource.type,
                    localize(dict(resource.properties), pipeline.account, pipeline.region),
                    resource.tf_name,
                    resource.depends_on,
                    resource.account,
                    resource.purpose,
                )
            doc.resources[resource.logical_id] = _resource_node(resource, style, None)
        new_ids.extend(i for i in pipeline.depends if i in doc.resources)
        if patching and pipeline.patch_logical_id:
            target = doc.resources.get(pipeline.patch_logical_id)
            if not isinstance(target, MutableMapping):
                raise RemediationError(
                    f"pipeline resource `{pipeline.patch_logical_id}` is not in the template"
                )
            props = target.get("Properties")
            merger = _Merger(pipeline.original, props, style)
            merger.merge("pipeline", pipeline.declaration, pipeline.original, props)
            _add_depends(target, new_ids, style)
            for patch in pipeline.patches:
                if isinstance(patch, BucketPatch):
                    _bucket_patch(doc, patch, notes)
                elif isinstance(patch, ProjectPatch):
                    _project_patch(doc, patch)
                elif isinstance(patch, RepositoryPatch):
                    _repository_patch(doc, patch)
                elif isinstance(patch, LogGroupPatch):
                    _log_group_patch(doc, patch)
                elif isinstance(patch, WebhookPatch):
                    _webhook_patch(doc, patch)
        else:
            lid = pipeline.patch_logical_id or _pipeline_id(pipeline)
            params: dict[str, str] = {}
            node = _pipeline_resource(pipeline, style, params, notes)
            if params:
                section = doc.doc.get("Parameters")
                if not isinstance(section, MutableMapping):
                    section = style.mapping()
                    doc.doc["Parameters"] = section
                for name, expr in params.items():
                    section[name] = value_node(
                        {
                            "Type": "String",
                            "Description": f"unresolved in the input: {expr}"[:4000],
                        },
                        style,
                    )
            _add_depends(node, new_ids, style)
            doc.resources[lid] = node
    extra = _target_templates(plan, yaml)
    return Emitted(doc.dump(), extra, notes)


def _pipeline_id(pipeline: PipelinePlan) -> str:
    from pipewarden.remediate._values import logical_id

    return logical_id("Pw", pipeline.name, "Pipeline")
