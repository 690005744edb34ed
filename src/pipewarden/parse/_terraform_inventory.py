"""Terraform resources (plan or configuration) -> Inventory.

Works on a :class:`~pipewarden.parse._terraform_catalog.Catalog` whose values
are already resolved as far as they go (leaves are str, numbers, booleans,
None or :class:`~pipewarden.model.Unresolved`). Known absence ("this bucket
has no versioning resource") and unknown ("the versioning status is known only
after apply") are kept apart: only the latter becomes ``None``/unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from pipewarden.errors import ParseError
from pipewarden.model import (
    Bucket,
    CodeBuildProject,
    Connection,
    EcrRepository,
    EnvVar,
    IdentityPolicy,
    Inventory,
    KmsKey,
    LambdaFunction,
    LogGroup,
    ManagedPolicy,
    ObjectLock,
    Pipeline,
    PipelineWebhook,
    PositionIndex,
    Role,
    Secret,
    Unresolved,
    Value,
    WebhookFilterGroup,
)
from pipewarden.parse._source import load_json
from pipewarden.parse._terraform_catalog import (
    Catalog,
    TfResource,
    arn_account,
    arn_region,
    known_str,
)
from pipewarden.parse.declaration import parse_declaration, to_value

__all__ = ["build_inventory", "policy_document"]

_S3_DEFAULT_SSE: Final = "AES256"  # S3 encrypts new objects with SSE-S3 by default (2023)
_CONNECTION_TYPES: Final = ("aws_codestarconnections_connection", "aws_codeconnections_connection")


def policy_document(value: Any, source: str) -> Any:
    """A policy document from a JSON string or an already decoded object; None when unknown."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            doc = load_json(value, source)
        except ParseError:
            return None
        return doc if isinstance(doc, dict) else None
    return None


def _first_block(value: Any) -> Any:
    """A nested block (one-element list) as a mapping; Unresolved passes through."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], Mapping | Unresolved) else None
    if isinstance(value, Mapping | Unresolved):
        return value
    return None


def _get(node: Any, *keys: str) -> Any:
    """Walk nested single blocks: ``_get(v, "logs_config", "s3_logs", "status")``."""
    for key in keys:
        node = _first_block(node)
        if isinstance(node, Unresolved):
            return node
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _value(value: Any) -> Value | None:
    """A non-empty scalar as a model Value (empty strings are Terraform's "unset")."""
    if value == "" or value is None:
        return None
    return to_value(value)


def _tags(values: Mapping[str, Any]) -> dict[str, str]:
    for key in ("tags_all", "tags"):
        raw = values.get(key)
        if isinstance(raw, Mapping):
            return {str(k): str(v) for k, v in raw.items() if isinstance(v, str | int | float)}
    return {}


class _Index:
    """Resources of one kind by every string that may name them."""

    def __init__(self) -> None:
        self._by: dict[str, Any] = {}

    def add(self, item: Any, *names: Any) -> None:
        for name in names:
            if isinstance(name, str) and name:
                self._by.setdefault(name, item)

    def find(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._by.get(value)
        return None


# -- pipelines --------------------------------------------------------------------

_OPTIONAL_EMPTY: Final = ("role_arn", "region", "namespace")


def _clean_declaration(node: Any, depth: int = 0) -> Any:
    """Drop the empty strings a plan shows for unset optional action/rule fields."""
    if depth > 12:
        return node
    if isinstance(node, Mapping):
        out = {}
        for key, value in node.items():
            if key in _OPTIONAL_EMPTY and value == "":
                continue
            if key in (
                "stage",
                "action",
                "before_entry",
                "on_success",
                "on_failure",
                "condition",
                "rule",
            ):
                out[key] = _clean_declaration(value, depth + 1)
            else:
                out[key] = value
        return out
    if isinstance(node, list):
        return [_clean_declaration(item, depth + 1) for item in node]
    return node


def _pipeline(catalog: Catalog, res: TfResource) -> Pipeline:
    values = catalog.values(res)
    arn = known_str(values.get("arn"))
    account = arn_account(arn) if arn else catalog.real_account(res)
    region = arn_region(arn) if arn else catalog.provider(res).region
    source = res.loc.subject
    return parse_declaration(
        _clean_declaration(values),
        loc=res.loc,
        source=source,
        arn=arn,
        account=account,
        region=region,
        fallback_name=res.address,
        tags=_tags(values),
        source_file=source,
    )


# -- IAM ---------------------------------------------------------------------------


@dataclass
class _RoleDraft:
    arn: str
    name: str
    res: TfResource
    trust: Any = None
    inline: dict[str, Any] = field(default_factory=dict)
    inline_locs: dict[str, Any] = field(default_factory=dict)
    managed: list[ManagedPolicy] = field(default_factory=list)
    complete: bool = True


def _iam(catalog: Catalog, out: dict[str, Any]) -> None:
    managed_docs: dict[str, Any] = {}
    for res in catalog.of_type("aws_iam_policy"):
        values = catalog.values(res)
        arn = catalog.identity(res, "arn")
        managed_docs[arn] = policy_document(values.get("policy"), res.loc.subject)

    roles = _Index()
    drafts: list[_RoleDraft] = []
    for res in catalog.of_type("aws_iam_role"):
        values = catalog.values(res)
        draft = _RoleDraft(
            arn=catalog.identity(res, "arn"),
            name=catalog.identity(res, "name"),
            res=res,
            trust=policy_document(values.get("assume_role_policy"), res.loc.subject),
        )
        inline = values.get("inline_policy")
        if isinstance(inline, list):
            for i, block in enumerate(inline):
                if not isinstance(block, Mapping):
                    continue
                name = known_str(block.get("name"))
                raw = block.get("policy")
                if name is None and not raw:
                    continue  # the empty block a plan shows for "no inline policy"
                name = name or f"inline_policy[{i}]"
                doc = policy_document(raw, res.loc.subject)
                draft.inline[name] = doc
                draft.inline_locs[name] = res.loc.raw("inline_policy").raw(i).raw("policy")
                if doc is None:
                    draft.complete = False
        elif isinstance(inline, Unresolved) and catalog.declared(res, "inline_policy") is not False:
            draft.complete = False
        arns = values.get("managed_policy_arns")
        if isinstance(arns, list):
            for i, arn in enumerate(arns):
                if isinstance(arn, str):
                    draft.managed.append(
                        ManagedPolicy(
                            arn, managed_docs.get(arn), res.loc.raw("managed_policy_arns").raw(i)
                        )
                    )
                else:
                    draft.complete = False
        elif arns is not None and catalog.declared(res, "managed_policy_arns") is not False:
            draft.complete = False
        drafts.append(draft)
        roles.add(draft, draft.arn, draft.name, res.address, known_str(values.get("id")))

    unattributed = False

    def attach_inline(draft: _RoleDraft, res: TfResource, name: str, raw: Any) -> None:
        doc = policy_document(raw, res.loc.subject)
        draft.inline[name] = doc
        draft.inline_locs[name] = res.loc.raw("policy")
        if doc is None:
            draft.complete = False

    for res in catalog.of_type("aws_iam_role_policy"):
        values = catalog.values(res)
        draft = roles.find(values.get("role"))
        if draft is None:
            unattributed = unattributed or isinstance(values.get("role"), Unresolved)
            continue
        name = known_str(values.get("name")) or res.address
        attach_inline(draft, res, name, values.get("policy"))

    def attach_managed(draft: _RoleDraft, res: TfResource, arn: Any, pointer_key: str) -> None:
        if not isinstance(arn, str):
            draft.complete = False
            return
        draft.managed.append(ManagedPolicy(arn, managed_docs.get(arn), res.loc.raw(pointer_key)))

    for res in catalog.of_type("aws_iam_role_policy_attachment"):
        values = catalog.values(res)
        draft = roles.find(values.get("role"))
        if draft is None:
            unattributed = unattributed or isinstance(values.get("role"), Unresolved)
            continue
        attach_managed(draft, res, values.get("policy_arn"), "policy_arn")

    for res in catalog.of_type("aws_iam_role_policy_attachments_exclusive"):
        values = catalog.values(res)
        draft = roles.find(values.get("role_name"))
        arns = values.get("policy_arns")
        if draft is None:
            unattributed = unattributed or isinstance(values.get("role_name"), Unresolved)
            continue
        if isinstance(arns, list):
            for arn in arns:
                attach_managed(draft, res, arn, "policy_arns")
        else:
            draft.complete = False

    principals: list[IdentityPolicy] = []
    for res in catalog.of_type("aws_iam_policy_attachment"):
        values = catalog.values(res)
        arn = values.get("policy_arn")
        members = values.get("roles")
        if isinstance(members, list):
            for member in members:
                draft = roles.find(member)
                if draft is not None:
                    attach_managed(draft, res, arn, "policy_arn")
                elif isinstance(member, Unresolved):
                    unattributed = True
        elif isinstance(members, Unresolved):
            unattributed = True
        for kind in ("users", "groups"):
            names = values.get(kind)
            doc = managed_docs.get(arn) if isinstance(arn, str) else None
            if isinstance(names, list) and doc is not None:
                principals.extend(
                    IdentityPolicy(member, kind[:-1], str(arn).rsplit("/", 1)[-1], doc, res.loc)
                    for member in names
                    if isinstance(member, str)
                )

    built: dict[str, Role] = {}
    for draft in drafts:
        complete = draft.complete and not unattributed
        role = Role(
            arn=draft.arn,
            name=draft.name,
            loc=draft.res.loc,
            trust_policy=draft.trust,
            inline_policies=dict(draft.inline),
            inline_policy_locs=dict(draft.inline_locs),
            managed_policies=tuple(draft.managed),
            complete=complete,
        )
        built.setdefault(draft.arn, role)
        for name, doc in draft.inline.items():
            if doc is not None:
                principals.append(
                    IdentityPolicy(draft.arn, "role", name, doc, draft.inline_locs[name])
                )
        principals.extend(
            IdentityPolicy(draft.arn, "role", policy.name, policy.document, policy.loc)
            for policy in draft.managed
            if policy.document is not None
        )

    users = _Index()
    for res in catalog.of_type("aws_iam_user", "aws_iam_group"):
        users.add(catalog.identity(res, "arn"), catalog.identity(res, "name"), res.address)
    for rtype, kind, key in (
        ("aws_iam_user_policy", "user", "user"),
        ("aws_iam_group_policy", "group", "group"),
    ):
        for res in catalog.of_type(rtype):
            values = catalog.values(res)
            doc = policy_document(values.get("policy"), res.loc.subject)
            who = values.get(key)
            if doc is None or not isinstance(who, str):
                continue
            principal = users.find(who) or who
            name = known_str(values.get("name")) or res.address
            principals.append(IdentityPolicy(principal, kind, name, doc, res.loc.raw("policy")))
    for rtype, kind, key in (
        ("aws_iam_user_policy_attachment", "user", "user"),
        ("aws_iam_group_policy_attachment", "group", "group"),
    ):
        for res in catalog.of_type(rtype):
            values = catalog.values(res)
            arn = values.get("policy_arn")
            doc = managed_docs.get(arn) if isinstance(arn, str) else None
            who = values.get(key)
            if doc is None or not isinstance(who, str):
                continue
            principal = users.find(who) or who
            principals.append(
                IdentityPolicy(principal, kind, str(arn).rsplit("/", 1)[-1], doc, res.loc)
            )

    out["roles"] = built
    out["identity_policies"] = tuple(principals)


# -- S3 and KMS --------------------------------------------------------------------------


def _retention(node: Any) -> tuple[str | None, int | None, int | None, bool]:
    """(mode, days, years, known) of an object lock ``rule`` block list."""
    retention = _get(node, "default_retention")
    if isinstance(retention, Unresolved) or isinstance(node, Unresolved):
        return None, None, None, False
    block = _first_block(retention)
    if not isinstance(block, Mapping):
        return None, None, None, True
    mode = block.get("mode")
    days, years = _int(block.get("days")), _int(block.get("years"))
    known = not any(
        isinstance(v, Unresolved) for v in (mode, block.get("days"), block.get("years"))
    )
    return known_str(mode), days or None, years or None, known


def _buckets(catalog: Catalog, out: dict[str, Any]) -> None:
    subs: dict[str, dict[str, list[TfResource]]] = {}
    index = _Index()
    for res in catalog.of_type("aws_s3_bucket"):
        index.add(res, catalog.identity(res, "bucket"), catalog.identity(res, "arn"), res.address)
    unattributed: set[str] = set()
    for kind in (
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_object_lock_configuration",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_policy",
    ):
        for res in catalog.of_type(kind):
            target = catalog.values(res).get("bucket")
            bucket = index.find(target)
            if bucket is None:
                if isinstance(target, Unresolved):
                    unattributed.add(kind)
                continue
            subs.setdefault(bucket.address, {}).setdefault(kind, []).append(res)

    buckets: dict[str, Bucket] = {}
    for res in catalog.of_type("aws_s3_bucket"):
        values = catalog.values(res)
        name = catalog.identity(res, "bucket")
        mine = subs.get(res.address, {})

        # versioning
        versioning: bool | None
        if mine.get("aws_s3_bucket_versioning"):
            status = _get(
                catalog.values(mine["aws_s3_bucket_versioning"][-1]),
                "versioning_configuration",
                "status",
            )
            versioning = None if isinstance(status, Unresolved) else status == "Enabled"
        else:
            inline = _get(values.get("versioning"), "enabled")
            if isinstance(inline, bool):
                versioning = inline
            elif isinstance(values.get("versioning"), Unresolved) and catalog.declared(
                res, "versioning"
            ):
                versioning = None
            else:
                versioning = None if "aws_s3_bucket_versioning" in unattributed else False

        # object lock
        lock: ObjectLock | None = None
        lock_known = True
        if mine.get("aws_s3_bucket_object_lock_configuration"):
            sub = catalog.values(mine["aws_s3_bucket_object_lock_configuration"][-1])
            enabled = sub.get("object_lock_enabled", "Enabled")
            mode, days, years, lock_known = _retention(sub.get("rule"))
            if isinstance(enabled, Unresolved):
                lock_known = False
            lock = ObjectLock(enabled in ("Enabled", None), mode, days, years)
        else:
            flag = _bool(values.get("object_lock_enabled"))
            inline_cfg = _first_block(values.get("object_lock_configuration"))
            if isinstance(inline_cfg, Mapping):
                mode, days, years, lock_known = _retention(inline_cfg.get("rule"))
                if inline_cfg.get("object_lock_enabled") == "Enabled" or flag:
                    lock = ObjectLock(True, mode, days, years)
            elif flag:
                lock = ObjectLock(True)
            if lock is None:
                if isinstance(values.get("object_lock_enabled"), Unresolved) and catalog.declared(
                    res, "object_lock_enabled"
                ):
                    lock_known = False
                if "aws_s3_bucket_object_lock_configuration" in unattributed:
                    lock_known = False

        # default encryption
        algorithm: str | None = _S3_DEFAULT_SSE
        kms_key: Value | None = None
        enc_known = True
        if mine.get("aws_s3_bucket_server_side_encryption_configuration"):
            rule = catalog.values(
                mine["aws_s3_bucket_server_side_encryption_configuration"][-1]
            ).get("rule")
        else:
            rule = _get(values.get("server_side_encryption_configuration"), "rule")
            if isinstance(rule, Unresolved) and not catalog.declared(
                res, "server_side_encryption_configuration"
            ):
                rule = None
            if (
                rule is None
                and "aws_s3_bucket_server_side_encryption_configuration" in unattributed
            ):
                enc_known = False
        default = _get(rule, "apply_server_side_encryption_by_default")
        if isinstance(default, Unresolved):
            enc_known = False
        elif isinstance(_first_block(default), Mapping):
            raw_alg = _get(default, "sse_algorithm")
            if isinstance(raw_alg, Unresolved):
                enc_known = False
            elif known_str(raw_alg):
                algorithm = raw_alg
            kms_key = _value(_get(default, "kms_master_key_id"))

        # bucket policy
        policy: Any = None
        policy_known = True
        if mine.get("aws_s3_bucket_policy"):
            sub_res = mine["aws_s3_bucket_policy"][-1]
            policy = policy_document(catalog.values(sub_res).get("policy"), sub_res.loc.subject)
            policy_known = policy is not None
        else:
            inline_policy = values.get("policy")
            if known_str(inline_policy) or isinstance(inline_policy, Mapping):
                policy = policy_document(inline_policy, res.loc.subject)
                policy_known = policy is not None
            elif isinstance(inline_policy, Unresolved) and catalog.declared(res, "policy"):
                policy_known = False
            if "aws_s3_bucket_policy" in unattributed:
                policy_known = False

        region = known_str(values.get("region")) or catalog.provider(res).region
        buckets.setdefault(
            name,
            Bucket(
                name=name,
                loc=res.loc,
                account=catalog.real_account(res),
                region=region,
                versioning=versioning,
                object_lock=lock,
                object_lock_known=lock_known,
                sse_algorithm=algorithm,
                sse_kms_key=kms_key,
                encryption_known=enc_known,
                policy=policy,
                policy_known=policy_known,
            ),
        )
    out["buckets"] = buckets


def _default_key_policy(account: str) -> dict[str, Any]:
    """The key policy KMS applies when none is given: the account may delegate to IAM."""
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def _kms(catalog: Catalog, out: dict[str, Any]) -> None:
    index = _Index()
    for res in catalog.of_type("aws_kms_key"):
        index.add(res, catalog.identity(res, "key_id"), catalog.identity(res, "arn"), res.address)
    aliases: dict[str, list[str]] = {}
    for res in catalog.of_type("aws_kms_alias"):
        target = index.find(catalog.values(res).get("target_key_id"))
        if target is not None:
            aliases.setdefault(target.address, []).append(catalog.identity(res, "name"))
    policies: dict[str, Any] = {}
    for res in catalog.of_type("aws_kms_key_policy"):
        values = catalog.values(res)
        target = index.find(values.get("key_id"))
        if target is not None:
            policies[target.address] = policy_document(values.get("policy"), res.loc.subject)

    keys: dict[str, KmsKey] = {}
    for res in catalog.of_type("aws_kms_key"):
        values = catalog.values(res)
        account = catalog.account(res)
        raw = values.get("policy")
        if res.address in policies:
            policy = policies[res.address]
        elif known_str(raw) or isinstance(raw, Mapping):
            policy = policy_document(raw, res.loc.subject)
        elif catalog.declared(res, "policy") is False:
            policy = _default_key_policy(account)
        else:
            policy = None
        key_id = catalog.identity(res, "key_id")
        keys.setdefault(
            key_id,
            KmsKey(
                key_id=key_id,
                arn=catalog.identity(res, "arn"),
                loc=res.loc,
                aliases=tuple(aliases.get(res.address, ())),
                customer_managed=True,
                policy=policy,
                account=account,
            ),
        )
    out["kms_keys"] = keys


# -- CodeBuild, connections, webhooks --------------------------------------------------


def _env_vars(node: Any, res: TfResource) -> tuple[EnvVar, ...]:
    block = _first_block(node)
    if not isinstance(block, Mapping):
        return ()
    raw = block.get("environment_variable")
    if not isinstance(raw, list):
        return ()
    base = res.loc.raw("environment").raw(0).raw("environment_variable")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            continue
        value = to_value(item.get("value"))
        kind = to_value(item.get("type")) or "PLAINTEXT"
        out.append(
            EnvVar(
                str(to_value(item.get("name")) or ""),
                value if value is not None else "",
                str(kind),
                base.raw(i),
            )
        )
    return tuple(out)


def _codebuild(catalog: Catalog, out: dict[str, Any]) -> None:
    projects: dict[str, CodeBuildProject] = {}
    for res in catalog.of_type("aws_codebuild_project"):
        values = catalog.values(res)
        name = catalog.identity(res, "name")
        source = values.get("source")
        environment = values.get("environment")
        cw_status = _get(values.get("logs_config"), "cloudwatch_logs", "status")
        s3_status = _get(values.get("logs_config"), "s3_logs", "status")
        s3_enc_off = _get(values.get("logs_config"), "s3_logs", "encryption_disabled")
        privileged = _get(environment, "privileged_mode")
        secondary = values.get("secondary_artifacts")
        projects[name] = CodeBuildProject(
            name=name,
            loc=res.loc,
            arn=catalog.identity(res, "arn"),
            account=catalog.real_account(res),
            source_type=known_str(_get(source, "type")),
            source_location=_value(_get(source, "location")),
            buildspec=_value(_get(source, "buildspec")),
            image=_value(_get(environment, "image")),
            privileged=_bool(privileged) if privileged is not None else False,
            environment_variables=_env_vars(environment, res),
            service_role=_value(values.get("service_role")),
            cloudwatch_logs_enabled=(
                None if isinstance(cw_status, Unresolved) else cw_status != "DISABLED"
            ),
            s3_logs_enabled=None if isinstance(s3_status, Unresolved) else s3_status == "ENABLED",
            s3_logs_encryption_disabled=_bool(s3_enc_off) is True,
            artifacts_type=known_str(_get(values.get("artifacts"), "type")),
            artifacts_encryption_disabled=_bool(
                _get(values.get("artifacts"), "encryption_disabled")
            )
            is True,
            secondary_artifacts_encryption_disabled=isinstance(secondary, list)
            and any(
                isinstance(s, Mapping) and _bool(s.get("encryption_disabled")) is True
                for s in secondary
            ),
            encryption_key=_value(values.get("encryption_key")),
            log_group=known_str(_get(values.get("logs_config"), "cloudwatch_logs", "group_name")),
            tags=_tags(values),
        )
    for res in catalog.of_type("aws_codebuild_webhook"):
        values = catalog.values(res)
        target = values.get("project_name")
        project = projects.get(target) if isinstance(target, str) else None
        if project is None and isinstance(target, str) and target.startswith("arn:"):
            project = projects.get(target.rsplit("/", 1)[-1])
        if project is None:
            continue
        groups = []
        raw_groups = values.get("filter_group")
        for group in raw_groups if isinstance(raw_groups, list) else []:
            raw_filters = group.get("filter") if isinstance(group, Mapping) else None
            filters = [
                (
                    str(to_value(item.get("type")) or ""),
                    str(to_value(item.get("pattern")) or ""),
                    _bool(item.get("exclude_matched_pattern")) is True,
                )
                for item in (raw_filters if isinstance(raw_filters, list) else [])
                if isinstance(item, Mapping)
            ]
            groups.append(WebhookFilterGroup(tuple(filters)))
        projects[project.name] = replace(
            project, webhook_filter_groups=tuple(groups), webhook_loc=res.loc
        )
    out["codebuild_projects"] = projects


def _connections(catalog: Catalog, out: dict[str, Any]) -> None:
    found: dict[str, Connection] = {}
    for res in catalog.of_type(*_CONNECTION_TYPES):
        values = catalog.values(res)
        arn = catalog.identity(res, "arn")
        known_arn = known_str(values.get("arn"))
        owner = known_str(values.get("owner_account_id")) or (
            arn_account(known_arn) if known_arn else catalog.account(res)
        )
        found.setdefault(
            arn,
            Connection(
                arn=arn,
                loc=res.loc,
                name=known_str(values.get("name")),
                provider_type=known_str(values.get("provider_type")),
                owner_account=owner,
                status=known_str(values.get("connection_status")),
                host_arn=known_str(values.get("host_arn")),
            ),
        )
    out["connections"] = found


def _webhooks(catalog: Catalog, out: dict[str, Any]) -> None:
    hooks = []
    for res in catalog.of_type("aws_codepipeline_webhook"):
        values = catalog.values(res)
        raw = values.get("filter")
        filters = [
            (
                str(to_value(item.get("json_path")) or ""),
                str(to_value(item.get("match_equals")) or ""),
            )
            for item in (raw if isinstance(raw, list) else [])
            if isinstance(item, Mapping)
        ]
        hooks.append(
            PipelineWebhook(
                name=known_str(values.get("name")) or res.address,
                target_pipeline=_value(values.get("target_pipeline"))
                or Unresolved(f"{res.address}.target_pipeline", "not set"),
                target_action=_value(values.get("target_action"))
                or Unresolved(f"{res.address}.target_action", "not set"),
                authentication=_value(values.get("authentication"))
                or Unresolved(f"{res.address}.authentication", "not set"),
                loc=res.loc,
                filters=tuple(filters),
            )
        )
    out["webhooks"] = tuple(hooks)


# -- Lambda, secrets, logs, ECR --------------------------------------------------------


def _lambdas(catalog: Catalog, out: dict[str, Any]) -> None:
    index = _Index()
    for res in catalog.of_type("aws_lambda_function"):
        index.add(
            res, catalog.identity(res, "function_name"), catalog.identity(res, "arn"), res.address
        )
    aliases: dict[str, dict[str, str]] = {}
    for res in catalog.of_type("aws_lambda_alias"):
        values = catalog.values(res)
        target = index.find(values.get("function_name"))
        version = values.get("function_version")
        if target is not None:
            aliases.setdefault(target.address, {})[catalog.identity(res, "name")] = (
                str(version) if isinstance(version, str | int) else str(to_value(version) or "")
            )
    found: dict[str, LambdaFunction] = {}
    for res in catalog.of_type("aws_lambda_function"):
        values = catalog.values(res)
        name = catalog.identity(res, "function_name")
        version = values.get("version")
        versions: tuple[str, ...] = (
            (version,) if isinstance(version, str) and version and version != "$LATEST" else ()
        )
        found.setdefault(
            name,
            LambdaFunction(
                name=name,
                arn=catalog.identity(res, "arn"),
                loc=res.loc,
                versions=versions,
                aliases=aliases.get(res.address, {}),
                code_sha256=known_str(values.get("source_code_hash")),
                log_group=known_str(_get(values.get("logging_config"), "log_group")),
            ),
        )
    out["lambdas"] = found


_RATE: Final = re.compile(r"rate\(\s*(\d+)\s+days?\s*\)")


def _secrets(catalog: Catalog, out: dict[str, Any]) -> None:
    index = _Index()
    for res in catalog.of_type("aws_secretsmanager_secret"):
        index.add(res, catalog.identity(res, "arn"), catalog.identity(res, "name"), res.address)
    rotation: dict[str, int | None] = {}
    unattributed = False
    for res in catalog.of_type("aws_secretsmanager_secret_rotation"):
        values = catalog.values(res)
        target = index.find(values.get("secret_id"))
        if target is None:
            unattributed = unattributed or isinstance(values.get("secret_id"), Unresolved)
            continue
        days = _int(_get(values.get("rotation_rules"), "automatically_after_days"))
        schedule = _get(values.get("rotation_rules"), "schedule_expression")
        if days is None and isinstance(schedule, str):
            match = _RATE.search(schedule)
            days = int(match.group(1)) if match else None
        rotation[target.address] = days
    found: dict[str, Secret] = {}
    for res in catalog.of_type("aws_secretsmanager_secret"):
        name = catalog.identity(res, "name")
        enabled: bool | None = (
            True if res.address in rotation else (None if unattributed else False)
        )
        found.setdefault(
            name,
            Secret(
                name=name,
                arn=catalog.identity(res, "arn"),
                loc=res.loc,
                rotation_enabled=enabled,
                rotation_days=rotation.get(res.address),
            ),
        )
    out["secrets"] = found


def _log_groups(catalog: Catalog, out: dict[str, Any]) -> None:
    policies: dict[str, Any] = {}
    unattributed = False
    for res in catalog.of_type("aws_cloudwatch_log_data_protection_policy"):
        values = catalog.values(res)
        target = values.get("log_group_name")
        if isinstance(target, str):
            policies[target] = policy_document(values.get("policy_document"), res.loc.subject)
        else:
            unattributed = True
    found: dict[str, LogGroup] = {}
    for res in catalog.of_type("aws_cloudwatch_log_group"):
        name = catalog.identity(res, "name")
        if name in policies:
            doc = policies[name]
            known = doc is not None
        else:
            doc, known = None, not unattributed
        found.setdefault(
            name, LogGroup(name=name, loc=res.loc, data_protection_policy=doc, policy_known=known)
        )
    out["log_groups"] = found


def _ecr(catalog: Catalog, out: dict[str, Any]) -> None:
    found: dict[str, EcrRepository] = {}
    for res in catalog.of_type("aws_ecr_repository"):
        values = catalog.values(res)
        name = catalog.identity(res, "name")
        mutability = values.get("image_tag_mutability")
        if isinstance(mutability, Unresolved):
            tag_mutability = None if catalog.declared(res, "image_tag_mutability") else "MUTABLE"
        else:
            tag_mutability = known_str(mutability) or "MUTABLE"
        raw = values.get("image_tag_mutability_exclusion_filter")
        exclusions = [
            item["filter"]
            for item in (raw if isinstance(raw, list) else [])
            if isinstance(item, Mapping) and isinstance(item.get("filter"), str)
        ]
        scan_raw = _get(values.get("image_scanning_configuration"), "scan_on_push")
        scan = None if isinstance(scan_raw, Unresolved) else _bool(scan_raw) is True
        found.setdefault(
            name,
            EcrRepository(
                name=name,
                loc=res.loc,
                arn=catalog.identity(res, "arn"),
                tag_mutability=tag_mutability,
                mutability_exclusions=tuple(exclusions),
                scan_on_push=scan,
            ),
        )
    out["ecr_repositories"] = found
    registry: bool | None = None
    for res in catalog.of_type("aws_ecr_registry_scanning_configuration"):
        values = catalog.values(res)
        rules = values.get("rule")
        if not isinstance(rules, list):
            registry = None
            continue
        registry = any(
            isinstance(rule, Mapping)
            and rule.get("scan_frequency") in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")
            for rule in rules
        )
    out["ecr_registry_scan_on_push"] = registry


def build_inventory(
    catalog: Catalog,
    *,
    source_kind: str,
    positions: Mapping[str, PositionIndex],
    notes: Iterable[str] = (),
) -> Inventory:
    """Every pipeline and the resources the rules look up, from one catalog."""
    pipelines = tuple(_pipeline(catalog, res) for res in catalog.of_type("aws_codepipeline"))
    parts: dict[str, Any] = {}
    for builder in (
        _iam,
        _buckets,
        _kms,
        _codebuild,
        _connections,
        _webhooks,
        _lambdas,
        _secrets,
        _log_groups,
        _ecr,
    ):
        builder(catalog, parts)
    return Inventory(
        source_kind=source_kind,
        pipelines=pipelines,
        positions=dict(positions),
        notes=tuple(notes),
        **parts,
    )
