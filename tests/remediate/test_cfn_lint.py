"""Generated CloudFormation passes cfn-lint without errors.

cfn-lint takes about a second per template, so a representative set is linted:
every example (patched templates, and templates generated from get-pipeline JSON,
a snapshot, a Terraform plan and module) and the fixtures that exercise
cross-account roles, identities, triggers and webhooks. A patched template may
keep an error its input already had; it may not add one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from remediate_inputs import FIXTURES, example_inputs, fix, label

LINTED_FIXTURES = [
    FIXTURES / "cross-account-key-too-open" / "fail_account_root_decrypt.yaml",
    FIXTURES / "approvers-without-mfa" / "fail_approvers_without_mfa.yaml",
    FIXTURES / "trigger-unfiltered" / "fail_excludes_and_catch_all.json",
    FIXTURES / "webhook-unauthenticated" / "fail_codebuild_filters_unanchored.yaml",
    FIXTURES / "privileged-mode" / "fail_terraform_plan.json",
    FIXTURES / "plaintext-secret-in-action" / "fail_buildspec_override.yaml",
    FIXTURES / "plaintext-secret-in-action" / "fail_literals.json",
]


def _errors(text: str) -> set[tuple[str, str]]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    return {(m.rule.id, m.message) for m in matches if m.rule.id.startswith("E")}


@pytest.mark.parametrize(
    "path", example_inputs() + [p for p in LINTED_FIXTURES if p.exists()], ids=label
)
def test_generated_cloudformation_lints_clean(path: Path) -> None:
    out = fix(path, "cloudformation")
    already: set[tuple[str, str]] = set()
    if (path.is_file() and path.suffix in (".yaml", ".yml")) or path.name.endswith(
        ".template.json"
    ):
        already = _errors(path.read_text())
    for name, text in out.files.items():
        new = _errors(text) - already
        assert not new, f"{name or 'main template'}: {sorted(new)}"
