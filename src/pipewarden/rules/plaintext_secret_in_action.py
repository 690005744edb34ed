"""Detects plaintext secrets in action configuration, environment variables and commands.

## Rationale
A pipeline declaration is readable by everyone with `codepipeline:GetPipeline`,
is stored in the template or Terraform state that defines it, and is copied
into every execution's details. Only configuration keys an action type
declares secret (the GitHub version 1 `OAuthToken`) are masked; everything
else, including CodeBuild `EnvironmentVariables` overrides, Commands action
`environmentVariables` and `commands`, and Lambda `UserParameters`, is shown
in clear. A token or password written there is a long-lived credential in
plain sight.

Detection recognises known credential formats (AWS access keys, GitHub,
GitLab, Slack, Stripe, npm and PyPI tokens, private keys, JWTs, credentials
in URLs, ...) and secret-named keys (`DB_PASSWORD`, `ApiKey`) holding a
literal. References are not secrets: `{{resolve:secretsmanager:...}}`,
`{{resolve:ssm-secure:...}}`, `#{...}` variables, `${...}` placeholders,
`****` and variables of type `SECRETS_MANAGER` or `PARAMETER_STORE`. Values
a template leaves unresolved (parameters) are not literals in the template
and are not reported. Findings show a masked form, never the value.

## Remediation
Store the secret in Secrets Manager (or Parameter Store as a `SecureString`)
and reference it: CodeBuild `EnvironmentVariables` entries with
`"type": "SECRETS_MANAGER"` and the secret's name, Commands
`environmentVariables` with `type: SECRETS_MANAGER`, or a buildspec
`env.secrets-manager` section. Then rotate the exposed credential: it has
been stored in clear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from pipewarden.model import EnvVar, Finding, Loc, Severity, Value
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail
from pipewarden.rules._build import Who, condition_rules, who_of
from pipewarden.rules._secrets import SecretHit, find_secret, find_secret_in_text

META = RuleMeta(
    id="PW601",
    slug="plaintext-secret-in-action",
    title="Action configuration holds a plaintext secret",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_6,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-Commands.html",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/intro.html",
    ),
)

_PLAINTEXT = "PLAINTEXT"


def _message(where: str, hit: SecretHit) -> str:
    return f"{where} holds a plaintext secret ({hit.kind}, {hit.masked})"


def _evidence(hit: SecretHit) -> dict[str, str]:
    return {"kind": hit.kind, "masked": hit.masked}


@lru_cache(maxsize=4096)
def _env_override(raw: str) -> tuple[tuple[str, str], ...] | None:
    """(name, value) of PLAINTEXT entries of a CodeBuild ``EnvironmentVariables`` JSON string."""
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, list):
        return None
    out: list[tuple[str, str]] = []
    for entry in doc:
        if not isinstance(entry, Mapping):
            continue
        kind = entry.get("type", _PLAINTEXT)
        name, value = entry.get("name"), entry.get("value")
        if kind == _PLAINTEXT and isinstance(value, str):
            out.append((str(name or ""), value))
    return tuple(out)


def _configuration(
    configuration: Mapping[str, Value], base: Loc, owner: str, who: Who
) -> Iterator[Finding]:
    for key, value in configuration.items():
        if not isinstance(value, str):
            continue  # unresolved: not a literal in this input
        if key == "EnvironmentVariables":
            entries = _env_override(value)
            if entries is not None:
                for name, literal in entries:
                    hit = find_secret(name, literal)
                    if hit is not None:
                        yield fail(
                            base / "configuration" / key,
                            _message(
                                f"variable `{name}` of the `EnvironmentVariables` override of {owner}",
                                hit,
                            ),
                            evidence={"variable": name, **_evidence(hit)},
                            **who,
                        )
                continue
        hit = find_secret(key, value)
        if hit is None and "\n" in value:
            hit = find_secret_in_text(value)
        if hit is not None:
            loc = base / "configuration" / key if key != "*" else base / "configuration"
            yield fail(
                loc,
                _message(f"configuration `{key}` of {owner}", hit),
                evidence=_evidence(hit),
                **who,
            )


def _env_vars(env: tuple[EnvVar, ...], base: Loc, owner: str, who: Who) -> Iterator[Finding]:
    for i, var in enumerate(env):
        if var.type != _PLAINTEXT or not isinstance(var.value, str):
            continue
        hit = find_secret(var.name, var.value)
        if hit is not None:
            loc = (var.loc or base / "environmentVariables" / i) / "value"
            yield fail(
                loc,
                _message(f"environment variable `{var.name}` of {owner}", hit),
                evidence={"variable": var.name, **_evidence(hit)},
                **who,
            )


def _commands(commands: tuple[str, ...], base: Loc, owner: str, who: Who) -> Iterator[Finding]:
    for i, line in enumerate(commands):
        hit = find_secret_in_text(line)
        if hit is not None:
            yield fail(
                base / "commands" / i,
                _message(f"command {i + 1} of {owner}", hit),
                evidence=_evidence(hit),
                **who,
            )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions():
        owner = f"action `{action.name}` in stage `{action.stage_name}`"
        who = who_of(action)
        yield from _configuration(action.configuration, action.loc, owner, who)
        yield from _env_vars(action.environment_variables, action.loc, owner, who)
        yield from _commands(action.commands, action.loc, owner, who)
    for stage, label, rule in condition_rules(ctx):
        owner = f"{label} rule `{rule.name}` of stage `{stage.name}`"
        who = Who(stage=stage.name)
        yield from _configuration(rule.configuration, rule.loc, owner, who)
        yield from _commands(rule.commands, rule.loc, owner, who)


RULE = Rule(META, check, __doc__ or "")
