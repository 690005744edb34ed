"""Engine behaviour: tri-state results, suppressions, crashes, selection."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipewarden.config import Config, Ignore, RuleSettings
from pipewarden.engine import scan, selected_rules
from pipewarden.model import Finding, InlineSuppression, Severity, Status
from pipewarden.parse import load_paths
from pipewarden.parse.getpipeline import parse_get_pipeline
from pipewarden.rules import RULES, pipeline_v1
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, unknown
from pipewarden.runner import scan_paths

TODAY = dt.date(2026, 11, 25)


def _decl(name: str, ptype: str | None = None) -> dict[str, object]:
    pipeline: dict[str, object] = {
        "name": name,
        "roleArn": "arn:aws:iam::111122223333:role/p",
        "artifactStore": {"type": "S3", "location": "bkt"},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Src",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "S3",
                            "version": "1",
                        },
                        "configuration": {"S3Bucket": "src", "S3ObjectKey": "a.zip"},
                        "outputArtifacts": [{"name": "Out"}],
                    }
                ],
            },
            {
                "name": "Deploy",
                "actions": [
                    {
                        "name": "Ship",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "S3",
                            "version": "1",
                        },
                        "configuration": {"BucketName": "web", "Extract": "true"},
                        "inputArtifacts": [{"name": "Out"}],
                    }
                ],
            },
        ],
    }
    if ptype:
        pipeline["pipelineType"] = ptype
    return {
        "pipeline": pipeline,
        "metadata": {"pipelineArn": f"arn:aws:codepipeline:us-east-1:111122223333:{name}"},
    }


def _inventory(*decls: dict[str, object]):  # type: ignore[no-untyped-def]
    doc = list(decls)
    return parse_get_pipeline(doc, source="mem.json", text=json.dumps(doc, indent=2))


def test_silence_is_pass_and_findings_are_kept() -> None:
    inv = _inventory(_decl("a"), _decl("b", "V2"))
    result = scan([inv], rules=[pipeline_v1.RULE], today=TODAY)
    by_pipeline = {r.pipeline: r for r in result.results}
    assert by_pipeline["a"].status is Status.FAIL
    assert by_pipeline["a"].location.pointer == "/0/pipeline"
    assert by_pipeline["a"].location.line == 3
    assert by_pipeline["b"].status is Status.PASS
    assert by_pipeline["b"].pipeline_arn == "arn:aws:codepipeline:us-east-1:111122223333:b"


def _crashing(ctx: RuleContext) -> Iterator[Finding]:
    raise ValueError("boom")


def _unknowing(ctx: RuleContext) -> Iterator[Finding]:
    yield unknown(ctx.pipeline.loc, "evidence missing")


META = RuleMeta("PW999", "test-rule", "Test rule", Severity.LOW, (CicdSec.SEC_1,))


def test_a_crashing_rule_is_unknown_and_recorded() -> None:
    inv = _inventory(_decl("a"))
    result = scan([inv], rules=[Rule(META, _crashing), pipeline_v1.RULE], today=TODAY)
    crashed = [r for r in result.results if r.rule_id == "PW999"]
    assert [r.status for r in crashed] == [Status.UNKNOWN]
    assert "ValueError" in crashed[0].message
    assert result.crashes[0].rule_id == "PW999"
    # The other rule still ran.
    assert any(r.rule_id == "PW401" and r.status is Status.FAIL for r in result.results)


def test_unknown_is_not_a_failure_for_the_threshold() -> None:
    inv = _inventory(_decl("a"))
    result = scan([inv], rules=[Rule(META, _unknowing)], today=TODAY)
    assert result.results[0].status is Status.UNKNOWN
    assert result.failures(Severity.INFO) == []


def test_severity_override_and_threshold() -> None:
    inv = _inventory(_decl("a"))
    config = Config(rules={"PW401": RuleSettings(severity=Severity.CRITICAL)})
    result = scan([inv], rules=[pipeline_v1.RULE], config=config, today=TODAY)
    assert result.results[0].severity is Severity.CRITICAL
    assert len(result.failures(Severity.HIGH)) == 1
    assert result.failures(None) == []


@pytest.mark.parametrize(
    "target",
    [
        "a",
        "arn:aws:codepipeline:us-east-1:111122223333:a",
        "mem.json#/0/pipeline",
        "mem.json",
    ],
)
def test_suppression_by_target(target: str) -> None:
    inv = _inventory(_decl("a"), _decl("b"))
    config = Config(rules={"PW401": RuleSettings(ignore=(Ignore(target, "accepted risk"),))})
    result = scan([inv], rules=[pipeline_v1.RULE], config=config, today=TODAY)
    suppressed = {r.pipeline: r.suppressed for r in result.results}
    assert suppressed["a"] == "accepted risk"
    if target != "mem.json":
        assert suppressed["b"] is None
    assert all(r.status is Status.FAIL for r in result.results)


def test_expired_suppression_is_reported_not_honoured() -> None:
    inv = _inventory(_decl("a"))
    ignore = Ignore("a", "temporary", dt.date(2026, 1, 31))
    config = Config(rules={"PW401": RuleSettings(ignore=(ignore,))})
    result = scan([inv], rules=[pipeline_v1.RULE], config=config, today=TODAY)
    assert result.results[0].suppressed is None
    assert any("expired on 2026-01-31" in note for note in result.notes)
    assert len(result.failures(Severity.LOW)) == 1


def test_inline_suppression_by_id_or_slug() -> None:
    from dataclasses import replace

    inv = _inventory(_decl("a"))
    pipeline = inv.pipelines[0]
    for key in ("PW401", "pipeline-v1"):
        tagged = replace(pipeline, suppressions=(InlineSuppression(key, "legacy", pipeline.loc),))
        result = scan([replace(inv, pipelines=(tagged,))], rules=[pipeline_v1.RULE], today=TODAY)
        assert result.results[0].suppressed == "legacy"


def test_selected_rules_by_id_slug_and_config() -> None:
    assert [r.id for r in selected_rules(RULES, Config(), only=["pipeline-v1"])] == ["PW401"]
    assert "PW401" not in [r.id for r in selected_rules(RULES, Config(), skip=["PW401"])]
    disabled = Config(rules={"PW401": RuleSettings(disable=True)})
    assert "PW401" not in [r.id for r in selected_rules(RULES, disabled)]


def test_parallel_scan_equals_serial(tmp_path: Path) -> None:
    for i in range(80):
        (tmp_path / f"p{i:03}.json").write_text(
            json.dumps(_decl(f"p{i:03}", "V2" if i % 2 else None))
        )
    (tmp_path / "broken.json").write_text("{not json")
    # Files that are not pipelines leave load notes, spread over the workers' chunks.
    for i in range(0, 80, 9):
        (tmp_path / f"p{i:03}x.json").write_text(json.dumps({"not": "a pipeline"}))
    serial = scan_paths([tmp_path], rules=RULES, config=Config(), jobs=1, today=TODAY)
    parallel = scan_paths([tmp_path], rules=RULES, config=Config(), jobs=2, today=TODAY)
    assert serial.result.results == parallel.result.results
    assert len(serial.result.notes) >= 9
    assert serial.result.notes == parallel.result.notes
    assert [e.source for e in serial.errors] == [e.source for e in parallel.errors]
    assert [str(e) for e in parallel.errors] == [
        f"{tmp_path / 'broken.json'}:1: invalid JSON: Expecting property name enclosed in double quotes"
    ]
    assert serial.files == parallel.files


def test_parallel_scan_lists_notes_in_the_serial_order() -> None:
    # The rule fixtures mix inputs whose loading and scanning both leave notes (snapshots,
    # files that are not pipelines): with workers the notes must keep the serial order.
    fixtures = Path(__file__).resolve().parents[1] / "rules" / "fixtures"
    serial = scan_paths([fixtures], rules=RULES, config=Config(), jobs=1, today=TODAY)
    parallel = scan_paths([fixtures], rules=RULES, config=Config(), jobs=2, today=TODAY)
    assert serial.result.notes
    assert serial.result.notes == parallel.result.notes


def test_load_paths_skips_non_pipeline_files_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x", "version": "1.0.0"}')
    (tmp_path / "p.json").write_text(json.dumps(_decl("p")))
    loaded = load_paths([tmp_path])
    assert [p.display_name for inv in loaded.inventories for p in inv.pipelines] == ["p"]
    assert loaded.notes == [f"skipped {tmp_path / 'package.json'}: not a pipeline definition"]


def test_directory_scan_applies_terraform_tfvars(tmp_path: Path) -> None:
    import shutil

    module = Path(__file__).parents[2] / "examples" / "terraform" / "payments"
    shutil.copytree(module, tmp_path / "payments")
    (tmp_path / "payments" / "terraform.tfvars").write_text('region = "us-west-2"\n')
    loaded = load_paths([tmp_path])
    regions = {p.display_name: p.region for inv in loaded.inventories for p in inv.pipelines}
    assert regions == {"payments-legacy": "us-west-2", "payments-release": "us-west-2"}
    assert str(tmp_path / "payments" / "terraform.tfvars") in loaded.files
