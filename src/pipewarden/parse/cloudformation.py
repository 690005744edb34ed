"""CloudFormation (being written)."""
from __future__ import annotations
from typing import Any
from pipewarden.errors import ParseError
from pipewarden.model import Inventory
def is_cloudformation(doc: Any) -> bool:
    return False
def looks_like_cloudformation_yaml(text: str) -> bool:
    return False
def parse_cloudformation_json(doc: Any, *, source: str, text: str) -> Inventory:
    raise ParseError(source, "unsupported")
def parse_cloudformation_yaml(text: str, *, source: str) -> Inventory:
    raise ParseError(source, "unsupported")
