"""A moto server on loopback for the collector tests (real HTTP through boto3).

One server for the session; every test starts from an empty emulator (moto's
``POST /moto-api/reset``). Helpers live in ``collect_moto.py``.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from collect_moto import Seed, free_port, new_session
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def endpoint(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The emulator, emptied; no AWS configuration from the environment leaks in."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/pipewarden-test-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/pipewarden-test-credentials")
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        assert response.status == 200
    return moto_url


@pytest.fixture
def session(endpoint: str) -> boto3.Session:
    return new_session()


@pytest.fixture
def seed(endpoint: str, session: boto3.Session) -> Seed:
    return Seed(endpoint, session)
