"""What each output format keeps and writes: the template outside the pipeline stays
as it was, YAML keeps its short-form tags and comments, JSON stays JSON, a patched
Terraform module keeps every other block byte for byte and parses back with
python-hcl2, and no secret value is written anywhere."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import hcl2
import pytest
from remediate_inputs import EXAMPLES, FIXTURES, all_inputs, fix, label

from pipewarden.remediate import FORMATS
from pipewarden.remediate._secretfix import literal_in_text
from pipewarden.rules._secrets import find_secret, looks_secret_name

WEAK = EXAMPLES / "cloudformation" / "weak-pipeline.yaml"
CDK = EXAMPLES / "cloudformation" / "cdk.out" / "ReleasePipelineStack.template.json"
MODULE = EXAMPLES / "terraform" / "payments"


def test_template_outside_the_pipeline_is_kept() -> None:
    source = WEAK.read_text()
    out = fix(WEAK, "cloudformation").main
    head = source.split("Resources:", 1)[0]
    assert out.startswith(head)  # description, parameters: untouched
    assert "ServiceRole: !GetAtt PipelineRole.Arn" in out  # short-form tags kept
    assert "ProjectName: !Ref BuildProject" in out
    assert 'Location: !Sub "${ArtifactBucket}/build-logs"' in out
    assert "- curl -sSL https://get.example.com/install.sh | bash" in out  # not ours to change
    assert "OAuthToken" not in out


def test_yaml_comments_survive() -> None:
    source = WEAK.read_text().replace(
        "  BuildProject:\n", "  # the build\n  BuildProject:  # keep me\n", 1
    )
    path = WEAK.parent / "commented-copy.yaml"
    try:
        path.write_text(source)
        out = fix(path, "cloudformation").main
    finally:
        path.unlink()
    assert "# the build" in out
    assert "# keep me" in out


def test_json_template_stays_json() -> None:
    out = fix(CDK, "cloudformation").main
    doc = json.loads(out)
    assert "Resources" in doc
    original = json.loads(CDK.read_text())
    untouched = [
        k for k in original["Resources"] if original["Resources"][k]["Type"] == "AWS::KMS::Key"
    ]
    for key in untouched:
        assert doc["Resources"][key] == original["Resources"][key]


def test_terraform_module_is_patched_in_place() -> None:
    out = fix(MODULE, "terraform")
    changed = {Path(k).name for k in out.files if k}
    assert "pipewarden_fix.tf" in changed
    for name, text in out.files.items():
        hcl2.loads(text)  # parses back
        if not name:
            continue
        original = Path(name)
        if not original.exists():
            continue
        source = original.read_text()
        # every block the fix does not touch is kept byte for byte
        for block in re.findall(
            r'(?ms)^resource "aws_(?:kms_key|kms_alias)" "[^"]+" \{.*?^\}\n', source
        ):
            assert block in text
    legacy = next(v for k, v in out.files.items() if k.endswith("legacy.tf"))
    assert 'pipeline_type = "V2"' in legacy
    assert "aws_iam_role.legacy_pipeline.arn" in legacy  # references kept where unchanged


def test_standalone_terraform_parses_back() -> None:
    for path in (
        EXAMPLES / "get-pipeline" / "payments-weak.json",
        EXAMPLES / "snapshot" / "example-snapshot.json",
    ):
        out = fix(path, "terraform")
        data = hcl2.loads(out.main)
        types = {next(iter(r)).strip('"') for r in data["resource"]}
        assert {"aws_codepipeline", "aws_iam_role", "aws_iam_role_policy"} <= types


def _walk(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        lowered = {str(k).lower(): v for k, v in node.items()}
        name, value = lowered.get("name"), lowered.get("value")
        kind = str(lowered.get("type", "PLAINTEXT")).strip('"').upper()
        if isinstance(name, str) and isinstance(value, str) and kind == "PLAINTEXT":
            name, value = name.strip('"'), value.strip('"')
            if looks_secret_name(name) or find_secret(name, value):
                found.add(value)
        for child in node.values():
            _walk(child, found)
    elif isinstance(node, list):
        for child in node:
            _walk(child, found)
    elif isinstance(node, str) and node.lstrip().startswith("["):
        with contextlib.suppress(ValueError):
            _walk(json.loads(node), found)


def _secrets(path: Path) -> set[str]:
    """Secret literals in an input: what the detector finds in its text, and plaintext
    name/value pairs under secret-looking names."""
    from pipewarden.parse._yaml import load_yaml

    found: set[str] = set()
    files = [path] if path.is_file() else sorted(path.glob("*.tf"))
    for file in files:
        text = file.read_text()
        found.update(literal_in_text(text))
        if file.suffix == ".tf":
            data: object = hcl2.loads(text)
        elif file.suffix == ".json":
            data = json.loads(text)
        else:
            data = load_yaml(text, str(file))[0]
        _walk(data, found)
    return {s for s in found if len(s) >= 8 and "{{" not in s and "$" not in s}


SECRET_INPUTS = [p for p in all_inputs() if _secrets(p)]


def test_inputs_with_secrets_exist() -> None:
    assert len(SECRET_INPUTS) >= 5


@pytest.mark.parametrize("path", SECRET_INPUTS, ids=label)
def test_no_secret_value_in_any_output(path: Path) -> None:
    secrets = _secrets(path)
    for fmt in FORMATS:
        out = fix(path, fmt)
        text = "\n".join(out.files.values()) + "\n".join(out.notes)
        leaked = [s[:4] for s in secrets if s in text]
        assert not leaked, f"{fmt}: secrets starting {leaked} are in the output"


def test_secret_commands_name_no_value() -> None:
    out = fix(WEAK, "cloudformation")
    pipeline = out.plan.pipelines[0]
    assert pipeline.secrets
    for secret in pipeline.secrets:
        assert "create-secret" in secret.command
        assert "AKIA" not in secret.command
        assert "wJal" not in secret.command


def test_behaviour_changes_are_labelled() -> None:
    out = fix(WEAK, "cloudformation")
    fixes = out.plan.pipelines[0].fixes
    labelled = {rule for f in fixes if f.changes_behaviour for rule in f.rules}
    assert {"PW306", "PW403", "PW702"} <= labelled


def test_only_and_skip() -> None:
    from pipewarden.remediate import FixOptions, fix_file

    only = fix_file(WEAK, "cloudformation", options=FixOptions(only=frozenset({"PW401"})))
    assert {r for f in only.plan.pipelines[0].fixes for r in f.rules} <= {"PW401"}
    skipped = fix_file(
        WEAK, "cloudformation", options=FixOptions(skip=frozenset({"privileged-mode"}))
    )
    assert "PrivilegedMode: true" in skipped.main


def test_unknown_rule_is_an_error() -> None:
    from pipewarden.remediate import FixOptions, RemediationError, fix_file

    with pytest.raises(RemediationError, match="names no rule"):
        fix_file(WEAK, "cloudformation", options=FixOptions(only=frozenset({"PW999"})))


def test_fixture_with_cross_account_roles_gets_a_template_per_account() -> None:
    path = FIXTURES / "cross-account-key-too-open" / "fail_account_root_decrypt.yaml"
    out = fix(path, "cloudformation")
    extra = [k for k in out.files if k.startswith("account-")]
    assert extra
    assert "AWS::IAM::ManagedPolicy" in out.files[extra[0]]
