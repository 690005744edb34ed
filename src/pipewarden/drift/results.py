"""PW901/PW902/PW903 metadata and drift changes as engine results.

The drift rules are not registered with the scanner (they compare two
declarations, not one); their results are built here as
:class:`~pipewarden.model.Result` objects in a
:class:`~pipewarden.engine.ScanResult`, so every report format renders them
exactly as it renders a scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from pipewarden.drift.diff import WEAKENING, Change, classify
from pipewarden.drift.normalise import canonical
from pipewarden.drift.secrets import display, is_sealed
from pipewarden.engine import ScanResult
from pipewarden.model import Finding, Location, Pipeline, Result, Severity, Status
from pipewarden.model.values import mask
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta

__all__ = [
    "DRIFT_RULES",
    "META_901",
    "META_902",
    "META_903",
    "changes_result",
    "drift_result",
    "pipeline_key",
    "pipeline_results",
    "results_for",
]

META_901: Final = RuleMeta(
    id="PW901",
    slug="drift-weakened",
    title="Declaration weakened since its approved baseline",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_1, CicdSec.SEC_10),
    since="0.2.0",
)
META_902: Final = RuleMeta(
    id="PW902",
    slug="drift-unreviewed",
    title="Declaration changed since its approved baseline",
    severity=Severity.LOW,
    cicd_sec=(CicdSec.SEC_10,),
    since="0.2.0",
)
META_903: Final = RuleMeta(
    id="PW903",
    slug="trust-changed",
    title="Trusted connection, action type or Lambda changed since approved",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_8,),
    since="0.2.0",
)


def _nothing(_ctx: RuleContext) -> Iterator[Finding]:
    """Drift rules are evaluated by ``pipewarden drift``, not by the scanner."""
    return iter(())


DRIFT_RULES: Final = (Rule(META_901, _nothing), Rule(META_902, _nothing))

_SECRET_KEY: Final = re.compile(r"(?i)token|secret|password|credential")
_MAX_VALUE: Final = 300


def pipeline_key(pipeline: Pipeline) -> str:
    """The key a baseline is stored under: the ARN when known, else the name."""
    return pipeline.arn or pipeline.display_name


def _masked(value: Any) -> Any:
    """``value`` with sealed secrets shown as such and every other string under a
    secret-looking key masked."""
    if is_sealed(value):
        return display(value)
    if isinstance(value, Mapping):
        return {
            k: mask(v)
            if isinstance(v, str) and not is_sealed(v) and _SECRET_KEY.search(str(k))
            else _masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _show(pointer: str, value: Any) -> str:
    if value is None:
        return "(absent)"
    if is_sealed(value):
        return display(value)
    text = value if isinstance(value, str) else json.dumps(_masked(value), sort_keys=True)
    if _SECRET_KEY.search(pointer.rsplit("/", 1)[-1]) and isinstance(value, str):
        return mask(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _result(
    pipeline: Pipeline, meta: RuleMeta, status: Status, pointer: str, message: str, **extra: Any
) -> Result:
    subject = pipeline.arn or pipeline.loc.subject
    return Result(
        rule_id=meta.id,
        slug=meta.slug,
        title=meta.title,
        severity=meta.severity,
        status=status,
        pipeline=pipeline.display_name,
        location=Location(subject, pointer, pipeline.source_file),
        message=message,
        pipeline_arn=pipeline.arn,
        account=pipeline.account,
        region=pipeline.region,
        pipeline_ref=str(pipeline.loc),
        **extra,
    )


def _change_result(pipeline: Pipeline, change: Change, actor: str | None) -> Result:
    meta = META_901 if change.rule_id == WEAKENING else META_902
    old, new = _show(change.pointer, change.old), _show(change.pointer, change.new)
    evidence = {"pointer": change.pointer, "old": old, "new": new, "reason": change.reason}
    if actor:
        evidence["actor"] = actor
    message = f"{change.reason} at {change.pointer or '/'}: {old} -> {new}"
    return _result(pipeline, meta, Status.FAIL, change.pointer, message, evidence=evidence)


def results_for(
    pipeline: Pipeline,
    changes: Sequence[Change],
    *,
    baselined: bool = True,
    actor: str | None = None,
) -> list[Result]:
    """PW901/PW902 results of one pipeline from its classified changes: a failure
    per change, and for a rule without one a pass (``unknown`` when the pipeline
    has no approved baseline)."""
    out = [_change_result(pipeline, c, actor) for c in changes]
    for meta in (META_901, META_902):
        if any(r.rule_id == meta.id for r in out):
            continue
        if baselined:
            out.append(_result(pipeline, meta, Status.PASS, "", "no change since the baseline"))
        else:
            why = "no approved baseline (run `pipewarden baseline approve`)"
            out.append(_result(pipeline, meta, Status.UNKNOWN, "", why))
    return out


def pipeline_results(
    pipeline: Pipeline,
    baseline: Mapping[str, Any] | None,
    *,
    current: Mapping[str, Any] | None = None,
    actor: str | None = None,
) -> list[Result]:
    """PW901/PW902 results of one pipeline against its baseline (None: none approved).
    ``current`` is the pipeline's canonical declaration when already built (with
    its secrets sealed like the baseline's)."""
    if baseline is None:
        return results_for(pipeline, (), baselined=False)
    changes = classify(baseline, current if current is not None else canonical(pipeline))
    return results_for(pipeline, changes, actor=actor)


def drift_result(
    pairs: Sequence[tuple[Pipeline, Mapping[str, Any] | None]],
    *,
    inputs: Sequence[str] = (),
    actor: str | None = None,
) -> ScanResult:
    """A report-ready result for pipelines paired with their baselines."""
    results = [r for p, base in pairs for r in pipeline_results(p, base, actor=actor)]
    return ScanResult(
        results=tuple(results),
        rules=DRIFT_RULES,
        pipelines=tuple(p for p, _ in pairs),
        inputs=tuple(inputs),
    )


def changes_result(
    pipeline: Pipeline, changes: Sequence[Change], *, actor: str | None = None
) -> ScanResult:
    """A report-ready result for changes already classified (an event with no
    declaration to diff: a deletion, a webhook, a CodeBuild project)."""
    out = [_change_result(pipeline, c, actor) for c in changes]
    for meta in (META_901, META_902):
        if not any(r.rule_id == meta.id for r in out):
            out.append(_result(pipeline, meta, Status.PASS, "", "no change of this kind"))
    return ScanResult(results=tuple(out), rules=DRIFT_RULES, pipelines=(pipeline,))
