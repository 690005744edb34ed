"""Inputs the fix tests run over, and helpers to fix, re-read and rescan them."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipewarden.engine import scan
from pipewarden.model import Inventory, KeyStyle
from pipewarden.parse import load_paths
from pipewarden.remediate import FixOutput, fix_file
from pipewarden.rules import RULES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = ROOT / "tests" / "rules" / "fixtures"


def example_inputs() -> list[Path]:
    return [
        EXAMPLES / "cloudformation" / "weak-pipeline.yaml",
        EXAMPLES / "cloudformation" / "hardened-pipeline.yaml",
        EXAMPLES / "cloudformation" / "cdk.out" / "ReleasePipelineStack.template.json",
        EXAMPLES / "get-pipeline" / "payments-weak.json",
        EXAMPLES / "get-pipeline" / "checkout-hardened.json",
        EXAMPLES / "snapshot" / "example-snapshot.json",
        EXAMPLES / "terraform" / "payments",
        EXAMPLES / "terraform" / "orders.tfplan.json",
    ]


def fixture_inputs() -> list[Path]:
    out = []
    for path in sorted(FIXTURES.glob("*/*")):
        if path.name.endswith((".golden.json", ".config.toml")) or not path.is_file():
            continue
        out.append(path)
    return out


def all_inputs() -> list[Path]:
    return example_inputs() + fixture_inputs()


def label(path: Path) -> str:
    return str(path.relative_to(ROOT))


def inventory_of(path: Path) -> Inventory:
    loaded = load_paths([path])
    assert len(loaded.inventories) == 1, loaded.notes
    return loaded.inventories[0]


def natural_format(path: Path) -> str:
    styles = {p.loc.style for p in inventory_of(path).pipelines}
    if styles == {KeyStyle.CLOUDFORMATION}:
        return "cloudformation"
    if styles == {KeyStyle.TERRAFORM} and (path.is_dir() or path.suffix == ".tf"):
        return "terraform"
    return "pipeline-json"


def statuses(inventories: list[Inventory]) -> dict[tuple[str, str], str]:
    """Worst status per (pipeline, rule): fail > unknown > pass."""
    rank = {"fail": 2, "unknown": 1, "pass": 0}
    out: dict[tuple[str, str], str] = {}
    for result in scan(inventories, rules=RULES).results:
        key = (result.pipeline, result.rule_id)
        if key not in out or rank[str(result.status)] > rank[out[key]]:
            out[key] = str(result.status)
    return out


def write_output(out: FixOutput, source: Path, directory: Path) -> Path:
    """Write a fix output as a scannable input; returns what to load."""
    if out.format == "terraform":
        module = directory / "module"
        module.mkdir()
        if source.is_dir() or source.suffix == ".tf":
            originals = [source] if source.is_file() else sorted(source.glob("*.tf"))
            for original in originals:
                (module / original.name).write_text(original.read_text())
        for name, text in out.files.items():
            if not name or name.startswith("accounts/"):
                continue
            (module / Path(name).name).write_text(text)
        if "main.tf" not in out.files and not (source.is_dir() or source.suffix == ".tf"):
            (module / "main.tf").write_text(out.main)
        return module
    suffix = ".json" if out.main.lstrip().startswith(("{", "[")) else ".yaml"
    target = directory / f"fixed{suffix}"
    target.write_text(out.main)
    return target


def fixed_inventories(out: FixOutput, source: Path) -> Iterator[Inventory]:
    with tempfile.TemporaryDirectory() as tmp:
        target = write_output(out, source, Path(tmp))
        yield from load_paths([target]).inventories


def fix(path: Path, fmt: str) -> FixOutput:
    return fix_file(path, fmt)
