"""Snapshot (being written)."""
from __future__ import annotations
from typing import Any
from pipewarden.errors import ParseError
from pipewarden.model import Inventory
def is_snapshot(doc: Any) -> bool:
    return False
def parse_snapshot(doc: Any, *, source: str, text: str) -> Inventory:
    raise ParseError(source, "unsupported")
