"""Scans of the bundled examples, and moto's AWS emulator on loopback."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipewarden.config import Config
from pipewarden.demo.server import Emulator, emulator
from pipewarden.engine import ScanResult
from pipewarden.rules import RULES
from pipewarden.runner import scan_paths

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TODAY = dt.date(2026, 11, 24)


def _scan(*relative: str) -> ScanResult:
    return scan_paths(
        [EXAMPLES / r for r in relative], rules=RULES, config=Config(), today=TODAY
    ).result


@pytest.fixture
def clock() -> Callable[[int], Callable[[], dt.datetime]]:
    """``clock(hour)``: a clock stopped at that hour of 2026-11-24 (UTC)."""

    def make(hour: int) -> Callable[[], dt.datetime]:
        when = dt.datetime(2026, 11, 24, hour, 0, 0, 250_000, tzinfo=dt.UTC)
        return lambda: when

    return make


@pytest.fixture(scope="session")
def live_scan() -> ScanResult:
    """Inputs that name their account and region (get-pipeline JSON, a snapshot)."""
    return _scan("get-pipeline", "snapshot")


@pytest.fixture(scope="session")
def template_scan() -> ScanResult:
    """Inputs that do not (CloudFormation): 161 results over 3 pipelines."""
    return _scan("cloudformation")


@pytest.fixture
def moto() -> Iterator[Emulator]:
    """moto's emulator on 127.0.0.1, empty at the start of each test."""
    with emulator("us-east-1") as emu:
        yield emu


@pytest.fixture
def aws_env(moto: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The standard credential chain pointed at the emulator (for the command line)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    return moto


@pytest.fixture
def all_findings() -> Callable[[Any], list[dict[str, Any]]]:
    """Every finding a Security Hub client can read (paginated)."""

    def read(client: Any) -> list[dict[str, Any]]:
        pages = client.get_paginator("get_findings").paginate()
        return [f for page in pages for f in page["Findings"]]

    return read
