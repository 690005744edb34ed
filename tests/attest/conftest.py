"""Keys made for the test run (PKCS#8 PEM), artifacts and a loopback moto server for KMS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from attest_keys import KeyPair, write_keypair


@pytest.fixture(params=["ed25519", "p256"])
def keypair(request: pytest.FixtureRequest, tmp_path: Path) -> KeyPair:
    return write_keypair(tmp_path / "keys", request.param)


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    path = tmp_path / "app.zip"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4096)
    return path


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port) for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and a region for boto3; no profile or real credential is read."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
