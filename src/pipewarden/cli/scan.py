"""``pipewarden scan PATH...`` / ``pipewarden scan --aws``: evaluate every rule on every
pipeline and report.

``--aws`` collects a snapshot from AWS (the scope options of ``pipewarden
collect``) and scans it in memory through the same parser as a snapshot file,
so the report equals that of ``pipewarden scan`` on the snapshot written with
``--save-snapshot``.

Exit codes (the first that applies wins):

* 3: a rule crashed (the scan completes; that rule's result is unknown);
* 2: an input could not be read. A file named on the command line stops the
  scan with a one-line error; a bad file found while walking a directory is
  reported (stderr and the report's notes) and the rest are scanned, but the
  exit code is still 2, so a corrupt or hostile file never lets a CI gate pass;
* 1: an unsuppressed failing result at or above ``--fail-on`` (default high);
* 0: otherwise (always, for the findings, with ``--fail-on none``).

``--db URL`` (or ``--store``, for ``$PIPEWARDEN_DB`` else the default SQLite
file in the user data directory) stores every result after the report is
written, so ``pipewarden history PIPELINE`` can say when each rule changed
state; a database that cannot be written is exit code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli import _asff
from pipewarden.cli._io import Context, emit, positive_int, resolve_rule, say
from pipewarden.cli.collect import add_scope_arguments
from pipewarden.config import Config, load_config
from pipewarden.errors import ConfigError, Error
from pipewarden.model import Severity, Status
from pipewarden.report import DEFAULT_FORMAT, FORMATS, render

if TYPE_CHECKING:
    from pipewarden.engine import ScanResult
    from pipewarden.rules._api import Rule
    from pipewarden.runner import PathScan

__all__ = ["FAIL_ON_CHOICES", "add_parser", "run"]

FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "none")
DEFAULT_FAIL_ON = "high"


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``scan`` sub-command."""
    parser = sub.add_parser(
        "scan",
        help="scan pipeline definitions and report every rule's result",
        description=(
            "Scan pipeline definitions (get-pipeline JSON, CloudFormation/CDK, Terraform plan "
            "or .tf, snapshots); directories are walked recursively."
        ),
        epilog=(
            "exit codes: 0 nothing at or above --fail-on; 1 unsuppressed failures at or above "
            "it; 2 usage or input error (also when any file in a directory could not be read); "
            "3 internal error such as a rule crash"
        ),
    )
    parser.add_argument(
        "paths", metavar="PATH", nargs="*", type=Path, help="file or directory (not with --aws)"
    )
    parser.add_argument(
        "--aws",
        action="store_true",
        help="scan AWS accounts live instead of files (see the AWS scope options)",
    )
    parser.add_argument(
        "--save-snapshot",
        metavar="FILE",
        type=Path,
        help="with --aws: also write the collected snapshot to FILE",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default=DEFAULT_FORMAT,
        help=f"report format (default {DEFAULT_FORMAT})",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write the report to FILE (UTF-8)"
    )
    _asff.add_arguments(parser)  # --asff-account/--asff-region, --to-security-hub
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=DEFAULT_FAIL_ON,
        help=f"exit 1 on unsuppressed failures at or above this severity (default {DEFAULT_FAIL_ON})",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="configuration file (default: pipewarden.toml, else [tool.pipewarden] in "
        "pyproject.toml, in the current directory)",
    )
    parser.add_argument(
        "--rule",
        dest="only",
        metavar="ID",
        action="append",
        default=[],
        help="run only this rule (id or slug; repeatable or comma-separated)",
    )
    parser.add_argument(
        "--skip-rule",
        dest="skip",
        metavar="ID",
        action="append",
        default=[],
        help="do not run this rule (id or slug; repeatable or comma-separated)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=None,
        help="worker processes for large directory scans (default: the CPUs available)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    _add_history_arguments(parser)
    add_scope_arguments(parser)
    parser.set_defaults(command=run)


def _add_history_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("history").add_mutually_exclusive_group()
    group.add_argument(
        "--db",
        metavar="URL",
        help="also store the results in this database (postgresql://..., sqlite:///FILE or a "
        "file path) for `pipewarden history`",
    )
    group.add_argument(
        "--store",
        action="store_true",
        help="also store the results in the default database ($PIPEWARDEN_DB, else "
        "pipewarden.db in the user data directory)",
    )


def _record(args: argparse.Namespace, ctx: Context, result: ScanResult) -> None:
    """Store the results of the scan (``--db``/``--store``)."""
    if not (args.db or args.store):
        return
    from pipewarden.store import open_store

    store = open_store(args.db or ctx.environ.get("PIPEWARDEN_DB") or None)
    try:
        source = "aws" if args.aws else " ".join(str(p) for p in args.paths)
        rows = [(r.pipeline_arn or r.pipeline, r) for r in result.results]
        scan_id = store.record_scan("scan", source, rows)
    finally:
        store.close()
    say(ctx.stderr, "", f"stored {len(rows)} result(s) as scan {scan_id}")


def _rule_keys(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _config(ctx: Context, path: Path | None) -> Config:
    known: dict[str, str] = {}
    for rule in (*ctx.known_rules, *ctx.rules):
        meta = rule.meta
        for key in (meta.id, meta.slug, *meta.aliases):
            known.setdefault(key, meta.id)
    return load_config(path, known_rules=known, search_from=Path.cwd())


def _counts(scan: ScanResult) -> str:
    fails = [r for r in scan.results if r.status is Status.FAIL and r.suppressed is None]
    unknown = sum(1 for r in scan.results if r.status is Status.UNKNOWN and r.suppressed is None)
    passed = sum(1 for r in scan.results if r.status is Status.PASS)
    by_sev = ", ".join(
        f"{n} {sev}"
        for sev in sorted(Severity, key=lambda s: -s.rank)
        if (n := sum(1 for r in fails if r.severity is sev))
    )
    failing = f"{len(fails)} failing" + (f" ({by_sev})" if by_sev else "")
    return f"{len(scan.pipelines)} pipeline(s): {failing}, {unknown} unknown, {passed} passed"


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Run a scan; returns the exit code."""
    from pipewarden.engine import selected_rules
    from pipewarden.runner import default_jobs, scan_paths

    only = [resolve_rule(k, ctx.rules).meta.id for k in _rule_keys(args.only)]
    skip = [resolve_rule(k, ctx.rules).meta.id for k in _rule_keys(args.skip)]
    config = _config(ctx, args.config)
    rules = selected_rules(ctx.rules, config, only=only, skip=skip)
    if not rules:
        say(ctx.stderr, "warning", "no rules selected: every rule is skipped or disabled")
    threshold = None if args.fail_on == "none" else Severity(args.fail_on)
    jobs = args.jobs if args.jobs is not None else default_jobs()

    _check_inputs(args)
    if args.aws:
        scanned = _scan_aws(args, ctx, rules=rules, config=config)
    else:
        scanned = scan_paths(args.paths, rules=rules, config=config, jobs=jobs, today=ctx.today)
    result = scanned.result
    for error in scanned.errors:
        say(ctx.stderr, "error", f"{error.diagnostics()} (file not scanned)")
    if scanned.errors:
        result = dataclasses.replace(
            result,
            notes=(*result.notes, *(f"not scanned: {e.diagnostics()}" for e in scanned.errors)),
        )
    if not result.pipelines and not scanned.errors:
        where = "the AWS accounts and regions read" if args.aws else _paths_text(args.paths)
        say(ctx.stderr, "warning", "no pipeline definition found in " + where)
    for crash in result.crashes:
        say(
            ctx.stderr,
            "error",
            f"rule {crash.rule_id} crashed on pipeline {crash.pipeline}: {crash.message} "
            "(its result is unknown)",
        )

    color = (
        args.format == "table"
        and args.output is None
        and _isatty(ctx)
        and "NO_COLOR" not in ctx.environ
    )
    text = render(result, args.format, color=color, **_asff.render_options(args))
    if args.output is not None:
        _write(args.output, text)
        say(ctx.stderr, "", f"wrote {args.format} report to {args.output}: {_counts(result)}")
    else:
        emit(ctx.stdout, text)

    imported = _asff.export(args, ctx, result)  # --to-security-hub: 2 when nothing got in
    _record(args, ctx, result)  # --db/--store

    if result.crashes:
        return 3
    if scanned.errors or imported:
        return 2
    if result.failures(threshold):
        return 1
    return 0


_SCOPE_OPTIONS = (
    ("profile", None),
    ("regions", None),
    ("accounts", None),
    ("org", False),
    ("role_name", "PipeWardenReadOnly"),
    ("external_id", None),
    ("assume_role", None),
    ("endpoint_url", None),
    ("emulator", False),
    ("shard", None),
    ("max_workers", 8),
    ("save_snapshot", None),
)


def _check_inputs(args: argparse.Namespace) -> None:
    if args.aws and args.paths:
        raise ConfigError("give either PATH arguments or --aws, not both")
    if not args.aws and not args.paths:
        raise ConfigError("nothing to scan: give a PATH, or --aws for a live scan")
    if not args.aws:
        used = [
            "--" + name.replace("_", "-")
            for name, default in _SCOPE_OPTIONS
            if getattr(args, name) != default
        ]
        if used:
            raise ConfigError(f"{', '.join(used)} only apply with --aws")


def _scan_aws(
    args: argparse.Namespace, ctx: Context, *, rules: Sequence[Rule], config: Config
) -> PathScan:
    """Collect, then scan the snapshot document exactly as a snapshot file is scanned."""
    from pipewarden.cli.collect import collect_snapshot, gap_lines, write_snapshot
    from pipewarden.engine import scan
    from pipewarden.parse.snapshot import parse_snapshot
    from pipewarden.runner import PathScan

    doc = collect_snapshot(args, ctx)
    if args.save_snapshot is not None:
        write_snapshot(args.save_snapshot, doc)
        say(ctx.stderr, "", f"wrote snapshot {args.save_snapshot}")
    for line in gap_lines(doc):
        say(ctx.stderr, "warning", line)
    inventory = parse_snapshot(doc, source=_LIVE_SOURCE)
    result = scan([inventory], rules=rules, config=config, today=ctx.today)
    inputs = (_LIVE_SOURCE,) if inventory.pipelines else ()
    result = dataclasses.replace(result, inputs=inputs, notes=tuple(dict.fromkeys(result.notes)))
    return PathScan(result, (), inputs)


_LIVE_SOURCE = "aws"


def _paths_text(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def _isatty(ctx: Context) -> bool:
    isatty = getattr(ctx.stdout, "isatty", None)
    return bool(isatty()) if callable(isatty) else False


def _write(path: Path, text: str) -> None:
    try:
        with path.open("w", encoding="utf-8", errors="backslashreplace", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise Error(f"{path}: cannot write the report: {exc.strerror or exc}") from exc
