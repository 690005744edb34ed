"""Terraform: ``terraform show -json`` plans and state, and raw ``.tf`` modules.

A plan is read from ``planned_values`` (state from ``values``), child modules
included; values known only after apply become unresolved evidence unless the
configuration shows them to be a reference to another resource in the plan.
Raw ``.tf`` files of one directory are read together as one module with
python-hcl2; references between resources, variables with defaults and
literal locals are resolved as far as they go.
"""

from __future__ import annotations

from typing import Any, Final

from pipewarden.errors import ParseError
from pipewarden.model import Inventory
from pipewarden.parse._source import JsonPositions, check_depth
from pipewarden.parse._terraform_inventory import build_inventory
from pipewarden.parse._terraform_plan import PlanCatalog, is_plan

__all__ = [
    "HCL_SOURCE_KIND",
    "PLAN_SOURCE_KIND",
    "is_terraform_plan",
    "parse_hcl",
    "parse_terraform_plan",
]

PLAN_SOURCE_KIND: Final = "Terraform plan"
HCL_SOURCE_KIND: Final = "Terraform configuration"


def is_terraform_plan(doc: Any) -> bool:
    """Whether a decoded JSON document is ``terraform show -json`` output (plan or state)."""
    return is_plan(doc)


def parse_terraform_plan(doc: Any, *, source: str, text: str) -> Inventory:
    """Parse decoded ``terraform show -json`` output into an Inventory."""
    if not is_plan(doc):
        raise ParseError(source, "not `terraform show -json` output")
    check_depth(doc, source)
    catalog = PlanCatalog(doc, source)
    return build_inventory(
        catalog,
        source_kind=PLAN_SOURCE_KIND,
        positions={source: JsonPositions(text)},
    )


def parse_hcl(texts: dict[str, str], *, module: str) -> Inventory | None:
    """Parse the ``.tf`` files of one module directory; None without ``aws_codepipeline``."""
    from pipewarden.parse._terraform_hcl import parse_module

    return parse_module(texts, module=module, source_kind=HCL_SOURCE_KIND)
