"""``pipewarden collect``: read pipelines from AWS into a snapshot file.

The AWS scope options are shared with ``pipewarden scan --aws``:
``--profile``, ``--regions``, ``--accounts``, ``--org``, ``--role-name``,
``--external-id``, ``--assume-role``, ``--endpoint-url`` (else
``AWS_ENDPOINT_URL``), ``--shard K/N`` and ``--max-workers``.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipewarden.cli._io import Context, emit, positive_int, say
from pipewarden.errors import ConfigError, Error

if TYPE_CHECKING:
    from pipewarden.collect import Scope

__all__ = [
    "add_parser",
    "add_scope_arguments",
    "collect_snapshot",
    "gap_lines",
    "run",
    "scope_from_args",
    "snapshot_text",
]

_SHARD: Final = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_SHOWN_GAPS: Final = 20


def _shard(text: str) -> tuple[int, int]:
    match = _SHARD.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"`{text}` is not K/N (for example 0/4)")
    k, n = int(match.group(1)), int(match.group(2))
    if n < 1 or k >= n:
        raise argparse.ArgumentTypeError(f"`{text}`: shards are numbered 0 to N-1")
    return k, n


def _split(values: Sequence[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    parts = [p.strip() for v in values for p in v.split(",") if p.strip()]
    return tuple(dict.fromkeys(parts)) or None


def add_scope_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that say which AWS accounts and regions to read."""
    group = parser.add_argument_group("AWS scope")
    group.add_argument(
        "--profile", metavar="NAME", help="AWS profile (default: the standard chain)"
    )
    group.add_argument(
        "--regions",
        metavar="LIST",
        action="append",
        help="regions to read, comma-separated (default: every region enabled for each account)",
    )
    group.add_argument(
        "--accounts",
        metavar="LIST",
        action="append",
        help="account ids to read, comma-separated (other than the caller's, through --role-name)",
    )
    group.add_argument(
        "--org",
        action="store_true",
        help="every active account of the organisation (organizations:ListAccounts, from the "
        "management or a delegated administrator account)",
    )
    group.add_argument(
        "--role-name",
        metavar="NAME",
        default="PipeWardenReadOnly",
        help="role assumed in each other account (default PipeWardenReadOnly)",
    )
    group.add_argument("--external-id", metavar="ID", help="ExternalId for the roles assumed")
    group.add_argument(
        "--assume-role", metavar="ARN", help="assume this role first and read everything from it"
    )
    group.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to this endpoint (an emulator; default AWS_ENDPOINT_URL)",
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        help="the endpoint is a local AWS emulator (moto): answer in-process the read APIs it "
        "does not implement instead of waiting on its errors",
    )
    group.add_argument(
        "--shard",
        metavar="K/N",
        type=_shard,
        help="read only part K (0 to N-1) of N of the accounts, for N workers",
    )
    group.add_argument(
        "--max-workers",
        metavar="N",
        type=positive_int,
        default=8,
        help="accounts (and regions of one account) read at once (default 8)",
    )


def scope_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Scope:
    """The collection scope the options describe."""
    from pipewarden.collect import Scope

    endpoint = args.endpoint_url or environ.get("AWS_ENDPOINT_URL") or None
    if args.emulator and not endpoint:
        raise ConfigError("--emulator needs --endpoint-url (or AWS_ENDPOINT_URL)")
    return Scope(
        profile=args.profile,
        regions=_split(args.regions),
        accounts=_split(args.accounts),
        org=bool(args.org),
        role_name=args.role_name,
        external_id=args.external_id,
        assume_role=args.assume_role,
        endpoint_url=endpoint,
        shard=args.shard,
        max_workers=args.max_workers,
    )


def collect_snapshot(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    """Collect the snapshot the scope options describe (progress bar on a terminal)."""
    from pipewarden.collect import collect, new_session

    scope = scope_from_args(args, ctx.environ)
    isatty = getattr(ctx.stderr, "isatty", None)
    interactive = bool(isatty()) if callable(isatty) else False
    session = new_session(scope.profile, emulator=args.emulator)
    return collect(scope, session=session, progress=interactive)


def snapshot_text(doc: Mapping[str, Any]) -> str:
    """The snapshot as JSON text: sorted keys, compact, one trailing newline."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def gap_lines(doc: Mapping[str, Any], limit: int = _SHOWN_GAPS) -> list[str]:
    """One line per gap (at most ``limit``, then how many more)."""
    gaps = list(doc.get("gaps", []))
    lines = []
    for gap in gaps[:limit]:
        where = "/".join(str(p) for p in (gap.get("account_id"), gap.get("region")) if p)
        what = gap.get("resource") or f"every {gap.get('resource_kind')}"
        message = str(gap.get("message") or "")[:200]
        lines.append(
            f"not read: {where} {gap.get('service')}:{gap.get('operation')} {what}: "
            f"{gap.get('error_code')}" + (f" ({message})" if message else "")
        )
    if len(gaps) > limit:
        lines.append(f"... and {len(gaps) - limit} more gap(s), listed in the snapshot")
    return lines


def summary(doc: Mapping[str, Any]) -> str:
    """``N pipeline(s) in A account(s), R region(s); G gap(s)``."""
    accounts = doc.get("accounts", [])
    pipelines = sum(
        len(region.get("codepipeline", {}).get("pipelines", {}))
        for account in accounts
        for region in account.get("regions", {}).values()
    )
    regions = {r for account in accounts for r in account.get("regions", {})}
    return (
        f"{pipelines} pipeline(s) in {len(accounts)} account(s), {len(regions)} region(s); "
        f"{len(doc.get('gaps', []))} gap(s)"
    )


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``collect`` sub-command."""
    parser = sub.add_parser(
        "collect",
        help="read pipelines from AWS accounts into a snapshot file",
        description=(
            "Read every pipeline of the AWS accounts and regions in scope, with the roles, "
            "buckets, keys, projects, functions, secrets, log groups and repositories they "
            "use, into a snapshot (raw API responses plus what could not be read). "
            "`pipewarden scan SNAPSHOT` evaluates it offline."
        ),
        epilog="exit codes: 0 written (gaps are recorded in the snapshot); 2 no usable "
        "credentials, a bad option, or the snapshot could not be written",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        type=Path,
        help="write the snapshot to FILE (default stdout)",
    )
    add_scope_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def write_snapshot(path: Path, doc: Mapping[str, Any]) -> None:
    """Write a snapshot file (UTF-8)."""
    try:
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.write(snapshot_text(doc))
    except OSError as exc:
        raise Error(f"{path}: cannot write the snapshot: {exc.strerror or exc}") from exc


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Collect and write the snapshot; returns the exit code."""
    doc = collect_snapshot(args, ctx)
    if args.output is not None:
        write_snapshot(args.output, doc)
        say(ctx.stderr, "", f"wrote snapshot {args.output}: {summary(doc)}")
    else:
        emit(ctx.stdout, snapshot_text(doc))
        say(ctx.stderr, "", f"collected {summary(doc)}")
    for line in gap_lines(doc):
        say(ctx.stderr, "warning", line)
    return 0
