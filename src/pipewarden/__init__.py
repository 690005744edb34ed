"""PipeWarden: supply-chain posture, fixes and verifiers for AWS CodePipeline.

The public names are imported on first use, so that ``import pipewarden`` (and
the in-pipeline verifier commands) start quickly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "RULES",
    "Finding",
    "Inventory",
    "Location",
    "Result",
    "Severity",
    "Status",
    "__version__",
    "load_paths",
    "scan",
]

_LAZY = {
    "RULES": "pipewarden.rules",
    "Finding": "pipewarden.model",
    "Inventory": "pipewarden.model",
    "Location": "pipewarden.model",
    "Result": "pipewarden.model",
    "Severity": "pipewarden.model",
    "Status": "pipewarden.model",
    "load_paths": "pipewarden.parse",
    "scan": "pipewarden.engine",
}

if TYPE_CHECKING:
    from pipewarden.engine import scan
    from pipewarden.model import Finding, Inventory, Location, Result, Severity, Status
    from pipewarden.parse import load_paths
    from pipewarden.rules import RULES


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipewarden' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
