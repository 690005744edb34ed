"""The parsed pipeline declaration: stages, actions, conditions and triggers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pipewarden.model.location import Loc
from pipewarden.model.values import JsonValue, Unresolved, Value

__all__ = [
    "Action",
    "ActionTypeId",
    "ArtifactStore",
    "Condition",
    "ConditionRule",
    "EnvVar",
    "GitFilter",
    "InlineSuppression",
    "Pipeline",
    "Stage",
    "StageConditions",
    "Trigger",
]


class Category(StrEnum):
    """Action categories."""

    SOURCE = "Source"
    BUILD = "Build"
    TEST = "Test"
    DEPLOY = "Deploy"
    INVOKE = "Invoke"
    APPROVAL = "Approval"
    COMPUTE = "Compute"


@dataclass(frozen=True, slots=True)
class ActionTypeId:
    """``actionTypeId``: category, owner, provider and version."""

    category: str
    owner: str
    provider: str
    version: str

    def __str__(self) -> str:
        return f"{self.category}/{self.owner}/{self.provider}/{self.version}"


@dataclass(frozen=True, slots=True)
class EnvVar:
    """An environment variable of an action, a Commands action or a CodeBuild project."""

    name: str
    value: Value
    type: str = "PLAINTEXT"
    loc: Loc | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a stage."""

    name: str
    stage_index: int
    stage_name: str
    index: int
    type_id: ActionTypeId
    run_order: int
    configuration: Mapping[str, Value]
    loc: Loc
    commands: tuple[str, ...] = ()
    input_artifacts: tuple[str, ...] = ()
    output_artifacts: tuple[str, ...] = ()
    role_arn: Value | None = None
    region: Value | None = None
    namespace: str | None = None
    environment_variables: tuple[EnvVar, ...] = ()

    @property
    def category(self) -> str:
        return self.type_id.category

    @property
    def provider(self) -> str:
        return self.type_id.provider

    @property
    def owner(self) -> str:
        return self.type_id.owner

    def config(self, key: str) -> Value | None:
        """A configuration value, or None when the key is absent.

        When the whole configuration is unresolved (a Terraform plan shows a map
        with any unknown value as unknown), every key is that unresolved value.
        """
        value = self.configuration.get(key)
        if value is None:
            whole = self.configuration.get("*")
            if isinstance(whole, Unresolved):
                return whole
        return value

    def precedes(self, other: Action) -> bool:
        """True when this action finishes before ``other`` starts."""
        if self.stage_index != other.stage_index:
            return self.stage_index < other.stage_index
        return self.run_order < other.run_order


@dataclass(frozen=True, slots=True)
class ConditionRule:
    """A rule inside a stage condition (``ruleTypeId`` provider and its configuration)."""

    name: str
    provider: str
    owner: str
    version: str
    configuration: Mapping[str, Value]
    loc: Loc
    commands: tuple[str, ...] = ()
    input_artifacts: tuple[str, ...] = ()
    role_arn: Value | None = None
    region: Value | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition: a result (FAIL, SKIP, ROLLBACK, RETRY) and its rules."""

    result: Value | None
    rules: tuple[ConditionRule, ...]
    loc: Loc


@dataclass(frozen=True, slots=True)
class StageConditions:
    """``beforeEntry`` / ``onSuccess`` / ``onFailure`` of a stage."""

    conditions: tuple[Condition, ...]
    loc: Loc
    result: Value | None = None  # onFailure may carry a result without conditions


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage of a pipeline."""

    name: str
    index: int
    actions: tuple[Action, ...]
    loc: Loc
    before_entry: StageConditions | None = None
    on_success: StageConditions | None = None
    on_failure: StageConditions | None = None


@dataclass(frozen=True, slots=True)
class ArtifactStore:
    """An artifact store: the S3 bucket and the KMS key for one region."""

    location: Value
    loc: Loc
    region: str | None = None
    encryption_key: Value | None = None


@dataclass(frozen=True, slots=True)
class GitFilter:
    """A push or pull-request filter of a V2 trigger."""

    kind: str  # "push" or "pullRequest"
    loc: Loc
    branches_include: tuple[str, ...] = ()
    branches_exclude: tuple[str, ...] = ()
    tags_include: tuple[str, ...] = ()
    tags_exclude: tuple[str, ...] = ()
    file_paths_include: tuple[str, ...] = ()
    file_paths_exclude: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Trigger:
    """A V2 trigger declaration."""

    provider_type: str
    source_action_name: str
    loc: Loc
    push: tuple[GitFilter, ...] = ()
    pull_request: tuple[GitFilter, ...] = ()


@dataclass(frozen=True, slots=True)
class InlineSuppression:
    """A suppression written next to the resource (CloudFormation ``Metadata``)."""

    rule: str
    reason: str
    loc: Loc


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A pipeline declaration, parsed, with the verbatim document beside it."""

    name: Value
    loc: Loc
    stages: tuple[Stage, ...]
    role_arn: Value | None = None
    arn: str | None = None
    account: str | None = None
    region: str | None = None
    pipeline_type: Value | None = None  # None: not stated (AWS treats as V1)
    execution_mode: Value | None = None
    artifact_stores: tuple[ArtifactStore, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    declaration: JsonValue = None
    source_file: str | None = None
    suppressions: tuple[InlineSuppression, ...] = ()

    @property
    def display_name(self) -> str:
        """The name, or its expression when the name is unresolved."""
        if isinstance(self.name, Unresolved):
            return self.name.expr
        return self.name

    def actions(self) -> tuple[Action, ...]:
        """Every action of every stage, in declaration order."""
        return tuple(a for s in self.stages for a in s.actions)
