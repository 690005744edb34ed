"""The engine: run rules over inventories and produce tri-state results. Pure."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipewarden.config import Config, Ignore
from pipewarden.model import (
    Finding,
    Inventory,
    Location,
    Pipeline,
    Result,
    Severity,
    Status,
    Unresolved,
    fingerprint,
)
from pipewarden.rules._api import Rule, RuleContext

__all__ = ["RuleCrash", "ScanResult", "fingerprint", "scan"]

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


def _pipeline_subject(pipeline: Pipeline) -> str:
    return pipeline.arn or pipeline.loc.subject


def _suppression(
    result_rule: Rule,
    pipeline: Pipeline,
    subject: str,
    pointer: str,
    config: Config,
    today: dt.date,
    notes: list[str],
) -> str | None:
    ignores: Sequence[Ignore] = config.rule(result_rule.id).ignore
    name = pipeline.display_name
    for ignore in ignores:
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
                f"suppression of {result_rule.id} for `{target}` expired on "
                f"{ignore.expires.isoformat()} and is not applied"
            )
            if note not in notes:
                notes.append(note)
            continue
        return ignore.reason
    for inline in pipeline.suppressions:
        if inline.rule in (result_rule.id, result_rule.meta.slug):
            return inline.reason
    return None


def _scan_pipeline(
    pipeline: Pipeline,
    inventory: Inventory,
    rules: Sequence[Rule],
    config: Config,
    today: dt.date,
    crashes: list[RuleCrash],
    notes: list[str],
) -> list[Result]:
    ctx = RuleContext(pipeline, inventory.for_pipeline(pipeline), config)
    name = pipeline.display_name
    subject_default = pipeline.loc.subject
    position = inventory.positions.get(subject_default)
    out: list[Result] = []
    for rule in rules:
        meta = rule.meta
        settings = config.rule(meta.id)
        severity = settings.severity or meta.severity
        try:
            findings: list[Finding] = list(rule.check(ctx))
        except Exception as exc:  # noqa: BLE001 - the engine's per-rule boundary
            _log.debug("rule %s crashed on %s", meta.id, name, exc_info=True)
            crashes.append(RuleCrash(meta.id, name, f"{type(exc).__name__}: {exc}"))
            findings = [
                Finding(Status.UNKNOWN, pipeline.loc, f"rule crashed: {type(exc).__name__}")
            ]
        if not findings:
            findings = [Finding(Status.PASS, pipeline.loc, "no failure found")]
        for finding in findings:
            loc = finding.loc
            line = column = None
            file = None
            idx = (
                position if loc.subject == subject_default else inventory.positions.get(loc.subject)
            )
            if idx is not None:
                file = loc.subject
                spot = idx.locate(loc.pointer)
                if spot is not None:
                    line, column = spot
            subject = pipeline.arn if (pipeline.arn and file is None) else loc.subject
            suppressed = None
            if finding.status is not Status.PASS:
                suppressed = _suppression(
                    rule, pipeline, subject, loc.pointer, config, today, notes
                )
            out.append(
                Result(
                    rule_id=meta.id,
                    slug=meta.slug,
                    title=meta.title,
                    severity=severity,
                    status=finding.status,
                    pipeline=name,
                    location=Location(subject, loc.pointer, file, line, column),
                    message=finding.message,
                    pipeline_arn=pipeline.arn,
                    account=pipeline.account,
                    region=pipeline.region,
                    stage=finding.stage,
                    action=finding.action,
                    evidence=finding.evidence,
                    suppressed=suppressed,
                    pipeline_ref=str(pipeline.loc),
                )
            )
    return out


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
    for inventory in inventories:
        all_notes.extend(inventory.notes)
        gaps.extend(f"{g.kind} {g.resource}: {g.reason}" for g in inventory.gaps)
        for pipeline in inventory.pipelines:
            pipelines.append(pipeline)
            results.extend(
                _scan_pipeline(pipeline, inventory, rules, config, today, crashes, all_notes)
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
