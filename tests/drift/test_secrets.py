"""Secrets are sealed before anything is stored or reported: the raw value never
reaches the database file nor any report, yet a changed secret is still a change."""

from __future__ import annotations

import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pipewarden.cli.main import main
from pipewarden.drift.lambda_handler import handle_event
from pipewarden.drift.secrets import PREFIX, Sealer, display, is_sealed
from pipewarden.store import open_store

TOKEN = "ghp_" + "Zx9Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz9Xc8"
TOKEN2 = "ghp_" + "Mn7Bv6Cx5Zl4Kj3Hg2Fd1Sa0Qp9Wo8Ei7Ru6"
API_KEY = "sk_live_" + "51HqLyjWDarjtT1zdp7dcXYZabcd"
ARN = "arn:aws:codepipeline:eu-west-1:111111111111:deploy-api"
SECRETS = (TOKEN, TOKEN2, API_KEY)


def test_tokens_are_realistic() -> None:
    assert len(TOKEN) == len(TOKEN2) == 40
    from pipewarden.rules._secrets import find_secret

    assert all(find_secret("value", s) is not None for s in SECRETS)


def _declaration(token: str = TOKEN, env_token: str = TOKEN) -> dict[str, Any]:
    return {
        "name": "deploy-api",
        "roleArn": "arn:aws:iam::111111111111:role/pipeline",
        "pipelineType": "V2",
        "artifactStore": {"type": "S3", "location": "artifacts-111"},
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
                        "configuration": {"S3Bucket": "src-111", "S3ObjectKey": "app.zip"},
                        "outputArtifacts": [{"name": "src"}],
                    }
                ],
            },
            {
                "name": "Release",
                "actions": [
                    {
                        "name": "Notify",
                        "actionTypeId": {
                            "category": "Invoke",
                            "owner": "AWS",
                            "provider": "Lambda",
                            "version": "1",
                        },
                        "configuration": {
                            "FunctionName": "notify:3",
                            "UserParameters": json.dumps({"api_key": API_KEY, "channel": "x"}),
                        },
                    },
                    {
                        "name": "Publish",
                        "actionTypeId": {
                            "category": "Compute",
                            "owner": "AWS",
                            "provider": "Commands",
                            "version": "1",
                        },
                        "commands": [
                            "npm ci",
                            f"curl -H 'Authorization: Bearer {token}' https://api.example.com/x",
                        ],
                        "environmentVariables": [
                            {"name": "GITHUB_TOKEN", "value": env_token, "type": "PLAINTEXT"},
                            {"name": "STAGE", "value": "prod", "type": "PLAINTEXT"},
                        ],
                        "inputArtifacts": [{"name": "src"}],
                    },
                ],
            },
        ],
    }


def _write(path: Path, decl: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"pipeline": decl, "metadata": {"pipelineArn": ARN}}))
    return path


def _run(argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(argv, environ={"USER": "tester"})
    finally:
        sys.stdout, sys.stderr, sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def _files_bytes(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


def _assert_clean(blob: str | bytes) -> None:
    for secret in SECRETS:
        if isinstance(blob, bytes):
            assert secret.encode() not in blob, f"{secret[:4]}... leaked"
        else:
            assert secret not in blob, f"{secret[:4]}... leaked"


def test_sealer_seals_config_variables_and_commands_only() -> None:
    sealer = Sealer(b"k" * 32)
    sealed = sealer.declaration(_declaration())
    actions = sealed["stages"][1]["actions"]
    assert is_sealed(actions[0]["configuration"]["UserParameters"])
    assert actions[0]["configuration"]["FunctionName"] == "notify:3"
    assert actions[1]["commands"][0] == "npm ci"
    assert is_sealed(actions[1]["commands"][1])
    variables = {v["name"]: v["value"] for v in actions[1]["environmentVariables"]}
    assert is_sealed(variables["GITHUB_TOKEN"])
    assert variables["STAGE"] == "prod"
    assert sealed["stages"][0] == _declaration()["stages"][0]  # nothing secret: untouched
    _assert_clean(json.dumps(sealed))
    # Idempotent, deterministic per key, different across keys; shows only the mask.
    assert sealer.declaration(sealed) == sealed
    assert Sealer(b"k" * 32).declaration(_declaration()) == sealed
    other = Sealer(b"j" * 32).declaration(_declaration())
    assert other["stages"][1]["actions"][1]["commands"][1] != actions[1]["commands"][1]
    shown = display(variables["GITHUB_TOKEN"])
    assert shown.startswith("secret ghp_…(40 chars) (keyed digest ")
    assert variables["GITHUB_TOKEN"].startswith(PREFIX)


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Sealer(b"short")


def test_raw_secret_never_stored_nor_reported_yet_changes_are_found(tmp_path: Path) -> None:
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    db = f"sqlite:///{dbdir / 'pw.db'}"
    approved = _write(tmp_path / "approved.json", _declaration())
    outputs: list[str] = []

    code, out, err = _run(["baseline", "approve", str(approved), "--reason", "ok", "--db", db])
    assert code == 0, err
    outputs += [out, err]
    code, out, err = _run(["drift", "check", str(approved), "-f", "json", "--db", db])
    assert code == 0, err
    assert {r["status"] for r in json.loads(out)["results"]} == {"pass"}
    outputs += [out, err]

    # The token in the command and the variable is rotated: a change, shown sealed.
    rotated = _write(tmp_path / "rotated.json", _declaration(token=TOKEN2, env_token=TOKEN2))
    for fmt in ("json", "sarif", "table", "markdown", "html"):
        code, out, err = _run(["drift", "check", str(rotated), "-f", fmt, "--db", db])
        outputs += [out, err]
        assert code == 0, err  # PW902 only: below the default gate
    report = json.loads(outputs[-10])
    fails = [r for r in report["results"] if r["status"] == "fail"]
    pointers = {r["evidence"]["pointer"] for r in fails}
    assert {r["rule_id"] for r in fails} == {"PW902"}
    assert "/stages/1/actions/1/commands/1" in pointers
    assert "/stages/1/actions/1/environmentVariables/0/value" in pointers
    change = next(r for r in fails if r["evidence"]["pointer"].endswith("/0/value"))
    assert change["evidence"]["old"].startswith("secret ghp_…(40 chars) (keyed digest ")
    assert change["evidence"]["old"] != change["evidence"]["new"]

    # The same through an UpdatePipeline event.
    event = {
        "source": "aws.codepipeline",
        "detail-type": "AWS API Call via CloudTrail",
        "account": "111111111111",
        "region": "eu-west-1",
        "detail": {
            "eventName": "UpdatePipeline",
            "eventSource": "codepipeline.amazonaws.com",
            "eventID": "e-1",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/m"},
            "requestParameters": {"pipeline": _declaration(env_token=TOKEN2)},
        },
    }
    code, out, err = _run(["drift", "handle-event", "--db", db], json.dumps(event))
    assert code == 0, err
    outputs += [out, err]
    assert [r["rule_id"] for r in json.loads(out)["results"] if r["status"] == "fail"] == ["PW902"]
    code, out, err = _run(["history", ARN, "--db", db])
    outputs += [out, err]
    assert "drift-event" in out

    for text_out in outputs:
        _assert_clean(text_out)
    store = open_store(db)
    store.close()
    _assert_clean(_files_bytes(dbdir))


def _canonical(tmp_path: Path) -> dict[str, Any]:
    from pipewarden.drift.normalise import canonical
    from pipewarden.parse import load_paths

    loaded = load_paths([_write(tmp_path / "old.json", _declaration())])
    return canonical(loaded.inventories[0].pipelines[0])


def _old_store(url: str, decl: dict[str, Any]) -> None:
    """A store at revision 0001 holding secrets in full, as 0001-era code wrote them."""
    from alembic import command
    from alembic.config import Config

    import pipewarden.store as store_module
    from pipewarden.drift.normalise import canonical_json, declaration_hash

    engine = store_module._engine(url)
    config = Config()
    config.set_main_option(
        "script_location", str(Path(store_module.__file__).parent / "migrations")
    )
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO pipeline_versions (pipeline_key, hash, declaration, first_seen) "
                "VALUES (:k, :h, :d, CURRENT_TIMESTAMP)"
            ),
            {"k": ARN, "h": declaration_hash(decl), "d": canonical_json(decl).decode()},
        )
        conn.execute(
            text(
                "INSERT INTO baselines (pipeline_key, version_id, approved_by, approved_at, "
                "reason) VALUES (:k, 1, 'alice', CURRENT_TIMESTAMP, 'old')"
            ),
            {"k": ARN},
        )
        conn.execute(
            text(
                "INSERT INTO drift_events (pipeline_key, detected_at, event_name, actor, "
                "baseline_hash, current_hash, weakening, findings) VALUES (:k, "
                "CURRENT_TIMESTAMP, 'drift-check', '', :h, NULL, 0, :f)"
            ),
            {
                "k": ARN,
                "h": declaration_hash(decl),
                "f": json.dumps([{"rule_id": "PW902", "pointer": "/x", "new": TOKEN}]),
            },
        )
        conn.execute(text("INSERT INTO scans (started_at, kind, source, tool_version) "
                          "VALUES (CURRENT_TIMESTAMP, 'drift-check', 'x', '0')"))  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO rule_results (scan_id, pipeline_key, rule_id, status, severity, "
                "pointer, fingerprint, message) VALUES (1, :k, 'PW902', 'fail', 'low', '/x', "
                "'f', :m)"
            ),
            {"k": ARN, "m": f"changed since the baseline at /x: (absent) -> {TOKEN}"},
        )
    engine.dispose()


def test_migration_seals_what_an_older_store_kept_in_full(tmp_path: Path) -> None:
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    url = f"sqlite:///{dbdir / 'pw.db'}"
    decl = _canonical(tmp_path)
    _old_store(url, decl)
    assert TOKEN.encode() in _files_bytes(dbdir)

    store = open_store(url)  # upgrades to the newest revision
    base = store.baselines([ARN])[ARN]
    assert base.approved_by == "alice"
    assert base.declaration == store.seal(decl)
    assert base.keyed_hash is None  # written before keyed hashes: compared by sealed hash
    events = store.drift_events(ARN)
    assert events[0]["baseline_hash"] == base.hash  # re-pointed to the sealed version
    assert events[0]["findings"][0]["new"].startswith("secret ghp_")
    store.close()
    engine = create_engine(url)
    with engine.connect() as conn:
        message = conn.execute(text("SELECT message FROM rule_results")).scalar_one()
    engine.dispose()
    assert message == "changed since the baseline at /x: values withheld (they held a secret)"
    _assert_clean(_files_bytes(dbdir))

    # And the sealed baseline still matches the same declaration read again.
    decl_file = _write(tmp_path / "same.json", copy.deepcopy(_declaration()))
    code, out, err = _run(["drift", "check", str(decl_file), "-f", "json", "--db", url])
    assert code == 0, err
    assert {r["status"] for r in json.loads(out)["results"]} == {"pass"}


def test_event_finding_and_records_hold_no_secret(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'pw.db'}"
    event = {
        "source": "aws.codepipeline",
        "account": "111111111111",
        "region": "eu-west-1",
        "detail": {
            "eventName": "CreatePipeline",
            "eventSource": "codepipeline.amazonaws.com",
            "userIdentity": {"type": "Root"},
            "requestParameters": {"pipeline": _declaration()},
        },
    }
    finding = handle_event(event, db=db)
    assert finding["baselined"] is False
    _assert_clean(json.dumps(finding))
    store = open_store(db)
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT declaration FROM pipeline_versions")).scalar_one()
    store.close()
    assert "keyed digest" not in stored
    assert PREFIX in stored
    _assert_clean(stored)
