"""Detects CodeBuild projects whose plaintext environment variables hold secrets.

## Rationale
Environment variables of type `PLAINTEXT` are stored in clear in the project
definition: `codebuild:BatchGetProjects` returns them to anyone allowed to
read the project, the console shows them, and they are kept in the template
or Terraform state that defines the project. A token, password or key placed
there is a long-lived credential in plain sight (Security Hub control
CodeBuild.2). The same holds for `env.variables` of a buildspec kept inline
in the project, which this rule also reads.

A variable fails when its value has a known credential format, or when its
name says secret (`DB_PASSWORD`, `NPM_TOKEN`, `API_KEY`) and its value is a
literal. Values shown as a masked form only.

## Remediation
Store the secret in Secrets Manager or Parameter Store and reference it:
`Type: SECRETS_MANAGER` (value `secret-id:json-key`) or
`Type: PARAMETER_STORE` (value the parameter name) in
`Environment.EnvironmentVariables`, or a buildspec `env.secrets-manager` /
`env.parameter-store` section. Grant the project's service role read access
to that secret only, and rotate the exposed credential.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import (
    CicdSec,
    Rule,
    RuleContext,
    RuleMeta,
    fail,
    is_inline_buildspec,
)
from pipewarden.rules._build import attr_loc, used_projects, who_of
from pipewarden.rules._secrets import find_secret, find_secret_in_text

META = RuleMeta(
    id="PW602",
    slug="codebuild-plaintext-secret",
    title="CodeBuild project keeps a secret in a plaintext environment variable",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_6,),
    fsbp=("CodeBuild.2",),
    references=(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/codebuild-controls.html",
        "https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html",
    ),
    needs=frozenset({"codebuild-project"}),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    uses, gaps = used_projects(ctx)
    yield from gaps
    for use in uses:
        project = use.project
        who = who_of(use.action)
        for i, var in enumerate(project.environment_variables):
            if var.type != "PLAINTEXT" or not isinstance(var.value, str):
                continue
            hit = find_secret(var.name, var.value)
            if hit is None:
                continue
            fallback = use.at(ctx, "Environment", "EnvironmentVariables", str(i), "Value")
            var_loc = var.loc / "value" if var.loc is not None else None
            yield fail(
                attr_loc(ctx, var_loc, fallback),
                f"plaintext environment variable `{var.name}` of CodeBuild project "
                f"`{project.name}` holds a secret ({hit.kind}, {hit.masked})",
                evidence={"variable": var.name, "kind": hit.kind, "masked": hit.masked},
                **who,
            )
        spec = project.buildspec
        if isinstance(spec, str) and is_inline_buildspec(spec):
            hit = find_secret_in_text(spec)
            if hit is not None:
                yield fail(
                    use.at(ctx, "Source", "BuildSpec"),
                    f"the inline buildspec of CodeBuild project `{project.name}` holds a plaintext "
                    f"secret ({hit.kind}, {hit.masked})",
                    evidence={"kind": hit.kind, "masked": hit.masked},
                    **who,
                )


RULE = Rule(META, check, __doc__ or "")
