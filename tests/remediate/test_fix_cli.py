"""`pipewarden fix` on the command line: formats, output files, the summary, errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import hcl2
import yaml
from remediate_inputs import EXAMPLES

from pipewarden.cli.main import main

WEAK = EXAMPLES / "cloudformation" / "weak-pipeline.yaml"
GET = EXAMPLES / "get-pipeline" / "payments-weak.json"
MODULE = EXAMPLES / "terraform" / "payments"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(list(argv))
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_template_is_patched_to_stdout_with_a_summary() -> None:
    code, out, err = run("fix", str(WEAK))
    assert code == 0, err
    doc = yaml.load(out, Loader=_Loader)  # noqa: S506 - a loader that ignores tags
    assert doc["Resources"]["Pipeline"]["Properties"]["PipelineType"] == "V2"
    assert "CHANGES BEHAVIOUR" in err
    assert "fixed in this output:" in err
    assert "SECRET pipewarden/storefront/" in err
    assert "AKIAIOSFODNN7EXAMPLE" not in out + err


def test_output_file_and_format(tmp_path: Path) -> None:
    target = tmp_path / "fixed.json"
    code, out, err = run("fix", str(GET), "--format", "pipeline-json", "-o", str(target))
    assert code == 0, err
    assert out == ""
    doc = json.loads(target.read_text())
    assert doc["pipeline"]["pipelineType"] == "V2"


def test_get_pipeline_defaults_to_pipeline_json() -> None:
    code, out, _ = run("fix", str(GET))
    assert code == 0
    assert json.loads(out)["pipeline"]["name"] == "payments-api"


def test_diff_masks_secrets() -> None:
    code, out, err = run("fix", str(WEAK), "--format", "diff")
    assert code == 0, err
    assert out.startswith("--- a/")
    assert "-            Value: AKIA…(20 chars)" in out
    assert "AKIAIOSFODNN7EXAMPLE" not in out


def test_terraform_module_to_a_directory(tmp_path: Path) -> None:
    code, _, err = run("fix", str(MODULE), "-o", str(tmp_path / "out"))
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "out").rglob("*.tf"))
    assert "pipewarden_fix.tf" in written
    assert "legacy.tf" in written
    for path in (tmp_path / "out").rglob("*.tf"):
        hcl2.loads(path.read_text())


def test_cloudformation_from_get_pipeline_writes_account_templates(tmp_path: Path) -> None:
    target = tmp_path / "stack.yaml"
    code, _, err = run("fix", str(GET), "--format", "cloudformation", "-o", str(target))
    assert code == 0, err
    siblings = sorted(p.name for p in tmp_path.iterdir())
    assert "stack.yaml" in siblings
    assert any("444455556666" in name for name in siblings)


def test_only_and_options() -> None:
    code, out, err = run(
        "fix",
        str(WEAK),
        "--only",
        "PW201",
        "--object-lock-days",
        "90",
        "--object-lock-mode",
        "GOVERNANCE",
    )
    assert code == 0, err
    assert "Days: 90" in out
    assert "Mode: GOVERNANCE" in out
    assert "PipelineType" not in out


def test_usage_errors_are_one_line() -> None:
    for argv in (
        ["fix"],
        ["fix", str(WEAK), "--pipeline", "x"],
        ["fix", str(WEAK), "--only", "PW999"],
        ["fix", str(WEAK), "--gate-function", "gate"],
        ["fix", str(EXAMPLES / "does-not-exist.yaml")],
        ["fix", str(WEAK), "--yes"],
    ):
        code, out, err = run(*argv)
        assert code == 2, (argv, err)
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
