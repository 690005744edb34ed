"""``pipewarden demo``: the real live path against the in-process emulator, end to end."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from pipewarden.cli import main
from pipewarden.demo import seed


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, object], str]:
    """One demo run (module-wide: it seeds and scans a whole organisation)."""
    out = tmp_path_factory.mktemp("demo") / "report.json"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["demo", "--format", "json", "-o", str(out)], environ={})
    return code, json.loads(out.read_text(encoding="utf-8")), err.getvalue()


def test_demo_exits_0_with_pipelines_from_three_accounts(
    demo_json: tuple[int, dict[str, object], str],
) -> None:
    code, report, err = demo_json
    assert code == 0, err
    results = report["results"]
    assert isinstance(results, list)
    accounts = {r["account"] for r in results}
    assert len(accounts) == 3
    assert all(re.fullmatch(r"[0-9]{12}", a) for a in accounts)
    pipelines = {r["pipeline_arn"] for r in results}
    assert len(pipelines) == 12
    assert all(p.startswith("arn:aws:codepipeline:us-east-1:") for p in pipelines)
    assert "12 pipeline(s)" in err


def test_demo_shows_weak_and_hardened_pipelines(
    demo_json: tuple[int, dict[str, object], str],
) -> None:
    _code, report, _err = demo_json
    results = report["results"]
    assert isinstance(results, list)

    def status(rule: str, pipeline: str) -> set[str]:
        return {r["status"] for r in results if r["rule_id"] == rule and r["pipeline"] == pipeline}

    # The legacy template: a GitHub OAuth token, no object lock, admin role, no approval.
    assert "fail" in status("PW101", "payments-api")
    assert "fail" in status("PW201", "payments-api")
    assert "fail" in status("PW307", "payments-api")
    # The release template passes them.
    assert status("PW101", "payments-web") == {"pass"}
    assert status("PW201", "payments-web") == {"pass"}
    assert status("PW301", "payments-web") == {"pass"}


def test_demo_never_prints_the_seeded_secrets(
    demo_json: tuple[int, dict[str, object], str],
) -> None:
    _code, report, err = demo_json
    text = json.dumps(report) + err
    assert seed._FAKE_OAUTH not in text
    assert seed._FAKE_AWS_SECRET not in text


def test_demo_table_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--accounts", "1", "--pipelines", "2"], environ={})
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "payments-api" in out
    assert "payments-orders" in out
    assert "AWS emulator (moto) listening on http://127.0.0.1:" in err


def test_demo_rejects_an_absurd_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--accounts", "500"], environ={}) == 2
    assert "between 1 and" in capsys.readouterr().err


def test_make_demo_target_runs_it() -> None:
    makefile = Path(__file__).resolve().parents[2] / "Makefile"
    assert "pipewarden demo" in makefile.read_text(encoding="utf-8")
