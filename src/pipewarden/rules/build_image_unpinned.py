"""Detects CodeBuild projects that run a custom build image by tag instead of by digest.

## Rationale
A tag such as `my-builder:latest` or `my-builder:1.4` is a movable pointer:
whoever can push to the repository (or to the public registry the image
comes from) decides what the next build runs, with the build's role, its
secrets and write access to the artifacts it produces. Pulling by digest
(`repo@sha256:…`) makes the build environment immutable and reviewable.

CodeBuild's curated images (`aws/codebuild/...`) are maintained and patched
by AWS and cannot be pinned by digest, so they pass; so do Commands actions
and rules, which always run on a curated image.

## Remediation
Set the project's image to a digest reference, e.g. CloudFormation
`Environment.Image: 111122223333.dkr.ecr.us-east-1.amazonaws.com/builder@sha256:<digest>`
(Terraform `environment { image = "...@sha256:<digest>" }`), and update the
digest through a reviewed change when the image is rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pipewarden.model import Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import used_projects, who_of

META = RuleMeta(
    id="PW505",
    slug="build-image-unpinned",
    title="CodeBuild project runs a custom image by tag, not by digest",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_3,),
    references=(
        "https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-available.html",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
    ),
    needs=frozenset({"codebuild-project"}),
)

CURATED_PREFIX: Final = "aws/codebuild/"


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, or None when curated or by digest."""
    if image.startswith(CURATED_PREFIX) or "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        return f"by tag `{last.split(':', 1)[1]}`"
    return "with no tag (`latest`)"


def check(ctx: RuleContext) -> Iterator[Finding]:
    uses, gaps = used_projects(ctx)
    yield from gaps
    for use in uses:
        project = use.project
        who = who_of(use.action)
        loc = use.at(ctx, "Environment", "Image")
        image = project.image
        if image is None:
            yield unknown(
                loc, f"the image of CodeBuild project `{project.name}` is not known", **who
            )
            continue
        if isinstance(image, Unresolved):
            yield unknown(
                loc,
                f"the image of CodeBuild project `{project.name}` is unresolved: {image.reason}",
                **who,
            )
            continue
        why = image_problem(image.strip())
        if why is not None:
            yield fail(
                loc,
                f"CodeBuild project `{project.name}` runs custom image `{image}` {why}, not by "
                "`@sha256:` digest",
                evidence={"image": image},
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
