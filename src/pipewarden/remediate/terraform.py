"""The fix as Terraform (HCL).

For a ``.tf`` module the module is patched: the ``aws_codepipeline`` block is
rewritten with the hardened declaration, keeping the input's own expression
for every value that did not change (``aws_iam_role.x.arn`` stays a
reference); resources the fix changes (a bucket, a project, a repository) are
rewritten or given their sub-resources; new resources go to a new file,
``pipewarden_fix.tf``, in the module. Every other block of every file is kept
byte for byte; comments inside a rewritten block are not kept.

For any other input a standalone module holds the hardened pipeline and the
resources it needs. Roles and policies for another account go to a module of
their own (``accounts/<id>/main.tf``), to be applied with that account's
provider.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from pipewarden.model import KeyStyle, Unresolved
from pipewarden.model.location import split_pointer
from pipewarden.remediate._decl import tf_to_api
from pipewarden.remediate._hcl import Block, JsonEncode, Raw, find_block, render_blocks
from pipewarden.remediate._iamdb import RemediationError
from pipewarden.remediate._values import Join, Ref, localize
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

__all__ = ["NEW_FILE", "render"]

NEW_FILE: Final = "pipewarden_fix.tf"
_ORIGIN: Final = "__origin__"


# -- raw python-hcl2 values (fragments of the input) ------------------------------------


def _fragment(raw: Any) -> Any:
    """A python-hcl2 value as something the writer prints verbatim."""
    if isinstance(raw, str):
        if raw.startswith('"<<') and raw.endswith('"'):
            return Raw(raw[1:-1])
        if raw.startswith("${") and raw.endswith("}") and raw.count("${") == 1:
            return Raw(raw[2:-1])
        return Raw(raw)
    if isinstance(raw, Mapping):
        return {str(k): _fragment(v) for k, v in raw.items() if not str(k).startswith("__")}
    if isinstance(raw, list):
        return [_fragment(v) for v in raw]
    return raw


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, Mapping) and v.get("__is_block__") for v in value)
    )


def _unquote(label: str) -> str:
    return label[1:-1] if label.startswith('"') and label.endswith('"') else label


def raw_block(kind: str, labels: Sequence[str], body: Mapping[str, Any]) -> Block:
    """A block of the input (python-hcl2 form) as a writer block."""
    block = Block(kind, tuple(labels))
    for key, item in body.items():
        if key.startswith("__"):
            continue
        if _is_block(item):
            for child in item:
                block.block(raw_block(key, (), child))
        else:
            block.attr(key, _fragment(item))
    return block


def _load(text: str) -> dict[str, Any]:
    """python-hcl2's form of a file (a copy: callers edit it)."""
    return copy.deepcopy(_parsed(text))


@lru_cache(maxsize=32)
def _parsed(text: str) -> dict[str, Any]:
    import hcl2

    try:
        data: Any = hcl2.loads(text)
    except Exception as exc:  # noqa: BLE001 - python-hcl2 raises several types
        raise RemediationError(f"the Terraform file cannot be re-read: {exc}") from None
    return data if isinstance(data, dict) else {}


def _raw_resource(text: str, rtype: str, name: str) -> dict[str, Any] | None:
    for entry in _load(text).get("resource", []):
        for key, instances in entry.items():
            if _unquote(key) != rtype:
                continue
            for label, body in instances.items():
                if _unquote(label) == name and isinstance(body, dict):
                    return body
    return None


# -- values ------------------------------------------------------------------------


def _tf_value(value: Any, variables: dict[str, str], notes: list[str], key: str = "") -> Any:
    """A plan value for the writer; input values left unresolved become variables."""
    if isinstance(value, Unresolved):
        if key == "configuration":
            notes.append(f"a configuration is unresolved in the input ({value.reason}): set it")
            return {}
        for name, expr in variables.items():
            if expr == value.expr:
                return Raw(f"var.{name}")
        name = f"unresolved_{len(variables) + 1}"
        variables[name] = value.expr
        return Raw(f"var.{name}")
    if isinstance(value, Mapping):
        return {
            str(k): _tf_value(v, variables, notes, str(k))
            for k, v in value.items()
            if not str(k).startswith("__")
        }
    if isinstance(value, list):
        return [_tf_value(v, variables, notes, key) for v in value]
    return value


def _names(artifacts: Any) -> list[Any]:
    return [a.get("name") for a in artifacts or [] if isinstance(a, Mapping)]


# -- the pipeline block ---------------------------------------------------------------


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = {k for k in a if not str(k).startswith("__")} | {
            k for k in b if not str(k).startswith("__")
        }
        return all(_equal(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Ref | Join) or isinstance(b, Ref | Join):
        return bool(a == b)
    if isinstance(a, bool | int | str) and isinstance(b, bool | int | str):
        return str(a).lower() == str(b).lower()
    return bool(a == b)


class _PipelineWriter:
    """Renders the ``aws_codepipeline`` block, reusing the input's expressions."""

    def __init__(
        self,
        plan: PipelinePlan,
        raw_api: Mapping[str, Any] | None,
        variables: dict[str, str],
        notes: list[str],
    ) -> None:
        self.plan = plan
        self.original = plan.original
        self.raw = raw_api or {}
        self.variables = variables
        self.notes = notes

    def pick(self, new: Any, old: Any, raw: Any, key: str = "") -> Any:
        if raw is not None and old is not None and _equal(new, old):
            return _fragment(raw)
        return _tf_value(new, self.variables, self.notes, key)

    def _stage_pair(self, stage: Mapping[str, Any]) -> tuple[Any, Any]:
        origin = stage.get(_ORIGIN)
        if not isinstance(origin, list) or len(origin) != 1:
            return None, None
        return _at(self.original.get("stages"), origin[0]), _at(self.raw.get("stages"), origin[0])

    def _action_pair(self, action: Mapping[str, Any]) -> tuple[Any, Any]:
        origin = action.get(_ORIGIN)
        if not isinstance(origin, list) or len(origin) != 2:
            return None, None
        old_stage = _at(self.original.get("stages"), origin[0]) or {}
        raw_stage = _at(self.raw.get("stages"), origin[0]) or {}
        return _at(old_stage.get("actions"), origin[1]), _at(raw_stage.get("actions"), origin[1])

    def block(self, name: str, raw_body: Mapping[str, Any] | None) -> Block:
        decl = self.plan.declaration
        block = Block("resource", ("aws_codepipeline", name))
        block.attr(
            "name",
            self.pick(
                decl.get("name", self.plan.name), self.original.get("name"), self.raw.get("name")
            ),
        )
        for key, tf in (
            ("roleArn", "role_arn"),
            ("pipelineType", "pipeline_type"),
            ("executionMode", "execution_mode"),
        ):
            if key in decl:
                block.attr(tf, self.pick(decl[key], self.original.get(key), self.raw.get(key)))
        stores: list[tuple[str | None, Any]] = []
        if isinstance(decl.get("artifactStore"), Mapping):
            stores.append((None, decl["artifactStore"]))
        elif isinstance(decl.get("artifactStores"), Mapping):
            stores.extend(decl["artifactStores"].items())
        for region, store in stores:
            old = (
                self.original.get("artifactStore")
                if region is None
                else (self.original.get("artifactStores") or {}).get(region)
            )
            raw = (
                self.raw.get("artifactStore")
                if region is None
                else (self.raw.get("artifactStores") or {}).get(region)
            )
            block.block(self.store(store, old or {}, raw or {}, region))
        for stage in decl.get("stages") or []:
            old, raw = self._stage_pair(stage)
            block.block(self.stage(stage, old or {}, raw or {}))
        for index, trigger in enumerate(decl.get("triggers") or []):
            old = _at(self.original.get("triggers"), index) or {}
            raw = _at(self.raw.get("triggers"), index) or {}
            block.block(self.generic("trigger", trigger, old, raw))
        for index, variable in enumerate(decl.get("variables") or []):
            old = _at(self.original.get("variables"), index) or {}
            raw = _at(self.raw.get("variables"), index) or {}
            block.block(self.generic("variable", variable, old, raw))
        if raw_body:
            known = {
                "name",
                "role_arn",
                "pipeline_type",
                "execution_mode",
                "artifact_store",
                "stage",
                "trigger",
                "variable",
            }
            for key, item in raw_body.items():
                if key in known or key.startswith("__"):
                    continue
                if _is_block(item):
                    for child in item:
                        block.block(raw_block(key, (), child))
                else:
                    block.attr(key, _fragment(item))
        return block

    def store(
        self,
        store: Mapping[str, Any],
        old: Mapping[str, Any],
        raw: Mapping[str, Any],
        region: str | None,
    ) -> Block:
        block = Block("artifact_store")
        for key in ("location", "type"):
            if key in store:
                block.attr(key, self.pick(store[key], old.get(key), raw.get(key)))
        if region:
            block.attr("region", region)
        encryption = store.get("encryptionKey")
        if isinstance(encryption, Mapping):
            old_key = old.get("encryptionKey") or {}
            raw_key = raw.get("encryptionKey") or {}
            child = Block("encryption_key")
            for name in ("id", "type"):
                if name in encryption:
                    child.attr(
                        name, self.pick(encryption[name], old_key.get(name), raw_key.get(name))
                    )
            block.block(child)
        return block

    def stage(
        self, stage: Mapping[str, Any], old: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> Block:
        block = Block("stage")
        block.attr("name", self.pick(stage.get("name"), old.get("name"), raw.get("name")))
        for action in stage.get("actions") or []:
            old_action, raw_action = self._action_pair(action)
            block.block(self.action(action, old_action or {}, raw_action or {}))
        for key, tf in (
            ("beforeEntry", "before_entry"),
            ("onSuccess", "on_success"),
            ("onFailure", "on_failure"),
        ):
            body = stage.get(key)
            if isinstance(body, Mapping):
                block.block(self.conditions(tf, body, old.get(key) or {}, raw.get(key) or {}))
        return block

    def action(
        self, action: Mapping[str, Any], old: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> Block:
        block = Block("action")
        block.attr("name", self.pick(action.get("name"), old.get("name"), raw.get("name")))
        type_id = action.get("actionTypeId") or {}
        old_type = old.get("actionTypeId") or {}
        raw_type = raw.get("actionTypeId") or {}
        for key in ("category", "owner", "provider", "version"):
            block.attr(key, self.pick(type_id.get(key), old_type.get(key), raw_type.get(key)))
        if "runOrder" in action:
            block.attr(
                "run_order", self.pick(action["runOrder"], old.get("runOrder"), raw.get("runOrder"))
            )
        config = action.get("configuration")
        if config is not None:
            block.attr(
                "configuration",
                self.config(config, old.get("configuration"), raw.get("configuration")),
            )
        for key, tf in (
            ("inputArtifacts", "input_artifacts"),
            ("outputArtifacts", "output_artifacts"),
        ):
            if action.get(key):
                new_names = _names(action[key])
                block.attr(
                    tf, self.pick(new_names, _names(old.get(key)), _names(raw.get(key)) or None)
                )
        for key, tf in (
            ("roleArn", "role_arn"),
            ("region", "region"),
            ("namespace", "namespace"),
            ("timeoutInMinutes", "timeout_in_minutes"),
            ("commands", "commands"),
            ("outputVariables", "output_variables"),
            ("environmentVariables", "environment_variables"),
        ):
            if key in action:
                block.attr(tf, self.pick(action[key], old.get(key), raw.get(key)))
        return block

    def config(self, new: Any, old: Any, raw: Any) -> Any:
        if not isinstance(new, Mapping):
            return _tf_value(new, self.variables, self.notes, "configuration")
        old = old if isinstance(old, Mapping) else {}
        raw = raw if isinstance(raw, Mapping) else {}
        return {k: self.pick(v, old.get(k), raw.get(k)) for k, v in new.items()}

    def conditions(
        self, tf: str, body: Mapping[str, Any], old: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> Block:
        block = Block(tf)
        if "result" in body:
            block.attr("result", self.pick(body["result"], old.get("result"), raw.get("result")))
        retry = body.get("retryConfiguration")
        if isinstance(retry, Mapping):
            block.block(
                Block("retry_configuration").attr(
                    "retry_mode", _tf_value(retry.get("retryMode"), self.variables, self.notes)
                )
            )
        for index, condition in enumerate(body.get("conditions") or []):
            old_c = _at(old.get("conditions"), index) or {}
            raw_c = _at(raw.get("conditions"), index) or {}
            child = Block("condition")
            if "result" in condition:
                child.attr(
                    "result",
                    self.pick(condition["result"], old_c.get("result"), raw_c.get("result")),
                )
            for r_index, rule in enumerate(condition.get("rules") or []):
                old_r = _at(old_c.get("rules"), r_index) or {}
                raw_r = _at(raw_c.get("rules"), r_index) or {}
                child.block(self.rule(rule, old_r, raw_r))
            block.block(child)
        return block

    def rule(
        self, rule: Mapping[str, Any], old: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> Block:
        block = Block("rule")
        block.attr("name", self.pick(rule.get("name"), old.get("name"), raw.get("name")))
        type_id = rule.get("ruleTypeId") or {}
        child = Block("rule_type_id")
        for key in ("category", "owner", "provider", "version"):
            if key in type_id:
                child.attr(key, _tf_value(type_id[key], self.variables, self.notes))
        block.block(child)
        if "configuration" in rule:
            block.attr(
                "configuration",
                self.config(
                    rule["configuration"], old.get("configuration"), raw.get("configuration")
                ),
            )
        if rule.get("commands"):
            block.attr(
                "commands", self.pick(rule["commands"], old.get("commands"), raw.get("commands"))
            )
        if rule.get("inputArtifacts"):
            block.attr(
                "input_artifacts",
                self.pick(
                    _names(rule["inputArtifacts"]),
                    _names(old.get("inputArtifacts")),
                    _names(raw.get("inputArtifacts")) or None,
                ),
            )
        for key, tf in (
            ("roleArn", "role_arn"),
            ("region", "region"),
            ("timeoutInMinutes", "timeout_in_minutes"),
        ):
            if key in rule:
                block.attr(tf, self.pick(rule[key], old.get(key), raw.get(key)))
        return block

    def generic(
        self, kind: str, node: Mapping[str, Any], old: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> Block:
        from pipewarden.remediate._decl import SCHEMA, tf_key

        schema = {
            "trigger": "trigger",
            "variable": "variable",
            "gitConfiguration": "git",
            "push": "push",
            "pullRequest": "pr",
            "branches": "incexc",
            "tags": "incexc",
            "filePaths": "incexc",
        }
        block = Block(tf_key(kind) if kind not in ("trigger", "variable") else kind)
        for key, spec in SCHEMA[schema[kind]]:
            if key not in node:
                continue
            item = node[key]
            if spec.startswith("O:") and isinstance(item, Mapping):
                block.block(self.generic(key, item, old.get(key) or {}, raw.get(key) or {}))
            elif spec.startswith("L:") and isinstance(item, list):
                for index, child in enumerate(item):
                    block.block(
                        self.generic(
                            key,
                            child,
                            _at(old.get(key), index) or {},
                            _at(raw.get(key), index) or {},
                        )
                    )
            else:
                block.attr(tf_key(key), self.pick(item, old.get(key), raw.get(key)))
        return block


def _at(items: Any, index: int) -> Any:
    if isinstance(items, list) and 0 <= index < len(items):
        return items[index]
    return None


# -- new resources -------------------------------------------------------------------


def _policy(document: Any) -> JsonEncode:
    return JsonEncode(document)


def resource_blocks(resource: NewResource) -> list[Block]:
    """Terraform blocks for a resource planned in CloudFormation terms."""
    p = resource.properties
    name = resource.tf_name
    kind = resource.type
    if kind == "AWS::IAM::Role":
        block = Block("resource", ("aws_iam_role", name))
        block.attr("name", p.get("RoleName"))
        block.attr("assume_role_policy", _policy(p["AssumeRolePolicyDocument"]))
        out = [block]
        for index, policy in enumerate(p.get("Policies") or []):
            inline = Block("resource", ("aws_iam_role_policy", f"{name}_{index}"))
            inline.attr("name", policy.get("PolicyName"))
            inline.attr("role", Raw(f"aws_iam_role.{name}.id"))
            inline.attr("policy", _policy(policy["PolicyDocument"]))
            out.append(inline)
        return out
    if kind == "AWS::IAM::Policy":
        out = []
        for key, rtype, attr in (
            ("Roles", "aws_iam_role_policy", "role"),
            ("Users", "aws_iam_user_policy", "user"),
            ("Groups", "aws_iam_group_policy", "group"),
        ):
            targets = p.get(key) or []
            for index, target in enumerate(targets):
                suffix = "" if len(targets) == 1 and key == "Roles" else f"_{attr}{index}"
                block = Block("resource", (rtype, f"{name}{suffix}"))
                block.attr("name", p.get("PolicyName"))
                block.attr(attr, target)
                block.attr("policy", _policy(p["PolicyDocument"]))
                out.append(block)
        return out
    if kind == "AWS::IAM::ManagedPolicy":
        policy = Block("resource", ("aws_iam_policy", name))
        policy.attr("name", p.get("ManagedPolicyName"))
        policy.attr("description", p.get("Description"))
        policy.attr("policy", _policy(p["PolicyDocument"]))
        out = [policy]
        for index, role in enumerate(p.get("Roles") or []):
            attach = Block("resource", ("aws_iam_role_policy_attachment", f"{name}_{index}"))
            attach.attr("role", role)
            attach.attr("policy_arn", Raw(f"aws_iam_policy.{name}.arn"))
            out.append(attach)
        return out
    if kind == "AWS::KMS::Key":
        block = Block("resource", ("aws_kms_key", name))
        block.attr("description", p.get("Description"))
        block.attr("enable_key_rotation", p.get("EnableKeyRotation", True))
        block.attr("policy", _policy(p["KeyPolicy"]))
        return [block]
    if kind == "AWS::S3::Bucket":
        return _bucket_blocks(name, Raw(f"aws_s3_bucket.{name}.id"), p, new=True)
    if kind == "AWS::S3::BucketPolicy":
        block = Block("resource", ("aws_s3_bucket_policy", name))
        block.attr("bucket", p["Bucket"])
        block.attr("policy", _policy(p["PolicyDocument"]))
        return [block]
    if kind == "AWS::Logs::LogGroup":
        group = Block("resource", ("aws_cloudwatch_log_group", name))
        group.attr("name", p.get("LogGroupName"))
        group.attr("retention_in_days", p.get("RetentionInDays"))
        out = [group]
        if "DataProtectionPolicy" in p:
            out.append(
                _data_protection(
                    name, Raw(f"aws_cloudwatch_log_group.{name}.name"), p["DataProtectionPolicy"]
                )
            )
        return out
    if kind == "AWS::CodeBuild::Project":
        return [_project(name, p)]
    if kind == "AWS::CodeConnections::Connection":
        block = Block("resource", ("aws_codeconnections_connection", name))
        block.attr("name", p.get("ConnectionName"))
        block.attr("provider_type", p.get("ProviderType"))
        return [block]
    raise RemediationError(f"no Terraform form for {kind} (`{resource.logical_id}`)")


def _data_protection(name: str, group: Any, policy: Any) -> Block:
    block = Block("resource", ("aws_cloudwatch_log_data_protection_policy", name))
    block.attr("log_group_name", group)
    block.attr("policy_document", _policy(policy))
    return block


def _bucket_blocks(name: str, bucket: Any, p: Mapping[str, Any], *, new: bool) -> list[Block]:
    out: list[Block] = []
    if new:
        block = Block("resource", ("aws_s3_bucket", name))
        block.attr("bucket", p.get("BucketName"))
        block.attr("object_lock_enabled", True)
        out.append(block)
    if p.get("VersioningConfiguration"):
        versioning = Block("resource", ("aws_s3_bucket_versioning", name))
        versioning.attr("bucket", bucket)
        versioning.block(Block("versioning_configuration").attr("status", "Enabled"))
        out.append(versioning)
    lock = p.get("ObjectLockConfiguration")
    if isinstance(lock, Mapping):
        retention = (lock.get("Rule") or {}).get("DefaultRetention") or {}
        block = Block("resource", ("aws_s3_bucket_object_lock_configuration", name))
        block.attr("bucket", bucket)
        rule = Block("rule")
        rule.block(
            Block("default_retention")
            .attr("mode", retention.get("Mode"))
            .attr("days", retention.get("Days"))
        )
        block.block(rule)
        if not new:
            block.body.insert(1, ("object_lock_enabled", "Enabled"))
        out.append(block)
    encryption = p.get("BucketEncryption")
    if isinstance(encryption, Mapping):
        rules = encryption.get("ServerSideEncryptionConfiguration") or []
        default = (rules[0] if rules else {}).get("ServerSideEncryptionByDefault") or {}
        block = Block("resource", ("aws_s3_bucket_server_side_encryption_configuration", name))
        block.attr("bucket", bucket)
        rule = Block("rule")
        rule.block(
            Block("apply_server_side_encryption_by_default")
            .attr("sse_algorithm", default.get("SSEAlgorithm"))
            .attr("kms_master_key_id", default.get("KMSMasterKeyID"))
        )
        rule.attr("bucket_key_enabled", True)
        block.block(rule)
        out.append(block)
    access = p.get("PublicAccessBlockConfiguration")
    if isinstance(access, Mapping):
        block = Block("resource", ("aws_s3_bucket_public_access_block", name))
        block.attr("bucket", bucket)
        for key, tf in (
            ("BlockPublicAcls", "block_public_acls"),
            ("BlockPublicPolicy", "block_public_policy"),
            ("IgnorePublicAcls", "ignore_public_acls"),
            ("RestrictPublicBuckets", "restrict_public_buckets"),
        ):
            block.attr(tf, access.get(key))
        out.append(block)
    return out


def _project(name: str, p: Mapping[str, Any]) -> Block:
    block = Block("resource", ("aws_codebuild_project", name))
    block.attr("name", p.get("Name"))
    block.attr("description", p.get("Description"))
    block.attr("service_role", p.get("ServiceRole"))
    block.attr("encryption_key", p.get("EncryptionKey"))
    block.attr("build_timeout", p.get("TimeoutInMinutes"))
    block.block(Block("artifacts").attr("type", "CODEPIPELINE"))
    env = p.get("Environment") or {}
    block.block(
        Block("environment")
        .attr("compute_type", env.get("ComputeType"))
        .attr("image", env.get("Image"))
        .attr("type", env.get("Type"))
        .attr("privileged_mode", env.get("PrivilegedMode", False))
    )
    logs = ((p.get("LogsConfig") or {}).get("CloudWatchLogs")) or {}
    block.block(
        Block("logs_config").block(
            Block("cloudwatch_logs")
            .attr("status", logs.get("Status"))
            .attr("group_name", logs.get("GroupName"))
        )
    )
    block.block(Block("source").attr("type", "CODEPIPELINE"))
    return block


# -- patches of the module's own resources --------------------------------------------


class _Module:
    """The module's files and the edits made to them."""

    def __init__(self, files: Mapping[str, str]) -> None:
        self.files = dict(files)
        self.changed: set[str] = set()

    def text(self, path: str) -> str:
        return self.files[path]

    def replace(self, path: str, rtype: str, name: str, block: Block | None) -> bool:
        text = self.files.get(path)
        if text is None:
            return False
        span = find_block(text, "resource", (rtype, name))
        if span is None:
            return False
        start, end = span
        rendered = (
            "" if block is None else render_blocks([block], existing_data=self.data_sources())
        )
        self.files[path] = text[:start] + rendered + text[end:]
        self.changed.add(path)
        return True

    def remove_referring(self, rtype: str, target: str) -> None:
        """Remove every ``rtype`` block whose body mentions ``target`` (an address)."""
        pattern = re.compile(re.escape(target) + r"\b")
        for path, text in list(self.files.items()):
            for entry in _load(text).get("resource", []):
                for key, instances in entry.items():
                    if _unquote(key) != rtype:
                        continue
                    for label, body in instances.items():
                        if pattern.search(json.dumps(body)):
                            self.replace(path, rtype, _unquote(label), None)

    def data_sources(self) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for text in self.files.values():
            for match in re.finditer(r'(?m)^\s*data\s+"([^"]+)"\s+"([^"]+)"', text):
                found.add((match.group(1), match.group(2)))
        return found


def _address(loc: Any) -> tuple[str, str, str] | None:
    tokens = split_pointer(loc.pointer)
    if len(tokens) >= 3 and tokens[0] == "resource":
        return loc.subject, tokens[1], tokens[2]
    return None


def _patch_block(module: _Module, loc: Any, edit: Any) -> None:
    address = _address(loc)
    if address is None:
        return
    path, rtype, name = address
    body = _raw_resource(module.text(path), rtype, name) if path in module.files else None
    if body is None:
        return
    edit(body)
    module.replace(path, rtype, name, raw_block("resource", (rtype, name), body))


def _first(body: dict[str, Any], key: str) -> dict[str, Any]:
    items: Any = body.get(key)
    if not _is_block(items):
        items = [{"__is_block__": True}]
        body[key] = items
    first: dict[str, Any] = items[0]
    return first


def _literal(value: Any) -> str:
    """A plan value in python-hcl2's fragment form."""
    if isinstance(value, Ref):
        return "${" + value.tf + "}" if value.tf else json.dumps(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value))


def _project_patch(module: _Module, patch: ProjectPatch) -> None:
    def edit(body: dict[str, Any]) -> None:
        env = _first(body, "environment")
        if patch.privileged_off:
            env["privileged_mode"] = False
        if patch.log_group is not None:
            logs = _first(body, "logs_config")
            logs["cloudwatch_logs"] = [
                {
                    "status": '"ENABLED"',
                    "group_name": _literal(patch.log_group),
                    "__is_block__": True,
                }
            ]
        if patch.encryption_on:
            for key in ("artifacts", "secondary_artifacts"):
                for item in body.get(key) or []:
                    if isinstance(item, dict):
                        item.pop("encryption_disabled", None)
            logs_config: Any = body.get("logs_config")
            for item in logs_config or []:
                s3_logs: Any = item.get("s3_logs") if isinstance(item, dict) else None
                for s3 in s3_logs or []:
                    if isinstance(s3, dict):
                        s3.pop("encryption_disabled", None)
        variables = env.get("environment_variable") or []
        for index, secret in patch.env_to_secrets:
            if index < len(variables) and isinstance(variables[index], dict):
                variables[index]["type"] = '"SECRETS_MANAGER"'
                variables[index]["value"] = json.dumps(secret)
        if patch.buildspec_secrets:
            source = _first(body, "source")
            spec = source.get("buildspec")
            if isinstance(spec, str):
                for literal, var, _ in patch.buildspec_secrets:
                    spec = spec.replace(literal, f"${var}")
                source["buildspec"] = spec
            for _, var, secret in patch.buildspec_secrets:
                variables.append(
                    {
                        "name": json.dumps(var),
                        "type": '"SECRETS_MANAGER"',
                        "value": json.dumps(secret),
                        "__is_block__": True,
                    }
                )
        if variables:
            env["environment_variable"] = variables
        if patch.source_location is not None:
            _first(body, "source")["location"] = json.dumps(patch.source_location)

    _patch_block(module, patch.loc, edit)


def _repository_patch(module: _Module, patch: RepositoryPatch) -> None:
    def edit(body: dict[str, Any]) -> None:
        if patch.immutable:
            body["image_tag_mutability"] = '"IMMUTABLE"'
            body.pop("image_tag_mutability_exclusion_filter", None)
        if patch.scan_on_push:
            body["image_scanning_configuration"] = [{"scan_on_push": True, "__is_block__": True}]

    _patch_block(module, patch.loc, edit)


def _bucket_patch(module: _Module, patch: BucketPatch, blocks: list[Block]) -> None:
    address = _address(patch.loc)
    if address is None:
        return
    path, rtype, name = address
    target = f"aws_s3_bucket.{name}"
    if patch.lock_mode:
        _patch_block(module, patch.loc, lambda body: body.__setitem__("object_lock_enabled", True))
    props: dict[str, Any] = {}
    if patch.versioning:
        module.remove_referring("aws_s3_bucket_versioning", target)
        props["VersioningConfiguration"] = {"Status": "Enabled"}
    if patch.lock_mode:
        module.remove_referring("aws_s3_bucket_object_lock_configuration", target)
        props["ObjectLockConfiguration"] = {
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": patch.lock_mode, "Days": patch.lock_days}},
        }
    if patch.kms_key is not None:
        module.remove_referring("aws_s3_bucket_server_side_encryption_configuration", target)
        props["BucketEncryption"] = {
            "ServerSideEncryptionConfiguration": [
                {
                    "ServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": patch.kms_key,
                    }
                }
            ]
        }
    bucket = Raw(f"{target}.id")
    blocks.extend(_bucket_blocks(f"{name}_pipewarden", bucket, props, new=False))
    if patch.policy_add or patch.policy_remove:
        module.remove_referring("aws_s3_bucket_policy", target)
        statements = [
            s for i, s in enumerate(patch.policy_existing) if i not in patch.policy_remove
        ]
        statements.extend(patch.policy_add)
        policy = Block("resource", ("aws_s3_bucket_policy", f"{name}_pipewarden"))
        policy.attr("bucket", bucket)
        policy.attr("policy", JsonEncode({"Version": "2012-10-17", "Statement": statements}))
        blocks.append(policy)
    del path, rtype


def _log_group_patch(module: _Module, patch: LogGroupPatch, blocks: list[Block]) -> None:
    address = _address(patch.loc)
    if address is None:
        return
    _, _, name = address
    target = f"aws_cloudwatch_log_group.{name}"
    module.remove_referring("aws_cloudwatch_log_data_protection_policy", target)
    blocks.append(_data_protection(f"{name}_pipewarden", Raw(f"{target}.name"), patch.policy))


def _webhook_patch(module: _Module, patch: WebhookPatch, blocks: list[Block]) -> None:
    address = _address(patch.loc)
    if address is None:
        return
    path, rtype, name = address
    if patch.delete:
        module.replace(path, rtype, name, None)
        return
    if patch.secret_name is None:
        return
    data_name = f"{name}_webhook_secret"
    blocks.append(
        Block("data", ("aws_secretsmanager_secret_version", data_name)).attr(
            "secret_id", patch.secret_name
        )
    )

    def edit(body: dict[str, Any]) -> None:
        body["authentication"] = '"GITHUB_HMAC"'
        body["authentication_configuration"] = [
            {
                "secret_token": "${data.aws_secretsmanager_secret_version."
                + data_name
                + ".secret_string}",
                "__is_block__": True,
            }
        ]

    _patch_block(module, patch.loc, edit)


# -- rendering ------------------------------------------------------------------------


def _localized(pipeline: PipelinePlan) -> PipelinePlan:
    """The plan with the pipeline's own account and region as the deployment's."""
    clone = copy.copy(pipeline)
    clone.declaration = localize(pipeline.declaration, pipeline.account, pipeline.region)
    return clone


def _variables_blocks(variables: Mapping[str, str]) -> list[Block]:
    return [
        Block("variable", (name,))
        .attr("type", Raw("string"))
        .attr("description", f"unresolved in the input: {expr}"[:500])
        for name, expr in variables.items()
    ]


def render(plan: FixPlan, *, module_files: Mapping[str, str] | None = None) -> dict[str, str]:
    """Files of the fix: patched module files (by path) and new ones.

    For a ``.tf`` module, keys are the paths of the files changed and of the new
    file beside them; otherwise ``main.tf`` (and ``accounts/<id>/main.tf``).
    """
    patching = (
        bool(module_files)
        and plan.editable
        and all(p.pipeline.loc.style is KeyStyle.TERRAFORM for p in plan.pipelines)
    )
    module = _Module(module_files or {})
    blocks: list[Block] = []
    variables: dict[str, str] = {}
    notes: list[str] = []
    accounts: dict[str, list[Block]] = {}
    for pipeline in plan.pipelines:
        for resource in pipeline.resources:
            if resource.account:
                accounts.setdefault(resource.account, []).extend(resource_blocks(resource))
                continue
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
            blocks.extend(resource_blocks(resource))
        address = _address(pipeline.pipeline.loc) if patching else None
        if address is not None:
            path, rtype, name = address
            text = module.text(path)
            raw_body = _raw_resource(text, rtype, name)
            raw_api = tf_to_api(raw_body) if raw_body is not None else None
            writer = _PipelineWriter(pipeline, raw_api, variables, notes)
            if not module.replace(path, rtype, name, writer.block(name, raw_body)):
                raise RemediationError(f"`{rtype}.{name}` was not found in {path}")
            for item in pipeline.patches:
                if isinstance(item, ProjectPatch):
                    _project_patch(module, item)
                elif isinstance(item, RepositoryPatch):
                    _repository_patch(module, item)
                elif isinstance(item, BucketPatch):
                    _bucket_patch(module, item, blocks)
                elif isinstance(item, LogGroupPatch):
                    _log_group_patch(module, item, blocks)
                elif isinstance(item, WebhookPatch):
                    _webhook_patch(module, item, blocks)
        else:
            name = re.sub(r"[^A-Za-z0-9_]", "_", pipeline.name) or "pipeline"
            pipeline = _localized(pipeline)
            writer = _PipelineWriter(pipeline, None, variables, notes)
            blocks.append(writer.block(name, None))
    out: dict[str, str] = {}
    header = "# Written by pipewarden fix: the resources the hardened pipeline needs.\n\n"
    if patching:
        for path in sorted(module.changed):
            out[path] = module.files[path]
        directory = Path(next(iter(module.files))).parent
        new_text = header + render_blocks(
            _variables_blocks(variables) + blocks, existing_data=module.data_sources()
        )
        out[str(directory / NEW_FILE)] = new_text
    else:
        out["main.tf"] = header + render_blocks(_variables_blocks(variables) + blocks)
    for account, account_blocks in accounts.items():
        out[f"accounts/{account}/main.tf"] = (
            f"# Apply in account {account}: roles and policies for the pipeline's "
            "cross-account actions.\n\n" + render_blocks(account_blocks)
        )
    return out
