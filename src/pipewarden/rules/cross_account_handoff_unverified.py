"""Detects actions in another account that consume artifacts no verification action checked.

## Rationale
A cross-account action (its `roleArn` is a role in another account) reads its
input artifacts from the pipeline account's artifact bucket and acts on them
with the other account's permissions: typically a deploy into production.
The other account trusts whatever it is handed. Anyone who can write to the
artifact bucket or influence an earlier stage in the pipeline account (a
weaker, shared tooling account) thereby reaches the target account. A
verification action that checks an attestation or digest of the artifact
(`cosign verify-attestation`, `cosign verify-blob`, `in-toto-verify`,
`slsa-verifier`, `pipewarden verify-handoff`, or an action named in the
`[verifiers]` configuration) before the hand-off, or inside the target
account as the first consumer, turns that trust into a check.

When the action's or the pipeline's account cannot be resolved, the result
is unknown.

## Remediation
Sign or attest build outputs where they are produced (for example
`cosign attest-blob` or `pipewarden attest`) and add a verification action
that consumes the same artifact before the cross-account action: a CodeBuild
action in the target account (its `RoleArn` in that account) whose inline
buildspec or `BuildspecOverride` runs the verifier, or a `Commands` action.
Verify against keys the target account controls.
"""

from __future__ import annotations

from collections.abc import Iterator

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
    id="PW206",
    slug="cross-account-handoff-unverified",
    title="Action in another account consumes an unverified artifact",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html",
        "https://slsa.dev/spec/v1.0/verifying-artifacts",
    ),
    needs=frozenset({"codebuild-project"}),
)


def _check_action(ctx: RuleContext, action: Action) -> Iterator[Finding]:
    if not action.input_artifacts:
        return
    where = f"{action.category} action `{action.name}` in stage `{action.stage_name}`"
    cross = ctx.is_cross_account(action)
    if isinstance(cross, Unresolved):
        yield unknown(
            action.loc / "roleArn",
            f"{where}: whether it runs in another account cannot be told: {cross.reason}",
            stage=action.stage_name,
            action=action.name,
        )
        return
    if not cross:
        return
    verifier = ctx.verifies(action)
    if verifier is True:
        return
    account = ctx.action_account(action)
    for index, artifact in enumerate(action.input_artifacts):
        loc = action.loc / "inputArtifacts" / index
        verdict = ctx.verified_before(artifact, action)
        if verdict is True:
            continue
        if isinstance(verdict, Gap):
            yield unknown(
                loc,
                f"{where} runs in account `{account}`: {verdict.reason}",
                stage=action.stage_name,
                action=action.name,
            )
        elif isinstance(verifier, Gap):
            yield unknown(
                loc,
                f"{where} runs in account `{account}` and consumes `{artifact}`; whether it "
                f"verifies it is not known: {verifier.reason}",
                stage=action.stage_name,
                action=action.name,
            )
        else:
            yield fail(
                loc,
                f"{where} runs in account `{account}` and consumes artifact `{artifact}` "
                f"with no verification action before it",
                **at_action(action),
                evidence={"artifact": artifact, "account": str(account)},
            )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions():
        yield from _check_action(ctx, action)


RULE = Rule(META, check, __doc__ or "")
