"""Detects CodeBuild projects whose S3 artifacts or S3 logs are written unencrypted.

## Rationale
Build artifacts and logs carry source code, dependency lists, internal URLs
and, too often, credentials. Written with encryption disabled they are
readable by anyone who reaches the bucket objects, without any KMS key
permission and without a KMS audit trail (Security Hub control CodeBuild.3).
Artifacts of type `CODEPIPELINE` go to the pipeline's artifact store, which
PW202 checks.

## Remediation
Remove `EncryptionDisabled: true` from `Artifacts`, `SecondaryArtifacts` and
`LogsConfig.S3Logs`, and set the project's `EncryptionKey` to a
customer-managed KMS key.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail
from pipewarden.rules._build import used_projects, who_of

META = RuleMeta(
    id="PW703",
    slug="codebuild-artifacts-unencrypted",
    title="CodeBuild artifacts or S3 logs are unencrypted",
    severity=Severity.LOW,
    cicd_sec=(CicdSec.SEC_9,),
    fsbp=("CodeBuild.3",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/codebuild-controls.html",
        "https://docs.aws.amazon.com/codebuild/latest/userguide/security-encryption.html",
    ),
    needs=frozenset({"codebuild-project"}),
)

# Artifact types whose encryptionDisabled flag has no effect.
_NOT_S3: Final = frozenset({"CODEPIPELINE", "NO_ARTIFACTS"})


def check(ctx: RuleContext) -> Iterator[Finding]:
    uses, gaps = used_projects(ctx)
    yield from gaps
    for use in uses:
        project = use.project
        who = who_of(use.action)
        if project.artifacts_encryption_disabled and project.artifacts_type not in _NOT_S3:
            yield fail(
                use.at(ctx, "Artifacts", "EncryptionDisabled"),
                f"CodeBuild project `{project.name}` writes its build artifacts unencrypted",
                **who,
            )
        if project.secondary_artifacts_encryption_disabled:
            yield fail(
                use.at(ctx, "SecondaryArtifacts"),
                f"CodeBuild project `{project.name}` writes secondary artifacts unencrypted",
                **who,
            )
        if project.s3_logs_enabled and project.s3_logs_encryption_disabled:
            yield fail(
                use.at(ctx, "LogsConfig", "S3Logs", "EncryptionDisabled"),
                f"CodeBuild project `{project.name}` writes its S3 logs unencrypted",
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
