"""Detects ECR repositories used by the pipeline that allow image tags to be overwritten.

## Rationale
With mutable tags, pushing an image under an existing tag (`latest`,
`1.4.2`) silently replaces what the tag names. A pipeline that follows a tag
from an ECR source, or publishes images that later stages and other systems
pull by tag, can be made to deploy an image nobody built through it by
anyone with `ecr:PutImage` on the repository (Security Hub control ECR.2).

The repositories checked are those named by ECR source actions,
`ECRBuildAndPublish` actions and `InspectorScan` actions. Images an ECS or
EKS deploy takes from an artifact file are not visible in the declaration.

## Remediation
Set `ImageTagMutability: IMMUTABLE` on the repository
(`aws ecr put-image-tag-mutability --image-tag-mutability IMMUTABLE`), push
each build under a unique tag (the commit id), and deploy by digest.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from pipewarden.model import EcrRepository, Finding, Gap, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import RepoUse, attr_loc, ecr_repositories, who_of

META = RuleMeta(
    id="PW801",
    slug="ecr-tag-mutable",
    title="ECR repository used by the pipeline allows tags to be overwritten",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_9,),
    fsbp=("ECR.2",),
    references=(
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ecr-controls.html",
    ),
    needs=frozenset({"ecr-repository"}),
)


def _problem(repo: EcrRepository, use: RepoUse) -> str | None:
    mode = (repo.tag_mutability or "").upper()
    if mode == "MUTABLE":
        return "allows tags to be overwritten (`MUTABLE`)"
    if mode == "MUTABLE_WITH_EXCLUSION":
        return "allows tags to be overwritten except those excluded (`MUTABLE_WITH_EXCLUSION`)"
    if mode == "IMMUTABLE_WITH_EXCLUSION" and use.image_tag is not None:
        for pattern in repo.mutability_exclusions:
            if fnmatch.fnmatchcase(use.image_tag, pattern):
                return f"lets tag `{use.image_tag}` be overwritten (excluded by `{pattern}`)"
    return None


def check(ctx: RuleContext) -> Iterator[Finding]:
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
        found = ctx.inventory.ecr_repository(use.name)
        if isinstance(found, Gap):
            yield unknown(
                use.loc, f"ECR repository `{use.name}`, which {use.how}: {found.reason}", **who
            )
            continue
        loc = attr_loc(ctx, found.loc, use.loc)
        if found.tag_mutability is None:
            yield unknown(
                loc, f"the tag mutability of ECR repository `{use.name}` is not known", **who
            )
            continue
        why = _problem(found, use)
        if why is not None:
            yield fail(
                loc,
                f"ECR repository `{use.name}`, which {use.how}, {why}",
                evidence={"repository": use.name, "imageTagMutability": found.tag_mutability},
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
