"""``pipewarden drift check|handle-event|watch``: pipeline declarations (and the
CodeBuild projects they run) against their approved baselines.

``check INPUT...`` compares every pipeline in INPUT and reports PW901
(weakening) and PW902 (any other change) with the formats and ``results``
shape of ``pipewarden scan``. ``handle-event`` judges one EventBridge
CloudTrail event read from stdin (see :mod:`pipewarden.drift.events`) and can
send the finding to SNS and Security Hub. ``watch`` polls the pipeline
versions of the caller's account for accounts without EventBridge.

Exit codes: 0 nothing at or above ``--fail-on`` (default high, so any PW901
fails; ``handle-event``: the event weakens nothing); 1 failures at or above
it; 2 usage, input, database or AWS error (also a destination the finding
could not be sent to); 3 internal error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.cli.baseline import add_db_argument
from pipewarden.cli.scan import DEFAULT_FAIL_ON, FAIL_ON_CHOICES
from pipewarden.errors import ConfigError, Error
from pipewarden.model import Severity
from pipewarden.report import DEFAULT_FORMAT, FORMATS, render

if TYPE_CHECKING:
    from pipewarden.drift.emit import Emission
    from pipewarden.model import Inventory, Pipeline

__all__ = ["add_parser", "load_inventories", "load_pipelines", "store_url"]

_MAX_EVENT = 4 * 1024 * 1024


def store_url(args: argparse.Namespace, ctx: Context) -> str | None:
    """``--db``, else ``$PIPEWARDEN_DB`` from the command's environment."""
    url = getattr(args, "db", None) or ctx.environ.get("PIPEWARDEN_DB")
    return str(url) if url else None


def load_inventories(paths: Sequence[Path]) -> list[Inventory]:
    """Every inventory in ``paths``; the first unreadable input is an error."""
    from pipewarden.parse import load_paths

    loaded = load_paths(paths)
    if loaded.errors:
        raise loaded.errors[0]
    return list(loaded.inventories)


def load_pipelines(paths: Sequence[Path]) -> list[Pipeline]:
    """Every pipeline in ``paths``; the first unreadable input is an error."""
    return [p for inventory in load_inventories(paths) for p in inventory.pipelines]


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number of seconds") from None
    if not value >= 1:
        raise argparse.ArgumentTypeError("must be at least 1 second")
    return value


def _regions(values: Sequence[str] | None) -> list[str]:
    parts = [p.strip() for v in values or () for p in v.split(",") if p.strip()]
    return list(dict.fromkeys(parts))


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--format", choices=FORMATS, default=DEFAULT_FORMAT, help="report format"
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=DEFAULT_FAIL_ON,
        help=f"exit 1 on failures at or above this severity (default {DEFAULT_FAIL_ON})",
    )


def _add_emission_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("alerts")
    group.add_argument(
        "--sns-topic",
        metavar="ARN",
        help="also publish each finding with a change to this SNS topic "
        "(default $PIPEWARDEN_SNS_TOPIC)",
    )
    group.add_argument(
        "--to-security-hub",
        action="store_true",
        help="also import the failing results into AWS Security Hub and archive the earlier "
        "drift findings of the same pipelines (also $PIPEWARDEN_SECURITY_HUB=true)",
    )


def _add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS")
    group.add_argument(
        "--profile", metavar="NAME", help="AWS profile (default: the standard chain)"
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to this endpoint (an emulator; default AWS_ENDPOINT_URL)",
    )


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``drift`` sub-command."""
    parser = sub.add_parser(
        "drift",
        help="compare pipeline declarations with their approved baselines",
        description="Detect changes to pipeline declarations since their approved baseline.",
        epilog="exit codes: 0 nothing at or above --fail-on; 1 failures at or above it; "
        "2 usage, input, database or AWS error; 3 internal error",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", parser_class=type(parser))
    check = actions.add_parser(
        "check",
        help="report PW901/PW902 for every pipeline in INPUT",
        description="Compare each pipeline in INPUT (and the CodeBuild projects it runs, when "
        "the input holds them) with its approved baseline.",
    )
    check.add_argument("paths", metavar="INPUT", nargs="+", type=Path, help="file or directory")
    _add_report_arguments(check)
    check.add_argument(
        "--no-record", action="store_true", help="do not store the results and drift events"
    )
    add_db_argument(check)
    check.set_defaults(command=run_check)

    handle = actions.add_parser(
        "handle-event",
        help="judge one EventBridge CloudTrail event read from stdin (JSON finding on stdout)",
        description="Read an EventBridge event (CloudTrail UpdatePipeline, CreatePipeline, "
        "DeletePipeline, PutWebhook or CodeBuild UpdateProject) from stdin, diff what it "
        "changes against the baseline and print the finding as JSON.",
    )
    add_db_argument(handle)
    _add_emission_arguments(handle)
    _add_aws_arguments(handle)
    handle.set_defaults(command=run_handle_event)

    watch = actions.add_parser(
        "watch",
        help="poll pipeline versions and report drift (for accounts without EventBridge)",
        description="Every --interval seconds, list the pipelines of the caller's account "
        "(ListPipelines), fetch only those whose version changed since the last pass "
        "(GetPipeline) and compare them with their baselines, as `drift check` does. The "
        "versions seen are kept in the store.",
    )
    watch.add_argument(
        "--regions",
        metavar="LIST",
        action="append",
        help="regions to watch, comma-separated (default: the session's region)",
    )
    watch.add_argument(
        "--interval",
        metavar="SECONDS",
        type=_interval,
        default=300.0,
        help="seconds between passes (default 300)",
    )
    watch.add_argument("--once", action="store_true", help="run one pass and exit")
    _add_report_arguments(watch)
    add_db_argument(watch)
    _add_emission_arguments(watch)
    _add_aws_arguments(watch)
    watch.set_defaults(command=run_watch)
    parser.set_defaults(command=_need_action)


def _need_action(_args: argparse.Namespace, _ctx: Context) -> int:
    raise ConfigError(
        "an action is required: check, handle-event or watch (see `pipewarden drift --help`)"
    )


def run_check(args: argparse.Namespace, ctx: Context) -> int:
    """Run a drift check; returns the exit code."""
    from pipewarden.drift.check import check
    from pipewarden.store import open_store

    inventories = load_inventories(args.paths)
    if not any(inv.pipelines for inv in inventories):
        say(ctx.stderr, "warning", "no pipeline definition found")
    store = open_store(store_url(args, ctx))
    try:
        outcome = check(
            store,
            inventories,
            inputs=[str(p) for p in args.paths],
            record=not args.no_record,
            source=" ".join(map(str, args.paths)),
        )
    finally:
        store.close()
    if outcome.unbaselined:
        say(
            ctx.stderr,
            "warning",
            f"{len(outcome.unbaselined)} pipeline(s) have no approved baseline",
        )
    emit(ctx.stdout, render(outcome.result, args.format))
    threshold = None if args.fail_on == "none" else Severity(args.fail_on)
    return 1 if outcome.result.failures(threshold) else 0


def _emission(args: argparse.Namespace, ctx: Context) -> Emission:
    from pipewarden.drift.emit import Emission

    return Emission.from_environ(
        ctx.environ,
        sns_topic=args.sns_topic,
        security_hub=args.to_security_hub,
        profile=args.profile,
        endpoint_url=args.endpoint_url or ctx.environ.get("AWS_ENDPOINT_URL") or None,
    )


def _report_emission(ctx: Context, errors: Sequence[str]) -> int:
    for error in errors:
        say(ctx.stderr, "error", f"finding not delivered: {error}")
    return 2 if errors else 0


def run_handle_event(args: argparse.Namespace, ctx: Context) -> int:
    """Judge one event from stdin; returns 1 when it weakens a pipeline."""
    import json

    from pipewarden.drift.lambda_handler import emission_errors, handle_event

    text = sys.stdin.read(_MAX_EVENT + 1)
    if len(text) > _MAX_EVENT:
        raise ConfigError("event on stdin is larger than 4 MiB")
    try:
        event = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"stdin is not a JSON event: {exc.msg} at line {exc.lineno}") from None
    finding = handle_event(event, db=store_url(args, ctx), emission=_emission(args, ctx))
    emit(ctx.stdout, json.dumps(finding, indent=2, sort_keys=True) + "\n")
    if _report_emission(ctx, emission_errors(finding)):
        return 2
    return 1 if finding.get("weakening") else 0


def run_watch(
    args: argparse.Namespace,
    ctx: Context,
    *,
    sleep: Callable[[float], None] = time.sleep,
    session: Any = None,
) -> int:
    """Poll; with ``--once`` one pass and its exit code, else until interrupted."""
    from pipewarden.collect.pipeline_watch import PipelineVersions
    from pipewarden.store import open_store

    emission = _emission(args, ctx)
    source = PipelineVersions(
        session=session,
        profile=args.profile,
        regions=_regions(args.regions),
        endpoint_url=emission.endpoint_url,
    )
    threshold = None if args.fail_on == "none" else Severity(args.fail_on)
    store = open_store(store_url(args, ctx))
    try:
        if args.once:
            return _one_pass(args, ctx, store, source, emission, threshold)
        while True:
            try:
                _one_pass(args, ctx, store, source, emission, threshold)
            except Error as exc:  # a failed pass (throttling, a network error): try again
                say(ctx.stderr, "error", f"{exc.diagnostics()} (next pass in {args.interval:g} s)")
            sleep(args.interval)
    except KeyboardInterrupt:
        return 0
    finally:
        store.close()


def _one_pass(
    args: argparse.Namespace,
    ctx: Context,
    store: Any,
    source: Any,
    emission: Emission,
    threshold: Severity | None,
) -> int:
    from pipewarden.drift.watch import watch_once

    done = watch_once(store, source)
    say(
        ctx.stderr,
        "",
        f"watch: {done.listed} pipeline(s) listed in {', '.join(source.regions)}; "
        f"{len(done.fetched)} fetched, {len(done.changed)} changed since their baseline, "
        f"{len(done.deleted)} deleted",
    )
    if args.once or done.result.pipelines:
        emit(ctx.stdout, render(done.result, args.format))
    errors: list[str] = []
    if emission.wanted:
        errors = _emit_pass(done, source.account, emission)
    code = _report_emission(ctx, errors)
    if code:
        return code
    return 1 if done.result.failures(threshold) else 0


def _emit_pass(done: Any, account: str, emission: Emission) -> list[str]:
    """One finding per pipeline with a change, or whose version moved (a pipeline
    put back to its baseline: its earlier drift findings are archived), sent
    like an event's. A pipeline seen for the first time without a change sends
    nothing, so a first pass over a large account stays quiet."""
    import json

    from pipewarden.drift.emit import emit as send
    from pipewarden.drift.lambda_handler import emission_errors
    from pipewarden.drift.results import DRIFT_RULES
    from pipewarden.engine import ScanResult

    rendered = json.loads(render(done.result, "json"))["results"]
    errors: list[str] = []
    for pipeline in done.result.pipelines:
        ref = str(pipeline.loc)
        own = tuple(r for r in done.result.results if r.pipeline_ref == ref)
        results = [r for r in rendered if r.get("pipeline_ref") == ref]
        key = pipeline.arn or pipeline.display_name
        failing = any(r.get("status") == "fail" for r in results)
        if not failing and key not in done.moved:
            continue
        finding = {
            "event": "drift-watch",
            "account": pipeline.account or account,
            "region": pipeline.region,
            "pipeline": key,
            "pipelines": [key],
            "baselined": all(r.get("status") != "unknown" for r in results),
            "weakening": any(
                r.get("rule_id") == "PW901" and r.get("status") == "fail" for r in results
            ),
            "results": results,
        }
        single = ScanResult(results=own, rules=DRIFT_RULES, pipelines=(pipeline,))
        finding["emitted"] = send(finding, single, emission)
        errors += emission_errors(finding)
    return errors
