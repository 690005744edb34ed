"""Every dev advisory: an application reaching the vulnerable code through a non-trivial path
is reported reachable with its path; one that only installs or imports the package is not."""

from __future__ import annotations

import json

import pytest
from cases import CASES, DEV_SYMBOLS, Case

from pipewarden.reach.model import ReachReport, Tier

_SYMBOLS: dict[str, set[str]] = {}
for _record in json.loads(DEV_SYMBOLS.read_text()):
    for _affected in _record["affected"]:
        for _item in _affected["ecosystem_specific"]["imports"]:
            _SYMBOLS.setdefault(_record["id"], set()).update(
                f"{_item['path']}:{name}" for name in _item["symbols"]
            )


def _finding(report: ReachReport, advisory: str):  # type: ignore[no-untyped-def]
    found = [f for f in report.findings if f.vulnerability == advisory]
    assert len(found) == 1, [f.vulnerability for f in report.findings]
    return found[0]


def test_every_dev_advisory_has_a_pair() -> None:
    assert {c.advisory for c in CASES} == set(_SYMBOLS)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.advisory)
def test_reaching_app_is_reachable_with_its_path(case: Case, advisory_reports) -> None:  # type: ignore[no-untyped-def]
    finding = _finding(advisory_reports[(case.advisory, "reaching")], case.advisory)
    assert finding.tier is Tier.REACHABLE, finding.reason
    assert not finding.not_affected
    path = finding.path
    assert len(path) >= 3
    # The path starts at the entry point and runs through the application; every
    # function frame names its file and line ...
    assert path[0].function.startswith("entry point app:")
    assert any(frame.file == "app.py" and frame.line for frame in path[1:])
    assert all(frame.line for frame in path[1:] if frame.file)
    # ... and ends at a vulnerable or derived symbol of the advisory.
    assert path[-1].function in _SYMBOLS[case.advisory] or any(
        path[-1].function.startswith(symbol + ".") for symbol in _SYMBOLS[case.advisory]
    ), path[-1].function
    assert path[-1].function == case.reaches
    assert finding.justification is None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.advisory)
def test_quiet_app_is_not_reported_reachable(case: Case, advisory_reports) -> None:  # type: ignore[no-untyped-def]
    finding = _finding(advisory_reports[(case.advisory, "quiet")], case.advisory)
    assert finding.tier.value == case.quiet_tier, finding.reason
    assert finding.tier is not Tier.REACHABLE
    if finding.not_affected:
        assert finding.justification == "vulnerable_code_not_in_execute_path"
        assert finding.version_matched


def test_no_reaching_app_is_ever_marked_not_affected(advisory_reports) -> None:  # type: ignore[no-untyped-def]
    wrong = [
        (case.advisory, f.vulnerability)
        for case in CASES
        for f in advisory_reports[(case.advisory, "reaching")].findings
        if f.vulnerability == case.advisory and f.not_affected
    ]
    assert wrong == []


def test_other_installed_packages_get_verdicts_too(advisory_reports) -> None:  # type: ignore[no-untyped-def]
    # The requests apps also install urllib3 and idna at vulnerable versions: every
    # version-matched package gets a verdict, cleared when the app never reaches it.
    report = advisory_reports[("PYSEC-2023-74", "quiet")]
    urllib3 = [f for f in report.findings if f.package == "urllib3" and f.version_matched]
    assert urllib3
    assert all(f.tier is not Tier.REACHABLE for f in urllib3)
    assert report.noise_cut is not None
