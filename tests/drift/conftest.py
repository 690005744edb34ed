"""moto's AWS emulator on loopback (real HTTP through boto3) for the drift tests.

Every test that asks for ``aws`` gets an empty emulator and the standard
credential chain pointed at it (dummy keys, ``AWS_ENDPOINT_URL``), so the
command line reaches it exactly as it would reach AWS.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipewarden.demo.server import Emulator, emulator

MOTO_ACCOUNT = "123456789012"  # the emulator's default account
REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/pipewarden-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/pipewarden-test-credentials")
    with emulator(REGION) as emu:
        monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint_url)
        yield emu
