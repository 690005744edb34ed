"""CVSS v3.x base scores from vectors (the specification's formula), and severity labels."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from pipewarden.reach.model import Severity

__all__ = ["base_score", "label_for", "severity_of"]

_AV: Final = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC: Final = {"L": 0.77, "H": 0.44}
_PR_U: Final = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_C: Final = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI: Final = {"N": 0.85, "R": 0.62}
_CIA: Final = {"H": 0.56, "L": 0.22, "N": 0.0}
_LABELS: Final = {
    "CRITICAL": "critical",
    "HIGH": "high",
    "MODERATE": "medium",
    "MEDIUM": "medium",
    "LOW": "low",
    "NONE": "none",
}
_LABEL_SCORE: Final = {"critical": 9.0, "high": 7.5, "medium": 5.5, "low": 3.0, "none": 0.0}


def _roundup(value: float) -> float:
    scaled = round(value * 100_000)
    if scaled % 10_000 == 0:
        return scaled / 100_000.0
    return (math.floor(scaled / 10_000) + 1) / 10.0


def base_score(vector: str) -> float | None:
    """The CVSS 3.0/3.1 base score of ``vector``; None when it is not a v3 base vector."""
    parts = vector.strip().split("/")
    if not parts or not parts[0].startswith("CVSS:3"):
        return None
    metrics: dict[str, str] = {}
    for part in parts[1:]:
        key, _, value = part.partition(":")
        metrics[key] = value
    try:
        scope_changed = metrics["S"] == "C"
        pr = (_PR_C if scope_changed else _PR_U)[metrics["PR"]]
        exploitability = 8.22 * _AV[metrics["AV"]] * _AC[metrics["AC"]] * pr * _UI[metrics["UI"]]
        iss = 1 - (1 - _CIA[metrics["C"]]) * (1 - _CIA[metrics["I"]]) * (1 - _CIA[metrics["A"]])
    except KeyError:
        return None
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
    if impact <= 0:
        return 0.0
    if scope_changed:
        return _roundup(min(1.08 * (impact + exploitability), 10))
    return _roundup(min(impact + exploitability, 10))


def label_for(score: float) -> str:
    if score == 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def severity_of(scores: Iterable[tuple[str, str]], label: str | None) -> Severity:
    """The highest computable CVSS v3 score, else the record's textual severity."""
    best: tuple[float, str] | None = None
    for kind, vector in scores:
        if not kind.startswith("CVSS_V3"):
            continue
        score = base_score(vector)
        if score is not None and (best is None or score > best[0]):
            best = (score, vector)
    if best is not None:
        return Severity(best[0], label_for(best[0]), best[1])
    if label is not None and label.upper() in _LABELS:
        text = _LABELS[label.upper()]
        return Severity(None, text)
    return Severity(None, "unknown")


def nominal_score(severity: Severity) -> float | None:
    """A score to rank by: the CVSS score, else a mid-band value for the label."""
    if severity.score is not None:
        return severity.score
    return _LABEL_SCORE.get(severity.label)
