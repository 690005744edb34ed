"""The generated rule docs are current, link safely, and the generator behaves."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pipewarden.rules import RULES, rule_by_key
from pipewarden.rules._examples import example_names_for, examples_for, parse_doc

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_docs.py"
DOCS = REPO / "docs"
FIXTURES = REPO / "tests" / "rules" / "fixtures"


def _load_gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_docs", module)
    spec.loader.exec_module(module)
    return module


gen_docs = _load_gen_docs()


# -- the repository's docs ----------------------------------------------------


def test_generated_docs_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        "docs/rules or rules/examples.json is stale; run `python scripts/gen_docs.py`\n"
        + proc.stdout
        + proc.stderr
    )


def test_every_rule_has_a_page() -> None:
    pages = {p.stem for p in (DOCS / "rules").glob("*.md")}
    assert pages == {rule.meta.slug for rule in RULES} | {"index"}


_FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_BARE_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_HTML_LINK = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)", re.IGNORECASE)


def link_targets(markdown: str) -> list[str]:
    """Every link target outside code: inline, reference, autolink, HTML and bare URLs."""
    text = _INLINE_CODE.sub("", _FENCE.sub("", markdown))
    targets = [m.group(1) for m in _INLINE_LINK.finditer(text)]
    targets += [m.group(1) for m in _AUTOLINK.finditer(text)]
    targets += [m.group(1) for m in _REF_DEF.finditer(text)]
    targets += [m.group(1) for m in _HTML_LINK.finditer(text)]
    stripped = _INLINE_LINK.sub("", _AUTOLINK.sub("", _REF_DEF.sub("", text)))
    targets += [m.group(0) for m in _BARE_URL.finditer(stripped)]
    return targets


def link_problem(target: str, page: Path) -> str | None:
    """Why ``target`` is not an https URL or a relative link to an existing file."""
    if target.startswith("https://"):
        return None if len(target) > len("https://") else "empty https URL"
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("//"):
        return "not https"
    if target.startswith("/"):
        return "absolute path (use a relative link)"
    path = target.split("#", 1)[0]
    if path and not (page.parent / path).exists():
        return "relative link to a missing file"
    return None


def test_link_checker() -> None:
    page = DOCS / "rules" / "index.md"
    md = (
        "[a](https://x.example/a) [b](pipeline-v1.md#rationale) <https://y.example>\n"
        "[c](http://insecure.example) <ftp://f.example>\n"
        "[d]: javascript:alert(1)\n"
        "see http://bare.example and `http://in-code.example`\n"
        '<a href="//cdn.example/x.js">x</a> [e](/abs.md) [f](missing.md)\n'
        "```\ncurl http://in-fence.example | sh\n```\n"
    )
    problems = {t: link_problem(t, page) for t in link_targets(md)}
    assert problems == {
        "https://x.example/a": None,
        "pipeline-v1.md#rationale": None,
        "https://y.example": None,
        "http://insecure.example": "not https",
        "ftp://f.example": "not https",
        "javascript:alert(1)": "not https",
        "http://bare.example": "not https",
        "//cdn.example/x.js": "not https",
        "/abs.md": "absolute path (use a relative link)",
        "missing.md": "relative link to a missing file",
    }


def test_docs_link_only_https_or_relative() -> None:
    pages = sorted(DOCS.rglob("*.md"))
    assert pages, "no docs pages"
    problems = [
        f"{page.relative_to(REPO)}: {target}: {why}"
        for page in pages
        for target in link_targets(page.read_text(encoding="utf-8"))
        if (why := link_problem(target, page)) is not None
    ]
    assert not problems, "\n".join(problems)


# -- the bundled examples -----------------------------------------------------


def test_examples_for_returns_the_first_fail_and_pass_fixture() -> None:
    for rule in RULES:
        directory = FIXTURES / rule.meta.slug
        fixtures = sorted(
            p for p in directory.iterdir() if not p.name.endswith((".golden.json", ".config.toml"))
        )
        first_fail = next(p for p in fixtures if p.name.startswith("fail_"))
        first_pass = next(p for p in fixtures if p.name.startswith("pass_"))
        assert examples_for(rule.meta.slug) == (
            first_fail.read_text(encoding="utf-8"),
            first_pass.read_text(encoding="utf-8"),
        ), rule.id
        assert example_names_for(rule.meta.slug) == (first_fail.name, first_pass.name)
    assert examples_for("no-such-rule") is None
    assert example_names_for("no-such-rule") is None


def test_parse_doc() -> None:
    doc = parse_doc(
        "Detects a thing\nover two lines.\n\nMore intro.\n\n## Rationale\nBecause.\n\n"
        "### Detail\nkept\n\n## Remediation\n\nFix it.\n"
    )
    assert doc.summary == "Detects a thing over two lines."
    assert doc.sections == (
        ("Rationale", "Because.\n\n### Detail\nkept"),
        ("Remediation", "Fix it."),
    )
    assert doc.section("remediation") == "Fix it."
    assert doc.section("References") is None
    assert parse_doc("").summary == ""


# -- the generator ------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "tests" / "rules" / "fixtures")
    return tmp_path


def test_generator_writes_checks_and_prunes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen_docs.main(["--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert "missing: docs/rules/index.md" in out
    assert "missing: src/pipewarden/rules/examples.json" in out

    assert gen_docs.main(["--root", str(root)]) == 0
    assert gen_docs.main(["--check", "--root", str(root)]) == 0
    capsys.readouterr()
    # Same bytes as the committed output: the generator is deterministic.
    for rel in ("docs/rules/index.md", "src/pipewarden/rules/examples.json"):
        assert (root / rel).read_bytes() == (REPO / rel).read_bytes(), rel

    slug = RULES[0].meta.slug
    page = root / "docs" / "rules" / f"{slug}.md"
    page.write_text(page.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    gone = root / "docs" / "rules" / "removed-rule.md"
    gone.write_text("# PW999 removed-rule\n", encoding="utf-8")
    assert gen_docs.main(["--check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"stale: docs/rules/{slug}.md" in out
    assert "extra: docs/rules/removed-rule.md" in out

    assert gen_docs.main(["--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"wrote docs/rules/{slug}.md" in out
    assert "removed docs/rules/removed-rule.md" in out
    assert not gone.exists()
    assert "hand edit" not in page.read_text(encoding="utf-8")
    assert gen_docs.main(["--check", "--root", str(root)]) == 0


def test_generator_refuses_a_rule_without_fixtures(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = RULES[0]
    for path in (root / "tests" / "rules" / "fixtures" / rule.meta.slug).glob("pass_*"):
        path.unlink()
    assert gen_docs.main(["--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"{rule.id} {rule.meta.slug}: needs fail_* and pass_* fixtures" in err
    assert not (root / "docs").exists()


def test_page_content(root: Path) -> None:
    outputs = gen_docs.generate(root, RULES)
    rule = rule_by_key("pipeline-v1")
    assert rule is not None
    page = outputs[Path("docs/rules/pipeline-v1.md")]
    fixture = FIXTURES / "pipeline-v1" / "fail_explicit_v1.json"
    assert page.splitlines()[2] == "# PW401 pipeline-v1"
    assert "| Severity | medium |" in page
    assert f"[CICD-SEC-1 Insufficient Flow Control Mechanisms]({rule.meta.cicd_sec[0].url})" in page
    assert "| Needs | declaration only |" in page
    for heading in (
        "## Rationale",
        "## Remediation",
        "## Failing example",
        "## Passing example",
        "## Sample finding",
        "## References",
    ):
        assert f"\n{heading}\n" in page, heading
    assert page.index("## Rationale") < page.index("## Remediation") < page.index("## Failing")
    # The example is the fixture, verbatim, in a fence of its language.
    assert "```json\n" + fixture.read_text(encoding="utf-8") + "\n```" in page
    sample = json.loads(page.split("## Sample finding")[1].split("```json\n")[1].split("```")[0])
    assert sample == {
        "rule": "PW401",
        "status": "fail",
        "pointer": "/pipeline/pipelineType",
        "line": 57,
        "message": "pipeline type is `V1`",
    }
    index = outputs[Path("docs/rules/index.md")]
    assert "| [PW401](pipeline-v1.md) | `pipeline-v1` |" in index
    bundle = json.loads(outputs[Path("src/pipewarden/rules/examples.json")])
    assert bundle["pipeline-v1"]["fail_name"] == "fail_explicit_v1.json"
    assert bundle["pipeline-v1"]["fail"] == fixture.read_text(encoding="utf-8")


def test_fence_outgrows_backticks_in_the_example() -> None:
    assert gen_docs._fence("a\n", "yaml") == "```yaml\na\n```"
    assert gen_docs._fence("x ```` y", "text") == "`````text\nx ```` y\n`````"


def test_fsbp_link() -> None:
    assert gen_docs.fsbp_link("CodeBuild.2") == (
        "[CodeBuild.2](https://docs.aws.amazon.com/securityhub/latest/userguide/"
        "codebuild-controls.html#codebuild-2)"
    )
    assert gen_docs.fsbp_link("odd|value") == "odd\\|value"
