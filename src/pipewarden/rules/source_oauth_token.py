"""Detects source actions that authenticate with a long-lived token held in their configuration.

## Rationale
The GitHub (version 1) source action (`ThirdParty/GitHub`) authenticates with
an `OAuthToken`: a personal OAuth or access token that lives until someone
revokes it, reaches every repository its owner can reach (usually with write
access, since the OAuth app asks for the `repo` scope), and is tied to one
person rather than to the pipeline. Whatever its form in the declaration (a
literal, the `****` AWS shows for it, a `{{resolve:secretsmanager:...}}`
reference or a template parameter), the token itself ends up in the
pipeline's configuration: nothing rotates it, no IAM policy can narrow it to
one repository, and a leak through a template, a parameter file or a
developer's machine gives push access to source code. The same holds for
any other source action whose configuration carries a token or password
literal, a value AWS masks as secret, or a dynamic reference to a stored
token.

Secret literals are recognised by the same detector as PW601 (known
credential formats and secret-looking key names). Values are never shown in
full: findings carry a masked form.

## Remediation
Replace the GitHub (version 1) action with a `CodeStarSourceConnection`
action (CodeConnections): `Provider: CodeStarSourceConnection`,
`Configuration: {ConnectionArn, FullRepositoryId: owner/repo, BranchName}`,
then revoke the token in the provider and delete it from Secrets Manager or
the template parameters. For custom source actions, have the job worker
fetch its credentials from Secrets Manager at run time instead of receiving
them in the action configuration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from pipewarden.model import Action, Finding, Severity, Unresolved, Value, mask
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, at_action, fail
from pipewarden.rules._secrets import find_secret, looks_secret_name, secrets_manager_references

META = RuleMeta(
    id="PW101",
    slug="source-oauth-token",
    title="Source action authenticates with a long-lived token in its configuration",
    severity=Severity.CRITICAL,
    cicd_sec=(CicdSec.SEC_6,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/appendix-github-oauth.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/update-github-action-connections.html",
    ),
)

TOKEN_KEY: Final = "OAuthToken"  # noqa: S105 - a configuration key, not a secret
_DYNAMIC_SECRET: Final = re.compile(r"\{\{resolve:(secretsmanager|ssm-secure):([^}]*)\}\}")
_AWS_MASK: Final = re.compile(r"^\*{3,}$")


def _is_github_v1(action: Action) -> bool:
    return action.owner == "ThirdParty" and action.provider == "GitHub"


def describe_token(value: Value) -> str:
    """How a token is given, without revealing it."""
    if isinstance(value, Unresolved):
        return f"taken from `{value.expr}`"
    stripped = value.strip()
    if _AWS_MASK.match(stripped):
        return "masked by AWS as `****`"
    dynamic = _DYNAMIC_SECRET.search(stripped)
    if dynamic:
        store = "Secrets Manager" if dynamic.group(1) == "secretsmanager" else "Parameter Store"
        names = secrets_manager_references(stripped) or [dynamic.group(2).split(":", 1)[0]]
        return f"a dynamic reference to {store} secret `{names[0]}`"
    return f"the literal `{mask(stripped)}`"


def _token_in(key: str, value: Value) -> str | None:
    """Why ``key: value`` of a source configuration holds a token (None: it does not)."""
    if isinstance(value, Unresolved):
        return describe_token(value) if looks_secret_name(key) else None
    stripped = value.strip()
    if _AWS_MASK.match(stripped) or _DYNAMIC_SECRET.search(stripped):
        return describe_token(value)
    hit = find_secret(key, value)
    if hit is not None:
        return f"a {hit.kind} literal `{hit.masked}`"
    return None


def _check_action(action: Action) -> Iterator[Finding]:
    config = action.loc / "configuration"
    where = f"Source action `{action.name}` in stage `{action.stage_name}`"
    if _is_github_v1(action):
        token = action.config(TOKEN_KEY)
        if token is None:
            yield fail(
                config,
                f"{where} is a GitHub (version 1) action, which authenticates with a "
                f"long-lived OAuth token",
                **at_action(action),
                evidence={"actionTypeId": str(action.type_id)},
            )
        else:
            form = describe_token(token)
            yield fail(
                config.raw(TOKEN_KEY),
                f"{where} authenticates to GitHub with a long-lived `OAuthToken` ({form})",
                **at_action(action),
                evidence={"key": TOKEN_KEY, "token": form},
            )
    for key, value in sorted(action.configuration.items()):
        if _is_github_v1(action) and key == TOKEN_KEY:
            continue
        why = _token_in(key, value)
        if why is not None:
            yield fail(
                config.raw(key),
                f"{where} holds a token in configuration `{key}` ({why})",
                **at_action(action),
                evidence={"key": key, "token": why},
            )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Source"):
        yield from _check_action(action)


RULE = Rule(META, check, __doc__ or "")
