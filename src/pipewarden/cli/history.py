"""``pipewarden history PIPELINE``: when each rule changed state for a pipeline,
from the runs stored in the database (scans stored with ``scan --db``/``--store``,
drift checks and watch passes), plus its baseline approvals and drift events,
oldest first, as JSON lines on stdout.

PIPELINE is the key the pipeline is stored under (its ARN, or its name for
inputs that name no ARN); a bare name also finds the ARNs of pipelines of that
name (one set of lines per pipeline, each line naming it)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.cli.baseline import add_db_argument

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``history`` sub-command."""
    parser = sub.add_parser(
        "history",
        help="show when each rule changed state for a pipeline (from the store)",
        description="Rule state changes, baseline approvals and drift events of one pipeline.",
    )
    parser.add_argument("pipeline", metavar="PIPELINE", help="pipeline ARN or name")
    add_db_argument(parser)
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Print the history; returns the exit code."""
    from pipewarden.cli.drift import store_url
    from pipewarden.store import open_store

    store = open_store(store_url(args, ctx))
    lines: list[dict[str, Any]] = []
    try:
        keys = store.pipeline_keys(args.pipeline)
        for key in keys:
            lines += [
                {"type": "rule-state", "pipeline": key, **change}
                for change in store.rule_history(key)
            ]
            lines += [
                {
                    "type": "baseline",
                    "pipeline": key,
                    "hash": h,
                    "by": by,
                    "at": at.isoformat(),
                    "reason": why,
                }
                for h, by, at, why in store.baseline_history(key)
            ]
            lines += [
                {
                    "type": "drift-event",
                    **{k: v for k, v in e.items() if k not in ("findings", "pipeline")},
                    "pipeline": key,
                }
                for e in store.drift_events(key)
            ]
    finally:
        store.close()
    if not keys:
        say(ctx.stderr, "warning", f"nothing is stored for pipeline `{args.pipeline}`")
    lines.sort(key=lambda line: str(line.get("at", "")))
    for line in lines:
        emit(ctx.stdout, json.dumps(line, sort_keys=True, default=str) + "\n")
    return 0
