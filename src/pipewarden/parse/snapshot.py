"""PipeWarden snapshots: raw AWS API responses plus gaps -> Inventory.

A snapshot (``"format": "pipewarden-snapshot"``, schema
``pipewarden/schema/snapshot-v1.json``, documented in ``docs/snapshot.md``)
holds, per account and region, the verbatim responses of the read-only AWS
calls the collector made, keyed by resource identifier, and the ``gaps``: what
could not be read and why. Nothing is interpreted at collection time, so a
snapshot taken today can be re-scanned by next year's rules.

This module validates the structure explicitly (a :class:`ParseError` naming
the JSON pointer and line of the first bad value) and builds the Inventory.
Locations are live-style (``<pipeline ARN>#/pipeline/...``) and carry no file
positions, so a scan of a snapshot reports exactly what a live scan would.

A snapshot may span several accounts and regions. Regional resources are
named per account and region (two accounts may each have a CodeBuild project
called ``build``), so every pipeline is evaluated against the inventory of
its own account and region (:meth:`Inventory.for_pipeline`), which also holds
the global resources (IAM roles and S3 buckets of every account, KMS keys and
connections by ARN).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, TypeVar
from urllib.parse import unquote

from pipewarden.errors import ParseError
from pipewarden.model import (
    ActionType,
    Bucket,
    CodeBuildProject,
    Connection,
    EcrRepository,
    EnvVar,
    GapRecord,
    IdentityPolicy,
    Inventory,
    KeyStyle,
    KmsKey,
    LambdaFunction,
    Loc,
    LogGroup,
    ManagedPolicy,
    ObjectLock,
    Pipeline,
    PipelineWebhook,
    Role,
    Secret,
    WebhookFilterGroup,
)
from pipewarden.model.location import escape_token
from pipewarden.parse._source import JsonPositions, check_depth, load_json
from pipewarden.parse.declaration import parse_declaration

__all__ = [
    "FORMAT",
    "KEY_PATTERNS",
    "SCHEMA_VERSION",
    "SOURCE_KIND",
    "is_snapshot",
    "parse_snapshot",
]

_K = TypeVar("_K")
_V = TypeVar("_V")

FORMAT: Final = "pipewarden-snapshot"
SCHEMA_VERSION: Final = "1"
SOURCE_KIND: Final = "snapshot"

# Identifier patterns; the schema's $defs carry the same ones (a test keeps them equal).
KEY_PATTERNS: Final[Mapping[str, str]] = {
    "account_id": r"^[0-9]{12}$",
    "region_name": r"^[a-z]{2,}(-[a-z]+)+-[0-9]+$",
    "role_arn": r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$",
    "user_arn": r"^arn:aws[a-z-]*:iam::[0-9]{12}:user/.+$",
    "group_arn": r"^arn:aws[a-z-]*:iam::[0-9]{12}:group/.+$",
    "policy_arn": r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$",
    "pipeline_arn": r"^arn:aws[a-z-]*:codepipeline:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9.@_-]+$",
    "kms_key_arn": r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$",
    "connection_arn": (
        r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/.+$"
    ),
    "secret_arn": r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$",
    "action_type_key": (
        r"^(Source|Build|Deploy|Test|Invoke|Approval|Compute)/(AWS|ThirdParty|Custom)"
        r"/[0-9A-Za-z_-]{1,35}/[0-9A-Za-z_-]{1,9}$"
    ),
    "bucket_name": r"^[A-Za-z0-9._-]{3,255}$",
    "function_name": r"^[A-Za-z0-9_-]{1,140}$",
    "log_group_name": r"^[.\-_/#A-Za-z0-9]{1,512}$",
    "repository_name": r"^[a-z0-9][a-z0-9._/-]{0,255}$",
}
_RE: Final = {name: re.compile(pattern) for name, pattern in KEY_PATTERNS.items()}
_PARTITION: Final = re.compile(r"^aws(-[a-z]+)*$")
_RFC3339: Final = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)

RESOURCE_KINDS: Final = frozenset(
    {
        "pipeline",
        "role",
        "user",
        "group",
        "policy",
        "identity-policies",
        "bucket",
        "kms-key",
        "connection",
        "codebuild-project",
        "webhook",
        "action-type",
        "lambda-function",
        "secret",
        "log-group",
        "ecr-repository",
        "ecr-registry",
        "region",
        "account",
    }
)
# Kinds whose identifiers are unique across accounts and regions (ARNs, bucket names).
_GLOBAL_KINDS: Final = frozenset(
    {"pipeline", "role", "user", "group", "policy", "bucket", "kms-key", "connection", "secret"}
)

# Service errors that are themselves the answer: "this is not configured".
_NOT_CONFIGURED: Final[Mapping[str, frozenset[str]]] = {
    "GetObjectLockConfiguration": frozenset({"ObjectLockConfigurationNotFoundError"}),
    "GetBucketEncryption": frozenset({"ServerSideEncryptionConfigurationNotFoundError"}),
    "GetBucketPolicy": frozenset({"NoSuchBucketPolicy"}),
    "GetPublicAccessBlock": frozenset({"NoSuchPublicAccessBlockConfiguration"}),
    "GetDataProtectionPolicy": frozenset({"ResourceNotFoundException"}),
}

_TOP_KEYS: Final = frozenset(
    {"format", "schema_version", "tool_version", "collected_at", "partition", "accounts", "gaps"}
)
_ACCOUNT_KEYS: Final = frozenset({"account_id", "global", "regions"})
_GLOBAL_KEYS: Final = frozenset({"iam", "s3"})
_IAM_KEYS: Final = frozenset({"principals_complete", "roles", "users", "groups", "policies"})
_REGION_KEYS: Final = frozenset(
    {
        "codepipeline",
        "codebuild",
        "codeconnections",
        "kms",
        "lambda",
        "secretsmanager",
        "logs",
        "ecr",
    }
)
_GAP_KEYS: Final = frozenset(
    {
        "account_id",
        "region",
        "service",
        "operation",
        "resource_kind",
        "resource",
        "error_code",
        "message",
    }
)
_PUSH_SCANS: Final = frozenset({"SCAN_ON_PUSH", "CONTINUOUS_SCAN"})
# iam:GetAccountAuthorizationDetails, stored element by element under each principal and policy.
_GAAD: Final = "GetAccountAuthorizationDetails"


def is_snapshot(doc: Any) -> bool:
    """Whether a decoded JSON document declares itself a PipeWarden snapshot."""
    return isinstance(doc, Mapping) and doc.get("format") == FORMAT


def _child(ptr: str, *keys: str | int) -> str:
    return ptr + "".join("/" + escape_token(str(k)) for k in keys)


def _kind(node: Any) -> str:
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "a boolean"
    if isinstance(node, int | float):
        return "a number"
    if isinstance(node, str):
        return "a string"
    if isinstance(node, list):
        return "an array"
    return "an object"


class _Reader:
    """Typed access to the decoded document; every failure names its pointer and line."""

    def __init__(self, source: str, text: str | None) -> None:
        self.source = source
        self._text = text
        self._positions: JsonPositions | None = None

    def error(self, ptr: str, message: str) -> ParseError:
        line = None
        if self._text is not None:
            if self._positions is None:
                self._positions = JsonPositions(self._text)
            spot = self._positions.locate(ptr)
            if spot is not None:
                line = spot[0]
        return ParseError(self.source, f"snapshot {ptr or '/'}: {message}", pointer=ptr, line=line)

    # -- shapes ------------------------------------------------------------

    def obj(self, node: Any, ptr: str) -> Mapping[str, Any]:
        if not isinstance(node, Mapping):
            raise self.error(ptr, f"expected an object, found {_kind(node)}")
        return node

    def arr(self, node: Any, ptr: str) -> list[Any]:
        if not isinstance(node, list):
            raise self.error(ptr, f"expected an array, found {_kind(node)}")
        return node

    def string(self, node: Any, ptr: str) -> str:
        if not isinstance(node, str):
            raise self.error(ptr, f"expected a string, found {_kind(node)}")
        return node

    def closed(self, node: Mapping[str, Any], ptr: str, allowed: frozenset[str]) -> None:
        for key in node:
            if key not in allowed:
                raise self.error(_child(ptr, key), f"unknown member `{key}`")

    def required(self, node: Mapping[str, Any], key: str, ptr: str) -> Any:
        if key not in node:
            raise self.error(ptr, f"`{key}` is required")
        return node[key]

    def opt_obj(self, node: Mapping[str, Any], key: str, ptr: str) -> Mapping[str, Any] | None:
        value = node.get(key)
        return None if value is None else self.obj(value, _child(ptr, key))

    def opt_arr(self, node: Mapping[str, Any], key: str, ptr: str) -> list[Any]:
        value = node.get(key)
        return [] if value is None else self.arr(value, _child(ptr, key))

    def opt_str(self, node: Mapping[str, Any], key: str, ptr: str) -> str | None:
        value = node.get(key)
        return None if value is None else self.string(value, _child(ptr, key))

    def opt_bool(self, node: Mapping[str, Any], key: str, ptr: str) -> bool | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.error(_child(ptr, key), f"expected a boolean, found {_kind(value)}")
        return value

    def opt_int(self, node: Mapping[str, Any], key: str, ptr: str) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(_child(ptr, key), f"expected an integer, found {_kind(value)}")
        return value

    def req_str(self, node: Mapping[str, Any], key: str, ptr: str) -> str:
        return self.string(self.required(node, key, ptr), _child(ptr, key))

    def req_obj(self, node: Mapping[str, Any], key: str, ptr: str) -> Mapping[str, Any]:
        return self.obj(self.required(node, key, ptr), _child(ptr, key))

    def ident(self, value: str, pattern: str, ptr: str) -> str:
        if not _RE[pattern].fullmatch(value):
            raise self.error(ptr, f"`{value[:200]}` is not a valid {pattern.replace('_', ' ')}")
        return value

    def keyed(
        self, node: Mapping[str, Any], key: str, ptr: str, pattern: str | None = None
    ) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        """Entries of a map keyed by resource identifier, in key order."""
        holder = self.opt_obj(node, key, ptr)
        if holder is None:
            return
        holder_ptr = _child(ptr, key)
        for ident in sorted(holder):
            entry_ptr = _child(holder_ptr, ident)
            if pattern is not None:
                self.ident(ident, pattern, entry_ptr)
            yield ident, self.obj(holder[ident], entry_ptr), entry_ptr

    def same(self, key: str, found: str, ptr: str, what: str) -> None:
        if key != found:
            raise self.error(ptr, f"{what} `{found[:200]}` does not match its key `{key[:200]}`")

    # -- embedded documents -----------------------------------------------

    def json_text(self, raw: str, ptr: str) -> Any:
        try:
            return load_json(raw, self.source)
        except ParseError as exc:
            raise self.error(ptr, f"embedded JSON is not valid: {exc.message}") from exc

    def policy(self, value: Any, ptr: str) -> dict[str, Any]:
        """A policy document: an object, or JSON text (URL-encoded, as IAM sends it, or not)."""
        if isinstance(value, Mapping):
            return dict(value)
        raw = self.string(value, ptr)
        stripped = raw.strip()
        if not stripped.startswith(("{", "[")) and "%" in stripped:
            stripped = unquote(stripped).strip()
        doc = self.json_text(stripped, ptr)
        if not isinstance(doc, Mapping):
            raise self.error(ptr, f"policy document must be a JSON object, found {_kind(doc)}")
        return dict(doc)


# ---------------------------------------------------------------------------
# What the parse collects before the inventories are assembled


@dataclass(frozen=True, slots=True)
class _ScopedGap:
    account: str | None
    region: str | None
    record: GapRecord


@dataclass(slots=True)
class _Scope:
    """The regional resources of one account and region."""

    account: str
    region: str
    pipelines: list[Pipeline] = field(default_factory=list)
    kms_keys: dict[str, KmsKey] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    action_types: dict[tuple[str, str, str, str], ActionType] = field(default_factory=dict)
    codebuild_projects: dict[str, CodeBuildProject] = field(default_factory=dict)
    webhooks: list[PipelineWebhook] = field(default_factory=list)
    lambdas: dict[str, LambdaFunction] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    log_groups: dict[str, LogGroup] = field(default_factory=dict)
    ecr_repositories: dict[str, EcrRepository] = field(default_factory=dict)
    ecr_registry_scan_on_push: bool | None = None


@dataclass(slots=True)
class _Account:
    account_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    identity_policies: list[IdentityPolicy] = field(default_factory=list)
    identity_complete: bool = False
    scopes: list[_Scope] = field(default_factory=list)


@dataclass(slots=True)
class _Principal:
    inline: dict[str, dict[str, Any]]
    managed: list[ManagedPolicy]
    complete: bool


def _arn_field(arn: str, index: int) -> str:
    parts = arn.split(":")
    return parts[index] if len(parts) > index else ""


def _short_name(kind: str, resource: str) -> str:
    """The identifier lookups use: project and function names rather than ARNs."""
    if not resource.startswith("arn:"):
        return resource
    if kind == "codebuild-project":
        return resource.rsplit("/", 1)[-1]
    if kind == "lambda-function":
        return _arn_field(resource, 6) or resource
    return resource


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


class _SnapshotParser:
    def __init__(self, reader: _Reader) -> None:
        self.r = reader
        self.gaps: list[_ScopedGap] = []
        self._gap_keys: set[tuple[str, str]] = set()
        self.policy_docs: dict[str, dict[str, Any] | None] = {}

    # -- gaps --------------------------------------------------------------

    def add_gap(
        self,
        account: str | None,
        region: str | None,
        kind: str,
        resource: str,
        operation: str,
        reason: str,
    ) -> None:
        self.gaps.append(_ScopedGap(account, region, GapRecord(kind, resource, reason, operation)))
        self._gap_keys.add((kind, resource))

    def add_missing(
        self, account: str, region: str | None, kind: str, resource: str, operation: str
    ) -> None:
        """A resource whose primary read is absent: recorded unless a gap already says why."""
        if (kind, resource) not in self._gap_keys and (kind, "*") not in self._gap_keys:
            self.add_gap(
                account, region, kind, resource, operation, f"{operation}: not in snapshot"
            )

    def parse_gaps(self, doc: Mapping[str, Any]) -> None:
        r = self.r
        for index, raw in enumerate(r.arr(r.required(doc, "gaps", ""), "/gaps")):
            ptr = _child("/gaps", index)
            gap = r.obj(raw, ptr)
            r.closed(gap, ptr, _GAP_KEYS)
            for key in _GAP_KEYS:
                r.required(gap, key, ptr)
            account = r.opt_str(gap, "account_id", ptr)
            if account is not None:
                r.ident(account, "account_id", _child(ptr, "account_id"))
            region = r.opt_str(gap, "region", ptr)
            if region is not None:
                r.ident(region, "region_name", _child(ptr, "region"))
            service = r.req_str(gap, "service", ptr)
            operation = r.req_str(gap, "operation", ptr)
            kind = r.req_str(gap, "resource_kind", ptr)
            if kind not in RESOURCE_KINDS:
                raise r.error(_child(ptr, "resource_kind"), f"unknown resource kind `{kind[:60]}`")
            resource = r.opt_str(gap, "resource", ptr) or "*"
            code = r.req_str(gap, "error_code", ptr)
            message = r.req_str(gap, "message", ptr)
            if not service or not operation or not code:
                raise r.error(ptr, "`service`, `operation` and `error_code` must not be empty")
            reason = f"{operation}: {code} ({message})" if message else f"{operation}: {code}"
            self.add_gap(account, region, kind, _short_name(kind, resource), operation, reason)

    def answered(
        self,
        entry: Mapping[str, Any],
        op: str,
        ptr: str,
        *,
        account: str,
        region: str | None,
        kind: str,
        resource: str,
    ) -> tuple[bool, Mapping[str, Any] | None]:
        """(known, response) of one operation: known with None means "not configured"."""
        raw = entry.get(op)
        if raw is None:
            return False, None
        op_ptr = _child(ptr, op)
        response = self.r.obj(raw, op_ptr)
        error = response.get("Error")
        if error is None:
            return True, response
        error = self.r.obj(error, _child(op_ptr, "Error"))
        code = self.r.req_str(error, "Code", _child(op_ptr, "Error"))
        if code in _NOT_CONFIGURED.get(op, frozenset()):
            return True, None
        message = self.r.opt_str(error, "Message", _child(op_ptr, "Error")) or ""
        reason = f"{op}: {code} ({message})" if message else f"{op}: {code}"
        self.add_gap(account, region, kind, resource, op, reason)
        return False, None

    # -- IAM ---------------------------------------------------------------

    def collect_policies(self, accounts: list[tuple[Mapping[str, Any], str]]) -> None:
        """Managed policy documents of every account (AWS-managed ones may be filed anywhere)."""
        r = self.r
        for account, ptr in accounts:
            glob = r.opt_obj(account, "global", ptr)
            iam = r.opt_obj(glob, "iam", _child(ptr, "global")) if glob is not None else None
            if iam is None:
                continue
            iam_ptr = _child(ptr, "global", "iam")
            for arn, entry, e_ptr in r.keyed(iam, "policies", iam_ptr, "policy_arn"):
                r.closed(entry, e_ptr, frozenset({"GetPolicy", "GetPolicyVersion", _GAAD}))
                default_version = None
                policy = r.opt_obj(entry, "GetPolicy", e_ptr)
                if policy is not None:
                    p_ptr = _child(e_ptr, "GetPolicy")
                    body = r.req_obj(policy, "Policy", p_ptr)
                    b_ptr = _child(p_ptr, "Policy")
                    r.same(arn, r.req_str(body, "Arn", b_ptr), _child(b_ptr, "Arn"), "policy ARN")
                    default_version = r.opt_str(body, "DefaultVersionId", b_ptr)
                doc = None
                version = r.opt_obj(entry, "GetPolicyVersion", e_ptr)
                if version is not None:
                    v_ptr = _child(e_ptr, "GetPolicyVersion")
                    body = r.req_obj(version, "PolicyVersion", v_ptr)
                    b_ptr = _child(v_ptr, "PolicyVersion")
                    doc = r.policy(r.required(body, "Document", b_ptr), _child(b_ptr, "Document"))
                    version_id = r.opt_str(body, "VersionId", b_ptr)
                    is_default = r.opt_bool(body, "IsDefaultVersion", b_ptr)
                    if is_default is False or (
                        default_version is not None
                        and version_id is not None
                        and version_id != default_version
                    ):
                        doc = None  # not the version in force
                if doc is None and _GAAD in entry:
                    doc = self.gaad_policy(arn, entry[_GAAD], _child(e_ptr, _GAAD))
                self.policy_docs.setdefault(arn, doc)
                if doc is not None:
                    self.policy_docs[arn] = doc

    def gaad_policy(self, arn: str, raw: Any, ptr: str) -> dict[str, Any] | None:
        """The default-version document of a ``Policies`` element of
        GetAccountAuthorizationDetails (None when that version is not in it)."""
        r = self.r
        body = r.obj(raw, ptr)
        r.same(arn, r.req_str(body, "Arn", ptr), _child(ptr, "Arn"), "policy ARN")
        default_version = r.opt_str(body, "DefaultVersionId", ptr)
        for index, item in enumerate(r.opt_arr(body, "PolicyVersionList", ptr)):
            v_ptr = _child(ptr, "PolicyVersionList", index)
            version = r.obj(item, v_ptr)
            is_default = r.opt_bool(version, "IsDefaultVersion", v_ptr)
            version_id = r.opt_str(version, "VersionId", v_ptr)
            if is_default or (default_version is not None and version_id == default_version):
                return r.policy(r.required(version, "Document", v_ptr), _child(v_ptr, "Document"))
        return None

    def gaad_principal(self, raw: Any, ptr: str, noun: str) -> _Principal:
        """Inline and attached policies from a GetAccountAuthorizationDetails element."""
        r = self.r
        body = r.obj(raw, ptr)
        complete = True
        inline: dict[str, dict[str, Any]] = {}
        for index, item in enumerate(r.opt_arr(body, f"{noun}PolicyList", ptr)):
            i_ptr = _child(ptr, f"{noun}PolicyList", index)
            policy = r.obj(item, i_ptr)
            name = r.req_str(policy, "PolicyName", i_ptr)
            inline[name] = r.policy(
                r.required(policy, "PolicyDocument", i_ptr), _child(i_ptr, "PolicyDocument")
            )
        managed: list[ManagedPolicy] = []
        for index, item in enumerate(r.opt_arr(body, "AttachedManagedPolicies", ptr)):
            i_ptr = _child(ptr, "AttachedManagedPolicies", index)
            arn = r.ident(
                r.req_str(r.obj(item, i_ptr), "PolicyArn", i_ptr),
                "policy_arn",
                _child(i_ptr, "PolicyArn"),
            )
            doc = self.policy_docs.get(arn)
            if doc is None:
                complete = False
            managed.append(ManagedPolicy(arn, doc))
        return _Principal(inline, managed, complete)

    def principal(self, entry: Mapping[str, Any], ptr: str, noun: str) -> _Principal:
        """Inline and attached policies of a role, user or group (``noun``: Role/User/Group)."""
        if _GAAD in entry:
            return self.gaad_principal(entry[_GAAD], _child(ptr, _GAAD), noun)
        r = self.r
        complete = True
        inline: dict[str, dict[str, Any]] = {}
        names_resp = r.opt_obj(entry, f"List{noun}Policies", ptr)
        names: list[str] = []
        if names_resp is None:
            complete = False
        else:
            n_ptr = _child(ptr, f"List{noun}Policies")
            names_raw = r.arr(
                r.required(names_resp, "PolicyNames", n_ptr), _child(n_ptr, "PolicyNames")
            )
            names = [r.string(n, _child(n_ptr, "PolicyNames", i)) for i, n in enumerate(names_raw)]
        got = r.opt_obj(entry, f"Get{noun}Policy", ptr) or {}
        g_ptr = _child(ptr, f"Get{noun}Policy")
        for name in sorted(got):
            one_ptr = _child(g_ptr, name)
            body = r.obj(got[name], one_ptr)
            r.same(
                name,
                r.req_str(body, "PolicyName", one_ptr),
                _child(one_ptr, "PolicyName"),
                "policy name",
            )
            inline[name] = r.policy(
                r.required(body, "PolicyDocument", one_ptr), _child(one_ptr, "PolicyDocument")
            )
        if any(name not in inline for name in names):
            complete = False
        managed: list[ManagedPolicy] = []
        attached = r.opt_obj(entry, f"ListAttached{noun}Policies", ptr)
        if attached is None:
            complete = False
        else:
            a_ptr = _child(ptr, f"ListAttached{noun}Policies")
            items = r.arr(
                r.required(attached, "AttachedPolicies", a_ptr), _child(a_ptr, "AttachedPolicies")
            )
            for index, item in enumerate(items):
                i_ptr = _child(a_ptr, "AttachedPolicies", index)
                body = r.obj(item, i_ptr)
                arn = r.ident(
                    r.req_str(body, "PolicyArn", i_ptr), "policy_arn", _child(i_ptr, "PolicyArn")
                )
                doc = self.policy_docs.get(arn)
                if doc is None:
                    complete = False
                managed.append(ManagedPolicy(arn, doc))
        return _Principal(inline, managed, complete)

    def parse_iam(self, iam: Mapping[str, Any], ptr: str, acct: _Account) -> None:
        r = self.r
        r.closed(iam, ptr, _IAM_KEYS)
        flag = r.opt_bool(iam, "principals_complete", ptr)
        complete = bool(flag)
        kinds = (
            ("roles", "role", "Role", "role_arn"),
            ("users", "user", "User", "user_arn"),
            ("groups", "group", "Group", "group_arn"),
        )
        for container, kind, noun, pattern in kinds:
            allowed = frozenset(
                {
                    f"Get{noun}",
                    f"List{noun}Policies",
                    f"Get{noun}Policy",
                    f"ListAttached{noun}Policies",
                    _GAAD,
                }
                | ({"ListGroupsForUser"} if noun == "User" else set())
            )
            for arn, entry, e_ptr in r.keyed(iam, container, ptr, pattern):
                r.closed(entry, e_ptr, allowed)
                if _arn_field(arn, 4) != acct.account_id:
                    raise r.error(e_ptr, f"{kind} `{arn}` is not in account {acct.account_id}")
                found = self.principal(entry, e_ptr, noun)
                complete = complete and found.complete
                for name, doc in found.inline.items():
                    acct.identity_policies.append(IdentityPolicy(arn, kind, name, doc))
                for policy in found.managed:
                    if policy.document is not None:
                        acct.identity_policies.append(
                            IdentityPolicy(arn, kind, policy.name, policy.document)
                        )
                get = r.opt_obj(entry, f"Get{noun}", e_ptr)
                body = None
                if get is not None:
                    g_ptr = _child(e_ptr, f"Get{noun}")
                    body = r.req_obj(get, noun, g_ptr)
                    b_ptr = _child(g_ptr, noun)
                elif _GAAD in entry:
                    b_ptr = _child(e_ptr, _GAAD)
                    body = r.obj(entry[_GAAD], b_ptr)
                if body is not None:
                    r.same(arn, r.req_str(body, "Arn", b_ptr), _child(b_ptr, "Arn"), f"{kind} ARN")
                    r.req_str(body, f"{noun}Name", b_ptr)
                if kind != "role":
                    continue
                if body is None:
                    self.add_missing(acct.account_id, None, "role", arn, "GetRole")
                    continue
                trust_raw = body.get("AssumeRolePolicyDocument")
                trust = (
                    None
                    if trust_raw is None
                    else r.policy(trust_raw, _child(b_ptr, "AssumeRolePolicyDocument"))
                )
                acct.roles[arn] = Role(
                    arn=arn,
                    name=body["RoleName"],
                    trust_policy=trust,
                    inline_policies=found.inline,
                    managed_policies=tuple(found.managed),
                    complete=found.complete,
                )
        acct.identity_complete = complete

    # -- S3 ----------------------------------------------------------------

    def parse_s3(self, s3: Mapping[str, Any], ptr: str, acct: _Account) -> None:
        r = self.r
        r.closed(s3, ptr, frozenset({"buckets"}))
        ops = frozenset(
            {
                "GetBucketLocation",
                "GetBucketVersioning",
                "GetObjectLockConfiguration",
                "GetBucketEncryption",
                "GetBucketPolicy",
                "GetPublicAccessBlock",
            }
        )
        for name, entry, e_ptr in r.keyed(s3, "buckets", ptr, "bucket_name"):
            r.closed(entry, e_ptr, ops)
            if not entry:
                self.add_missing(acct.account_id, None, "bucket", name, "GetBucketVersioning")
                continue

            def answered(
                op: str, entry: Mapping[str, Any] = entry, e_ptr: str = e_ptr, name: str = name
            ) -> tuple[bool, Mapping[str, Any] | None]:
                return self.answered(
                    entry,
                    op,
                    e_ptr,
                    account=acct.account_id,
                    region=None,
                    kind="bucket",
                    resource=name,
                )

            region = None
            location = r.opt_obj(entry, "GetBucketLocation", e_ptr)
            if location is not None:
                constraint = r.opt_str(
                    location, "LocationConstraint", _child(e_ptr, "GetBucketLocation")
                )
                region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(
                    constraint, constraint
                )

            versioning = None
            v_known, v_resp = answered("GetBucketVersioning")
            if v_known and v_resp is not None:
                status = r.opt_str(v_resp, "Status", _child(e_ptr, "GetBucketVersioning"))
                versioning = status == "Enabled"

            lock: ObjectLock | None = None
            lock_known, lock_resp = answered("GetObjectLockConfiguration")
            if lock_resp is not None:
                l_ptr = _child(e_ptr, "GetObjectLockConfiguration")
                config = r.req_obj(lock_resp, "ObjectLockConfiguration", l_ptr)
                c_ptr = _child(l_ptr, "ObjectLockConfiguration")
                if r.opt_str(config, "ObjectLockEnabled", c_ptr) == "Enabled":
                    rule = r.opt_obj(config, "Rule", c_ptr) or {}
                    retention = r.opt_obj(rule, "DefaultRetention", _child(c_ptr, "Rule")) or {}
                    rt_ptr = _child(c_ptr, "Rule", "DefaultRetention")
                    lock = ObjectLock(
                        enabled=True,
                        mode=r.opt_str(retention, "Mode", rt_ptr),
                        days=r.opt_int(retention, "Days", rt_ptr),
                        years=r.opt_int(retention, "Years", rt_ptr),
                    )

            sse_algorithm = sse_key = None
            enc_known, enc_resp = answered("GetBucketEncryption")
            if enc_resp is not None:
                x_ptr = _child(e_ptr, "GetBucketEncryption")
                config = r.req_obj(enc_resp, "ServerSideEncryptionConfiguration", x_ptr)
                c_ptr = _child(x_ptr, "ServerSideEncryptionConfiguration")
                rules = r.arr(r.required(config, "Rules", c_ptr), _child(c_ptr, "Rules"))
                for index, rule_raw in enumerate(rules):
                    rule_ptr = _child(c_ptr, "Rules", index)
                    default = r.opt_obj(
                        r.obj(rule_raw, rule_ptr), "ApplyServerSideEncryptionByDefault", rule_ptr
                    )
                    if default is None:
                        continue
                    d_ptr = _child(rule_ptr, "ApplyServerSideEncryptionByDefault")
                    sse_algorithm = r.req_str(default, "SSEAlgorithm", d_ptr)
                    sse_key = r.opt_str(default, "KMSMasterKeyID", d_ptr)
                    break

            policy_doc = None
            pol_known, pol_resp = answered("GetBucketPolicy")
            if pol_resp is not None:
                p_ptr = _child(e_ptr, "GetBucketPolicy")
                policy_doc = r.policy(r.req_str(pol_resp, "Policy", p_ptr), _child(p_ptr, "Policy"))

            answered("GetPublicAccessBlock")  # validated and kept for future rules
            acct.buckets[name] = Bucket(
                name=name,
                account=acct.account_id,
                region=region,
                versioning=versioning,
                object_lock=lock,
                object_lock_known=lock_known,
                sse_algorithm=sse_algorithm,
                sse_kms_key=sse_key,
                encryption_known=enc_known,
                policy=policy_doc,
                policy_known=pol_known,
            )

    # -- regional services -------------------------------------------------

    def parse_region(self, region_doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(region_doc, ptr, _REGION_KEYS)
        handlers = (
            ("codepipeline", self.parse_codepipeline),
            ("codebuild", self.parse_codebuild),
            ("codeconnections", self.parse_codeconnections),
            ("kms", self.parse_kms),
            ("lambda", self.parse_lambda),
            ("secretsmanager", self.parse_secrets),
            ("logs", self.parse_logs),
            ("ecr", self.parse_ecr),
        )
        for key, handler in handlers:
            section = r.opt_obj(region_doc, key, ptr)
            if section is not None:
                handler(section, _child(ptr, key), scope)

    def parse_codepipeline(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"pipelines", "action_types", "webhooks"}))
        for arn, entry, e_ptr in r.keyed(doc, "pipelines", ptr, "pipeline_arn"):
            r.closed(
                entry, e_ptr, frozenset({"GetPipeline", "ListTagsForResource", "GetResources"})
            )
            if (_arn_field(arn, 4), _arn_field(arn, 3)) != (scope.account, scope.region):
                raise r.error(
                    e_ptr,
                    f"pipeline `{arn}` is not in account {scope.account}, region {scope.region}",
                )
            get = r.req_obj(entry, "GetPipeline", e_ptr)
            g_ptr = _child(e_ptr, "GetPipeline")
            decl = r.req_obj(get, "pipeline", g_ptr)
            metadata = r.opt_obj(get, "metadata", g_ptr)
            if metadata is not None:
                meta_arn = r.opt_str(metadata, "pipelineArn", _child(g_ptr, "metadata"))
                if meta_arn is not None:
                    r.same(arn, meta_arn, _child(g_ptr, "metadata", "pipelineArn"), "pipelineArn")
            name = r.req_str(decl, "name", _child(g_ptr, "pipeline"))
            r.same(arn.split(":", 5)[5], name, _child(g_ptr, "pipeline", "name"), "pipeline name")
            tags: dict[str, str] = {}
            tag_resp = r.opt_obj(entry, "ListTagsForResource", e_ptr)
            if tag_resp is not None:
                t_ptr = _child(e_ptr, "ListTagsForResource")
                tags = self.tag_list(r.required(tag_resp, "tags", t_ptr), _child(t_ptr, "tags"))
            else:
                # The Resource Groups Tagging API element for this pipeline (Key/Value).
                mapping = r.opt_obj(entry, "GetResources", e_ptr)
                if mapping is not None:
                    m_ptr = _child(e_ptr, "GetResources")
                    r.same(
                        arn,
                        r.req_str(mapping, "ResourceARN", m_ptr),
                        _child(m_ptr, "ResourceARN"),
                        "ResourceARN",
                    )
                    tags = self.tag_list(
                        mapping.get("Tags") or [], _child(m_ptr, "Tags"), upper=True
                    )
            try:
                pipeline = parse_declaration(
                    decl,
                    loc=Loc(arn, "/pipeline", KeyStyle.API),
                    source=self.r.source,
                    arn=arn,
                    account=scope.account,
                    region=scope.region,
                    tags=tags,
                )
            except ParseError as exc:
                raise r.error(g_ptr + exc.pointer, exc.message) from exc
            scope.pipelines.append(pipeline)

        for key, entry, e_ptr in r.keyed(doc, "action_types", ptr, "action_type_key"):
            r.closed(entry, e_ptr, frozenset({"ListActionTypes", "GetActionType"}))
            listed = r.req_obj(entry, "ListActionTypes", e_ptr)
            l_ptr = _child(e_ptr, "ListActionTypes")
            ident = r.req_obj(listed, "id", l_ptr)
            i_ptr = _child(l_ptr, "id")
            parts = tuple(
                r.req_str(ident, k, i_ptr) for k in ("category", "owner", "provider", "version")
            )
            category, owner, provider, version = parts
            r.same(key, "/".join(parts), i_ptr, "action type id")
            executor_type = None
            executor: Any = None
            described = r.opt_obj(entry, "GetActionType", e_ptr)
            if described is not None:
                d_ptr = _child(e_ptr, "GetActionType")
                body = r.req_obj(described, "actionType", d_ptr)
                executor = r.opt_obj(body, "executor", _child(d_ptr, "actionType"))
                if executor is not None:
                    executor_type = r.opt_str(
                        executor, "type", _child(d_ptr, "actionType", "executor")
                    )
                    executor = dict(executor)
            scope.action_types[(category, owner, provider, version)] = ActionType(
                category, owner, provider, version, executor_type, executor
            )

        for name, entry, e_ptr in r.keyed(doc, "webhooks", ptr):
            r.closed(entry, e_ptr, frozenset({"ListWebhooks"}))
            item = r.req_obj(entry, "ListWebhooks", e_ptr)
            i_ptr = _child(e_ptr, "ListWebhooks")
            definition = r.req_obj(item, "definition", i_ptr)
            d_ptr = _child(i_ptr, "definition")
            r.same(
                name, r.req_str(definition, "name", d_ptr), _child(d_ptr, "name"), "webhook name"
            )
            filters = []
            for index, raw in enumerate(r.opt_arr(definition, "filters", d_ptr)):
                f_ptr = _child(d_ptr, "filters", index)
                body = r.obj(raw, f_ptr)
                filters.append(
                    (
                        r.req_str(body, "jsonPath", f_ptr),
                        r.opt_str(body, "matchEquals", f_ptr) or "",
                    )
                )
            scope.webhooks.append(
                PipelineWebhook(
                    name=name,
                    target_pipeline=r.req_str(definition, "targetPipeline", d_ptr),
                    target_action=r.req_str(definition, "targetAction", d_ptr),
                    authentication=r.req_str(definition, "authentication", d_ptr),
                    filters=tuple(filters),
                )
            )

    def tag_list(self, raw: Any, ptr: str, *, upper: bool = False) -> dict[str, str]:
        r = self.r
        key_name, value_name = ("Key", "Value") if upper else ("key", "value")
        tags: dict[str, str] = {}
        for index, item in enumerate(r.arr(raw, ptr)):
            t_ptr = _child(ptr, index)
            body = r.obj(item, t_ptr)
            tags[r.req_str(body, key_name, t_ptr)] = r.opt_str(body, value_name, t_ptr) or ""
        return tags

    def parse_codebuild(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"projects"}))
        for name, entry, e_ptr in r.keyed(doc, "projects", ptr):
            r.closed(entry, e_ptr, frozenset({"BatchGetProjects"}))
            project = r.req_obj(entry, "BatchGetProjects", e_ptr)
            p_ptr = _child(e_ptr, "BatchGetProjects")
            r.same(name, r.req_str(project, "name", p_ptr), _child(p_ptr, "name"), "project name")
            arn = r.opt_str(project, "arn", p_ptr)
            source = r.opt_obj(project, "source", p_ptr) or {}
            s_ptr = _child(p_ptr, "source")
            env = r.opt_obj(project, "environment", p_ptr) or {}
            env_ptr = _child(p_ptr, "environment")
            variables = []
            for index, raw in enumerate(r.opt_arr(env, "environmentVariables", env_ptr)):
                v_ptr = _child(env_ptr, "environmentVariables", index)
                body = r.obj(raw, v_ptr)
                variables.append(
                    EnvVar(
                        r.req_str(body, "name", v_ptr),
                        r.req_str(body, "value", v_ptr),
                        r.opt_str(body, "type", v_ptr) or "PLAINTEXT",
                    )
                )
            logs = r.opt_obj(project, "logsConfig", p_ptr) or {}
            lg_ptr = _child(p_ptr, "logsConfig")
            cw = r.opt_obj(logs, "cloudWatchLogs", lg_ptr)
            s3_logs = r.opt_obj(logs, "s3Logs", lg_ptr)
            cw_status = (
                r.req_str(cw, "status", _child(lg_ptr, "cloudWatchLogs")) if cw else "ENABLED"
            )
            s3_status = (
                r.req_str(s3_logs, "status", _child(lg_ptr, "s3Logs")) if s3_logs else "DISABLED"
            )
            artifacts = r.opt_obj(project, "artifacts", p_ptr) or {}
            secondary = [
                r.obj(item, _child(p_ptr, "secondaryArtifacts", i))
                for i, item in enumerate(r.opt_arr(project, "secondaryArtifacts", p_ptr))
            ]
            groups = []
            webhook = r.opt_obj(project, "webhook", p_ptr)
            w_ptr = _child(p_ptr, "webhook")
            for g_index, group_raw in enumerate(r.opt_arr(webhook or {}, "filterGroups", w_ptr)):
                g_ptr = _child(w_ptr, "filterGroups", g_index)
                filters = []
                for f_index, raw in enumerate(r.arr(group_raw, g_ptr)):
                    f_ptr = _child(g_ptr, f_index)
                    body = r.obj(raw, f_ptr)
                    filters.append(
                        (
                            r.req_str(body, "type", f_ptr),
                            r.req_str(body, "pattern", f_ptr),
                            bool(r.opt_bool(body, "excludeMatchedPattern", f_ptr)),
                        )
                    )
                groups.append(WebhookFilterGroup(tuple(filters)))
            buildspec = r.opt_str(source, "buildspec", s_ptr)
            tags = (
                self.tag_list(project["tags"], _child(p_ptr, "tags")) if project.get("tags") else {}
            )
            scope.codebuild_projects[name] = CodeBuildProject(
                name=name,
                arn=arn,
                account=(_arn_field(arn, 4) if arn else "") or scope.account,
                source_type=r.opt_str(source, "type", s_ptr),
                source_location=r.opt_str(source, "location", s_ptr),
                buildspec=buildspec or None,
                image=r.opt_str(env, "image", env_ptr),
                privileged=bool(r.opt_bool(env, "privilegedMode", env_ptr)),
                environment_variables=tuple(variables),
                service_role=r.opt_str(project, "serviceRole", p_ptr),
                cloudwatch_logs_enabled=cw_status == "ENABLED",
                s3_logs_enabled=s3_status == "ENABLED",
                s3_logs_encryption_disabled=bool(
                    s3_logs and r.opt_bool(s3_logs, "encryptionDisabled", _child(lg_ptr, "s3Logs"))
                ),
                artifacts_type=r.opt_str(artifacts, "type", _child(p_ptr, "artifacts")),
                artifacts_encryption_disabled=bool(
                    r.opt_bool(artifacts, "encryptionDisabled", _child(p_ptr, "artifacts"))
                ),
                secondary_artifacts_encryption_disabled=any(
                    r.opt_bool(item, "encryptionDisabled", _child(p_ptr, "secondaryArtifacts", i))
                    for i, item in enumerate(secondary)
                ),
                encryption_key=r.opt_str(project, "encryptionKey", p_ptr),
                log_group=(
                    r.opt_str(cw, "groupName", _child(lg_ptr, "cloudWatchLogs")) if cw else None
                ),
                webhook_filter_groups=tuple(groups),
                tags=tags,
            )

    def parse_codeconnections(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"connections"}))
        for arn, entry, e_ptr in r.keyed(doc, "connections", ptr, "connection_arn"):
            r.closed(entry, e_ptr, frozenset({"GetConnection", "GetHost"}))
            get = r.req_obj(entry, "GetConnection", e_ptr)
            g_ptr = _child(e_ptr, "GetConnection")
            body = r.req_obj(get, "Connection", g_ptr)
            b_ptr = _child(g_ptr, "Connection")
            r.same(
                arn,
                r.req_str(body, "ConnectionArn", b_ptr),
                _child(b_ptr, "ConnectionArn"),
                "ConnectionArn",
            )
            host = r.opt_obj(entry, "GetHost", e_ptr) or {}
            endpoint = r.opt_str(body, "ProviderEndpoint", b_ptr) or r.opt_str(
                host, "ProviderEndpoint", _child(e_ptr, "GetHost")
            )
            scope.connections[arn] = Connection(
                arn=arn,
                name=r.opt_str(body, "ConnectionName", b_ptr),
                provider_type=r.opt_str(body, "ProviderType", b_ptr),
                owner_account=r.opt_str(body, "OwnerAccountId", b_ptr),
                status=r.opt_str(body, "ConnectionStatus", b_ptr),
                host_arn=r.opt_str(body, "HostArn", b_ptr),
                provider_endpoint=endpoint,
            )

    def parse_kms(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"keys"}))
        ops = frozenset({"DescribeKey", "GetKeyPolicy", "ListAliases", "GetKeyRotationStatus"})
        for arn, entry, e_ptr in r.keyed(doc, "keys", ptr, "kms_key_arn"):
            r.closed(entry, e_ptr, ops)
            described = r.req_obj(entry, "DescribeKey", e_ptr)
            d_ptr = _child(e_ptr, "DescribeKey")
            meta = r.req_obj(described, "KeyMetadata", d_ptr)
            m_ptr = _child(d_ptr, "KeyMetadata")
            r.same(arn, r.req_str(meta, "Arn", m_ptr), _child(m_ptr, "Arn"), "key ARN")
            manager = r.opt_str(meta, "KeyManager", m_ptr)
            policy = None
            key_policy = r.opt_obj(entry, "GetKeyPolicy", e_ptr)
            if key_policy is not None:
                k_ptr = _child(e_ptr, "GetKeyPolicy")
                policy = r.policy(r.req_str(key_policy, "Policy", k_ptr), _child(k_ptr, "Policy"))
            aliases: list[str] = []
            listed = r.opt_obj(entry, "ListAliases", e_ptr)
            if listed is not None:
                a_ptr = _child(e_ptr, "ListAliases")
                for index, raw in enumerate(
                    r.arr(r.required(listed, "Aliases", a_ptr), _child(a_ptr, "Aliases"))
                ):
                    i_ptr = _child(a_ptr, "Aliases", index)
                    aliases.append(r.req_str(r.obj(raw, i_ptr), "AliasName", i_ptr))
            scope.kms_keys[arn] = KmsKey(
                key_id=r.req_str(meta, "KeyId", m_ptr),
                arn=arn,
                aliases=tuple(aliases),
                customer_managed={"CUSTOMER": True, "AWS": False}.get(manager or ""),
                policy=policy,
                account=r.opt_str(meta, "AWSAccountId", m_ptr) or _arn_field(arn, 4),
            )

    def parse_lambda(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"functions"}))
        ops = frozenset({"GetFunction", "ListVersionsByFunction", "ListAliases"})
        for name, entry, e_ptr in r.keyed(doc, "functions", ptr, "function_name"):
            r.closed(entry, e_ptr, ops)
            get = r.req_obj(entry, "GetFunction", e_ptr)
            g_ptr = _child(e_ptr, "GetFunction")
            config = r.req_obj(get, "Configuration", g_ptr)
            c_ptr = _child(g_ptr, "Configuration")
            r.same(
                name,
                r.req_str(config, "FunctionName", c_ptr),
                _child(c_ptr, "FunctionName"),
                "FunctionName",
            )
            code = r.opt_obj(get, "Code", g_ptr)
            if code is not None and "Location" in code:
                raise r.error(
                    _child(g_ptr, "Code", "Location"),
                    "must be omitted (a presigned URL that carries temporary credentials)",
                )
            logging_config = r.opt_obj(config, "LoggingConfig", c_ptr) or {}
            versions: list[str] = []
            listed = r.opt_obj(entry, "ListVersionsByFunction", e_ptr)
            if listed is not None:
                v_ptr = _child(e_ptr, "ListVersionsByFunction")
                for index, raw in enumerate(
                    r.arr(r.required(listed, "Versions", v_ptr), _child(v_ptr, "Versions"))
                ):
                    i_ptr = _child(v_ptr, "Versions", index)
                    versions.append(r.req_str(r.obj(raw, i_ptr), "Version", i_ptr))
            aliases: dict[str, str] = {}
            alias_resp = r.opt_obj(entry, "ListAliases", e_ptr)
            if alias_resp is not None:
                a_ptr = _child(e_ptr, "ListAliases")
                for index, raw in enumerate(
                    r.arr(r.required(alias_resp, "Aliases", a_ptr), _child(a_ptr, "Aliases"))
                ):
                    i_ptr = _child(a_ptr, "Aliases", index)
                    body = r.obj(raw, i_ptr)
                    aliases[r.req_str(body, "Name", i_ptr)] = r.req_str(
                        body, "FunctionVersion", i_ptr
                    )
            scope.lambdas[name] = LambdaFunction(
                name=name,
                arn=r.opt_str(config, "FunctionArn", c_ptr),
                versions=tuple(versions),
                aliases=aliases,
                code_sha256=r.opt_str(config, "CodeSha256", c_ptr),
                log_group=r.opt_str(logging_config, "LogGroup", _child(c_ptr, "LoggingConfig")),
            )

    def parse_secrets(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"secrets"}))
        for arn, entry, e_ptr in r.keyed(doc, "secrets", ptr, "secret_arn"):
            r.closed(entry, e_ptr, frozenset({"DescribeSecret"}))
            body = r.req_obj(entry, "DescribeSecret", e_ptr)
            b_ptr = _child(e_ptr, "DescribeSecret")
            r.same(arn, r.req_str(body, "ARN", b_ptr), _child(b_ptr, "ARN"), "secret ARN")
            name = r.req_str(body, "Name", b_ptr)
            rules = r.opt_obj(body, "RotationRules", b_ptr) or {}
            rr_ptr = _child(b_ptr, "RotationRules")
            days = r.opt_int(rules, "AutomaticallyAfterDays", rr_ptr)
            if days is None:
                days = _schedule_days(r.opt_str(rules, "ScheduleExpression", rr_ptr))
            scope.secrets[name] = Secret(
                name=name,
                arn=arn,
                rotation_enabled=bool(r.opt_bool(body, "RotationEnabled", b_ptr)),
                rotation_days=days,
            )

    def parse_logs(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"log_groups", "DescribeAccountPolicies"}))
        account_known = False
        account_doc: dict[str, Any] | None = None
        policies = r.opt_obj(doc, "DescribeAccountPolicies", ptr)
        if policies is not None:
            account_known = True
            p_ptr = _child(ptr, "DescribeAccountPolicies")
            items = r.arr(
                r.required(policies, "accountPolicies", p_ptr), _child(p_ptr, "accountPolicies")
            )
            for index, raw in enumerate(items):
                i_ptr = _child(p_ptr, "accountPolicies", index)
                body = r.obj(raw, i_ptr)
                kind = r.opt_str(body, "policyType", i_ptr)
                text = r.opt_str(body, "policyDocument", i_ptr)
                if text is not None and kind in (None, "DATA_PROTECTION_POLICY"):
                    account_doc = r.policy(text, _child(i_ptr, "policyDocument"))
                    break
        for name, entry, e_ptr in r.keyed(doc, "log_groups", ptr, "log_group_name"):
            r.closed(entry, e_ptr, frozenset({"DescribeLogGroups", "GetDataProtectionPolicy"}))
            described = r.opt_obj(entry, "DescribeLogGroups", e_ptr)
            if described is not None:
                d_ptr = _child(e_ptr, "DescribeLogGroups")
                r.same(
                    name,
                    r.req_str(described, "logGroupName", d_ptr),
                    _child(d_ptr, "logGroupName"),
                    "logGroupName",
                )
            known, response = self.answered(
                entry,
                "GetDataProtectionPolicy",
                e_ptr,
                account=scope.account,
                region=scope.region,
                kind="log-group",
                resource=name,
            )
            if described is None and "GetDataProtectionPolicy" not in entry:
                self.add_missing(
                    scope.account, scope.region, "log-group", name, "DescribeLogGroups"
                )
                continue
            if (
                not known
                and "GetDataProtectionPolicy" not in entry
                and described is not None
                and "dataProtectionStatus" not in described
            ):
                # DescribeLogGroups names a status only for a group that has (or had) a
                # data protection policy: without one, the group has none of its own.
                known = True
            own: dict[str, Any] | None = None
            if response is not None:
                text = r.opt_str(
                    response, "policyDocument", _child(e_ptr, "GetDataProtectionPolicy")
                )
                if text:
                    own = r.policy(text, _child(e_ptr, "GetDataProtectionPolicy", "policyDocument"))
            if own is not None:
                scope.log_groups[name] = LogGroup(name, data_protection_policy=own)
            elif account_doc is not None:
                scope.log_groups[name] = LogGroup(name, data_protection_policy=account_doc)
            else:
                scope.log_groups[name] = LogGroup(name, policy_known=known and account_known)

    def parse_ecr(self, doc: Mapping[str, Any], ptr: str, scope: _Scope) -> None:
        r = self.r
        r.closed(doc, ptr, frozenset({"repositories", "GetRegistryScanningConfiguration"}))
        registry_rules: list[tuple[re.Pattern[str], str]] | None = None
        registry = r.opt_obj(doc, "GetRegistryScanningConfiguration", ptr)
        if registry is not None:
            registry_rules = []
            g_ptr = _child(ptr, "GetRegistryScanningConfiguration")
            config = r.req_obj(registry, "scanningConfiguration", g_ptr)
            c_ptr = _child(g_ptr, "scanningConfiguration")
            for index, raw in enumerate(r.opt_arr(config, "rules", c_ptr)):
                rule_ptr = _child(c_ptr, "rules", index)
                rule = r.obj(raw, rule_ptr)
                frequency = r.req_str(rule, "scanFrequency", rule_ptr)
                filters = r.arr(
                    r.required(rule, "repositoryFilters", rule_ptr),
                    _child(rule_ptr, "repositoryFilters"),
                )
                for f_index, f_raw in enumerate(filters):
                    f_ptr = _child(rule_ptr, "repositoryFilters", f_index)
                    pattern = r.req_str(r.obj(f_raw, f_ptr), "filter", f_ptr)
                    registry_rules.append((_wildcard(pattern), frequency))
            # Scan on push for the whole registry: a push-time rule that matches every name.
            scope.ecr_registry_scan_on_push = any(
                frequency in _PUSH_SCANS and matcher.pattern == ".*"
                for matcher, frequency in registry_rules
            )
        for name, entry, e_ptr in r.keyed(doc, "repositories", ptr, "repository_name"):
            r.closed(entry, e_ptr, frozenset({"DescribeRepositories"}))
            repo = r.req_obj(entry, "DescribeRepositories", e_ptr)
            d_ptr = _child(e_ptr, "DescribeRepositories")
            r.same(
                name,
                r.req_str(repo, "repositoryName", d_ptr),
                _child(d_ptr, "repositoryName"),
                "repositoryName",
            )
            exclusions = []
            for index, raw in enumerate(
                r.opt_arr(repo, "imageTagMutabilityExclusionFilters", d_ptr)
            ):
                x_ptr = _child(d_ptr, "imageTagMutabilityExclusionFilters", index)
                exclusions.append(r.req_str(r.obj(raw, x_ptr), "filter", x_ptr))
            scanning = r.opt_obj(repo, "imageScanningConfiguration", d_ptr) or {}
            repo_scan = r.opt_bool(
                scanning, "scanOnPush", _child(d_ptr, "imageScanningConfiguration")
            )
            scan_on_push: bool | None
            if repo_scan:
                scan_on_push = True
            elif registry_rules is None:
                scan_on_push = None  # a registry rule we did not read may scan it
            else:
                scan_on_push = any(
                    frequency in _PUSH_SCANS and matcher.fullmatch(name)
                    for matcher, frequency in registry_rules
                )
            scope.ecr_repositories[name] = EcrRepository(
                name=name,
                arn=r.opt_str(repo, "repositoryArn", d_ptr),
                tag_mutability=r.opt_str(repo, "imageTagMutability", d_ptr),
                mutability_exclusions=tuple(exclusions),
                scan_on_push=scan_on_push,
            )

    # -- the whole document ----------------------------------------------

    def parse(self, doc: Mapping[str, Any]) -> tuple[list[_Account], str]:
        r = self.r
        r.closed(doc, "", _TOP_KEYS)
        version = r.required(doc, "schema_version", "")
        if not isinstance(version, str):
            raise r.error(
                "/schema_version", f"must be the string {SCHEMA_VERSION!r}, found {_kind(version)}"
            )
        if version != SCHEMA_VERSION:
            raise r.error(
                "/schema_version",
                f"unsupported snapshot schema_version {version[:40]!r} "
                f"(this PipeWarden reads version {SCHEMA_VERSION!r})",
            )
        tool = r.req_str(doc, "tool_version", "")
        collected = r.req_str(doc, "collected_at", "")
        if not _RFC3339.fullmatch(collected):
            raise r.error("/collected_at", "must be an RFC 3339 date-time with a UTC offset")
        try:
            dt.datetime.fromisoformat(collected.replace("z", "Z"))
        except ValueError as exc:
            raise r.error("/collected_at", f"not a valid date-time: {exc}") from exc
        partition = r.req_str(doc, "partition", "")
        if not _PARTITION.fullmatch(partition):
            raise r.error("/partition", f"`{partition[:40]}` is not an AWS partition")
        raw_accounts = r.arr(r.required(doc, "accounts", ""), "/accounts")
        self.parse_gaps(doc)

        account_docs = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_accounts):
            ptr = _child("/accounts", index)
            account = r.obj(raw, ptr)
            r.closed(account, ptr, _ACCOUNT_KEYS)
            account_id = r.ident(
                r.req_str(account, "account_id", ptr), "account_id", _child(ptr, "account_id")
            )
            if account_id in seen:
                raise r.error(_child(ptr, "account_id"), f"account {account_id} appears twice")
            seen.add(account_id)
            r.required(account, "global", ptr)
            r.required(account, "regions", ptr)
            account_docs.append((account, ptr))
        self.collect_policies(account_docs)

        accounts: list[_Account] = []
        for account, ptr in account_docs:
            acct = _Account(account["account_id"])
            glob = r.req_obj(account, "global", ptr)
            g_ptr = _child(ptr, "global")
            r.closed(glob, g_ptr, _GLOBAL_KEYS)
            iam = r.opt_obj(glob, "iam", g_ptr)
            if iam is not None:
                self.parse_iam(iam, _child(g_ptr, "iam"), acct)
            s3 = r.opt_obj(glob, "s3", g_ptr)
            if s3 is not None:
                self.parse_s3(s3, _child(g_ptr, "s3"), acct)
            regions = r.req_obj(account, "regions", ptr)
            for region in sorted(regions):
                reg_ptr = _child(ptr, "regions", region)
                r.ident(region, "region_name", reg_ptr)
                scope = _Scope(acct.account_id, region)
                self.parse_region(r.obj(regions[region], reg_ptr), reg_ptr, scope)
                acct.scopes.append(scope)
            accounts.append(acct)
        return accounts, f"snapshot collected {collected} by PipeWarden {tool} ({partition})"


def _schedule_days(expression: str | None) -> int | None:
    """Days between rotations for a ``rate(...)`` schedule; None for cron or none."""
    if expression is None:
        return None
    match = re.fullmatch(r"\s*rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)\s*", expression)
    if match is None:
        return None
    count = int(match.group(1))
    return count if match.group(2).startswith("day") else max(1, math.ceil(count / 24))


# ---------------------------------------------------------------------------
# Assembly: one inventory per account and region, and the whole-snapshot view


def _union(maps: list[Mapping[_K, _V]]) -> dict[_K, _V]:
    """Merge maps, leaving out keys that more than one map defines (ambiguous)."""
    out: dict[_K, _V] = {}
    clashes: set[_K] = set()
    for mapping in maps:
        for key, value in mapping.items():
            if key in out:
                clashes.add(key)
            out[key] = value
    for key in clashes:
        del out[key]
    return out


def _scope_gaps(account: str, region: str, gaps: list[_ScopedGap]) -> tuple[GapRecord, ...]:
    out = []
    for gap in gaps:
        own = gap.account in (account, None) and gap.region in (region, None)
        if own or (gap.record.kind in _GLOBAL_KINDS and gap.record.resource != "*"):
            out.append(gap.record)
    return tuple(out)


def _assemble(accounts: list[_Account], gaps: list[_ScopedGap], note: str) -> Inventory:
    roles = {arn: role for acct in accounts for arn, role in acct.roles.items()}
    buckets = {name: b for acct in accounts for name, b in acct.buckets.items()}
    scopes = [scope for acct in accounts for scope in acct.scopes]
    connections = {arn: c for scope in scopes for arn, c in scope.connections.items()}
    all_keys = {arn: k for scope in scopes for arn, k in scope.kms_keys.items()}
    bare_keys = {arn: replace(k, aliases=()) for arn, k in all_keys.items() if k.aliases}
    by_account = {acct.account_id: acct for acct in accounts}

    def scoped(scope: _Scope) -> Inventory:
        acct = by_account[scope.account]
        # Aliases resolve only in their own account and region.
        keys = {**all_keys, **bare_keys, **scope.kms_keys}
        return Inventory(
            source_kind=SOURCE_KIND,
            pipelines=tuple(scope.pipelines),
            roles=roles,
            buckets=buckets,
            kms_keys=keys,
            connections=connections,
            action_types=scope.action_types,
            codebuild_projects=scope.codebuild_projects,
            webhooks=tuple(scope.webhooks),
            lambdas=scope.lambdas,
            secrets=scope.secrets,
            log_groups=scope.log_groups,
            ecr_repositories=scope.ecr_repositories,
            ecr_registry_scan_on_push=scope.ecr_registry_scan_on_push,
            identity_policies=tuple(acct.identity_policies),
            identity_policies_complete=acct.identity_complete,
            gaps=_scope_gaps(scope.account, scope.region, gaps),
        )

    pipeline_scopes: dict[str, Inventory] = {}
    for scope in scopes:
        if scope.pipelines:
            inventory = scoped(scope)
            for pipeline in scope.pipelines:
                pipeline_scopes[pipeline.arn or ""] = inventory

    # The whole-snapshot view, for readers that do not ask for a pipeline's scope:
    # names defined in several scopes are left out rather than guessed.
    alias_counts: dict[str, int] = {}
    for key in all_keys.values():
        for alias in key.aliases:
            alias_counts[alias] = alias_counts.get(alias, 0) + 1
    merged_keys = {
        arn: replace(k, aliases=tuple(a for a in k.aliases if alias_counts[a] == 1))
        for arn, k in all_keys.items()
    }
    scan_flags = {scope.ecr_registry_scan_on_push for scope in scopes}
    return Inventory(
        source_kind=SOURCE_KIND,
        pipelines=tuple(p for scope in scopes for p in scope.pipelines),
        roles=roles,
        buckets=buckets,
        kms_keys=merged_keys,
        connections=connections,
        action_types=_union([s.action_types for s in scopes]),
        codebuild_projects=_union([s.codebuild_projects for s in scopes]),
        webhooks=tuple(w for scope in scopes for w in scope.webhooks),
        lambdas=_union([s.lambdas for s in scopes]),
        secrets=_union([s.secrets for s in scopes]),
        log_groups=_union([s.log_groups for s in scopes]),
        ecr_repositories=_union([s.ecr_repositories for s in scopes]),
        ecr_registry_scan_on_push=scan_flags.pop() if len(scan_flags) == 1 else None,
        identity_policies=tuple(p for acct in accounts for p in acct.identity_policies),
        identity_policies_complete=bool(accounts) and all(a.identity_complete for a in accounts),
        gaps=tuple(g.record for g in gaps),
        notes=(note,),
        pipeline_scopes=pipeline_scopes,
    )


def parse_snapshot(doc: Any, *, source: str, text: str | None = None) -> Inventory:
    """Validate a decoded snapshot and build its Inventory.

    ``text`` (the JSON text ``doc`` was decoded from) lets errors name a line.
    """
    reader = _Reader(source, text)
    if not is_snapshot(doc):
        raise reader.error("/format", f"not a PipeWarden snapshot (`format` must be {FORMAT!r})")
    check_depth(doc, source)
    parser = _SnapshotParser(reader)
    accounts, note = parser.parse(doc)
    return _assemble(accounts, parser.gaps, note)
