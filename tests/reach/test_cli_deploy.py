"""``pipewarden reach`` with deployment context, end to end: the artifact's findings carry
whether a production deploy takes it, and ``pipewarden gate --reach`` decides on them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli import main

PIPELINE = {
    "pipeline": {
        "name": "orders",
        "roleArn": "arn:aws:iam::111122223333:role/orders",
        "artifactStore": {"type": "S3", "location": "orders-artifacts"},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    {
                        "name": "Code",
                        "actionTypeId": {
                            "category": "Source",
                            "owner": "AWS",
                            "provider": "CodeStarSourceConnection",
                            "version": "1",
                        },
                        "outputArtifacts": [{"name": "Src"}],
                        "configuration": {},
                    }
                ],
            },
            {
                "name": "Build",
                "actions": [
                    {
                        "name": "Build",
                        "actionTypeId": {
                            "category": "Build",
                            "owner": "AWS",
                            "provider": "CodeBuild",
                            "version": "1",
                        },
                        "inputArtifacts": [{"name": "Src"}],
                        "outputArtifacts": [{"name": "LambdaZip"}, {"name": "Docs"}],
                        "configuration": {"ProjectName": "orders-build"},
                    }
                ],
            },
            {
                "name": "Production",
                "actions": [
                    {
                        "name": "DeployLambda",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "CloudFormation",
                            "version": "1",
                        },
                        "inputArtifacts": [{"name": "LambdaZip"}],
                        "configuration": {"StackName": "orders", "ActionMode": "CREATE_UPDATE"},
                    }
                ],
            },
            {
                "name": "Preview",
                "actions": [
                    {
                        "name": "PublishDocs",
                        "actionTypeId": {
                            "category": "Deploy",
                            "owner": "AWS",
                            "provider": "S3",
                            "version": "1",
                        },
                        "inputArtifacts": [{"name": "Docs"}],
                        "configuration": {"BucketName": "docs", "Extract": "true"},
                    }
                ],
            },
        ],
    }
}

OSV = {
    "schema_version": "1.6.0",
    "id": "PYSEC-2099-1",
    "summary": "template injection in render",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "fakepkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
            "ecosystem_specific": {"imports": [{"path": "fakepkg.render", "symbols": ["render"]}]},
        }
    ],
}


def _artifact(root: Path) -> Path:
    app = root / "artifact"
    files = {
        "app.py": """
            from fakepkg.render import render

            def handler(event, context):
                return render(event["template"])
            """,
        "fakepkg/__init__.py": "",
        "fakepkg/render.py": """
            def render(text):
                return text.upper()
            """,
        "fakepkg-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.0\n",
        "fakepkg-1.0.dist-info/RECORD": "fakepkg/__init__.py,,\nfakepkg/render.py,,\n",
        "fakepkg-1.0.dist-info/top_level.txt": "fakepkg\n",
    }
    for rel, text in files.items():
        path = app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return app


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    inventory = tmp_path / "orders.json"
    inventory.write_text(json.dumps(PIPELINE))
    osv = tmp_path / "osv.json"
    osv.write_text(json.dumps(OSV))
    return _artifact(tmp_path), osv, inventory


def _reach(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *argv: str
) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "reach.json"
    code = main(
        [
            "reach",
            *argv,
            "--entry",
            "app:handler",
            "--format",
            "json",
            "--no-cache",
            "-j",
            "1",
            "-o",
            str(out),
        ],
        environ={},
    )
    _, err = capsys.readouterr()
    return code, json.loads(out.read_text()) if out.exists() else {}, err


def test_production_deploy_of_the_artifact_is_recorded_and_blocks_the_gate(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, osv, inventory = setup
    code, doc, _ = _reach(
        capsys,
        tmp_path,
        str(artifact),
        "--osv",
        str(osv),
        "--inventory",
        str(inventory),
        "--pipeline",
        "orders",
        "--artifact-name",
        "LambdaZip",
    )
    assert code == 1
    (finding,) = doc["results"]
    assert finding["tier"] == "reachable"
    assert finding["deployed_to_production"] is True
    assert finding["priority"] == "critical"
    assert doc["deployment"]["production"] is True
    assert [t["action"] for t in doc["deployment"]["targets"]] == ["DeployLambda"]

    code = main(["gate", "--reach", str(tmp_path / "reach.json")], environ={})
    out, _ = capsys.readouterr()
    record = json.loads(out)
    assert code == 1
    assert any(
        "PYSEC-2099-1 in fakepkg 1.0 is reachable (critical severity) and deployed to production"
        in r
        for r in record["reasons"]
    )
    assert record["inputs"]["reach"]["sha256"]


def test_an_artifact_only_deployed_outside_production_drops_a_priority_level(
    setup: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact, osv, inventory = setup
    code, doc, _ = _reach(
        capsys,
        tmp_path,
        str(artifact),
        "--osv",
        str(osv),
        "--inventory",
        str(inventory),
        "--artifact-name",
        "Docs",
    )
    assert code == 1  # still reachable: the default --fail-on does not look at deployment
    (finding,) = doc["results"]
    assert finding["tier"] == "reachable"
    assert finding["deployed_to_production"] is False
    assert finding["priority"] == "high"
    main(["gate", "--reach", str(tmp_path / "reach.json")], environ={})
    record = json.loads(capsys.readouterr()[0])
    assert not any("PYSEC-2099-1" in r for r in record["reasons"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--pipeline", "orders"), "--pipeline and --artifact-name need --inventory or --aws"),
        (("--execution-id", "e-1"), "need --aws"),
        (("--inventory", "INV", "--pipeline", "missing"), "`missing` is not in the inventory"),
        (("--aws",), "--aws needs exactly one --pipeline"),
        (("--aws", "--pipeline", "orders", "--artifact-location", "bucket/key"), "s3://BUCKET/KEY"),
    ],
)
def test_deployment_option_errors_are_one_line(
    setup: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    message: str,
) -> None:
    artifact, osv, inventory = setup
    argv = [str(inventory) if a == "INV" else a for a in extra]
    code, _, err = _reach(capsys, tmp_path, str(artifact), "--osv", str(osv), *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "Traceback" not in err
    assert message in lines[0]
