"""Rules registered by family (merged into the explicit RULES tuple in rules/__init__.py)."""

from __future__ import annotations

from typing import Final

from pipewarden.rules._api import Rule

FAMILY: Final[tuple[Rule, ...]] = ()
