"""``pipewarden gate``: a Rego policy decides whether the pipeline may proceed.

Prints one JSON decision record on stdout. Exit codes: 0 allow; 1 deny, with
the reasons in the record and on stderr; any error that keeps a decision from
being made (a policy that does not compile, a missing or invalid input) is a
denial too (exit 1); 2 usage error (bad options); 3 internal error.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, emit, say

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``gate`` sub-command."""
    parser = sub.add_parser(
        "gate",
        help="allow or deny a stage with a Rego policy over scan results and evidence",
        description=(
            "Evaluate a Rego policy (package pipewarden.gate, a set `deny` of reasons; the "
            "built-in one by default) over a PipeWarden JSON report, evidence records from the "
            "verifiers and drift data, in-process. Prints one JSON decision record."
        ),
        epilog=(
            "The built-in policy denies: an unsuppressed failing result of severity high or "
            "critical, scan rule crashes, no verified verify-handoff record, any evidence that "
            "did not verify, no SBOM in the verified attestation, any PW901 drift failure, a "
            "reachable vulnerability of high, critical or unknown severity not known to stay "
            "out of production (--reach). "
            "exit codes: 0 allow; 1 deny (also when no decision can be made); 2 usage error"
        ),
    )
    parser.add_argument(
        "--policy", metavar="FILE.rego", type=Path, help="Rego policy (default: built-in)"
    )
    parser.add_argument(
        "--scan", metavar="RESULT.json", type=Path, help="`pipewarden scan --format json` output"
    )
    parser.add_argument(
        "--evidence",
        metavar="RECORD.json",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        help="evidence record file(s): one JSON object or JSON Lines (repeatable)",
    )
    parser.add_argument("--drift", metavar="FILE.json", type=Path, help="drift report (JSON)")
    parser.add_argument(
        "--reach",
        metavar="FILE.json",
        type=Path,
        help="reachability report (`pipewarden reach --format json`)",
    )
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Decide; returns the exit code."""
    from pipewarden.verify._evidence import dump_record, evidence_context, utc_now_iso
    from pipewarden.verify.gate import (
        Decision,
        GateError,
        decide,
        decision_record,
        default_policy,
        load_policy,
        read_evidence,
        read_json_document,
    )

    inputs: dict[str, Any] = {"scan": None, "evidence": [], "drift": None, "reach": None}
    policy = None
    try:
        policy = load_policy(args.policy) if args.policy is not None else default_policy()
        scan = drift = reach = None
        if args.scan is not None:
            scan, digest = read_json_document(args.scan, "scan result")
            if scan is None:
                raise GateError(f"{args.scan}: the scan result is JSON null")
            inputs["scan"] = {"path": str(args.scan), "sha256": digest}
        records: list[Any] = []
        for path in args.evidence:
            found, digest = read_evidence(path)
            records.extend(found)
            inputs["evidence"].append({"path": str(path), "sha256": digest, "records": len(found)})
        if args.drift is not None:
            drift, digest = read_json_document(args.drift, "drift report")
            if drift is None:
                raise GateError(f"{args.drift}: the drift report is JSON null")
            inputs["drift"] = {"path": str(args.drift), "sha256": digest}
        if args.reach is not None:
            reach, digest = read_json_document(args.reach, "reachability report")
            if reach is None:
                raise GateError(f"{args.reach}: the reachability report is JSON null")
            inputs["reach"] = {"path": str(args.reach), "sha256": digest}
        sources = {
            "scan": str(args.scan),
            "evidence": "evidence",
            "drift": str(args.drift),
            "reach": str(args.reach),
        }
        decision = decide(
            policy, scan=scan, evidence=records, drift=drift, reach=reach, sources=sources
        )
    except GateError as exc:
        decision = Decision.undecided(exc.diagnostics(), policy)

    record = decision_record(
        decision,
        inputs=inputs,
        verified_at=utc_now_iso(),
        context=evidence_context(ctx.environ),
        policy_source=None if args.policy is None else str(args.policy),
    )
    emit(ctx.stdout, dump_record(record) + "\n")
    if not decision.allowed:
        for reason in decision.reasons:
            say(ctx.stderr, "deny", reason)
        return 1
    return 0
