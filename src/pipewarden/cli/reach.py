"""``pipewarden reach ARTIFACT --osv PATH``: which vulnerable dependencies the code can reach.

Exit codes: 0 nothing at or above ``--fail-on``; 1 a finding at or above it
(default: a reachable vulnerability); 2 usage or input error; 3 internal error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, positive_int, say
from pipewarden.errors import ConfigError, Error

if TYPE_CHECKING:
    from pipewarden.reach.deploy import DeploymentContext

__all__ = ["FAIL_ON", "add_parser", "run"]

FAIL_ON = ("reachable", "unknown", "never")
_FORMATS = ("table", "json", "openvex", "cyclonedx", "sarif")


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
        "-j",
        "--jobs",
        type=positive_int,
        default=2,
        help="worker processes for parsing (default 2)",
    )
    deploy = parser.add_argument_group(
        "deployment context",
        "whether a pipeline deploys this artifact to production; it lowers the priority of "
        "findings in artifacts that never reach production, and the gate blocks only on "
        "reachable, high-severity findings that do",
    )
    deploy.add_argument(
        "--pipeline",
        metavar="NAME",
        action="append",
        default=[],
        help="a pipeline that deploys the artifact (repeatable; default with --inventory: all)",
    )
    deploy.add_argument(
        "--inventory",
        metavar="PATH",
        type=Path,
        action="append",
        default=[],
        help="pipelines as `pipewarden scan` reads them (get-pipeline JSON, CloudFormation, "
        "CDK, Terraform, snapshot)",
    )
    deploy.add_argument(
        "--artifact-name",
        metavar="NAME",
        action="append",
        default=[],
        help="the pipeline artifact holding this build output (default: every deploy action "
        "of the pipeline counts)",
    )
    deploy.add_argument(
        "--aws",
        action="store_true",
        help="read the pipeline's history live (ListActionExecutions, GetPipeline) for "
        "--pipeline; CodeBuild's CODEBUILD_INITIATOR names it when run inside a pipeline",
    )
    deploy.add_argument(
        "--artifact-location",
        metavar="S3URL",
        help="with --aws: the artifact's object, s3://BUCKET/KEY or an S3 object ARN",
    )
    deploy.add_argument(
        "--execution-id", metavar="ID", help="with --aws: the pipeline execution that built it"
    )
    deploy.add_argument("--region", metavar="REGION", help="with --aws: the pipeline's region")
    deploy.add_argument("--profile", metavar="NAME", help="with --aws: an AWS profile")
    deploy.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="pipewarden.toml defining production (default: ./pipewarden.toml or pyproject.toml)",
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

    context = _deployment(args, ctx)
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
    if context is not None:
        from pipewarden.reach.deploy import apply_deployment

        report = apply_deployment(report, context)
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


def _deployment(args: argparse.Namespace, ctx: Context) -> DeploymentContext | None:
    """The deployment context the options ask for (read before the analysis, so a bad
    option fails fast), or None."""
    live_only = (args.artifact_location, args.execution_id, args.region, args.profile)
    if not args.aws and any(v is not None for v in live_only):
        raise ConfigError("--artifact-location, --execution-id, --region and --profile need --aws")
    if args.aws and args.inventory:
        raise ConfigError("give either --inventory or --aws, not both")
    if not args.aws and not args.inventory:
        if args.pipeline or args.artifact_name:
            raise ConfigError("--pipeline and --artifact-name need --inventory or --aws")
        return None
    from pipewarden.config import load_config
    from pipewarden.reach import deploy

    config = load_config(args.config, search_from=Path.cwd())
    if args.inventory:
        from pipewarden.parse import load_units, plan_units

        loaded = load_units(plan_units(args.inventory))
        if loaded.errors:
            raise loaded.errors[0]
        pipelines = []
        inventories = {}
        for inventory in loaded.inventories:
            for pipeline in inventory.pipelines:
                pipelines.append(pipeline)
                inventories[id(pipeline)] = inventory
        return deploy.from_inventory(
            pipelines,
            args.pipeline,
            config,
            artifact_names=args.artifact_name,
            inventories=inventories,
        )
    names = list(args.pipeline)
    initiator = ctx.environ.get("CODEBUILD_INITIATOR", "")
    if not names and initiator.startswith("codepipeline/"):
        names = [initiator.removeprefix("codepipeline/")]
    if len(names) != 1:
        raise ConfigError("--aws needs exactly one --pipeline (or CODEBUILD_INITIATOR)")
    location = deploy.parse_s3_location(args.artifact_location) if args.artifact_location else None
    from pipewarden.collect.action_executions import codepipeline_client, deploy_history
    from pipewarden.parse.getpipeline import parse_get_pipeline

    client = codepipeline_client(region=args.region, profile=args.profile)
    executions, raw = deploy_history(client, names[0], execution_id=args.execution_id)
    declaration = None
    if raw is not None:
        parsed = parse_get_pipeline(raw, source=f"GetPipeline {names[0]}")
        declaration = parsed.pipelines[0] if parsed.pipelines else None
    return deploy.from_executions(
        names[0],
        executions,
        declaration=declaration,
        config=config,
        location=location,
        artifact_names=args.artifact_name,
        execution_id=args.execution_id,
    )


def _isatty(ctx: Context) -> bool:
    isatty = getattr(ctx.stdout, "isatty", None)
    return bool(isatty()) if callable(isatty) else False
