"""What a reachability analysis reports: one finding per (vulnerability, package version)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from pipewarden.model.values import JsonValue

__all__ = ["NOT_AFFECTED", "Finding", "Frame", "ReachReport", "Severity", "Tier"]


class Tier(StrEnum):
    """Verdict tiers, from the most to the least certain."""

    NOT_INSTALLED = "not-installed"
    NOT_IMPORTED = "not-imported"
    SYMBOL_NOT_REFERENCED = "symbol-not-referenced"
    NO_CALL_PATH = "no-call-path"
    REACHABLE = "reachable"
    UNKNOWN = "unknown"

    @property
    def not_affected(self) -> bool:
        """Whether the tier clears the finding."""
        return self in NOT_AFFECTED


NOT_AFFECTED: Final = frozenset(
    {Tier.NOT_INSTALLED, Tier.NOT_IMPORTED, Tier.SYMBOL_NOT_REFERENCED, Tier.NO_CALL_PATH}
)


@dataclass(frozen=True, slots=True)
class Frame:
    """One step of a path: a function (``module:qualname``) at a file and line.

    ``line`` is where this frame calls (or imports, or instantiates) the next
    one; for the last frame, where the vulnerable symbol is defined. ``edge``
    says how the next frame is reached (``call``, ``import``, ``instantiate``,
    ``property``, ``by-name``, ``escape``, ``dynamic`` ...).
    """

    function: str
    file: str | None
    line: int | None
    edge: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "function": self.function,
            "file": self.file,
            "line": self.line,
        }
        if self.edge is not None:
            out["edge"] = self.edge
        return out


@dataclass(frozen=True, slots=True)
class Severity:
    """A vulnerability's severity: a CVSS base score when the record has a vector."""

    score: float | None
    label: str  # critical | high | medium | low | none | unknown
    vector: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """The verdict for one vulnerability in one package version of the artifact."""

    vulnerability: str
    aliases: tuple[str, ...]
    summary: str
    package: str
    version: str | None
    purl: str
    tier: Tier
    reason: str
    justification: str | None = None
    """OpenVEX justification for a not-affected tier."""
    path: tuple[Frame, ...] = ()
    evidence: Mapping[str, JsonValue] = field(default_factory=dict)
    severity: Severity = field(default_factory=lambda: Severity(None, "unknown"))
    fixed: tuple[str, ...] = ()
    symbol_data: bool = False
    version_source: str = ""
    priority: str = "none"
    references: tuple[str, ...] = ()
    deployed_to_production: bool | None = None
    """Whether a production deploy takes the artifact (None: no deployment data, or the
    finding is not affected)."""

    @property
    def not_affected(self) -> bool:
        return self.tier.not_affected

    @property
    def version_matched(self) -> bool:
        """Whether the installed version is in the vulnerable range (or cannot be told)."""
        return self.tier is not Tier.NOT_INSTALLED


@dataclass(frozen=True, slots=True)
class ReachReport:
    """The result of ``pipewarden reach``."""

    artifact: str
    findings: tuple[Finding, ...]
    entry_points: tuple[str, ...]
    whole_application: bool
    notes: tuple[str, ...] = ()
    stats: Mapping[str, JsonValue] = field(default_factory=dict)
    deployment: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def version_matched(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.version_matched)

    @property
    def noise_cut(self) -> float | None:
        """The share of version-matched findings marked not affected (None without any)."""
        matched = self.version_matched
        if not matched:
            return None
        return sum(1 for f in matched if f.not_affected) / len(matched)

    def counts(self) -> dict[str, int]:
        out = {tier.value: 0 for tier in Tier}
        for finding in self.findings:
            out[finding.tier.value] += 1
        return out
