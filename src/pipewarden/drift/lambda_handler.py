"""The drift event handler: ``pipewarden drift handle-event`` and the Lambda entry
point ``pipewarden.drift.lambda_handler.handler``.

For an ``UpdatePipeline``/``CreatePipeline`` event the declaration in
``requestParameters.pipeline`` is normalised and diffed against the baseline in
force; ``DeletePipeline``, ``PutWebhook`` and CodeBuild ``UpdateProject`` are
judged from the call's parameters. The CloudTrail actor is recorded with the
drift event, and the finding (the ``results`` of a scan report plus the event's
facts) is returned and printed as one JSON line.
"""

from __future__ import annotations

import json
import os
from typing import Any

from pipewarden.drift.diff import UNREVIEWED, WEAKENING, Change
from pipewarden.drift.events import PipelineEvent, parse_event

__all__ = ["handle_event", "handler"]


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


_PROJECT_WEAKENING = {
    "serviceRole": "service role of the build changed: it now runs as another principal",
    "source/buildspec": "buildspec changed: commands (a verifier among them) may be gone",
    "environment/image": "build image changed",
}


def _project_changes(event: PipelineEvent) -> list[Change]:
    changes = []
    for key, value in sorted(event.request.items()):
        if key == "name":
            continue
        parts = [(key, value)]
        if isinstance(value, dict):
            parts = [(f"{key}/{k}", v) for k, v in sorted(value.items())]
        for path, v in parts:
            pointer = f"/project/{path}"
            if path in _PROJECT_WEAKENING:
                changes.append(Change(pointer, None, v, WEAKENING, _PROJECT_WEAKENING[path]))
            elif path == "environment/privilegedMode" and v is True:
                changes.append(
                    Change(
                        pointer,
                        None,
                        v,
                        WEAKENING,
                        "build now runs privileged (Docker daemon, root)",
                    )
                )
            else:
                changes.append(
                    Change(pointer, None, v, UNREVIEWED, f"project setting {path} changed")
                )
    return changes


def handle_event(event: Any, *, db: str | None = None, record: bool = True) -> dict[str, Any]:
    """Judge one event against the stored baseline; returns the finding."""
    from pipewarden.drift.normalise import canonical, declaration_hash
    from pipewarden.drift.results import changes_result, drift_result
    from pipewarden.model import KeyStyle, Loc, Pipeline
    from pipewarden.parse.declaration import parse_declaration
    from pipewarden.report import render
    from pipewarden.store import open_store

    info = parse_event(event)
    subject = info.pipeline_arn or info.target
    store = open_store(db)
    try:
        keys = [k for k in (info.pipeline_arn, info.target) if k]
        baselines = store.baselines(keys)
        base = next((baselines[k] for k in keys if k in baselines), None)
        key = base.pipeline_key if base is not None else subject
        current_hash: str | None = None
        if info.declaration is not None:
            pipeline = parse_declaration(
                info.declaration,
                loc=Loc(subject, "", KeyStyle.API),
                source=f"event {info.event_id or info.event_name}",
                arn=info.pipeline_arn,
                account=info.account,
                region=info.region,
            )
            current = canonical(pipeline)
            current_hash = declaration_hash(current)
            result = drift_result(
                [(pipeline, base.declaration if base else None)], actor=info.actor
            )
        else:
            pipeline = Pipeline(
                name=info.target,
                loc=Loc(subject, "", KeyStyle.API),
                stages=(),
                arn=info.pipeline_arn,
                account=info.account,
                region=info.region,
            )
            if info.event_name == "DeletePipeline":
                changes = [
                    Change("", base.hash if base else None, None, UNREVIEWED, "pipeline deleted")
                ]
            elif info.event_name == "PutWebhook":
                changes = _webhook_changes(info)
            else:
                changes = _project_changes(info)
            result = changes_result(pipeline, changes, actor=info.actor)
        results = json.loads(render(result, "json"))["results"]
        failing = [r for r in results if r.get("status") == "fail"]
        weakening = any(r.get("rule_id") == WEAKENING for r in failing)
        if record and (failing or base is None):
            if current_hash is not None and info.declaration is not None:
                store.record_version(key, canonical(pipeline))
            store.record_drift(
                key,
                event_name=info.event_name,
                actor=info.actor,
                baseline_hash=base.hash if base else None,
                current_hash=current_hash,
                findings=failing,
            )
    finally:
        store.close()
    return {
        "event": info.event_name,
        "event_id": info.event_id,
        "event_time": info.event_time,
        "actor": info.actor,
        "pipeline": key,
        "baseline_hash": base.hash if base else None,
        "current_hash": current_hash,
        "baselined": base is not None,
        "weakening": weakening,
        "results": results,
    }


def handler(event: Any, _context: Any = None) -> dict[str, Any]:
    """AWS Lambda entry point: the database URL comes from ``PIPEWARDEN_DB``."""
    finding = handle_event(event, db=os.environ.get("PIPEWARDEN_DB"))
    print(json.dumps(finding, sort_keys=True))  # noqa: T201 - the finding goes to the log
    return finding
