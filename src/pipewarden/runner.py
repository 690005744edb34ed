"""Scan files: plan the input units, load and evaluate them, optionally in parallel.

This is the edge between the command line and the pure core: it reads files
(through ``parse``) and runs the engine. With ``jobs > 1`` the units are split
into chunks evaluated by worker processes; results are merged in unit order,
so the output is identical to a serial scan.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from pipewarden.config import Config
from pipewarden.engine import RuleCrash, ScanResult, collector_paused, scan
from pipewarden.errors import InputError
from pipewarden.model import Location, Pipeline, Result, Severity, Status
from pipewarden.parse import LoadResult, Unit, load_units, plan_units
from pipewarden.rules._api import Rule

__all__ = ["PathScan", "default_jobs", "scan_paths"]

# Below this many units a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 64


@dataclass(frozen=True, slots=True)
class PathScan:
    """A scan of files: the engine's result plus what could not be read."""

    result: ScanResult
    errors: tuple[InputError, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)


def default_jobs() -> int:
    """Worker processes to use by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# A result as plain values: pickling tuples of strings is several times cheaper
# than pickling dataclasses, and a scan returns one result per rule per pipeline.
# The enums travel as their values and come back through a dict (calling the
# enum class costs more than the rest of unpacking).
_Packed = tuple[Any, ...]
_SEVERITIES: Final = {s.value: s for s in Severity}
_STATUSES: Final = {s.value: s for s in Status}


def _pack(r: Result) -> _Packed:
    loc = r.location
    return (
        r.rule_id, r.slug, r.title, r.severity.value, r.status.value, r.pipeline,
        loc.subject, loc.pointer, loc.file, loc.line, loc.column, r.message,
        r.pipeline_arn, r.account, r.region, r.stage, r.action,
        tuple(r.evidence.items()) if r.evidence else (), r.suppressed, r.pipeline_ref,
    )  # fmt: skip


def _unpack(t: _Packed) -> Result:
    return Result(
        rule_id=t[0],
        slug=t[1],
        title=t[2],
        severity=_SEVERITIES[t[3]],
        status=_STATUSES[t[4]],
        pipeline=t[5],
        location=Location(t[6], t[7], t[8], t[9], t[10]),
        message=t[11],
        pipeline_arn=t[12],
        account=t[13],
        region=t[14],
        stage=t[15],
        action=t[16],
        evidence=dict(t[17]),
        suppressed=t[18],
        pipeline_ref=t[19],
    )


def _skeleton(p: Pipeline) -> Pipeline:
    """What reports read of a pipeline (names, ARN, file, location), without its body."""
    return replace(
        p, stages=(), declaration=None, triggers=(), artifact_stores=(), tags={}, suppressions=()
    )


@dataclass(frozen=True, slots=True)
class _ChunkOut:
    results: tuple[_Packed, ...]
    pipelines: tuple[Pipeline, ...]
    crashes: tuple[RuleCrash, ...]
    load_notes: tuple[str, ...]
    scan_notes: tuple[str, ...]
    gaps: tuple[str, ...]
    errors: tuple[InputError, ...]
    files: tuple[str, ...]


def _run_chunk(
    units: Sequence[Unit], rules: Sequence[Rule], config: Config, today: dt.date
) -> _ChunkOut:
    with collector_paused():
        loaded = load_units(units)
        result = scan(loaded.inventories, rules=rules, config=config, today=today)
        return _ChunkOut(
            results=tuple(_pack(r) for r in result.results),
            # The declaration stays in the worker: reports need only the pipeline's identity.
            pipelines=tuple(_skeleton(p) for p in result.pipelines),
            crashes=result.crashes,
            load_notes=tuple(loaded.notes),
            scan_notes=result.notes,
            gaps=result.gaps,
            errors=tuple(loaded.errors),
            files=tuple(loaded.files),
        )


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def scan_paths(
    paths: Iterable[Path],
    *,
    rules: Sequence[Rule],
    config: Config,
    jobs: int = 1,
    today: dt.date | None = None,
) -> PathScan:
    """Load every path and evaluate ``rules``. Raises InputError for a bad explicit path."""
    today = today or dt.datetime.now(dt.UTC).date()
    units = plan_units(paths)
    if jobs <= 1 or len(units) < _PARALLEL_THRESHOLD:
        with collector_paused():
            loaded: LoadResult = load_units(units)
            result = scan(
                loaded.inventories, rules=rules, config=config, today=today, notes=loaded.notes
            )
        return PathScan(
            replace(result, inputs=tuple(loaded.files), notes=_dedupe(result.notes)),
            tuple(loaded.errors),
            tuple(loaded.files),
        )
    # Errors in files named explicitly are fatal: check those first, in this process,
    # so that the error is raised here rather than inside a worker.
    load_units([u for u in units if u.explicit])
    size = max(1, -(-len(units) // (jobs * 4)))
    chunks = [units[i : i + size] for i in range(0, len(units), size)]
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        outs = list(
            pool.map(
                _run_chunk,
                chunks,
                [rules] * len(chunks),
                [config] * len(chunks),
                [today] * len(chunks),
            )
        )
    files = tuple(f for o in outs for f in o.files)
    with collector_paused():
        results = tuple(_unpack(r) for o in outs for r in o.results)
    merged = ScanResult(
        results=results,
        rules=tuple(rules),
        pipelines=tuple(p for o in outs for p in o.pipelines),
        crashes=tuple(c for o in outs for c in o.crashes),
        # As a serial scan lists them: every load note, then every scan note.
        notes=_dedupe(
            [*(n for o in outs for n in o.load_notes), *(n for o in outs for n in o.scan_notes)]
        ),
        gaps=tuple(g for o in outs for g in o.gaps),
        inputs=files,
    )
    errors = tuple(e for o in outs for e in o.errors)
    return PathScan(merged, errors, files)
