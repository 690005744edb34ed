"""Severity: CVSS 3.x and 4.0 base scores against published scores, and textual labels."""

from __future__ import annotations

import pytest
from cases import OSV_DIR

from pipewarden.reach._cvss import base_score, label_for, nominal_score, severity_of
from pipewarden.reach._osv import load_osv
from pipewarden.reach.model import Severity


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        # Scores as published by NVD / GitHub for these vectors.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.5),  # CVE-2024-34069
        ("CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.4),  # CVE-2024-37891
        ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:H/I:H/A:N", 5.6),  # CVE-2024-35195
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4),  # CVE-2024-22195
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N", 8.1),  # CVE-2023-43804
        ("CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.2),  # CVE-2023-45803
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),  # CVE-2024-3651
        ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        # Temporal and environmental metrics do not change the base score.
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C/CR:L", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", 9.8),  # a trailing slash
    ],
)
def test_cvss3_base_scores(vector: str, score: float) -> None:
    assert base_score(vector) == score


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        # CVSS-B scores as published by FIRST's calculator, NVD and GitHub.
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7),
        ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 6.9),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.1),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0),
    ],
)
def test_cvss4_base_scores(vector: str, score: float) -> None:
    assert base_score(vector) == score


def test_cvss4_threat_and_environmental_metrics_apply() -> None:
    base = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
    # Not defined (X) means the worst case: the base score.
    assert base_score(base + "/E:X/CR:X/MAV:X") == 9.3
    assert base_score(base + "/E:A") == 9.3
    # Scores as FIRST's calculator gives them (CVSS-BT and CVSS-BE).
    assert base_score(base + "/E:P") == 8.9
    assert base_score(base + "/E:U") == 8.1
    assert base_score(base + "/MAV:L") == 8.6
    assert base_score(base + "/CR:L/IR:L/AR:L") == 8.9
    # Safety impact on the subsequent system raises it to the top class.
    assert base_score(base + "/MSI:S") == 10.0
    # Supplemental metrics carry no weight.
    assert base_score(base + "/S:P/AU:Y/R:I/V:C/RE:H/U:Red") == 9.3


@pytest.mark.parametrize(
    "vector",
    [
        "",
        "AV:N/AC:L/Au:N/C:P/I:P/A:P",  # CVSS v2
        "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",  # A missing
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:N",  # repeated
        "CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # unknown value
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1",  # unknown metric
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/AH",
        "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",  # SA missing
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",  # S only as MSI
        "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # a v3 vector under the v4 prefix
        "CVSS:4.1/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    ],
)
def test_vectors_that_do_not_parse_have_no_score(vector: str) -> None:
    assert base_score(vector) is None


@pytest.mark.parametrize(
    ("score", "label"),
    [(0.0, "none"), (0.1, "low"), (3.9, "low"), (4.0, "medium"), (6.9, "medium"),
     (7.0, "high"), (8.9, "high"), (9.0, "critical"), (10.0, "critical")],
)  # fmt: skip
def test_qualitative_bands(score: float, label: str) -> None:
    assert label_for(score) == label


_V3 = "CVSS:3.1/AV:N/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N"  # 4.4
_V4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"  # 9.3


def test_severity_takes_the_highest_score_of_any_version() -> None:
    assert severity_of([("CVSS_V3", _V3), ("CVSS_V4", _V4)], "LOW") == Severity(
        9.3, "critical", _V4
    )
    assert severity_of([("CVSS_V4", _V4), ("CVSS_V3", _V3)], None).vector == _V4
    assert severity_of([("CVSS_V3", _V3)], "CRITICAL") == Severity(4.4, "medium", _V3)


def test_severity_falls_back_to_the_label() -> None:
    broken = [("CVSS_V3", "CVSS:3.1/AV:N"), ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P")]
    assert severity_of(broken, "MODERATE") == Severity(None, "medium")
    assert severity_of([], " high ") == Severity(None, "high")
    assert severity_of([("Ubuntu", "high")], None) == Severity(None, "unknown")
    assert severity_of([], "SEVERE") == Severity(None, "unknown")
    # The score type must say CVSS: an Ubuntu priority is not a vector.
    assert severity_of([("Ubuntu", _V4)], None) == Severity(None, "unknown")


def test_nominal_score_ranks_labels_inside_their_band() -> None:
    assert nominal_score(Severity(4.4, "medium", _V3)) == 4.4
    for label in ("critical", "high", "medium", "low", "none"):
        score = nominal_score(Severity(None, label))
        assert score is not None
        assert label_for(score) == label
    assert nominal_score(Severity(None, "unknown")) is None


def test_real_records_severity() -> None:
    vulns = {v.id: v for v in load_osv([OSV_DIR], [])}
    got = {
        ident: severity_of(vulns[ident].severity, vulns[ident].severity_label)
        for ident in (
            "GHSA-2g68-c3qc-8985",
            "GHSA-34jh-p97f-mpxf",
            "GHSA-9wx4-h78v-vm56",
            "GHSA-h5c8-rqwp-cp95",
            "PYSEC-2023-192",
            "PYSEC-2023-212",
            "PYSEC-2024-24",
            "PYSEC-2018-28",
        )
    }
    assert {k: (s.score, s.label) for k, s in got.items()} == {
        "GHSA-2g68-c3qc-8985": (7.5, "high"),  # GitHub: HIGH
        "GHSA-34jh-p97f-mpxf": (4.4, "medium"),  # GitHub: MODERATE
        "GHSA-9wx4-h78v-vm56": (5.6, "medium"),
        "GHSA-h5c8-rqwp-cp95": (5.4, "medium"),
        "PYSEC-2023-192": (8.1, "high"),
        "PYSEC-2023-212": (4.2, "medium"),
        "PYSEC-2024-24": (7.5, "high"),
        "PYSEC-2018-28": (None, "unknown"),  # no severity in the record
    }
    assert vulns["GHSA-2g68-c3qc-8985"].severity_label == "HIGH"
