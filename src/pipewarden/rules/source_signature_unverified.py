"""Detects source artifacts that are built, tested or deployed before any commit-signature check.

## Rationale
Branch protection and code review live in the repository host; the pipeline
only sees a zip of whatever commit the branch points at. Anyone who can push
to the branch (a stolen developer token, a compromised integration, a host
administrator, a force-push that bypasses review) gets their code built and
deployed. Verifying the commit's signature inside the pipeline, against keys
the pipeline owner controls, ties what is built to a person who signed it.

The check must run before the artifact is used: a verification action in
the same stage with a lower `runOrder`, or in an earlier stage, that consumes
the same source artifact. An action verifies when it runs a known verifier
(`git verify-commit`, `git verify-tag`, `gitsign verify`,
`pipewarden verify-commit`, `cosign verify-blob`, `in-toto-verify`,
`slsa-verifier`...) from commands the source cannot change: a Commands
action, an inline buildspec in the CodeBuild project or the action's
`BuildspecOverride`. A buildspec read from the source itself proves nothing,
since the author of the source controls it. Actions can also be named
verifiers in configuration (`[verifiers] actions = [...]`).

## Remediation
Add a verification action that consumes the source artifact before every
build, test or deploy action, for example a CodeBuild action whose
`BuildspecOverride` runs `pipewarden verify-commit` (or `git verify-commit`)
against an allowed-signers file kept outside the repository (an inline
`BuildSpec` in the project also counts, but PW701 reports it), with the source
action's `OutputArtifactFormat: CODEBUILD_CLONE_REF` so that git metadata is
available. Put it in its own stage before the build, or in the build stage
with a lower `RunOrder`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Action, Finding, Gap, Severity
from pipewarden.rules._api import (
    BUILD_TEST_DEPLOY,
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    at_action,
    fail,
    unknown,
)

META = RuleMeta(
    id="PW104",
    slug="source-signature-unverified",
    title="Source is used before any commit-signature verification",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html",
        "https://git-scm.com/docs/git-verify-commit",
    ),
    needs=frozenset({"codebuild-project"}),
)


def _order(action: Action) -> tuple[int, int, int]:
    return (action.stage_index, action.run_order, action.index)


def _check_artifact(ctx: RuleContext, source: Action, artifact: str) -> Iterator[Finding]:
    unverified: list[Action] = []
    unsure: list[tuple[Action, str]] = []
    for consumer in sorted(ctx.consumers(artifact), key=_order):
        if consumer.category not in BUILD_TEST_DEPLOY:
            continue
        is_verifier = ctx.verifies(consumer)
        if is_verifier is True:
            continue
        verdict = ctx.verified_before(artifact, consumer)
        if verdict is True:
            continue
        if isinstance(verdict, Gap):
            unsure.append((consumer, verdict.reason))
        elif isinstance(is_verifier, Gap):
            unsure.append((consumer, f"whether it verifies is not known: {is_verifier.reason}"))
        else:
            unverified.append(consumer)

    if unverified:
        first = unverified[0]
        others = [a.name for a in unverified[1:]]
        message = (
            f"{first.category} action `{first.name}` in stage `{first.stage_name}` consumes "
            f"source artifact `{artifact}` of `{source.name}` with no commit-signature "
            f"verification before it"
        )
        if others:
            message += f" (and {len(others)} more: " + ", ".join(f"`{n}`" for n in others) + ")"
        yield fail(
            first.loc / "inputArtifacts" / first.input_artifacts.index(artifact),
            message,
            **at_action(first),
            evidence={"artifact": artifact, "source_action": source.name},
        )
    elif unsure:
        consumer, reason = unsure[0]
        yield unknown(
            consumer.loc / "inputArtifacts" / consumer.input_artifacts.index(artifact),
            f"{consumer.category} action `{consumer.name}` in stage `{consumer.stage_name}` "
            f"consumes source artifact `{artifact}`: {reason}",
            stage=consumer.stage_name,
            action=consumer.name,
            evidence={"artifact": artifact, "source_action": source.name},
        )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for source in ctx.actions(category="Source"):
        for artifact in source.output_artifacts:
            yield from _check_artifact(ctx, source, artifact)


RULE = Rule(META, check, __doc__ or "")
