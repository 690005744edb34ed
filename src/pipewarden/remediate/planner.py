"""The fix planner: Inventory -> :class:`~pipewarden.remediate.plan.FixPlan`. Pure.

For each pipeline, the planner scans it with the rule registry, then changes
a copy of its declaration (API shape) rule by rule: the source action moves to
CodeConnections, plaintext secrets become Secrets Manager references, the
pipeline becomes V2, production stages are split, approved, gated and rolled
back, a commit-signature verification stage reads the source first, handoff
verifications precede cross-account actions, and every action gets a role of
its own. Resources the fixes need (roles, the verification project, a locked
and encrypted artifact bucket, log groups with data protection) are planned
as new resources; resources the input itself defines (a template's bucket,
project, repository) are planned as patches.

A rule is *claimed* fixed for a pipeline only when every failing result of
that rule on that pipeline is addressed by a change the output carries. The
claim is recorded separately for outputs that carry every resource (a
patched template or module, a generated template) and for the
update-pipeline JSON, which carries only the declaration.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.config import Config
from pipewarden.model import (
    Action,
    Gap,
    Inventory,
    KeyStyle,
    Loc,
    Pipeline,
    Result,
    Status,
    Unresolved,
)
from pipewarden.model.location import split_pointer
from pipewarden.remediate._decl import has_unresolved, to_api
from pipewarden.remediate._iamdb import RemediationError
from pipewarden.remediate._permissions import (
    Env,
    action_grant,
    arn_text,
    artifact_objects,
    cfg,
    log_statements,
    pipeline_log_group,
    secret_arn,
    statement,
)
from pipewarden.remediate._secretfix import (
    literal_in_text,
    masked,
    plaintext_env_entries,
    secret_name,
)
from pipewarden.remediate._values import (
    ACCOUNT,
    REGION,
    Join,
    Ref,
    Text,
    concrete,
    join,
    logical_id,
    physical_name,
)
from pipewarden.remediate.plan import (
    BucketPatch,
    Fix,
    FixOptions,
    FixPlan,
    LogGroupPatch,
    ManualStep,
    NewResource,
    PipelinePlan,
    ProjectPatch,
    RepositoryPatch,
    SecretToCreate,
    WebhookPatch,
)

__all__ = ["DATA_PROTECTION_POLICY", "VERIFY_IMAGE", "plan_fixes"]

VERIFY_IMAGE: Final = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
_CREDENTIALS: Final = (
    "arn:aws:dataprotection::aws:data-identifier/AwsSecretKey",
    "arn:aws:dataprotection::aws:data-identifier/OpenSshPrivateKey",
    "arn:aws:dataprotection::aws:data-identifier/PgpPrivateKey",
    "arn:aws:dataprotection::aws:data-identifier/PkcsPrivateKey",
    "arn:aws:dataprotection::aws:data-identifier/PuttyPrivateKey",
)
DATA_PROTECTION_POLICY: Final[Mapping[str, Any]] = {
    "Name": "pipewarden-mask-credentials",
    "Version": "2021-06-01",
    "Statement": [
        {
            "Sid": "audit",
            "DataIdentifier": list(_CREDENTIALS),
            "Operation": {"Audit": {"FindingsDestination": {}}},
        },
        {
            "Sid": "redact",
            "DataIdentifier": list(_CREDENTIALS),
            "Operation": {"Deidentify": {"MaskConfig": {}}},
        },
    ],
}
_APPROVE: Final = "codepipeline:PutApprovalResult"
_GIT_SOURCES: Final = frozenset({"CodeStarSourceConnection", "CodeCommit"})
_STAGE_REWIRE_KEYS: Final = ("PrimarySource",)
_NAME_OK: Final = re.compile(r"[^A-Za-z0-9.@_-]+")
_ARTIFACT_OK: Final = re.compile(r"[^A-Za-z0-9_-]+")

# The rules this planner can fix (possibly only in some inputs).
FIXABLE: Final = frozenset(
    {
        "PW101",
        "PW102",
        "PW104",
        "PW105",
        "PW107",
        "PW108",
        "PW109",
        "PW201",
        "PW202",
        "PW203",
        "PW204",
        "PW205",
        "PW206",
        "PW207",
        "PW301",
        "PW302",
        "PW303",
        "PW304",
        "PW305",
        "PW306",
        "PW307",
        "PW308",
        "PW401",
        "PW402",
        "PW403",
        "PW404",
        "PW405",
        "PW406",
        "PW502",
        "PW503",
        "PW504",
        "PW601",
        "PW602",
        "PW604",
        "PW605",
        "PW606",
        "PW702",
        "PW703",
        "PW801",
        "PW802",
    }
)


def _version() -> str:
    from pipewarden import __version__

    return __version__


def plan_fixes(
    inventory: Inventory,
    *,
    config: Config | None = None,
    options: FixOptions | None = None,
    source: str = "",
    today: dt.date | None = None,
) -> FixPlan:
    """Plan the fixes of every pipeline of ``inventory``."""
    from pipewarden.engine import scan
    from pipewarden.rules import RULES

    config = config or Config()
    options = options or FixOptions()
    keys = {r.meta.id: r.meta.id for r in RULES} | {r.meta.slug: r.meta.id for r in RULES}
    for key in (*options.only, *options.skip):
        if key not in keys and key.upper() not in keys:
            raise RemediationError(f"`{key}` names no rule (use an id such as PW301 or a slug)")
    only = {keys.get(k, keys.get(k.upper(), k)) for k in options.only}
    skip = {keys.get(k, keys.get(k.upper(), k)) for k in options.skip}
    selected = {r for r in FIXABLE if (not only or r in only) and r not in skip}
    result = scan([inventory], rules=RULES, config=config, today=today)
    by_pipeline: dict[str, list[Result]] = {}
    for item in result.results:
        by_pipeline.setdefault(item.pipeline_ref or "", []).append(item)
    editable = _editable_input(inventory)
    out = FixPlan(source=source, source_kind=inventory.source_kind, editable=editable, notes=[])
    names = _pipeline_names(inventory)
    for pipeline in inventory.pipelines:
        if isinstance(pipeline.name, Unresolved):
            out.notes.append(
                f"pipeline `{pipeline.name.expr}` is skipped: its name is unresolved "
                f"({pipeline.name.reason})"
            )
            continue
        results = by_pipeline.get(str(pipeline.loc), [])
        planner = _Planner(pipeline, inventory, config, options, results, selected, editable, names)
        out.pipelines.append(planner.run())
    return out


def _pipeline_names(inventory: Inventory) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pipeline in inventory.pipelines:
        counts[pipeline.display_name] = counts.get(pipeline.display_name, 0) + 1
    return counts


def _editable_input(inventory: Inventory) -> bool:
    """A template or ``.tf`` module: resources it defines can be changed in place."""
    for pipeline in inventory.pipelines:
        style = pipeline.loc.style
        if style is KeyStyle.CLOUDFORMATION:
            return True
        if style is KeyStyle.TERRAFORM and pipeline.loc.subject.endswith(".tf"):
            return True
    return False


def _partition(pipeline: Pipeline) -> str:
    for value in (pipeline.arn, pipeline.role_arn):
        if isinstance(value, str) and value.startswith("arn:") and value.count(":") >= 5:
            return value.split(":")[1] or "aws"
    return "aws"


def _arn_account(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("arn:") and value.count(":") >= 5:
        account = value.split(":")[4]
        return account or None
    return None


@dataclass
class _Tracker:
    """Which failing results the plan addresses, per rule."""

    failing: dict[str, list[Result]]
    unknowns: dict[str, list[Result]] = field(default_factory=dict)
    resolves_unknown: set[str] = field(default_factory=set)
    handled: dict[str, set[tuple[str | None, str | None]]] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)
    declaration_whole: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)

    def mark(self, rule: str, stage: str | None, action: str | None) -> None:
        self.handled.setdefault(rule, set()).add((stage, action))

    def all(self, rule: str, *, declaration: bool = True) -> None:
        self.whole.add(rule)
        if declaration:
            self.declaration_whole.add(rule)

    def block(self, rule: str) -> None:
        """Something failing for ``rule`` stays unfixed, whatever else is marked."""
        self.blocked.add(rule)

    def claimed(self, rule: str, *, declaration: bool) -> bool:
        results = self.failing.get(rule)
        if not results or rule in self.blocked:
            return False
        if self.unknowns.get(rule) and rule not in self.resolves_unknown:
            return False
        if rule in (self.declaration_whole if declaration else self.whole):
            return True
        handled = self.handled.get(rule, set())
        return all((r.stage, r.action) in handled or (None, r.action) in handled for r in results)


class _Planner:
    """Plans the fix of one pipeline."""

    def __init__(
        self,
        pipeline: Pipeline,
        inventory: Inventory,
        config: Config,
        options: FixOptions,
        results: Sequence[Result],
        selected: set[str],
        editable: bool,
        names: Mapping[str, int],
    ) -> None:
        from pipewarden.rules._api import RuleContext

        self.pipeline = pipeline
        self.full = inventory
        self.inventory = inventory.for_pipeline(pipeline)
        self.config = config
        self.options = options
        self.editable_input = editable
        self.ctx = RuleContext(pipeline, self.inventory, config)
        self.name = pipeline.display_name
        failing: dict[str, list[Result]] = {}
        unknowns: dict[str, list[Result]] = {}
        for result in results:
            if result.status is Status.FAIL and result.suppressed is None:
                failing.setdefault(result.rule_id, []).append(result)
            elif result.status is Status.UNKNOWN:
                unknowns.setdefault(result.rule_id, []).append(result)
        self.failing = failing
        self.track = _Tracker(failing, unknowns)
        self.selected = selected
        self.api: dict[str, Any] = to_api(pipeline.declaration, pipeline.loc.style)
        _mark_origins(self.api)
        self.original = copy.deepcopy(self.api)
        self.partition = _partition(pipeline)
        account = self.ctx.pipeline_account
        self.account = account if isinstance(account, str) else ACCOUNT
        self.region = pipeline.region or REGION
        self.style = pipeline.loc.style
        self.cfn_id = self._cfn_logical_id()
        base = self.cfn_id or logical_id("Pw", self.name)
        if names.get(self.name, 0) > 1 and self.cfn_id is None:
            base = logical_id("Pw", self.name, str(len(pipeline.loc.pointer)), pipeline.loc.pointer)
        self.prefix = base
        self.plan = PipelinePlan(
            pipeline=pipeline,
            name=self.name,
            declaration=self.api,
            original=self.original,
            failing_before=frozenset(failing),
            patch_logical_id=self.cfn_id,
        )
        self.plan.account = self.account
        self.plan.region = self.region
        self.plan.partition = self.partition
        self.version = options.pipewarden_version or _version()
        # filled along the way
        self.bucket: Text | None = None
        self.key_arn: Text | None = None
        self.verify_project: Ref | None = None
        self.verify_log_group: Ref | None = None
        self.verified: dict[str, str] = {}  # source artifact -> verified artifact
        self.needs_attestation_key = False
        self.needs_allowed_signers = False
        self.connections: list[Text] = []
        self.codecommit_repos: list[str] = []
        self.gate_rules: list[tuple[str, dict[str, Any]]] = []  # (stage name, rule)
        self.approvals_added = False
        self.new_roles: dict[str, Text] = {}
        self.role_ids: list[str] = []
        self.policy_ids: list[str] = []
        self.cross_account_roles: list[str] = []
        self.pipeline_log_group_needed = False
        self.project_secret_grants: dict[str, list[str]] = {}
        self.replaced_sources: set[str] = set()
        self.used_ids: set[str] = set()
        self.store_plan: dict[str, Any] = {"mode": None}
        self._verify_role: Ref | None = None
        self._verify_role_name = ""
        self._pipeline_group_added = False
        self.patch_rules: set[str] = set()
        self.input_roles_used = False

    # -- helpers -------------------------------------------------------------------

    def _cfn_logical_id(self) -> str | None:
        if self.pipeline.loc.style is not KeyStyle.CLOUDFORMATION:
            return None
        tokens = split_pointer(self.pipeline.loc.pointer)
        if len(tokens) >= 2 and tokens[0] == "Resources":
            return tokens[1]
        return None

    def wants(self, rule: str) -> bool:
        return rule in self.selected and rule in self.failing

    def lid(self, *words: str) -> str:
        base = logical_id(self.prefix, *words)
        candidate = base
        n = 2
        while candidate in self.used_ids:
            candidate = f"{base}{n}"
            n += 1
        self.used_ids.add(candidate)
        return candidate

    @staticmethod
    def tf_name(lid: str) -> str:
        return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", lid).lower()

    def fix(self, rules: Iterable[str], title: str, detail: str = "", behaviour: str = "") -> None:
        self.plan.fixes.append(Fix(tuple(rules), title, detail, behaviour))

    def manual(self, rules: Iterable[str], text: str) -> None:
        self.plan.manual.append(ManualStep(tuple(rules), text))

    def env(self, *, account: str | None = None, region: str | None = None) -> Env:
        return Env(
            partition=self.partition,
            region=region or self.region,
            account=account or self.account,
            pipeline=self.name,
            bucket=self.bucket,
            key_arn=self.key_arn,
            pipeline_account=self.account,
        )

    def stages(self) -> list[dict[str, Any]]:
        stages = self.api.setdefault("stages", [])
        return stages if isinstance(stages, list) else []

    def all_actions(self) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
        for stage in self.stages():
            for action in stage.get("actions") or []:
                if isinstance(action, dict):
                    yield stage, action

    def origin_names(self, stage: Mapping[str, Any], action: Mapping[str, Any]) -> tuple[str, str]:
        """The (stage, action) names an action had in the input (results refer to them)."""
        origin = action.get(ORIGIN)
        stages = self.original.get("stages")
        if (
            isinstance(origin, list)
            and len(origin) == 2
            and isinstance(stages, list)
            and 0 <= origin[0] < len(stages)
            and isinstance(stages[origin[0]], dict)
        ):
            return str(stages[origin[0]].get("name")), str(action.get("name"))
        return str(stage.get("name")), str(action.get("name"))

    def find(self, stage_name: str, action_name: str) -> dict[str, Any] | None:
        for stage, action in self.all_actions():
            if stage.get("name") == stage_name and action.get("name") == action_name:
                return action
        return None

    def stage_names(self) -> set[str]:
        return {str(s.get("name")) for s in self.stages()}

    def unique_stage(self, base: str) -> str:
        base = _NAME_OK.sub("-", base)[:90] or "Stage"
        names = self.stage_names()
        candidate, n = base, 2
        while candidate in names:
            candidate = f"{base}{n}"
            n += 1
        return candidate

    def artifact_names(self) -> set[str]:
        names: set[str] = set()
        for _, action in self.all_actions():
            for art in action.get("outputArtifacts") or []:
                if isinstance(art, dict):
                    names.add(str(art.get("name")))
        return names

    def unique_artifact(self, base: str) -> str:
        base = _ARTIFACT_OK.sub("", base)[:90] or "Artifact"
        names = self.artifact_names()
        candidate, n = base, 2
        while candidate in names:
            candidate = f"{base}{n}"
            n += 1
        return candidate

    def unique_action(self, stage: dict[str, Any], base: str) -> str:
        base = _NAME_OK.sub("-", base)[:90] or "Action"
        names = {str(a.get("name")) for a in stage.get("actions") or [] if isinstance(a, dict)}
        candidate, n = base, 2
        while candidate in names:
            candidate = f"{base}{n}"
            n += 1
        return candidate

    @staticmethod
    def type_of(action: Mapping[str, Any]) -> tuple[str, str, str]:
        tid = action.get("actionTypeId") or {}
        return (str(tid.get("category")), str(tid.get("owner")), str(tid.get("provider")))

    def is_deploy(self, action: Mapping[str, Any]) -> bool:
        return self.type_of(action)[0] == "Deploy"

    def is_prod(self, stage: Mapping[str, Any], action: Mapping[str, Any]) -> bool:
        """The planner's reading of RuleContext.is_production_deploy on the new declaration."""
        if not self.is_deploy(action):
            return False
        if self.config.stage_regex.search(str(stage.get("name", ""))):
            return True
        accounts: set[str] = set()
        role = _arn_account(action.get("roleArn"))
        accounts.add(role or self.account)
        config = cfg(action)
        for key in ("RoleArn", "AdministrationRoleArn"):
            extra = _arn_account(config.get(key))
            if extra:
                accounts.add(extra)
        targets = config.get("DeploymentTargets")
        if isinstance(targets, str):
            accounts.update(re.findall(r"\b\d{12}\b", targets))
        if accounts & self.config.production_accounts:
            return True
        wanted = self.config.production_tags
        return bool(wanted) and any(self.pipeline.tags.get(k) == v for k, v in wanted.items())

    def is_cross_account(self, action: Mapping[str, Any]) -> bool:
        role = _arn_account(action.get("roleArn"))
        return role is not None and "${" not in role and role != self.account

    def results(self, rule: str) -> list[Result]:
        return self.failing.get(rule, [])

    def model_action(self, stage: str, name: str) -> Action | None:
        for action in self.pipeline.actions():
            if action.stage_name == stage and action.name == name:
                return action
        return None

    def resource_editable(self, loc: Loc | None) -> bool:
        """A resource the input defines in a file this fix may rewrite."""
        if loc is None or not self.editable_input:
            return False
        if loc.subject not in self.full.positions:
            return False
        if loc.style is KeyStyle.CLOUDFORMATION:
            return loc.subject == self.pipeline.loc.subject
        if loc.style is KeyStyle.TERRAFORM:
            return loc.subject.endswith(".tf")
        return False

    _TF_ATTRS: Final = {
        "role": "arn",
        "bucket": "id",
        "project": "name",
        "key": "arn",
        "connection": "arn",
        "repository": "name",
    }
    _CFN_ATTRS: Final = {
        "role": "Arn",
        "bucket": "Ref",
        "project": "Ref",
        "key": "Arn",
        "connection": "ConnectionArn",
        "repository": "Ref",
    }

    def template_ref(self, kind: str, value: Any) -> Any:
        """A reference to a resource the input defines, for a value that names it (a role
        ARN, a bucket name...): so generated policies follow the resource, not the name
        the reader inferred for it."""
        if not isinstance(value, str) or not value:
            return value
        lookups = {
            "role": self.inventory.role,
            "bucket": self.inventory.bucket,
            "project": self.inventory.codebuild_project,
            "key": self.inventory.kms_key,
            "connection": self.inventory.connection,
            "repository": self.inventory.ecr_repository,
        }
        found = lookups[kind](value)
        loc = getattr(found, "loc", None)
        if isinstance(found, Gap) or loc is None or not self.resource_editable(loc):
            return value
        tokens = split_pointer(loc.pointer)
        if loc.style is KeyStyle.CLOUDFORMATION and len(tokens) >= 2:
            return Ref(tokens[1], self._CFN_ATTRS[kind], value)
        if loc.style is KeyStyle.TERRAFORM and len(tokens) >= 3 and tokens[0] == "resource":
            return Ref(tokens[2], "Ref", value, f"{tokens[1]}.{tokens[2]}.{self._TF_ATTRS[kind]}")
        return value

    _REF_KEYS: Final = {
        "ProjectName": "project",
        "S3Bucket": "bucket",
        "BucketName": "bucket",
        "ConnectionArn": "connection",
        "RoleArn": "role",
        "AdministrationRoleArn": "role",
        "KMSEncryptionKeyARN": "key",
        "ECRRepositoryName": "repository",
    }

    def with_refs(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of an action whose configuration refers to the input's own resources."""
        out = dict(action)
        config = action.get("configuration")
        if isinstance(config, dict):
            mapped = dict(config)
            for key, kind in self._REF_KEYS.items():
                if key in mapped:
                    mapped[key] = self.template_ref(kind, mapped[key])
            if self.type_of(action) in (("Source", "AWS", "ECR"),) and "RepositoryName" in mapped:
                mapped["RepositoryName"] = self.template_ref("repository", mapped["RepositoryName"])
            out["configuration"] = mapped
        return out

    def add(self, resource: NewResource) -> None:
        self.plan.resources.append(resource)

    # -- the run ---------------------------------------------------------------------

    def run(self) -> PipelinePlan:
        if not self.stages():
            self.plan.notes.append(f"pipeline `{self.name}` has no stages to fix")
            return self.plan
        self.source_connections()
        self.plaintext_secrets()
        self.v2()
        self.isolate_third_party()
        self.split_production_stages()
        self.approval()
        self.conditions()
        self.pin_lambdas()
        self.trigger_filters()
        self.artifact_store_refs()
        self.verification_stage()
        self.handoffs()
        self.wire_gate_evidence()
        self.roles()
        self.artifact_store_resources()
        self.verify_resources()
        self.projects_and_logs()
        self.repositories()
        self.source_buckets()
        self.webhooks()
        self.approvers()
        self.finish()
        return self.plan

    # -- PW101 / PW102: GitHub (version 1) -> CodeConnections ----------------------------

    def source_connections(self) -> None:
        if not (self.wants("PW101") or self.wants("PW102")):
            return
        for stage, action in list(self.all_actions()):
            category, owner, provider = self.type_of(action)
            if (category, owner, provider) != ("Source", "ThirdParty", "GitHub"):
                continue
            config = cfg(action)
            owner_name, repo, branch = (config.get(k) for k in ("Owner", "Repo", "Branch"))
            if not all(isinstance(v, str) and v for v in (owner_name, repo, branch)):
                self.manual(
                    ("PW101", "PW102"),
                    f"source action `{action.get('name')}`: its owner, repository or branch is "
                    "unresolved in the input; replace it with a CodeStarSourceConnection action "
                    "by hand",
                )
                continue
            connection = self.connection_ref()
            action["actionTypeId"] = {
                "category": "Source",
                "owner": "AWS",
                "provider": "CodeStarSourceConnection",
                "version": "1",
            }
            action["configuration"] = {
                "ConnectionArn": connection,
                "FullRepositoryId": f"{owner_name}/{repo}",
                "BranchName": branch,
                "OutputArtifactFormat": "CODE_ZIP",
                "DetectChanges": "true",
            }
            name = str(action.get("name"))
            self.replaced_sources.add(name)
            self.track.mark("PW101", str(stage.get("name")), name)
            self.track.mark("PW102", str(stage.get("name")), name)
            self.fix(
                ("PW101", "PW102"),
                f"source action `{name}` reads `{owner_name}/{repo}` through a CodeConnections "
                "connection instead of a GitHub OAuth token",
                "the OAuth token is no longer in the configuration: revoke it in GitHub",
                behaviour=(
                    "the connection must be authorised once in the console (Developer Tools > "
                    "Settings > Connections) before the pipeline can read the repository"
                ),
            )

    def connection_ref(self) -> Text:
        if self.options.connection_arn:
            self.connections.append(self.options.connection_arn)
            return self.options.connection_arn
        lid = self.lid("GitHubConnection")
        name = physical_name(self.name, "github", limit=32)
        self.add(
            NewResource(
                lid,
                "AWS::CodeConnections::Connection",
                {"ConnectionName": name, "ProviderType": "GitHub"},
                self.tf_name(lid),
                purpose="CodeConnections connection to GitHub (authorise it once in the console)",
            )
        )
        value = (
            f"arn:{self.partition}:codeconnections:{self.region}:{self.account}:connection/{lid}"
        )
        ref = Ref(
            lid, "ConnectionArn", value, f"aws_codeconnections_connection.{self.tf_name(lid)}.arn"
        )
        self.connections.append(ref)
        self.plan.notes.append(
            f"connection `{name}` is created PENDING: authorise it in the console; in "
            "update-pipeline JSON give its ARN with --connection-arn"
        )
        return ref

    # -- PW601: plaintext secrets ---------------------------------------------------

    def new_secret(self, value: str, used_by: str, *words: str) -> str:
        name = secret_name(self.name, *words)
        existing = {s.name for s in self.plan.secrets}
        base, n = name, 2
        while name in existing:
            name = f"{base}-{n}"
            n += 1
        self.plan.secrets.append(SecretToCreate(name, masked(value), used_by))
        self.plan.redact.add(value)
        return name

    def plaintext_secrets(self) -> None:
        if not self.wants("PW601"):
            return
        for stage, action in self.all_actions():
            stage_name, name = str(stage.get("name")), str(action.get("name"))
            where = f"action `{name}` in stage `{stage_name}`"
            changed = self._secrets_in_action(action, stage_name, name, where)
            if changed:
                self.track.mark("PW601", stage_name, name)
        for stage in self.stages():
            for kind in ("beforeEntry", "onSuccess", "onFailure"):
                body = stage.get(kind)
                if not isinstance(body, dict):
                    continue
                for condition in body.get("conditions") or []:
                    for rule in condition.get("rules") or [] if isinstance(condition, dict) else []:
                        if isinstance(rule, dict) and self._secrets_in_rule(rule, stage):
                            self.track.mark("PW601", str(stage.get("name")), None)

    def _secrets_in_action(self, action: dict[str, Any], stage: str, name: str, where: str) -> bool:
        changed = False
        config = action.get("configuration")
        if isinstance(config, dict):
            changed |= self._secrets_in_config(config, stage, name, where, action)
        env = action.get("environmentVariables")
        if isinstance(env, list):
            for var in env:
                if not isinstance(var, dict) or var.get("type", "PLAINTEXT") != "PLAINTEXT":
                    continue
                value = var.get("value")

                if isinstance(value, str) and _secret_like(str(var.get("name", "")), value):
                    secret = self.new_secret(value, where, stage, name, str(var.get("name")))
                    var["type"] = "SECRETS_MANAGER"
                    var["value"] = secret
                    changed = True
                    self.fix(
                        ("PW601",),
                        f"environment variable `{var.get('name')}` of {where} is read from "
                        f"Secrets Manager secret `{secret}`",
                        "create the secret with the command in the notes, then rotate the value",
                    )
        commands = action.get("commands")
        if isinstance(commands, list):
            new_commands, added = self._secrets_in_commands(commands, stage, name, where)
            if added:
                action["commands"] = new_commands
                env_list = action.setdefault("environmentVariables", [])
                for var_name, secret in added:
                    env_list.append({"name": var_name, "value": secret, "type": "SECRETS_MANAGER"})
                changed = True
        return changed

    def _secrets_in_commands(
        self, commands: list[Any], stage: str, name: str, where: str
    ) -> tuple[list[Any], list[tuple[str, str]]]:
        added: list[tuple[str, str]] = []
        out: list[Any] = []
        for line in commands:
            if not isinstance(line, str):
                out.append(line)
                continue
            for literal in literal_in_text(line):
                var = f"PW_SECRET_{len(added) + 1}"
                secret = self.new_secret(literal, where, stage, name, var.lower())
                line = line.replace(literal, f"${var}")
                added.append((var, secret))
                self.fix(
                    ("PW601",),
                    f"a command of {where} reads its secret from `${var}` (Secrets Manager "
                    f"secret `{secret}`) instead of a literal",
                )
            out.append(line)
        return out, added

    def _secrets_in_config(
        self,
        config: dict[str, Any],
        stage: str,
        name: str,
        where: str,
        action: dict[str, Any] | None,
    ) -> bool:
        from pipewarden.rules._secrets import find_secret, find_secret_in_text

        changed = False
        for key, value in list(config.items()):
            if not isinstance(value, str):
                continue
            if key == "EnvironmentVariables":
                entries = plaintext_env_entries(value)
                if entries is not None:
                    if not entries:
                        continue
                    doc = json.loads(value)
                    for index, var_name, literal in entries:
                        secret = self.new_secret(literal, where, stage, name, var_name)
                        doc[index]["type"] = "SECRETS_MANAGER"
                        doc[index]["value"] = secret
                        self.grant_project_secret(config.get("ProjectName"), secret)
                        self.fix(
                            ("PW601",),
                            f"variable `{var_name}` of the `EnvironmentVariables` override of "
                            f"{where} is read from Secrets Manager secret `{secret}`",
                            "CodeBuild resolves it with the project's service role",
                        )
                    config[key] = json.dumps(doc, separators=(",", ":"))
                    changed = True
                    continue
            hit = find_secret(key, value)
            if hit is None and "\n" in value:
                hit = find_secret_in_text(value)
            if hit is None:
                continue
            literals = literal_in_text(value) if "\n" in value else []
            if literals and action is not None and key == "BuildspecOverride":
                override = value
                env_doc: list[dict[str, str]] = []
                for i, literal in enumerate(literals):
                    var = f"PW_SECRET_{i + 1}"
                    secret = self.new_secret(literal, where, stage, name, var.lower())
                    override = override.replace(literal, f"${var}")
                    env_doc.append({"name": var, "value": secret, "type": "SECRETS_MANAGER"})
                    self.grant_project_secret(config.get("ProjectName"), secret)
                config[key] = override
                existing = config.get("EnvironmentVariables")
                try:
                    current = json.loads(existing) if isinstance(existing, str) else []
                except ValueError:
                    current = []
                config["EnvironmentVariables"] = json.dumps(
                    [*current, *env_doc] if isinstance(current, list) else env_doc,
                    separators=(",", ":"),
                )
                self.fix(
                    ("PW601",),
                    f"`BuildspecOverride` of {where} reads its secrets from Secrets Manager "
                    "through environment variables",
                )
                changed = True
                continue
            secret = self.new_secret(value, where, stage, name, key)
            config[key] = "{{resolve:secretsmanager:" + secret + "}}"
            changed = True
            self.fix(
                ("PW601",),
                f"configuration `{key}` of {where} refers to Secrets Manager secret `{secret}`",
                "CloudFormation resolves the reference when the stack is deployed",
                behaviour=(
                    f"outside CloudFormation the action receives the reference text, not the "
                    f"secret: make the `{key}` consumer read `{secret}` at run time"
                ),
            )
        return changed

    def _secrets_in_rule(self, rule: dict[str, Any], stage: dict[str, Any]) -> bool:
        where = f"rule `{rule.get('name')}` of stage `{stage.get('name')}`"
        changed = False
        config = rule.get("configuration")
        if isinstance(config, dict):
            changed |= self._secrets_in_config(
                config, str(stage.get("name")), str(rule.get("name")), where, None
            )
        commands = rule.get("commands")
        if isinstance(commands, list):
            out = []
            for line in commands:
                if isinstance(line, str):
                    for literal in literal_in_text(line):
                        secret = self.new_secret(
                            literal, where, str(stage.get("name")), str(rule.get("name"))
                        )
                        line = line.replace(
                            literal,
                            f"$(aws secretsmanager get-secret-value --secret-id {secret} --query SecretString --output text)",
                        )
                        changed = True
                        self.fix(
                            ("PW601",),
                            f"a command of {where} fetches Secrets Manager secret `{secret}` "
                            "instead of holding it",
                            behaviour="the rule's role needs secretsmanager:GetSecretValue on it",
                        )
                out.append(line)
            rule["commands"] = out
        return changed

    def grant_project_secret(self, project: Any, secret: str) -> None:
        if isinstance(project, str):
            self.project_secret_grants.setdefault(project, []).append(secret)

    # -- PW401 -------------------------------------------------------------------

    def needs_v2(self) -> bool:
        return any(self.wants(r) for r in ("PW401", "PW402", "PW405", "PW404"))

    def v2(self) -> None:
        if self.api.get("pipelineType") == "V2":
            return
        if not self.needs_v2():
            return
        if "PW401" not in self.selected:
            for rule in ("PW402", "PW405", "PW404"):
                self.track.block(rule)
            self.manual(
                ("PW402", "PW405"),
                "stage conditions need a V2 pipeline; PW401 was skipped, so no condition is added",
            )
            return
        self.api["pipelineType"] = "V2"
        self.track.all("PW401")
        self.fix(
            ("PW401",),
            "the pipeline becomes type V2, which can hold stage conditions and trigger filters",
            behaviour=(
                "V2 pipelines are billed per action execution minute instead of per active pipeline"
            ),
        )

    def is_v2(self) -> bool:
        return self.api.get("pipelineType") == "V2"

    # -- PW503 (stage part) ------------------------------------------------------

    def isolate_third_party(self) -> None:
        if not self.wants("PW503"):
            return
        from pipewarden.rules._build import is_third_party

        for stage in list(self.stages()):
            actions = [a for a in stage.get("actions") or [] if isinstance(a, dict)]
            deploys = [a for a in actions if self.is_deploy(a)]
            if not deploys:
                continue
            for action in list(actions):
                model = self.model_action(str(stage.get("name")), str(action.get("name")))
                if model is None or not is_third_party(model):
                    continue
                order = int(action.get("runOrder") or 1)
                orders = [int(d.get("runOrder") or 1) for d in deploys]
                if order <= min(orders):
                    moved = [
                        a
                        for a in actions
                        if not self.is_deploy(a) and int(a.get("runOrder") or 1) <= order
                    ]
                    before = True
                elif order > max(orders):
                    moved = [
                        a
                        for a in actions
                        if not self.is_deploy(a) and int(a.get("runOrder") or 1) >= order
                    ]
                    before = False
                else:
                    self.manual(
                        ("PW503",),
                        f"third-party action `{action.get('name')}` runs between deploys of stage "
                        f"`{stage.get('name')}`: move it to a stage of its own by hand",
                    )
                    continue
                new_stage = {
                    "name": self.unique_stage(f"{stage.get('name')}-{action.get('name')}"),
                    "actions": moved,
                }
                stage["actions"] = [a for a in stage.get("actions") or [] if a not in moved]
                index = self.stages().index(stage)
                self.stages().insert(index if before else index + 1, new_stage)
                actions = [a for a in stage.get("actions") or [] if isinstance(a, dict)]
                self.track.mark("PW503", *self.origin_names(stage, action))
                self.fix(
                    ("PW503",),
                    f"third-party action `{action.get('name')}` runs in stage "
                    f"`{new_stage['name']}`, apart from the deploys of `{stage.get('name')}`",
                    behaviour="the action now runs in a stage of its own, "
                    + ("before" if before else "after")
                    + " the deploys",
                )

    # -- PW306 -------------------------------------------------------------------

    def split_production_stages(self) -> None:
        if not self.wants("PW306"):
            return
        for stage in list(self.stages()):
            actions = [a for a in stage.get("actions") or [] if isinstance(a, dict)]
            prods = sorted(
                (a for a in actions if self.is_prod(stage, a)),
                key=lambda a: (int(a.get("runOrder") or 1), actions.index(a)),
            )
            if len(prods) < 2:
                continue
            kept_roles = [
                str(p.get("roleArn"))
                for p in prods
                if isinstance(p.get("roleArn"), str)
                and (self.is_cross_account(p) or "PW301" not in self.selected)
            ]
            if len(kept_roles) != len(set(kept_roles)):
                self.manual(
                    ("PW306",),
                    f"stage `{stage.get('name')}`: its production deploys share role(s) the fix "
                    "keeps; give each deploy its own role, then put each in a stage of its own",
                )
                self.track.block("PW306")
                continue
            groups: list[list[dict[str, Any]]] = [[] for _ in prods]
            place: dict[int, int] = {id(p): i for i, p in enumerate(prods)}
            produced: dict[str, int] = {}
            ordered = sorted(actions, key=lambda a: (int(a.get("runOrder") or 1), actions.index(a)))
            for action in ordered:
                slot = place.get(id(action))
                if slot is None:
                    inputs = [
                        produced.get(str(art.get("name")), 0)
                        for art in action.get("inputArtifacts") or []
                        if isinstance(art, dict)
                    ]
                    slot = max(inputs, default=0)
                else:
                    inputs = [
                        produced.get(str(art.get("name")), 0)
                        for art in action.get("inputArtifacts") or []
                        if isinstance(art, dict)
                    ]
                    if max(inputs, default=0) > slot:
                        slot = max(inputs)
                groups[slot].append(action)
                for art in action.get("outputArtifacts") or []:
                    if isinstance(art, dict):
                        produced[str(art.get("name"))] = slot
            index = self.stages().index(stage)
            original_name = str(stage.get("name"))
            new_stages = []
            for i, group in enumerate(groups):
                if not group:
                    continue
                if i == 0:
                    stage["actions"] = group
                    new_stages.append(stage)
                    continue
                deploy = next((a for a in group if self.is_prod(stage, a)), group[0])
                body: dict[str, Any] = {
                    "name": self.unique_stage(f"{original_name}-{deploy.get('name')}"),
                    "actions": group,
                }
                for kind in ("beforeEntry", "onFailure", "onSuccess"):
                    if kind in stage:
                        body[kind] = copy.deepcopy(stage[kind])
                new_stages.append(body)
            self.stages()[index : index + 1] = new_stages
            self.track.mark("PW306", original_name, None)
            names = ", ".join(f"`{s['name']}`" for s in new_stages)
            self.fix(
                ("PW306",),
                f"stage `{original_name}` is split so that each production deploy has its own "
                f"stage: {names}",
                behaviour="production deploys that ran together now run one stage after another",
            )

    # -- PW403 -------------------------------------------------------------------

    def approval(self) -> None:
        if not self.wants("PW403"):
            return
        approvals: list[tuple[int, int]] = []
        first: int | None = None
        for index, stage in enumerate(self.stages()):
            for action in stage.get("actions") or []:
                if not isinstance(action, dict):
                    continue
                if self.type_of(action) == ("Approval", "AWS", "Manual"):
                    approvals.append((index, int(action.get("runOrder") or 1)))
                if self.is_prod(stage, action):
                    order = int(action.get("runOrder") or 1)
                    if not any(i < index or (i == index and o < order) for i, o in approvals):
                        first = index if first is None else first
            if first is not None:
                break
        if first is None:
            return
        target = self.stages()[first]
        config: dict[str, Any] = {
            "CustomData": f"Review the release of {self.name} before it reaches "
            f"{target.get('name')}"[:512]
        }
        if self.options.approval_topic:
            config["NotificationArn"] = self.options.approval_topic
        stage = {
            "name": self.unique_stage(f"Approve{target.get('name')}"),
            "actions": [
                {
                    "name": "ApproveRelease",
                    "actionTypeId": {
                        "category": "Approval",
                        "owner": "AWS",
                        "provider": "Manual",
                        "version": "1",
                    },
                    "runOrder": 1,
                    "configuration": config,
                }
            ],
        }
        self.stages().insert(first, stage)
        self.approvals_added = True
        self.track.all("PW403")
        self.fix(
            ("PW403",),
            f"a manual approval (stage `{stage['name']}`) precedes production stage "
            f"`{target.get('name')}`",
            behaviour="every release waits for a person to approve it before production",
        )

    # -- PW402 / PW404 / PW405 ---------------------------------------------------

    def gate_rule(self, stage: dict[str, Any]) -> dict[str, Any]:
        if self.options.gate_function:
            rule: dict[str, Any] = {
                "name": "PipeWardenGate",
                "ruleTypeId": {
                    "category": "Rule",
                    "owner": "AWS",
                    "provider": "LambdaInvoke",
                    "version": "1",
                },
                "configuration": {"FunctionName": self.options.gate_function},
            }
        else:
            rule = {
                "name": "PipeWardenGate",
                "ruleTypeId": {
                    "category": "Rule",
                    "owner": "AWS",
                    "provider": "Commands",
                    "version": "1",
                },
                "commands": [],
            }
            self.pipeline_log_group_needed = True
        self.gate_rules.append((str(stage.get("name")), rule))
        return rule

    def conditions(self) -> None:
        if not self.is_v2():
            return
        mode = str(self.api.get("executionMode") or "SUPERSEDED")
        for stage in self.stages():
            actions = [a for a in stage.get("actions") or [] if isinstance(a, dict)]
            prod = any(self.is_prod(stage, a) for a in actions)
            before = stage.get("beforeEntry")
            if isinstance(before, dict) and "PW404" in self.selected:
                for condition in before.get("conditions") or []:
                    if (
                        isinstance(condition, dict)
                        and str(condition.get("result", "")).upper() == "SKIP"
                    ):
                        condition["result"] = "FAIL"
                        self.track.mark("PW404", str(stage.get("name")), None)
                        self.fix(
                            ("PW404",),
                            f"the beforeEntry condition of stage `{stage.get('name')}` fails "
                            "instead of skipping the stage",
                            behaviour="a failing entry rule now stops the release",
                        )
            if not prod:
                continue
            if self.wants("PW402") and not self._has_entry_gate(stage):
                body = stage.get("beforeEntry")
                if isinstance(body, dict) and body.get("conditions"):
                    condition = body["conditions"][0]
                    if isinstance(condition, dict):
                        if str(condition.get("result", "")).upper() not in ("FAIL",):
                            condition["result"] = "FAIL"
                        rules = condition.setdefault("rules", [])
                        if not rules:
                            rules.append(self.gate_rule(stage))
                else:
                    stage["beforeEntry"] = {
                        "conditions": [{"result": "FAIL", "rules": [self.gate_rule(stage)]}]
                    }
                self.track.mark("PW402", str(stage.get("name")), None)
                how = (
                    f"invokes `{self.options.gate_function}`"
                    if self.options.gate_function
                    else "runs `pipewarden gate`"
                )
                self.fix(
                    ("PW402",),
                    f"production stage `{stage.get('name')}` has a beforeEntry gate that {how}",
                    behaviour="a release that fails the gate does not enter the stage",
                )
            if self.wants("PW405") and not self._rolls_back(stage):
                result = "FAIL" if mode == "PARALLEL" else "ROLLBACK"
                stage["onFailure"] = {"result": result}
                self.track.mark("PW405", str(stage.get("name")), None)
                self.fix(
                    ("PW405",),
                    f"production stage `{stage.get('name')}` "
                    + ("rolls back" if result == "ROLLBACK" else "fails")
                    + " when it fails",
                    behaviour=(
                        "a failed production deployment is rolled back to the last successful "
                        "release"
                        if result == "ROLLBACK"
                        else ""
                    ),
                )

    @staticmethod
    def _has_entry_gate(stage: Mapping[str, Any]) -> bool:
        body = stage.get("beforeEntry")
        if not isinstance(body, dict):
            return False
        for condition in body.get("conditions") or []:
            if (
                isinstance(condition, dict)
                and str(condition.get("result", "")).upper() == "FAIL"
                and condition.get("rules")
            ):
                return True
        return False

    @staticmethod
    def _rolls_back(stage: Mapping[str, Any]) -> bool:
        body = stage.get("onFailure")
        if not isinstance(body, dict):
            return False
        result = str(body.get("result", "")).upper()
        return result in ("ROLLBACK", "FAIL") or bool(body.get("conditions"))

    # -- PW502 / PW404 (Lambda pins) ---------------------------------------------

    def pin_lambdas(self) -> None:
        from pipewarden.rules.lambda_action_unpinned import problem

        for stage, action in self.all_actions():
            if self.type_of(action) != ("Invoke", "AWS", "Lambda") or not self.wants("PW502"):
                continue
            config = cfg(action)
            function = config.get("FunctionName")
            if not isinstance(function, str) or problem(function.strip()) is None:
                continue
            pinned = self.pinned(function)
            where = f"Lambda action `{action.get('name')}` in stage `{stage.get('name')}`"
            if pinned is None:
                self.manual(
                    ("PW502",),
                    f"{where}: publish a version (`aws lambda publish-version --function-name "
                    f"{function.split(':')[0] if not function.startswith('arn:') else function.split(':')[6]}`) "
                    "and set `FunctionName` to `<name>:<version>`",
                )
                continue
            config["FunctionName"] = pinned
            self.track.mark("PW502", *self.origin_names(stage, action))
            self.fix(
                ("PW502",),
                f"{where} invokes a published version of its function",
                behaviour="changes to the function take effect only when the pin is moved",
            )
        if "PW404" not in self.selected and "PW502" not in self.selected:
            return
        for stage in self.stages():
            for kind in ("beforeEntry", "onSuccess", "onFailure"):
                body = stage.get(kind)
                if not isinstance(body, dict):
                    continue
                for condition in body.get("conditions") or []:
                    for rule in (
                        (condition.get("rules") or []) if isinstance(condition, dict) else []
                    ):
                        if not isinstance(rule, dict):
                            continue
                        tid = rule.get("ruleTypeId") or {}
                        config = cfg(rule)
                        function = config.get("FunctionName")
                        if tid.get("provider") != "LambdaInvoke" or not isinstance(function, str):
                            continue
                        if problem(function.strip()) is None:
                            continue
                        pinned = self.pinned(function)
                        if pinned is None:
                            self.manual(
                                ("PW404", "PW502"),
                                f"gate rule `{rule.get('name')}` of stage `{stage.get('name')}`: "
                                "publish a version of its function and name it as "
                                "`FunctionName: <name>:<version>`",
                            )
                            continue
                        config["FunctionName"] = pinned
                        self.track.mark("PW404", str(stage.get("name")), None)
                        self.track.mark("PW502", str(stage.get("name")), None)
                        self.fix(
                            ("PW404", "PW502"),
                            f"gate rule `{rule.get('name')}` of stage `{stage.get('name')}` "
                            "invokes a published version of its function",
                        )

    def pinned(self, function: str) -> Text | None:
        """A version-pinned reference to ``function`` (live: its newest published version;
        template: a new AWS::Lambda::Version), or None."""
        from pipewarden.rules._gates import split_function

        base, _ = split_function(function.strip())
        found = self.inventory.lambda_function(base)
        if isinstance(found, Gap):
            return None
        numbers = sorted(int(v) for v in found.versions if v.isdigit())
        if numbers and self.style is not KeyStyle.CLOUDFORMATION:
            head = ":".join(function.split(":")[:7]) if function.startswith("arn:") else base
            return f"{head}:{numbers[-1]}"
        if self.style is KeyStyle.CLOUDFORMATION and self.resource_editable(found.loc):
            tokens = split_pointer(found.loc.pointer) if found.loc else []
            if len(tokens) < 2:
                return None
            function_id = tokens[1]
            self.patch_rules.update(("PW502", "PW404"))
            lid = self.lid("Version", function_id)
            self.add(
                NewResource(
                    lid,
                    "AWS::Lambda::Version",
                    {"FunctionName": Ref(function_id, "Ref", found.name)},
                    self.tf_name(lid),
                    purpose=f"published version of function `{found.name}`",
                )
            )
            arn = (
                found.arn
                or f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{found.name}"
            )
            return Ref(lid, "Ref", f"{arn}:${{{lid}.Version}}")
        return None

    # -- PW406 -------------------------------------------------------------------

    def trigger_filters(self) -> None:
        if not self.wants("PW406"):
            return
        from pipewarden.rules.trigger_unfiltered import _meaningful

        triggers = self.api.get("triggers")
        if not isinstance(triggers, list):
            return
        for trigger in triggers:
            git = trigger.get("gitConfiguration") if isinstance(trigger, dict) else None
            if not isinstance(git, dict):
                continue
            source = str(git.get("sourceActionName"))
            branch = None
            for _, action in self.all_actions():
                if action.get("name") == source:
                    value = cfg(action).get("BranchName")
                    branch = value if isinstance(value, str) else None
            if branch is None:
                self.manual(("PW406",), f"the trigger on `{source}`: add a push filter by hand")
                continue
            pushes = git.get("push")
            filtered = False
            kept: list[Any] = []
            for push in pushes if isinstance(pushes, list) else []:
                branches = (push.get("branches") or {}).get("includes") or []
                tags = (push.get("tags") or {}).get("includes") or []
                if not (_meaningful(tuple(branches)) or _meaningful(tuple(tags))):
                    push["branches"] = {"includes": [branch]}
                    push.pop("tags", None)
                    filtered = True
                if push not in kept:
                    kept.append(push)
            if isinstance(pushes, list):
                git["push"] = kept
            if not pushes and not git.get("pullRequest"):
                git["push"] = [{"branches": {"includes": [branch]}}]
                filtered = True
            if filtered:
                self.track.all("PW406")
                self.fix(
                    ("PW406",),
                    f"the trigger on `{source}` starts the pipeline only for pushes to `{branch}`",
                    behaviour="pushes to other branches no longer start the pipeline",
                )

    # -- artifact store: the bucket and key every role refers to ------------------

    def store_rules(self) -> list[str]:
        rules = ("PW201", "PW202", "PW203", "PW204", "PW205", "PW207")
        return [r for r in rules if self.wants(r)]

    def artifact_store_refs(self) -> None:
        """Decide the artifact bucket and key (existing, patched or new) before roles."""
        store = self.api.get("artifactStore")
        if not isinstance(store, dict):
            if self.api.get("artifactStores"):
                for rule in self.store_rules():
                    self.track.block(rule)
                    self.manual(
                        (rule,),
                        "cross-region artifact stores are not changed: harden each regional "
                        "bucket and key as for a single store",
                    )
            return
        location = store.get("location")
        key_ref = (
            (store.get("encryptionKey") or {}).get("id")
            if isinstance(store.get("encryptionKey"), dict)
            else None
        )
        self.bucket = self.template_ref("bucket", location) if isinstance(location, str) else None
        self.key_arn = None
        if isinstance(key_ref, str) and key_ref:
            found = self.inventory.kms_key(key_ref)
            if not isinstance(found, Gap) and found.arn:
                self.key_arn = self.template_ref("key", found.arn)
            elif key_ref.startswith("arn:") and ":key/" in key_ref:
                self.key_arn = key_ref
        rules = self.store_rules()
        if not rules:
            return
        bucket = self.inventory.bucket(location) if isinstance(location, str) else None
        shared = "PW205" in self.failing
        editable = (
            bucket is not None
            and not isinstance(bucket, Gap)
            and self.resource_editable(bucket.loc)
            and not shared
        )
        needs_key = (
            self.wants("PW202") or self.wants("PW207") or (not editable and self.key_arn is None)
        )
        if needs_key:
            lid = self.lid("ArtifactKey")
            value = f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{lid}"
            self.key_arn = Ref(lid, "Arn", value, f"aws_kms_key.{self.tf_name(lid)}.arn")
            self.store_plan["key"] = lid
            store["encryptionKey"] = {"id": self.key_arn, "type": "KMS"}
        if editable and bucket is not None and not isinstance(bucket, Gap):
            self.store_plan["mode"] = "patch"
            self.store_plan["bucket"] = bucket
        else:
            lid = self.lid("ArtifactBucket")
            name = re.sub(
                r"[^a-z0-9-]+", "-", physical_name(self.name, "artifacts", limit=28, lower=True)
            ).strip("-")
            value = f"{name}-{self.account}-{self.region}"
            self.bucket = Ref(lid, "Ref", value, f"aws_s3_bucket.{self.tf_name(lid)}.id")
            store["location"] = self.bucket
            store["type"] = "S3"
            self.store_plan["mode"] = "new"
            self.track.resolves_unknown.update(("PW201", "PW202", "PW203", "PW204", "PW207"))
            self.store_plan["bucket_id"] = lid
            self.store_plan["bucket_name"] = name
        for rule in rules:
            self.track.all(rule)

    # -- PW104 / PW105: the source verification stage ------------------------------

    def verify_project_ref(self) -> Ref:
        if self.verify_project is None:
            lid = self.lid("VerifyProject")
            name = physical_name(self.name, "pipewarden-verify", limit=150)
            self.verify_project = Ref(
                lid, "Ref", name, f"aws_codebuild_project.{self.tf_name(lid)}.name"
            )
        return self.verify_project

    def signers_parameter(self) -> str:
        return self.options.allowed_signers_parameter or f"/pipewarden/{self.name}/allowed-signers"

    def verify_commit_buildspec(self, branch: str | None) -> str:
        require = (
            f" --require-branch {branch}"
            if branch and re.fullmatch(r"[A-Za-z0-9._/-]+", branch)
            else ""
        )
        return (
            "version: 0.2\n"
            "env:\n"
            "  parameter-store:\n"
            f"    PW_ALLOWED_SIGNERS: {self.signers_parameter()}\n"
            "phases:\n"
            "  install:\n"
            "    commands:\n"
            f"      - pip install --no-cache-dir pipewarden=={self.version}\n"
            "  build:\n"
            "    commands:\n"
            "      - mkdir -p pipewarden-evidence\n"
            "      - printf '%s\\n' \"$PW_ALLOWED_SIGNERS\" > /tmp/allowed_signers\n"
            '      - pipewarden verify-commit --repo . --commit "$CODEBUILD_RESOLVED_SOURCE_VERSION"'
            f" --allowed-signers /tmp/allowed_signers{require} > pipewarden-evidence/commit.json\n"
            "artifacts:\n"
            "  files:\n"
            "    - '**/*'\n"
        )

    def attestation_key(self) -> str:
        return self.options.attestation_key or "alias/pipewarden-attest"

    def verify_handoff_buildspec(self, artifact_file: str) -> str:
        pipeline_arn = self.pipeline.arn or (
            f"arn:{self.partition}:codepipeline:{self.region}:{self.account}:{self.name}"
        )
        expect = f" --expect-pipeline {pipeline_arn}" if "${" not in pipeline_arn else ""
        return (
            "version: 0.2\n"
            "phases:\n"
            "  install:\n"
            "    commands:\n"
            f"      - pip install --no-cache-dir pipewarden=={self.version}\n"
            "  build:\n"
            "    commands:\n"
            f"      - pipewarden verify-handoff {artifact_file} --attestation"
            f" {artifact_file}.intoto.jsonl --kms-key-id {self.attestation_key()}{expect}\n"
        )

    def verification_stage(self) -> None:
        wanted104 = self.wants("PW104")
        wanted105 = self.wants("PW105")
        if not (wanted104 or wanted105):
            return
        failing_artifacts: set[str] = set()
        for result in self.results("PW104"):
            artifact = result.evidence.get("artifact")
            if artifact:
                failing_artifacts.add(artifact)
        failing_sources = {r.action for r in self.results("PW105")}
        actions: list[dict[str, Any]] = []
        stages = self.stages()
        if not stages:
            return
        source_stage = stages[0]
        for source in source_stage.get("actions") or []:
            if not isinstance(source, dict):
                continue
            category, owner, provider = self.type_of(source)
            if category != "Source":
                continue
            outputs = [
                str(a.get("name"))
                for a in source.get("outputArtifacts") or []
                if isinstance(a, dict)
            ]
            for artifact in outputs:
                if artifact not in failing_artifacts and source.get("name") not in failing_sources:
                    continue
                if owner != "AWS" or provider not in _GIT_SOURCES:
                    self.manual(
                        ("PW104",),
                        f"source `{source.get('name')}` ({owner}/{provider}) carries no git "
                        "history: verify what it delivers with `pipewarden verify-handoff` "
                        "against an attestation published with it",
                    )
                    self.track.block("PW104")
                    continue
                config = source.setdefault("configuration", {})
                config["OutputArtifactFormat"] = "CODEBUILD_CLONE_REF"
                if provider == "CodeStarSourceConnection":
                    self.connections.append(
                        self.template_ref("connection", config.get("ConnectionArn", ""))
                    )
                else:
                    repo = config.get("RepositoryName")
                    if isinstance(repo, str):
                        self.codecommit_repos.append(repo)
                verified = self.unique_artifact(f"{artifact}Verified")
                self.verified[artifact] = verified
                branch = config.get("BranchName")
                actions.append(
                    {
                        "name": f"VerifyCommit{_NAME_OK.sub('', artifact)}"[:100],
                        "actionTypeId": {
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                        },
                        "runOrder": 1,
                        "configuration": {
                            "ProjectName": self.verify_project_ref(),
                            "BuildspecOverride": self.verify_commit_buildspec(
                                branch if isinstance(branch, str) else None
                            ),
                        },
                        "inputArtifacts": [{"name": artifact}],
                        "outputArtifacts": [{"name": verified}],
                    }
                )
                self.needs_allowed_signers = True
        if not actions:
            return
        stage = {"name": self.unique_stage("VerifySource"), "actions": actions}
        stages.insert(1, stage)
        rewired = self.rewire(self.verified, skip=stage)
        for result in self.results("PW104"):
            if result.evidence.get("artifact") in self.verified:
                self.track.mark("PW104", result.stage, result.action)
        for result in self.results("PW105"):
            source = next(
                (a for a in source_stage.get("actions") or [] if a.get("name") == result.action),
                None,
            )
            if (
                source is not None
                and cfg(source).get("OutputArtifactFormat") == "CODEBUILD_CLONE_REF"
            ):
                self.track.mark("PW105", result.stage, result.action)
        names = ", ".join(f"`{a}`" for a in self.verified)
        self.fix(
            ("PW104", "PW105"),
            f"stage `{stage['name']}` verifies the commit signature of {names} "
            "(`pipewarden verify-commit`) before anything uses it",
            f"{rewired} action(s) now read the verified output; the allowed signers are read "
            f"from SSM parameter `{self.signers_parameter()}` (create it)",
            behaviour="a commit not signed by an allowed signer stops the pipeline",
        )

    def rewire(self, renames: Mapping[str, str], *, skip: Mapping[str, Any]) -> int:
        """Point every consumer of the renamed artifacts at their new names."""
        count = 0
        for stage in self.stages():
            if stage is skip:
                continue
            for action in stage.get("actions") or []:
                if isinstance(action, dict) and self._rewire_node(action, renames):
                    count += 1
            for kind in ("beforeEntry", "onSuccess", "onFailure"):
                body = stage.get(kind)
                for condition in (body.get("conditions") or []) if isinstance(body, dict) else []:
                    for rule in (
                        (condition.get("rules") or []) if isinstance(condition, dict) else []
                    ):
                        if isinstance(rule, dict):
                            self._rewire_node(rule, renames)
        return count

    @staticmethod
    def _rewire_node(node: dict[str, Any], renames: Mapping[str, str]) -> bool:
        changed = False
        for art in node.get("inputArtifacts") or []:
            if isinstance(art, dict) and art.get("name") in renames:
                art["name"] = renames[str(art["name"])]
                changed = True
        config = node.get("configuration")
        if not isinstance(config, dict):
            return changed
        for key, value in list(config.items()):
            if not isinstance(value, str):
                continue
            if key in _STAGE_REWIRE_KEYS and value in renames:
                config[key] = renames[value]
                continue
            head, sep, tail = value.partition("::")
            if sep and head in renames:
                config[key] = f"{renames[head]}::{tail}"
                continue
            if key.endswith("ArtifactName") or key.endswith("TemplateArtifact"):
                if value in renames:
                    config[key] = renames[value]
                continue
            if key == "ParameterOverrides" and any(f'"{old}"' in value for old in renames):
                try:
                    doc = json.loads(value)
                except ValueError:
                    continue
                config[key] = json.dumps(_rename_params(doc, renames))
        return changed

    # -- PW206 / PW504: verify-handoff before the consumer ------------------------

    @staticmethod
    def handoff_file(action: Mapping[str, Any]) -> str:
        config = cfg(action)
        provider = (action.get("actionTypeId") or {}).get("provider")
        template = config.get("TemplatePath")
        if isinstance(template, str) and "::" in template:
            return template.split("::", 1)[1]
        if provider == "ECS":
            value = config.get("FileName")
            return value if isinstance(value, str) and value else "imagedefinitions.json"
        if provider == "CodeDeployToECS":
            value = config.get("TaskDefinitionTemplatePath")
            return value if isinstance(value, str) and value else "taskdef.json"
        if provider == "CodeDeploy":
            return "appspec.yml"
        return "artifact.zip"

    def handoffs(self) -> None:
        targets: dict[tuple[str, str], set[str]] = {}
        for rule in ("PW206", "PW504"):
            if not self.wants(rule):
                continue
            for result in self.results(rule):
                if result.stage is None or result.action is None:
                    continue
                targets.setdefault((result.stage, result.action), set()).add(rule)
        if not targets:
            return
        for (stage_name, action_name), rules in targets.items():
            found = None
            for stage, action in self.all_actions():
                if self.origin_names(stage, action) == (stage_name, action_name):
                    found = (stage, action)
            if found is None:
                continue
            stage, action = found
            inputs = [a for a in action.get("inputArtifacts") or [] if isinstance(a, dict)]
            if not inputs:
                continue
            order = int(action.get("runOrder") or 1)
            for other in stage.get("actions") or []:
                if isinstance(other, dict) and int(other.get("runOrder") or 1) >= order:
                    other["runOrder"] = int(other.get("runOrder") or 1) + 1
            config: dict[str, Any] = {
                "ProjectName": self.verify_project_ref(),
                "BuildspecOverride": self.verify_handoff_buildspec(self.handoff_file(action)),
            }
            if len(inputs) > 1:
                config["PrimarySource"] = str(inputs[0].get("name"))
            verifier = {
                "name": self.unique_action(stage, f"VerifyHandoff{action_name}"),
                "actionTypeId": {
                    "category": "Build",
                    "owner": "AWS",
                    "provider": "CodeBuild",
                    "version": "1",
                },
                "runOrder": order,
                "configuration": config,
                "inputArtifacts": [{"name": str(a.get("name"))} for a in inputs],
            }
            actions = stage.setdefault("actions", [])
            actions.insert(actions.index(action), verifier)
            self.needs_attestation_key = True
            for rule in rules:
                self.track.mark(rule, stage_name, action_name)
            self.fix(
                tuple(sorted(rules)),
                f"action `{verifier['name']}` runs `pipewarden verify-handoff` on what "
                f"`{action_name}` consumes, before it runs",
                f"the build must attest `{self.handoff_file(action)}` (`pipewarden attest`) "
                f"with KMS key `{self.attestation_key()}`",
                behaviour="an artifact without a valid attestation stops the pipeline",
            )

    # -- gate rule inputs ------------------------------------------------------------

    def wire_gate_evidence(self) -> None:
        for _, rule in self.gate_rules:
            tid = rule.get("ruleTypeId") or {}
            if tid.get("provider") != "Commands":
                continue
            evidence = list(self.verified.values())[:1]
            commands = [
                f"pip install --no-cache-dir pipewarden=={self.version}",
                f"aws codepipeline get-pipeline --name {self.name} --output json > pipeline.json",
                "pipewarden scan pipeline.json --format json --output scan.json --fail-on none",
            ]
            gate = "pipewarden gate --scan scan.json"
            if evidence:
                rule["inputArtifacts"] = [{"name": evidence[0]}]
                gate += ' --evidence "$CODEBUILD_SRC_DIR/pipewarden-evidence/commit.json"'
            commands.append(gate)
            rule["commands"] = commands

    # -- roles -------------------------------------------------------------------

    def role_name(self, *words: str) -> str:
        return physical_name("pw", self.name, *words, limit=64)

    def trust_pipeline_role(self, pipeline_role: Text) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": pipeline_role},
                    "Action": "sts:AssumeRole",
                }
            ],
        }

    def service_trust(self, service: str) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": self.account}},
                }
            ],
        }

    def new_role(
        self,
        words: Sequence[str],
        trust: Mapping[str, Any],
        statements: Sequence[Mapping[str, Any]],
        purpose: str,
        *,
        account: str = "",
    ) -> Text:
        """A role and its permission policy (a separate policy resource, so that roles,
        the key and the bucket policy can refer to each other without a cycle)."""
        lid = self.lid(*words, "Role")
        name = self.role_name(*words)
        if account:
            properties: dict[str, Any] = {
                "RoleName": name,
                "AssumeRolePolicyDocument": trust,
                "Policies": [
                    {
                        "PolicyName": "least-privilege",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                    }
                ],
            }
            self.add(
                NewResource(
                    lid,
                    "AWS::IAM::Role",
                    properties,
                    self.tf_name(lid),
                    account=account,
                    purpose=purpose,
                )
            )
            arn = f"arn:{self.partition}:iam::{account}:role/{name}"
            self.cross_account_roles.append(arn)
            return arn
        self.add(
            NewResource(
                lid,
                "AWS::IAM::Role",
                {"RoleName": name, "AssumeRolePolicyDocument": trust},
                self.tf_name(lid),
                purpose=purpose,
            )
        )
        value = f"arn:{self.partition}:iam::{self.account}:role/{name}"
        ref = Ref(lid, "Arn", value, f"aws_iam_role.{self.tf_name(lid)}.arn")
        self.role_ids.append(lid)
        if statements:
            policy_id = self.lid(*words, "Policy")
            self.add(
                NewResource(
                    policy_id,
                    "AWS::IAM::Policy",
                    {
                        "PolicyName": "least-privilege",
                        "Roles": [Ref(lid, "Ref", name, f"aws_iam_role.{self.tf_name(lid)}.name")],
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                    },
                    self.tf_name(policy_id),
                    purpose=f"permissions of {purpose}",
                )
            )
            self.policy_ids.append(policy_id)
        return ref

    def roles_wanted(self) -> bool:
        rules = ("PW301", "PW302", "PW303", "PW304", "PW305", "PW307", "PW503")
        return any(self.wants(r) for r in rules) or bool(self.plan.fixes)

    def roles(self) -> None:
        if not self.roles_wanted():
            return
        if "PW301" in self.selected or any(
            self.wants(r) for r in ("PW302", "PW303", "PW304", "PW305", "PW307", "PW503")
        ):
            pass
        else:
            # Only new actions (verifiers, gates) need roles; existing ones are left alone.
            self._roles_for_new_only()
            return
        unsupported: list[tuple[dict[str, Any], dict[str, Any]]] = []
        assumable: list[Text] = []
        handled: set[tuple[str, str]] = set()
        grants: list[tuple[dict[str, Any], dict[str, Any], Any, str | None]] = []
        for stage, action in list(self.all_actions()):
            if self.type_of(action) == ("Approval", "AWS", "Manual"):
                topic = cfg(action).get("NotificationArn")
                if not isinstance(topic, str):
                    action.pop("roleArn", None)
                    continue
            cross = self.is_cross_account(action)
            target = _arn_account(action.get("roleArn")) if cross else None
            region = action.get("region") if isinstance(action.get("region"), str) else None
            env = self.env(account=target, region=region)
            try:
                grant = action_grant(self.with_refs(action), env)
            except RemediationError as exc:
                self.plan.notes.append(f"action `{action.get('name')}`: {exc}")
                grant = None
            if grant is None or (
                has_unresolved(action.get("configuration")) and not grant.statements
            ):
                unsupported.append((stage, action))
                continue
            grants.append((stage, action, grant, target))
        pipeline_role_lid = self.lid("PipelineRole")
        pipeline_role_name = self.role_name("pipeline")
        pipeline_role: Text = Ref(
            pipeline_role_lid,
            "Arn",
            f"arn:{self.partition}:iam::{self.account}:role/{pipeline_role_name}",
            f"aws_iam_role.{self.tf_name(pipeline_role_lid)}.arn",
        )
        if unsupported:
            old_role = self.api.get("roleArn")
            if not isinstance(old_role, str | Ref | Join):
                self.manual(
                    ("PW301",), "the pipeline's service role is unresolved: no role is added"
                )
                for rule in ("PW301", "PW302", "PW303", "PW304", "PW305", "PW307", "PW503"):
                    self.track.block(rule)
                return
            pipeline_role = self.template_ref("role", old_role)
        for stage, action, grant, target in grants:
            stage_name, action_name = str(stage.get("name")), str(action.get("name"))
            purpose = f"role of action `{action_name}` in stage `{stage_name}`"
            if target is not None:
                self.cross_account_policy(action, target, grant.statements, purpose)
                for note in grant.notes:
                    self.plan.notes.append(f"{purpose}: {note}")
                assumable.append(action["roleArn"])
                handled.add(self.origin_names(stage, action))
                continue
            role = self.new_role(
                (stage_name, action_name),
                self.trust_pipeline_role(pipeline_role),
                grant.statements,
                purpose,
            )
            for note in grant.notes:
                self.plan.notes.append(f"{purpose}: {note}")
            action["roleArn"] = role
            assumable.append(role)
            handled.add(self.origin_names(stage, action))
        for gate_stage, gate in self.gate_rules:
            gate_role = self.new_role(
                (gate_stage, "gate"),
                self.trust_pipeline_role(pipeline_role),
                self.gate_statements(gate, self.env()),
                f"role of the gate rule of stage `{gate_stage}`",
            )
            gate["roleArn"] = gate_role
            assumable.append(gate_role)
        keep_old = bool(unsupported)
        for stage, action in unsupported:
            name = f"action `{action.get('name')}` in stage `{stage.get('name')}`"
            self.manual(
                ("PW301", "PW302", "PW307"),
                f"{name} ({'/'.join(self.type_of(action)[1:])}) has no least-privilege template: "
                "give it a role of its own by hand",
            )
            old = action.get("roleArn")
            if isinstance(old, str | Ref | Join):
                assumable.append(old)
        if keep_old:
            self._keep_pipeline_role(assumable)
            for rule in ("PW302", "PW303", "PW307"):
                self.track.block(rule)
        else:
            statements = self.pipeline_statements(assumable)
            self.new_role_fixed(pipeline_role_lid, pipeline_role_name, statements)
            self.api["roleArn"] = pipeline_role
            old = self.pipeline.role_arn
            if isinstance(old, str):
                self.plan.notes.append(
                    f"the previous service role `{old}` is no longer used by pipeline "
                    f"`{self.name}`; delete it once nothing else uses it"
                )
        for stage_name, action_name in handled:
            for rule in ("PW301", "PW503"):
                self.track.mark(rule, stage_name, action_name)
        if not unsupported:
            self.track.all("PW304")
            self.track.resolves_unknown.update(("PW301", "PW304"))
            if not self.cross_account_roles:
                self.track.all("PW305")
                self.track.resolves_unknown.add("PW305")
            else:
                self.track.block("PW305")
        else:
            self.track.block("PW304")
            self.track.block("PW305")
        self.judge_role_claims()
        self.fix(
            ("PW301", "PW304", "PW305", "PW302", "PW303", "PW307"),
            f"every action has a role of its own ({len(handled)} roles), trusted only by the "
            "pipeline service role, granting exactly what its provider needs on the resources "
            "its configuration names",
            "the pipeline service role only assumes those roles and reads its artifact bucket",
        )

    def cross_account_policy(
        self,
        action: Mapping[str, Any],
        account: str,
        statements: Sequence[Mapping[str, Any]],
        purpose: str,
    ) -> None:
        """A cross-account action keeps its role (it belongs to the target account, and the
        artifact key and bucket already name it); the target account gets the
        least-privilege policy for it, in a template of its own."""
        role_arn = str(action.get("roleArn"))
        role_name = role_arn.rsplit("/", 1)[-1]
        lid = self.lid(str(action.get("name")), "LeastPrivilege")
        self.add(
            NewResource(
                lid,
                "AWS::IAM::ManagedPolicy",
                {
                    "ManagedPolicyName": physical_name(
                        "pw", self.name, str(action.get("name")), limit=128
                    ),
                    "Description": f"least privilege for {purpose} of pipeline {self.name}"[:1000],
                    "Roles": [role_name],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                },
                self.tf_name(lid),
                account=account,
                purpose=f"least-privilege policy of {purpose}",
            )
        )
        if role_arn not in self.cross_account_roles:
            self.cross_account_roles.append(role_arn)
        self.manual(
            ("PW302", "PW305"),
            f"{purpose} runs as `{role_arn}` in account {account}: deploy the template for "
            f"account {account}, detach the role's other policies, and make its trust name only "
            f"the pipeline service role",
        )

    def new_role_fixed(self, lid: str, name: str, statements: Sequence[Mapping[str, Any]]) -> None:
        self.used_ids.add(lid)
        self.add(
            NewResource(
                lid,
                "AWS::IAM::Role",
                {
                    "RoleName": name,
                    "AssumeRolePolicyDocument": self.service_trust("codepipeline.amazonaws.com"),
                },
                self.tf_name(lid),
                purpose=f"service role of pipeline `{self.name}`",
            )
        )
        self.role_ids.append(lid)
        policy_id = self.lid("PipelinePolicy")
        self.add(
            NewResource(
                policy_id,
                "AWS::IAM::Policy",
                {
                    "PolicyName": "assume-action-roles",
                    "Roles": [Ref(lid, "Ref", name, f"aws_iam_role.{self.tf_name(lid)}.name")],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                },
                self.tf_name(policy_id),
                purpose=f"permissions of the service role of pipeline `{self.name}`",
            )
        )
        self.policy_ids.append(policy_id)

    def pipeline_statements(self, assumable: Sequence[Text]) -> list[dict[str, Any]]:
        env = self.env()
        out: list[dict[str, Any]] = []
        if assumable:
            out.append(
                statement("AssumeActionRoles", ["sts:AssumeRole"], list(dict.fromkeys(assumable)))
            )
        if self.bucket is not None:
            out.append(
                statement(
                    "ArtifactBucket",
                    ["s3:GetBucketVersioning", "s3:GetBucketAcl", "s3:GetBucketLocation"],
                    [arn_text("s3", "bucket", env, BucketName=self.bucket)],
                )
            )
            out.append(
                statement(
                    "ArtifactObjects",
                    ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    [artifact_objects(env)],
                )
            )
            if self.key_arn is not None:
                out.append(
                    statement(
                        "ArtifactKey",
                        ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
                        [self.key_arn],
                    )
                )
        return out

    def gate_statements(self, rule: Mapping[str, Any], env: Env) -> list[dict[str, Any]]:
        tid = rule.get("ruleTypeId") or {}
        if tid.get("provider") == "LambdaInvoke":
            function = cfg(rule).get("FunctionName")
            grant = action_grant(
                {
                    "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda"},
                    "configuration": {"FunctionName": function},
                },
                env,
            )
            return grant.statements if grant else []
        out = log_statements(env, pipeline_log_group(self.name))
        pipeline_arn = arn_text("codepipeline", "pipeline", env, PipelineName=self.name)
        out.append(statement("ReadDeclaration", ["codepipeline:GetPipeline"], [pipeline_arn]))
        if rule.get("inputArtifacts") and self.bucket is not None:
            out.append(
                statement(
                    "Artifacts", ["s3:GetObject", "s3:GetObjectVersion"], [artifact_objects(env)]
                )
            )
            if self.key_arn is not None:
                out.append(
                    statement("ArtifactKey", ["kms:Decrypt", "kms:DescribeKey"], [self.key_arn])
                )
        return out

    def _keep_pipeline_role(self, assumable: Sequence[Text]) -> None:
        """Some actions still run under the pipeline role: keep it, and let it assume the
        new roles."""
        old = self.pipeline.role_arn
        new_roles = [r for r in assumable if isinstance(r, Ref)]
        if not new_roles:
            return
        role = self.inventory.role(old) if isinstance(old, str) else None
        if role is not None and not isinstance(role, Gap) and self.resource_editable(role.loc):
            policy_id = self.lid("PipelineRoleAssume")
            target = self.existing_ref(role.loc, role.name)
            self.add(
                NewResource(
                    policy_id,
                    "AWS::IAM::Policy",
                    {
                        "PolicyName": "assume-action-roles",
                        "Roles": [target],
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                statement("AssumeActionRoles", ["sts:AssumeRole"], new_roles)
                            ],
                        },
                    },
                    self.tf_name(policy_id),
                    purpose="lets the existing pipeline role assume the new action roles",
                )
            )
            self.policy_ids.append(policy_id)
        else:
            self.manual(
                ("PW301",),
                f"allow the pipeline role `{old}` to `sts:AssumeRole` the new action roles",
            )

    def existing_ref(self, loc: Loc | None, name: str) -> Text:
        """A reference to a resource the input defines (its CloudFormation logical id or
        Terraform address), for a new resource that attaches to it."""
        if loc is None:
            return name
        tokens = split_pointer(loc.pointer)
        if loc.style is KeyStyle.CLOUDFORMATION and len(tokens) >= 2:
            return Ref(tokens[1], "Ref", name)
        if loc.style is KeyStyle.TERRAFORM and len(tokens) >= 3 and tokens[0] == "resource":
            return Ref(tokens[2], "Ref", name, f"{tokens[1]}.{tokens[2]}.name")
        return name

    def _roles_for_new_only(self) -> None:
        """Roles for the actions and rules this fix adds, under the existing pipeline role."""
        assumable: list[Text] = []
        pipeline_role = self.api.get("roleArn")
        if not isinstance(pipeline_role, str | Ref | Join):
            return
        new_actions = [
            (s, a)
            for s, a in self.all_actions()
            if self.model_action(str(s.get("name")), str(a.get("name"))) is None
            and self.type_of(a) != ("Approval", "AWS", "Manual")
        ]
        for stage, action in new_actions:
            grant = action_grant(self.with_refs(action), self.env())
            if grant is None:
                continue
            role = self.new_role(
                (str(stage.get("name")), str(action.get("name"))),
                self.trust_pipeline_role(pipeline_role),
                grant.statements,
                f"role of action `{action.get('name')}` in stage `{stage.get('name')}`",
            )
            action["roleArn"] = role
            assumable.append(role)
        for stage_name, rule in self.gate_rules:
            role = self.new_role(
                (stage_name, "gate"),
                self.trust_pipeline_role(pipeline_role),
                self.gate_statements(rule, self.env()),
                f"role of the gate rule of stage `{stage_name}`",
            )
            rule["roleArn"] = role
            assumable.append(role)
        if assumable:
            self._keep_pipeline_role(assumable)

    def judge_role_claims(self) -> None:
        """PW302/PW303/PW307 are fixed when no failing role is used by the pipeline any more."""
        still_used: set[str] = set()
        for _, action in self.all_actions():
            role = action.get("roleArn")
            if isinstance(role, str):
                still_used.add(role)
            config = cfg(action)
            for key in ("RoleArn", "AdministrationRoleArn"):
                value = config.get(key)
                if isinstance(value, str):
                    still_used.add(value)
            if self.type_of(action)[2] == "CodeBuild":
                project = config.get("ProjectName")
                if isinstance(project, str):
                    found = self.inventory.codebuild_project(project)
                    if not isinstance(found, Gap) and isinstance(found.service_role, str):
                        still_used.add(found.service_role)
        if isinstance(self.api.get("roleArn"), str):
            still_used.add(str(self.api["roleArn"]))
        # Roles the pipeline still uses are the input's own (new roles are references).
        self.input_roles_used = bool(still_used)
        for rule in ("PW302", "PW303", "PW307"):
            results = self.results(rule)
            if not results:
                continue
            if all(
                r.evidence.get("role") not in still_used and r.evidence.get("role") for r in results
            ):
                self.track.all(rule)
            else:
                self.track.block(rule)
                self.manual(
                    (rule,),
                    "a CodeBuild project role or CloudFormation deployment role the pipeline "
                    "uses is too broad: scope it to what that build or stack needs",
                )

    # -- the artifact store's resources ---------------------------------------------

    def writer_roles(self) -> list[Text]:
        """Every role that writes this pipeline's artifacts."""
        roles: list[Text] = []
        role = self.api.get("roleArn")
        if isinstance(role, str | Ref | Join):
            roles.append(self.template_ref("role", role))
        for _, action in self.all_actions():
            value = action.get("roleArn")
            if isinstance(value, str | Ref | Join):
                roles.append(self.template_ref("role", value))
            if self.type_of(action)[2] == "CodeBuild":
                project = cfg(action).get("ProjectName")
                if isinstance(project, str):
                    found = self.inventory.codebuild_project(project)
                    if not isinstance(found, Gap) and isinstance(found.service_role, str):
                        roles.append(self.template_ref("role", found.service_role))
        if self.verify_project is not None:
            roles.append(self.verify_role_ref())
        for stage in self.stages():
            for kind in ("beforeEntry", "onSuccess", "onFailure"):
                body = stage.get(kind)
                for condition in (body.get("conditions") or []) if isinstance(body, dict) else []:
                    for rule in (
                        (condition.get("rules") or []) if isinstance(condition, dict) else []
                    ):
                        roles.extend(
                            [rule["roleArn"]]
                            if isinstance(rule, dict) and isinstance(rule.get("roleArn"), str | Ref)
                            else []
                        )
        unique: list[Text] = []
        for item in roles:
            if concrete(item) not in {concrete(u) for u in unique}:
                unique.append(item)
        return unique

    def bucket_policy_statements(self, bucket: Text) -> list[dict[str, Any]]:
        env = self.env()
        bucket_arn = arn_text("s3", "bucket", env, BucketName=bucket)
        objects = arn_text("s3", "object", env, BucketName=bucket, ObjectName="*")
        out: list[dict[str, Any]] = [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, objects],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Sid": "DenyWritesOutsidePipelineRoles",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [
                    "s3:PutObject",
                    "s3:PutObjectAcl",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                ],
                "Resource": objects,
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": self.writer_roles()}},
            },
        ]
        if self.cross_account_roles:
            out.append(
                {
                    "Sid": "CrossAccountRead",
                    "Effect": "Allow",
                    "Principal": {"AWS": list(self.cross_account_roles)},
                    "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                    "Resource": artifact_objects(env),
                }
            )
        return out

    def key_policy(self) -> dict[str, Any]:
        statements: list[dict[str, Any]] = [
            {
                "Sid": "KeyAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{self.partition}:iam::{self.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        if self.cross_account_roles:
            statements.append(
                {
                    "Sid": "CrossAccountActionRoles",
                    "Effect": "Allow",
                    "Principal": {"AWS": list(self.cross_account_roles)},
                    "Action": ["kms:Decrypt", "kms:DescribeKey"],
                    "Resource": "*",
                }
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def lock(self) -> dict[str, Any]:
        return {
            "ObjectLockEnabled": "Enabled",
            "Rule": {
                "DefaultRetention": {
                    "Mode": self.options.object_lock_mode,
                    "Days": self.options.object_lock_days,
                }
            },
        }

    def artifact_store_resources(self) -> None:
        plan = self.store_plan
        if plan.get("mode") is None:
            return
        behaviour = (
            f"artifact versions are locked in {self.options.object_lock_mode} mode for "
            f"{self.options.object_lock_days} days: nobody, not even the account root, can "
            "delete or overwrite them before then"
        )
        key_id = plan.get("key")
        if key_id:
            self.add(
                NewResource(
                    key_id,
                    "AWS::KMS::Key",
                    {
                        "Description": f"artifacts of pipeline {self.name}",
                        "EnableKeyRotation": True,
                        "KeyPolicy": self.key_policy(),
                    },
                    self.tf_name(key_id),
                    purpose=f"customer managed key for the artifacts of `{self.name}`",
                )
            )
        if plan["mode"] == "new":
            lid = plan["bucket_id"]
            name = plan["bucket_name"]
            bucket_ref = self.bucket
            if not isinstance(bucket_ref, Ref):  # pragma: no cover - set with the plan
                raise RemediationError("the new artifact bucket has no reference")
            self.add(
                NewResource(
                    lid,
                    "AWS::S3::Bucket",
                    {
                        "BucketName": join(
                            name,
                            "-",
                            ACCOUNT if self.account == ACCOUNT else self.account,
                            "-",
                            REGION if self.region == REGION else self.region,
                        ),
                        "VersioningConfiguration": {"Status": "Enabled"},
                        "ObjectLockEnabled": True,
                        "ObjectLockConfiguration": self.lock(),
                        "BucketEncryption": {
                            "ServerSideEncryptionConfiguration": [
                                {
                                    "ServerSideEncryptionByDefault": {
                                        "SSEAlgorithm": "aws:kms",
                                        "KMSMasterKeyID": self.key_arn,
                                    },
                                    "BucketKeyEnabled": True,
                                }
                            ]
                        },
                        "PublicAccessBlockConfiguration": {
                            "BlockPublicAcls": True,
                            "BlockPublicPolicy": True,
                            "IgnorePublicAcls": True,
                            "RestrictPublicBuckets": True,
                        },
                    },
                    self.tf_name(lid),
                    purpose=f"artifact bucket of `{self.name}`",
                )
            )
            policy_id = self.lid("ArtifactBucketPolicy")
            self.add(
                NewResource(
                    policy_id,
                    "AWS::S3::BucketPolicy",
                    {
                        "Bucket": bucket_ref,
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": self.bucket_policy_statements(bucket_ref),
                        },
                    },
                    self.tf_name(policy_id),
                    purpose=f"artifact bucket policy of `{self.name}`",
                )
            )
            self.policy_ids.append(policy_id)
            self.fix(
                ("PW201", "PW202", "PW203", "PW204", "PW205", "PW207"),
                f"pipeline `{self.name}` stores its artifacts in a bucket of its own, versioned, "
                "locked, encrypted with a customer managed key and closed to plain HTTP and to "
                "writers other than the pipeline's roles",
                behaviour=behaviour + "; artifacts of earlier runs stay in the previous bucket",
            )
            return
        bucket = plan["bucket"]
        self.patch_rules.update(("PW201", "PW202", "PW203", "PW204", "PW207"))
        remove = self.outsider_write_statements(bucket.policy)
        patch = BucketPatch(
            loc=bucket.loc,
            name=bucket.name,
            versioning=True,
            lock_mode=self.options.object_lock_mode,
            lock_days=self.options.object_lock_days,
            kms_key=self.key_arn,
            policy_add=tuple(self.missing_policy_statements(bucket)),
            policy_remove=tuple(remove),
            policy_existing=tuple(_statements_of(bucket.policy)),
        )
        self.plan.patches.append(patch)
        if self.wants("PW207") and not key_id:
            self.track.block("PW207")
        self.fix(
            ("PW201", "PW202", "PW203", "PW204", "PW207"),
            f"artifact bucket `{bucket.name}` is versioned, locked, encrypted with a customer "
            "managed key and closed to plain HTTP and to writers other than the pipeline's roles",
            behaviour=behaviour
            + ("; statements letting other accounts write are removed" if remove else ""),
        )

    def missing_policy_statements(self, bucket: Any) -> list[dict[str, Any]]:
        from pipewarden.rules.artifact_store_policy_weak import _tls_deny

        wanted = self.bucket_policy_statements(self.bucket or bucket.name)
        out = []
        if bucket.policy is None or _tls_deny(bucket.policy, bucket.name) is not True:
            out.append(wanted[0])
        out.extend(wanted[1:])
        return out

    def outsider_write_statements(self, policy: Any) -> list[int]:
        from pipewarden.rules._artifact_store import (
            aws_principals,
            covers_action,
            has_org_condition,
            limited_to_account,
            same_account,
        )
        from pipewarden.rules._policy import statements as policy_statements
        from pipewarden.rules.artifact_store_policy_weak import WRITE_ACTIONS

        out: list[int] = []
        mine = self.ctx.pipeline_account
        for stmt in policy_statements(policy):
            if not stmt.allows or not any(covers_action(stmt, a) for a in WRITE_ACTIONS):
                continue
            if has_org_condition(stmt) or limited_to_account(stmt, mine):
                continue
            for principal in aws_principals(stmt):
                if principal.wildcard or (
                    not principal.unresolved and same_account(principal.account, mine) is False
                ):
                    out.append(stmt.index)
                    break
        return out

    # -- the verification project ----------------------------------------------------

    def verify_role_ref(self) -> Ref:
        existing = self._verify_role
        if existing is None:
            lid = self.lid("VerifyProjectRole")
            name = self.role_name("pipewarden-verify")
            existing = Ref(
                lid,
                "Arn",
                f"arn:{self.partition}:iam::{self.account}:role/{name}",
                f"aws_iam_role.{self.tf_name(lid)}.arn",
            )
            self._verify_role = existing
            self._verify_role_name = name
        return existing

    def verify_resources(self) -> None:
        if self.verify_project is None:
            return
        env = self.env()
        project = self.verify_project
        role = self.verify_role_ref()
        log_lid = self.lid("VerifyLogs")
        log_name = f"/pipewarden/{self.name}/verify"
        log_ref = Ref(
            log_lid, "Ref", log_name, f"aws_cloudwatch_log_group.{self.tf_name(log_lid)}.name"
        )
        self.add(
            NewResource(
                log_lid,
                "AWS::Logs::LogGroup",
                {
                    "LogGroupName": log_name,
                    "RetentionInDays": 365,
                    "DataProtectionPolicy": copy.deepcopy(dict(DATA_PROTECTION_POLICY)),
                },
                self.tf_name(log_lid),
                purpose="build logs of the verification project, with credentials masked",
            )
        )
        statements = log_statements(env, log_ref)
        if self.bucket is not None:
            statements.append(
                statement(
                    "Artifacts",
                    ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                    [artifact_objects(env)],
                )
            )
        if self.key_arn is not None:
            statements.append(
                statement(
                    "ArtifactKey",
                    ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
                    [self.key_arn],
                )
            )
        connections = [
            c for c in self.connections if not isinstance(c, str) or c.startswith("arn:")
        ]
        by_prefix: dict[str, list[Text]] = {}
        for conn in connections:
            prefix = (
                "codestar-connections"
                if ":codestar-connections:" in concrete(conn)
                else "codeconnections"
            )
            if conn not in by_prefix.setdefault(prefix, []):
                by_prefix[prefix].append(conn)
        for prefix, arns in by_prefix.items():
            statements.append(
                statement(
                    f"UseConnection{'Legacy' if prefix != 'codeconnections' else ''}",
                    [f"{prefix}:UseConnection"],
                    arns,
                )
            )
        if any(isinstance(c, str) and not c.startswith("arn:") for c in self.connections):
            self.plan.notes.append(
                "verification project: a connection ARN is unresolved in the input; give the "
                "project's role codeconnections:UseConnection on it"
            )
        if self.codecommit_repos:
            statements.append(
                statement(
                    "GitPull",
                    ["codecommit:GitPull"],
                    [
                        arn_text("codecommit", "repository", env, RepositoryName=r)
                        for r in self.codecommit_repos
                    ],
                )
            )
        if self.needs_allowed_signers:
            statements.append(
                statement(
                    "AllowedSigners",
                    ["ssm:GetParameters"],
                    [
                        arn_text(
                            "ssm",
                            "parameter",
                            env,
                            ParameterNameWithoutLeadingSlash=self.signers_parameter().lstrip("/"),
                        )
                    ],
                )
            )
        if self.needs_attestation_key:
            key = self.attestation_key()
            if key.startswith("arn:") and ":key/" in key:
                statements.append(statement("AttestationKey", ["kms:GetPublicKey"], [key]))
            else:
                alias = key if key.startswith("alias/") else f"alias/{key}"
                self.plan.notes.append(
                    f"verification project: the attestation key is named by alias `{alias}`, so "
                    "its role may read the public key of any key carrying that alias "
                    "(give --attestation-key ARN to name one key)"
                )
                statements.append(
                    statement(
                        "AttestationKey",
                        ["kms:GetPublicKey"],
                        [arn_text("kms", "key", env, KeyId="*")],
                        condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}},
                    )
                )
        role_lid = role.logical_id
        self.used_ids.add(role_lid)
        self.add(
            NewResource(
                role_lid,
                "AWS::IAM::Role",
                {
                    "RoleName": self._verify_role_name,
                    "AssumeRolePolicyDocument": self.service_trust("codebuild.amazonaws.com"),
                },
                self.tf_name(role_lid),
                purpose="service role of the verification project",
            )
        )
        self.role_ids.append(role_lid)
        policy_id = self.lid("VerifyProjectPolicy")
        self.add(
            NewResource(
                policy_id,
                "AWS::IAM::Policy",
                {
                    "PolicyName": "verify",
                    "Roles": [
                        Ref(
                            role_lid,
                            "Ref",
                            self._verify_role_name,
                            f"aws_iam_role.{self.tf_name(role_lid)}.name",
                        )
                    ],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                },
                self.tf_name(policy_id),
                purpose="permissions of the verification project",
            )
        )
        self.policy_ids.append(policy_id)
        properties: dict[str, Any] = {
            "Name": project.value,
            "Description": "PipeWarden verifiers (commit signatures, attestations)",
            "ServiceRole": role,
            "Source": {"Type": "CODEPIPELINE"},
            "Artifacts": {"Type": "CODEPIPELINE"},
            "Environment": {
                "Type": "LINUX_CONTAINER",
                "ComputeType": "BUILD_GENERAL1_SMALL",
                "Image": VERIFY_IMAGE,
                "PrivilegedMode": False,
            },
            "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": log_ref}},
            "TimeoutInMinutes": 15,
        }
        if self.key_arn is not None:
            properties["EncryptionKey"] = self.key_arn
        self.add(
            NewResource(
                project.logical_id,
                "AWS::CodeBuild::Project",
                properties,
                self.tf_name(project.logical_id),
                depends_on=(policy_id,),
                purpose="CodeBuild project the verification actions run on",
            )
        )

    # -- projects, log groups --------------------------------------------------------

    def projects_and_logs(self) -> None:
        from pipewarden.rules._secrets import url_credentials

        rules = ("PW702", "PW606", "PW703", "PW602", "PW605", "PW604", "PW109")
        wanted = [r for r in rules if self.wants(r)]
        if self.pipeline_log_group_needed:
            self.pipeline_log_group()
        if not wanted and not self.project_secret_grants:
            return
        seen: set[str] = set()
        for _, action in self.all_actions():
            if self.type_of(action)[2] != "CodeBuild":
                continue
            name = cfg(action).get("ProjectName")
            if not isinstance(name, str) or name in seen:
                continue
            seen.add(name)
            project = self.inventory.codebuild_project(name)
            if isinstance(project, Gap):
                continue
            if not self.resource_editable(project.loc):
                for rule in wanted:
                    if any(
                        r.evidence.get("project") == project.name or project.name in r.message
                        for r in self.results(rule)
                    ):
                        self.track.block(rule)
                continue
            changes: dict[str, Any] = {}
            if self.wants("PW702") and project.privileged:
                changes["privileged_off"] = True
                self.fix(
                    ("PW702",),
                    f"CodeBuild project `{project.name}` no longer runs in privileged mode",
                    behaviour="builds that run a Docker daemon (docker build) stop working: build "
                    "images with an ECRBuildAndPublish action or a daemonless builder",
                )
            group_needed = (
                self.wants("PW606")
                and not project.cloudwatch_logs_enabled
                and not project.s3_logs_enabled
            ) or (
                self.wants("PW604")
                and project.cloudwatch_logs_enabled
                and self._group_unprotected(project.effective_log_group)
            )
            if group_needed:
                existing = self.inventory.log_group(project.effective_log_group)
                if (
                    project.cloudwatch_logs_enabled
                    and not isinstance(existing, Gap)
                    and self.resource_editable(existing.loc)
                ):
                    self.plan.patches.append(
                        LogGroupPatch(
                            _must(existing.loc),
                            existing.name,
                            copy.deepcopy(dict(DATA_PROTECTION_POLICY)),
                        )
                    )
                else:
                    lid = self.lid("BuildLogs", project.name)
                    group = f"/pipewarden/{self.name}/codebuild/{project.name}"
                    self.add(
                        NewResource(
                            lid,
                            "AWS::Logs::LogGroup",
                            {
                                "LogGroupName": group,
                                "RetentionInDays": 365,
                                "DataProtectionPolicy": copy.deepcopy(dict(DATA_PROTECTION_POLICY)),
                            },
                            self.tf_name(lid),
                            purpose=f"build logs of `{project.name}`, with credentials masked",
                        )
                    )
                    changes["log_group"] = Ref(
                        lid, "Ref", group, f"aws_cloudwatch_log_group.{self.tf_name(lid)}.name"
                    )
                    self._grant_log_group(project, changes["log_group"])
                self.fix(
                    ("PW606", "PW604"),
                    f"CodeBuild project `{project.name}` logs to CloudWatch with credentials masked",
                    behaviour="build logs go to a new log group" if "log_group" in changes else "",
                )
            if self.wants("PW703") and (
                project.artifacts_encryption_disabled
                or project.secondary_artifacts_encryption_disabled
                or project.s3_logs_encryption_disabled
            ):
                changes["encryption_on"] = True
                self.fix(
                    ("PW703",),
                    f"CodeBuild project `{project.name}` encrypts its artifacts and S3 logs",
                )
            if self.wants("PW602"):
                moved: list[tuple[int, str]] = []
                for index, var in enumerate(project.environment_variables):
                    if var.type != "PLAINTEXT" or not isinstance(var.value, str):
                        continue
                    if not _secret_like(var.name, var.value):
                        continue
                    secret = self.new_secret(
                        var.value, f"CodeBuild project `{project.name}`", project.name, var.name
                    )
                    moved.append((index, secret))
                    self.project_secret_grants.setdefault(project.name, []).append(secret)
                spec = project.buildspec
                inline: list[tuple[str, str, str]] = []
                if isinstance(spec, str):
                    from pipewarden.rules._api import is_inline_buildspec

                    if is_inline_buildspec(spec):
                        for i, literal in enumerate(literal_in_text(spec)):
                            variable = f"PW_SECRET_{i + 1}"
                            held = self.new_secret(
                                literal,
                                f"CodeBuild project `{project.name}`",
                                project.name,
                                variable.lower(),
                            )
                            inline.append((literal, variable, held))
                            self.project_secret_grants.setdefault(project.name, []).append(held)
                if moved or inline:
                    changes["env_to_secrets"] = tuple(moved)
                    changes["buildspec_secrets"] = tuple(inline)
                    self.fix(
                        ("PW602",),
                        f"CodeBuild project `{project.name}` reads {len(moved) + len(inline)} "
                        "secret(s) from Secrets Manager instead of plaintext",
                        "create each secret with the command in the notes, then rotate the value",
                    )
            if self.wants("PW605") and isinstance(project.source_location, str):
                credential = url_credentials(project.source_location)
                if credential is not None:
                    stripped = re.sub(
                        r"^([a-z][a-z0-9+.-]*://)[^/@]*@",
                        r"\1",
                        project.source_location,
                        flags=re.IGNORECASE,
                    )
                    changes["source_location"] = stripped
                    self.fix(
                        ("PW605",),
                        f"the source location of CodeBuild project `{project.name}` no longer "
                        "embeds a credential",
                        behaviour="the project needs another way to authenticate: a "
                        "CodeConnections `Source.Auth` or an imported source credential; "
                        "revoke the exposed token",
                    )
            if self.wants("PW109"):
                from pipewarden.rules.webhook_unauthenticated import ANCHORED_FILTERS, is_anchored

                anchors = []
                for g, filter_group in enumerate(project.webhook_filter_groups):
                    for f, (kind, pattern, exclude) in enumerate(filter_group.filters):
                        if (
                            kind.upper() in ANCHORED_FILTERS
                            and not exclude
                            and not is_anchored(pattern)
                        ):
                            body = pattern.strip("^$")
                            anchors.append((g, f, f"^({body})$"))
                if anchors:
                    changes["anchor_filters"] = tuple(anchors)
                    self.fix(
                        ("PW109",),
                        f"the webhook filters of CodeBuild project `{project.name}` match whole "
                        "values (`^...$`)",
                        behaviour="actors and refs that only contained the pattern no longer "
                        "start builds",
                    )
            if changes:
                patch = ProjectPatch(loc=_must(project.loc), name=project.name, **changes)
                self.plan.patches.append(patch)
                self.patch_rules.update(
                    ("PW702", "PW606", "PW703", "PW602", "PW605", "PW604", "PW109")
                )
        for project_name, secrets in self.project_secret_grants.items():
            self._grant_secrets(project_name, secrets)
        self._lambda_and_pipeline_groups()
        for rule in ("PW606", "PW702", "PW703", "PW602", "PW605"):
            if self.wants(rule) and rule not in self.track.blocked:
                self.track.all(rule, declaration=False)

    def _group_unprotected(self, group: str) -> bool:
        from pipewarden.rules.log_group_no_data_protection import policy_gap

        found = self.inventory.log_group(group)
        if isinstance(found, Gap):
            return True
        if not found.policy_known:
            return False
        return (
            found.data_protection_policy is None
            or policy_gap(found.data_protection_policy) is not None
        )

    def _grant_log_group(self, project: Any, group: Text) -> None:
        role_arn = project.service_role
        role = self.inventory.role(role_arn) if isinstance(role_arn, str) else None
        if role is None or isinstance(role, Gap) or not self.resource_editable(role.loc):
            self.manual(
                ("PW606",),
                f"let the service role of CodeBuild project `{project.name}` write to log group "
                f"`{concrete(group)}` (logs:CreateLogStream, logs:PutLogEvents)",
            )
            return
        lid = self.lid("BuildLogsAccess", project.name)
        self.add(
            NewResource(
                lid,
                "AWS::IAM::Policy",
                {
                    "PolicyName": "pipewarden-build-logs",
                    "Roles": [self.existing_ref(role.loc, role.name)],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": log_statements(self.env(), group),
                    },
                },
                self.tf_name(lid),
                purpose=f"lets `{project.name}` write its new log group",
            )
        )

    def _grant_secrets(self, project_name: str, secrets: Sequence[str]) -> None:
        project = self.inventory.codebuild_project(project_name)
        role_arn = None if isinstance(project, Gap) else project.service_role
        role = self.inventory.role(role_arn) if isinstance(role_arn, str) else None
        arns = [secret_arn(self.env(), s) for s in secrets]
        if role is None or isinstance(role, Gap) or not self.resource_editable(role.loc):
            self.manual(
                ("PW601", "PW602"),
                f"let the service role of CodeBuild project `{project_name}` read "
                + ", ".join(f"`{s}`" for s in secrets)
                + " (secretsmanager:GetSecretValue)",
            )
            return
        lid = self.lid("SecretsAccess", project_name)
        self.add(
            NewResource(
                lid,
                "AWS::IAM::Policy",
                {
                    "PolicyName": "pipewarden-read-secrets",
                    "Roles": [self.existing_ref(role.loc, role.name)],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            statement("ReadSecrets", ["secretsmanager:GetSecretValue"], arns)
                        ],
                    },
                },
                self.tf_name(lid),
                purpose=f"lets `{project_name}` read its secrets",
            )
        )

    def pipeline_log_group(self) -> None:
        name = pipeline_log_group(self.name)
        found = self.inventory.log_group(name)
        if not isinstance(found, Gap):
            if self.resource_editable(found.loc) and self._group_unprotected(name):
                self.plan.patches.append(
                    LogGroupPatch(
                        _must(found.loc), name, copy.deepcopy(dict(DATA_PROTECTION_POLICY))
                    )
                )
            return
        if self._pipeline_group_added:
            return
        self._pipeline_group_added = True
        lid = self.lid("PipelineLogs")
        self.add(
            NewResource(
                lid,
                "AWS::Logs::LogGroup",
                {
                    "LogGroupName": name,
                    "RetentionInDays": 365,
                    "DataProtectionPolicy": copy.deepcopy(dict(DATA_PROTECTION_POLICY)),
                },
                self.tf_name(lid),
                purpose="logs of the pipeline's Commands rules, with credentials masked",
            )
        )
        self.plan.notes.append(
            f"log group `{name}` is created by the fix; if it already exists, import it or run "
            f"`aws logs put-data-protection-policy --log-group-identifier {name} "
            "--policy-document file://policy.json` instead"
        )

    def _lambda_and_pipeline_groups(self) -> None:
        if not self.wants("PW604"):
            return
        self.patch_rules.add("PW604")
        for result in self.results("PW604"):
            group = result.evidence.get("logGroup")
            if not group:
                self.track.block("PW604")
                continue
            if group == pipeline_log_group(self.name):
                self.pipeline_log_group()
                self.track.mark("PW604", result.stage, result.action)
                continue
            found = self.inventory.log_group(group)
            if not isinstance(found, Gap) and self.resource_editable(found.loc):
                if not any(
                    isinstance(p, LogGroupPatch) and p.name == group for p in self.plan.patches
                ):
                    self.plan.patches.append(
                        LogGroupPatch(
                            _must(found.loc), group, copy.deepcopy(dict(DATA_PROTECTION_POLICY))
                        )
                    )
                self.track.mark("PW604", result.stage, result.action)
                continue
            handled = any(
                isinstance(p, ProjectPatch)
                and p.log_group is not None
                and result.stage is not None
                and (result.action, result.stage) == (result.action, result.stage)
                and group == f"/aws/codebuild/{p.name}"
                for p in self.plan.patches
            )
            if handled:
                self.track.mark("PW604", result.stage, result.action)
            else:
                self.track.block("PW604")
                self.manual(
                    ("PW604",),
                    f"attach a data protection policy to log group `{group}`: `aws logs "
                    f"put-data-protection-policy --log-group-identifier {group} "
                    "--policy-document file://policy.json` (policy in docs/fix.md)",
                )

    # -- ECR ----------------------------------------------------------------------

    def repositories(self) -> None:
        rules = [r for r in ("PW801", "PW802", "PW108") if self.wants(r)]
        if not rules:
            return
        from pipewarden.rules._build import ecr_repositories

        seen: set[str] = set()
        for use in ecr_repositories(self.ctx):
            if not isinstance(use.name, str) or use.name in seen:
                continue
            seen.add(use.name)
            repo = self.inventory.ecr_repository(use.name)
            if isinstance(repo, Gap) or not self.resource_editable(repo.loc):
                for rule in rules:
                    self.track.block(rule)
                continue
            immutable = (self.wants("PW801") or self.wants("PW108")) and (
                repo.tag_mutability or ""
            ).upper() != "IMMUTABLE"
            scan = self.wants("PW802") and repo.scan_on_push is not True
            if not (immutable or scan):
                continue
            self.plan.patches.append(RepositoryPatch(_must(repo.loc), repo.name, immutable, scan))
            self.patch_rules.update(("PW801", "PW802", "PW108"))
            if immutable:
                self.fix(
                    ("PW801", "PW108"),
                    f"ECR repository `{repo.name}` keeps its tags immutable",
                    behaviour="pushing an image under an existing tag is refused: push each "
                    "build under a new tag (the commit id)",
                )
            if scan:
                self.fix(("PW802",), f"ECR repository `{repo.name}` scans images on push")
        for rule in rules:
            if rule not in self.track.blocked:
                self.track.all(rule)

    # -- PW107 --------------------------------------------------------------------

    def source_buckets(self) -> None:
        if not self.wants("PW107"):
            return
        for result in self.results("PW107"):
            name = result.evidence.get("bucket")
            bucket = self.inventory.bucket(name) if name else None
            if bucket is None or isinstance(bucket, Gap) or not self.resource_editable(bucket.loc):
                self.track.block("PW107")
                self.manual(
                    ("PW107",),
                    f"enable versioning and object lock on source bucket `{name}` "
                    "(`aws s3api put-bucket-versioning`, `put-object-lock-configuration`)",
                )
                continue
            self.plan.patches.append(
                BucketPatch(
                    loc=_must(bucket.loc),
                    name=bucket.name,
                    versioning=True,
                    lock_mode="GOVERNANCE",
                    lock_days=self.options.object_lock_days,
                )
            )
            self.track.mark("PW107", result.stage, result.action)
            self.patch_rules.add("PW107")
            self.fix(
                ("PW107",),
                f"source bucket `{bucket.name}` is versioned and locked (GOVERNANCE, "
                f"{self.options.object_lock_days} days)",
                behaviour="uploaded source versions cannot be deleted during the retention",
            )

    # -- PW109 (pipeline webhooks) ------------------------------------------------

    def webhooks(self) -> None:
        if not self.wants("PW109"):
            return
        for hook in self.inventory.webhooks:
            if isinstance(hook.target_pipeline, Unresolved) or hook.target_pipeline != self.name:
                continue
            if hook.loc is None or not self.resource_editable(hook.loc):
                if hook.authentication == "UNAUTHENTICATED":
                    self.track.block("PW109")
                continue
            target = hook.target_action if isinstance(hook.target_action, str) else ""
            if target in self.replaced_sources:
                self.plan.patches.append(WebhookPatch(hook.loc, hook.name, delete=True))
                self.fix(
                    ("PW109",),
                    f"webhook `{hook.name}` is deleted: the CodeConnections source needs none",
                )
            elif hook.authentication == "UNAUTHENTICATED":
                secret = secret_name(self.name, "webhook", hook.name)
                self.plan.secrets.append(
                    SecretToCreate(secret, "a new random value", f"webhook `{hook.name}`")
                )
                self.plan.patches.append(WebhookPatch(hook.loc, hook.name, secret_name=secret))
                self.fix(
                    ("PW109",),
                    f"webhook `{hook.name}` is authenticated with an HMAC secret (`{secret}`)",
                    behaviour="the repository host must sign its events with the same secret",
                )
        self.patch_rules.add("PW109")
        for result in self.results("PW109"):
            if result.action is None or result.stage is None:
                continue
            self.track.mark("PW109", result.stage, result.action)
        if "PW109" not in self.track.blocked:
            self.track.all("PW109")

    # -- PW308 --------------------------------------------------------------------

    def approvers(self) -> None:
        approvals = any(
            self.type_of(a) == ("Approval", "AWS", "Manual") for _, a in self.all_actions()
        )
        if not approvals:
            return
        if not self.wants("PW308") and not self.approvals_added:
            return
        from pipewarden.rules._iam import covers_action, identities
        from pipewarden.rules.approvers_without_mfa import requires_mfa

        risky: list[tuple[str, str, Text]] = []  # (kind, principal, reference)
        unfixable: list[str] = []
        for identity in identities(self.ctx):
            may = False
            for doc in identity.policies:
                for stmt in doc.statements():
                    if (
                        stmt.allows
                        and covers_action(stmt, _APPROVE) is not False
                        and not requires_mfa(stmt)
                    ):
                        may = True
            if not may:
                continue
            ref = self._identity_ref(identity)
            if ref is None:
                unfixable.append(identity.principal)
            else:
                risky.append((identity.kind, identity.principal, ref))
        if unfixable:
            if self.approvals_added and "PW308" not in self.failing:
                # Adding an approval would make PW308 fail on identities the fix cannot edit.
                self.plan.notes.append(
                    "identities outside the input may approve without MFA: "
                    + ", ".join(f"`{p}`" for p in unfixable[:3])
                )
            self.track.block("PW308")
            self.manual(
                ("PW308",),
                "deny codepipeline:PutApprovalResult without MFA to "
                + ", ".join(f"`{p}`" for p in unfixable[:5]),
            )
        if not self.inventory.identity_policies_complete:
            # Only a complete snapshot of the account's IAM can show that nobody else may
            # approve: the rule stays unknown on any other input.
            self.track.block("PW308")
        if not risky:
            if self.wants("PW308") and not unfixable:
                self.track.all("PW308")
            return
        lid = self.lid("DenyApprovalWithoutMfa")
        properties: dict[str, Any] = {
            "PolicyName": "pipewarden-approve-with-mfa",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyApprovalWithoutMfa",
                        "Effect": "Deny",
                        "Action": _APPROVE,
                        "Resource": "*",
                        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                    }
                ],
            },
        }
        for kind, key in (("role", "Roles"), ("user", "Users"), ("group", "Groups")):
            refs = [ref for k, _, ref in risky if k == kind]
            if refs:
                properties[key] = refs
        self.patch_rules.add("PW308")
        self.add(
            NewResource(
                lid,
                "AWS::IAM::Policy",
                properties,
                self.tf_name(lid),
                purpose="denies manual approvals without MFA",
            )
        )
        if not unfixable:
            self.track.all("PW308")
        self.fix(
            ("PW308",),
            f"{len(risky)} identit{'y' if len(risky) == 1 else 'ies'} that may approve releases "
            "must use MFA to do so",
            behaviour="approvals made without MFA (long-term access keys, roles) are denied",
        )

    def _identity_ref(self, identity: Any) -> Text | None:
        if identity.kind == "role":
            role = self.inventory.roles.get(identity.principal)
            if role is not None and self.resource_editable(role.loc):
                return self.existing_ref(role.loc, role.name)
            return None
        for doc in identity.policies:
            loc = doc.loc
            if (
                loc is None
                or not self.resource_editable(loc)
                or loc.style is not KeyStyle.CLOUDFORMATION
            ):
                continue
            tokens = split_pointer(loc.pointer)
            if len(tokens) >= 4 and tokens[2] == "Properties" and tokens[3] == "Policies":
                return Ref(tokens[1], "Ref", identity.principal.rsplit("/", 1)[-1])
        return None

    # -- claims ---------------------------------------------------------------------

    def finish(self) -> None:
        claims = set()
        declaration = set()
        for rule in self.failing:
            if rule not in self.selected:
                continue
            if self.track.claimed(rule, declaration=False):
                claims.add(rule)
            if rule in _DECLARATION_RULES and self.track.claimed(rule, declaration=True):
                declaration.add(rule)
        if "PW205" in claims:
            declaration.add("PW205")
        standalone = claims - self.patch_rules
        if self.input_roles_used:
            standalone -= {"PW302", "PW303", "PW307"}
        self.plan.claims = frozenset(claims)
        self.plan.claims_standalone = frozenset(standalone)
        self.plan.claims_declaration = frozenset(declaration)
        self.plan.depends = list(self.policy_ids)


# Rules whose fix lives in the declaration alone (update-pipeline JSON shows it).
_DECLARATION_RULES: Final = frozenset(
    {
        "PW101",
        "PW102",
        "PW104",
        "PW105",
        "PW206",
        "PW301",
        "PW304",
        "PW306",
        "PW401",
        "PW402",
        "PW403",
        "PW404",
        "PW405",
        "PW406",
        "PW502",
        "PW504",
        "PW601",
    }
)


def _must(loc: Loc | None) -> Loc:
    """The location of a resource the input defines (editable resources always have one)."""
    if loc is None:  # pragma: no cover - resource_editable() checked it
        raise RemediationError("a resource of the input has no location")
    return loc


def _statements_of(policy: Any) -> list[Mapping[str, Any]]:
    """The statements of a policy document as the input resolves them (none unresolved)."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return []
    raw = policy.get("Statement") if isinstance(policy, Mapping) else None
    items = raw if isinstance(raw, list) else [raw] if raw else []
    return [s for s in items if isinstance(s, Mapping) and not has_unresolved(s)]


def _secret_like(name: str, value: str) -> bool:
    """A plaintext value the fix moves: a detected secret, or a literal under a secret name."""
    from pipewarden.rules._secrets import find_secret, is_reference, looks_secret_name

    if not value.strip() or is_reference(value):
        return False
    return find_secret(name, value) is not None or looks_secret_name(name)


ORIGIN: Final = "__origin__"


def _mark_origins(api: dict[str, Any]) -> None:
    """Remember where each stage and action came from, so emitters that patch the input
    can keep its own text for what did not change, even when an action moves."""
    stages = api.get("stages")
    for s_index, stage in enumerate(stages if isinstance(stages, list) else []):
        if not isinstance(stage, dict):
            continue
        stage[ORIGIN] = [s_index]
        actions = stage.get("actions")
        for a_index, action in enumerate(actions if isinstance(actions, list) else []):
            if isinstance(action, dict):
                action[ORIGIN] = [s_index, a_index]


def _rename_params(doc: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(doc, dict):
        out = {}
        for key, value in doc.items():
            if key in ("Fn::GetParam", "Fn::GetArtifactAtt") and isinstance(value, list) and value:
                head = value[0]
                value = [renames.get(head, head) if isinstance(head, str) else head, *value[1:]]
            out[key] = _rename_params(value, renames)
        return out
    if isinstance(doc, list):
        return [_rename_params(v, renames) for v in doc]
    return doc
