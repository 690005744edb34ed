"""in-toto Statement v1 documents about one build artifact.

Two kinds of statement, both with the artifact as their only subject:

* **provenance**: a SLSA provenance v1 predicate. ``runDetails.builder.id`` is
  the pipeline (its ARN), ``runDetails.metadata.invocationId`` the pipeline
  execution id, ``buildDefinition.resolvedDependencies`` the source revision,
  and ``runDetails.metadata.startedOn`` / ``finishedOn`` when the attestation
  was made (``verify-handoff --max-age`` judges freshness by ``finishedOn``);
* **sbom**: a CycloneDX document as the predicate (predicate type
  ``https://cyclonedx.org/bom``).

The subject digest is the artifact's SHA-256, read in 1 MiB blocks into one
reused buffer, so memory stays constant whatever the artifact's size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import InputError

__all__ = [
    "BUILD_TYPE",
    "CYCLONEDX_PREDICATE_TYPE",
    "MAX_SBOM_BYTES",
    "SLSA_PROVENANCE_V1",
    "STATEMENT_V1",
    "ArtifactDigest",
    "BuildFacts",
    "digest_artifact",
    "load_sbom",
    "provenance_statement",
    "revision_digest",
    "sbom_statement",
]

STATEMENT_V1: Final = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1: Final = "https://slsa.dev/provenance/v1"
CYCLONEDX_PREDICATE_TYPE: Final = "https://cyclonedx.org/bom"
BUILD_TYPE: Final = "https://github.com/pipewarden/pipewarden/buildtypes/codepipeline/v1"

# Read size for hashing: large enough that the per-call overhead disappears
# next to the hash itself, small enough to stay in cache.
_BLOCK: Final = 1 << 20
MAX_SBOM_BYTES: Final = 64 << 20

_GIT_COMMIT: Final = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SHA256: Final = re.compile(r"^sha256:([0-9a-f]{64})$")


@dataclass(frozen=True, slots=True)
class ArtifactDigest:
    """An artifact's name (its file name), SHA-256 (lowercase hex) and size in bytes."""

    name: str
    sha256: str
    size: int


def digest_artifact(path: Path, *, block_size: int = _BLOCK) -> ArtifactDigest:
    """Hash the regular file at ``path`` in constant memory.

    Raises :class:`~pipewarden.errors.InputError` when it is missing, not a
    regular file (a FIFO or device could block or never end) or unreadable.
    """
    source = str(path)
    try:
        # Checked before opening too: opening a FIFO for reading would block.
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(source)
        if not stat.S_ISREG(mode):
            raise InputError(source, "not a regular file")
        with path.open("rb", buffering=0) as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InputError(source, "not a regular file")
            hasher = hashlib.sha256()
            buffer = bytearray(block_size)
            view = memoryview(buffer)
            size = 0
            while n := fh.readinto(view):
                hasher.update(view[:n])
                size += n
    except FileNotFoundError:
        raise InputError(source, "no such file") from None
    except IsADirectoryError:
        raise InputError(source, "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    return ArtifactDigest(name=path.name, sha256=hasher.hexdigest(), size=size)


def revision_digest(revision: str) -> dict[str, str]:
    """The in-toto digest set for a source revision.

    A git commit id (40 or 64 lowercase hex digits) is ``gitCommit``; an image
    or object digest ``sha256:<hex>`` is ``sha256``. Anything else is refused
    (``ValueError``): a revision that cannot be compared exactly proves nothing.
    """
    value = revision.strip().lower()
    if _GIT_COMMIT.match(value):
        return {"gitCommit": value}
    if match := _SHA256.match(value):
        return {"sha256": match.group(1)}
    raise ValueError(
        f"source revision `{revision[:80]}` is neither a git commit id (40 or 64 hex digits) "
        "nor sha256:<64 hex digits>"
    )


@dataclass(frozen=True, slots=True)
class BuildFacts:
    """What the provenance says about the build that made the artifact."""

    builder_id: str
    execution_id: str | None = None
    source_revision: str | None = None
    context: Mapping[str, str] | None = None


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _subject(artifact: ArtifactDigest) -> list[dict[str, Any]]:
    return [{"name": artifact.name, "digest": {"sha256": artifact.sha256}}]


def provenance_statement(
    artifact: ArtifactDigest,
    facts: BuildFacts,
    *,
    started: dt.datetime,
    finished: dt.datetime,
) -> dict[str, Any]:
    """An in-toto Statement v1 with a SLSA provenance v1 predicate for ``artifact``."""
    external: dict[str, Any] = {"pipeline": facts.builder_id}
    if facts.execution_id:
        external["executionId"] = facts.execution_id
    dependencies: list[dict[str, Any]] = []
    if facts.source_revision:
        dependencies.append({"name": "source", "digest": revision_digest(facts.source_revision)})
    build_definition: dict[str, Any] = {
        "buildType": BUILD_TYPE,
        "externalParameters": external,
        "resolvedDependencies": dependencies,
    }
    if facts.context:
        build_definition["internalParameters"] = dict(facts.context)
    metadata: dict[str, Any] = {
        "startedOn": _timestamp(started),
        "finishedOn": _timestamp(finished),
    }
    if facts.execution_id:
        metadata["invocationId"] = facts.execution_id
    return {
        "_type": STATEMENT_V1,
        "subject": _subject(artifact),
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": build_definition,
            "runDetails": {"builder": {"id": facts.builder_id}, "metadata": metadata},
        },
    }


def sbom_statement(artifact: ArtifactDigest, sbom: Mapping[str, Any]) -> dict[str, Any]:
    """An in-toto Statement v1 whose predicate is the CycloneDX document ``sbom``."""
    return {
        "_type": STATEMENT_V1,
        "subject": _subject(artifact),
        "predicateType": CYCLONEDX_PREDICATE_TYPE,
        "predicate": dict(sbom),
    }


def load_sbom(path: Path, *, read: Callable[[Path, int], bytes] | None = None) -> dict[str, Any]:
    """Read a CycloneDX JSON document (at most 64 MiB); InputError when it is not one."""
    source = str(path)
    data = (read or _read_limited)(path, MAX_SBOM_BYTES)
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(source, "not UTF-8") from None
    except RecursionError:
        raise InputError(source, "JSON nested too deeply") from None
    except ValueError as exc:
        raise InputError(source, f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("bomFormat") != "CycloneDX":
        raise InputError(source, 'not a CycloneDX JSON document (no "bomFormat": "CycloneDX")')
    if not isinstance(doc.get("specVersion"), str):
        raise InputError(source, "CycloneDX document without a specVersion")
    return doc


def _read_limited(path: Path, limit: int) -> bytes:
    source = str(path)
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(source, "no such file") from None
    except IsADirectoryError:
        raise InputError(source, "is a directory, not a file") from None
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(source, f"larger than {limit >> 20} MiB")
    return data
