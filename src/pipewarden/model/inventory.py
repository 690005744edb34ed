"""The Inventory: everything known about a set of pipelines at one moment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pipewarden.model.pipeline import Pipeline
from pipewarden.model.resources import (
    ActionType,
    Bucket,
    CodeBuildProject,
    Connection,
    EcrRepository,
    Gap,
    IdentityPolicy,
    KmsKey,
    LambdaFunction,
    LogGroup,
    PipelineWebhook,
    Role,
    Secret,
)
from pipewarden.model.values import split_arn

__all__ = ["GapRecord", "Inventory", "PositionIndex"]


class PositionIndex(Protocol):
    """Maps a JSON pointer into a source document to a 1-based (line, column)."""

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer``, or of its nearest ancestor that has one."""
        ...


@dataclass(frozen=True, slots=True)
class GapRecord:
    """What could not be read: ``kind`` is a resource kind (``role``, ``bucket``...),
    ``resource`` its identifier or ``*`` for all of that kind."""

    kind: str
    resource: str
    reason: str
    operation: str = ""


def _strip_lambda_qualifier(name: str) -> tuple[str, str | None]:
    """Split ``fn:qualifier`` or ``arn:...:function:fn:qualifier``."""
    if name.startswith("arn:"):
        parts = split_arn(name)
        base = parts[6] if len(parts) > 6 else name
        qualifier = parts[7] if len(parts) > 7 else None
        return base, qualifier
    parts = split_arn(name)
    if len(parts) > 1:
        return parts[0], ":".join(parts[1:])
    return name, None


@dataclass(frozen=True, slots=True)
class Inventory:
    """Pipelines plus the resources they depend on, from one input.

    ``source_kind`` names the input ("CloudFormation template", "snapshot", ...)
    and feeds the reason given when a resource is not in the inventory.
    """

    source_kind: str
    pipelines: tuple[Pipeline, ...] = ()
    roles: Mapping[str, Role] = field(default_factory=dict)
    buckets: Mapping[str, Bucket] = field(default_factory=dict)
    kms_keys: Mapping[str, KmsKey] = field(default_factory=dict)
    connections: Mapping[str, Connection] = field(default_factory=dict)
    action_types: Mapping[tuple[str, str, str, str], ActionType] = field(default_factory=dict)
    codebuild_projects: Mapping[str, CodeBuildProject] = field(default_factory=dict)
    webhooks: tuple[PipelineWebhook, ...] = ()
    lambdas: Mapping[str, LambdaFunction] = field(default_factory=dict)
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    log_groups: Mapping[str, LogGroup] = field(default_factory=dict)
    ecr_repositories: Mapping[str, EcrRepository] = field(default_factory=dict)
    ecr_registry_scan_on_push: bool | None = None  # None: not known
    identity_policies: tuple[IdentityPolicy, ...] = ()
    identity_policies_complete: bool = False  # True: every principal of the account is here
    gaps: tuple[GapRecord, ...] = ()
    positions: Mapping[str, PositionIndex] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Pipeline ARN -> the inventory of that pipeline's own account and region, for
    # inputs spanning several (a snapshot): regional names such as CodeBuild project
    # names repeat across accounts and regions, so they resolve only within a scope.
    pipeline_scopes: Mapping[str, Inventory] = field(default_factory=dict)

    def for_pipeline(self, pipeline: Pipeline) -> Inventory:
        """The inventory rules read for ``pipeline``: its own scope when there is one."""
        if pipeline.arn is not None:
            return self.pipeline_scopes.get(pipeline.arn, self)
        return self

    # -- lookups: each returns the resource or a Gap saying why it is not known --

    def gap(self, kind: str, resource: str) -> Gap:
        """Why ``resource`` of ``kind`` is not known."""
        for record in self.gaps:
            if record.kind == kind and record.resource in (resource, "*"):
                return Gap(record.reason, resource, record.operation)
        return Gap(f"{kind} `{resource}` is not in this {self.source_kind}", resource)

    def role(self, arn_or_name: str) -> Role | Gap:
        """The role with this ARN (or, failing that, this name)."""
        role = self.roles.get(arn_or_name)
        if role is not None:
            return role
        name = arn_or_name.rsplit("/", 1)[-1]
        for candidate in self.roles.values():
            if candidate.name == name and (
                not arn_or_name.startswith("arn:") or candidate.arn == arn_or_name
            ):
                return candidate
        return self.gap("role", arn_or_name)

    def bucket(self, name: str) -> Bucket | Gap:
        """The bucket with this name."""
        return self.buckets.get(name) or self.gap("bucket", name)

    def kms_key(self, ref: str) -> KmsKey | Gap:
        """The key named by key id, key ARN, alias name or alias ARN."""
        key = self.kms_keys.get(ref)
        if key is not None:
            return key
        alias = ref.split(":", 5)[-1] if ref.startswith("arn:") and ":alias/" in ref else ref
        for candidate in self.kms_keys.values():
            if ref in (candidate.arn, candidate.key_id) or alias in candidate.aliases:
                return candidate
        return self.gap("kms-key", ref)

    def connection(self, arn: str) -> Connection | Gap:
        """The connection with this ARN."""
        return self.connections.get(arn) or self.gap("connection", arn)

    def action_type(self, key: tuple[str, str, str, str]) -> ActionType | Gap:
        """The registered action type (category, owner, provider, version)."""
        found = self.action_types.get(key)
        return found if found is not None else self.gap("action-type", "/".join(key))

    def codebuild_project(self, name: str) -> CodeBuildProject | Gap:
        """The CodeBuild project with this name or ARN."""
        short = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
        return self.codebuild_projects.get(short) or self.gap("codebuild-project", short)

    def lambda_function(self, name: str) -> LambdaFunction | Gap:
        """The Lambda function (qualifier ignored) named by name or ARN."""
        base, _ = _strip_lambda_qualifier(name)
        return self.lambdas.get(base) or self.gap("lambda-function", base)

    def secret(self, name: str) -> Secret | Gap:
        """The secret with this name or ARN (ARN suffix tolerated)."""
        found = self.secrets.get(name)
        if found is not None:
            return found
        for candidate in self.secrets.values():
            if candidate.arn and (name.startswith(candidate.arn) or candidate.arn.startswith(name)):
                return candidate
        return self.gap("secret", name)

    def log_group(self, name: str) -> LogGroup | Gap:
        """The log group with this name."""
        return self.log_groups.get(name) or self.gap("log-group", name)

    def ecr_repository(self, name: str) -> EcrRepository | Gap:
        """The ECR repository with this name."""
        return self.ecr_repositories.get(name) or self.gap("ecr-repository", name)
