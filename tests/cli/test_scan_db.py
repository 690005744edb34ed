"""``pipewarden scan --db URL`` / ``--store`` stores every result; ``pipewarden
history PIPELINE`` then says when each rule changed state across the stored
scans. On a real SQLite file and a real PostgreSQL 15 server."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pipewarden.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples/get-pipeline/payments-weak.json"
ARN = "arn:aws:codepipeline:us-east-1:111122223333:payments-api"


def _load_postgres_fixture() -> Any:
    """The session PostgreSQL server of the store tests (tests/store/conftest.py)."""
    path = ROOT / "tests/store/conftest.py"
    spec = importlib.util.spec_from_file_location("_pipewarden_store_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.postgres_url


postgres_url = _load_postgres_fixture()


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


def _run(argv: list[str], environ: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(argv, environ=environ or {})
    finally:
        sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def _variant(tmp_path: Path, function: str) -> Path:
    doc = json.loads(EXAMPLE.read_text())
    doc["pipeline"]["stages"][2]["actions"][2]["configuration"]["FunctionName"] = function
    path = tmp_path / f"payments-{function.replace(':', '-')}.json"
    path.write_text(json.dumps(doc))
    return path


def _history(argv: list[str], environ: dict[str, str] | None = None) -> list[dict[str, Any]]:
    code, out, err = _run(["history", *argv], environ)
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_history_shows_when_each_rule_changed_state(db_url: str, tmp_path: Path) -> None:
    scans = [
        _variant(tmp_path, "release-notifier"),  # PW502 fails: the function is unpinned
        _variant(tmp_path, "release-notifier:7"),  # pinned: PW502 passes
        _variant(tmp_path, "release-notifier:7"),  # no change
        _variant(tmp_path, "release-notifier"),  # unpinned again
    ]
    for number, path in enumerate(scans, start=1):
        code, out, err = _run(["scan", str(path), "-f", "json", "--db", db_url])
        assert code == 1, err  # the example has high-severity failures either way
        assert json.loads(out)["results"]  # the report is written as usual
        stored = len(json.loads(out)["results"])
        assert f"stored {stored} result(s) as scan {number}" in err

    lines = _history([ARN, "--db", db_url])
    states = [line for line in lines if line["type"] == "rule-state"]
    assert {line["pipeline"] for line in lines} == {ARN}
    pw502 = [(s["from"], s["to"], s["scan"]) for s in states if s["rule_id"] == "PW502"]
    assert pw502 == [(None, "fail", 1), ("fail", "pass", 2), ("pass", "fail", 4)]
    # Every other rule kept its state: one line each, from the first scan.
    others = [s for s in states if s["rule_id"] != "PW502"]
    assert others
    assert {s["scan"] for s in others} == {1}
    assert len({s["rule_id"] for s in others}) == len(others)
    assert [s["at"] for s in states] == sorted(s["at"] for s in states)

    # A bare name finds the pipeline stored under its ARN.
    assert _history(["payments-api", "--db", db_url]) == lines


def test_store_uses_the_default_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'default.db'}"
    env = {"PIPEWARDEN_DB": url}
    code, _, err = _run(["scan", str(EXAMPLE), "--store", "--fail-on", "none"], env)
    assert code == 0, err
    assert "as scan 1" in err
    assert any(line["rule_id"] == "PW502" for line in _history([ARN], env))
    code, _, err = _run(["scan", str(EXAMPLE), "--store", "--db", url])
    assert code == 2
    assert "not allowed with argument" in err


def test_without_db_nothing_is_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.db'}"
    code, _, err = _run(["scan", str(EXAMPLE), "--fail-on", "none"], {"PIPEWARDEN_DB": url})
    assert code == 0
    assert "stored" not in err
    assert not (tmp_path / "unused.db").exists()


def test_unwritable_database_is_exit_2_after_the_report(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'pw.db'}"
    code, out, err = _run(["scan", str(EXAMPLE), "-f", "json", "--db", url])
    assert code == 2
    assert json.loads(out)["results"]
    assert err.count("\n") == 1
    assert "cannot open the store" in err


def test_history_of_an_unknown_pipeline_is_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'pw.db'}"
    code, out, err = _run(["history", "nothing-here", "--db", url])
    assert (code, out) == (0, "")
    assert "nothing is stored for pipeline `nothing-here`" in err
