"""Closed loop: scanning the output of `fix` shows every rule it claims to fix passing,
and no rule that passed before failing after, for every example and rule fixture.

Each input is fixed in its own format (a patched template or module, update-pipeline
JSON otherwise) and as update-pipeline JSON; the Terraform and CloudFormation
conversions of other inputs run on the examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from remediate_inputs import (
    all_inputs,
    example_inputs,
    fix,
    fixed_inventories,
    inventory_of,
    label,
    natural_format,
    statuses,
)


def _check(path: Path, fmt: str) -> list[str]:
    before = statuses([inventory_of(path)])
    out = fix(path, fmt)
    after = statuses(list(fixed_inventories(out, path)))
    problems = []
    names = {p.name for p in out.plan.pipelines}
    for pipeline in out.plan.pipelines:
        for rule in sorted(pipeline.claims_for(fmt)):
            status = after.get((pipeline.name, rule))
            if status != "pass":
                problems.append(f"{pipeline.name}: claims {rule} fixed, but it is {status}")
    for (name, rule), status in sorted(before.items()):
        if name in names and status == "pass" and after.get((name, rule)) == "fail":
            problems.append(f"{name}: {rule} passed before and fails after")
    return problems


@pytest.mark.parametrize("path", all_inputs(), ids=label)
def test_natural_format_closes_the_loop(path: Path) -> None:
    assert _check(path, natural_format(path)) == []


@pytest.mark.parametrize("path", all_inputs(), ids=label)
def test_pipeline_json_closes_the_loop(path: Path) -> None:
    assert _check(path, "pipeline-json") == []


@pytest.mark.parametrize("fmt", ["cloudformation", "terraform"])
@pytest.mark.parametrize("path", example_inputs(), ids=label)
def test_conversions_close_the_loop(path: Path, fmt: str) -> None:
    assert _check(path, fmt) == []


def test_the_loop_is_not_empty() -> None:
    """The examples really are fixed: the weak ones lose most of their failures."""
    claimed: set[str] = set()
    for path in example_inputs():
        out = fix(path, natural_format(path))
        for pipeline in out.plan.pipelines:
            claimed |= pipeline.claims_for(out.format)
    expected = {
        "PW101",
        "PW102",
        "PW104",
        "PW201",
        "PW202",
        "PW203",
        "PW204",
        "PW206",
        "PW301",
        "PW306",
        "PW401",
        "PW402",
        "PW403",
        "PW405",
        "PW602",
        "PW702",
    }
    assert expected <= claimed
