"""``pipewarden drift watch``: polling for accounts without EventBridge.

One pass, per region: list the pipelines with their versions, compare with the
versions the store remembers from the last pass, fetch the declaration of
only the pipelines that are new or whose version (or update time) moved,
judge those against their baselines exactly as ``drift check`` does, and
remember what was seen. A pipeline that is no longer listed is reported
deleted (PW902, when it had a baseline) and forgotten. A pass with nothing
new makes no ``GetPipeline`` call at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pipewarden.drift.diff import UNREVIEWED, Change

if TYPE_CHECKING:
    from pipewarden.engine import ScanResult
    from pipewarden.model import Inventory
    from pipewarden.store import Store, WatchEntry

__all__ = ["EVENT_NAME", "Listing", "VersionSource", "WatchPass", "watch_once"]

EVENT_NAME = "drift-watch"


class Listing(Protocol):
    """One listed pipeline."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def updated(self) -> str: ...


class VersionSource(Protocol):
    """Where pipeline versions and declarations come from (one account)."""

    account: str
    regions: tuple[str, ...]

    def pipeline_arn(self, region: str, name: str) -> str: ...
    def list_versions(self, region: str) -> Sequence[Listing]: ...
    def get_pipeline(self, region: str, name: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True, slots=True)
class WatchPass:
    """What one pass saw and the report of the pipelines it fetched."""

    result: ScanResult
    listed: int
    fetched: tuple[str, ...]
    deleted: tuple[str, ...]
    moved: tuple[str, ...]  # fetched because their version moved (not seen for the first time)
    changed: tuple[str, ...]  # keys whose declaration differs from its baseline
    unbaselined: tuple[str, ...]


def _parse(doc: dict[str, Any], arn: str) -> Inventory:
    from pipewarden.parse.getpipeline import parse_get_pipeline

    metadata = doc.get("metadata")
    entry = {
        "pipeline": doc.get("pipeline"),
        "metadata": {**(metadata if isinstance(metadata, dict) else {}), "pipelineArn": arn},
    }
    return parse_get_pipeline(entry, source=arn)


def watch_once(store: Store, source: VersionSource, *, record: bool = True) -> WatchPass:
    """One polling pass over every region of ``source``. With ``record`` the results
    and drift events are stored as ``drift check`` stores them; the versions seen
    are remembered in any case."""
    from pipewarden.drift.check import check
    from pipewarden.drift.normalise import canonical, declaration_hash
    from pipewarden.drift.results import DRIFT_RULES, results_for
    from pipewarden.engine import ScanResult
    from pipewarden.model import KeyStyle, Loc, Pipeline
    from pipewarden.store import DriftRecord, WatchEntry

    inventories: list[Inventory] = []
    seen_now: list[WatchEntry] = []
    gone: list[WatchEntry] = []
    moved: list[str] = []
    listed_count = 0
    for region in source.regions:
        listed = source.list_versions(region)
        listed_count += len(listed)
        remembered = store.watched(source.account, region)
        names = set()
        for item in listed:
            key = source.pipeline_arn(region, item.name)
            names.add(key)
            before = remembered.get(key)
            if before is not None and (before.version, before.updated) == (
                item.version,
                item.updated,
            ):
                continue
            doc = source.get_pipeline(region, item.name)
            if doc is None:
                continue  # deleted since it was listed: the next pass reports it
            if before is not None:
                moved.append(key)
            inventory = _parse(doc, key)
            inventories.append(inventory)
            version = (doc.get("pipeline") or {}).get("version")
            digest = declaration_hash(store.seal(canonical(inventory.pipelines[0])))
            seen_now.append(
                WatchEntry(
                    key,
                    source.account,
                    region,
                    item.name,
                    version if isinstance(version, int) else item.version,
                    item.updated,
                    digest,
                )
            )
        gone.extend(entry for key, entry in remembered.items() if key not in names)

    outcome = check(
        store, inventories, inputs=("aws",) if inventories else (), record=record, source="aws",
        event_name=EVENT_NAME,
    )  # fmt: skip
    results = list(outcome.result.results)
    pipelines = list(outcome.result.pipelines)
    baselines = store.baselines([g.pipeline_key for g in gone])
    drifts = []
    for entry in gone:
        base = baselines.get(entry.pipeline_key)
        if base is None:
            continue
        stub = Pipeline(
            name=entry.name,
            loc=Loc(entry.pipeline_key, "", KeyStyle.API),
            stages=(),
            arn=entry.pipeline_key,
            account=entry.account,
            region=entry.region,
        )
        change = Change("", base.hash, None, UNREVIEWED, "pipeline deleted")
        found = results_for(stub, [change])
        results.extend(found)
        pipelines.append(stub)
        drifts.append(
            DriftRecord(
                entry.pipeline_key,
                EVENT_NAME,
                "",
                base.hash,
                None,
                [{"rule_id": r.rule_id, **r.evidence} for r in found if r.evidence],
            )
        )
    if record and drifts:
        store.record_drifts(drifts)
    # The watcher's memory is kept whatever ``record`` says: without it every pass
    # would fetch every pipeline again.
    store.update_watch(seen_now, forget=[g.pipeline_key for g in gone])
    result = ScanResult(
        results=tuple(results),
        rules=DRIFT_RULES,
        pipelines=tuple(pipelines),
        inputs=outcome.result.inputs,
    )
    return WatchPass(
        result,
        listed_count,
        tuple(e.pipeline_key for e in seen_now),
        tuple(g.pipeline_key for g in gone),
        tuple(moved),
        outcome.changed,
        outcome.unbaselined,
    )
