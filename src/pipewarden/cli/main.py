"""Entry point and sub-command dispatch."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    del argv
    print("pipewarden: not wired yet", file=sys.stderr)
    return 2
