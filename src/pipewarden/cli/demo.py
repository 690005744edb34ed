"""``pipewarden demo``: a live scan of a made-up AWS organisation, with no AWS account.

It starts moto's AWS emulator on a free loopback port inside this process,
creates an organisation of member accounts holding weak and hardened
pipelines (see :mod:`pipewarden.demo.seed`), then runs the real live path:
collection across the organisation (assuming the scanner role in each
account), the snapshot parser, every rule, and the report. Nothing leaves the
machine; the emulator stops when the command ends.

Exit code 0 whatever the findings (the demo pipelines are weak on purpose); 3
on an internal error such as a rule crash; 2 when the emulator is not
installed (``pip install 'pipewarden[demo]'``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.errors import Error
from pipewarden.report import DEFAULT_FORMAT, FORMATS

__all__ = ["add_parser", "run"]

_MAX_ACCOUNTS = 20
_MAX_PIPELINES = 40


def _bounded(limit: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be between 1 and {limit}")
        return value

    return parse


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``demo`` sub-command."""
    parser = sub.add_parser(
        "demo",
        help="live-scan a made-up AWS organisation in a local emulator (no AWS account needed)",
        description=(
            "Start an AWS emulator (moto) on 127.0.0.1 inside this process, create an "
            "organisation with weak and hardened pipelines, run the live scan against it "
            "and print the report."
        ),
        epilog="exit codes: 0 report printed; 2 emulator not installed; 3 internal error",
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
    parser.add_argument(
        "--accounts",
        type=_bounded(_MAX_ACCOUNTS),
        default=3,
        help=f"member accounts to create (default 3, at most {_MAX_ACCOUNTS})",
    )
    parser.add_argument(
        "--pipelines",
        type=_bounded(_MAX_PIPELINES),
        default=4,
        help=f"pipelines per account (default 4, at most {_MAX_PIPELINES})",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Seed the emulator, scan it live, print the report."""
    from pipewarden.collect import Scope, collect
    from pipewarden.collect.emulator import answer_missing_apis
    from pipewarden.config import Config
    from pipewarden.demo.seed import seed_organisation
    from pipewarden.demo.server import emulator
    from pipewarden.engine import scan
    from pipewarden.parse.snapshot import parse_snapshot
    from pipewarden.report import render

    region = "us-east-1"
    with emulator(region) as emu:
        say(ctx.stderr, "", f"AWS emulator (moto) listening on {emu.endpoint_url}")
        org = seed_organisation(
            emu.endpoint_url,
            session=emu.session(),
            accounts=args.accounts,
            pipelines_per_account=args.pipelines,
            region=region,
        )
        names = ", ".join(f"{a.name} ({a.account_id})" for a in org.accounts)
        say(
            ctx.stderr,
            "",
            f"created an organisation: management account {org.management_account}, "
            f"{len(org.accounts)} member account(s) [{names}], {org.pipelines} pipeline(s)",
        )
        scope = Scope(
            org=True,
            regions=(region,),
            role_name=org.role_name,
            endpoint_url=emu.endpoint_url,
        )
        session = emu.session()
        answer_missing_apis(session)  # what moto lacks: an empty answer or a recorded gap
        started = time.monotonic()
        snapshot = collect(scope, session=session, progress=False)
        elapsed = time.monotonic() - started
    inventory = parse_snapshot(snapshot, source="demo organisation")
    result = scan(
        [inventory],
        rules=ctx.rules,
        config=Config(),
        today=ctx.today,
        inputs=("demo organisation",),
    )
    say(
        ctx.stderr,
        "",
        f"live scan: {len(snapshot.get('accounts', []))} account(s), "
        f"{len(result.pipelines)} pipeline(s) collected in {elapsed:.1f} s, "
        f"{len(snapshot.get('gaps', []))} gap(s)",
    )

    color = (
        args.format == "table"
        and args.output is None
        and bool(getattr(ctx.stdout, "isatty", lambda: False)())
        and "NO_COLOR" not in ctx.environ
    )
    text = render(result, args.format, color=color)
    if args.output is not None:
        _write(args.output, text)
        say(ctx.stderr, "", f"wrote {args.format} report to {args.output}")
    else:
        emit(ctx.stdout, text)
    for crash in result.crashes:
        say(ctx.stderr, "error", f"rule {crash.rule_id} crashed on pipeline {crash.pipeline}")
    return 3 if result.crashes else 0


def _write(path: Path, text: str) -> None:
    try:
        with path.open("w", encoding="utf-8", errors="backslashreplace", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise Error(f"{path}: cannot write the report: {exc.strerror or exc}") from exc
