"""Configuration loading and validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipewarden.config import load_config, parse_config
from pipewarden.errors import ConfigError
from pipewarden.model import Severity

KNOWN = {"PW401": "PW401", "pipeline-v1": "PW401", "PW702": "PW702"}


def test_full_configuration(tmp_path: Path) -> None:
    (tmp_path / "pipewarden.toml").write_text(
        """
[production]
accounts = ["444455556666"]
stage_pattern = "(?i)live"
tags = { environment = "prod" }

[allow]
action_types = ["ThirdParty/Snyk/1"]
repository_owners = ["example-org"]

[verifiers]
commands = ["org-verify"]

[rules.pipeline-v1]
severity = "HIGH"
ignore = [{ target = "legacy", reason = "retiring", expires = 2027-01-31 }]

[rules.PW702]
exempt_projects = ["docker-builder"]
"""
    )
    config = load_config(None, known_rules=KNOWN, search_from=tmp_path)
    assert config.production_accounts == frozenset({"444455556666"})
    assert config.stage_regex.search("Live-EU")
    assert config.production_tags == {"environment": "prod"}
    assert config.allowed_action_types == ("ThirdParty/Snyk/1",)
    assert config.verifier_commands == ("org-verify",)
    settings = config.rule("PW401")
    assert settings.severity is Severity.HIGH
    assert settings.ignore[0].expires == dt.date(2027, 1, 31)
    assert config.option("PW702", "exempt_projects", []) == ["docker-builder"]
    assert config.source == str(tmp_path / "pipewarden.toml")


def test_pyproject_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pipewarden.rules.PW401]\ndisable = true\n")
    config = load_config(None, known_rules=KNOWN, search_from=tmp_path)
    assert config.rule("PW401").disable


def test_no_configuration_gives_defaults(tmp_path: Path) -> None:
    config = load_config(None, known_rules=KNOWN, search_from=tmp_path)
    assert config.rules == {}
    assert config.stage_regex.search("Prod")
    assert not config.stage_regex.search("Product-Catalog-Build")
    assert config.stage_regex.search("Deploy-Production")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[rules.PW401]\nignore = [{ target = "x" }]', "a suppression needs a `reason`"),
        (
            '[rules.PW401]\nignore = [{ target = "x", reason = "  " }]',
            "a suppression needs a `reason`",
        ),
        ("[rules.PW000]\ndisable = true", "unknown rule `PW000`"),
        ('[rules.PW401]\nseverity = "urgent"', "is not a severity"),
        ('[production]\nstage_pattern = "("', "not a valid regex"),
        ('[production]\naccounts = "1234"', "must be a list of strings"),
        (
            '[rules.PW401]\nignore = [{ target = "x", reason = "r", expires = "soon" }]',
            "YYYY-MM-DD",
        ),
        ("not toml ===", "invalid TOML"),
    ],
)
def test_invalid_configuration_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "pipewarden.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("`", "`")):
        load_config(path, known_rules=KNOWN)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_parse_config_without_registry_keeps_keys() -> None:
    config = parse_config({"rules": {"PW123": {"disable": True}}})
    assert config.rule("PW123").disable
