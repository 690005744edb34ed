"""The engine: run rules over inventories and produce tri-state results. Pure."""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from pipewarden.config import Config, Ignore
from pipewarden.model import (
    Finding,
    Inventory,
    Location,
    Pipeline,
    PositionIndex,
    Result,
    Severity,
    Status,
    Unresolved,
    fingerprint,
)
from pipewarden.rules._api import Rule, RuleContext

__all__ = ["RuleCrash", "ScanResult", "collector_paused", "fingerprint", "scan"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RuleCrash:
    """A rule raised on a pipeline; its result for that pipeline is unknown."""

    rule_id: str
    pipeline: str
    message: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything a report needs."""

    results: tuple[Result, ...]
    rules: tuple[Rule, ...]
    pipelines: tuple[Pipeline, ...]
    crashes: tuple[RuleCrash, ...] = ()
    notes: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    inputs: tuple[str, ...] = field(default_factory=tuple)

    def failures(self, threshold: Severity | None) -> list[Result]:
        """Unsuppressed failures at or above ``threshold`` (None: no threshold)."""
        if threshold is None:
            return []
        return [
            r
            for r in self.results
            if r.status is Status.FAIL
            and r.suppressed is None
            and r.severity.rank >= threshold.rank
        ]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the duration (nesting is harmless).

    A scan of 10,000 pipelines keeps millions of objects alive (the parsed inputs,
    then one result per rule per pipeline) and makes almost no reference cycles
    (about 200 objects for 5,000 pipelines), yet the collector would walk the live
    objects again and again: a third of the time of a scan, growing faster than
    the input. Reference counting still frees everything else as it goes; the few
    cycles are collected after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _pipeline_subject(pipeline: Pipeline) -> str:
    return pipeline.arn or pipeline.loc.subject


@dataclass(frozen=True, slots=True)
class _Plan:
    """A rule with its configured severity and suppressions, resolved once per scan."""

    rule: Rule
    severity: Severity
    ignores: tuple[Ignore, ...]


def _suppression(
    plan: _Plan,
    pipeline: Pipeline,
    subject: str,
    pointer: str,
    today: dt.date,
    notes: list[str],
) -> str | None:
    name = pipeline.display_name
    for ignore in plan.ignores:
        target = ignore.target
        if "#" in target:
            t_subject, t_pointer = target.split("#", 1)
            matched = t_subject in (subject, pipeline.arn, name) and (
                pointer == t_pointer or pointer.startswith(t_pointer.rstrip("/") + "/")
            )
        else:
            matched = target in (name, pipeline.arn, subject, pipeline.source_file)
        if not matched:
            continue
        if ignore.expires is not None and ignore.expires < today:
            note = (
                f"suppression of {plan.rule.id} for `{target}` expired on "
                f"{ignore.expires.isoformat()} and is not applied"
            )
            if note not in notes:
                notes.append(note)
            continue
        return ignore.reason
    for inline in pipeline.suppressions:
        if inline.rule in (plan.rule.id, plan.rule.meta.slug):
            return inline.reason
    return None


def _scan_pipeline(
    pipeline: Pipeline,
    inventory: Inventory,
    plans: Sequence[_Plan],
    config: Config,
    today: dt.date,
    crashes: list[RuleCrash],
    notes: list[str],
) -> list[Result]:
    ctx = RuleContext(pipeline, inventory.for_pipeline(pipeline), config)
    name = pipeline.display_name
    subject_default = pipeline.loc.subject
    positions = inventory.positions
    position = positions.get(subject_default)
    pipeline_ref = str(pipeline.loc)
    pass_location: Location | None = None
    # Rules often report at the same place (an action, its role): locate each place once.
    located: dict[tuple[str, str], Location] = {}
    arn, account, region = pipeline.arn, pipeline.account, pipeline.region
    has_inline = bool(pipeline.suppressions)
    out: list[Result] = []
    append = out.append
    for plan in plans:
        meta = plan.rule.meta
        try:
            findings: list[Finding] = list(plan.rule.check(ctx))
        except Exception as exc:  # noqa: BLE001 - the engine's per-rule boundary
            _log.debug("rule %s crashed on %s", meta.id, name, exc_info=True)
            crashes.append(RuleCrash(meta.id, name, f"{type(exc).__name__}: {exc}"))
            findings = [
                Finding(Status.UNKNOWN, pipeline.loc, f"rule crashed: {type(exc).__name__}")
            ]
        if not findings:
            if pass_location is None:
                pass_location = _concretize(
                    pipeline, position, pipeline.loc.subject, pipeline.loc.pointer
                )
            append(
                Result(
                    rule_id=meta.id,
                    slug=meta.slug,
                    title=meta.title,
                    severity=plan.severity,
                    status=Status.PASS,
                    pipeline=name,
                    location=pass_location,
                    message="no failure found",
                    pipeline_arn=arn,
                    account=account,
                    region=region,
                    pipeline_ref=pipeline_ref,
                )
            )
            continue
        for finding in findings:
            loc = finding.loc
            location = located.get((loc.subject, loc.pointer))
            if location is None:
                index = position if loc.subject == subject_default else positions.get(loc.subject)
                location = _concretize(pipeline, index, loc.subject, loc.pointer)
                located[loc.subject, loc.pointer] = location
            suppressed = None
            if plan.ignores or has_inline:
                suppressed = _suppression(
                    plan, pipeline, location.subject, loc.pointer, today, notes
                )
            append(
                Result(
                    rule_id=meta.id,
                    slug=meta.slug,
                    title=meta.title,
                    severity=plan.severity,
                    status=finding.status,
                    pipeline=name,
                    location=location,
                    message=finding.message,
                    pipeline_arn=arn,
                    account=account,
                    region=region,
                    stage=finding.stage,
                    action=finding.action,
                    evidence=finding.evidence,
                    suppressed=suppressed,
                    pipeline_ref=pipeline_ref,
                )
            )
    return out


def _concretize(
    pipeline: Pipeline, index: PositionIndex | None, subject: str, pointer: str
) -> Location:
    """A reported location: file and line when the subject has positions, else ARN#pointer."""
    if index is None:
        return Location(pipeline.arn or subject, pointer)
    spot = index.locate(pointer)
    if spot is None:
        return Location(subject, pointer, subject)
    return Location(subject, pointer, subject, spot[0], spot[1])


def selected_rules(
    rules: Sequence[Rule],
    config: Config,
    *,
    only: Iterable[str] = (),
    skip: Iterable[str] = (),
) -> tuple[Rule, ...]:
    """Rules left after configuration disables and ``--rule``/``--skip-rule`` (ids or slugs)."""
    only_set = set(only)
    skip_set = set(skip)
    chosen = []
    for rule in rules:
        keys = {rule.meta.id, rule.meta.slug, *rule.meta.aliases}
        if only_set and not (keys & only_set):
            continue
        if keys & skip_set:
            continue
        if config.rule(rule.meta.id).disable:
            continue
        chosen.append(rule)
    return tuple(chosen)


def scan(
    inventories: Iterable[Inventory],
    *,
    rules: Sequence[Rule],
    config: Config | None = None,
    today: dt.date | None = None,
    notes: Iterable[str] = (),
    inputs: Iterable[str] = (),
) -> ScanResult:
    """Evaluate ``rules`` on every pipeline of every inventory."""
    config = config or Config()
    today = today or dt.datetime.now(dt.UTC).date()
    crashes: list[RuleCrash] = []
    all_notes = list(notes)
    results: list[Result] = []
    pipelines: list[Pipeline] = []
    gaps: list[str] = []
    plans = [
        _Plan(
            rule, config.rule(rule.id).severity or rule.meta.severity, config.rule(rule.id).ignore
        )
        for rule in rules
    ]
    with collector_paused():
        for inventory in inventories:
            all_notes.extend(inventory.notes)
            gaps.extend(f"{g.kind} {g.resource}: {g.reason}" for g in inventory.gaps)
            for pipeline in inventory.pipelines:
                pipelines.append(pipeline)
                results.extend(
                    _scan_pipeline(pipeline, inventory, plans, config, today, crashes, all_notes)
                )
    return ScanResult(
        results=tuple(results),
        rules=tuple(rules),
        pipelines=tuple(pipelines),
        crashes=tuple(crashes),
        notes=tuple(all_notes),
        gaps=tuple(gaps),
        inputs=tuple(inputs),
    )


def pipeline_label(pipeline: Pipeline) -> str:
    """A pipeline's printable name (ARN when known)."""
    if isinstance(pipeline.name, Unresolved):
        return pipeline.name.expr
    return pipeline.arn or pipeline.name
