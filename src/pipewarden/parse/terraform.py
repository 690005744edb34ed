"""Terraform (being written)."""
from __future__ import annotations
from typing import Any
from pipewarden.errors import ParseError
from pipewarden.model import Inventory
def is_terraform_plan(doc: Any) -> bool:
    return False
def parse_terraform_plan(doc: Any, *, source: str, text: str) -> Inventory:
    raise ParseError(source, "unsupported")
def parse_hcl(texts: dict[str, str], *, module: str) -> Inventory | None:
    return None
