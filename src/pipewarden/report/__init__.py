"""Report renderers: one module per format, each a pure ``ScanResult -> str``.

Every string in a report may come from an attacker-written input. Each format
escapes it for its own syntax (rich markup, markdown, HTML); JSON and SARIF
carry it as JSON string data. Renderers add no value that is not already in
the :class:`~pipewarden.engine.ScanResult`: secrets appear only in the masked
form the rules put in evidence, and pipeline declarations are never dumped.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from pipewarden._printable import printable
from pipewarden.errors import ConfigError

if TYPE_CHECKING:
    from pipewarden.engine import ScanResult
    from pipewarden.report._common import docs_url, rule_text

__all__ = ["DEFAULT_FORMAT", "FORMATS", "docs_url", "printable", "render", "rule_text"]

FORMATS: Final = ("table", "json", "sarif", "markdown", "html", "asff")
DEFAULT_FORMAT: Final = "table"
_MODULES: Final = {
    "json": "json_report",
    "sarif": "sarif",
    "markdown": "markdown",
    "html": "html",
    "asff": "asff",
}


def __getattr__(name: str) -> Any:
    if name in ("docs_url", "rule_text"):
        from pipewarden.report import _common

        return getattr(_common, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render(result: ScanResult, fmt: str, *, color: bool = False, **options: Any) -> str:
    """Render ``result`` in format ``fmt`` (one of :data:`FORMATS`).

    ``color`` adds ANSI colour to the table format (for a terminal); the other
    formats ignore it. ``options`` go to the format's own ``render`` (``asff``
    takes ``account``, ``region`` and ``clock``).
    """
    # Renderers are imported on use: commands that never render stay quick to start.
    if fmt == "table":
        from pipewarden.report import table

        return table.render(result, color=color)
    if fmt in _MODULES:
        module = importlib.import_module(f"pipewarden.report.{_MODULES[fmt]}")
        text: str = module.render(result, **options)
        return text
    raise ConfigError(f"unknown report format `{fmt}` (choose from {', '.join(FORMATS)})")
