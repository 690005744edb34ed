"""Detects deploys of artifacts produced by third-party actions with no verification in between.

## Rationale
What a `ThirdParty` or `Custom` action writes as an output artifact comes
from a system outside your control. If a deploy action consumes that
artifact, directly or through later build steps, with no action that checks
it (a signature or attestation verification, a digest comparison), a
compromised partner service or job worker ships straight to your
environments.

## Remediation
Add a verification action that consumes the third-party output and finishes
before the deploy (same stage with a lower `runOrder`, or an earlier stage):
a CodeBuild or Commands action running `cosign verify-blob`,
`cosign verify-attestation`, `slsa-verifier` or `pipewarden verify-handoff`,
or name your own verifier in configuration (`[verifiers]`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pipewarden.model import Action, Finding, Gap, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import is_third_party, type_label, who_of

META = RuleMeta(
    id="PW504",
    slug="third-party-output-unaudited",
    title="Deploy consumes third-party output that no action verifies",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_8, CicdSec.SEC_9),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-create-custom-action.html",
        "https://slsa.dev/spec/v1.0/verifying-artifacts",
    ),
    needs=frozenset({"codebuild-project"}),
)


@dataclass(frozen=True, slots=True)
class _Path:
    """A path from a third-party producer to the deploy with no certain verifier.

    ``gap`` says why the path may be verified after all (a verifier candidate
    that could not be inspected); None when it certainly is not.
    """

    producer: Action
    artifact: str  # the artifact the deploy consumes
    gap: Gap | None


def _trace(ctx: RuleContext, deploy: Action) -> list[_Path]:
    """Third-party producers reaching ``deploy`` through artifacts with no verifier."""
    found: list[_Path] = []
    seen: set[tuple[str, int, int, bool]] = set()
    # (artifact, its consumer, the artifact the deploy consumes, uncertainty so far)
    stack: list[tuple[str, Action, str, Gap | None]] = [
        (name, deploy, name, None) for name in deploy.input_artifacts
    ]
    while stack:
        artifact, consumer, head, gap = stack.pop()
        key = (artifact, consumer.stage_index, consumer.index, gap is None)
        if key in seen:
            continue
        seen.add(key)
        verified = ctx.verified_before(artifact, consumer)
        if verified is True:
            continue
        if isinstance(verified, Gap):
            gap = gap or verified
        producer = ctx.producer(artifact)
        if producer is None or producer is consumer:
            continue
        if is_third_party(producer):
            found.append(_Path(producer, head, gap))
            continue
        verifies = ctx.verifies(producer)
        if verifies is True:
            continue
        if isinstance(verifies, Gap):
            gap = gap or Gap(f"whether `{producer.name}` verifies is not known: {verifies.reason}")
        stack.extend((name, producer, head, gap) for name in producer.input_artifacts)
    return found


def check(ctx: RuleContext) -> Iterator[Finding]:
    if not any(is_third_party(a) for a in ctx.actions()):
        return
    for deploy in ctx.actions():
        if not ctx.is_deploy(deploy) or is_third_party(deploy):
            continue
        paths = _trace(ctx, deploy)
        who = who_of(deploy)
        certain = [p for p in paths if p.gap is None]
        reported: set[str] = set()
        for path in certain:
            producer = path.producer
            if producer.name in reported:
                continue
            reported.add(producer.name)
            index = deploy.input_artifacts.index(path.artifact)
            via = "" if path.artifact in producer.output_artifacts else " (through later actions)"
            yield fail(
                deploy.loc / "inputArtifacts" / index,
                f"deploy action `{deploy.name}` in stage `{deploy.stage_name}` consumes artifact "
                f"`{path.artifact}`, produced{via} by {producer.owner} action `{producer.name}` "
                f"(`{type_label(producer)}`), with no verification action in between",
                evidence={"artifact": path.artifact, "producer": producer.name},
                **who,
            )
        if not certain and paths:
            path = paths[0]
            reason = path.gap.reason if path.gap is not None else "not known"
            yield unknown(
                deploy.loc / "inputArtifacts" / deploy.input_artifacts.index(path.artifact),
                f"deploy action `{deploy.name}` in stage `{deploy.stage_name}` consumes output of "
                f"{path.producer.owner} action `{path.producer.name}`; whether it is verified "
                f"first is not known: {reason}",
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
