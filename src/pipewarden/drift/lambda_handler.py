"""The drift event handler: ``pipewarden drift handle-event`` and the Lambda entry
point ``pipewarden.drift.lambda_handler.handler``.

For an ``UpdatePipeline``/``CreatePipeline`` event the declaration in
``requestParameters.pipeline`` is normalised, its secrets sealed, and diffed
against the baseline in force. A CodeBuild ``UpdateProject`` is compared with
the approved state of that project (recorded by ``baseline approve`` from an
input that holds the project) and reported on every pipeline that runs it;
without one it is judged from the call's parameters alone, as are
``DeletePipeline`` and ``PutWebhook``. The CloudTrail actor is recorded with
the drift event (once per CloudTrail event id, so a redelivered event is not
recorded twice), and the finding (the ``results`` of a scan report plus the
event's facts) is returned, printed as one JSON line, and sent to SNS and
Security Hub when asked (:mod:`pipewarden.drift.emit`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipewarden.drift.diff import UNREVIEWED, WEAKENING, Change
from pipewarden.drift.events import PipelineEvent, parse_event
from pipewarden.errors import Error

if TYPE_CHECKING:
    from pipewarden.drift.emit import Emission
    from pipewarden.drift.secrets import Sealer
    from pipewarden.engine import ScanResult
    from pipewarden.model import Pipeline
    from pipewarden.store import Store

__all__ = ["EmissionError", "emission_errors", "handle_event", "handler"]


class EmissionError(Error):
    """The finding was judged and recorded but could not be sent everywhere asked."""


def _webhook_changes(event: PipelineEvent) -> list[Change]:
    webhook = event.request.get("webhook") or {}
    auth = webhook.get("authentication")
    changes = []
    if auth == "UNAUTHENTICATED":
        changes.append(
            Change(
                "/webhook/authentication",
                None,
                auth,
                WEAKENING,
                f"webhook `{webhook.get('name')}` accepts unauthenticated calls: anyone who "
                "knows its URL can start the pipeline",
            )
        )
    changes.append(
        Change(
            "/webhook",
            None,
            {k: v for k, v in webhook.items() if k != "authenticationConfiguration"},
            UNREVIEWED,
            f"webhook `{webhook.get('name')}` put on the pipeline",
        )
    )
    return changes


@dataclass(slots=True)
class _Judged:
    """What an event did to which pipelines."""

    result: ScanResult
    pipelines: list[tuple[str, Pipeline]]  # (store key, pipeline)
    baselined: bool
    baseline_hash: str | None = None
    current_hash: str | None = None
    current: dict[str, Any] | None = None  # the declaration (unsealed: the store seals it)
    extra: dict[str, Any] = field(default_factory=dict)


def _stub(name: str, subject: str, info: PipelineEvent, arn: str | None) -> Pipeline:
    from pipewarden.model import KeyStyle, Loc, Pipeline

    return Pipeline(
        name=name,
        loc=Loc(subject, "", KeyStyle.API),
        stages=(),
        arn=arn,
        account=info.account,
        region=info.region,
    )


def _merge(results: Sequence[ScanResult]) -> ScanResult:
    from pipewarden.drift.results import DRIFT_RULES
    from pipewarden.engine import ScanResult

    return ScanResult(
        results=tuple(r for s in results for r in s.results),
        rules=DRIFT_RULES,
        pipelines=tuple(p for s in results for p in s.pipelines),
    )


def _judge_declaration(info: PipelineEvent, store: Store) -> _Judged:
    from pipewarden.drift.diff import classify
    from pipewarden.drift.normalise import canonical, declaration_hash
    from pipewarden.drift.results import DRIFT_RULES, results_for
    from pipewarden.engine import ScanResult
    from pipewarden.model import KeyStyle, Loc
    from pipewarden.parse.declaration import parse_declaration

    subject = info.pipeline_arn or info.target
    keys = [k for k in (info.pipeline_arn, info.target) if k]
    baselines = store.baselines(keys)
    base = next((baselines[k] for k in keys if k in baselines), None)
    key = base.pipeline_key if base is not None else subject
    changes: list[Change] = []
    if info.declaration is None:
        pipeline = _stub(info.target, subject, info, info.pipeline_arn)
        if info.event_name == "DeletePipeline":
            changes = [
                Change("", base.hash if base else None, None, UNREVIEWED, "pipeline deleted")
            ]
        else:
            changes = _webhook_changes(info)
        results = results_for(pipeline, changes, actor=info.actor)
        result = ScanResult(results=tuple(results), rules=DRIFT_RULES, pipelines=(pipeline,))
        return _Judged(result, [(key, pipeline)], base is not None, base.hash if base else None)
    pipeline = parse_declaration(
        info.declaration,
        loc=Loc(subject, "", KeyStyle.API),
        source=f"event {info.event_id or info.event_name}",
        arn=info.pipeline_arn,
        account=info.account,
        region=info.region,
    )
    raw = canonical(pipeline)
    current = store.seal(raw)
    digest = declaration_hash(current)
    if base is not None and digest != base.hash:
        changes = classify(base.declaration, current)
    results = results_for(pipeline, changes, baselined=base is not None, actor=info.actor)
    result = ScanResult(results=tuple(results), rules=DRIFT_RULES, pipelines=(pipeline,))
    return _Judged(
        result,
        [(key, pipeline)],
        base is not None,
        base.hash if base else None,
        digest,
        raw,
    )


def _project_name(target: str) -> str:
    """``UpdateProject`` takes a name or an ARN (``...:project/NAME``)."""
    if target.startswith("arn:") and ":project/" in target:
        return target.split(":project/", 1)[1]
    return target


def _judge_project(info: PipelineEvent, store: Store, sealer: Sealer) -> _Judged:
    from pipewarden.drift.normalise import declaration_hash
    from pipewarden.drift.projects import project_changes, project_key, request_state, seal_project
    from pipewarden.drift.results import changes_result

    name = _project_name(info.target)
    arn = info.target if info.target.startswith("arn:") else None
    keys = list(
        dict.fromkeys([project_key(name, arn=arn, account=info.account, region=info.region), name])
    )
    approved = store.project_baselines(keys)
    base = next((approved[k] for k in keys if k in approved), None)
    state = seal_project(request_state(info.request), sealer)
    changes = project_changes(name, base.state if base else None, state)
    extra = {"project": base.project_key if base else keys[0]}
    if base is None or not base.pipelines:
        pipeline = _stub(name, name, info, None)
        result = changes_result(pipeline, changes, actor=info.actor)
        return _Judged(result, [(name, pipeline)], base is not None, extra=extra)
    judged: list[tuple[str, Pipeline]] = []
    results = []
    for key in base.pipelines:
        pipeline_name = key.rsplit(":", 1)[-1] if key.startswith("arn:") else key
        pipeline = _stub(pipeline_name, key, info, key if key.startswith("arn:") else None)
        judged.append((key, pipeline))
        results.append(changes_result(pipeline, changes, actor=info.actor))
    extra["project_hash"] = base.hash
    extra["project_current_hash"] = declaration_hash(state)
    return _Judged(_merge(results), judged, True, extra=extra)


def handle_event(
    event: Any,
    *,
    db: str | None = None,
    record: bool = True,
    emission: Emission | None = None,
    store: Store | None = None,
) -> dict[str, Any]:
    """Judge one event against the stored baselines; returns the finding.

    ``store`` is an open store to use (else ``db`` is opened and closed);
    ``emission`` sends the finding to SNS and Security Hub (its ``emitted``
    entry says what happened there).
    """
    from pipewarden.report import render
    from pipewarden.store import DriftRecord, open_store

    info = parse_event(event)
    own = store is None
    active = open_store(db) if store is None else store
    try:
        sealer = active.sealer()
        if info.event_name == "UpdateProject":
            judged = _judge_project(info, active, sealer)
        else:
            judged = _judge_declaration(info, active)
        results = json.loads(render(judged.result, "json"))["results"]
        failing = [r for r in results if r.get("status") == "fail"]
        weakening = any(r.get("rule_id") == WEAKENING for r in failing)
        if record and (failing or not judged.baselined):
            key = judged.pipelines[0][0]
            if judged.current is not None:
                active.record_version(key, judged.current)
            active.record_drifts(
                [
                    DriftRecord(
                        k,
                        info.event_name,
                        info.actor,
                        judged.baseline_hash,
                        judged.current_hash,
                        [r for r in failing if _belongs(r, pipeline)],
                        info.event_id or None,
                    )
                    for k, pipeline in judged.pipelines
                ]
            )
    finally:
        if own:
            active.close()
    finding: dict[str, Any] = {
        "event": info.event_name,
        "event_id": info.event_id,
        "event_time": info.event_time,
        "actor": info.actor,
        "account": info.account,
        "region": info.region,
        "pipeline": judged.pipelines[0][0],
        "pipelines": [k for k, _ in judged.pipelines],
        "baseline_hash": judged.baseline_hash,
        "current_hash": judged.current_hash,
        "baselined": judged.baselined,
        "weakening": weakening,
        **judged.extra,
        "results": results,
    }
    if emission is not None and emission.wanted:
        from pipewarden.drift.emit import emit

        finding["emitted"] = emit(finding, judged.result, emission)
    return finding


def _belongs(result: dict[str, Any], pipeline: Pipeline) -> bool:
    return result.get("pipeline_ref") == str(pipeline.loc)


def emission_errors(finding: dict[str, Any]) -> list[str]:
    """``destination: error`` for each destination the finding did not reach."""
    return [
        f"{where}: {outcome['error']}"
        for where, outcome in sorted((finding.get("emitted") or {}).items())
        if isinstance(outcome, dict) and "error" in outcome
    ]


def handler(event: Any, _context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point. The database URL comes from ``PIPEWARDEN_DB``; the
    SNS topic from ``PIPEWARDEN_SNS_TOPIC``; ``PIPEWARDEN_SECURITY_HUB=true``
    imports the findings into Security Hub. A destination that cannot be
    reached fails the invocation (after the finding is logged and recorded), so
    EventBridge retries it; the retry records nothing twice."""
    from pipewarden.drift.emit import Emission

    emission = Emission.from_environ(os.environ)
    finding = handle_event(event, db=os.environ.get("PIPEWARDEN_DB"), emission=emission)
    print(json.dumps(finding, sort_keys=True))  # noqa: T201 - the finding goes to the log
    errors = emission_errors(finding)
    if errors:
        raise EmissionError("; ".join(errors))
    return finding
