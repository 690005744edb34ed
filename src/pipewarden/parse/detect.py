"""Detect the kind of one input file and parse it."""

from __future__ import annotations

from pathlib import Path

from pipewarden.errors import InputError
from pipewarden.model import Inventory
from pipewarden.parse._source import check_depth, load_json, read_text

__all__ = ["load_file", "load_terraform_dir"]


def load_file(path: Path) -> Inventory | None:
    """Parse one file; None when it is not a pipeline input of any known kind."""
    from pipewarden.parse import cloudformation, getpipeline, snapshot, terraform

    source = str(path)
    suffix = path.suffix.lower()
    if suffix == ".tf":
        return load_terraform_dir(path.parent, [path])
    text = read_text(path)
    stripped = text.lstrip()
    if suffix == ".json" or stripped.startswith(("{", "[")):
        doc = load_json(text, source)
        check_depth(doc, source)
        if snapshot.is_snapshot(doc):
            return snapshot.parse_snapshot(doc, source=source, text=text)
        if getpipeline.is_get_pipeline(doc):
            return getpipeline.parse_get_pipeline(doc, source=source, text=text)
        if terraform.is_terraform_plan(doc):
            return terraform.parse_terraform_plan(doc, source=source, text=text)
        if cloudformation.is_cloudformation(doc):
            return cloudformation.parse_cloudformation_json(doc, source=source, text=text)
        return None
    if suffix in (".yaml", ".yml", ".template"):
        if not cloudformation.looks_like_cloudformation_yaml(text):
            return None
        return cloudformation.parse_cloudformation_yaml(text, source=source)
    return None


def load_terraform_dir(directory: Path, files: list[Path]) -> Inventory | None:
    """Parse the ``.tf`` files of one module directory together."""
    from pipewarden.parse import terraform

    texts = {}
    for f in sorted(files):
        texts[str(f)] = read_text(f)
    try:
        return terraform.parse_hcl(texts, module=str(directory))
    except InputError:
        raise
