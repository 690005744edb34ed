"""CVSS base scores from vectors, and severity labels.

CVSS 3.0/3.1 scores follow the specification's formulas. CVSS 4.0 scores
follow the specification's MacroVector method: the vector falls in one of 270
equivalence classes, each scored by FIRST's expert-rated table; the score is
the class's value, lowered in proportion to how far the vector sits below the
class's most severe vectors, then rounded half up to one decimal. Threat and
environmental metrics are honoured when present (``E`` and the security
requirements default to their worst case, as the specification says), and
supplemental metrics do not change the score.

A vector that does not parse (a missing or repeated base metric, an unknown
value, a wrong prefix) has no score; the record's textual severity is then
used, else the severity is ``unknown``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import product
from typing import Final

from pipewarden.reach.model import Severity

__all__ = ["base_score", "label_for", "nominal_score", "severity_of"]

_AV: Final = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC: Final = {"L": 0.77, "H": 0.44}
_PR_U: Final = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_C: Final = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI: Final = {"N": 0.85, "R": 0.62}
_CIA: Final = {"H": 0.56, "L": 0.22, "N": 0.0}
_V3_BASE: Final = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")
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


def _metrics(parts: list[str], allowed: dict[str, frozenset[str]]) -> dict[str, str] | None:
    """``KEY:VALUE`` pairs, or None when one is malformed, unknown or repeated."""
    metrics: dict[str, str] = {}
    for part in parts:
        if not part:
            continue  # a trailing slash
        key, sep, value = part.partition(":")
        if not sep or key in metrics or value not in allowed.get(key, ()):
            return None
        metrics[key] = value
    return metrics


_V3_VALUES: Final = {
    "AV": frozenset("NALP"),
    "AC": frozenset("LH"),
    "PR": frozenset("NLH"),
    "UI": frozenset("NR"),
    "S": frozenset("UC"),
    "C": frozenset("HLN"),
    "I": frozenset("HLN"),
    "A": frozenset("HLN"),
    # temporal and environmental metrics: accepted, not used for the base score
    "E": frozenset("XUPFH"),
    "RL": frozenset("XOTWU"),
    "RC": frozenset("XURC"),
    "CR": frozenset("XLMH"),
    "IR": frozenset("XLMH"),
    "AR": frozenset("XLMH"),
    "MAV": frozenset("XNALP"),
    "MAC": frozenset("XLH"),
    "MPR": frozenset("XNLH"),
    "MUI": frozenset("XNR"),
    "MS": frozenset("XUC"),
    "MC": frozenset("XHLN"),
    "MI": frozenset("XHLN"),
    "MA": frozenset("XHLN"),
}


def _v3_score(parts: list[str]) -> float | None:
    metrics = _metrics(parts, _V3_VALUES)
    if metrics is None or any(key not in metrics for key in _V3_BASE):
        return None
    scope_changed = metrics["S"] == "C"
    pr = (_PR_C if scope_changed else _PR_U)[metrics["PR"]]
    exploitability = 8.22 * _AV[metrics["AV"]] * _AC[metrics["AC"]] * pr * _UI[metrics["UI"]]
    iss = 1 - (1 - _CIA[metrics["C"]]) * (1 - _CIA[metrics["I"]]) * (1 - _CIA[metrics["A"]])
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
    if impact <= 0:
        return 0.0
    if scope_changed:
        return _roundup(min(1.08 * (impact + exploitability), 10))
    return _roundup(min(impact + exploitability, 10))


# -- CVSS 4.0 ---------------------------------------------------------------------------------

_V4_BASE: Final = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")
_V4_VALUES: Final = {
    "AV": frozenset("NALP"),
    "AC": frozenset("LH"),
    "AT": frozenset("NP"),
    "PR": frozenset("NLH"),
    "UI": frozenset("NPA"),
    "VC": frozenset("HLN"),
    "VI": frozenset("HLN"),
    "VA": frozenset("HLN"),
    "SC": frozenset("HLN"),
    "SI": frozenset("HLN"),
    "SA": frozenset("HLN"),
    "E": frozenset("XAPU"),
    "CR": frozenset("XHML"),
    "IR": frozenset("XHML"),
    "AR": frozenset("XHML"),
    "MAV": frozenset("XNALP"),
    "MAC": frozenset("XLH"),
    "MAT": frozenset("XNP"),
    "MPR": frozenset("XNLH"),
    "MUI": frozenset("XNPA"),
    "MVC": frozenset("XHLN"),
    "MVI": frozenset("XHLN"),
    "MVA": frozenset("XHLN"),
    "MSC": frozenset("XHLN"),
    "MSI": frozenset("XSHLN"),
    "MSA": frozenset("XSHLN"),
    "S": frozenset("XNP"),
    "AU": frozenset("XNY"),
    "R": frozenset("XAUI"),
    "V": frozenset("XDC"),
    "RE": frozenset("XLMH"),
    "U": frozenset(("X", "Clear", "Green", "Amber", "Red")),
}

# FIRST's score for each MacroVector (CVSS v4.0 specification, section 8), in the order of
# the MacroVectors' digits EQ1..EQ6 (EQ3 = 2 only occurs with EQ6 = 1); one line per EQ3 level.
_V4_SCORES: Final = """
    10 9.9 9.8 9.5 9.5 9.2 10 9.6 9.3 8.7 9.1 8.1 9.3 9 8.9 8 8.1 6.8
    9.8 9.5 9.5 9.2 9 8.4 9.3 9.2 8.9 8.1 8.1 6.5 8.8 8 7.8 7 6.9 4.8
    9.2 8.2 7.2 7.9 6.9 5 6.9 5.5 2.7
    9.9 9.7 9.5 9.2 9.2 8.5 9.5 9.1 9 8.3 8.4 7.1 9.2 8.1 8.2 7.1 7.2 5.3
    9.5 9.3 9.2 8.5 8.5 7.3 9.2 8.2 8 7.2 7 5.9 8.4 7 7.1 5.2 5 3
    8.6 7.5 5.2 7.1 5.2 2.9 6.3 2.9 1.7
    9.8 9.5 9.4 8.7 9.1 8.1 9.4 8.9 8.6 7.4 7.7 6.4 8.7 7.5 7.4 6.3 6.3 4.9
    9.4 8.9 8.8 7.7 7.6 6.7 8.6 7.6 7.4 5.8 5.9 5 7.2 5.7 5.7 5.2 5.2 2.5
    8.3 7 5.4 6.5 5.8 2.6 5.3 2.1 1.3
    9.5 9 8.8 7.6 7.6 7 9 7.7 7.5 6.2 6.1 5.3 7.7 6.6 6.8 5.9 5.2 3
    8.9 7.8 7.6 6.7 6.2 5.8 7.4 5.9 5.7 5.7 4.7 2.3 6.1 5.2 5.7 2.9 2.4 1.6
    7.1 5.9 3 5.8 2.6 1.5 2.3 1.3 0.6
    9.3 8.7 8.6 7.2 7.5 5.8 8.6 7.4 7.4 6.1 5.6 3.4 7 5.4 5.2 4 4 2.2
    8.5 7.5 7.4 5.5 6.2 5.1 7.2 5.7 5.5 4.1 4.6 1.9 5.3 3.6 3.4 1.9 1.9 0.8
    6.4 5.1 2 4.7 2.1 1.1 2.4 0.9 0.4
    8.8 7.5 7.3 5.3 6 5 7.3 5.5 5.9 4 4.1 2 5.4 4.3 4.5 2.2 2 1.1
    7.5 5.5 5.8 4.5 4 2.1 6.1 5.1 4.8 1.8 2 0.9 4.6 1.8 1.7 0.7 0.8 0.2
    5.3 2.4 1.4 2.4 1.2 0.5 1 0.3 0.1
"""


def _macrovectors() -> list[str]:
    return [
        "".join(str(d) for d in digits)
        for digits in product(range(3), range(2), range(3), range(3), range(3), range(2))
        if not (digits[2] == 2 and digits[5] == 0)
    ]


_V4_TABLE: Final[dict[str, float]] = dict(
    zip(_macrovectors(), (float(v) for v in _V4_SCORES.split()), strict=True)
)

# Severity order of each metric's values within an EQ (0 = most severe), in tenths.
_V4_LEVELS: Final[dict[str, dict[str, float]]] = {
    "AV": {"N": 0.0, "A": 0.1, "L": 0.2, "P": 0.3},
    "PR": {"N": 0.0, "L": 0.1, "H": 0.2},
    "UI": {"N": 0.0, "P": 0.1, "A": 0.2},
    "AC": {"L": 0.0, "H": 0.1},
    "AT": {"N": 0.0, "P": 0.1},
    "VC": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VI": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VA": {"H": 0.0, "L": 0.1, "N": 0.2},
    "SC": {"H": 0.1, "L": 0.2, "N": 0.3},
    "SI": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "SA": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "CR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "IR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "AR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "E": {"A": 0.0, "P": 0.1, "U": 0.2},
}

# The most severe vectors of each EQ level (for EQ3, per EQ6 level), as metric settings.
_V4_HIGHEST: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "eq1": {
        "0": ("AV:N/PR:N/UI:N",),
        "1": ("AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"),
        "2": ("AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"),
    },
    "eq2": {"0": ("AC:L/AT:N",), "1": ("AC:H/AT:N", "AC:L/AT:P")},
    "eq3eq6": {
        "00": ("VC:H/VI:H/VA:H/CR:H/IR:H/AR:H",),
        "01": ("VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"),
        "10": ("VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"),
        "11": (
            "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
            "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
            "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
            "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
            "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
        ),
        "21": ("VC:L/VI:L/VA:L/CR:H/IR:H/AR:H",),
    },
    "eq4": {"0": ("SC:H/SI:S/SA:S",), "1": ("SC:H/SI:H/SA:H",), "2": ("SC:L/SI:L/SA:L",)},
    "eq5": {"0": ("E:A",), "1": ("E:P",), "2": ("E:U",)},
}

# Depth of each EQ level, in steps of 0.1 (how far its least severe vector sits).
_V4_DEPTH: Final[dict[str, dict[str, int]]] = {
    "eq1": {"0": 1, "1": 4, "2": 5},
    "eq2": {"0": 1, "1": 2},
    "eq3eq6": {"00": 7, "01": 6, "10": 8, "11": 8, "21": 10},
    "eq4": {"0": 6, "1": 5, "2": 4},
}


def _effective(metrics: dict[str, str], key: str) -> str:
    """A metric's value once modified metrics and worst-case defaults apply."""
    value = metrics.get(key, "X")
    if value == "X" and key == "E":
        return "A"
    if value == "X" and key in ("CR", "IR", "AR"):
        return "H"
    modified = metrics.get("M" + key, "X")
    return modified if modified != "X" else value


def _macrovector(m: dict[str, str]) -> str:
    av, pr, ui = m["AV"], m["PR"], m["UI"]
    if av == "N" and pr == "N" and ui == "N":
        eq1 = "0"
    elif (av == "N" or pr == "N" or ui == "N") and av != "P":
        eq1 = "1"
    else:
        eq1 = "2"
    eq2 = "0" if m["AC"] == "L" and m["AT"] == "N" else "1"
    if m["VC"] == "H" and m["VI"] == "H":
        eq3 = "0"
    elif "H" in (m["VC"], m["VI"], m["VA"]):
        eq3 = "1"
    else:
        eq3 = "2"
    if m["MSI"] == "S" or m["MSA"] == "S":
        eq4 = "0"
    elif "H" in (m["SC"], m["SI"], m["SA"]):
        eq4 = "1"
    else:
        eq4 = "2"
    eq5 = {"A": "0", "P": "1", "U": "2"}[m["E"]]
    high = (m["CR"] == "H" and m["VC"] == "H") or (m["IR"] == "H" and m["VI"] == "H")
    eq6 = "0" if high or (m["AR"] == "H" and m["VA"] == "H") else "1"
    return eq1 + eq2 + eq3 + eq4 + eq5 + eq6


def _v4_score(parts: list[str]) -> float | None:
    raw = _metrics(parts, _V4_VALUES)
    if raw is None or any(key not in raw for key in _V4_BASE):
        return None
    m = {key: _effective(raw, key) for key in _V4_LEVELS}
    # Only an explicit MSI/MSA of S (Safety) reaches EQ4 level 0.
    m["MSI"] = raw.get("MSI", "X")
    m["MSA"] = raw.get("MSA", "X")
    if all(m[key] == "N" for key in ("VC", "VI", "VA", "SC", "SI", "SA")):
        return 0.0
    macro = _macrovector(m)
    value = _V4_TABLE[macro]
    eq1, eq2, eq3, eq4, eq5, eq6 = (int(c) for c in macro)

    def lower(*digits: int) -> float | None:
        return _V4_TABLE.get("".join(str(d) for d in digits))

    below_eq1 = lower(eq1 + 1, eq2, eq3, eq4, eq5, eq6)
    below_eq2 = lower(eq1, eq2 + 1, eq3, eq4, eq5, eq6)
    if eq3 == 0 and eq6 == 0:
        options = [
            s
            for s in (lower(eq1, eq2, 0, eq4, eq5, 1), lower(eq1, eq2, 1, eq4, eq5, 0))
            if s is not None
        ]
        below_eq3eq6 = max(options) if options else None
    elif eq6 == 0:  # 10 -> 11
        below_eq3eq6 = lower(eq1, eq2, eq3, eq4, eq5, 1)
    else:  # 01 -> 11, 11 -> 21; 21 has nothing below
        below_eq3eq6 = lower(eq1, eq2, eq3 + 1, eq4, eq5, eq6)
    below_eq4 = lower(eq1, eq2, eq3, eq4 + 1, eq5, eq6)
    below_eq5 = lower(eq1, eq2, eq3, eq4, eq5 + 1, eq6)

    # Distance of the vector from the first most-severe vector of its MacroVector that is
    # at least as severe in every metric.
    distances: dict[str, float] = {}
    for combo in product(
        _V4_HIGHEST["eq1"][macro[0]],
        _V4_HIGHEST["eq2"][macro[1]],
        _V4_HIGHEST["eq3eq6"][macro[2] + macro[5]],
        _V4_HIGHEST["eq4"][macro[3]],
        _V4_HIGHEST["eq5"][macro[4]],
    ):
        highest = dict(item.split(":") for item in "/".join(combo).split("/"))
        distances = {
            key: _V4_LEVELS[key][m[key]] - _V4_LEVELS[key][highest[key]] for key in _V4_LEVELS
        }
        if all(d >= 0 for d in distances.values()):
            break
    d = distances
    step = 0.1
    parts_eq = (
        (below_eq1, d["AV"] + d["PR"] + d["UI"], _V4_DEPTH["eq1"][macro[0]] * step),
        (below_eq2, d["AC"] + d["AT"], _V4_DEPTH["eq2"][macro[1]] * step),
        (
            below_eq3eq6,
            d["VC"] + d["VI"] + d["VA"] + d["CR"] + d["IR"] + d["AR"],
            _V4_DEPTH["eq3eq6"].get(macro[2] + macro[5], 1) * step,
        ),
        (below_eq4, d["SC"] + d["SI"] + d["SA"], _V4_DEPTH["eq4"][macro[3]] * step),
    )
    total = 0.0
    existing = 0
    for below, distance, depth in parts_eq:
        if below is not None:
            existing += 1
            total += (value - below) * (distance / depth)
    if below_eq5 is not None:
        existing += 1  # EQ5 moves no score within a MacroVector, but counts in the mean
    mean = total / existing if existing else 0.0
    score = max(0.0, min(10.0, value - mean))
    return math.floor((score + 1e-6) * 10 + 0.5) / 10


def base_score(vector: str) -> float | None:
    """The base score of a CVSS 3.0, 3.1 or 4.0 ``vector``; None when it does not parse."""
    parts = vector.strip().split("/")
    prefix = parts[0]
    if prefix in ("CVSS:3.0", "CVSS:3.1"):
        return _v3_score(parts[1:])
    if prefix == "CVSS:4.0":
        return _v4_score(parts[1:])
    return None


def label_for(score: float) -> str:
    """The qualitative rating of a score (the same bands in CVSS 3 and 4)."""
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
    """The highest computable CVSS 3/4 score, else the record's textual severity.

    When a record carries several vectors (a v3.1 and a v4.0 one, or one per
    affected package), the highest score is kept: a reachability report should
    not understate the worst reading.
    """
    best: tuple[float, str] | None = None
    for kind, vector in scores:
        if not kind.startswith(("CVSS_V3", "CVSS_V4")):
            continue
        score = base_score(vector)
        if score is not None and (best is None or score > best[0]):
            best = (score, vector)
    if best is not None:
        return Severity(best[0], label_for(best[0]), best[1])
    if label is not None and label.strip().upper() in _LABELS:
        return Severity(None, _LABELS[label.strip().upper()])
    return Severity(None, "unknown")


def nominal_score(severity: Severity) -> float | None:
    """A score to rank by: the CVSS score, else a mid-band value for the label."""
    if severity.score is not None:
        return severity.score
    return _LABEL_SCORE.get(severity.label)
