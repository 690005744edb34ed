"""The store on a real SQLite file and a real PostgreSQL 15 server."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from pipewarden.model import Location, Result, Severity, Status
from pipewarden.store import DriftRecord, Store, StoreError, WatchEntry, open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'pw.db'}"
    base: str = request.getfixturevalue("postgres_url")
    name = f"pw_{uuid.uuid4().hex[:12]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def _decl(n: int) -> dict[str, Any]:
    return {"name": "p", "pipelineType": "V2", "stages": [{"name": f"S{n}", "actions": []}]}


def test_migrations_from_empty_database_create_every_table(db_url: str) -> None:
    store = open_store(db_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {
        "scans",
        "pipeline_versions",
        "rule_results",
        "baselines",
        "trust_entities",
        "drift_events",
        "settings",
        "watch_state",
        "project_baselines",
        "alembic_version",
    } <= tables
    store.close()
    open_store(db_url).close()  # migrating again is a no-op


def test_baseline_approve_keeps_history_and_newest_wins(db_url: str) -> None:
    store = open_store(db_url)
    first = store.approve([("p", _decl(1))], by="alice", reason="initial")
    second = store.approve([("p", _decl(2))], by="bob", reason="new stage")
    store.approve([("p", _decl(1))], by="carol", reason="revert")
    current = store.baselines(["p", "missing"])
    assert list(current) == ["p"]
    assert current["p"].hash == first[0]
    assert current["p"].approved_by == "carol"
    assert current["p"].declaration == _decl(1)
    history = store.baseline_history("p")
    assert [(h, by, why) for h, by, _, why in history] == [
        (first[0], "alice", "initial"),
        (second[0], "bob", "new stage"),
        (first[0], "carol", "revert"),
    ]
    store.close()


def test_scan_results_and_drift_events_are_stored(db_url: str) -> None:
    store = open_store(db_url)
    result = Result(
        "PW901", "drift-weakened", "t", Severity.CRITICAL, Status.FAIL, "p",
        Location("p", "/roleArn"), "role changed",
    )  # fmt: skip
    scan_id = store.record_scan("drift-check", "x.json", [("p", result)])
    assert scan_id >= 1
    event = store.record_drift(
        "p",
        event_name="UpdatePipeline",
        actor="arn:aws:iam::111111111111:user/mallory",
        baseline_hash="a" * 64,
        current_hash="b" * 64,
        findings=[{"rule_id": "PW901", "pointer": "/roleArn"}],
    )
    events = store.drift_events("p")
    assert [(e["id"], e["actor"], e["weakening"]) for e in events] == [
        (event, "arn:aws:iam::111111111111:user/mallory", 1)
    ]
    store.close()


def _write_many(url: str, worker: int, count: int) -> None:
    store = open_store(url, upgrade=False)
    for i in range(count):
        store.approve([(f"p{i % 5}", _decl(i % 3))], by=f"w{worker}", reason=str(i))
        store.record_version(f"p{i % 5}", _decl(i % 3))
    store.close()


def test_concurrent_threads_lose_nothing(db_url: str) -> None:
    open_store(db_url).close()
    threads = [threading.Thread(target=_write_many, args=(db_url, w, 15)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = open_store(db_url)
    with store.engine.connect() as conn:
        approvals = conn.execute(text("SELECT count(*) FROM baselines")).scalar_one()
        versions = conn.execute(text("SELECT count(*) FROM pipeline_versions")).scalar_one()
    assert approvals == 6 * 15
    assert versions == 15  # 5 pipelines x 3 declarations, each exactly once
    store.close()


def test_concurrent_processes_lose_nothing(db_url: str) -> None:
    open_store(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(db_url, w, 10)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = open_store(db_url)
    assert len(store.baseline_history("p0")) == 4 * 2
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM baselines")).scalar_one() == 40
    store.close()


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        open_store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    assert "\n" not in str(info.value)
    with pytest.raises(StoreError):
        open_store("postgresql://pw@127.0.0.1:1/none")


def test_default_url_is_in_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("PIPEWARDEN_DB", raising=False)
    store: Store = open_store()
    assert (tmp_path / "pipewarden" / "pipewarden.db").exists()
    store.close()


def test_cli_baseline_and_drift_check_on_postgresql(db_url: str, tmp_path: Path) -> None:
    import io
    import json
    import sys

    from pipewarden.cli.main import main

    example = Path(__file__).resolve().parents[2] / "examples/get-pipeline/payments-weak.json"
    doc = json.loads(example.read_text())
    doc["pipeline"]["roleArn"] = "arn:aws:iam::111122223333:role/intruder"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc))
    out = io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, io.StringIO()
    try:
        approve = main(["baseline", "approve", str(example), "--reason", "ok", "--db", db_url])
        check = main(["drift", "check", str(changed), "-f", "json", "--db", db_url])
    finally:
        sys.stdout, sys.stderr = old
    assert approve == 0
    fails = [r for r in json.loads(out.getvalue())["results"] if r["status"] == "fail"]
    assert check == 1
    assert {(r["rule_id"], r["evidence"]["pointer"]) for r in fails} == {("PW901", "/roleArn")}


def test_sealing_key_is_made_once_and_shared(db_url: str) -> None:
    open_store(db_url).close()
    keys: list[str] = []

    def seal() -> None:
        store = open_store(db_url, upgrade=False)
        keys.append(store.sealer().seal("value"))
        store.close()

    threads = [threading.Thread(target=seal) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 6
    assert len(set(keys)) == 1


def test_redelivered_event_is_recorded_once(db_url: str) -> None:
    store = open_store(db_url)
    first = store.record_drift(
        "p", event_name="UpdatePipeline", actor="a", baseline_hash=None, current_hash=None,
        findings=[], event_id="ev-1",
    )  # fmt: skip
    again = store.record_drifts(
        [
            DriftRecord("p", "UpdatePipeline", "a", None, None, [], "ev-1"),
            DriftRecord("q", "UpdatePipeline", "a", None, None, [], "ev-1"),
            DriftRecord("p", "drift-check", "", None, None, []),
            DriftRecord("p", "drift-check", "", None, None, []),
        ]
    )
    assert again[0] == first
    assert len(set(again)) == 4
    assert [e["event_id"] for e in store.drift_events("p")] == ["ev-1", None, None]
    store.close()


def test_watch_state_is_upserted_and_forgotten(db_url: str) -> None:
    store = open_store(db_url)
    a = WatchEntry("arn:p1", "111111111111", "eu-west-1", "p1", 1, "t1", "h1")
    b = WatchEntry("arn:p2", "111111111111", "eu-west-1", "p2", 4, "t2", None)
    store.update_watch([a, b])
    store.update_watch([WatchEntry("arn:p1", "111111111111", "eu-west-1", "p1", 2, "t3", "h2")])
    seen = store.watched("111111111111", "eu-west-1")
    assert {k: (e.version, e.updated, e.hash) for k, e in seen.items()} == {
        "arn:p1": (2, "t3", "h2"),
        "arn:p2": (4, "t2", None),
    }
    assert store.watched("111111111111", "us-east-1") == {}
    store.update_watch([], forget=["arn:p2"])
    assert list(store.watched("111111111111", "eu-west-1")) == ["arn:p1"]
    store.close()


def test_project_baselines_newest_wins_and_secrets_are_sealed(db_url: str) -> None:
    token = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8"
    state: dict[str, Any] = {
        "name": "build",
        "buildspec": {"origin": "file", "value": "buildspec.yml"},
        "image": "aws/codebuild/standard:7.0",
        "serviceRole": "arn:aws:iam::1:role/b",
        "privilegedMode": False,
        "environmentVariables": [{"name": "GH_TOKEN", "type": "PLAINTEXT", "value": token}],
    }
    store = open_store(db_url)
    first = store.approve_projects([("arn:build", state, ["arn:p1"])], by="a", reason="one")
    store.approve_projects(
        [("arn:build", {**state, "privilegedMode": True}, ["arn:p1", "arn:p2"])],
        by="b",
        reason="two",
    )
    found = store.project_baselines(["arn:build", "arn:other"])
    assert list(found) == ["arn:build"]
    approved = found["arn:build"]
    assert (approved.approved_by, approved.pipelines) == ("b", ("arn:p1", "arn:p2"))
    assert approved.state["privilegedMode"] is True
    assert approved.hash != first[0]
    value = approved.state["environmentVariables"][0]["value"]
    assert value.startswith("$sealed:hmac-sha256:")
    assert token not in value
    store.close()


def test_keyed_hash_is_filled_in_for_a_version_stored_without_one(db_url: str) -> None:
    store = open_store(db_url)
    store.approve([("p", _decl(1))], by="a", reason="r")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE pipeline_versions SET keyed_hash = NULL"))
    assert store.baselines(["p"])["p"].keyed_hash is None
    store.record_version("p", _decl(1))
    assert store.baselines(["p"])["p"].keyed_hash == store.keyed_hash(_decl(1))
    store.close()


def test_pipeline_keys_resolve_a_bare_name(db_url: str) -> None:
    store = open_store(db_url)
    arns = [
        "arn:aws:codepipeline:eu-west-1:111111111111:my_app",
        "arn:aws:codepipeline:us-east-1:222222222222:my_app",
        "arn:aws:codepipeline:us-east-1:222222222222:myXapp",
    ]
    store.approve([(a, _decl(1)) for a in arns], by="a", reason="r")
    store.approve([("local", _decl(1))], by="a", reason="r")
    assert store.pipeline_keys("my_app") == arns[:2]
    assert store.pipeline_keys(arns[2]) == [arns[2]]
    assert store.pipeline_keys("local") == ["local"]
    assert store.pipeline_keys("nothing") == []
    store.close()
