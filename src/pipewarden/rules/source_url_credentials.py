"""Detects CodeBuild projects whose source URL embeds credentials.

## Rationale
A source location such as `https://user:token@github.com/org/repo.git` stores
the credential in clear in the project definition, returned by
`codebuild:BatchGetProjects` to anyone allowed to read the project, shown in
the console, kept in the template or Terraform state, and often echoed in
build logs (Security Hub control CodeBuild.1). Tokens used this way are
usually long-lived personal access tokens with access to far more than the
one repository.

## Remediation
Remove the user-info from `Source.Location` and authenticate through
CodeConnections (`Source.Auth` with `Type: CODECONNECTIONS`) or a source
credential stored by CodeBuild (`aws codebuild import-source-credentials`,
backed by Secrets Manager). Revoke the exposed token.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity, Unresolved, mask
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import used_projects, who_of
from pipewarden.rules._secrets import url_credentials

META = RuleMeta(
    id="PW605",
    slug="source-url-credentials",
    title="CodeBuild source URL embeds credentials",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_6,),
    fsbp=("CodeBuild.1",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/codebuild-controls.html",
        "https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections.html",
    ),
    needs=frozenset({"codebuild-project"}),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    uses, gaps = used_projects(ctx)
    yield from gaps
    for use in uses:
        project = use.project
        location = project.source_location
        who = who_of(use.action)
        loc = use.at(ctx, "Source", "Location")
        if isinstance(location, Unresolved):
            yield unknown(
                loc,
                f"the source location of CodeBuild project `{project.name}` is unresolved: "
                f"{location.reason}",
                **who,
            )
            continue
        if not location:
            continue
        credential = url_credentials(location)
        if credential is not None:
            masked = mask(credential)
            yield fail(
                loc,
                f"the source location of CodeBuild project `{project.name}` embeds a credential "
                f"({masked})",
                evidence={"masked": masked},
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
