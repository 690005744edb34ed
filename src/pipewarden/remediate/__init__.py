"""Fixes: from any input the scanner reads, the hardened pipeline and everything it needs.

:func:`plan_fixes` (pure) turns an Inventory into a
:class:`~pipewarden.remediate.plan.FixPlan`; :func:`render` writes a plan in
one of :data:`FORMATS`; :func:`fix_file` does both for a file or a Terraform
module directory. Nothing here calls AWS: applying a plan to an account is
:mod:`pipewarden.collect.apply`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from pipewarden.remediate._iamdb import RemediationError
from pipewarden.remediate.plan import FixOptions, FixPlan

if TYPE_CHECKING:
    from pipewarden.config import Config
    from pipewarden.model import Inventory

__all__ = [
    "FORMATS",
    "FixOptions",
    "FixOutput",
    "FixPlan",
    "RemediationError",
    "fix_file",
    "load_input",
    "plan_fixes",
    "render",
]

FORMATS: Final = ("cloudformation", "terraform", "pipeline-json", "diff")


@dataclass
class FixOutput:
    """Rendered files (``""`` is the main document; other keys are paths or names of
    further files) and notes for the person reading them."""

    plan: FixPlan
    format: str
    files: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def main(self) -> str:
        return self.files.get("", "")


def plan_fixes(
    inventory: Inventory,
    *,
    config: Config | None = None,
    options: FixOptions | None = None,
    source: str = "",
) -> FixPlan:
    """Plan the fixes of every pipeline of an inventory (pure)."""
    from pipewarden.remediate.planner import plan_fixes as _plan

    return _plan(inventory, config=config, options=options, source=source)


def _input_files(path: Path) -> dict[str, str]:
    if path.is_dir():
        return {str(f): f.read_text(encoding="utf-8") for f in sorted(path.glob("*.tf"))}
    return {str(path): path.read_text(encoding="utf-8")}


def load_input(path: Path) -> Inventory:
    """One input: a file, or the ``.tf`` files of one module directory."""
    from pipewarden.parse import load_paths

    loaded = load_paths([path])
    if loaded.errors:
        raise loaded.errors[0]
    if len(loaded.inventories) != 1:
        raise RemediationError(
            f"{path}: fix takes one file or one Terraform module directory "
            f"(found {len(loaded.inventories)} inputs)"
        )
    return loaded.inventories[0]


def render(plan: FixPlan, fmt: str, *, input_files: Mapping[str, str] | None = None) -> FixOutput:
    """Write a plan in ``fmt``; ``input_files`` are the input's own files (path -> text),
    which template and module inputs are patched from."""
    from pipewarden.model import KeyStyle

    if fmt not in FORMATS:
        raise RemediationError(f"unknown format `{fmt}` (one of {', '.join(FORMATS)})")
    files = dict(input_files or {})
    styles = {p.pipeline.loc.style for p in plan.pipelines}
    cfn_input = styles == {KeyStyle.CLOUDFORMATION} and len(files) == 1
    tf_input = (
        styles == {KeyStyle.TERRAFORM}
        and bool(files)
        and all(name.endswith(".tf") for name in files)
    )
    out = FixOutput(plan, fmt)
    out.notes.extend(plan.notes)
    for pipeline in plan.pipelines:
        out.notes.extend(f"{pipeline.name}: {note}" for note in pipeline.notes)
    if fmt == "pipeline-json":
        from pipewarden.remediate import pipeline_json

        out.files[""] = pipeline_json.render(plan, out.notes)
        return out
    if fmt == "cloudformation" or (fmt == "diff" and cfn_input):
        from pipewarden.remediate import cloudformation

        source = next(iter(files.items())) if cfn_input else None
        yaml = not (source is not None and source[1].lstrip().startswith("{"))
        emitted = cloudformation.render(plan, text=source[1] if source else None, yaml=yaml)
        out.notes.extend(emitted.notes)
        if fmt == "diff" and source is not None:
            from pipewarden.remediate.diff import unified

            secrets = set().union(*(p.redact for p in plan.pipelines))
            out.files[""] = unified(source[1], emitted.main, source[0], secrets)
        else:
            out.files[""] = emitted.main
        for account, text in emitted.extra.items():
            out.files[f"account-{account}"] = text
        if emitted.extra:
            out.notes.append(
                "roles for cross-account actions are in separate templates, one per account: "
                + ", ".join(sorted(emitted.extra))
            )
        return out
    if fmt == "terraform" or (fmt == "diff" and tf_input):
        from pipewarden.remediate import terraform

        rendered = terraform.render(plan, module_files=files if tf_input else None)
        if fmt == "diff":
            from pipewarden.remediate.diff import unified

            secrets = set().union(*(p.redact for p in plan.pipelines))
            chunks = []
            for name, text in sorted(rendered.items()):
                before = files.get(name)
                chunks.append(unified(before or "", text, name, secrets, new=before is None))
            out.files[""] = "".join(chunks)
            return out
        if tf_input:
            new_name = next(k for k in rendered if k.endswith(terraform.NEW_FILE))
            out.files[""] = rendered.pop(new_name)
            out.files[new_name] = out.files[""]
            out.files.update(rendered)
        else:
            out.files[""] = rendered.pop("main.tf")
            out.files.update(rendered)
        return out
    from pipewarden.remediate.diff import declaration_diff

    name = next(iter(files), plan.source or "pipeline.json")
    out.files[""] = declaration_diff(plan, name)
    return out


def fix_file(
    path: Path,
    fmt: str,
    *,
    config: Config | None = None,
    options: FixOptions | None = None,
) -> FixOutput:
    """Plan and render the fix of one input file or Terraform module directory."""
    inventory = load_input(path)
    plan = plan_fixes(inventory, config=config, options=options, source=str(path))
    return render(plan, fmt, input_files=_input_files(path))
