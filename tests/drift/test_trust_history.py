"""PW903 trust tracking and ``pipewarden history`` on a real SQLite store."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

from pipewarden.cli.main import main
from pipewarden.drift.trust import trust_changes, trust_entities, trust_result
from pipewarden.model import Connection, Inventory, KeyStyle, LambdaFunction, Loc
from pipewarden.parse.declaration import parse_declaration
from pipewarden.report import render
from pipewarden.store import open_store

ROOT = Path(__file__).resolve().parents[2]
CONN = "arn:aws:codeconnections:eu-west-1:111111111111:connection/abc"


def _decl(repo: str = "org/app", fn: str = "gate:3") -> dict[str, Any]:
    return {
        "name": "app",
        "pipelineType": "V2",
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Src",
                        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                        "configuration": {"ConnectionArn": CONN, "FullRepositoryId": repo, "BranchName": "main"},
                        "outputArtifacts": [{"name": "src"}],
                    }
                ],
            },
            {
                "name": "Check",
                "actions": [
                    {
                        "name": "Gate",
                        "actionTypeId": {"category": "Invoke", "owner": "AWS", "provider": "Lambda", "version": "1"},
                        "configuration": {"FunctionName": fn},
                        "inputArtifacts": [{"name": "src"}],
                    },
                    {
                        "name": "Scan",
                        "actionTypeId": {"category": "Test", "owner": "ThirdParty", "provider": "Snyk", "version": "1"},
                        "inputArtifacts": [{"name": "src"}],
                        "runOrder": 2,
                    },
                ],
            },
        ],
    }  # fmt: skip


def _inventory(decl: dict[str, Any], sha: str = "sha-1", host: str = "github.com") -> Inventory:
    pipeline = parse_declaration(
        decl, loc=Loc("app.json", "", KeyStyle.API), source="app.json", arn="arn:aws:codepipeline:eu-west-1:111111111111:app"
    )  # fmt: skip
    return Inventory(
        "snapshot",
        (pipeline,),
        connections={CONN: Connection(CONN, provider_type="GitHub", owner_account="111111111111", status="AVAILABLE", provider_endpoint=host)},
        lambdas={"gate": LambdaFunction("gate", versions=("3",), code_sha256=sha)},
    )  # fmt: skip


def _approved(inv: Inventory) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e.kind, e.key): e.state for e in trust_entities([inv])}


def test_entities_cover_connection_repository_action_type_and_lambda() -> None:
    kinds = {(e.kind, e.key) for e in trust_entities([_inventory(_decl())])}
    assert kinds == {
        ("connection", CONN),
        ("repository", "CodeStarSourceConnection:org/app"),
        ("action-type", "Test/ThirdParty/Snyk/1"),
        ("lambda", "gate:3"),
    }


def test_changes_are_pw903_with_old_and_new() -> None:
    approved = _approved(_inventory(_decl()))
    assert trust_changes(trust_entities([_inventory(_decl())]), approved) == []
    cases = [
        (_inventory(_decl(), sha="sha-2"), ("lambda", "gate:3"), ("code_sha256",)),
        (_inventory(_decl(), host="evil.example"), ("connection", CONN), ("host",)),
        (
            _inventory(_decl(repo="org/fork")),
            ("repository", "CodeStarSourceConnection:org/fork"),
            (),
        ),
        (_inventory(_decl(fn="gate:4")), ("lambda", "gate:4"), ()),
    ]
    for inv, key, fields in cases:
        changes = trust_changes(trust_entities([inv]), approved)
        hit = [c for c in changes if (c.entity.kind, c.entity.key) == key]
        assert hit, key
        if fields:
            assert hit[0].fields == fields
            assert hit[0].old is not None
        else:
            assert hit[0].old is None
        result = trust_result(inv.pipelines, changes)
        report = json.loads(render(result, "json"))
        assert {r["rule_id"] for r in report["results"] if r["status"] == "fail"} == {"PW903"}


def _run(argv: list[str], db: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main([*argv, "--db", db], environ={"USER": "tester"})
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue()


def test_trust_cli_approve_then_diff(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    snap = str(ROOT / "examples/snapshot/example-snapshot.json")
    code, out = _run(["trust", "list", snap], db)
    assert code == 0
    assert {json.loads(line)["trust"] for line in out.splitlines()} == {"new"}
    assert _run(["trust", "diff", snap], db)[0] == 1
    assert _run(["trust", "approve", snap, "--reason", "vetted"], db)[0] == 0
    code, out = _run(["trust", "diff", snap, "-f", "json"], db)
    assert code == 0
    assert {r["status"] for r in json.loads(out)["results"]} == {"pass"}


def test_history_shows_rule_state_changes(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    example = ROOT / "examples/get-pipeline/payments-weak.json"
    arn = "arn:aws:codepipeline:us-east-1:111122223333:payments-api"
    _run(["baseline", "approve", str(example), "--reason", "r"], db)
    _run(["drift", "check", str(example)], db)
    doc = json.loads(example.read_text())
    doc["pipeline"]["roleArn"] = "arn:aws:iam::111122223333:role/other"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    _run(["drift", "check", str(changed)], db)
    _run(["drift", "check", str(example)], db)
    code, out = _run(["history", arn], db)
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    pw901 = [
        (x["from"], x["to"]) for x in lines if x["type"] == "rule-state" and x["rule_id"] == "PW901"
    ]
    assert pw901 == [(None, "pass"), ("pass", "fail"), ("fail", "pass")]
    assert [x["by"] for x in lines if x["type"] == "baseline"] == ["tester"]
    assert len([x for x in lines if x["type"] == "drift-event"]) == 1
    store = open_store(db)
    assert len(store.drift_events(arn)) == 1
    store.close()
