"""``pipewarden fix INPUT``: the change that fixes what ``scan`` reports.

From a CloudFormation template, a Terraform module, get-pipeline JSON or a
snapshot, write the hardened pipeline and everything it needs as
CloudFormation, Terraform, update-pipeline JSON or a unified diff. The
document goes to stdout (or ``-o``); what was fixed, what changes behaviour,
what is left to do by hand and the secrets to create go to stderr.

``--pipeline NAME`` reads a live pipeline instead (GetPipeline). With
``--apply`` the plan is shown (dry run); ``--apply --yes`` creates the new
roles and resources and updates the pipeline through boto3, keeping the
previous declaration so that ``--rollback NAME`` restores it.

Exit codes: 0 written (or applied, or rolled back); 2 usage or input error,
or a plan that cannot be written or applied; 3 internal error.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, emit, say

__all__ = ["add_parser", "run"]

_FORMATS = ("cloudformation", "terraform", "pipeline-json", "diff")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
    if not 1 <= value <= 36500:
        raise argparse.ArgumentTypeError("must be between 1 and 36500 days")
    return value


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``fix`` sub-command."""
    parser = sub.add_parser(
        "fix",
        help="write the hardened pipeline: per-action roles, gates, verification, locked store",
        description=(
            "Plan the fixes of every pipeline of INPUT (a CloudFormation template, a Terraform "
            "module directory or .tf file, get-pipeline JSON or a snapshot) and write them. "
            "A CloudFormation input is patched in place, keeping everything else intact."
        ),
        epilog=(
            "exit codes: 0 written, applied or rolled back; 2 usage or input error, or a plan "
            "that cannot be written or applied; 3 internal error"
        ),
    )
    parser.add_argument("input", metavar="INPUT", nargs="?", type=Path, help="file or .tf module")
    parser.add_argument(
        "-f",
        "--format",
        choices=_FORMATS,
        default=None,
        help="output format (default: the input's own: cloudformation for templates, terraform "
        "for .tf modules, pipeline-json otherwise)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        type=Path,
        help="write to PATH (a directory when the fix spans several files)",
    )
    parser.add_argument(
        "--only", metavar="ID", action="append", default=[], help="fix only this rule (repeatable)"
    )
    parser.add_argument(
        "--skip",
        metavar="ID",
        action="append",
        default=[],
        help="do not fix this rule (repeatable)",
    )
    parser.add_argument("--config", metavar="FILE", type=Path, help="configuration file")
    parser.add_argument(
        "--object-lock-days",
        metavar="DAYS",
        type=_positive,
        default=30,
        help="default retention of the artifact bucket's object lock (default 30)",
    )
    parser.add_argument(
        "--object-lock-mode",
        choices=("COMPLIANCE", "GOVERNANCE"),
        default="COMPLIANCE",
        help="object lock mode of the artifact bucket (default COMPLIANCE)",
    )
    parser.add_argument(
        "--connection-arn", metavar="ARN", help="an existing CodeConnections connection to use"
    )
    parser.add_argument(
        "--gate-function",
        metavar="NAME:VERSION",
        help="gate production stages with this Lambda function version (LambdaInvoke rule) "
        "instead of a Commands rule running `pipewarden gate`",
    )
    parser.add_argument("--approval-topic", metavar="ARN", help="SNS topic manual approvals notify")
    parser.add_argument(
        "--attestation-key",
        metavar="ARN",
        help="KMS key ARN verify-handoff checks attestations with (default alias/pipewarden-attest)",
    )
    parser.add_argument(
        "--allowed-signers-parameter",
        metavar="NAME",
        help="SSM parameter holding the allowed signers (default /pipewarden/PIPELINE/allowed-signers)",
    )
    live = parser.add_argument_group("live pipelines")
    live.add_argument(
        "--pipeline", metavar="NAME", help="read this pipeline from AWS (GetPipeline)"
    )
    live.add_argument(
        "--apply",
        action="store_true",
        help="apply the plan to the live pipeline (a dry run unless --yes is given)",
    )
    live.add_argument("--yes", action="store_true", help="with --apply: make the changes")
    live.add_argument(
        "--rollback",
        metavar="NAME",
        help="restore the declaration pipeline NAME had before the last --apply --yes",
    )
    live.add_argument("--region", help="AWS region (default: the usual chain)")
    live.add_argument("--profile", help="AWS profile")
    live.add_argument("--endpoint-url", metavar="URL", help="AWS endpoint (for example a test)")
    live.add_argument(
        "--state-dir",
        metavar="DIR",
        type=Path,
        default=Path(".pipewarden") / "rollback",
        help="where --apply keeps previous declarations (default .pipewarden/rollback)",
    )
    parser.set_defaults(command=run)


def _keys(values: Iterable[str]) -> frozenset[str]:
    return frozenset(part.strip() for value in values for part in value.split(",") if part.strip())


def _options(args: argparse.Namespace) -> Any:
    from pipewarden.remediate import FixOptions

    if args.gate_function:
        from pipewarden.rules._gates import unpinned_reason

        why = unpinned_reason(args.gate_function)
        if why is not None:
            from pipewarden.errors import ConfigError

            raise ConfigError(f"--gate-function `{args.gate_function}` {why}: name a version")
    return FixOptions(
        only=_keys(args.only),
        skip=_keys(args.skip),
        object_lock_days=args.object_lock_days,
        object_lock_mode=args.object_lock_mode,
        connection_arn=args.connection_arn,
        gate_function=args.gate_function,
        approval_topic=args.approval_topic,
        attestation_key=args.attestation_key,
        allowed_signers_parameter=args.allowed_signers_parameter,
    )


def _config(ctx: Context, path: Path | None) -> Any:
    from pipewarden.config import load_config

    known: dict[str, str] = {}
    for rule in ctx.known_rules:
        for key in (rule.meta.id, rule.meta.slug, *rule.meta.aliases):
            known.setdefault(key, rule.meta.id)
    return load_config(path, known_rules=known, search_from=Path.cwd())


def summary(plan: Any, fmt: str, notes: Iterable[str]) -> str:
    """What the fix does, for stderr: fixes (behaviour changes labelled), claims, manual
    steps, secrets to create and notes. No secret value appears in it."""
    lines: list[str] = []
    for pipeline in plan.pipelines:
        lines.append(f"pipeline {pipeline.name}:")
        if not pipeline.fixes:
            lines.append("  nothing to fix")
        for item in pipeline.fixes:
            rules = ", ".join(item.rules)
            lines.append(f"  [{rules}] {item.title}")
            if item.detail:
                lines.append(f"      {item.detail}")
            if item.behaviour:
                lines.append(f"      CHANGES BEHAVIOUR: {item.behaviour}")
        claims = sorted(pipeline.claims_for(fmt))
        if claims:
            lines.append("  fixed in this output: " + ", ".join(claims))
        left = sorted(pipeline.failing_before - set(claims))
        if left:
            lines.append("  still failing after this output: " + ", ".join(left))
        lines.extend(f"  TO DO [{', '.join(s.rules)}] {s.text}" for s in pipeline.manual)
        lines.extend(
            f"  SECRET {s.name} (was {s.masked}, used by {s.used_by}): {s.command}"
            for s in pipeline.secrets
        )
    lines.extend(f"note: {note}" for note in dict.fromkeys(notes))
    return "\n".join(lines) + "\n"


def _write(ctx: Context, files: dict[str, str], output: Path | None) -> None:
    main = files.get("", "")
    others = {k: v for k, v in files.items() if k}
    if output is None:
        if not others:
            emit(ctx.stdout, main)
            return
        emit(ctx.stdout, main)
        for name, text in others.items():
            if text == main:
                continue
            emit(ctx.stdout, f"\n# ===== {name} =====\n{text}")
        return
    if others and (output.is_dir() or not output.suffix):
        output.mkdir(parents=True, exist_ok=True)
        written = set()
        for name, text in others.items():
            target = output / _safe_name(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.add(text)
        if main not in written:
            (output / "pipewarden-fix.out").write_text(main, encoding="utf-8")
        say(ctx.stderr, "", f"wrote {len(others) + (main not in written)} file(s) to {output}")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(main, encoding="utf-8")
    for name, text in others.items():
        if text == main:
            continue
        sibling = output.with_name(
            f"{output.stem}.{_safe_name(name).replace('/', '-')}{output.suffix}"
        )
        sibling.write_text(text, encoding="utf-8")
        say(ctx.stderr, "", f"wrote {sibling}")


def _safe_name(name: str) -> str:
    """A relative file name from an output key (no absolute paths, no `..`)."""
    parts = [p for p in Path(name).parts if p not in ("", ".", "..", "/")]
    if Path(name).is_absolute() or len(parts) > 3:
        parts = parts[-1:]
    return "/".join(parts) or "out"


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Plan, write, apply or roll back; returns the exit code."""
    from pipewarden.errors import ConfigError

    if args.rollback:
        from pipewarden.collect.apply import rollback

        restored = rollback(
            args.rollback,
            state_dir=args.state_dir,
            region=args.region,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
        )
        say(ctx.stderr, "", restored)
        return 0
    if (args.input is None) == (args.pipeline is None):
        raise ConfigError("give INPUT (a file or .tf module) or --pipeline NAME, not both")
    if args.apply and args.pipeline is None:
        raise ConfigError("--apply works on a live pipeline: give --pipeline NAME")
    if args.yes and not args.apply:
        raise ConfigError("--yes only confirms --apply")
    options = _options(args)
    config = _config(ctx, args.config)
    if args.pipeline is not None:
        return _live(args, ctx, options, config)
    from pipewarden.remediate import fix_file, load_input

    fmt = args.format or _default_format(load_input(args.input), args.input)
    out = fix_file(args.input, fmt, config=config, options=options)
    _write(ctx, out.files, args.output)
    emit(ctx.stderr, summary(out.plan, fmt, out.notes))
    return 0


def _default_format(inventory: Any, path: Path) -> str:
    from pipewarden.model import KeyStyle

    styles = {p.loc.style for p in inventory.pipelines}
    if styles == {KeyStyle.CLOUDFORMATION}:
        return "cloudformation"
    if styles == {KeyStyle.TERRAFORM} and (path.is_dir() or path.suffix == ".tf"):
        return "terraform"
    return "pipeline-json"


def _live(args: argparse.Namespace, ctx: Context, options: Any, config: Any) -> int:
    from pipewarden.collect.apply import Live
    from pipewarden.remediate import plan_fixes, render

    live = Live(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)
    inventory, document = live.read(args.pipeline)
    plan = plan_fixes(inventory, config=config, options=options, source=args.pipeline)
    fmt = args.format or "pipeline-json"
    out = render(plan, fmt)
    if not args.apply:
        _write(ctx, out.files, args.output)
        emit(ctx.stderr, summary(plan, fmt, out.notes))
        return 0
    steps = live.steps(plan)
    emit(ctx.stderr, summary(plan, "pipeline-json", out.notes))
    if not args.yes:
        emit(ctx.stdout, "dry run: these changes would be made (give --yes to make them)\n")
        for step in steps:
            emit(ctx.stdout, f"  {step.describe()}\n")
        return 0
    saved = live.apply(plan, steps, document, state_dir=args.state_dir)
    say(ctx.stderr, "", f"applied {len(steps)} change(s); previous declaration saved to {saved}")
    return 0
