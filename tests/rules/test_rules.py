"""One harness for every rule: RULES x fixture files, compared with goldens.

Layout: ``tests/rules/fixtures/<slug>/<kind>_<case>.<ext>`` where kind is
``fail``, ``pass`` or ``unknown``, with ``<kind>_<case>.golden.json`` beside
it pinning rule id, status, severity, pointer, line and message of every
result of that rule. ``pytest --update-goldens`` rewrites the goldens.
An optional ``<kind>_<case>.config.toml`` configures the scan.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pytest

from pipewarden.config import Config, parse_config
from pipewarden.engine import scan
from pipewarden.model import Status
from pipewarden.parse import load_paths
from pipewarden.rules import RULES, rule_by_key

FIXTURES = Path(__file__).parent / "fixtures"
FIXED_TODAY = dt.date(2026, 11, 25)


def fixture_files() -> list[Path]:
    out = []
    for path in sorted(FIXTURES.glob("*/*")):
        if path.name.endswith((".golden.json", ".config.toml")) or path.name.startswith("."):
            continue
        if path.is_file():
            out.append(path)
    return out


def _config_for(path: Path) -> Config:
    cfg = path.with_name(path.name.split(".")[0] + ".config.toml")
    if not cfg.exists():
        return Config()
    known = {r.meta.id: r.meta.id for r in RULES} | {r.meta.slug: r.meta.id for r in RULES}
    return parse_config(tomllib.loads(cfg.read_text()), source=str(cfg), known_rules=known)


def _is_snapshot(path: Path) -> bool:
    if path.suffix != ".json":
        return False
    doc = json.loads(path.read_text())
    return isinstance(doc, dict) and doc.get("format") == "pipewarden-snapshot"


def run_rule(path: Path) -> list[dict[str, object]]:
    slug = path.parent.name
    rule = rule_by_key(slug)
    assert rule is not None, f"fixture directory {slug} names no rule"
    loaded = load_paths([path])
    result = scan(loaded.inventories, rules=[rule], config=_config_for(path), today=FIXED_TODAY)
    rows = [
        {
            "rule_id": r.rule_id,
            "status": str(r.status),
            "severity": str(r.severity),
            "pipeline": r.pipeline,
            "pointer": r.location.pointer,
            "line": r.location.line,
            "message": r.message,
        }
        for r in result.results
    ]
    return sorted(
        rows,
        key=lambda x: (str(x["pipeline"]), str(x["pointer"]), str(x["status"]), str(x["message"])),
    )


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_rule_fixture(path: Path, update_goldens: bool) -> None:
    rows = run_rule(path)
    kind = path.name.split("_", 1)[0]
    statuses = {row["status"] for row in rows}
    assert rows, "the rule produced no result at all"
    if kind == "fail":
        assert Status.FAIL.value in statuses
    elif kind == "pass":
        assert statuses == {Status.PASS.value}
    elif kind == "unknown":
        assert Status.UNKNOWN.value in statuses
        assert Status.FAIL.value not in statuses
    else:
        pytest.fail(f"fixture name must start with fail_, pass_ or unknown_: {path.name}")
    # File inputs always carry a line; a snapshot is live-style (ARN#pointer) and has none.
    if not _is_snapshot(path):
        assert all(isinstance(row["line"], int) for row in rows), rows
    golden = path.with_name(path.name.split(".")[0] + ".golden.json")
    if update_goldens or not golden.exists():
        golden.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        if not update_goldens:
            pytest.fail(f"golden {golden.name} was missing and has been written; review it")
    assert rows == json.loads(golden.read_text())


def test_every_rule_has_fail_and_pass_fixtures() -> None:
    for rule in RULES:
        directory = FIXTURES / rule.meta.slug
        names = [p.name for p in directory.glob("*")] if directory.exists() else []
        assert any(n.startswith("fail_") for n in names), f"{rule.meta.id} has no fail_ fixture"
        assert any(n.startswith("pass_") for n in names), f"{rule.meta.id} has no pass_ fixture"
