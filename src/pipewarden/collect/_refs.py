"""What a pipeline references, read from raw API responses.

The collector reads only what the pipelines it found use: the roles, buckets,
keys, connections, projects, functions, secrets, log groups, repositories and
action types named by their declarations, and then by the projects and
functions those name. The names are taken as the rules take them (for
example a CodeBuild project's log group is its ``logsConfig`` group or
``/aws/codebuild/<name>``), so that every lookup a rule makes finds either
the resource or the gap that says why it is missing. A value holding a
variable (``#{...}``) is not resolvable before a run and is skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["Refs", "function_refs", "pipeline_refs", "project_refs"]

_PLACEHOLDER: Final = re.compile(r"#\{|\$\{|\{\{")
_SECRET_REF: Final = re.compile(r"\{\{resolve:secretsmanager:((?:\$\{[^}]*\}|[^}])*)\}\}")
_ECR_URI: Final = re.compile(
    r"\d{12}\.dkr\.ecr\.[^/\s]+\.amazonaws\.com(?:\.cn)?/(?P<repo>[A-Za-z0-9][A-Za-z0-9._/-]*)"
)
# The identifier patterns the snapshot keys resources by (snapshot-v1.json).
_BUCKET: Final = re.compile(r"^[A-Za-z0-9._-]{3,255}$")
_FUNCTION: Final = re.compile(r"^[A-Za-z0-9_-]{1,140}$")
_LOG_GROUP: Final = re.compile(r"^[.\-_/#A-Za-z0-9]{1,512}$")
_REPOSITORY: Final = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,255}$")
_PROJECT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$")
_ROLE_ARN: Final = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$")
_CONNECTION_ARN: Final = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/.+$"
)
_ACTION_TYPE_PART: Final = re.compile(r"^[0-9A-Za-z_-]{1,35}$")
_CATEGORIES: Final = frozenset(
    {"Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute"}
)
# AWS actions that write to the pipeline's own log group (/aws/codepipeline/<name>).
_MANAGED_COMPUTE: Final = frozenset({"Commands", "ECRBuildAndPublish"})
_ECR_ACTIONS: Final = {
    "ECR": "RepositoryName",
    "ECRBuildAndPublish": "ECRRepositoryName",
    "InspectorScan": "ECRRepositoryName",
}


@dataclass(slots=True)
class Refs:
    """Resources to read, by kind (regional names belong to the referencing region)."""

    roles: set[str] = field(default_factory=set)
    buckets: set[str] = field(default_factory=set)
    keys: set[tuple[str, str]] = field(default_factory=set)  # (region, key reference)
    connections: set[str] = field(default_factory=set)
    action_types: set[tuple[str, str, str, str]] = field(default_factory=set)
    projects: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    log_groups: set[str] = field(default_factory=set)
    repositories: set[str] = field(default_factory=set)
    webhooks: bool = False

    def update(self, other: Refs) -> None:
        """Add every reference of ``other``."""
        self.roles |= other.roles
        self.buckets |= other.buckets
        self.keys |= other.keys
        self.connections |= other.connections
        self.action_types |= other.action_types
        self.projects |= other.projects
        self.functions |= other.functions
        self.secrets |= other.secrets
        self.log_groups |= other.log_groups
        self.repositories |= other.repositories
        self.webhooks = self.webhooks or other.webhooks


def _text(value: Any) -> str | None:
    """A usable identifier: a non-empty string without variables or placeholders."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or _PLACEHOLDER.search(text):
        return None
    return text


def _secret_id(value: str) -> str:
    """``secret-id[:json-key[:stage[:version]]]`` or an ARN with such a suffix -> the id."""
    parts = value.strip().split(":")
    if parts[0] == "arn":
        return ":".join(parts[:7])
    return parts[0]


def _secret_refs(value: Any) -> Iterator[str]:
    if not isinstance(value, str) or "{{resolve:secretsmanager:" not in value:
        return
    for match in _SECRET_REF.finditer(value):
        body = match.group(1)
        ref = _text(_secret_id(body))
        if ref:
            yield ref


def _override_secrets(raw: Any) -> Iterator[str]:
    """SECRETS_MANAGER entries of a CodeBuild action's ``EnvironmentVariables`` JSON."""
    if not isinstance(raw, str) or "SECRETS_MANAGER" not in raw:
        return
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return
    if not isinstance(doc, list):
        return
    for entry in doc:
        if isinstance(entry, Mapping) and entry.get("type") == "SECRETS_MANAGER":
            ref = _text(entry.get("value"))
            if ref:
                yield _secret_id(ref)


def _function_name(value: Any, account: str, region: str) -> str | None:
    """The function a ``FunctionName`` names in this account and region (qualifier dropped)."""
    text = _text(value)
    if text is None:
        return None
    parts = text.split(":")
    if text.startswith("arn:"):
        if len(parts) < 7 or parts[3] != region or parts[4] != account:
            return None  # another account or region: not looked up in this scope
        name = parts[6]
    else:
        name = parts[0]
    return name if _FUNCTION.fullmatch(name) else None


def _project_name(value: Any) -> str | None:
    text = _text(value)
    if text is None:
        return None
    name = text.rsplit("/", 1)[-1] if text.startswith("arn:") else text
    return name if _PROJECT.fullmatch(name) else None


def _role(value: Any, refs: Refs) -> None:
    text = _text(value)
    if text and _ROLE_ARN.fullmatch(text):
        refs.roles.add(text)


def _store(store: Any, region: str, refs: Refs) -> None:
    if not isinstance(store, Mapping):
        return
    bucket = _text(store.get("location"))
    if bucket and _BUCKET.fullmatch(bucket):
        refs.buckets.add(bucket)
    key = store.get("encryptionKey")
    if isinstance(key, Mapping):
        ref = _text(key.get("id"))
        if ref:
            refs.keys.add((region, ref))


def _config_refs(config: Mapping[str, Any], refs: Refs) -> None:
    for key, value in config.items():
        refs.secrets.update(_secret_refs(value))
        if key == "EnvironmentVariables":
            refs.secrets.update(_override_secrets(value))
        if key == "ConnectionArn":
            arn = _text(value)
            if arn and _CONNECTION_ARN.fullmatch(arn):
                refs.connections.add(arn)


def _action_refs(
    action: Mapping[str, Any], pipeline_group: str | None, account: str, region: str, refs: Refs
) -> None:
    tid = action.get("actionTypeId")
    tid = tid if isinstance(tid, Mapping) else {}
    category, owner, provider, version = (
        str(tid.get(k, "")) for k in ("category", "owner", "provider", "version")
    )
    raw_config = action.get("configuration")
    config: Mapping[str, Any] = raw_config if isinstance(raw_config, Mapping) else {}
    _role(action.get("roleArn"), refs)
    _config_refs(config, refs)
    for var in action.get("environmentVariables") or []:
        if isinstance(var, Mapping) and var.get("type") == "SECRETS_MANAGER":
            ref = _text(var.get("value"))
            if ref:
                refs.secrets.add(_secret_id(ref))
    if owner == "AWS":
        if provider == "CodeBuild":
            name = _project_name(config.get("ProjectName"))
            if name:
                refs.projects.add(name)
        elif provider == "Lambda":
            function = _function_name(config.get("FunctionName"), account, region)
            if function:
                refs.functions.add(function)
        elif provider == "S3" and category == "Source":
            bucket = _text(config.get("S3Bucket"))
            if bucket and _BUCKET.fullmatch(bucket):
                refs.buckets.add(bucket)
        if provider in _ECR_ACTIONS:
            repo = _text(config.get(_ECR_ACTIONS[provider]))
            if repo and _REPOSITORY.fullmatch(repo):
                refs.repositories.add(repo)
        if provider in _MANAGED_COMPUTE and pipeline_group:
            refs.log_groups.add(pipeline_group)
        return
    if owner in {"ThirdParty", "Custom"}:
        if category == "Source" and str(config.get("PollForSourceChanges", "")).lower() == "false":
            refs.webhooks = True
        github_v1 = owner == "ThirdParty" and provider == "GitHub" and category == "Source"
        if (
            not github_v1
            and category in _CATEGORIES
            and _ACTION_TYPE_PART.fullmatch(provider)
            and re.fullmatch(r"[0-9A-Za-z_-]{1,9}", version)
        ):
            refs.action_types.add((category, owner, provider, version))


def _condition_refs(
    stage: Mapping[str, Any], pipeline_group: str | None, account: str, region: str, refs: Refs
) -> None:
    for member in ("beforeEntry", "onSuccess", "onFailure"):
        block = stage.get(member)
        if not isinstance(block, Mapping):
            continue
        for condition in block.get("conditions") or []:
            if not isinstance(condition, Mapping):
                continue
            for rule in condition.get("rules") or []:
                if not isinstance(rule, Mapping):
                    continue
                tid = rule.get("ruleTypeId")
                provider = str(tid.get("provider", "")) if isinstance(tid, Mapping) else ""
                raw_config = rule.get("configuration")
                config: Mapping[str, Any] = raw_config if isinstance(raw_config, Mapping) else {}
                _role(rule.get("roleArn"), refs)
                _config_refs(config, refs)
                if provider == "CodeBuild":
                    name = _project_name(config.get("ProjectName"))
                    if name:
                        refs.projects.add(name)
                elif provider == "LambdaInvoke":
                    function = _function_name(config.get("FunctionName"), account, region)
                    if function:
                        refs.functions.add(function)
                elif provider == "Commands" and pipeline_group:
                    refs.log_groups.add(pipeline_group)


def pipeline_refs(declaration: Mapping[str, Any], *, account: str, region: str) -> Refs:
    """What one ``GetPipeline.pipeline`` declaration references."""
    refs = Refs()
    name = _text(declaration.get("name"))
    group = f"/aws/codepipeline/{name}" if name else None
    if group is not None and not _LOG_GROUP.fullmatch(group):
        group = None
    _role(declaration.get("roleArn"), refs)
    _store(declaration.get("artifactStore"), region, refs)
    stores = declaration.get("artifactStores")
    if isinstance(stores, Mapping):
        for store_region, store in stores.items():
            if isinstance(store_region, str) and re.fullmatch(
                r"[a-z]{2,}(-[a-z]+)+-[0-9]+", store_region
            ):
                _store(store, store_region, refs)
    for stage in declaration.get("stages") or []:
        if not isinstance(stage, Mapping):
            continue
        for action in stage.get("actions") or []:
            if isinstance(action, Mapping):
                _action_refs(action, group, account, region, refs)
        _condition_refs(stage, group, account, region, refs)
    return refs


def project_refs(project: Mapping[str, Any]) -> Refs:
    """What one ``BatchGetProjects`` element references: its service role, secrets,
    ECR repositories named in its environment, and its CloudWatch log group."""
    refs = Refs()
    _role(project.get("serviceRole"), refs)
    env = project.get("environment")
    for var in (env.get("environmentVariables") or []) if isinstance(env, Mapping) else []:
        if not isinstance(var, Mapping):
            continue
        value = _text(var.get("value"))
        if value is None:
            continue
        kind = var.get("type") or "PLAINTEXT"
        if kind == "SECRETS_MANAGER":
            refs.secrets.add(_secret_id(value))
        elif kind == "PLAINTEXT":
            match = _ECR_URI.search(value)
            if match and _REPOSITORY.fullmatch(match.group("repo")):
                refs.repositories.add(match.group("repo"))
    logs = project.get("logsConfig")
    cloudwatch = logs.get("cloudWatchLogs") if isinstance(logs, Mapping) else None
    enabled = not isinstance(cloudwatch, Mapping) or cloudwatch.get("status") != "DISABLED"
    name = project.get("name")
    if enabled and isinstance(name, str):
        group = cloudwatch.get("groupName") if isinstance(cloudwatch, Mapping) else None
        group = _text(group) or f"/aws/codebuild/{name}"
        if _LOG_GROUP.fullmatch(group):
            refs.log_groups.add(group)
    return refs


def function_refs(function: Mapping[str, Any]) -> Refs:
    """The log group of one ``GetFunction`` response."""
    refs = Refs()
    config = function.get("Configuration")
    if not isinstance(config, Mapping):
        return refs
    logging_config = config.get("LoggingConfig")
    group = logging_config.get("LogGroup") if isinstance(logging_config, Mapping) else None
    name = config.get("FunctionName")
    group = _text(group) or (f"/aws/lambda/{name}" if isinstance(name, str) else None)
    if group and _LOG_GROUP.fullmatch(group):
        refs.log_groups.add(group)
    return refs
