"""Command-line plumbing: output encoding, logging set-up confined to one call."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from pipewarden.cli import main
from pipewarden.cli._io import emit


def test_emit_survives_a_narrow_encoding() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    emit(stream, "ghp_…(40 chars) café\n")
    assert raw.getvalue() == b"ghp_\\u2026(40 chars) caf\\xe9\n"


def test_logging_is_configured_only_for_the_call(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    logger = logging.getLogger("pipewarden")
    before = (list(logger.handlers), logger.level)
    assert main(["-v", "rules"], environ={}) == 0
    assert main(["scan", str(tmp_path / "missing.json"), "-v"], environ={}) == 2
    assert (list(logger.handlers), logger.level) == before
    capsys.readouterr()
