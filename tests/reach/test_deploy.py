"""Deployment context: which deploy actions take the artifact, from an inventory or from
the pipeline's action executions, and how it changes priority and the gate."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipewarden.config import Config
from pipewarden.errors import InputError
from pipewarden.parse.getpipeline import parse_get_pipeline
from pipewarden.reach.deploy import (
    DeploymentContext,
    apply_deployment,
    blocking,
    from_executions,
    from_inventory,
    parse_s3_location,
    priority,
)
from pipewarden.reach.model import Finding, ReachReport, Severity, Tier
from pipewarden.verify.gate import decide

ACCOUNT = "111122223333"
PROD_ACCOUNT = "444455556666"


def _action(
    name: str,
    category: str,
    provider: str,
    inputs: list[str],
    outputs: list[str],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name,
        "actionTypeId": {
            "category": category,
            "owner": "AWS",
            "provider": provider,
            "version": "1",
        },
        "runOrder": 1,
        "configuration": extra.pop("configuration", {}),
        "inputArtifacts": [{"name": n} for n in inputs],
        "outputArtifacts": [{"name": n} for n in outputs],
        **extra,
    }


def _pipeline(name: str, stages: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    return {
        "pipeline": {
            "name": name,
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "artifactStore": {"type": "S3", "location": "artifacts-bucket"},
            "stages": [{"name": s, "actions": a} for s, a in stages],
            "version": 3,
        },
        "metadata": {"pipelineArn": f"arn:aws:codepipeline:us-east-1:{ACCOUNT}:{name}"},
    }


SHOP = _pipeline(
    "shop",
    [
        ("Source", [_action("Code", "Source", "CodeStarSourceConnection", [], ["Src"])]),
        ("Build", [_action("Build", "Build", "CodeBuild", ["Src"], ["App"])]),
        # A packaging build turns the app into the deployable bundle: followed.
        ("Package", [_action("Bundle", "Build", "CodeBuild", ["App"], ["Bundle"])]),
        ("Staging", [_action("DeployStaging", "Deploy", "CloudFormation", ["Bundle"], [])]),
        ("Prod", [_action("DeployProd", "Deploy", "CloudFormation", ["Bundle"], [])]),
    ],
)
DOCS = _pipeline(
    "docs",
    [
        ("Source", [_action("Code", "Source", "CodeStarSourceConnection", [], ["Src"])]),
        ("Build", [_action("Build", "Build", "CodeBuild", ["Src"], ["Site", "Tools"])]),
        ("Staging", [_action("Publish", "Deploy", "S3", ["Site"], [])]),
        # Deploys to the production account, but only the Tools artifact.
        (
            "Ops",
            [
                _action(
                    "Tools",
                    "Deploy",
                    "CloudFormation",
                    ["Tools"],
                    [],
                    roleArn=f"arn:aws:iam::{PROD_ACCOUNT}:role/deploy",
                )
            ],
        ),
    ],
)


def _pipelines() -> tuple[list[Any], dict[int, Any]]:
    pipelines: list[Any] = []
    inventories: dict[int, Any] = {}
    for doc in (SHOP, DOCS):
        inventory = parse_get_pipeline(doc, source="test.json")
        for pipeline in inventory.pipelines:
            pipelines.append(pipeline)
            inventories[id(pipeline)] = inventory
    return pipelines, inventories


def test_inventory_follows_the_artifact_through_a_packaging_build_to_production() -> None:
    pipelines, inventories = _pipelines()
    context = from_inventory(
        pipelines, ["shop"], Config(), artifact_names=["App"], inventories=inventories
    )
    assert context.production is True
    assert [(t.stage, t.action, t.production) for t in context.targets] == [
        ("Staging", "DeployStaging", False),
        ("Prod", "DeployProd", True),
    ]
    assert "shop" in context.basis
    assert "`App`" in context.basis


def test_inventory_outside_production_is_false_not_unknown() -> None:
    pipelines, inventories = _pipelines()
    context = from_inventory(
        pipelines, ["docs"], Config(), artifact_names=["Site"], inventories=inventories
    )
    assert context.production is False
    assert [(t.action, t.production) for t in context.targets] == [("Publish", False)]


def test_production_accounts_from_config_count() -> None:
    pipelines, inventories = _pipelines()
    config = replace(Config(), production_accounts=frozenset({PROD_ACCOUNT}))
    context = from_inventory(
        pipelines, ["docs"], config, artifact_names=["Tools"], inventories=inventories
    )
    assert context.production is True
    assert [t.action for t in context.targets] == ["Tools"]


def test_without_an_artifact_name_every_deploy_action_counts() -> None:
    pipelines, inventories = _pipelines()
    context = from_inventory(pipelines, ["docs"], Config(), inventories=inventories)
    assert [t.action for t in context.targets] == ["Publish", "Tools"]
    assert "every deploy action" in context.basis


def test_an_artifact_no_deploy_takes_is_not_deployed() -> None:
    pipelines, inventories = _pipelines()
    context = from_inventory(
        pipelines, ["shop"], Config(), artifact_names=["Nothing"], inventories=inventories
    )
    assert context.production is False
    assert context.targets == ()


def test_unknown_pipeline_is_an_input_error() -> None:
    pipelines, inventories = _pipelines()
    with pytest.raises(InputError, match="`nope` is not in the inventory"):
        from_inventory(pipelines, ["nope"], Config(), inventories=inventories)


# -- action executions ------------------------------------------------------------------------

BUILD_KEY = ("artifacts-bucket", "shop/App/Xa1b2c3")


def _execution(
    execution: str,
    stage: str,
    action: str,
    category: str,
    *,
    status: str = "Succeeded",
    inputs: tuple[tuple[str, tuple[str, str]], ...] = (),
    outputs: tuple[tuple[str, tuple[str, str]], ...] = (),
) -> dict[str, Any]:
    def artifacts(items: tuple[tuple[str, tuple[str, str]], ...]) -> list[dict[str, Any]]:
        return [{"name": n, "s3location": {"bucket": b, "key": k}} for n, (b, k) in items]

    return {
        "pipelineExecutionId": execution,
        "actionExecutionId": f"{execution}-{action}",
        "pipelineVersion": 3,
        "stageName": stage,
        "actionName": action,
        "startTime": dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC),
        "lastUpdateTime": dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC),
        "status": status,
        "input": {
            "actionTypeId": {
                "category": category,
                "owner": "AWS",
                "provider": "CloudFormation" if category == "Deploy" else "CodeBuild",
                "version": "1",
            },
            "configuration": {},
            "resolvedConfiguration": {},
            "region": "us-east-1",
            "inputArtifacts": artifacts(inputs),
        },
        "output": {"outputArtifacts": artifacts(outputs), "executionResult": {}},
    }


BUNDLE_KEY = ("artifacts-bucket", "shop/Bundle/Zz9")
EXECUTIONS = [
    _execution(
        "e-2", "Prod", "DeployProd", "Deploy", status="Failed", inputs=(("Bundle", BUNDLE_KEY),)
    ),
    _execution("e-1", "Staging", "DeployStaging", "Deploy", inputs=(("Bundle", BUNDLE_KEY),)),
    _execution(
        "e-1",
        "Package",
        "Bundle",
        "Build",
        inputs=(("App", BUILD_KEY),),
        outputs=(("Bundle", BUNDLE_KEY),),
    ),
    _execution("e-1", "Build", "Build", "Build", outputs=(("App", BUILD_KEY),)),
]


def _declaration() -> Any:
    return parse_get_pipeline(SHOP, source="GetPipeline").pipelines[0]


def test_executions_link_the_object_to_the_deploys_that_took_it() -> None:
    context = from_executions(
        "shop",
        EXECUTIONS,
        declaration=_declaration(),
        config=Config(),
        location=BUNDLE_KEY,
    )
    assert [(t.action, t.status, t.production) for t in context.targets] == [
        ("DeployProd", "Failed", True),
        ("DeployStaging", "Succeeded", False),
    ]
    # The production deploy failed: the artifact is not in production.
    assert context.production is False
    assert context.targets[1].execution_id == "e-1"
    assert (context.targets[1].when or "").startswith("2026-11-20")


def test_executions_by_artifact_name_find_its_objects() -> None:
    succeeded = [
        _execution("e-3", "Prod", "DeployProd", "Deploy", inputs=(("Bundle", BUNDLE_KEY),)),
        *EXECUTIONS[1:],
    ]
    context = from_executions(
        "shop", succeeded, declaration=_declaration(), config=Config(), artifact_names=["Bundle"]
    )
    assert context.production is True
    assert {t.action for t in context.targets} == {"DeployProd", "DeployStaging"}


def test_executions_without_a_declaration_judge_by_stage_name() -> None:
    succeeded = [_execution("e-3", "Prod", "DeployProd", "Deploy", inputs=(("B", BUNDLE_KEY),))]
    context = from_executions(
        "shop", succeeded, declaration=None, config=Config(), location=BUNDLE_KEY
    )
    assert context.production is True
    assert "stage name only" in context.basis


def test_executions_need_to_know_which_artifact() -> None:
    with pytest.raises(InputError, match="say which artifact"):
        from_executions("shop", EXECUTIONS, declaration=None, config=Config())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("s3://artifacts-bucket/shop/App/X1", ("artifacts-bucket", "shop/App/X1")),
        ("arn:aws:s3:::artifacts-bucket/shop/App/X1", ("artifacts-bucket", "shop/App/X1")),
    ],
)
def test_s3_locations(text: str, expected: tuple[str, str]) -> None:
    assert parse_s3_location(text) == expected


@pytest.mark.parametrize("text", ["artifacts-bucket/key", "s3://B/key", "s3://bucket", "https://x"])
def test_bad_s3_locations(text: str) -> None:
    with pytest.raises(InputError, match="is not s3://BUCKET/KEY"):
        parse_s3_location(text)


# -- priority and the gate --------------------------------------------------------------------


def _finding(tier: Tier, label: str, score: float | None, base_priority: str) -> Finding:
    return Finding(
        vulnerability="PYSEC-0000-1",
        aliases=(),
        summary="s",
        package="pkg",
        version="1.0",
        purl="pkg:pypi/pkg@1.0",
        tier=tier,
        reason="r",
        severity=Severity(score, label),
        priority=base_priority,
    )


def _report(*findings: Finding) -> ReachReport:
    return ReachReport(
        artifact="app", findings=findings, entry_points=("x",), whole_application=False
    )


def test_priority_drops_a_level_outside_production_only() -> None:
    high = _finding(Tier.REACHABLE, "high", 7.5, "high")
    assert priority(high, True) == "high"
    assert priority(high, None) == "high"
    assert priority(high, False) == "medium"
    assert priority(_finding(Tier.REACHABLE, "low", 2.0, "low"), False) == "low"
    assert priority(_finding(Tier.NOT_IMPORTED, "high", 7.5, "none"), True) == "none"


def test_apply_deployment_marks_affected_findings_only() -> None:
    context = DeploymentContext(production=True, basis="b")
    report = apply_deployment(
        _report(
            _finding(Tier.REACHABLE, "high", 7.5, "high"),
            _finding(Tier.NOT_IMPORTED, "high", 7.5, "none"),
        ),
        context,
    )
    assert [f.deployed_to_production for f in report.findings] == [True, None]
    assert report.deployment["production"] is True
    assert blocking(report.findings[0])
    assert not blocking(report.findings[1])


def _reach_doc(*findings: Finding) -> dict[str, Any]:
    return {
        "format": "pipewarden-reach",
        "results": [
            {
                "vulnerability": f.vulnerability,
                "package": f.package,
                "version": f.version,
                "tier": f.tier.value,
                "severity": {"score": f.severity.score, "label": f.severity.label},
                "deployed_to_production": f.deployed_to_production,
            }
            for f in findings
        ],
    }


def _reach_reasons(doc: dict[str, Any]) -> list[str]:
    decision = decide(reach=doc)
    return [r for r in decision.reasons if "PYSEC-0000-1" in r]


@pytest.mark.parametrize(
    ("tier", "label", "deployed", "blocked"),
    [
        (Tier.REACHABLE, "high", True, True),
        (Tier.REACHABLE, "critical", None, True),  # no deployment data: not ruled out
        (Tier.REACHABLE, "unknown", True, True),  # no severity in the record
        (Tier.REACHABLE, "high", False, False),  # known to stay out of production
        (Tier.REACHABLE, "medium", True, False),
        (Tier.UNKNOWN, "critical", True, False),
        (Tier.NO_CALL_PATH, "critical", True, False),
    ],
)
def test_default_gate_blocks_only_reachable_deployed_high(
    tier: Tier, label: str, deployed: bool | None, blocked: bool
) -> None:
    finding = replace(_finding(tier, label, None, "high"), deployed_to_production=deployed)
    reasons = _reach_reasons(_reach_doc(finding))
    assert bool(reasons) is blocked, reasons
    assert blocking(finding) is blocked
    if blocked:
        assert "pkg 1.0 is reachable" in reasons[0]


def test_gate_rejects_a_misshaped_reach_report() -> None:
    decision = decide(reach={"format": "pipewarden-reach", "results": [{"tier": "maybe"}]})
    assert not decision.allowed
    assert any("`vulnerability` must be a string" in r for r in decision.reasons)
    decision = decide(reach={"results": []})
    assert any("not a reachability report" in r for r in decision.reasons)


def test_reach_json_written_by_the_cli_feeds_the_gate(tmp_path: Path) -> None:
    # The renderer's JSON carries the fields the gate reads.
    from pipewarden.reach.render import render

    finding = replace(_finding(Tier.REACHABLE, "high", 7.5, "high"), deployed_to_production=True)
    doc = json.loads(render(_report(finding), "json"))
    assert doc["results"][0]["deployed_to_production"] is True
    assert _reach_reasons(doc)
