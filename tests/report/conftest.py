"""A hand-built ScanResult covering every case a renderer must handle."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipewarden.engine import RuleCrash, ScanResult
from pipewarden.model import Finding, Loc, Location, Pipeline, Result, Severity, Status, mask
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta

SECRET = "ghp_" + "k3Jd9Qw7Lm2Xc5Vb8Nz1Hs4Gf6Ty0Ru3Ep9Ai"


def _never(ctx: RuleContext) -> Iterator[Finding]:
    return iter(())


DOC = """Detects something in a test.

## Rationale
Attackers like it.
They really do.

## Remediation
Fix it with `care`.
"""


def _rule(rule_id: str, slug: str, severity: Severity, *secs: CicdSec) -> Rule:
    meta = RuleMeta(
        id=rule_id,
        slug=slug,
        title=f"Title of {slug}",
        severity=severity,
        cicd_sec=secs or (CicdSec.SEC_1,),
        references=("https://example.com/ref",),
        fsbp=("CodeBuild.1",) if rule_id == "PW181" else (),
    )
    return Rule(meta, _never, DOC)


RULE_A = _rule("PW181", "test-source-token", Severity.HIGH, CicdSec.SEC_6, CicdSec.SEC_2)
RULE_B = _rule("PW281", "test-artifact-lock", Severity.MEDIUM)
RULE_C = _rule("PW781", "test-build-logs", Severity.LOW)

FILE = "infra/app.json"
OTHER_FILE = "other/app.json"
LIVE_ARN = "arn:aws:codepipeline:us-east-1:111122223333:live"
APP_ARN = "arn:aws:codepipeline:us-east-1:111122223333:app"

P_FILE = Pipeline(
    name="app",
    loc=Loc(FILE, "/pipeline"),
    stages=(),
    arn=APP_ARN,
    account="111122223333",
    region="us-east-1",
    declaration={"pipeline": {"name": "app", "secret": SECRET}},
    source_file=FILE,
)
P_LIVE = Pipeline(name="live", loc=Loc(LIVE_ARN, "/pipeline"), stages=(), arn=LIVE_ARN)
P_DUP = Pipeline(name="app", loc=Loc(OTHER_FILE, ""), stages=(), source_file=OTHER_FILE)


def _result(
    rule: Rule,
    pipeline: Pipeline,
    status: Status,
    pointer: str,
    message: str,
    *,
    line: int | None = None,
    evidence: dict[str, str] | None = None,
    suppressed: str | None = None,
    stage: str | None = None,
) -> Result:
    file = pipeline.source_file
    subject = file if file is not None else (pipeline.arn or "")
    return Result(
        rule_id=rule.meta.id,
        slug=rule.meta.slug,
        title=rule.meta.title,
        severity=rule.meta.severity,
        status=status,
        pipeline=pipeline.display_name,
        location=Location(subject, pointer, file, line, 5 if line else None),
        message=message,
        pipeline_arn=pipeline.arn,
        account=pipeline.account,
        region=pipeline.region,
        stage=stage,
        evidence=evidence or {},
        suppressed=suppressed,
        pipeline_ref=str(pipeline.loc),
    )


def build_scan() -> ScanResult:
    results = (
        _result(RULE_C, P_FILE, Status.PASS, "/pipeline", "no failure found", line=2),
        _result(
            RULE_B, P_FILE, Status.UNKNOWN, "/pipeline/artifactStore", "bucket not in input", line=5
        ),
        _result(
            RULE_A,
            P_FILE,
            Status.FAIL,
            "/pipeline/stages/0/actions/0/configuration/OAuthToken",
            "source action `Source` uses a long-lived token",
            line=20,
            evidence={"OAuthToken": mask(SECRET)},
            stage="Source",
        ),
        _result(
            RULE_A,
            P_FILE,
            Status.FAIL,
            "/pipeline/stages/1/actions/0/configuration/OAuthToken",
            "second source uses a token",
            line=40,
            suppressed="migrating in Q3",
        ),
        _result(RULE_A, P_LIVE, Status.FAIL, "/pipeline/stages/0", "live pipeline token"),
        _result(RULE_B, P_LIVE, Status.PASS, "/pipeline", "no failure found"),
        _result(RULE_A, P_DUP, Status.PASS, "", "no failure found", line=1),
    )
    return ScanResult(
        results=results,
        rules=(RULE_A, RULE_B, RULE_C),
        pipelines=(P_FILE, P_LIVE, P_DUP),
        crashes=(RuleCrash("PW281", "app", "KeyError: 'x'"),),
        notes=("skipped infra/readme.yaml: not a pipeline definition",),
        gaps=("role arn:aws:iam::111122223333:role/x: AccessDenied",),
        inputs=(FILE, OTHER_FILE),
    )


@pytest.fixture
def sample_scan() -> ScanResult:
    return build_scan()


@pytest.fixture
def secret() -> str:
    return SECRET
