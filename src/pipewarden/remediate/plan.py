"""What a fix plan holds: the hardened declaration, new resources, changes to
existing resources, and what each change fixes.

A plan is pure data. Planners (:mod:`pipewarden.remediate.planner`) build it
from an Inventory; emitters render it as a CloudFormation template, Terraform,
update-pipeline JSON or a diff; :mod:`pipewarden.collect.apply` applies it.

Declarations and new resources are written in API and CloudFormation terms
respectively, with :class:`~pipewarden.remediate._values.Ref` values for
anything the fix creates, so every emitter renders the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.model import KeyStyle, Loc, Pipeline
from pipewarden.remediate._values import Text

__all__ = [
    "DEFAULT_LOCK_DAYS",
    "BucketPatch",
    "Fix",
    "FixOptions",
    "FixPlan",
    "LogGroupPatch",
    "ManualStep",
    "NewResource",
    "Patch",
    "PipelinePlan",
    "ProjectPatch",
    "RepositoryPatch",
    "SecretToCreate",
    "WebhookPatch",
]

DEFAULT_LOCK_DAYS: Final = 30


@dataclass(frozen=True, slots=True)
class FixOptions:
    """What the user chose on the command line."""

    only: frozenset[str] = frozenset()  # rule ids or slugs; empty: every fixable rule
    skip: frozenset[str] = frozenset()
    object_lock_days: int = DEFAULT_LOCK_DAYS
    object_lock_mode: str = "COMPLIANCE"
    connection_arn: str | None = None  # an existing CodeConnections connection for PW101/PW102
    gate_function: str | None = None  # a pinned Lambda function (name:version or ARN:version)
    approval_topic: str | None = None  # SNS topic ARN for manual approvals
    attestation_key: str | None = None  # KMS key ARN verify-handoff checks attestations with
    allowed_signers_parameter: str | None = None  # SSM parameter holding the allowed signers
    pipewarden_version: str = ""  # the version the in-pipeline verifiers install


@dataclass(frozen=True, slots=True)
class Fix:
    """One change and the rules it fixes. ``behaviour`` says how it changes what the
    pipeline does (empty when it does not)."""

    rules: tuple[str, ...]
    title: str
    detail: str = ""
    behaviour: str = ""

    @property
    def changes_behaviour(self) -> bool:
        return bool(self.behaviour)


@dataclass(frozen=True, slots=True)
class ManualStep:
    """Something the fix could not do, and the exact change to make."""

    rules: tuple[str, ...]
    text: str


@dataclass(frozen=True, slots=True)
class SecretToCreate:
    """A secret moved out of the declaration: the user creates it; its value is
    never in the plan, only its masked form."""

    name: str
    masked: str
    used_by: str

    @property
    def command(self) -> str:
        return (
            f"aws secretsmanager create-secret --name {self.name} "
            "--secret-string file://secret-value.txt"
        )


@dataclass(frozen=True, slots=True)
class NewResource:
    """A resource the fix creates, in CloudFormation terms (``type`` and
    ``properties``, values may be Refs). ``tf_name`` names its Terraform block."""

    logical_id: str
    type: str
    properties: Mapping[str, Any]
    tf_name: str
    depends_on: tuple[str, ...] = ()
    account: str = ""  # empty: the pipeline's account; else a target account id
    purpose: str = ""


@dataclass(frozen=True, slots=True)
class BucketPatch:
    """Hardening of a bucket defined in the input."""

    loc: Loc
    name: str
    versioning: bool = False
    lock_mode: str | None = None
    lock_days: int | None = None
    kms_key: Text | None = None
    policy_add: tuple[Mapping[str, Any], ...] = ()  # statements added to its bucket policy
    policy_remove: tuple[int, ...] = ()  # indexes of statements removed from it
    policy_existing: tuple[
        Mapping[str, Any], ...
    ] = ()  # its statements, as the input resolves them


@dataclass(frozen=True, slots=True)
class ProjectPatch:
    """Hardening of a CodeBuild project defined in the input."""

    loc: Loc
    name: str
    privileged_off: bool = False
    log_group: Text | None = None  # turn CloudWatch logs on, into this group
    encryption_on: bool = False  # drop EncryptionDisabled flags
    env_to_secrets: tuple[tuple[int, str], ...] = ()  # (variable index, secret name)
    buildspec_secrets: tuple[tuple[str, str, str], ...] = ()  # (literal, variable, secret name)
    source_location: str | None = None  # the location without credentials
    anchor_filters: tuple[tuple[int, int, str], ...] = ()  # (group, filter, pattern)


@dataclass(frozen=True, slots=True)
class RepositoryPatch:
    """Hardening of an ECR repository defined in the input."""

    loc: Loc
    name: str
    immutable: bool = False
    scan_on_push: bool = False


@dataclass(frozen=True, slots=True)
class LogGroupPatch:
    """A data protection policy on a log group defined in the input."""

    loc: Loc
    name: str
    policy: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WebhookPatch:
    """A pipeline webhook: deleted, or authenticated with an HMAC secret."""

    loc: Loc
    name: str
    delete: bool = False
    secret_name: str | None = None


Patch = BucketPatch | ProjectPatch | RepositoryPatch | LogGroupPatch | WebhookPatch


@dataclass
class PipelinePlan:
    """The fix for one pipeline."""

    pipeline: Pipeline
    name: str
    declaration: dict[str, Any]  # the hardened declaration, API key style
    original: dict[str, Any]  # the input declaration, API key style
    resources: list[NewResource] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    manual: list[ManualStep] = field(default_factory=list)
    secrets: list[SecretToCreate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failing_before: frozenset[str] = frozenset()
    claims: frozenset[str] = frozenset()  # rule ids fixed in the patched input template/module
    claims_standalone: frozenset[str] = frozenset()  # ... in a new template or module
    claims_declaration: frozenset[str] = frozenset()  # ... in update-pipeline JSON alone
    depends: list[str] = field(default_factory=list)  # new resources the pipeline waits for
    # Secret literals the fix moved out: never written anywhere, only used to mask them
    # where the input itself is shown (the diff's removed lines).
    redact: set[str] = field(default_factory=set, repr=False)
    patch_logical_id: str | None = None  # the pipeline's CloudFormation logical id (template input)
    account: str = ""  # the pipeline's account (or a placeholder)
    region: str = ""  # the pipeline's region (or a placeholder)
    partition: str = "aws"
    delete_resources: list[Loc] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.fixes)

    def claims_for(self, fmt: str) -> frozenset[str]:
        """Rule ids this plan fixes in output format ``fmt`` (``diff`` is the input's own
        format: a patched template or module, or update-pipeline JSON)."""
        style = self.pipeline.loc.style
        patchable = {
            "cloudformation": style is KeyStyle.CLOUDFORMATION,
            "terraform": style is KeyStyle.TERRAFORM and self.pipeline.loc.subject.endswith(".tf"),
        }
        if fmt == "diff":
            if patchable["cloudformation"] or patchable["terraform"]:
                return self.claims
            return self.claims_declaration
        if fmt == "pipeline-json":
            return self.claims_declaration
        return self.claims if patchable.get(fmt, False) else self.claims_standalone


@dataclass
class FixPlan:
    """Fixes for every pipeline of one input."""

    source: str
    source_kind: str
    editable: bool  # the input is a template or module whose resources the fix may edit
    pipelines: list[PipelinePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
