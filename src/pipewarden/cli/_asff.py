"""``scan`` options for AWS Security Hub: ``--asff-account``/``--asff-region`` and
``--to-security-hub``.

``--to-security-hub`` imports every result as an ASFF finding (whatever
``--format`` prints) with ``BatchImportFindings``, in batches of 100, after the
report is written. Findings are updated in place on a re-scan (stable Ids) and
findings this scan no longer reports for the same pipelines are archived.
Results without an account or region (CloudFormation, Terraform inputs) take
``--asff-account``/``--asff-region``, else the caller's account and the
session's region.

Exit code: findings Security Hub rejects, or batches that fail, are counted on
stderr (``N of M findings not imported``, with the first few reasons) and do
not change the exit code while at least one finding was imported; when none
could be imported the exit code is 2 (the report is still written).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from pipewarden.cli._io import Context, say

if TYPE_CHECKING:
    from pipewarden.engine import ScanResult

__all__ = ["add_arguments", "export", "render_options"]

_ACCOUNT_RE: Final = re.compile(r"^[0-9]{12}$")
_REGION_RE: Final = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_ROLE_RE: Final = re.compile(r"^[\w+=,.@/-]{1,64}$")
_SHOWN_REASONS: Final = 3


def _account(text: str) -> str:
    if not _ACCOUNT_RE.match(text):
        raise argparse.ArgumentTypeError(f"`{text}` is not a 12-digit AWS account id")
    return text


def _region(text: str) -> str:
    if not _REGION_RE.match(text):
        raise argparse.ArgumentTypeError(f"`{text}` is not an AWS region name")
    return text


def _role(text: str) -> str:
    if not _ROLE_RE.match(text):
        raise argparse.ArgumentTypeError(f"`{text}` is not an IAM role name")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the Security Hub options to the ``scan`` parser."""
    group = parser.add_argument_group("AWS Security Hub")
    group.add_argument(
        "--asff-account",
        metavar="ID",
        type=_account,
        help="account id for ASFF findings whose input names none (CloudFormation, Terraform)",
    )
    group.add_argument(
        "--asff-region",
        metavar="REGION",
        type=_region,
        help="region for ASFF findings whose input names none",
    )
    group.add_argument(
        "--to-security-hub",
        action="store_true",
        help="also import every result into AWS Security Hub (BatchImportFindings); a re-scan "
        "updates the findings instead of duplicating them",
    )
    group.add_argument(
        "--security-hub-role",
        metavar="NAME",
        type=_role,
        help="role to assume in other accounts to import their findings (Security Hub takes "
        "a finding only from its own account)",
    )


def render_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword options for :func:`pipewarden.report.render` (ASFF's account and region)."""
    if args.format != "asff":
        return {}
    return {"account": args.asff_account, "region": args.asff_region}


def export(args: argparse.Namespace, ctx: Context, result: ScanResult) -> int:
    """Import ``result`` into Security Hub when asked; returns 0, or 2 if nothing got in."""
    if not args.to_security_hub:
        return 0
    from pipewarden.collect.securityhub import caller_defaults, import_findings
    from pipewarden.report.asff import findings

    profile = getattr(args, "profile", None)
    endpoint_url = getattr(args, "endpoint_url", None)
    account, region = args.asff_account, args.asff_region
    needs_default = any(r.account is None or r.region is None for r in result.results)
    if needs_default and (account is None or region is None):
        caller, session_region = caller_defaults(profile=profile, endpoint_url=endpoint_url)
        account = account or caller
        region = region or session_region
    document = findings(result, account=account, region=region)
    if not document:
        say(ctx.stderr, "", "Security Hub: no result to import")
        return 0
    report = import_findings(
        document,
        profile=profile,
        endpoint_url=endpoint_url,
        role_name=args.security_hub_role,
        external_id=getattr(args, "external_id", None),
    )
    say(
        ctx.stderr,
        "",
        f"Security Hub: imported {report.imported} of {report.total} finding(s) in "
        f"{report.batches} batch(es); archived {report.archived} no longer reported",
    )
    if report.failed:
        reasons = Counter(f"{f.code}: {f.message}" for f in report.failed)
        shown = "; ".join(
            f"{reason} (x{count})" for reason, count in reasons.most_common(_SHOWN_REASONS)
        )
        more = len(reasons) - _SHOWN_REASONS
        suffix = f"; and {more} other reason(s)" if more > 0 else ""
        say(
            ctx.stderr,
            "warning",
            f"{len(report.failed)} of {report.total} finding(s) not imported: {shown}{suffix}",
        )
    if report.archive_failed:
        say(
            ctx.stderr,
            "warning",
            f"{len(report.archive_failed)} stale finding(s) could not be archived: "
            f"{report.archive_failed[0].code}: {report.archive_failed[0].message}",
        )
    return 2 if report.failed and report.imported == 0 else 0
