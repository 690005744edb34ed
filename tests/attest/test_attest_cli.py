"""``pipewarden attest``: JSON Lines of signed statements, one record on stdout."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from attest_keys import KeyPair

from pipewarden.attest.statement import CYCLONEDX_PREDICATE_TYPE, SLSA_PROVENANCE_V1
from pipewarden.cli import main

ARN = "arn:aws:codepipeline:us-east-1:111122223333:app"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _statements(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(base64.b64decode(json.loads(line)["payload"])) for line in lines]


def test_attest_writes_provenance_and_sbom(
    tmp_path: Path, artifact: Path, keypair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    sbom = tmp_path / "bom.json"
    sbom.write_text(
        json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}),
        encoding="utf-8",
    )
    out = tmp_path / "attestation.jsonl"
    code = main(
        [
            "attest",
            str(artifact),
            "--key",
            str(keypair.private),
            "--sbom",
            str(sbom),
            "--pipeline-arn",
            ARN,
            "--execution-id",
            "exec-1",
            "--source-revision",
            COMMIT,
            "-o",
            str(out),
        ],
        environ={"CODEBUILD_BUILD_ARN": "arn:aws:codebuild:us-east-1:111122223333:build/b:1"},
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    record = json.loads(captured.out)
    assert record["verifier"] == "attest"
    assert record["statements"] == [SLSA_PROVENANCE_V1, CYCLONEDX_PREDICATE_TYPE]
    assert record["builder_id"] == ARN
    assert record["context"] == {
        "codebuild_build_arn": "arn:aws:codebuild:us-east-1:111122223333:build/b:1"
    }
    provenance, bom = _statements(out)
    assert provenance["predicateType"] == SLSA_PROVENANCE_V1
    assert bom["predicateType"] == CYCLONEDX_PREDICATE_TYPE
    assert (
        provenance["subject"]
        == bom["subject"]
        == [{"name": "app.zip", "digest": {"sha256": record["artifact"]["sha256"]}}]
    )
    assert not list(tmp_path.glob(".attestation.jsonl.*"))  # no temporary file left


def test_attest_takes_defaults_from_codebuild(
    tmp_path: Path, artifact: Path, keypair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jsonl"
    build_arn = "arn:aws:codebuild:us-east-1:111122223333:build/b:1"
    env = {
        "CODEBUILD_BUILD_ARN": build_arn,
        "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
        "CODEPIPELINE_EXECUTION_ID": "exec-9",
    }
    assert (
        main(["attest", str(artifact), "--key", str(keypair.private), "-o", str(out)], environ=env)
        == 0
    )
    (provenance,) = _statements(out)
    predicate = provenance["predicate"]
    assert isinstance(predicate, dict)
    assert predicate["runDetails"]["builder"]["id"] == build_arn
    assert predicate["runDetails"]["metadata"]["invocationId"] == "exec-9"
    assert predicate["buildDefinition"]["resolvedDependencies"] == [
        {"name": "source", "digest": {"gitCommit": COMMIT}}
    ]


def test_attest_skips_a_codebuild_revision_that_is_not_a_commit(
    tmp_path: Path, artifact: Path, keypair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.jsonl"
    env = {"CODEBUILD_RESOLVED_SOURCE_VERSION": "s3-version-id-xyz"}
    argv = ["attest", str(artifact), "--key", str(keypair.private), "--pipeline-arn", ARN]
    assert main([*argv, "-o", str(out)], environ=env) == 0
    assert "not a commit id" in capsys.readouterr().err
    (provenance,) = _statements(out)
    predicate = provenance["predicate"]
    assert isinstance(predicate, dict)
    assert predicate["buildDefinition"]["resolvedDependencies"] == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "a builder is required"),
        (["--pipeline-arn", ARN, "--source-revision", "main"], "--source-revision"),
        (["--pipeline-arn", ARN, "--sbom", "/nonexistent/bom.json"], "no such file"),
    ],
)
def test_attest_usage_and_input_errors(
    tmp_path: Path,
    artifact: Path,
    keypair: KeyPair,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "a.jsonl"
    argv = ["attest", str(artifact), "--key", str(keypair.private), "-o", str(out), *extra]
    assert main(argv, environ={}) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_attest_needs_exactly_one_key(tmp_path: Path, artifact: Path) -> None:
    assert main(["attest", str(artifact), "-o", str(tmp_path / "a")], environ={}) == 2
    argv = ["attest", str(artifact), "--key", "k", "--kms-key-id", "alias/x", "-o", "a"]
    assert main(argv, environ={}) == 2


def test_attest_missing_artifact(
    tmp_path: Path, keypair: KeyPair, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["attest", str(tmp_path / "nope.zip"), "--key", str(keypair.private)]
    assert main([*argv, "--pipeline-arn", ARN, "-o", str(tmp_path / "a")], environ={}) == 2
    assert "no such file" in capsys.readouterr().err
