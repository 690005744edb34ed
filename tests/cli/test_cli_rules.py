"""``pipewarden rules``: list every rule, explain one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pipewarden.cli import main
from pipewarden.rules import RULES, rule_by_key
from pipewarden.rules._api import Rule

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str, **kwargs: Any) -> tuple[int, str, str]:
        kwargs.setdefault("environ", {})
        code = main(list(argv), **kwargs)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_list_every_rule(run: Run) -> None:
    code, out, err = run("rules")
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "SLUG", "SEVERITY", "TITLE"]
    for rule in RULES:
        row = next(line for line in lines if line.startswith(rule.meta.id + " "))
        assert row.split()[:3] == [rule.meta.id, rule.meta.slug, str(rule.meta.severity)]
        assert row.endswith(rule.meta.title)
    assert f"{len(RULES)} rules" in out


def test_list_as_json(run: Run) -> None:
    code, out, _ = run("rules", "--format", "json")
    assert code == 0
    listed = json.loads(out)["rules"]
    assert [r["id"] for r in listed] == sorted(r.meta.id for r in RULES)
    v1 = next(r for r in listed if r["id"] == "PW401")
    assert v1["slug"] == "pipeline-v1"
    assert v1["cicd_sec"] == ["CICD-SEC-1"]
    assert v1["help_uri"].endswith("/docs/rules/pipeline-v1.md")


@pytest.mark.parametrize("key", ["PW401", "pw401", "pipeline-v1"])
def test_explain_by_id_or_slug(run: Run, key: str) -> None:
    code, out, _ = run("rules", key)
    assert code == 0
    assert out.startswith("PW401 pipeline-v1: Pipeline is type V1")
    assert "severity:   medium" in out
    assert "CICD-SEC-1 Insufficient Flow Control Mechanisms" in out
    assert "FSBP:" in out
    for heading in ("Rationale", "Remediation", "References"):
        assert f"\n{heading}\n" in out
    assert "A pipeline\n  whose type is not stated is V1." in out  # rationale body, indented
    assert "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipeline-types.html" in out
    # Examples come from the bundled fixtures when present.
    assert "\nFailing example\n" in out or "(no example)" in out


def test_explain_as_json(run: Run) -> None:
    code, out, _ = run("rules", "pipeline-v1", "-f", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["id"] == "PW401"
    assert doc["owasp"][0]["id"] == "CICD-SEC-1"
    assert doc["owasp"][0]["title"] == "Insufficient Flow Control Mechanisms"
    assert "V2" in doc["remediation"]
    assert doc["rationale"]
    if doc["examples"] is not None:
        assert '"pipelineType": "V2"' in doc["examples"]["pass"]


def test_explain_a_rule_without_examples(run: Run) -> None:
    base = rule_by_key("PW401")
    assert base is not None
    custom = Rule(
        base.meta.__class__(
            id="PW990",
            slug="test-no-examples",
            title="A rule without examples",
            severity=base.meta.severity,
            cicd_sec=base.meta.cicd_sec,
        ),
        base.check,
        "Summary line.\n\n## Rationale\nWhy.\n\n## Remediation\nHow.\n",
    )
    code, out, _ = run("rules", "PW990", rules=[custom])
    assert code == 0
    assert "Examples\n  (no example)" in out
    assert "Rationale\n  Why." in out
    assert "Remediation\n  How." in out


def test_explain_unknown_rule(run: Run) -> None:
    code, out, err = run("rules", "PW000")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pipewarden: error: unknown rule `PW000`")
