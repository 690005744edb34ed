"""``pipewarden history PIPELINE``: when each rule changed state for a pipeline,
from the runs stored in the database (drift checks, and scans stored with
``--db``), plus its baseline approvals and drift events. JSON lines on stdout."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pipewarden.cli._io import Context, emit
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
    from pipewarden.cli.drift import store_url
    from pipewarden.store import open_store

    store = open_store(store_url(args, ctx))
    try:
        lines: list[dict[str, Any]] = [
            {"type": "rule-state", **change} for change in store.rule_history(args.pipeline)
        ]
        lines += [
            {"type": "baseline", "hash": h, "by": by, "at": at.isoformat(), "reason": why}
            for h, by, at, why in store.baseline_history(args.pipeline)
        ]
        lines += [
            {"type": "drift-event", **{k: v for k, v in e.items() if k != "findings"}}
            for e in store.drift_events(args.pipeline)
        ]
    finally:
        store.close()
    for line in lines:
        emit(ctx.stdout, json.dumps(line, sort_keys=True, default=str) + "\n")
    return 0
