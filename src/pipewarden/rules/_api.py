"""The rule API: metadata, the per-pipeline context and the shared graph helpers.

A rule module defines ``META`` (a :class:`RuleMeta`), a pure ``check(ctx)``
generator yielding :class:`~pipewarden.model.Finding` objects built with
:func:`fail` or :func:`unknown`, and ``RULE = Rule(META, check)``. The engine
turns "no finding" into a ``pass`` result, so a rule only reports what is wrong
or what it could not see.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Any, Final, TypedDict

from pipewarden.config import Config
from pipewarden.model import (
    Action,
    CodeBuildProject,
    ConditionRule,
    Finding,
    Gap,
    Inventory,
    Loc,
    Pipeline,
    Role,
    Severity,
    Stage,
    Status,
    Unresolved,
    Value,
)
from pipewarden.model.values import split_arn

__all__ = [
    "ActionRef",
    "CicdSec",
    "Rule",
    "RuleContext",
    "RuleMeta",
    "arn_account",
    "fail",
    "unknown",
]


class CicdSec(IntEnum):
    """OWASP Top 10 CI/CD Security Risks."""

    SEC_1 = 1
    SEC_2 = 2
    SEC_3 = 3
    SEC_4 = 4
    SEC_5 = 5
    SEC_6 = 6
    SEC_7 = 7
    SEC_8 = 8
    SEC_9 = 9
    SEC_10 = 10

    @property
    def code(self) -> str:
        return f"CICD-SEC-{self.value}"

    @property
    def title(self) -> str:
        return _CICD_TITLES[self.value]

    @property
    def url(self) -> str:
        # OWASP's page names capitalise every word except "of".
        slug = "-".join(w if w == "of" else w[:1].upper() + w[1:] for w in self.title.split())
        return f"https://owasp.org/www-project-top-10-ci-cd-security-risks/CICD-SEC-{self.value:02d}-{slug}"


_CICD_TITLES: Final = {
    1: "Insufficient Flow Control Mechanisms",
    2: "Inadequate Identity and Access Management",
    3: "Dependency Chain Abuse",
    4: "Poisoned Pipeline Execution",
    5: "Insufficient PBAC",
    6: "Insufficient Credential Hygiene",
    7: "Insecure System Configuration",
    8: "Ungoverned Usage of 3rd Party Services",
    9: "Improper Artifact Integrity Validation",
    10: "Insufficient Logging and Visibility",
}


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """A rule's stable identity and documentation metadata."""

    id: str  # PW101
    slug: str  # source-oauth-token
    title: str
    severity: Severity
    cicd_sec: tuple[CicdSec, ...]
    references: tuple[str, ...] = ()
    fsbp: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset()  # resource kinds beyond the declaration
    since: str = "0.1.0"
    aliases: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return f"PW{self.id[2]}xx"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule: metadata plus a pure check over one pipeline's context."""

    meta: RuleMeta
    check: Callable[[RuleContext], Iterator[Finding]]
    doc: str = ""

    @property
    def id(self) -> str:
        return self.meta.id


def fail(
    loc: Loc,
    message: str,
    *,
    stage: str | None = None,
    action: str | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Finding:
    """A failing finding at ``loc``. Never put a secret value in ``message``/``evidence``."""
    return Finding(Status.FAIL, loc, message, stage, action, dict(evidence or {}))


def unknown(
    loc: Loc,
    reason: str,
    *,
    stage: str | None = None,
    action: str | None = None,
    evidence: Mapping[str, str] | None = None,
) -> Finding:
    """Missing evidence at ``loc``: the rule cannot decide, and says why."""
    return Finding(Status.UNKNOWN, loc, reason, stage, action, dict(evidence or {}))


class ActionRef(TypedDict, total=False):
    """The ``stage``/``action`` keyword arguments of :func:`fail` and :func:`unknown`."""

    stage: str | None
    action: str | None


def at_action(action: Action) -> ActionRef:
    """Keyword arguments naming an action's stage and action for fail/unknown."""
    return ActionRef(stage=action.stage_name, action=action.name)


def arn_account(arn: Value | None) -> str | Unresolved | None:
    """The account id field of an ARN (None when absent or not an ARN)."""
    if arn is None:
        return None
    if isinstance(arn, Unresolved):
        return arn
    parts = split_arn(arn)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[4] or None


# Commands that verify a commit signature or an artifact attestation.
VERIFIER_PATTERNS: Final = (
    r"\bpipewarden\s+verify-commit\b",
    r"\bpipewarden\s+verify-handoff\b",
    r"\bgit\s+(?:-c\s+\S+\s+)*verify-commit\b",
    r"\bgit\s+(?:-c\s+\S+\s+)*verify-tag\b",
    r"\bgitsign\s+verify\b",
    r"\bcosign\s+verify-blob\b",
    r"\bcosign\s+verify-attestation\b",
    r"\bin-toto-verify\b",
    r"\bslsa-verifier\b",
)
_VERIFIER_RE: Final = re.compile("|".join(VERIFIER_PATTERNS))

DEPLOY_CATEGORIES: Final = frozenset({"Deploy"})
BUILD_TEST_DEPLOY: Final = frozenset({"Build", "Test", "Deploy", "Compute", "Invoke"})


def is_inline_buildspec(buildspec: str) -> bool:
    """A buildspec string is inline YAML (not a path) when multi-line or starting ``version:``."""
    stripped = buildspec.lstrip()
    return "\n" in buildspec or stripped.startswith("version:") or stripped.startswith("{")


class RuleContext:
    """Everything a rule may read about one pipeline: the pipeline, the
    inventory it came from, the configuration, and cached graph facts."""

    def __init__(self, pipeline: Pipeline, inventory: Inventory, config: Config) -> None:
        self.pipeline = pipeline
        self.inventory = inventory
        self.config = config
        # Answers several rules share, computed once per pipeline (see rules._build).
        self.memo: dict[str, Any] = {}
        # Production classification, asked of every action by several rules: keyed by
        # id(), and each entry holds its action (stage), so no id is reused while stored.
        self._production_verdicts: dict[int, tuple[Action, bool]] = {}
        self._production_stages: dict[int, tuple[Stage, tuple[Action, ...]]] = {}

    # -- iteration ---------------------------------------------------------

    @cached_property
    def _all_actions(self) -> tuple[Action, ...]:
        return self.pipeline.actions()

    def actions(
        self, *, category: str | None = None, provider: str | None = None
    ) -> tuple[Action, ...]:
        """Every action of every stage, optionally filtered, in declaration order."""
        found = self._all_actions
        if category is not None:
            found = tuple(a for a in found if a.category == category)
        if provider is not None:
            found = tuple(a for a in found if a.provider == provider)
        return found

    def stage_of(self, action: Action) -> Stage:
        """The stage holding ``action``."""
        return self.pipeline.stages[action.stage_index]

    # -- artifact graph ----------------------------------------------------

    @cached_property
    def _producers(self) -> dict[str, Action]:
        return {name: a for a in self._all_actions for name in a.output_artifacts}

    @cached_property
    def _consumers(self) -> dict[str, tuple[Action, ...]]:
        found: dict[str, list[Action]] = {}
        for action in self._all_actions:
            for name in action.input_artifacts:
                found.setdefault(name, []).append(action)
        return {k: tuple(v) for k, v in found.items()}

    def producer(self, artifact: str) -> Action | None:
        """The action that outputs ``artifact``."""
        return self._producers.get(artifact)

    def consumers(self, artifact: str) -> tuple[Action, ...]:
        """Actions that take ``artifact`` as input, in declaration order."""
        return self._consumers.get(artifact, ())

    # -- resources ---------------------------------------------------------

    def role(self, arn: Value) -> Role | Gap:
        """The role behind an ARN, or why it is not known."""
        if isinstance(arn, Unresolved):
            return Gap(f"role ARN is unresolved: {arn.reason}", arn.expr)
        return self.inventory.role(arn)

    def codebuild_project(self, action: Action) -> CodeBuildProject | Gap | None:
        """The CodeBuild project of a CodeBuild action (None for other providers)."""
        if action.provider != "CodeBuild":
            return None
        name = action.config("ProjectName")
        if name is None:
            return Gap("action has no ProjectName")
        if isinstance(name, Unresolved):
            return Gap(f"ProjectName is unresolved: {name.reason}", name.expr)
        return self.inventory.codebuild_project(name)

    # -- accounts and production ------------------------------------------

    @cached_property
    def pipeline_account(self) -> str | Unresolved | None:
        """The account the pipeline runs in."""
        if self.pipeline.account:
            return self.pipeline.account
        if self.pipeline.arn:
            acct = arn_account(self.pipeline.arn)
            if acct is not None:
                return acct
        return arn_account(self.pipeline.role_arn)

    def action_account(self, action: Action) -> str | Unresolved | None:
        """The account an action runs in: its role's account, else the pipeline's."""
        if action.role_arn is not None:
            acct = arn_account(action.role_arn)
            if acct is not None:
                return acct
        return self.pipeline_account

    def is_cross_account(self, action: Action) -> bool | Unresolved:
        """Whether the action runs in another account than the pipeline."""
        if action.role_arn is None:
            return False
        mine = self.pipeline_account
        theirs = self.action_account(action)
        if isinstance(theirs, Unresolved):
            return theirs
        if isinstance(mine, Unresolved):
            return mine
        if mine is None or theirs is None:
            return Unresolved("account", "the pipeline's account is not known")
        return mine != theirs

    def _target_accounts(self, action: Action) -> set[str]:
        accounts: set[str] = set()
        acct = self.action_account(action)
        if isinstance(acct, str):
            accounts.add(acct)
        for key in ("RoleArn", "AdministrationRoleArn"):
            extra = arn_account(action.config(key))
            if isinstance(extra, str):
                accounts.add(extra)
        targets = action.config("DeploymentTargets")
        if isinstance(targets, str):
            accounts.update(re.findall(r"\b\d{12}\b", targets))
        return accounts

    @cached_property
    def _pipeline_tagged_production(self) -> bool:
        wanted = self.config.production_tags
        return bool(wanted) and any(self.pipeline.tags.get(k) == v for k, v in wanted.items())

    def is_production_stage_name(self, stage: Stage) -> bool:
        """Whether the stage's name matches the production pattern."""
        return bool(self.config.stage_regex.search(stage.name))

    def is_deploy(self, action: Action) -> bool:
        """Deploy-category actions."""
        return action.category in DEPLOY_CATEGORIES

    def is_production_deploy(self, action: Action) -> bool:
        """A deploy action whose stage, target account or pipeline tags say production."""
        known = self._production_verdicts.get(id(action))
        if known is None:
            known = self._production_verdicts[id(action)] = (action, self._is_production(action))
        return known[1]

    def _is_production(self, action: Action) -> bool:
        if not self.is_deploy(action):
            return False
        if self.is_production_stage_name(self.stage_of(action)):
            return True
        if self._target_accounts(action) & self.config.production_accounts:
            return True
        return self._pipeline_tagged_production

    def production_deploys(self, stage: Stage) -> tuple[Action, ...]:
        """The production deploy actions of a stage."""
        known = self._production_stages.get(id(stage))
        if known is None:
            deploys = tuple(a for a in stage.actions if self.is_production_deploy(a))
            known = self._production_stages[id(stage)] = (stage, deploys)
        return known[1]

    # -- verification -------------------------------------------------------

    def _text_verifies(self, text: str) -> bool:
        if _VERIFIER_RE.search(text):
            return True
        return any(cmd and cmd in text for cmd in self.config.verifier_commands)

    def verifies(self, action: Action) -> bool | Gap:
        """Whether the action runs a known verifier (commit signature or attestation).

        A CodeBuild action verifies when its inline buildspec (project or
        ``BuildspecOverride``) runs a verifier. A buildspec read from the source
        being verified is not a verifier (the author of the source controls it).
        """
        if action.name in self.config.verifier_actions:
            return True
        if action.commands:
            return self._text_verifies("\n".join(action.commands))
        if action.provider != "CodeBuild":
            return False
        override = action.config("BuildspecOverride")
        if isinstance(override, Unresolved):
            return Gap(f"BuildspecOverride is unresolved: {override.reason}", override.expr)
        if override is not None and is_inline_buildspec(override):
            return self._text_verifies(override)
        if override is not None and override.startswith("arn:aws:s3:::"):
            return Gap(f"buildspec `{override}` is stored in S3 and was not read", override)
        project = self.codebuild_project(action)
        if project is None:
            return False
        if isinstance(project, Gap):
            return project
        return self._project_verifies(project)

    def _project_verifies(self, project: CodeBuildProject) -> bool | Gap:
        if project.name in self.config.verifier_actions:
            return True
        if isinstance(project.buildspec, Unresolved):
            return Gap(
                f"buildspec is unresolved: {project.buildspec.reason}", project.buildspec.expr
            )
        if project.buildspec is not None and is_inline_buildspec(project.buildspec):
            return self._text_verifies(project.buildspec)
        if project.buildspec is not None and project.buildspec.startswith("arn:aws:s3:::"):
            return Gap(f"buildspec `{project.buildspec}` is stored in S3 and was not read")
        return False

    def rule_verifies(self, rule: ConditionRule) -> bool | Gap:
        """Whether a stage-condition rule runs a known verifier (a ``Commands`` rule's
        commands, or a ``CodeBuild`` rule's inline project buildspec)."""
        if rule.name in self.config.verifier_actions:
            return True
        if rule.commands:
            return self._text_verifies("\n".join(rule.commands))
        if rule.provider != "CodeBuild":
            return False
        name = rule.configuration.get("ProjectName")
        if name is None:
            return Gap("rule has no ProjectName")
        if isinstance(name, Unresolved):
            return Gap(f"ProjectName is unresolved: {name.reason}", name.expr)
        project = self.inventory.codebuild_project(name)
        if isinstance(project, Gap):
            return project
        return self._project_verifies(project)

    def _gating_rules(self, consumer: Action) -> Iterator[ConditionRule]:
        """Condition rules whose failure stops the pipeline before ``consumer`` runs:
        ``beforeEntry`` rules of its stage (``FAIL`` or ``SKIP``) and of earlier stages
        (``FAIL``), and ``onSuccess`` rules of earlier stages (``FAIL`` or ``ROLLBACK``)."""
        for stage in self.pipeline.stages[: consumer.stage_index + 1]:
            earlier = stage.index < consumer.stage_index
            blocking = ("FAIL", "SKIP") if not earlier else ("FAIL",)
            groups = [(stage.before_entry, blocking)]
            if earlier:
                groups.append((stage.on_success, ("FAIL", "ROLLBACK")))
            for conditions, results in groups:
                for condition in conditions.conditions if conditions else ():
                    if isinstance(condition.result, str) and condition.result.upper() in results:
                        yield from condition.rules

    def verified_before(self, artifact: str, consumer: Action) -> bool | Gap:
        """Whether a verifying action consumes ``artifact`` and finishes before ``consumer``,
        or a verifying stage-condition rule reading ``artifact`` gates it.

        Returns a Gap when no verifier is certain but some candidate could not be
        inspected.
        """
        gap: Gap | None = None
        for candidate in self.consumers(artifact):
            if candidate is consumer or not candidate.precedes(consumer):
                continue
            verdict = self.verifies(candidate)
            if verdict is True:
                return True
            if isinstance(verdict, Gap):
                gap = gap or Gap(
                    f"whether `{candidate.name}` verifies is not known: {verdict.reason}"
                )
        for rule in self._gating_rules(consumer):
            if artifact not in rule.input_artifacts:
                continue
            verdict = self.rule_verifies(rule)
            if verdict is True:
                return True
            if isinstance(verdict, Gap):
                gap = gap or Gap(
                    f"whether rule `{rule.name}` verifies is not known: {verdict.reason}"
                )
        return gap if gap is not None else False
