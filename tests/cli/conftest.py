"""Fixtures for command-line tests: get-pipeline documents and rules injected through ``main(rules=...)``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, at_action, fail, unknown

# Secrets planted in hostile inputs: no report may ever contain them in full.
GITHUB_TOKEN = "ghp_" + "Zr4Tq9mWx2Lk7Bv3Nc8Hd1Fs6Gj0Py5Ua2Ei"  # ghp_ + 36
AWS_SECRET = "q7Xw2Lp9Rt4Vb8Nm3Kc6Jh1Gf5Ds0Az7Ye2Ui9Op"  # 40 characters

Doc = dict[str, Any]


def get_pipeline(
    name: str = "app",
    *,
    stage: str = "Build",
    role_arn: str = "arn:aws:iam::111122223333:role/app-build",
    pipeline_type: str | None = "V2",
    oauth_token: str | None = None,
    env_vars: list[dict[str, str]] | None = None,
) -> Doc:
    """A realistic ``aws codepipeline get-pipeline`` document."""
    if oauth_token is not None:
        source = {
            "name": "Source",
            "actionTypeId": {
                "category": "Source",
                "owner": "ThirdParty",
                "provider": "GitHub",
                "version": "1",
            },
            "configuration": {
                "Owner": "example",
                "Repo": "app",
                "Branch": "main",
                "OAuthToken": oauth_token,
            },
            "outputArtifacts": [{"name": "SourceOutput"}],
        }
    else:
        source = {
            "name": "Source",
            "actionTypeId": {
                "category": "Source",
                "owner": "AWS",
                "provider": "CodeStarSourceConnection",
                "version": "1",
            },
            "configuration": {
                "ConnectionArn": "arn:aws:codeconnections:us-east-1:111122223333:connection/abc",
                "FullRepositoryId": "example/app",
                "BranchName": "main",
            },
            "outputArtifacts": [{"name": "SourceOutput"}],
        }
    build_config: dict[str, str] = {"ProjectName": "app-build"}
    if env_vars is not None:
        build_config["EnvironmentVariables"] = json.dumps(env_vars)
    pipeline: Doc = {
        "name": name,
        "roleArn": "arn:aws:iam::111122223333:role/app-pipeline",
        "artifactStore": {"type": "S3", "location": "app-artifacts"},
        "stages": [
            {"name": "Source", "actions": [source]},
            {
                "name": stage,
                "actions": [
                    {
                        "name": "Compile",
                        "actionTypeId": {
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                        },
                        "roleArn": role_arn,
                        "configuration": build_config,
                        "inputArtifacts": [{"name": "SourceOutput"}],
                    }
                ],
            },
        ],
        "version": 1,
    }
    if pipeline_type is not None:
        pipeline["pipelineType"] = pipeline_type
    return {
        "pipeline": pipeline,
        "metadata": {"pipelineArn": f"arn:aws:codepipeline:us-east-1:111122223333:{name}"},
    }


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, Any], Path]:
    def write(name: str, doc: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
        return path

    return write


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No configuration file from the repository is picked up."""
    monkeypatch.chdir(tmp_path)


def _meta(rule_id: str, slug: str, severity: Severity) -> RuleMeta:
    return RuleMeta(
        id=rule_id,
        slug=slug,
        title=f"Test rule {slug}",
        severity=severity,
        cicd_sec=(CicdSec.SEC_1,),
        references=("https://example.com/docs",),
    )


def _fail_every_build(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Build"):
        yield fail(action.loc / "name", f"build action `{action.name}` fails", **at_action(action))


def _unknown_every_source(ctx: RuleContext) -> Iterator[Finding]:
    for action in ctx.actions(category="Source"):
        yield unknown(action.loc, "evidence not in the input", **at_action(action))


def _echo_names(ctx: RuleContext) -> Iterator[Finding]:
    """Reports input-derived text verbatim, to check that every renderer escapes it."""
    for action in ctx.actions():
        yield fail(
            action.loc / "roleArn",
            f"stage {action.stage_name} action {action.name} role {action.role_arn}",
            evidence={"roleArn": str(action.role_arn), "stage": action.stage_name},
            **at_action(action),
        )


def _crash(ctx: RuleContext) -> Iterator[Finding]:
    raise RuntimeError("boom")
    yield  # pragma: no cover - makes this a generator


@pytest.fixture
def fake_rules() -> dict[str, Rule]:
    """Rules with fixed behaviour, passed to ``main(rules=...)``."""
    return {
        "high": Rule(_meta("PW991", "test-build-fails", Severity.HIGH), _fail_every_build),
        "critical": Rule(
            _meta("PW992", "test-build-critical", Severity.CRITICAL), _fail_every_build
        ),
        "unknown": Rule(
            _meta("PW993", "test-source-unknown", Severity.MEDIUM), _unknown_every_source
        ),
        "echo": Rule(_meta("PW994", "test-echo-names", Severity.LOW), _echo_names),
        "crash": Rule(_meta("PW995", "test-crash", Severity.HIGH), _crash),
    }


@pytest.fixture
def make_pipeline() -> Callable[..., Doc]:
    return get_pipeline


@pytest.fixture
def planted_secrets() -> tuple[str, str]:
    """(GitHub v1 OAuth token, AWS secret access key)."""
    return GITHUB_TOKEN, AWS_SECRET
