"""What rules produce (Finding) and what the engine reports (Result)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pipewarden.model.location import Loc

__all__ = ["Finding", "Location", "Result", "Severity", "Status", "fingerprint"]


class Severity(StrEnum):
    """Finding severity, lowest to highest."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Status(StrEnum):
    """Tri-state result: unknown is never pass."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation by a rule: a failure or missing evidence, at a location."""

    status: Status
    loc: Loc
    message: str
    stage: str | None = None
    action: str | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Location:
    """A reported location: symbolic (subject + pointer) and, for files, concrete."""

    subject: str
    pointer: str
    file: str | None = None
    line: int | None = None
    column: int | None = None

    @property
    def logical(self) -> str:
        return f"{self.subject}#{self.pointer}"


@dataclass(frozen=True, slots=True)
class Result:
    """One rule result for one pipeline (pass, fail or unknown), ready to report."""

    rule_id: str
    slug: str
    title: str
    severity: Severity
    status: Status
    pipeline: str
    location: Location
    message: str
    pipeline_arn: str | None = None
    account: str | None = None
    region: str | None = None
    stage: str | None = None
    action: str | None = None
    evidence: Mapping[str, str] = field(default_factory=dict)
    suppressed: str | None = None  # the suppression's reason, when suppressed
    # The pipeline declaration's own location (``subject#pointer``): unique per pipeline
    # in a scan, so reports can group results of pipelines that share a name.
    pipeline_ref: str | None = None

    @property
    def fingerprint(self) -> str:
        """Stable identity: sha256 over rule id, subject and pointer (see :func:`fingerprint`)."""
        return fingerprint(self.rule_id, self.location.subject, self.location.pointer)


def fingerprint(rule_id: str, subject: str, pointer: str) -> str:
    """Stable identity of a result across runs: sha256 over rule id, subject and pointer."""
    return hashlib.sha256(f"{rule_id}\x00{subject}\x00{pointer}".encode()).hexdigest()
