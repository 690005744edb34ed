"""``pipewarden reach ARTIFACT --osv PATH``: which vulnerable dependencies the code can reach.

Exit codes: 0 nothing at or above ``--fail-on``; 1 a finding at or above it
(default: a reachable vulnerability); 2 usage or input error; 3 internal error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.errors import Error

__all__ = ["FAIL_ON", "add_parser", "run"]

FAIL_ON = ("reachable", "unknown", "never")
_FORMATS = ("table", "json", "openvex", "cyclonedx", "sarif")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``reach`` sub-command."""
    parser = sub.add_parser(
        "reach",
        help="tell which vulnerable dependencies an artifact can actually reach (VEX)",
        description=(
            "Analyse a Python build output (a directory or zip: application code plus installed "
            "dependencies, or requirements/lock-file pins) against OSV records, and report for "
            "each vulnerable package whether the vulnerable code is reachable from the entry "
            "points: not-installed, not-imported, symbol-not-referenced, no-call-path, "
            "reachable (with the call path) or unknown."
        ),
        epilog=(
            "exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it; "
            "2 usage or input error; 3 internal error"
        ),
    )
    parser.add_argument("artifact", metavar="ARTIFACT", type=Path, help="directory or zip archive")
    parser.add_argument(
        "--osv",
        metavar="PATH",
        type=Path,
        action="append",
        required=True,
        help="OSV records: a JSON/YAML file (one record or a list), a directory, or an OSV zip "
        "export; repeat to add overlays with symbol data",
    )
    parser.add_argument(
        "--entry",
        metavar="MODULE[:FUNCTION]",
        action="append",
        default=[],
        help="an entry point (repeatable); console scripts, __main__, Lambda handlers from a "
        "SAM/CloudFormation template and WSGI/ASGI app objects are found automatically",
    )
    parser.add_argument(
        "--template",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a SAM/CloudFormation template naming Lambda handlers (templates inside the "
        "artifact are read anyway)",
    )
    parser.add_argument(
        "-f", "--format", choices=_FORMATS, default="table", help="report format (default table)"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write the report to FILE"
    )
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        default="reachable",
        help="exit 1 when a finding is reachable (default), or reachable or unknown; never: exit 0",
    )
    parser.add_argument(
        "--product",
        metavar="ID",
        help="VEX product identifier (default pkg:generic/<artifact name>)",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        type=Path,
        help="parse cache directory (default $PIPEWARDEN_CACHE_DIR, else "
        "$XDG_CACHE_HOME/pipewarden or ~/.cache/pipewarden)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="do not read or write the parse cache"
    )
    parser.add_argument(
        "-j", "--jobs", type=_jobs, default=2, help="worker processes for parsing (default 2)"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Run the analysis; returns the exit code."""
    from pipewarden.reach.analysis import analyze
    from pipewarden.reach.model import Tier
    from pipewarden.reach.render import render

    report = analyze(
        args.artifact,
        args.osv,
        entries=args.entry,
        templates=args.template,
        cache_dir=args.cache_dir,
        use_cache=not args.no_cache,
        jobs=args.jobs,
        environ=dict(ctx.environ),
    )
    color = (
        args.format == "table"
        and args.output is None
        and _isatty(ctx)
        and "NO_COLOR" not in ctx.environ
    )
    text = render(report, args.format, color=color, product=args.product)
    if args.output is not None:
        try:
            with args.output.open("w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        except OSError as exc:
            raise Error(f"{args.output}: cannot write the report: {exc.strerror or exc}") from exc
        cut = report.noise_cut
        say(
            ctx.stderr,
            "",
            f"wrote {args.format} report to {args.output}: {len(report.findings)} finding(s), "
            f"noise cut {'n/a' if cut is None else f'{cut * 100:.0f}%'}",
        )
    else:
        emit(ctx.stdout, text)
    failing = {Tier.REACHABLE} if args.fail_on == "reachable" else {Tier.REACHABLE, Tier.UNKNOWN}
    if args.fail_on != "never" and any(f.tier in failing for f in report.findings):
        return 1
    return 0


def _isatty(ctx: Context) -> bool:
    isatty = getattr(ctx.stdout, "isatty", None)
    return bool(isatty()) if callable(isatty) else False
