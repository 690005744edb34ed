"""Detects ECR repositories used by the pipeline whose images are not scanned on push.

## Rationale
Scanning on push (basic scanning, or enhanced scanning with Amazon
Inspector) reports known vulnerabilities in every image the pipeline
publishes or deploys, as it arrives. Without it, vulnerable base images and
dependencies reach production unnoticed (Security Hub control ECR.1).
A repository passes when its own `scanOnPush` is on or when the registry's
scanning configuration scans it on push.

## Remediation
Turn on scan on push for the repository
(`ImageScanningConfiguration.ScanOnPush: true`) or, better, configure
registry-level enhanced scanning with a `SCAN_ON_PUSH` or `CONTINUOUS_SCAN`
rule (`aws ecr put-registry-scanning-configuration`), and gate deploys on the
findings (an `InspectorScan` action with severity thresholds).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Gap, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import attr_loc, ecr_repositories, who_of

META = RuleMeta(
    id="PW802",
    slug="ecr-scan-on-push",
    title="ECR repository used by the pipeline does not scan images on push",
    severity=Severity.LOW,
    cicd_sec=(CicdSec.SEC_3,),
    fsbp=("ECR.1",),
    references=(
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html",
    ),
    needs=frozenset({"ecr-repository"}),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    registry = ctx.inventory.ecr_registry_scan_on_push
    seen: set[str] = set()
    for use in ecr_repositories(ctx):
        who = who_of(use.action)
        if isinstance(use.name, Unresolved):
            yield unknown(
                use.loc, f"the repository of {use.how} is unresolved: {use.name.reason}", **who
            )
            continue
        if use.name in seen:
            continue
        seen.add(use.name)
        if registry is True:
            continue
        found = ctx.inventory.ecr_repository(use.name)
        if isinstance(found, Gap):
            yield unknown(
                use.loc, f"ECR repository `{use.name}`, which {use.how}: {found.reason}", **who
            )
            continue
        if found.scan_on_push is True:
            continue
        loc = attr_loc(ctx, found.loc, use.loc)
        if found.scan_on_push is None:
            yield unknown(
                loc,
                f"whether ECR repository `{use.name}` scans on push is not known (its own setting "
                "or the registry's scanning rules were not read)",
                **who,
            )
            continue
        registry_note = (
            "and registry scanning does not cover it"
            if registry is False
            else "and no registry scanning configuration is known"
        )
        yield fail(
            loc,
            f"ECR repository `{use.name}`, which {use.how}, has scan on push off {registry_note}",
            evidence={"repository": use.name},
            **who,
        )


RULE = Rule(META, check, __doc__ or "")
