"""The cross-account handoff check: does this artifact carry a fresh, signed provenance?

``verify_handoff`` reads an attestation file made by ``pipewarden attest``
(JSON Lines, one DSSE envelope per line) and accepts the artifact only when
every one of these holds, in this order (the first that fails is the reason):

1. the file is at most 100 MiB of UTF-8 JSON Lines with 1 to 16 envelopes;
2. every envelope verifies (:func:`pipewarden.attest.dsse.open_envelope`):
   exactly the DSSE fields, payload type ``application/vnd.in-toto+json``,
   exactly one signature, by the expected key, valid over the PAE;
3. every payload is an in-toto Statement v1 whose predicate type is SLSA
   provenance v1 or CycloneDX, with exactly one provenance statement and at
   most one SBOM statement;
4. the SHA-256 of the artifact (streamed) is a subject digest of every statement;
5. the provenance's builder id is the expected pipeline (when given);
6. the expected source revision is one of its resolved dependencies (when given);
7. its ``finishedOn`` time is no older than ``max_age`` and not in the future
   (beyond five minutes of clock skew).

A refusal raises :class:`HandoffRejected`: the reason, plus what was
established before it, for the evidence record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pipewarden.attest.dsse import VerificationError, open_envelope
from pipewarden.attest.statement import (
    CYCLONEDX_PREDICATE_TYPE,
    SLSA_PROVENANCE_V1,
    STATEMENT_V1,
    digest_artifact,
    revision_digest,
)
from pipewarden.errors import InputError

if TYPE_CHECKING:
    from securesystemslib.signer import Key

__all__ = [
    "MAX_ATTESTATION_BYTES",
    "MAX_ENVELOPES",
    "HandoffRejected",
    "HandoffRequirements",
    "format_duration",
    "parse_duration",
    "verify_handoff",
]

MAX_ATTESTATION_BYTES: Final = 100 << 20
MAX_ENVELOPES: Final = 16
CLOCK_SKEW: Final = dt.timedelta(minutes=5)
_HEX64: Final = re.compile(r"^[0-9a-f]{64}$")
_DURATION_PART: Final = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class HandoffRejected(VerificationError):
    """The artifact is not accepted. ``reason`` is why; ``evidence`` what was established."""

    def __init__(self, reason: str, evidence: dict[str, Any]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = evidence


def parse_duration(text: str) -> dt.timedelta:
    """``30m``, ``24h``, ``7d``, ``1h30m``, ``2w``: a positive duration; ValueError otherwise."""
    value = text.strip().lower()
    if not value or _DURATION_PART.sub("", value):
        raise ValueError(f"`{text}` is not a duration such as 30m, 24h, 7d or 1h30m")
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))
    if seconds <= 0:
        raise ValueError(f"`{text}` is not a positive duration")
    return dt.timedelta(seconds=seconds)


def format_duration(delta: dt.timedelta) -> str:
    """A duration as ``2d3h4m5s`` (zero parts left out; ``0s`` for zero)."""
    seconds = int(abs(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


@dataclass(frozen=True, slots=True)
class HandoffRequirements:
    """What the destination expects; ``None`` leaves a check out (and the record says so)."""

    expect_pipeline: str | None = None
    expect_source_revision: str | None = None
    max_age: dt.timedelta | None = dt.timedelta(hours=24)


@dataclass(slots=True)
class _Statement:
    index: int
    predicate_type: str
    subjects: list[tuple[str, str]]  # (name, sha256)
    predicate: dict[str, Any]


@dataclass(slots=True)
class _Run:
    evidence: dict[str, Any] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> HandoffRejected:
        self.evidence["checks_passed"] = list(self.checks)
        return HandoffRejected(reason, self.evidence)


def _read_attestation(path: Path) -> bytes:
    source = str(path)
    try:
        mode = path.stat().st_mode  # a FIFO would block open(): refuse it first
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(source)
        if not stat.S_ISREG(mode):
            raise InputError(source, "not a regular file")
        with path.open("rb") as fh:
            data = fh.read(MAX_ATTESTATION_BYTES + 1)
    except FileNotFoundError:
        raise InputError(source, "no such attestation file") from None
    except IsADirectoryError:
        raise InputError(source, "is a directory, not an attestation file") from None
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_ATTESTATION_BYTES:
        raise InputError(source, f"larger than {MAX_ATTESTATION_BYTES >> 20} MiB")
    return data


def _envelopes(data: bytes) -> list[Any]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("the attestation file is not UTF-8") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise VerificationError("the attestation file holds no envelope")
    if len(lines) > MAX_ENVELOPES:
        raise VerificationError(
            f"the attestation file holds {len(lines)} lines; at most {MAX_ENVELOPES} envelopes"
        )
    docs = []
    for number, line in enumerate(lines, start=1):
        try:
            docs.append(json.loads(line))
        except RecursionError:
            raise VerificationError(f"envelope {number} is nested too deeply") from None
        except ValueError as exc:
            raise VerificationError(f"envelope {number} is not JSON: {exc}") from None
    return docs


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise _DuplicateKey(key)
        doc[key] = value
    return doc


def _statement(index: int, payload: bytes) -> _Statement:
    where = f"statement {index}"
    try:
        doc = json.loads(payload.decode("utf-8"), object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise VerificationError(
            f"{where} repeats the key {json.dumps(exc.key)[:100]}: parsers disagree on which "
            "value counts"
        ) from None
    except (UnicodeDecodeError, RecursionError, ValueError):
        raise VerificationError(f"{where} payload is not UTF-8 JSON") from None
    if not isinstance(doc, dict):
        raise VerificationError(f"{where} is not a JSON object")
    if doc.get("_type") != STATEMENT_V1:
        shown = json.dumps(doc.get("_type"))[:100]
        raise VerificationError(f"{where} _type is {shown}, expected {json.dumps(STATEMENT_V1)}")
    predicate_type = doc.get("predicateType")
    if predicate_type not in (SLSA_PROVENANCE_V1, CYCLONEDX_PREDICATE_TYPE):
        shown = json.dumps(predicate_type)[:100]
        raise VerificationError(f"{where} has unexpected predicateType {shown}")
    predicate = doc.get("predicate")
    if not isinstance(predicate, dict):
        raise VerificationError(f"{where} has no predicate object")
    subject = doc.get("subject")
    if not isinstance(subject, list) or not subject:
        raise VerificationError(f"{where} has no subject")
    subjects: list[tuple[str, str]] = []
    for item in subject:
        digest = item.get("digest") if isinstance(item, dict) else None
        sha256 = digest.get("sha256") if isinstance(digest, dict) else None
        if isinstance(sha256, str) and _HEX64.match(sha256):
            name = item.get("name")
            subjects.append((name if isinstance(name, str) else "", sha256))
    if not subjects:
        raise VerificationError(f"{where} has no subject with a sha256 digest")
    return _Statement(index, str(predicate_type), subjects, predicate)


def _get(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            return None
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def _dependency_digests(predicate: dict[str, Any]) -> list[dict[str, str]]:
    found = []
    dependencies = _get(predicate, "buildDefinition", "resolvedDependencies")
    for dep in dependencies if isinstance(dependencies, list) else []:
        digest = dep.get("digest") if isinstance(dep, dict) else None
        if isinstance(digest, dict):
            found.append({k: v for k, v in digest.items() if isinstance(v, str)})
    return found


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def verify_handoff(
    artifact: Path,
    attestation: Path,
    key: Key,
    requirements: HandoffRequirements,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    key_source: str | None = None,
) -> dict[str, Any]:
    """Verify ``artifact`` against ``attestation`` with ``key``; the evidence on success.

    Raises :class:`HandoffRejected` (reason and partial evidence) on any failure,
    including an unreadable or malformed attestation or artifact.
    """
    run = _Run()
    run.evidence["artifact"] = {"path": str(artifact)}
    run.evidence["attestation"] = {"path": str(attestation)}
    run.evidence["key_id"] = key.keyid
    if key_source:
        run.evidence["key_source"] = key_source
    try:
        return _verify(run, artifact, attestation, key, requirements, clock or _system_clock)
    except HandoffRejected:
        raise
    except (VerificationError, InputError) as exc:
        raise run.reject(exc.diagnostics()) from None


def _verify(
    run: _Run,
    artifact: Path,
    attestation: Path,
    key: Key,
    req: HandoffRequirements,
    clock: Callable[[], dt.datetime],
) -> dict[str, Any]:
    ev = run.evidence
    data = _read_attestation(attestation)
    ev["attestation"]["sha256"] = hashlib.sha256(data).hexdigest()
    docs = _envelopes(data)
    ev["attestation"]["envelopes"] = len(docs)
    payloads = [open_envelope(doc, key, where=f"envelope {n}") for n, doc in enumerate(docs, 1)]
    run.checks.append("signature")

    statements = [_statement(n, payload) for n, payload in enumerate(payloads, 1)]
    ev["statements"] = [s.predicate_type for s in statements]
    provenance = [s for s in statements if s.predicate_type == SLSA_PROVENANCE_V1]
    sboms = [s for s in statements if s.predicate_type == CYCLONEDX_PREDICATE_TYPE]
    if len(provenance) != 1:
        raise VerificationError(
            f"the attestation holds {len(provenance)} SLSA provenance statements; exactly one "
            "is required"
        )
    if len(sboms) > 1:
        raise VerificationError(f"the attestation holds {len(sboms)} SBOM statements; at most one")
    run.checks.append("statement")

    digest = digest_artifact(artifact)
    ev["artifact"].update(name=digest.name, sha256=digest.sha256, size=digest.size)
    for statement in statements:
        if digest.sha256 not in {sha for _, sha in statement.subjects}:
            name, sha = statement.subjects[0]
            raise VerificationError(
                f"statement {statement.index} ({statement.predicate_type}) is for "
                f"{json.dumps(name)[:100]} sha256:{sha}, not for this artifact "
                f"(sha256:{digest.sha256})"
            )
    run.checks.append("subject")

    predicate = provenance[0].predicate
    builder_id = _get(predicate, "runDetails", "builder", "id")
    if not isinstance(builder_id, str) or not builder_id:
        raise VerificationError("the provenance has no runDetails.builder.id")
    ev["builder_id"] = builder_id
    execution_id = _get(predicate, "runDetails", "metadata", "invocationId")
    if isinstance(execution_id, str):
        ev["execution_id"] = execution_id
    dependencies = _dependency_digests(predicate)
    ev["source_revisions"] = [v for d in dependencies for v in d.values()]
    if sboms:
        bom = sboms[0].predicate
        components = bom.get("components")
        ev["sbom"] = {
            "attached": True,
            "spec_version": str(bom.get("specVersion", "")),
            "components": len(components) if isinstance(components, list) else 0,
        }
    else:
        ev["sbom"] = {"attached": False}

    if req.expect_pipeline is not None:
        if builder_id != req.expect_pipeline:
            raise VerificationError(
                f"built by {json.dumps(builder_id)[:300]}, not by the expected pipeline "
                f"{req.expect_pipeline}"
            )
        run.checks.append("builder")
    if req.expect_source_revision is not None:
        try:
            wanted = revision_digest(req.expect_source_revision)
        except ValueError as exc:
            raise VerificationError(f"expected {exc}") from None
        if not any(d.get(k) == v for d in dependencies for k, v in wanted.items()):
            found = ", ".join(ev["source_revisions"])[:300] or "none"
            raise VerificationError(
                f"source revision {req.expect_source_revision} is not the attested one "
                f"(attested: {found})"
            )
        run.checks.append("source_revision")

    metadata = _get(predicate, "runDetails", "metadata")
    raw_time = _get(metadata, "finishedOn") or _get(metadata, "startedOn")
    attested_at = _timestamp(raw_time)
    if attested_at is not None:
        ev["attested_at"] = attested_at.isoformat().replace("+00:00", "Z")
    if req.max_age is not None:
        if attested_at is None:
            raise VerificationError(
                "the provenance has no valid runDetails.metadata.finishedOn time; freshness "
                "cannot be judged"
            )
        now = clock()
        age = now - attested_at
        ev["age_seconds"] = int(age.total_seconds())
        if age < -CLOCK_SKEW:
            raise VerificationError(
                f"the attestation time {ev['attested_at']} is {format_duration(age)} in the future"
            )
        if age > req.max_age:
            raise VerificationError(
                f"the attestation is {format_duration(age)} old, older than the maximum age "
                f"{format_duration(req.max_age)} (made {ev['attested_at']})"
            )
        run.checks.append("freshness")
    ev["checks_passed"] = list(run.checks)
    return ev
