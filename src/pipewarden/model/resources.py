"""Resources pipelines depend on: roles, buckets, keys, projects, connections, ...

A field typed ``X | None`` where None means "not known" says so in its comment;
known absence is represented by an explicit value (``False``, empty tuple).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipewarden.model.location import Loc
from pipewarden.model.pipeline import EnvVar
from pipewarden.model.values import JsonValue, Value, split_arn

__all__ = [
    "ActionType",
    "Bucket",
    "CodeBuildProject",
    "Connection",
    "EcrRepository",
    "Gap",
    "IdentityPolicy",
    "KmsKey",
    "LambdaFunction",
    "LogGroup",
    "ManagedPolicy",
    "PipelineWebhook",
    "Role",
    "Secret",
]


@dataclass(frozen=True, slots=True)
class Gap:
    """Evidence that could not be obtained, and why (AccessDenied, not in template, ...)."""

    reason: str
    resource: str = ""
    operation: str = ""


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy attached to a role. ``document`` None: content not known."""

    arn: str
    document: JsonValue = None
    loc: Loc | None = None

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Role:
    """An IAM role with its trust policy and permission policies."""

    arn: str
    name: str
    loc: Loc | None = None
    trust_policy: JsonValue = None  # None: not known
    inline_policies: Mapping[str, JsonValue] = field(default_factory=dict)
    inline_policy_locs: Mapping[str, Loc] = field(default_factory=dict)
    managed_policies: tuple[ManagedPolicy, ...] = ()
    complete: bool = True  # False: some attached policies could not be read

    @property
    def account(self) -> str | None:
        parts = split_arn(self.arn)
        return parts[4] if len(parts) > 4 and parts[4] else None


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """A permission policy of any IAM principal (user, group or role), for PW308/PW309."""

    principal: str  # ARN or template logical id
    principal_kind: str  # "role" | "user" | "group"
    name: str
    document: JsonValue
    loc: Loc | None = None


@dataclass(frozen=True, slots=True)
class ObjectLock:
    """Object lock configuration of a bucket."""

    enabled: bool
    mode: str | None = None
    days: int | None = None
    years: int | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    """An S3 bucket (artifact store, S3 source or deploy target)."""

    name: str
    loc: Loc | None = None
    account: str | None = None
    region: str | None = None
    versioning: bool | None = None  # None: not known
    object_lock: ObjectLock | None = None  # None with object_lock_known: no lock
    object_lock_known: bool = True
    sse_algorithm: str | None = None  # "aws:kms", "AES256"; None: no default encryption
    sse_kms_key: Value | None = None
    encryption_known: bool = True
    policy: JsonValue = None  # None with policy_known: no bucket policy
    policy_known: bool = True


@dataclass(frozen=True, slots=True)
class KmsKey:
    """A KMS key (artifact encryption)."""

    key_id: str
    arn: str | None = None
    loc: Loc | None = None
    aliases: tuple[str, ...] = ()
    customer_managed: bool | None = True  # None: not known
    policy: JsonValue = None  # None: not known
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Connection:
    """A CodeConnections (or CodeStar Connections) connection."""

    arn: str
    loc: Loc | None = None
    name: str | None = None
    provider_type: str | None = None
    owner_account: str | None = None
    status: str | None = None
    host_arn: str | None = None
    provider_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class ActionType:
    """A Custom or ThirdParty action type as registered in the account."""

    category: str
    owner: str
    provider: str
    version: str
    executor_type: str | None = None
    executor: JsonValue = None
    loc: Loc | None = None


@dataclass(frozen=True, slots=True)
class WebhookFilterGroup:
    """One CodeBuild webhook filter group."""

    filters: tuple[tuple[str, str, bool], ...]  # (type, pattern, excludeMatchedPattern)


@dataclass(frozen=True, slots=True)
class CodeBuildProject:
    """A CodeBuild project referenced by a pipeline action or rule."""

    name: str
    loc: Loc | None = None
    arn: str | None = None
    account: str | None = None
    source_type: str | None = None
    source_location: Value | None = None
    buildspec: Value | None = None  # None: default buildspec.yml from source
    image: Value | None = None
    privileged: bool | None = False  # None: not known
    environment_variables: tuple[EnvVar, ...] = ()
    service_role: Value | None = None
    cloudwatch_logs_enabled: bool | None = True  # None: not known
    s3_logs_enabled: bool | None = False
    s3_logs_encryption_disabled: bool = False
    artifacts_type: str | None = None
    artifacts_encryption_disabled: bool = False
    secondary_artifacts_encryption_disabled: bool = False
    encryption_key: Value | None = None
    log_group: str | None = None  # the CloudWatch group name, when not the default
    webhook_filter_groups: tuple[WebhookFilterGroup, ...] = ()
    webhook_loc: Loc | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def effective_log_group(self) -> str:
        return self.log_group or f"/aws/codebuild/{self.name}"


@dataclass(frozen=True, slots=True)
class PipelineWebhook:
    """An ``AWS::CodePipeline::Webhook`` / PutWebhook declaration."""

    name: str
    target_pipeline: Value
    target_action: Value
    authentication: Value
    loc: Loc | None = None
    filters: tuple[tuple[str, str], ...] = ()  # (jsonPath, matchEquals)


@dataclass(frozen=True, slots=True)
class LambdaFunction:
    """A Lambda function used by an invoke action or a gate rule."""

    name: str
    arn: str | None = None
    loc: Loc | None = None
    versions: tuple[str, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    code_sha256: str | None = None
    log_group: str | None = None

    @property
    def effective_log_group(self) -> str:
        return self.log_group or f"/aws/lambda/{self.name}"


@dataclass(frozen=True, slots=True)
class Secret:
    """A Secrets Manager secret referenced by the pipeline."""

    name: str
    arn: str | None = None
    loc: Loc | None = None
    rotation_enabled: bool | None = None  # None: not known
    rotation_days: int | None = None


@dataclass(frozen=True, slots=True)
class LogGroup:
    """A CloudWatch Logs group and its data protection policy."""

    name: str
    loc: Loc | None = None
    data_protection_policy: JsonValue = None  # None with policy_known: none
    policy_known: bool = True


@dataclass(frozen=True, slots=True)
class EcrRepository:
    """An ECR repository a pipeline reads from or pushes to."""

    name: str
    loc: Loc | None = None
    arn: str | None = None
    tag_mutability: str | None = None  # None: not known
    mutability_exclusions: tuple[str, ...] = ()
    scan_on_push: bool | None = None  # None: not known
