"""Detects secrets used by the pipeline that are not rotated, or rotated too rarely.

## Rationale
Secrets a pipeline uses (registry tokens, deploy keys, database passwords
for migrations) are read by every build and every job worker that runs. A
secret that never changes stays valid after it leaks through a build log, a
compromised dependency or a departed engineer; rotation bounds how long a
leaked copy is useful (Security Hub controls SecretsManager.1 and
SecretsManager.4).

The secrets checked are those named by `{{resolve:secretsmanager:...}}`
references in action configuration, by `SECRETS_MANAGER` environment
variables of actions and of the CodeBuild `EnvironmentVariables` override,
and by `SECRETS_MANAGER` environment variables of the CodeBuild projects the
pipeline runs. The maximum interval is `max_rotation_days` (default 30).

## Remediation
Turn on rotation with a rotation function (`AWS::SecretsManager::RotationSchedule`
with `RotationRules.AutomaticallyAfterDays`, or `aws secretsmanager rotate-secret
--rotation-rules AutomaticallyAfterDays=30`), or replace the long-lived secret
by short-lived credentials (CodeConnections, OIDC federation, IAM roles).

```toml
[rules.PW603]
max_rotation_days = 30
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from pipewarden.model import Finding, Gap, Loc, Severity, Unresolved, Value
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import Who, attr_loc, condition_rules, used_projects
from pipewarden.rules._secrets import secrets_manager_references, split_colons

META = RuleMeta(
    id="PW603",
    slug="secret-rotation",
    title="Secret used by the pipeline is not rotated, or rotated too rarely",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_6,),
    fsbp=("SecretsManager.1", "SecretsManager.4"),
    references=(
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html",
    ),
    needs=frozenset({"secret", "codebuild-project"}),
)

DEFAULT_MAX_DAYS: Final = 30
_SECRETS_MANAGER = "SECRETS_MANAGER"
_PLACEHOLDER: Final = re.compile(r"#\{|\$\{(?!AWS::)|\{\{")


@dataclass(frozen=True, slots=True)
class _Use:
    """A reference to a secret: its id (or why it is not known) and where it is."""

    secret: Value
    loc: Loc
    where: str
    stage: str | None = None
    action: str | None = None


def secret_id(value: str) -> str:
    """The secret id of an environment variable value ``secret-id[:json-key[:stage[:version]]]``."""
    parts = split_colons(value.strip())
    if parts[0] == "arn":
        return ":".join(parts[:7])
    return parts[0]


@lru_cache(maxsize=4096)
def _override_secrets(raw: str) -> tuple[str, ...]:
    try:
        doc: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return ()
    if not isinstance(doc, list):
        return ()
    return tuple(
        [
            str(entry["value"])
            for entry in doc
            if isinstance(entry, Mapping)
            and entry.get("type") == _SECRETS_MANAGER
            and isinstance(entry.get("value"), str)
        ]
    )


def _config_uses(
    configuration: Mapping[str, Value], base: Loc, where: str, stage: str | None, action: str | None
) -> Iterator[_Use]:
    for key, value in configuration.items():
        if not isinstance(value, str):
            continue
        refs = [*secrets_manager_references(value)] if "{{resolve:" in value else []
        if key == "EnvironmentVariables":
            refs.extend(secret_id(ref) for ref in _override_secrets(value))
        if refs:
            loc = base / "configuration" / key
            for ref in refs:
                yield _Use(ref, loc, where, stage, action)


def _uses(ctx: RuleContext) -> tuple[list[_Use], list[Finding]]:
    uses: list[_Use] = []
    for action in ctx.actions():
        where = f"action `{action.name}` in stage `{action.stage_name}`"
        uses.extend(
            _config_uses(action.configuration, action.loc, where, action.stage_name, action.name)
        )
        for i, var in enumerate(action.environment_variables):
            if var.type == _SECRETS_MANAGER:
                value = secret_id(var.value) if isinstance(var.value, str) else var.value
                loc = (var.loc or action.loc / "environmentVariables" / i) / "value"
                uses.append(_Use(value, loc, where, action.stage_name, action.name))
    for stage, label, rule in condition_rules(ctx):
        where = f"{label} rule `{rule.name}` of stage `{stage.name}`"
        uses.extend(_config_uses(rule.configuration, rule.loc, where, stage.name, None))
    projects, gaps = used_projects(ctx)
    for use in projects:
        where = f"CodeBuild project `{use.project.name}`"
        for i, var in enumerate(use.project.environment_variables):
            if var.type == _SECRETS_MANAGER:
                value = secret_id(var.value) if isinstance(var.value, str) else var.value
                fallback = use.at(ctx, "Environment", "EnvironmentVariables", str(i), "Value")
                loc = attr_loc(ctx, var.loc / "value" if var.loc else None, fallback)
                uses.append(_Use(value, loc, where, use.action.stage_name, use.action.name))
    return uses, list(gaps)


def _max_days(ctx: RuleContext) -> int:
    raw = ctx.config.option(META.id, "max_rotation_days", DEFAULT_MAX_DAYS)
    return (
        raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else DEFAULT_MAX_DAYS
    )


def check(ctx: RuleContext) -> Iterator[Finding]:
    uses, gaps = _uses(ctx)
    yield from gaps
    max_days = _max_days(ctx)
    seen: set[str] = set()
    for use in uses:
        who = Who(stage=use.stage, action=use.action)
        if isinstance(use.secret, Unresolved):
            yield unknown(
                use.loc, f"a secret used by {use.where} is unresolved: {use.secret.reason}", **who
            )
            continue
        name = use.secret
        if name in seen:
            continue
        seen.add(name)
        if _PLACEHOLDER.search(name):
            yield unknown(use.loc, f"secret `{name}` used by {use.where} is set at run time", **who)
            continue
        found = ctx.inventory.secret(name)
        if isinstance(found, Gap):
            yield unknown(use.loc, f"secret `{name}` used by {use.where}: {found.reason}", **who)
            continue
        label = f"secret `{found.name}` used by {use.where}"
        if found.rotation_enabled is None:
            yield unknown(use.loc, f"whether {label} rotates is not known", **who)
        elif not found.rotation_enabled:
            yield fail(use.loc, f"{label} has no rotation", evidence={"secret": found.name}, **who)
        elif found.rotation_days is None:
            yield unknown(use.loc, f"the rotation interval of {label} is not known", **who)
        elif found.rotation_days > max_days:
            yield fail(
                use.loc,
                f"{label} rotates every {found.rotation_days} days, less often than every "
                f"{max_days} days",
                evidence={"secret": found.name, "rotation_days": str(found.rotation_days)},
                **who,
            )


RULE = Rule(META, check, __doc__ or "")
