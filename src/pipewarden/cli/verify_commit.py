"""``pipewarden verify-commit``: is this commit signed by someone we trust?

Prints one JSON evidence record on stdout whatever happens once the command
line is valid, and exits 0 only when the signature is valid, its signer is
allowed and (with ``--require-branch``) the commit is on that branch; every
other outcome, including git missing or timing out, exits 1 with the reason in
the record. An unexpected internal error still prints a record and exits 3.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, emit, say

__all__ = ["add_parser", "run"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600")
    return value


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``verify-commit`` sub-command."""
    parser = sub.add_parser(
        "verify-commit",
        help="verify a commit's SSH or OpenPGP signature and print an evidence record",
        description=(
            "Verify the signature of a commit with git against an SSH allowed-signers file "
            "and/or an OpenPGP keyring, and print one JSON evidence record."
        ),
        epilog=(
            "exit codes: 0 signed by an allowed signer (and on the branch, if required); "
            "1 not verified (the reason is in the record); 2 usage error; 3 internal error"
        ),
    )
    parser.add_argument(
        "--repo", metavar="DIR", type=Path, default=Path(), help="git repository (default: .)"
    )
    parser.add_argument("--commit", metavar="REV", required=True, help="commit to verify")
    parser.add_argument(
        "--allowed-signers",
        metavar="FILE",
        type=Path,
        help="SSH allowed signers file (ssh-keygen ALLOWED SIGNERS format)",
    )
    parser.add_argument(
        "--gpg-keyring",
        metavar="PATH",
        type=Path,
        help="OpenPGP public keys: a GnuPG home directory or an exported key file",
    )
    parser.add_argument(
        "--require-branch",
        metavar="NAME",
        help="the commit must be reachable from this branch (refs/remotes/origin/NAME, else "
        "refs/heads/NAME; or a full refs/... name)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=60.0,
        help="time limit for each git or gpg process (default 60)",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Verify the commit, print the record; returns the exit code."""
    from pipewarden.errors import ConfigError
    from pipewarden.verify._evidence import dump_record, evidence_context, utc_now_iso

    if args.allowed_signers is None and args.gpg_keyring is None:
        raise ConfigError(
            "verify-commit needs --allowed-signers FILE or --gpg-keyring PATH (or both)"
        )
    context = evidence_context(ctx.environ)
    try:
        from pipewarden.verify.commit import verify_commit

        outcome = verify_commit(
            args.repo,
            args.commit,
            allowed_signers=args.allowed_signers,
            gpg_keyring=args.gpg_keyring,
            require_branch=args.require_branch,
            environ=ctx.environ,
            timeout=args.timeout,
        )
        record = outcome.record(verified_at=utc_now_iso(), context=context)
        code = 0 if outcome.verified else 1
    except Exception as exc:  # noqa: BLE001 - a verifier fails closed with a record, never a traceback
        record = {
            "verifier": "verify-commit",
            "revision": args.commit,
            "verified": False,
            "reason": f"internal error: {type(exc).__name__}: {exc}",
            "verified_at": utc_now_iso(),
            "context": context,
        }
        code = 3
    emit(ctx.stdout, dump_record(record) + "\n")
    if code:
        say(ctx.stderr, "verify-commit", f"not verified: {record['reason']}")
    return code
