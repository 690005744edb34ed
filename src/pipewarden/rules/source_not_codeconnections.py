"""Detects source actions that reach an external repository other than through CodeConnections.

## Rationale
A pipeline that pulls from GitHub, GitHub Enterprise Server, Bitbucket or
GitLab through the legacy GitHub (version 1) action, a `ThirdParty` action or
a `Custom` job-worker action authenticates with a credential it holds itself:
an OAuth or personal access token tied to one person, or a job worker that
polls CodePipeline with its own AWS credentials. Those credentials are
long-lived, broadly scoped (a GitHub OAuth token reaches every repository its
owner can), cannot be restricted per repository in IAM, and leave no trail of
which pipeline used them. CodeConnections (`CodeStarSourceConnection`)
replaces them with an app installation that the repository owner scopes and
revokes, and with `codeconnections:UseConnection` permissions that IAM can
narrow to one `FullRepositoryId`.

AWS-native sources (`CodeCommit`, `S3`, `ECR`) are not external and are not
reported.

## Remediation
Create a connection (`AWS::CodeConnections::Connection`, or the console under
*Developer Tools > Settings > Connections*), complete the handshake with the
provider, and replace the source action with
`ActionTypeId: {Category: Source, Owner: AWS, Provider: CodeStarSourceConnection, Version: "1"}`
and `Configuration: {ConnectionArn, FullRepositoryId: owner/repo, BranchName}`.
Delete the old webhook and revoke the token the old action used.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, at_action, fail

META = RuleMeta(
    id="PW102",
    slug="source-not-codeconnections",
    title="External repository is reached without CodeConnections",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_2, CicdSec.SEC_8),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/update-github-action-connections.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html",
    ),
)


def _describe(owner: str, provider: str, version: str) -> str:
    if owner == "ThirdParty" and provider == "GitHub":
        return f"the GitHub (version {version}) action with an OAuth token"
    if owner == "Custom":
        return f"the custom action type `{provider}` (a job worker with its own credentials)"
    return f"the `{owner}/{provider}` action type"


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Source"):
        # Every AWS-owned source provider reads from an AWS service or a connection;
        # only ThirdParty and Custom source actions reach an external host directly.
        if action.owner == "AWS":
            continue
        how = _describe(action.owner, action.provider, action.type_id.version)
        yield fail(
            action.loc / "actionTypeId" / "provider",
            f"Source action `{action.name}` in stage `{action.stage_name}` reaches its "
            f"repository through {how}, not through CodeConnections",
            **at_action(action),
            evidence={"actionTypeId": str(action.type_id)},
        )


RULE = Rule(META, check, __doc__ or "")
