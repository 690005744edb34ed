"""``pipewarden scan``: exit codes, options, inputs, output files, report validity."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest

from pipewarden.cli import main
from pipewarden.rules import RULES
from pipewarden.rules._api import Rule

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "src" / "pipewarden" / "schema"
SARIF_SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "sarif-schema-2.1.0.json"

Run = Callable[..., tuple[int, str, str]]
WriteJson = Callable[[str, Any], Path]
MakePipeline = Callable[..., dict[str, Any]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def invoke(*argv: str, **kwargs: Any) -> tuple[int, str, str]:
        kwargs.setdefault("environ", {})
        code = main(list(argv), **kwargs)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("pipewarden: error: ")
    return lines[0]


# -- exit codes -------------------------------------------------------------------------


def test_version(run: Run) -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.strip().startswith("pipewarden ")


def test_no_command_is_a_usage_error(run: Run) -> None:
    code, out, err = run()
    assert code == 2
    assert out == ""
    assert "a command is required" in _one_error_line(err)


def test_bad_option_is_one_line(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline
) -> None:
    path = write_json("p.json", make_pipeline())
    code, _, err = run("scan", str(path), "--fail-on", "severe")
    assert code == 2
    line = _one_error_line(err)
    assert "--fail-on" in line
    assert "severe" in line


def test_findings_below_threshold_exit_0_and_at_threshold_exit_1(
    run: Run, write_json: WriteJson, make_pipeline
) -> None:
    path = write_json("v1.json", make_pipeline("legacy", pipeline_type="V1"))
    # PW401 (pipeline-v1) is medium: below the default threshold (high).
    code, out, _ = run("scan", str(path), "--rule", "pipeline-v1")
    assert code == 0
    assert "PW401 pipeline-v1" in out
    assert "FAIL" in out
    code, _, _ = run("scan", str(path), "--rule", "PW401", "--fail-on", "medium")
    assert code == 1
    code, _, _ = run("scan", str(path), "--rule", "PW401", "--fail-on", "none")
    assert code == 0


def test_high_failure_exits_1_and_fail_on_none_exits_0(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    rules = [fake_rules["high"]]
    assert run("scan", str(path), rules=rules)[0] == 1
    assert run("scan", str(path), "--fail-on", "critical", rules=rules)[0] == 0
    assert run("scan", str(path), "--fail-on", "none", rules=rules)[0] == 0
    assert run("scan", str(path), "--fail-on", "info", rules=rules)[0] == 1


def test_unknown_results_do_not_fail_the_gate(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    code, out, _ = run("scan", str(path), "--fail-on", "info", rules=[fake_rules["unknown"]])
    assert code == 0
    assert "UNKNOWN" in out
    assert "evidence not in the input" in out


def test_rule_crash_exits_3_without_traceback(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    code, out, err = run(
        "scan", str(path), "--format", "json", rules=[fake_rules["crash"], fake_rules["unknown"]]
    )
    assert code == 3
    assert "Traceback" not in err
    assert "rule PW995 crashed on pipeline app: RuntimeError: boom" in err
    report = json.loads(out)
    assert report["errors"] == [
        {"rule_id": "PW995", "pipeline": "app", "message": "RuntimeError: boom"}
    ]
    crashed = [r for r in report["results"] if r["rule_id"] == "PW995"]
    assert [r["status"] for r in crashed] == ["unknown"]
    # The other rule still ran.
    assert any(r["rule_id"] == "PW993" for r in report["results"])


def test_internal_error_is_one_line_and_exit_3(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    # Not a Rule: fails outside the engine's per-rule boundary.
    broken = [object()]
    code, _, err = run("scan", str(path), rules=broken)
    assert code == 3
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pipewarden: internal error: AttributeError")
    assert "PIPEWARDEN_DEBUG=1" in lines[0]
    code, _, err = run("scan", str(path), rules=broken, environ={"PIPEWARDEN_DEBUG": "1"})
    assert code == 3
    assert "Traceback" in err


# -- rule selection ------------------------------------------------------------------


def _rule_ids(out: str) -> set[str]:
    return {r["rule_id"] for r in json.loads(out)["results"]}


def test_rule_and_skip_rule_accept_ids_slugs_and_commas(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    rules = [fake_rules["high"], fake_rules["unknown"], fake_rules["echo"]]
    _, out, _ = run("scan", str(path), "-f", "json", "--rule", "test-build-fails", rules=rules)
    assert _rule_ids(out) == {"PW991"}
    _, out, _ = run("scan", str(path), "-f", "json", "--rule", "pw991,PW993", rules=rules)
    assert _rule_ids(out) == {"PW991", "PW993"}
    _, out, _ = run(
        "scan",
        str(path),
        "-f",
        "json",
        "--skip-rule",
        "PW991",
        "--skip-rule",
        "test-echo-names",
        rules=rules,
    )
    assert _rule_ids(out) == {"PW993"}


@pytest.mark.parametrize("option", ["--rule", "--skip-rule"])
def test_unknown_rule_is_a_usage_error(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, option: str
) -> None:
    path = write_json("p.json", make_pipeline())
    code, out, err = run("scan", str(path), option, "PW401,no-such-rule")
    assert code == 2
    assert out == ""
    assert "unknown rule `no-such-rule`" in _one_error_line(err)


def test_every_registered_rule_runs_by_default(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline
) -> None:
    path = write_json("p.json", make_pipeline())
    code, out, _ = run("scan", str(path), "-f", "json", "--fail-on", "none")
    assert code == 0
    assert _rule_ids(out) == {r.meta.id for r in RULES}


# -- inputs ---------------------------------------------------------------------------


def test_missing_path(run: Run, tmp_path: Path) -> None:
    code, out, err = run("scan", str(tmp_path / "nope.json"))
    assert code == 2
    assert out == ""
    line = _one_error_line(err)
    assert "nope.json" in line
    assert "no such file" in line


def test_non_utf8_file_named_explicitly(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"pipeline": {"name": "caf\xe9", "stages": []}}')
    code, out, err = run("scan", str(path))
    assert code == 2
    assert out == ""
    line = _one_error_line(err)
    assert "latin1.json" in line
    assert "UTF-8" in line


def test_bad_json_named_explicitly(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "pipeline": {\n    "name": "x",\n  ]\n}\n', encoding="utf-8")
    code, out, err = run("scan", str(path))
    assert code == 2
    assert out == ""
    line = _one_error_line(err)
    assert "broken.json" in line
    assert "invalid JSON" in line


def test_explicit_file_that_is_not_a_pipeline(run: Run, write_json: WriteJson) -> None:
    path = write_json("other.json", {"hello": "world"})
    code, _, err = run("scan", str(path))
    assert code == 2
    assert "not a pipeline definition" in _one_error_line(err)


def test_directory_with_one_bad_file_scans_the_rest_and_exits_2(
    run: Run,
    tmp_path: Path,
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    fake_rules: dict[str, Rule],
) -> None:
    write_json("pipelines/good.json", make_pipeline("good"))
    (tmp_path / "pipelines" / "bad.json").write_text('{"pipeline": ', encoding="utf-8")
    (tmp_path / "pipelines" / "README.md").write_text("not an input", encoding="utf-8")
    write_json("pipelines/unrelated.json", {"not": "a pipeline"})
    code, out, err = run(
        "scan", str(tmp_path / "pipelines"), "-f", "json", rules=[fake_rules["unknown"]]
    )
    assert code == 2
    assert "Traceback" not in err
    err_lines = err.splitlines()
    assert len(err_lines) == 1
    assert err_lines[0].startswith("pipewarden: error: ")
    assert "bad.json" in err_lines[0]
    report = json.loads(out)
    assert {r["pipeline"] for r in report["results"]} == {"good"}
    assert any(n.startswith("not scanned: ") and "bad.json" in n for n in report["notes"])
    assert any("unrelated.json" in n and "not a pipeline definition" in n for n in report["notes"])


def test_input_errors_win_over_findings(
    run: Run,
    tmp_path: Path,
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    fake_rules: dict[str, Rule],
) -> None:
    write_json("d/good.json", make_pipeline("good"))
    (tmp_path / "d" / "bad.json").write_bytes(b"\xff\xfe{")
    code, out, _ = run("scan", str(tmp_path / "d"), rules=[fake_rules["high"]])
    assert code == 2
    assert "FAIL" in out  # the failure is still reported


def test_empty_directory_warns(run: Run, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, out, err = run("scan", str(tmp_path / "empty"))
    assert code == 0
    assert "no pipeline definition found" in err
    assert "0 pipelines" in out


# -- output ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "markdown", "html"])
def test_output_file(
    run: Run,
    tmp_path: Path,
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    fake_rules: dict[str, Rule],
    fmt: str,
) -> None:
    path = write_json("p.json", make_pipeline())
    target = tmp_path / "out" / f"report.{fmt}"
    target.parent.mkdir()
    code, out, err = run(
        "scan", str(path), "-f", fmt, "-o", str(target), rules=[fake_rules["high"]]
    )
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"pipewarden: wrote {fmt} report to {target}: 1 pipeline(s): 1 failing (1 high), "
        "0 unknown, 0 passed"
    ]
    text = target.read_text(encoding="utf-8")
    assert "test-build-fails" in text or "PW991" in text


def test_unwritable_output_is_an_input_error(
    run: Run, tmp_path: Path, write_json: WriteJson, make_pipeline
) -> None:
    path = write_json("p.json", make_pipeline())
    code, _, err = run("scan", str(path), "-o", str(tmp_path / "missing-dir" / "r.json"))
    assert code == 2
    assert "cannot write the report" in _one_error_line(err)


def test_table_has_no_colour_when_not_a_terminal(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    _, out, _ = run("scan", str(path), rules=[fake_rules["high"]])
    assert "\x1b[" not in out


def test_json_report_validates_against_the_schema(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json(
        "pipelines.json", [make_pipeline("a", pipeline_type="V1"), make_pipeline("b")]
    )
    rules = [*RULES, fake_rules["high"], fake_rules["unknown"], fake_rules["crash"]]
    code, out, _ = run("scan", str(path), "-f", "json", rules=rules)
    assert code == 3
    schema = json.loads((SCHEMA_DIR / "report-v1.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    report = json.loads(out)
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    assert report["schema_version"] == "1.0"
    assert {p["name"] for p in report["pipelines"]} == {"a", "b"}
    assert {r["status"] for r in report["results"]} == {"fail", "unknown", "pass"}
    fail = next(r for r in report["results"] if r["rule_id"] == "PW991" and r["pipeline"] == "a")
    assert fail["location"]["pointer"] == "/0/pipeline/stages/1/actions/0/name"
    assert fail["location"]["file"] == str(path)
    assert isinstance(fail["location"]["line"], int)
    assert fail["stage"] == "Build"
    assert fail["action"] == "Compile"
    assert fail["pipeline_arn"] == "arn:aws:codepipeline:us-east-1:111122223333:a"


def test_sarif_report_validates_against_the_official_schema(
    run: Run, write_json: WriteJson, make_pipeline: MakePipeline, fake_rules: dict[str, Rule]
) -> None:
    path = write_json("p.json", make_pipeline())
    rules = [*RULES, fake_rules["high"], fake_rules["unknown"]]
    _, out, _ = run("scan", str(path), "-f", "sarif", rules=rules)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    log = json.loads(out)
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    failing = next(r for r in results if r["ruleId"] == "PW991")
    assert failing["kind"] == "fail"
    assert failing["level"] == "error"
    physical = failing["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "file://" + quote(str(path))
    assert physical["region"]["startLine"] >= 1
    logical = failing["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    assert logical == f"{path}#/pipeline/stages/1/actions/0/name"
    assert failing["partialFingerprints"]["pipewarden/v1"]
    unknown = next(r for r in results if r["ruleId"] == "PW993")
    assert unknown["kind"] == "review"
    assert unknown["level"] == "none"


# -- configuration --------------------------------------------------------------------


def test_config_suppression_with_reason(
    run: Run,
    tmp_path: Path,
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    fake_rules: dict[str, Rule],
) -> None:
    path = write_json("p.json", make_pipeline())
    config = tmp_path / "pw.toml"
    config.write_text(
        '[rules.test-build-fails]\nignore = [{target = "app", reason = "accepted risk"}]\n',
        encoding="utf-8",
    )
    code, out, _ = run("scan", str(path), "--config", str(config), rules=[fake_rules["high"]])
    assert code == 0
    assert "SUPPRESSED" in out
    assert "accepted risk" in out
    assert "1 suppressed" in out


def test_expired_suppression_is_reported_and_not_applied(
    run: Run,
    tmp_path: Path,
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    fake_rules: dict[str, Rule],
) -> None:
    path = write_json("p.json", make_pipeline())
    (tmp_path / "pipewarden.toml").write_text(
        '[rules.PW991]\nignore = [{target = "app", reason = "until fixed", expires = "2026-01-31"}]\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        "scan", str(path), "-f", "json", rules=[fake_rules["high"]], today=dt.date(2026, 11, 25)
    )
    assert code == 1
    report = json.loads(out)
    assert report["results"][0]["suppressed"] is None
    assert any("expired on 2026-01-31" in n for n in report["notes"])


def test_config_naming_an_unknown_rule_is_exit_2(
    run: Run, tmp_path: Path, write_json: WriteJson, make_pipeline
) -> None:
    path = write_json("p.json", make_pipeline())
    (tmp_path / "pipewarden.toml").write_text("[rules.PW000]\ndisable = true\n", encoding="utf-8")
    code, _, err = run("scan", str(path))
    assert code == 2
    assert "unknown rule `PW000`" in _one_error_line(err)


def test_missing_config_file(
    run: Run, tmp_path: Path, write_json: WriteJson, make_pipeline: MakePipeline
) -> None:
    path = write_json("p.json", make_pipeline())
    code, _, err = run("scan", str(path), "--config", str(tmp_path / "absent.toml"))
    assert code == 2
    assert "absent.toml" in _one_error_line(err)
