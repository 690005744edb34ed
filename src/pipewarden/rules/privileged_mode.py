"""Detects CodeBuild projects running in privileged mode without an exemption.

## Rationale
Privileged mode gives the build container root access to the Docker daemon
and the host's devices. A build that runs untrusted code (dependencies,
test fixtures, a poisoned buildspec) in privileged mode can escape the
container's isolation, tamper with images it builds, and reach credentials
of the build host (Security Hub control CodeBuild.5). Builds that do need
Docker-in-Docker should be few, reviewed and listed.

## Remediation
Set `Environment.PrivilegedMode: false`. Build images with tools that need
no daemon (Kaniko, Buildah, `ECRBuildAndPublish` actions), or keep
privileged builds in dedicated projects that run no untrusted code and list
them:

```toml
[rules.PW702]
exempt_projects = ["docker-image-builder"]
```
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import used_projects, who_of

META = RuleMeta(
    id="PW702",
    slug="privileged-mode",
    title="CodeBuild project runs in privileged mode",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_5,),
    fsbp=("CodeBuild.5",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/codebuild-controls.html",
    ),
    needs=frozenset({"codebuild-project"}),
)


def _exempt(ctx: RuleContext) -> frozenset[str]:
    raw = ctx.config.option(META.id, "exempt_projects", [])
    if not isinstance(raw, list):
        return frozenset()
    return frozenset(str(x) for x in raw)


def check(ctx: RuleContext) -> Iterator[Finding]:
    exempt = _exempt(ctx)
    uses, gaps = used_projects(ctx)
    yield from gaps
    for use in uses:
        project = use.project
        if project.name in exempt:
            continue
        who = who_of(use.action)
        loc = use.at(ctx, "Environment", "PrivilegedMode")
        if project.privileged is None:
            yield unknown(
                loc,
                f"whether CodeBuild project `{project.name}` runs privileged is not known",
                **who,
            )
        elif project.privileged:
            yield fail(
                loc,
                f"CodeBuild project `{project.name}` runs in privileged mode and is not on the "
                "exemption list (rules.PW702.exempt_projects)",
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
