"""Detects commit-signature verification of a source whose artifact carries no git metadata.

## Rationale
`CodeStarSourceConnection` and `CodeCommit` source actions output a zip of the
files at the commit by default (`OutputArtifactFormat: CODE_ZIP`). The zip has
no `.git` directory: no commit object, no signature, no history. A
verification action that runs `git verify-commit` on it either fails every
time, which teams "fix" by making the check advisory, or verifies something
else than the commit that is built. The pipeline looks protected while
nothing is checked.

## Remediation
Set `OutputArtifactFormat: CODEBUILD_CLONE_REF` on the source action
(Terraform: `OutputArtifactFormat = "CODEBUILD_CLONE_REF"` in `configuration`)
so that the verification action, which must then be a CodeBuild action,
receives a full clone. Give the CodeBuild role `codeconnections:UseConnection`
on the connection (or `codecommit:GitPull` on the repository).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pipewarden.model import Action, Finding, Gap, Severity, Unresolved
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
    id="PW105",
    slug="source-clone-metadata-missing",
    title="Signature verification runs on a source artifact without git metadata",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html",
    ),
    needs=frozenset({"codebuild-project"}),
)

GIT_SOURCES: Final = ("CodeStarSourceConnection", "CodeCommit")
CLONE_REF: Final = "CODEBUILD_CLONE_REF"


def _verifiers(ctx: RuleContext, artifact: str) -> tuple[list[str], str | None]:
    """Names of the actions and condition rules that verify ``artifact``, and the first
    reason one could not be told."""
    found: list[str] = []
    unsure: str | None = None
    for consumer in ctx.consumers(artifact):
        verdict = ctx.verifies(consumer)
        if verdict is True:
            found.append(f"action `{consumer.name}`")
        elif isinstance(verdict, Gap) and unsure is None:
            unsure = f"whether `{consumer.name}` verifies is not known: {verdict.reason}"
    for stage in ctx.pipeline.stages:
        for conditions in (stage.before_entry, stage.on_success, stage.on_failure):
            for condition in conditions.conditions if conditions else ():
                for rule in condition.rules:
                    if artifact not in rule.input_artifacts:
                        continue
                    verdict = ctx.rule_verifies(rule)
                    if verdict is True:
                        found.append(f"rule `{rule.name}` of stage `{stage.name}`")
                    elif isinstance(verdict, Gap) and unsure is None:
                        unsure = (
                            f"whether rule `{rule.name}` verifies is not known: {verdict.reason}"
                        )
    return found, unsure


def _check_source(ctx: RuleContext, source: Action) -> Iterator[Finding]:
    config = source.loc / "configuration"
    fmt = source.config("OutputArtifactFormat")
    if fmt == CLONE_REF:
        return
    where = f"Source action `{source.name}` in stage `{source.stage_name}`"
    for artifact in source.output_artifacts:
        verifiers, unsure = _verifiers(ctx, artifact)
        if not verifiers and unsure is None:
            continue
        if isinstance(fmt, Unresolved):
            yield unknown(
                config.raw("OutputArtifactFormat"),
                f"{where}: `OutputArtifactFormat` is unresolved ({fmt.expr}): {fmt.reason}",
                stage=source.stage_name,
                action=source.name,
            )
            return
        loc = config.raw("OutputArtifactFormat") if fmt is not None else config
        shown = fmt if fmt is not None else "CODE_ZIP (the default)"
        if verifiers:
            names = ", ".join(verifiers)
            yield fail(
                loc,
                f"{where} outputs `{artifact}` as {shown}, without git metadata, but {names} "
                f"verifies its signature",
                **at_action(source),
                evidence={"OutputArtifactFormat": str(fmt or "CODE_ZIP"), "artifact": artifact},
            )
        else:
            yield unknown(
                loc,
                f"{where} outputs `{artifact}` as {shown}; {unsure}",
                stage=source.stage_name,
                action=source.name,
            )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for source in ctx.actions(category="Source"):
        if source.provider in GIT_SOURCES:
            yield from _check_source(ctx, source)


RULE = Rule(META, check, __doc__ or "")
