"""``pipewarden reach`` end to end, in-process through ``main``: formats, files, exit codes.

The artifacts are tiny hand-made build outputs (application code plus fake
installed distributions with a dist-info) and the OSV records a small local
file, so nothing is installed or downloaded.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cases import fake_dist

from pipewarden.cli import main

ROOT = Path(__file__).resolve().parents[2]
REACH_SCHEMA = ROOT / "src" / "pipewarden" / "schema" / "reach-v1.json"
SARIF_SCHEMA = ROOT.parent / "shared" / "data" / "sarif-schema-2.1.0.json"
AWS_SECRET = "q7Xw2Lp9Rt4Vb8Nm3Kc6Jh1Gf5Ds0Az7Ye2Ui9Op"

Run = Callable[..., tuple[int, str, str]]

_VULNLIB = fake_dist(
    "vulnlib",
    "1.0",
    {
        "vulnlib/__init__.py": """
            def parse(text):
                return _inner(text)

            def _inner(text):
                return text.upper()

            def safe(text):
                return text
        """
    },
)
_OTHER = fake_dist(
    "other",
    "2.0",
    {
        "other/__init__.py": """
            def risky():
                return 1

            def fine():
                return 2
        """
    },
)
_GONE = fake_dist("gone", "1.0", {"gone/__init__.py": "VALUE = 1\n"})

APPS: dict[str, str] = {
    # vulnlib._inner reached; other reached by a computed name (unknown).
    "reaching": """
        import other
        import vulnlib

        def handler(event, context):
            fn = getattr(other, event["name"])
            return vulnlib.parse(event["body"]), fn()
    """,
    # vulnlib imported, its vulnerable symbol never referenced; other's safe function only.
    "quiet": """
        import other
        import vulnlib

        def handler(event, context):
            return vulnlib.safe(event["body"]), other.fine()
    """,
    # Only the unknown: other reached by a computed name.
    "uncertain": """
        import other

        def handler(event, context):
            return getattr(other, event["name"])()
    """,
}


def _record(ident: str, package: str, fixed: str, symbols: list[str] | None) -> dict[str, Any]:
    affected: dict[str, Any] = {
        "package": {"ecosystem": "PyPI", "name": package},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
    }
    if symbols is not None:
        affected["ecosystem_specific"] = {"imports": [{"path": package, "symbols": symbols}]}
    return {
        "id": ident,
        "modified": "2026-01-01T00:00:00Z",
        "summary": f"{package} advisory",
        "affected": [affected],
    }


OSV: list[dict[str, Any]] = [
    {
        **_record("PYSEC-2026-1", "vulnlib", "1.1", ["_inner"]),
        "aliases": ["CVE-2026-0001"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    },
    _record("PYSEC-2026-2", "other", "3.0", ["risky"]),
    _record("PYSEC-2026-3", "gone", "3.0", None),
    _record("PYSEC-2026-4", "vulnlib", "0.5", None),  # 1.0 is outside the range
]


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def osv(tmp_path: Path) -> Path:
    path = tmp_path / "osv.json"
    path.write_text(json.dumps(OSV), encoding="utf-8")
    return path


@pytest.fixture
def app(tmp_path: Path) -> Callable[[str], Path]:
    """``app(kind)``: an artifact directory with the three distributions and one app.py."""
    import textwrap

    def build(kind: str) -> Path:
        root = tmp_path / kind
        _write(root, {**_VULNLIB, **_OTHER, **_GONE, "app.py": textwrap.dedent(APPS[kind])})
        return root

    return build


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Run:
    """``run(*argv, environ=...)`` -> (exit code, stdout, stderr); a private parse cache."""

    def invoke(*argv: str, environ: dict[str, str] | None = None) -> tuple[int, str, str]:
        env = {"PIPEWARDEN_CACHE_DIR": str(tmp_path / "cache")} if environ is None else environ
        code = main(list(argv), environ=env)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("pipewarden: error: ")
    return lines[0]


def _tiers(doc: dict[str, Any]) -> dict[str, str]:
    return {r["vulnerability"]: r["tier"] for r in doc["results"]}


def _valid_json(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    schema = json.loads(REACH_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc


# -- verdicts and exit codes ------------------------------------------------------------------


def test_reachable_exits_1_with_every_tier_reported(
    run: Run, app: Callable[[str], Path], osv: Path
) -> None:
    code, out, err = run(
        "reach", str(app("reaching")), "--osv", str(osv), "--entry", "app:handler", "-f", "json"
    )
    assert (code, err) == (1, "")
    doc = _valid_json(out)
    assert _tiers(doc) == {
        "PYSEC-2026-1": "reachable",
        "PYSEC-2026-2": "unknown",
        "PYSEC-2026-3": "not-imported",
        "PYSEC-2026-4": "not-installed",
    }
    reach = doc["results"][0]
    assert [f["function"] for f in reach["path"]] == [
        "entry point app:handler",
        "app:handler",
        "vulnlib:parse",
        "vulnlib:_inner",
    ]
    assert reach["path"][-1]["file"] == "vulnlib/__init__.py"
    assert reach["severity"]["label"] == "critical"
    assert doc["summary"]["noise_cut"] == round(1 / 3, 4)


def test_nothing_reachable_exits_0(run: Run, app: Callable[[str], Path], osv: Path) -> None:
    code, out, err = run(
        "reach", str(app("quiet")), "--osv", str(osv), "--entry", "app:handler", "-f", "json"
    )
    assert (code, err) == (0, "")
    doc = _valid_json(out)
    assert _tiers(doc) == {
        "PYSEC-2026-1": "symbol-not-referenced",
        "PYSEC-2026-2": "symbol-not-referenced",
        "PYSEC-2026-3": "not-imported",
        "PYSEC-2026-4": "not-installed",
    }
    assert doc["summary"]["noise_cut"] == 1.0


@pytest.mark.parametrize(
    ("kind", "fail_on", "expected"),
    [
        ("uncertain", None, 0),
        ("uncertain", "reachable", 0),
        ("uncertain", "unknown", 1),
        ("uncertain", "never", 0),
        ("reaching", "never", 0),
        ("reaching", "unknown", 1),
        ("quiet", "unknown", 0),
    ],
)
def test_fail_on(
    run: Run, app: Callable[[str], Path], osv: Path, kind: str, fail_on: str | None, expected: int
) -> None:
    extra = ["--fail-on", fail_on] if fail_on else []
    code, out, err = run(
        "reach", str(app(kind)), "--osv", str(osv), "--entry", "app:handler", "--no-cache", *extra
    )
    assert (code, err) == (expected, "")
    assert "noise cut" in out


def test_zip_artifact_gives_the_same_verdicts(
    run: Run, app: Callable[[str], Path], osv: Path, tmp_path: Path
) -> None:
    source = app("reaching")
    archive = tmp_path / "build.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(source).as_posix())
    code, out, _ = run(
        "reach", str(archive), "--osv", str(osv), "--entry", "app:handler", "-f", "json"
    )
    assert code == 1
    from_zip = _valid_json(out)
    code, out, _ = run(
        "reach", str(source), "--osv", str(osv), "--entry", "app:handler", "-f", "json"
    )
    from_dir = _valid_json(out)
    assert from_zip["artifact"] == str(archive)
    assert from_zip["results"] == from_dir["results"]


# -- formats -----------------------------------------------------------------------------


def _check(fmt: str, text: str) -> dict[str, Any]:
    if fmt == "table":
        assert "\x1b" not in text  # not a terminal: no colour
        assert text.splitlines()[-1].startswith("4 finding(s) (")
        assert "noise cut: 1 of 3 version-matched finding(s) marked not affected (33%)" in text
        return {}
    doc: dict[str, Any] = json.loads(text)
    if fmt == "json":
        _valid_json(text)
    elif fmt == "openvex":
        assert doc["@context"] == "https://openvex.dev/ns/v0.2.0"
        statuses = {s["vulnerability"]["name"]: s["status"] for s in doc["statements"]}
        assert statuses == {
            "PYSEC-2026-1": "affected",
            "PYSEC-2026-2": "under_investigation",
            "PYSEC-2026-3": "not_affected",
            "PYSEC-2026-4": "not_affected",
        }
        assert {s["products"][0]["@id"] for s in doc["statements"]} == {"pkg:generic/reaching"}
    elif fmt == "cyclonedx":
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator

        assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
        states = {v["id"]: v["analysis"]["state"] for v in doc["vulnerabilities"]}
        assert states == {
            "PYSEC-2026-1": "exploitable",
            "PYSEC-2026-2": "in_triage",
            "PYSEC-2026-3": "not_affected",
            "PYSEC-2026-4": "not_affected",
        }
    else:
        schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
        jsonschema.Draft4Validator(schema).validate(doc)
        results = doc["runs"][0]["results"]
        assert [(r["ruleId"], r["kind"]) for r in results] == [
            ("PYSEC-2026-1", "fail"),
            ("PYSEC-2026-2", "review"),
        ]
        location = results[0]["locations"][0]["physicalLocation"]
        assert location == {
            "artifactLocation": {"uri": "vulnlib/__init__.py"},
            "region": {"startLine": 5},
        }
    return doc


def _without_time(fmt: str, doc: dict[str, Any]) -> dict[str, Any]:
    if fmt == "openvex":
        doc.pop("timestamp")
    if fmt == "cyclonedx":
        doc["metadata"].pop("timestamp")
    if fmt in ("json", "sarif"):
        stats = doc["stats"] if fmt == "json" else {}
        for key in ("seconds", "parse_cache_hits", "parse_cache_misses"):
            stats.pop(key, None)
        if fmt == "sarif":
            doc["runs"][0]["properties"].pop("artifact", None)
    return doc


@pytest.mark.parametrize("fmt", ["table", "json", "openvex", "cyclonedx", "sarif"])
def test_each_format_to_stdout_and_to_a_file(
    run: Run, app: Callable[[str], Path], osv: Path, tmp_path: Path, fmt: str
) -> None:
    artifact = str(app("reaching"))
    args = ("reach", artifact, "--osv", str(osv), "--entry", "app:handler", "--format", fmt)
    code, out, err = run(*args)
    assert (code, err) == (1, "")
    printed = _check(fmt, out)

    target = tmp_path / f"report.{fmt}"
    code, out, err = run(*args, "-o", str(target))
    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        f"pipewarden: wrote {fmt} report to {target}: 4 finding(s), noise cut 33%"
    ]
    text = target.read_text(encoding="utf-8")
    written = _check(fmt, text)
    if fmt == "table":
        assert "reachable" in text
    else:
        assert _without_time(fmt, written) == _without_time(fmt, printed)


def test_product_option_names_the_vex_product(
    run: Run, app: Callable[[str], Path], osv: Path
) -> None:
    product = "pkg:generic/orders-service@1.4.2"
    code, out, _ = run(
        "reach",
        str(app("quiet")),
        "--osv",
        str(osv),
        "--entry",
        "app:handler",
        "-f",
        "openvex",
        "--product",
        product,
    )
    assert code == 0
    doc = json.loads(out)
    assert {s["products"][0]["@id"] for s in doc["statements"]} == {product}
    assert {s["status"] for s in doc["statements"]} == {"not_affected"}


def test_colour_only_on_a_terminal_and_never_with_no_color(
    app: Callable[[str], Path], osv: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    artifact = str(app("reaching"))
    cache = str(tmp_path / "cache")
    for environ, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stdout", terminal)
        code = main(
            ["reach", artifact, "--osv", str(osv), "--entry", "app:handler"],
            environ={"PIPEWARDEN_CACHE_DIR": cache, **environ},
        )
        monkeypatch.undo()
        assert code == 1
        assert ("\x1b[" in terminal.getvalue()) is coloured
        assert "noise cut" in terminal.getvalue()


def test_no_secret_from_the_environment_reaches_any_output(
    run: Run, app: Callable[[str], Path], osv: Path, tmp_path: Path
) -> None:
    environ = {
        "PIPEWARDEN_CACHE_DIR": str(tmp_path / "cache"),
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "CODEBUILD_INITIATOR": "codepipeline/app",
    }
    artifact = str(app("reaching"))
    for fmt in ("table", "json", "openvex", "cyclonedx", "sarif"):
        code, out, err = run(
            "reach",
            artifact,
            "--osv",
            str(osv),
            "--entry",
            "app:handler",
            "-f",
            fmt,
            environ=environ,
        )
        assert code == 1
        assert AWS_SECRET not in out + err


# -- the parse cache ----------------------------------------------------------------------


def test_parse_cache_from_the_environment_option_and_off(
    run: Run, app: Callable[[str], Path], osv: Path, tmp_path: Path
) -> None:
    artifact = str(app("quiet"))
    base = ("reach", artifact, "--osv", str(osv), "--entry", "app:handler", "-f", "json")
    env_dir = tmp_path / "env-cache"
    code, out, _ = run(*base, environ={"PIPEWARDEN_CACHE_DIR": str(env_dir)})
    first = json.loads(out)["stats"]
    assert code == 0
    assert first["parse_cache_misses"] > 0
    assert list(env_dir.rglob("*.ir"))
    code, out, _ = run(*base, environ={"PIPEWARDEN_CACHE_DIR": str(env_dir)})
    second = json.loads(out)["stats"]
    assert (second["parse_cache_misses"], second["parse_cache_hits"]) == (
        0,
        first["parse_cache_misses"],
    )

    option_dir = tmp_path / "option-cache"
    code, _, _ = run(
        *base,
        "--cache-dir",
        str(option_dir),
        environ={"PIPEWARDEN_CACHE_DIR": str(env_dir / "unused")},
    )
    assert code == 0
    assert list(option_dir.rglob("*.ir"))
    assert not (env_dir / "unused").exists()

    off_dir = tmp_path / "off-cache"
    code, out, _ = run(*base, "--no-cache", environ={"PIPEWARDEN_CACHE_DIR": str(off_dir)})
    assert code == 0
    assert json.loads(out)["stats"]["parse_cache_hits"] == 0
    assert not off_dir.exists()


# -- input and usage errors: exit 2, one line --------------------------------------------


def test_missing_artifact(run: Run, osv: Path, tmp_path: Path) -> None:
    code, out, err = run("reach", str(tmp_path / "absent"), "--osv", str(osv))
    assert (code, out) == (2, "")
    assert "absent: no such file or directory" in _one_error_line(err)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"summary": "no id"}', "not an OSV record"),
    ],
)
def test_bad_osv_file(
    run: Run, app: Callable[[str], Path], tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    code, out, err = run("reach", str(app("quiet")), "--osv", str(bad))
    assert (code, out) == (2, "")
    assert message in _one_error_line(err)


def test_missing_osv_file(run: Run, app: Callable[[str], Path], tmp_path: Path) -> None:
    code, out, err = run("reach", str(app("quiet")), "--osv", str(tmp_path / "none.json"))
    assert (code, out) == (2, "")
    assert "none.json: no such file or directory" in _one_error_line(err)


@pytest.mark.parametrize(
    "entry",
    [
        "not valid::x",
        "1abc",
        "",
        "app:",
    ],
)
def test_bad_entry(run: Run, app: Callable[[str], Path], osv: Path, entry: str) -> None:
    code, out, err = run("reach", str(app("quiet")), "--osv", str(osv), "--entry", entry)
    assert (code, out) == (2, "")
    assert "--entry" in _one_error_line(err)


def test_unwritable_output(run: Run, app: Callable[[str], Path], osv: Path, tmp_path: Path) -> None:
    artifact = str(app("quiet"))
    for target in (tmp_path / "no" / "such" / "dir" / "out.json", tmp_path):
        code, out, err = run("reach", artifact, "--osv", str(osv), "-f", "json", "-o", str(target))
        assert (code, out) == (2, "")
        assert "cannot write the report" in _one_error_line(err)


def test_usage_errors(run: Run, app: Callable[[str], Path], osv: Path) -> None:
    code, _, err = run("reach", str(app("quiet")))
    assert code == 2
    assert "--osv" in _one_error_line(err)
    code, _, err = run("reach", str(app("quiet")), "--osv", str(osv), "-f", "xml")
    assert code == 2
    assert "invalid choice" in _one_error_line(err)
