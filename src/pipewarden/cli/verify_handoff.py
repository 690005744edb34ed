"""``pipewarden verify-handoff ARTIFACT --attestation FILE``: the destination's first check.

Prints one JSON evidence record on stdout, whatever happens. Exit codes: 0
the artifact is accepted (every check held); 1 it is not, with the reason in
the record and on stderr; any unreadable, malformed or hostile input is a
refusal too (exit 1), never a pass; 2 usage error (bad options); 3 internal error.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.errors import Error

if TYPE_CHECKING:
    from securesystemslib.signer import Key

__all__ = ["add_parser", "run"]

DEFAULT_MAX_AGE = "24h"


def _duration(text: str) -> dt.timedelta:
    from pipewarden.verify.handoff import parse_duration

    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _revision(text: str) -> str:
    from pipewarden.attest.statement import revision_digest

    try:
        revision_digest(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``verify-handoff`` sub-command."""
    parser = sub.add_parser(
        "verify-handoff",
        help="verify an artifact's signed provenance at a cross-account handoff",
        description=(
            "Verify ARTIFACT against the DSSE envelopes in the attestation file (made by "
            "`pipewarden attest`): the signature over the PAE with the given key, the in-toto "
            "payload type and statement, the artifact's sha256 as the subject, the builder, "
            "the source revision and freshness. Prints one JSON evidence record."
        ),
        epilog=(
            "exit codes: 0 accepted; 1 refused (any failed check, and any unreadable or "
            "malformed input); 2 usage error; 3 internal error"
        ),
    )
    parser.add_argument("artifact", metavar="ARTIFACT", type=Path, help="the file received")
    parser.add_argument(
        "--attestation", metavar="FILE", type=Path, required=True, help="JSON Lines envelopes"
    )
    keys = parser.add_mutually_exclusive_group(required=True)
    keys.add_argument(
        "--public-key", metavar="PEM", type=Path, help="ed25519 or ECDSA P-256 public key (PEM)"
    )
    keys.add_argument(
        "--kms-key-id", metavar="ID", help="AWS KMS signing key: its public key is fetched"
    )
    parser.add_argument(
        "--expect-pipeline", metavar="ARN", help="the pipeline ARN that must be the builder"
    )
    parser.add_argument(
        "--expect-source-revision",
        metavar="SHA",
        type=_revision,
        help="the source commit id that must be attested",
    )
    parser.add_argument(
        "--max-age",
        metavar="DURATION",
        type=_duration,
        default=DEFAULT_MAX_AGE,
        help=f"oldest acceptable attestation, e.g. 30m, 24h, 7d (default {DEFAULT_MAX_AGE})",
    )
    parser.add_argument("--region", help="AWS region for --kms-key-id (default: the usual chain)")
    parser.add_argument(
        "--kms-endpoint-url", metavar="URL", help="KMS endpoint (for example a VPC endpoint)"
    )
    parser.set_defaults(command=run)


def _key(args: argparse.Namespace) -> tuple[Key, str]:
    if args.public_key is not None:
        from pipewarden.attest.dsse import load_public_key

        return load_public_key(args.public_key), f"file:{args.public_key.name}"
    from pipewarden.collect.kms_signer import kms_client, kms_public_key

    client = kms_client(region=args.region, endpoint_url=args.kms_endpoint_url)
    key, _ = kms_public_key(client, args.kms_key_id)
    return key, f"kms:{args.kms_key_id}"


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Verify the handoff with the system clock; returns the exit code."""
    return verify(args, ctx, clock=lambda: dt.datetime.now(dt.UTC))


def verify(args: argparse.Namespace, ctx: Context, *, clock: Callable[[], dt.datetime]) -> int:
    """Verify the handoff, judging freshness by ``clock``; returns the exit code."""
    from pipewarden.verify._evidence import dump_record, evidence_context, utc_now_iso
    from pipewarden.verify.handoff import (
        HandoffRejected,
        HandoffRequirements,
        format_duration,
        verify_handoff,
    )

    requirements = HandoffRequirements(
        expect_pipeline=args.expect_pipeline,
        expect_source_revision=args.expect_source_revision,
        max_age=args.max_age,
    )
    expected: dict[str, Any] = {
        "pipeline": args.expect_pipeline,
        "source_revision": args.expect_source_revision,
        "max_age": format_duration(args.max_age),
    }
    record: dict[str, Any] = {"verifier": "verify-handoff", "verified": False, "reason": ""}
    try:
        key, key_source = _key(args)
        evidence = verify_handoff(
            args.artifact, args.attestation, key, requirements, clock=clock, key_source=key_source
        )
        record.update(verified=True, reason="every check passed")
    except HandoffRejected as exc:
        record["reason"] = exc.reason
        evidence = exc.evidence
    except Error as exc:
        record["reason"] = exc.diagnostics()
        evidence = {
            "artifact": {"path": str(args.artifact)},
            "attestation": {"path": str(args.attestation)},
        }
    record.update(evidence)
    record["expected"] = expected
    record["verified_at"] = utc_now_iso(clock)
    record["context"] = evidence_context(ctx.environ)
    emit(ctx.stdout, dump_record(record) + "\n")
    if not record["verified"]:
        say(ctx.stderr, "error", f"handoff refused: {record['reason']}")
        return 1
    return 0
