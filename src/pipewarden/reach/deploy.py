"""Deployment context: does a pipeline deploy the analysed artifact to production?

A reachable vulnerability in code that never reaches production matters less
than the same finding in a Lambda that a production stage deploys. Two
sources answer the question:

* **the inventory** (any input ``pipewarden scan`` reads): starting from the
  pipeline artifact that holds the build output (``--artifact-name``), every
  action consuming it is followed through the artifact graph (a packaging
  build that turns it into another artifact is followed too) to the deploy
  actions it reaches. Without an artifact name, every deploy action of the
  pipeline counts. A deploy action is production by the scanner's own
  definition: stage-name pattern, production accounts, pipeline tags
  (``pipewarden.toml``);
* **the pipeline's history**, live (``ListActionExecutions``): the deploy
  action executions whose input artifact is the artifact's S3 object, or an
  artifact some action of the same execution produced under that name.
  CodePipeline records, per action execution, the S3 location of each input
  and output artifact, so this links the object to the deploys that used it.

The answer is tri-state: ``production`` is True (a production deploy takes
it), False (the pipelines given deploy it only outside production, or not at
all) or None (no deployment data: the priority then ignores deployment).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from pipewarden.config import Config
from pipewarden.errors import InputError
from pipewarden.model.pipeline import Action, Pipeline
from pipewarden.model.values import JsonValue
from pipewarden.reach.model import Finding, ReachReport, Tier

__all__ = [
    "BLOCKING_SEVERITIES",
    "DeployTarget",
    "DeploymentContext",
    "apply_deployment",
    "blocking",
    "from_executions",
    "from_inventory",
    "parse_s3_location",
    "priority",
]

_LEVELS: Final = ("low", "medium", "high", "critical")
BLOCKING_SEVERITIES: Final = frozenset({"high", "critical", "unknown"})
_S3_URL: Final = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.+)$")
_S3_ARN: Final = re.compile(
    r"^arn:aws[a-z\-]*:s3:::(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.+)$"
)


@dataclass(frozen=True, slots=True)
class DeployTarget:
    """One deploy action that takes (or took) the artifact."""

    pipeline: str
    stage: str
    action: str
    provider: str
    production: bool
    source: str  # "inventory" | "execution"
    execution_id: str | None = None
    status: str | None = None
    when: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "pipeline": self.pipeline,
            "stage": self.stage,
            "action": self.action,
            "provider": self.provider,
            "production": self.production,
            "source": self.source,
        }
        if self.execution_id is not None:
            out["execution_id"] = self.execution_id
        if self.status is not None:
            out["status"] = self.status
        if self.when is not None:
            out["when"] = self.when
        return out


@dataclass(frozen=True, slots=True)
class DeploymentContext:
    """Where the artifact is deployed, and how that was established."""

    production: bool | None
    targets: tuple[DeployTarget, ...] = ()
    basis: str = ""

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "production": self.production,
            "basis": self.basis,
            "targets": [t.to_json() for t in self.targets],
        }


def parse_s3_location(text: str) -> tuple[str, str]:
    """``s3://bucket/key`` or an S3 object ARN as (bucket, key)."""
    match = _S3_URL.match(text) or _S3_ARN.match(text)
    if match is None:
        raise InputError("--artifact-location", f"`{text[:200]}` is not s3://BUCKET/KEY")
    return match["bucket"], match["key"]


# -- from the inventory ---------------------------------------------------------------------


def from_inventory(
    pipelines: Sequence[Pipeline],
    names: Sequence[str],
    config: Config,
    *,
    artifact_names: Sequence[str] = (),
    inventories: Mapping[int, Any] | None = None,
) -> DeploymentContext:
    """The deploy actions of the named pipelines that take the artifact.

    ``inventories`` maps ``id(pipeline)`` to its inventory (for the account and
    production facts the scanner's rule context computes).
    """
    from pipewarden.model.inventory import Inventory
    from pipewarden.rules._api import RuleContext

    by_name: dict[str, list[Pipeline]] = {}
    for pipeline in pipelines:
        by_name.setdefault(pipeline.display_name, []).append(pipeline)
    wanted = list(dict.fromkeys(names)) or sorted(by_name)
    if not wanted:
        raise InputError("--inventory", "holds no pipeline")
    missing = [n for n in wanted if n not in by_name]
    if missing:
        known = ", ".join(sorted(by_name)[:10]) or "none"
        raise InputError(
            "--pipeline", f"`{missing[0][:200]}` is not in the inventory (pipelines: {known})"
        )
    targets: list[DeployTarget] = []
    for name in wanted:
        for pipeline in by_name[name]:
            inventory = (inventories or {}).get(id(pipeline)) or Inventory(source_kind="inventory")
            context = RuleContext(pipeline, inventory, config)
            targets.extend(
                DeployTarget(
                    pipeline=name,
                    stage=action.stage_name,
                    action=action.name,
                    provider=action.provider,
                    production=context.is_production_deploy(action),
                    source="inventory",
                )
                for action in _deploys_taking(pipeline, artifact_names)
            )
    what = (
        f"artifact {', '.join(f'`{a}`' for a in artifact_names)}"
        if artifact_names
        else "every deploy action (no --artifact-name)"
    )
    basis = f"inventory: pipeline(s) {', '.join(wanted)}; {what}"
    return DeploymentContext(
        production=any(t.production for t in targets), targets=tuple(targets), basis=basis
    )


def _deploys_taking(pipeline: Pipeline, artifact_names: Sequence[str]) -> list[Action]:
    from pipewarden.rules._api import DEPLOY_CATEGORIES

    actions = pipeline.actions()
    if not artifact_names:
        return [a for a in actions if a.category in DEPLOY_CATEGORIES]
    carried = set(artifact_names)
    found: list[Action] = []
    seen: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, action in enumerate(actions):
            if index in seen or not carried.intersection(action.input_artifacts):
                continue
            seen.add(index)
            changed = True
            if action.category in DEPLOY_CATEGORIES:
                found.append(action)
            # What an action makes from the artifact carries it on (a packaging build,
            # a CloudFormation template bundled with it).
            carried.update(action.output_artifacts)
    return sorted(found, key=lambda a: (a.stage_index, a.run_order, a.index))


# -- from the pipeline's history --------------------------------------------------------------


def from_executions(
    pipeline_name: str,
    executions: Iterable[Mapping[str, Any]],
    *,
    declaration: Pipeline | None,
    config: Config,
    location: tuple[str, str] | None = None,
    artifact_names: Sequence[str] = (),
    execution_id: str | None = None,
    inventory: Any = None,
) -> DeploymentContext:
    """Deploy action executions that took the artifact (``ListActionExecutions`` items).

    The artifact is its S3 object (``location``) and/or the artifact names it
    has in the pipeline (then every S3 object an action produced under that
    name, in ``execution_id`` when given, is the artifact). With neither, the
    deploy actions of ``execution_id`` count.
    """
    from pipewarden.model.inventory import Inventory
    from pipewarden.rules._api import DEPLOY_CATEGORIES, RuleContext

    items = list(executions)
    if execution_id is not None:
        items = [e for e in items if e.get("pipelineExecutionId") == execution_id]
    locations: set[tuple[str, str]] = {location} if location is not None else set()
    if artifact_names:
        for item in items:
            for artifact in _artifacts(item, "output", "outputArtifacts"):
                if artifact[0] in artifact_names and artifact[1] is not None:
                    locations.add(artifact[1])
    if not locations and execution_id is None:
        raise InputError(
            "--aws",
            "say which artifact: --artifact-location, --artifact-name or --execution-id",
        )
    context = (
        RuleContext(declaration, inventory or Inventory(source_kind="live"), config)
        if declaration is not None
        else None
    )
    actions = {(a.stage_name, a.name): a for a in declaration.actions()} if declaration else {}
    targets: list[DeployTarget] = []
    for item in items:
        input_section = item.get("input")
        type_id = input_section.get("actionTypeId") if isinstance(input_section, Mapping) else None
        category = type_id.get("category") if isinstance(type_id, Mapping) else None
        if category not in DEPLOY_CATEGORIES:
            continue
        if locations:
            used = {a[1] for a in _artifacts(item, "input", "inputArtifacts")}
            if not used & locations:
                continue
        stage = str(item.get("stageName", ""))
        name = str(item.get("actionName", ""))
        action = actions.get((stage, name))
        if context is not None and action is not None:
            production = context.is_production_deploy(action)
        else:
            production = bool(config.stage_regex.search(stage))
        when = item.get("lastUpdateTime") or item.get("startTime")
        targets.append(
            DeployTarget(
                pipeline=pipeline_name,
                stage=stage,
                action=name,
                provider=str(type_id.get("provider", "")) if isinstance(type_id, Mapping) else "",
                production=production,
                source="execution",
                execution_id=str(item.get("pipelineExecutionId", "")) or None,
                status=str(item.get("status", "")) or None,
                when=str(when) if when is not None else None,
            )
        )
    what = []
    if location is not None:
        what.append(f"s3://{location[0]}/{location[1]}")
    if artifact_names:
        what.append("artifact " + ", ".join(f"`{a}`" for a in artifact_names))
    if execution_id is not None:
        what.append(f"execution {execution_id}")
    basis = f"ListActionExecutions of {pipeline_name}: {'; '.join(what)}"
    if declaration is None:
        basis += " (declaration not read: production judged by stage name only)"
    # A deploy that failed or was stopped did not put the artifact anywhere.
    live = [t for t in targets if t.status in (None, "Succeeded", "InProgress")]
    return DeploymentContext(
        production=any(t.production for t in live), targets=tuple(targets), basis=basis
    )


def _artifacts(
    item: Mapping[str, Any], section: str, key: str
) -> list[tuple[str, tuple[str, str] | None]]:
    part = item.get(section)
    if not isinstance(part, Mapping):
        return []
    out: list[tuple[str, tuple[str, str] | None]] = []
    for artifact in part.get(key) or ():
        if not isinstance(artifact, Mapping):
            continue
        where = artifact.get("s3location")
        loc = None
        if isinstance(where, Mapping) and where.get("bucket") and where.get("key"):
            loc = (str(where["bucket"]), str(where["key"]))
        out.append((str(artifact.get("name", "")), loc))
    return out


# -- priority -------------------------------------------------------------------------------------


def priority(finding: Finding, production: bool | None) -> str:
    """The finding's priority with deployment: one level lower when the artifact is known
    not to reach production; unchanged when it does or when that is not known."""
    if finding.not_affected or finding.priority == "none":
        return "none"
    level = _LEVELS.index(finding.priority) if finding.priority in _LEVELS else 2
    if production is False:
        level = max(0, level - 1)
    return _LEVELS[level]


def apply_deployment(report: ReachReport, context: DeploymentContext) -> ReachReport:
    """The report with each affected finding's deployment and priority set."""
    findings = tuple(
        replace(
            f,
            deployed_to_production=None if f.tier.not_affected else context.production,
            priority=priority(f, context.production),
        )
        for f in report.findings
    )
    return replace(report, findings=findings, deployment=context.to_json())


def blocking(finding: Finding) -> bool:
    """What the default gate policy blocks on: reachable, of high or critical severity (a
    record stating no severity cannot be ruled out), in an artifact not known to stay out of
    production (deployed to production, or no deployment data)."""
    return (
        finding.tier is Tier.REACHABLE
        and finding.severity.label in BLOCKING_SEVERITIES
        and finding.deployed_to_production is not False
    )
