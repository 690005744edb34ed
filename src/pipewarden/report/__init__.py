"""Report renderers: one module per format, each a pure ``ScanResult -> str``.

Every string in a report may come from an attacker-written input. Each format
escapes it for its own syntax (rich markup, markdown, HTML); JSON and SARIF
carry it as JSON string data. Renderers add no value that is not already in
the :class:`~pipewarden.engine.ScanResult`: secrets appear only in the masked
form the rules put in evidence, and pipeline declarations are never dumped.
"""

from __future__ import annotations

from typing import Final

from pipewarden.engine import ScanResult
from pipewarden.errors import ConfigError
from pipewarden.report import html, json_report, markdown, sarif, table
from pipewarden.report._common import docs_url, printable, rule_text

__all__ = ["DEFAULT_FORMAT", "FORMATS", "docs_url", "printable", "render", "rule_text"]

FORMATS: Final = ("table", "json", "sarif", "markdown", "html")
DEFAULT_FORMAT: Final = "table"


def render(result: ScanResult, fmt: str, *, color: bool = False) -> str:
    """Render ``result`` in format ``fmt`` (one of :data:`FORMATS`).

    ``color`` adds ANSI colour to the table format (for a terminal); the other
    formats ignore it.
    """
    if fmt == "table":
        return table.render(result, color=color)
    if fmt == "json":
        return json_report.render(result)
    if fmt == "sarif":
        return sarif.render(result)
    if fmt == "markdown":
        return markdown.render(result)
    if fmt == "html":
        return html.render(result)
    raise ConfigError(f"unknown report format `{fmt}` (choose from {', '.join(FORMATS)})")
