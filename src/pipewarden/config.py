"""Configuration: `pipewarden.toml` or `[tool.pipewarden]` in pyproject.toml.

```toml
[production]
accounts = ["444455556666"]
stage_pattern = "(?i)\\bprod(uction)?\\b"
tags = { environment = "prod" }

[allow]
action_types = ["ThirdParty/GitHub/1", "Custom/Jenkins/*"]   # owner/provider/version
connection_providers = ["GitHub"]
connection_hosts = []
repository_owners = ["my-org"]

[verifiers]
commands = ["my-verify"]          # extra commands that count as verification
actions = ["VerifySignature"]     # action names that count as verification

[rules.PW702]
exempt_projects = ["docker-image-builder"]

[rules.PW603]
max_rotation_days = 30

[rules.PW309]
break_glass = ["arn:aws:iam::111122223333:role/BreakGlass"]

[rules.PW205]
disable = true

[rules.PW104]
severity = "critical"
ignore = [{ target = "payments-pipeline", reason = "verified by org SCP", expires = "2027-01-31" }]
```
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipewarden.errors import ConfigError
from pipewarden.model import Severity

__all__ = ["Config", "Ignore", "RuleSettings", "load_config"]

DEFAULT_STAGE_PATTERN = r"(?i)\bprod(uction)?\b"


@dataclass(frozen=True, slots=True)
class Ignore:
    """A suppression: which results, why, and until when."""

    target: str  # pipeline name, pipeline ARN, file, or "<subject>#<pointer-prefix>"
    reason: str
    expires: dt.date | None = None


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """Per-rule settings."""

    disable: bool = False
    severity: Severity | None = None
    ignore: tuple[Ignore, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything a scan can be told. Defaults are safe: nothing allowed by default."""

    rules: Mapping[str, RuleSettings] = field(default_factory=dict)
    production_accounts: frozenset[str] = frozenset()
    production_stage_pattern: str = DEFAULT_STAGE_PATTERN
    production_tags: Mapping[str, str] = field(default_factory=lambda: {})
    allowed_action_types: tuple[str, ...] = ()
    allowed_connection_providers: tuple[str, ...] = ()
    allowed_connection_hosts: tuple[str, ...] = ()
    allowed_repository_owners: tuple[str, ...] = ()
    verifier_commands: tuple[str, ...] = ()
    verifier_actions: tuple[str, ...] = ()
    source: str | None = None

    def rule(self, rule_id: str) -> RuleSettings:
        """Settings for a rule (by id), defaults when not configured."""
        return self.rules.get(rule_id) or RuleSettings()

    def option(self, rule_id: str, name: str, default: Any) -> Any:
        """A rule-specific option (e.g. PW702 ``exempt_projects``)."""
        return self.rule(rule_id).options.get(name, default)

    @property
    def stage_regex(self) -> re.Pattern[str]:
        return re.compile(self.production_stage_pattern)


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise ConfigError(f"{where} must be a list of strings")
    return tuple(raw)


def _table(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    return raw


def _ignore(raw: Any, where: str) -> Ignore:
    entry = _table(raw, where)
    target = entry.get("target")
    reason = entry.get("reason")
    if not isinstance(target, str) or not target:
        raise ConfigError(f"{where}: `target` is required")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: a suppression needs a `reason`")
    expires = entry.get("expires")
    if expires is not None:
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError as exc:
                raise ConfigError(f"{where}: `expires` must be YYYY-MM-DD") from exc
        elif isinstance(expires, dt.datetime):
            expires = expires.date()
        elif not isinstance(expires, dt.date):
            raise ConfigError(f"{where}: `expires` must be a date")
    return Ignore(target, reason.strip(), expires)


def parse_config(
    data: Mapping[str, Any],
    *,
    source: str | None = None,
    known_rules: Mapping[str, str] | None = None,
) -> Config:
    """Build a Config from the decoded TOML table. ``known_rules`` maps slug and id to id."""
    where = source or "configuration"
    rules: dict[str, RuleSettings] = {}
    for key, raw in _table(data.get("rules"), f"{where}: rules").items():
        rule_id = key
        if known_rules is not None:
            if key not in known_rules:
                raise ConfigError(f"{where}: unknown rule `{key}`")
            rule_id = known_rules[key]
        table = dict(_table(raw, f"{where}: rules.{key}"))
        severity = table.pop("severity", None)
        if severity is not None:
            try:
                severity = Severity(str(severity).lower())
            except ValueError as exc:
                raise ConfigError(
                    f"{where}: rules.{key}.severity `{severity}` is not a severity"
                ) from exc
        disable = table.pop("disable", False)
        if not isinstance(disable, bool):
            raise ConfigError(f"{where}: rules.{key}.disable must be true or false")
        ignores_raw = table.pop("ignore", [])
        if not isinstance(ignores_raw, list):
            raise ConfigError(f"{where}: rules.{key}.ignore must be a list")
        ignores = tuple(
            _ignore(item, f"{where}: rules.{key}.ignore[{i}]") for i, item in enumerate(ignores_raw)
        )
        rules[rule_id] = RuleSettings(disable, severity, ignores, table)

    production = _table(data.get("production"), f"{where}: production")
    allow = _table(data.get("allow"), f"{where}: allow")
    verifiers = _table(data.get("verifiers"), f"{where}: verifiers")
    pattern = production.get("stage_pattern", DEFAULT_STAGE_PATTERN)
    if not isinstance(pattern, str):
        raise ConfigError(f"{where}: production.stage_pattern must be a string")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: production.stage_pattern is not a valid regex: {exc}") from exc
    tags = _table(production.get("tags"), f"{where}: production.tags")
    return Config(
        rules=rules,
        production_accounts=frozenset(
            _strings(production.get("accounts"), f"{where}: production.accounts")
        ),
        production_stage_pattern=pattern,
        production_tags={str(k): str(v) for k, v in tags.items()},
        allowed_action_types=_strings(allow.get("action_types"), f"{where}: allow.action_types"),
        allowed_connection_providers=_strings(
            allow.get("connection_providers"), f"{where}: allow.connection_providers"
        ),
        allowed_connection_hosts=_strings(
            allow.get("connection_hosts"), f"{where}: allow.connection_hosts"
        ),
        allowed_repository_owners=_strings(
            allow.get("repository_owners"), f"{where}: allow.repository_owners"
        ),
        verifier_commands=_strings(verifiers.get("commands"), f"{where}: verifiers.commands"),
        verifier_actions=_strings(verifiers.get("actions"), f"{where}: verifiers.actions"),
        source=source,
    )


def load_config(
    path: Path | None,
    *,
    known_rules: Mapping[str, str] | None = None,
    search_from: Path | None = None,
) -> Config:
    """Read ``path``, or find ``pipewarden.toml`` / ``pyproject.toml`` in ``search_from``."""
    candidates: list[Path] = []
    if path is not None:
        candidates = [path]
    elif search_from is not None:
        candidates = [search_from / "pipewarden.toml", search_from / "pyproject.toml"]
    for candidate in candidates:
        if not candidate.is_file():
            if path is not None:
                raise ConfigError(f"{candidate}: configuration file not found")
            continue
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{candidate}: invalid TOML: {exc}") from exc
        if candidate.name == "pyproject.toml":
            data = data.get("tool", {}).get("pipewarden")
            if data is None:
                if path is not None:
                    raise ConfigError(f"{candidate}: no [tool.pipewarden] table")
                continue
        return parse_config(data, source=str(candidate), known_rules=known_rules)
    return Config()
