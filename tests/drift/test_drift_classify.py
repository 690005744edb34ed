"""The weakening classifier over a table of declaration pairs."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipewarden.drift.diff import classify, diff
from pipewarden.drift.normalise import canonical, canonical_json, declaration_hash
from pipewarden.drift.results import drift_result
from pipewarden.model import KeyStyle, Loc
from pipewarden.parse import load_paths
from pipewarden.parse.declaration import parse_declaration
from pipewarden.report import render

ROOT = Path(__file__).resolve().parents[2]
Doc = dict[str, Any]

VERIFY = "pipewarden verify-commit --repo ."


def _base() -> Doc:
    """A V2 pipeline with a verified source, an approval, conditions and filters."""
    return {
        "name": "payments",
        "roleArn": "arn:aws:iam::111111111111:role/pipeline",
        "pipelineType": "V2",
        "artifactStore": {
            "type": "S3",
            "location": "artifacts-111",
            "encryptionKey": {"id": "arn:aws:kms:eu-west-1:111111111111:key/k1", "type": "KMS"},
        },
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Src",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "CodeStarSourceConnection",
                            "version": "1",
                        },
                        "runOrder": 1,
                        "configuration": {
                            "ConnectionArn": "arn:aws:codeconnections:eu-west-1:111111111111:connection/c",
                            "FullRepositoryId": "org/payments",
                            "BranchName": "main",
                        },
                        "outputArtifacts": [{"name": "src"}],
                    }
                ],
            },
            {
                "name": "Build",
                "actions": [
                    {
                        "name": "Verify",
                        "actionTypeId": {
                            "category": "Compute",
                            "owner": "AWS",
                            "provider": "Commands",
                            "version": "1",
                        },
                        "runOrder": 1,
                        "commands": [VERIFY],
                        "inputArtifacts": [{"name": "src"}],
                    },
                    {
                        "name": "Compile",
                        "actionTypeId": {
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                        },
                        "runOrder": 2,
                        "configuration": {"ProjectName": "payments-build"},
                        "inputArtifacts": [{"name": "src"}],
                        "outputArtifacts": [{"name": "bin"}],
                        "roleArn": "arn:aws:iam::111111111111:role/build",
                    },
                ],
            },
            {
                "name": "Prod",
                "beforeEntry": {
                    "conditions": [
                        {
                            "result": "FAIL",
                            "rules": [
                                {
                                    "name": "Gate",
                                    "ruleTypeId": {
                                        "category": "Rule",
                                        "owner": "AWS",
                                        "provider": "LambdaInvoke",
                                        "version": "1",
                                    },
                                    "configuration": {"FunctionName": "gate:7"},
                                }
                            ],
                        }
                    ]
                },
                "actions": [
                    {
                        "name": "Approve",
                        "actionTypeId": {
                            "category": "Approval",
                            "owner": "AWS",
                            "provider": "Manual",
                            "version": "1",
                        },
                        "runOrder": 1,
                        "configuration": {"CustomData": "please review"},
                    },
                    {
                        "name": "Deploy",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "CloudFormation",
                            "version": "1",
                        },
                        "runOrder": 2,
                        "configuration": {"StackName": "payments"},
                        "inputArtifacts": [{"name": "bin"}],
                    },
                ],
            },
        ],
        "triggers": [
            {
                "providerType": "CodeStarSourceConnection",
                "gitConfiguration": {
                    "sourceActionName": "Src",
                    "push": [{"branches": {"includes": ["main"], "excludes": ["wip/*"]}}],
                },
            }
        ],
    }


def _norm(doc: Doc) -> Doc:
    pipeline = parse_declaration(doc, loc=Loc("t.json", "", KeyStyle.API), source="t.json")
    return canonical(pipeline)


def _action(doc: Doc, stage: int, action: int) -> Doc:
    result: Doc = doc["stages"][stage]["actions"][action]
    return result


def _third_party(doc: Doc) -> None:
    doc["stages"][1]["actions"].append(
        {
            "name": "Scan",
            "actionTypeId": {
                "category": "Test",
                "owner": "ThirdParty",
                "provider": "Snyk",
                "version": "1",
            },
            "runOrder": 3,
            "inputArtifacts": [{"name": "src"}],
        }
    )


def _reversion(doc: Doc) -> None:
    _third_party(doc)


def _oauth(doc: Doc) -> None:
    _action(doc, 0, 0).update(
        actionTypeId={
            "category": "Source",
            "owner": "ThirdParty",
            "provider": "GitHub",
            "version": "1",
        },
        configuration={
            "Owner": "org",
            "Repo": "payments",
            "Branch": "main",
            "OAuthToken": "ghp_abcdefghijklmnop",
        },
    )


def _move_verify(doc: Doc) -> None:
    _action(doc, 1, 0)["runOrder"] = 3


def _widen(doc: Doc) -> None:
    doc["triggers"][0]["gitConfiguration"]["push"][0]["branches"]["includes"].append("feature/*")


def _drop_exclude(doc: Doc) -> None:
    del doc["triggers"][0]["gitConfiguration"]["push"][0]["branches"]["excludes"]


def _add_pr(doc: Doc) -> None:
    doc["triggers"][0]["gitConfiguration"]["pullRequest"] = [{"events": ["OPEN", "UPDATED"]}]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("/")]
        node: Any = doc
        for key in keys[:-1]:
            node = node[key]
        if value is _DELETE:
            del node[keys[-1]]
        else:
            node[keys[-1]] = value

    return edit


_DELETE = object()
_RULE = "stages/2/beforeEntry/conditions/0/rules/0"

WEAKENINGS: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("condition FAIL to SKIP", _set("stages/2/beforeEntry/conditions/0/result", "SKIP"),
     "/stages/2/beforeEntry/conditions/0/result", "relaxed from FAIL to SKIP"),
    ("condition removed", _set("stages/2/beforeEntry/conditions", []),
     "/stages/2/beforeEntry/conditions/0", "condition removed"),
    ("rule removed", _set("stages/2/beforeEntry/conditions/0/rules", []),
     "/stages/2/beforeEntry/conditions/0/rules", "rule `Gate` removed"),
    ("rule lambda unpinned", _set(f"{_RULE}/configuration/FunctionName", "gate"),
     f"/{_RULE}/configuration/FunctionName", "unpinned"),
    ("rule lambda to $LATEST", _set(f"{_RULE}/configuration/FunctionName", "gate:$LATEST"),
     f"/{_RULE}/configuration/FunctionName", "unpinned"),
    ("rule provider changed", _set(f"{_RULE}/ruleTypeId/provider", "VariableCheck"),
     f"/{_RULE}/ruleTypeId/provider", "provider of rule"),
    ("approval removed", _set("stages/2/actions", [_base()["stages"][2]["actions"][1]]),
     "/stages/2/actions/0", "manual approval `Approve` removed"),
    ("verification removed", _set("stages/1/actions", [_base()["stages"][1]["actions"][1]]),
     "/stages/1/actions/0", "verification action `Verify` removed"),
    ("verification moved after consumer", _move_verify, "/stages/1/actions/1",
     "moved after its consumer `Compile`"),
    ("artifact bucket swapped", _set("artifactStore/location", "attacker-bucket"),
     "/artifactStore/location", "artifact store bucket changed"),
    ("artifact key swapped", _set("artifactStore/encryptionKey/id", "arn:aws:kms:eu-west-1:222222222222:key/x"),
     "/artifactStore/encryptionKey", "artifact store KMS key changed"),
    ("action role changed", _set("stages/1/actions/1/roleArn", "arn:aws:iam::111111111111:role/admin"),
     "/stages/1/actions/1/roleArn", "role of action `Compile`"),
    ("pipeline role changed", _set("roleArn", "arn:aws:iam::111111111111:role/other"),
     "/roleArn", "pipeline role changed"),
    ("third-party action added", _third_party, "/stages/1/actions/2", "third-party action `Scan`"),
    ("source moved to OAuth token", _oauth, "/stages/0/actions/0/actionTypeId", "OAuth token"),
    ("V2 back to V1", _set("pipelineType", "V1"), "/pipelineType", "back to V1"),
    ("trigger include widened", _widen, "/triggers", "trigger filters widened"),
    ("trigger exclude dropped", _drop_exclude, "/triggers", "no longer excludes"),
    ("trigger includes emptied", _set("triggers/0/gitConfiguration/push/0/branches/includes", []),
     "/triggers", "matches branches.includes: everything"),
    ("pull-request trigger added", _add_pr, "/triggers", "new pullRequest trigger"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "edit", "pointer", "why"), WEAKENINGS, ids=[w[0] for w in WEAKENINGS]
)
def test_weakening_is_pw901(name: str, edit: Callable[[Doc], None], pointer: str, why: str) -> None:
    old = _base()
    new = copy.deepcopy(old)
    edit(new)
    changes = classify(_norm(old), _norm(new))
    weak = [c for c in changes if c.rule_id == "PW901"]
    assert weak, f"{name}: no weakening found in {changes}"
    hit = [c for c in weak if c.pointer == pointer]
    assert hit, f"{name}: pointers {[c.pointer for c in weak]}"
    assert why in hit[0].reason


def test_third_party_reversioned() -> None:
    old = _base()
    _third_party(old)
    new = copy.deepcopy(old)
    _action(new, 1, 2)["actionTypeId"]["version"] = "2"
    weak = [c for c in classify(_norm(old), _norm(new)) if c.rule_id == "PW901"]
    assert [c.pointer for c in weak] == ["/stages/1/actions/2/actionTypeId"]
    assert "re-versioned" in weak[0].reason


def _rename_stage(doc: Doc) -> None:
    doc["stages"][1]["name"] = "Compile-and-verify"


def _rename_approval(doc: Doc) -> None:
    _action(doc, 2, 0)["name"] = "ManagerSignOff"


def _rename_rule(doc: Doc) -> None:
    doc["stages"][2]["beforeEntry"]["conditions"][0]["rules"][0]["name"] = "ProdGate"


BENIGN: list[tuple[str, Callable[[Doc], None], str]] = [
    ("approval text reworded", _set("stages/2/actions/0/configuration/CustomData", "check the diff"),
     "/stages/2/actions/0/configuration/CustomData"),
    ("stage renamed", _rename_stage, "/stages/1/name"),
    ("approval renamed", _rename_approval, "/stages/2/actions/0/name"),
    ("rule renamed", _rename_rule, f"/{_RULE}/name"),
    ("condition tightened SKIP to FAIL", _set("stages/2/beforeEntry/conditions/0/result", "FAIL"), ""),
    ("rule lambda re-pinned", _set(f"{_RULE}/configuration/FunctionName", "gate:8"),
     f"/{_RULE}/configuration/FunctionName"),
    ("trigger narrowed", _set("triggers/0/gitConfiguration/push/0/branches/excludes", ["wip/*", "x/*"]),
     "/triggers/0"),
    ("stack renamed", _set("stages/2/actions/1/configuration/StackName", "payments-v2"),
     "/stages/2/actions/1/configuration/StackName"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "edit", "pointer"), BENIGN, ids=[b[0] for b in BENIGN])
def test_benign_edit_is_pw902(name: str, edit: Callable[[Doc], None], pointer: str) -> None:
    old = _base()
    new = copy.deepcopy(old)
    edit(new)
    changes = classify(_norm(old), _norm(new))
    assert not [c for c in changes if c.rule_id == "PW901"], f"{name}: {changes}"
    if pointer:
        assert any(c.pointer.startswith(pointer) for c in changes), changes
        assert all(c.rule_id == "PW902" for c in changes)


def test_secrets_inside_added_actions_are_masked() -> None:
    old = _base()
    new = copy.deepcopy(old)
    _third_party(new)
    _action(new, 1, 2)["configuration"] = {"ApiToken": "tok_0123456789abcdef"}
    pipeline = parse_declaration(new, loc=Loc("p.json", "", KeyStyle.API), source="p.json")
    report = render(drift_result([(pipeline, _norm(old))]), "json")
    assert "tok_0123456789abcdef" not in report
    assert "third-party action `Scan`" in report


def test_trigger_narrowing_is_not_a_weakening_but_removing_includes_is() -> None:
    old = _base()
    new = copy.deepcopy(old)
    new["triggers"][0]["gitConfiguration"]["push"][0]["branches"]["includes"] = ["main"]
    assert classify(_norm(old), _norm(new)) == []


def test_identical_declarations_have_no_change_and_equal_hash() -> None:
    a, b = _norm(_base()), _norm(copy.deepcopy(_base()))
    assert classify(a, b) == []
    assert declaration_hash(a) == declaration_hash(b)
    assert declaration_hash(a) != declaration_hash(_norm({**_base(), "name": "other"}))


def test_canonical_json_is_sorted_and_compact() -> None:
    assert canonical_json({"b": 1, "a": ["é", {"d": 2, "c": 3}]}) == (
        '{"a":["é",{"c":3,"d":2}],"b":1}'.encode()
    )


def test_diff_matches_list_items_by_name() -> None:
    old = {"stages": [{"name": "A", "x": 1}, {"name": "B", "x": 2}]}
    new = {"stages": [{"name": "B", "x": 2}, {"name": "A", "x": 9}]}
    changes = list(diff(old, new))
    assert ("/stages/1/x", 1, 9) in [(c.pointer, c.old, c.new) for c in changes]


def _inventory(path: Path) -> Any:
    loaded = load_paths([path])
    assert not loaded.errors
    return loaded.inventories[0]


def test_every_input_kind_normalises_to_api_shape() -> None:
    for path in (
        ROOT / "examples/get-pipeline/payments-weak.json",
        ROOT / "examples/cloudformation/weak-pipeline.yaml",
        ROOT / "examples/terraform/orders.tfplan.json",
    ):
        for pipeline in _inventory(path).pipelines:
            doc = canonical(pipeline)
            assert {"name", "pipelineType", "stages"} <= set(doc)
            assert all("actionTypeId" in a for s in doc["stages"] for a in s["actions"])
            assert json.loads(canonical_json(doc)) == doc
            assert classify(doc, canonical(pipeline)) == []


def test_report_uses_scan_results_shape() -> None:
    pipeline = parse_declaration(_base(), loc=Loc("p.json", "", KeyStyle.API), source="p.json")
    new = copy.deepcopy(_base())
    _oauth(new)
    new_pipeline = parse_declaration(new, loc=Loc("p.json", "", KeyStyle.API), source="p.json")
    result = drift_result([(new_pipeline, canonical(pipeline))])
    report = json.loads(render(result, "json"))
    fails = [r for r in report["results"] if r["status"] == "fail"]
    assert {r["rule_id"] for r in fails} >= {"PW901"}
    text = json.dumps(report)
    assert "ghp_abcdefghijklmnop" not in text
    for fmt in ("table", "sarif", "markdown", "html"):
        assert "PW901" in render(result, fmt)
    assert result.failures(None) == []
