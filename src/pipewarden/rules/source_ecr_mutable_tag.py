"""Detects ECR source actions that follow a tag which can be moved to another image.

## Rationale
An ECR source action starts the pipeline when an image is pushed with its
`ImageTag` (`latest` when the key is absent) and hands the image's digest
downstream. When the repository allows tags to be overwritten, whoever can
push to the repository can move the tag to any image, and the pipeline
deploys it as if it were the release: the tag names no particular content.

Tag mutability is read from the repository: `IMMUTABLE` protects every tag;
`IMMUTABLE_WITH_EXCLUSION` protects every tag except those matching its
exclusion filters; `MUTABLE_WITH_EXCLUSION` protects only the tags matching
its exclusion filters; `MUTABLE` protects none.

## Remediation
Make the repository's tags immutable (CloudFormation
`ImageTagMutability: IMMUTABLE`, Terraform `image_tag_mutability = "IMMUTABLE"`),
or, if some tags must move, exclude only those from immutability and point
the source action's `ImageTag` at a release tag that cannot move
(`IMMUTABLE_WITH_EXCLUSION` with the moving tags in
`ImageTagMutabilityExclusionFilters`). Do not follow `latest`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Final

from pipewarden.model import Action, EcrRepository, Finding, Gap, Severity, Unresolved
from pipewarden.rules._api import (
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    at_action,
    fail,
    unknown,
)

META = RuleMeta(
    id="PW108",
    slug="source-ecr-mutable-tag",
    title="ECR source follows a tag that can be moved to another image",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_3,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-ECR.html",
        "https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html",
    ),
    needs=frozenset({"ecr-repository"}),
)

DEFAULT_TAG: Final = "latest"


def _matches(tag: str, filters: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(tag, pattern) for pattern in filters)


def tag_is_mutable(repo: EcrRepository, tag: str | None) -> bool | None:
    """Whether ``tag`` can be moved in ``repo`` (None: not known; ``tag`` None: unresolved)."""
    mode = (repo.tag_mutability or "").upper()
    if not mode:
        return None
    if mode == "IMMUTABLE":
        return False
    if mode == "MUTABLE":
        return True
    if tag is None:
        return None
    excluded = _matches(tag, repo.mutability_exclusions)
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        return excluded
    if mode == "MUTABLE_WITH_EXCLUSION":
        return not excluded
    return None


def _check_action(ctx: RuleContext, action: Action) -> Iterator[Finding]:
    config = action.loc / "configuration"
    where = f"Source action `{action.name}` in stage `{action.stage_name}`"
    name = action.config("RepositoryName")
    raw_tag = action.config("ImageTag")
    loc = config.raw("ImageTag") if raw_tag is not None else config.raw("RepositoryName")
    if name is None:
        yield unknown(
            config, f"{where} has no `RepositoryName`", stage=action.stage_name, action=action.name
        )
        return
    if isinstance(name, Unresolved):
        yield unknown(
            loc,
            f"{where} follows a repository that is unresolved ({name.expr}): {name.reason}",
            stage=action.stage_name,
            action=action.name,
        )
        return
    repo = ctx.inventory.ecr_repository(name)
    if isinstance(repo, Gap):
        yield unknown(
            loc,
            f"{where} follows a repository that is not known: {repo.reason}",
            stage=action.stage_name,
            action=action.name,
        )
        return
    tag = DEFAULT_TAG if raw_tag is None else raw_tag
    shown = f"`{tag}`" if isinstance(tag, str) else f"unresolved ({tag.expr})"
    if raw_tag is None:
        shown += " (the default)"
    mutable = tag_is_mutable(repo, tag if isinstance(tag, str) else None)
    if mutable is True:
        yield fail(
            loc,
            f"{where} follows tag {shown} of repository `{name}`, whose tag mutability "
            f"`{repo.tag_mutability}` lets it be moved to another image",
            **at_action(action),
            evidence={
                "repository": name,
                "tag": str(tag),
                "imageTagMutability": str(repo.tag_mutability),
            },
        )
    elif mutable is None:
        if not repo.tag_mutability:
            reason = f"the tag mutability of repository `{name}` is not known"
        elif isinstance(tag, Unresolved):
            reason = f"the tag is unresolved: {tag.reason}"
        else:
            reason = (
                f"tag mutability `{repo.tag_mutability}` of repository `{name}` is not understood"
            )
        yield unknown(
            loc,
            f"{where} follows tag {shown}: {reason}",
            stage=action.stage_name,
            action=action.name,
        )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Source", provider="ECR"):
        if action.owner == "AWS":
            yield from _check_action(ctx, action)


RULE = Rule(META, check, __doc__ or "")
