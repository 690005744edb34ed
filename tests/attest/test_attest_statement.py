"""in-toto Statement v1 building and constant-memory artifact hashing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest

from pipewarden.attest.statement import (
    BUILD_TYPE,
    CYCLONEDX_PREDICATE_TYPE,
    SLSA_PROVENANCE_V1,
    STATEMENT_V1,
    ArtifactDigest,
    BuildFacts,
    digest_artifact,
    load_sbom,
    provenance_statement,
    revision_digest,
    sbom_statement,
)
from pipewarden.errors import InputError

T0 = dt.datetime(2026, 5, 4, 12, 0, 0, tzinfo=dt.UTC)
ARN = "arn:aws:codepipeline:us-east-1:111122223333:app"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 4097, 3 * 4096 + 17])
def test_digest_matches_hashlib_across_block_boundaries(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "a.bin"
    path.write_bytes(data)
    digest = digest_artifact(path, block_size=4096)
    assert digest == ArtifactDigest("a.bin", hashlib.sha256(data).hexdigest(), size)


def test_digest_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        digest_artifact(tmp_path / "missing")
    with pytest.raises(InputError, match="directory"):
        digest_artifact(tmp_path)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # refused before it is opened: opening it would block
    with pytest.raises(InputError, match="not a regular file"):
        digest_artifact(fifo)


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        (COMMIT, {"gitCommit": COMMIT}),
        (COMMIT.upper(), {"gitCommit": COMMIT}),
        ("a" * 64, {"gitCommit": "a" * 64}),
        ("sha256:" + "b" * 64, {"sha256": "b" * 64}),
    ],
)
def test_revision_digest(revision: str, expected: dict[str, str]) -> None:
    assert revision_digest(revision) == expected


@pytest.mark.parametrize("revision", ["", "main", "abc123", "g" * 40, "sha256:xyz", "v1.2.3"])
def test_revision_digest_refuses_inexact_revisions(revision: str) -> None:
    with pytest.raises(ValueError, match="neither a git commit id"):
        revision_digest(revision)


def test_provenance_statement_shape() -> None:
    artifact = ArtifactDigest("app.zip", "c" * 64, 10)
    facts = BuildFacts(
        builder_id=ARN,
        execution_id="exec-1",
        source_revision=COMMIT,
        context={"codebuild_build_arn": "arn:aws:codebuild:us-east-1:111122223333:build/b:1"},
    )
    statement = provenance_statement(
        artifact, facts, started=T0, finished=T0 + dt.timedelta(seconds=5)
    )
    assert statement == {
        "_type": STATEMENT_V1,
        "subject": [{"name": "app.zip", "digest": {"sha256": "c" * 64}}],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {"pipeline": ARN, "executionId": "exec-1"},
                "internalParameters": {
                    "codebuild_build_arn": "arn:aws:codebuild:us-east-1:111122223333:build/b:1"
                },
                "resolvedDependencies": [{"name": "source", "digest": {"gitCommit": COMMIT}}],
            },
            "runDetails": {
                "builder": {"id": ARN},
                "metadata": {
                    "startedOn": "2026-05-04T12:00:00Z",
                    "finishedOn": "2026-05-04T12:00:05Z",
                    "invocationId": "exec-1",
                },
            },
        },
    }


def test_provenance_without_optional_facts_and_naive_times() -> None:
    artifact = ArtifactDigest("a", "c" * 64, 1)
    statement = provenance_statement(artifact, BuildFacts(builder_id=ARN), started=T0, finished=T0)
    definition = statement["predicate"]["buildDefinition"]
    assert definition["resolvedDependencies"] == []
    assert "internalParameters" not in definition
    assert "invocationId" not in statement["predicate"]["runDetails"]["metadata"]
    with pytest.raises(ValueError, match="timezone-aware"):
        provenance_statement(
            artifact,
            BuildFacts(builder_id=ARN),
            started=T0,
            finished=dt.datetime(2026, 1, 1),  # noqa: DTZ001 - naive on purpose
        )


def test_sbom_statement_and_loading(tmp_path: Path) -> None:
    bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    path = tmp_path / "bom.json"
    path.write_text(json.dumps(bom), encoding="utf-8")
    loaded = load_sbom(path)
    statement = sbom_statement(ArtifactDigest("a", "d" * 64, 1), loaded)
    assert statement["predicateType"] == CYCLONEDX_PREDICATE_TYPE
    assert statement["predicate"] == bom
    assert statement["subject"] == [{"name": "a", "digest": {"sha256": "d" * 64}}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "not UTF-8"),
        (b"{", "not JSON"),
        (b"[" * 100_000, "nested too deeply|not JSON"),
        (b'{"bomFormat": "SPDX"}', "not a CycloneDX"),
        (b'{"bomFormat": "CycloneDX"}', "specVersion"),
        (b"[]", "not a CycloneDX"),
    ],
)
def test_load_sbom_refuses(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_sbom(path)


def test_load_sbom_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as fh:  # sparse: no 64 MiB written to disk
        fh.truncate((64 << 20) + 1)
    with pytest.raises(InputError, match="larger than 64 MiB"):
        load_sbom(path)
    with pytest.raises(InputError, match="no such file"):
        load_sbom(tmp_path / "missing.json")
