"""``pipewarden collect``, ``scan --aws`` and ``policy`` in-process against moto."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from collect_moto import REGION, Seed

from pipewarden.cli import main
from pipewarden.collect import PERMISSIONS, policy_document

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ghp_" + "Zr4Tq9mWx2Lk7Bv3Nc8Hd1Fs6Gj0Py5Ua2Ei"


@pytest.fixture
def aws_env(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials on the standard chain (the environment), as a user would have them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return {"AWS_ENDPOINT_URL": endpoint}


def run(capsys: pytest.CaptureFixture[str], *argv: str, environ: dict[str, str]) -> Any:
    code = main(list(argv), environ=environ)
    out, err = capsys.readouterr()
    return code, out, err


def weak_pipelines(seed: Seed) -> None:
    role = seed.role(
        "pipeline-role",
        inline={
            "all": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        },
    )
    seed.bucket("artifacts", versioned=False)
    seed.pipeline("plain", role=role, bucket="artifacts", tags={"environment": "prod"})
    seed.pipeline(
        "legacy",
        role=role,
        bucket="artifacts",
        source={
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
                "OAuthToken": TOKEN,
                "PollForSourceChanges": "false",
            },
            "outputArtifacts": [{"name": "src"}],
        },
    )


def without_inputs(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "inputs"}


def test_live_scan_equals_a_scan_of_its_snapshot(
    seed: Seed, aws_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weak_pipelines(seed)
    snapshot = tmp_path / "snapshot.json"
    live = tmp_path / "live.json"
    code, _, err = run(
        capsys,
        "scan",
        "--aws",
        "--emulator",
        "--regions",
        REGION,
        "--save-snapshot",
        str(snapshot),
        "-f",
        "json",
        "-o",
        str(live),
        environ=aws_env,
    )
    assert code == 1, err
    offline = tmp_path / "offline.json"
    code2, _, err2 = run(
        capsys, "scan", str(snapshot), "-f", "json", "-o", str(offline), environ={}
    )
    assert code2 == 1, err2
    live_report = json.loads(live.read_text())
    offline_report = json.loads(offline.read_text())
    assert live_report["inputs"] == ["aws"]
    assert without_inputs(live_report) == without_inputs(offline_report)
    assert live_report["summary"]["pipelines"] == 2

    # A separate `collect` gives the same results too (only the collection time differs).
    collected = tmp_path / "collected.json"
    code3, _, err3 = run(
        capsys, "collect", "--emulator", "--regions", REGION, "-o", str(collected), environ=aws_env
    )
    assert code3 == 0, err3
    assert "2 pipeline(s) in 1 account(s), 1 region(s)" in err3
    again = tmp_path / "again.json"
    run(capsys, "scan", str(collected), "-f", "json", "-o", str(again), environ={})
    assert json.loads(again.read_text())["results"] == live_report["results"]


def test_oauth_token_is_never_printed_nor_stored(
    seed: Seed, aws_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weak_pipelines(seed)
    snapshot = tmp_path / "snapshot.json"
    code, out, err = run(
        capsys, "collect", "--emulator", "--regions", REGION, "-o", str(snapshot), environ=aws_env
    )
    assert code == 0
    stored = snapshot.read_text()
    assert TOKEN not in stored
    assert TOKEN[:10] not in stored
    assert '"OAuthToken":"****"' in stored
    outputs = [out, err, stored]
    for fmt in ("table", "json", "sarif", "markdown", "html"):
        _, out, err = run(
            capsys,
            "scan",
            "--aws",
            "--emulator",
            "--regions",
            REGION,
            "-f",
            fmt,
            "--fail-on",
            "none",
            environ=aws_env,
        )
        outputs += [out, err]
    _, out, err = run(capsys, "collect", "--emulator", "--regions", REGION, environ=aws_env)
    outputs += [out, err]
    for text in outputs:
        assert TOKEN not in text
        assert TOKEN[4:14] not in text
    assert "PW101" in outputs[3]


def test_gaps_are_listed_on_stderr(
    seed: Seed, aws_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    weak_pipelines(seed)  # GitHub v1 with PollForSourceChanges=false: webhooks are read
    role = seed.role("other-role")
    seed.pipeline("built", role=role, bucket="artifacts", build_project="no-such-project")
    code, out, err = run(
        capsys,
        "scan",
        "--aws",
        "--emulator",
        "--regions",
        REGION,
        "-f",
        "json",
        "--fail-on",
        "none",
        environ=aws_env,
    )
    assert code == 0
    assert "pipewarden: warning: not read: 123456789012/us-east-1 codebuild:BatchGetProjects" in err
    report = json.loads(out)
    assert any("no-such-project" in gap for gap in report["gaps"])


def test_no_credentials_exit_2_with_one_line(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    code, out, err = run(capsys, "scan", "--aws", "--endpoint-url", endpoint, environ={})
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pipewarden: error: no usable AWS credentials")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["scan"], "nothing to scan"),
        (["scan", "x.json", "--aws"], "either PATH arguments or --aws"),
        (["scan", "x.json", "--org"], "--org only apply with --aws"),
        (["collect", "--shard", "4/4"], "shards are numbered 0 to N-1"),
        (["collect", "--emulator"], "--emulator needs --endpoint-url"),
        (["collect", "--accounts", "12345"], "is not an AWS account id"),
    ],
)
def test_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, *argv, environ={})
    assert code == 2
    assert message in err
    assert len(err.splitlines()) == 1


def test_policy_prints_the_least_privilege_policy(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", environ={})
    assert code == 0
    policy = json.loads(out)
    assert policy == policy_document()
    read, hop = policy["Statement"]
    assert set(read["Action"]) | set(hop["Action"]) == PERMISSIONS
    assert hop["Action"] == ["sts:AssumeRole"]
    assert hop["Resource"] == "arn:*:iam::*:role/PipeWardenReadOnly"


def test_generated_permission_docs_and_role_template_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_permissions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_scanner_role_template_loads_as_cloudformation() -> None:
    from pipewarden.parse._yaml import load_yaml

    path = ROOT / "deploy" / "scanner-role.yaml"
    doc, _ = load_yaml(path.read_text(), str(path))
    role = doc["Resources"]["ScannerRole"]
    assert role["Type"] == "AWS::IAM::Role"
    props = role["Properties"]
    [statement] = props["Policies"][0]["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == PERMISSIONS - {"sts:AssumeRole"}
    trust = props["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Action"] == "sts:AssumeRole"
    assert "ExternalId" in json.dumps(trust)
    # PipeWarden's own CloudFormation reader takes it, intrinsic functions included.
    from pipewarden.parse.cloudformation import parse_cloudformation_yaml

    inventory = parse_cloudformation_yaml(path.read_text(), source=str(path))
    assert inventory.pipelines == ()
