"""``pipewarden drift check INPUT...``: compare each pipeline declaration with its
approved baseline and report PW901 (weakening) and PW902 (any other change).

The report has the formats and ``results`` shape of ``pipewarden scan``. Exit
codes: 0 nothing at or above ``--fail-on`` (default high, so any PW901 fails);
1 unsuppressed failures at or above it; 2 usage, input or database error;
3 internal error. ``pipewarden drift handle-event`` judges one EventBridge
CloudTrail event instead (see :mod:`pipewarden.drift.events`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.cli.baseline import add_db_argument
from pipewarden.cli.scan import DEFAULT_FAIL_ON, FAIL_ON_CHOICES
from pipewarden.errors import ConfigError
from pipewarden.model import Severity
from pipewarden.report import DEFAULT_FORMAT, FORMATS, render

if TYPE_CHECKING:
    from pipewarden.model import Pipeline

__all__ = ["add_parser", "load_pipelines", "store_url"]


def store_url(args: argparse.Namespace, ctx: Context) -> str | None:
    """``--db``, else ``$PIPEWARDEN_DB`` from the command's environment."""
    url = getattr(args, "db", None) or ctx.environ.get("PIPEWARDEN_DB")
    return str(url) if url else None


def load_pipelines(paths: Sequence[Path]) -> list[Pipeline]:
    """Every pipeline in ``paths``; the first unreadable input is an error."""
    from pipewarden.parse import load_paths

    loaded = load_paths(paths)
    if loaded.errors:
        raise loaded.errors[0]
    return [p for inventory in loaded.inventories for p in inventory.pipelines]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``drift`` sub-command."""
    parser = sub.add_parser(
        "drift",
        help="compare pipeline declarations with their approved baselines",
        description="Detect changes to pipeline declarations since their approved baseline.",
        epilog="exit codes: 0 nothing at or above --fail-on; 1 failures at or above it; "
        "2 usage, input or database error; 3 internal error",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    check = actions.add_parser(
        "check",
        help="report PW901/PW902 for every pipeline in INPUT",
        description="Compare each pipeline in INPUT with its approved baseline.",
    )
    check.add_argument("paths", metavar="INPUT", nargs="+", type=Path, help="file or directory")
    check.add_argument(
        "-f", "--format", choices=FORMATS, default=DEFAULT_FORMAT, help="report format"
    )
    check.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=DEFAULT_FAIL_ON,
        help=f"exit 1 on failures at or above this severity (default {DEFAULT_FAIL_ON})",
    )
    check.add_argument(
        "--no-record", action="store_true", help="do not store the results and drift events"
    )
    add_db_argument(check)
    check.set_defaults(command=run_check)
    handle = actions.add_parser(
        "handle-event",
        help="judge one EventBridge CloudTrail event read from stdin (JSON finding on stdout)",
        description="Read an EventBridge event (CloudTrail UpdatePipeline, CreatePipeline, "
        "DeletePipeline, PutWebhook or CodeBuild UpdateProject) from stdin, diff the "
        "declaration it carries against the baseline and print the finding as JSON.",
    )
    add_db_argument(handle)
    handle.set_defaults(command=run_handle_event)
    parser.set_defaults(command=_need_action)


def _need_action(_args: argparse.Namespace, _ctx: Context) -> int:
    raise ConfigError(
        "an action is required: check or handle-event (see `pipewarden drift --help`)"
    )


def run_check(args: argparse.Namespace, ctx: Context) -> int:
    """Run a drift check; returns the exit code."""
    from pipewarden.drift.normalise import canonical, declaration_hash
    from pipewarden.drift.results import drift_result, pipeline_key
    from pipewarden.model import Status
    from pipewarden.store import open_store

    pipelines = load_pipelines(args.paths)
    if not pipelines:
        say(ctx.stderr, "warning", "no pipeline definition found")
    store = open_store(store_url(args, ctx))
    try:
        keys = [pipeline_key(p) for p in pipelines]
        baselines = store.baselines(keys)
        pairs = [
            (p, baselines[k].declaration if k in baselines else None)
            for p, k in zip(pipelines, keys, strict=True)
        ]
        result = drift_result(pairs, inputs=[str(p) for p in args.paths])
        missing = [k for k in keys if k not in baselines]
        if missing:
            say(ctx.stderr, "warning", f"{len(missing)} pipeline(s) have no approved baseline")
        if not args.no_record:
            by_ref = dict(zip((str(p.loc) for p in pipelines), keys, strict=False))
            rows = [(by_ref.get(r.pipeline_ref or "", r.pipeline), r) for r in result.results]
            store.record_scan("drift-check", " ".join(map(str, args.paths)), rows)
            for pipeline, key in zip(pipelines, keys, strict=True):
                if key not in baselines:
                    continue
                current = canonical(pipeline)
                digest = declaration_hash(current)
                if digest == baselines[key].hash:
                    continue
                findings = [
                    {"rule_id": r.rule_id, **r.evidence}
                    for row_key, r in rows
                    if row_key == key and r.status is Status.FAIL
                ]
                store.record_drift(
                    key,
                    event_name="drift-check",
                    actor="",
                    baseline_hash=baselines[key].hash,
                    current_hash=digest,
                    findings=findings,
                )
    finally:
        store.close()
    emit(ctx.stdout, render(result, args.format))
    threshold = None if args.fail_on == "none" else Severity(args.fail_on)
    return 1 if result.failures(threshold) else 0


def run_handle_event(args: argparse.Namespace, ctx: Context) -> int:
    """Judge one event from stdin; returns 1 when it weakens a pipeline."""
    import json

    from pipewarden.drift.lambda_handler import handle_event

    text = sys.stdin.read(4 * 1024 * 1024 + 1)
    if len(text) > 4 * 1024 * 1024:
        raise ConfigError("event on stdin is larger than 4 MiB")
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"stdin is not a JSON event: {exc.msg} at line {exc.lineno}") from None
    finding = handle_event(event, db=store_url(args, ctx))
    emit(ctx.stdout, json.dumps(finding, indent=2, sort_keys=True) + "\n")
    return 1 if finding.get("weakening") else 0
