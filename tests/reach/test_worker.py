"""The analysis child process: its failures come back as one line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipewarden.errors import InputError
from pipewarden.reach._worker import run_in_worker


def test_an_unexpected_failure_is_one_line_without_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIPEWARDEN_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match=r"^the analysis failed: TypeError: .*bogus"):
        run_in_worker(tmp_path, (), {"bogus": 1})
    assert "Traceback" not in capfd.readouterr().err


def test_debug_mode_shows_the_child_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIPEWARDEN_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run_in_worker(tmp_path, (), {"bogus": 1})
    assert "Traceback" in capfd.readouterr().err


def test_a_pipewarden_error_crosses_as_itself(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        run_in_worker(tmp_path / "missing", (), {})
