"""A drift check: every pipeline (and the CodeBuild projects it runs) against the
baselines in a store, as a report-ready result; optionally recorded.

Cost is linear in the number of pipelines: baselines are read in chunks of
500 keys without building ORM objects; each current declaration is
normalised and its keyed hash (HMAC of its canonical JSON under the store's
key) compared with the baseline's, so an unchanged pipeline is passed without
sealing it or decoding its baseline. Only the others are sealed, hashed and,
when they differ, classified; every write (results, changed versions, drift
events) is one batch.

The objects alive during the check (the parsed inputs: over a million for
10,000 pipelines) are not garbage, yet every full collection of the cyclic
garbage collector would walk them all again, about a second each at that size,
which made the cost grow faster than the input. The check runs with the
collector paused, as a scan does (:func:`pipewarden.engine.collector_paused`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipewarden.drift.diff import Change, classify
from pipewarden.drift.normalise import canonical, declaration_hash
from pipewarden.drift.projects import project_changes, project_state, projects_used, seal_project
from pipewarden.drift.results import DRIFT_RULES, pipeline_key, results_for
from pipewarden.engine import ScanResult, collector_paused
from pipewarden.model import Inventory, Result, Status

if TYPE_CHECKING:
    from pipewarden.store import Store

__all__ = ["CheckOutcome", "check"]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """The report of a drift check and what it found."""

    result: ScanResult
    unbaselined: tuple[str, ...]  # pipeline keys without an approved baseline
    changed: tuple[str, ...]  # pipeline keys whose declaration or projects changed


def check(
    store: Store,
    inventories: Sequence[Inventory],
    *,
    inputs: Sequence[str] = (),
    record: bool = True,
    source: str = "",
    event_name: str = "drift-check",
) -> CheckOutcome:
    """Compare every pipeline of ``inventories`` with its baseline in ``store``.

    With ``record``, the results are stored as a run of kind ``event_name``,
    and each changed pipeline's current declaration and a drift event are
    stored too.
    """
    with collector_paused():
        return _check(store, inventories, inputs, record, source, event_name)


def _check(
    store: Store,
    inventories: Sequence[Inventory],
    inputs: Sequence[str],
    record: bool,
    source: str,
    event_name: str,
) -> CheckOutcome:
    from pipewarden.store import DriftRecord

    pipelines = [p for inv in inventories for p in inv.pipelines]
    keys = [pipeline_key(p) for p in pipelines]
    baselines = store.baselines(keys)
    sealer = store.sealer()
    project_found = _project_changes(store, inventories)

    results: list[Result] = []
    rows: list[tuple[str, Result]] = []
    versions: list[tuple[str, dict[str, Any]]] = []
    drifts: list[DriftRecord] = []
    changed: list[str] = []
    for pipeline, key in zip(pipelines, keys, strict=True):
        base = baselines.get(key)
        changes: list[Change] = []
        digest: str | None = None
        if base is not None:
            raw = canonical(pipeline)
            if base.keyed_hash is not None and store.keyed_hash(raw) == base.keyed_hash:
                digest = base.hash  # unchanged: nothing to seal or decode
            else:
                current = sealer.declaration(raw)
                digest = declaration_hash(current)
                if digest != base.hash:
                    changes = classify(base.declaration, current)
                    versions.append((key, raw))
        changes += project_found.get(key, [])
        found = results_for(pipeline, changes, baselined=base is not None)
        results.extend(found)
        rows.extend((key, r) for r in found)
        if changes:
            changed.append(key)
            drifts.append(
                DriftRecord(
                    key,
                    event_name,
                    "",
                    base.hash if base is not None else None,
                    digest,
                    [
                        {"rule_id": r.rule_id, **r.evidence}
                        for r in found
                        if r.status is Status.FAIL
                    ],
                )
            )
    result = ScanResult(
        results=tuple(results),
        rules=DRIFT_RULES,
        pipelines=tuple(pipelines),
        inputs=tuple(inputs),
    )
    if record and rows:
        store.record_scan(event_name, source, rows)
        if versions:
            store.record_versions(versions)
        if drifts:
            store.record_drifts(drifts)
    return CheckOutcome(
        result,
        tuple(k for k in keys if k not in baselines),
        tuple(changed),
    )


def _project_changes(store: Store, inventories: Sequence[Inventory]) -> dict[str, list[Change]]:
    """Changes of the baselined CodeBuild projects in ``inventories``, by pipeline key."""
    used, _missing = projects_used(inventories, pipeline_key)
    if not used:
        return {}
    approved = store.project_baselines(list(used))
    sealer = store.sealer()
    out: dict[str, list[Change]] = {}
    for key, use in used.items():
        base = approved.get(key)
        if base is None:
            continue
        state = seal_project(project_state(use.project), sealer)
        if declaration_hash(state) == base.hash:
            continue
        changes = project_changes(use.project.name, base.state, state)
        for pipeline in use.pipelines:
            out.setdefault(pipeline, []).extend(changes)
    return out
