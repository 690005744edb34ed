"""moto's AWS emulator on a free loopback port, in this process or in a child process.

moto keeps its state in module-level backends shared by every server of a
process, so :func:`emulator` starts from an empty state (moto's reset call)
and leaves the state it made for whoever comes next to reset.

``emulator(process=True)`` runs the emulator in a child Python process
(``python -m pipewarden.demo.server``) so that it does not share the caller's
interpreter lock: what a benchmark of the collector needs, since AWS does not
run inside the scanner either.

Every answer can be delayed, like network latency, by
:meth:`Emulator.set_latency`; the delay is applied by the server (a WSGI
middleware), so every call pays it whichever session, client or thread makes
it. The emulator serves each request in its own thread, so delays overlap as
they would over a network.
"""

from __future__ import annotations

import argparse
import http.client
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qs

from pipewarden.errors import ConfigError

__all__ = ["DEMO_CREDENTIALS", "Emulator", "emulator", "main", "session"]

# moto accepts any credentials; these map to its default account 123456789012.
DEMO_CREDENTIALS: Final = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",  # the emulator's well-known dummy key
}
_LOOPBACK: Final = "127.0.0.1"
_CONTROL: Final = "/_pipewarden/latency"
_START_TIMEOUT: Final = 60.0


class _Latency:
    """WSGI middleware: wait before answering each request, like a network.

    ``POST /_pipewarden/latency?ms=N`` sets the delay (this emulator only).
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seconds = 0.0

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if environ.get("PATH_INFO") == _CONTROL and environ.get("REQUEST_METHOD") == "POST":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            try:
                self.seconds = max(0.0, float(query.get("ms", ["0"])[0]) / 1000)
            except ValueError:
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"ms must be a number\n"]
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{self.seconds * 1000:g}\n".encode()]
        if self.seconds > 0:
            time.sleep(self.seconds)
        return self.app(environ, start_response)


def _post(port: int, path: str) -> str:
    conn = http.client.HTTPConnection(_LOOPBACK, port, timeout=60)
    try:
        conn.request("POST", path)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        if response.status != 200:
            raise ConfigError(f"the AWS emulator refused {path} (HTTP {response.status})")
        return body
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class Emulator:
    """A running emulator."""

    endpoint_url: str
    region: str
    port: int
    pid: int  # the process serving it (this one, or the child)

    def session(self) -> Any:
        """A boto3 session with the emulator's dummy credentials."""
        return session(self.region)

    def set_latency(self, seconds: float) -> None:
        """Delay every later answer by ``seconds`` (0 for none)."""
        _post(self.port, f"{_CONTROL}?ms={max(0.0, seconds) * 1000:g}")


def session(region: str) -> Any:
    """A boto3 session with dummy credentials (for the emulator only)."""
    import boto3

    return boto3.Session(region_name=region, **DEMO_CREDENTIALS)


def _moto_app() -> tuple[Any, Any]:
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
    except ImportError as exc:  # moto is the optional `demo` extra
        raise ConfigError(
            f"the demo needs moto's AWS emulator ({exc.name or 'moto'} is not installed): "
            "pip install 'pipewarden[demo]'"
        ) from None
    return DomainDispatcherApplication(create_backend_app), MotoRequestHandler


@contextmanager
def _serve(port: int = 0) -> Iterator[int]:
    """The emulator served by a thread of this process; yields its port."""
    from werkzeug.serving import make_server

    app, handler = _moto_app()
    # werkzeug logs every request at INFO on its own logger; keep the demo's output clean.
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)
    server = make_server(_LOOPBACK, port, _Latency(app), threaded=True, request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, name="moto-emulator", daemon=True)
    thread.start()
    try:
        _post(server.server_port, "/moto-api/reset")  # empty every moto backend
        yield server.server_port
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        werkzeug.setLevel(level)


@contextmanager
def _child() -> Iterator[tuple[int, int]]:
    """The emulator in a child process; yields its port and process id."""
    child = subprocess.Popen(
        [sys.executable, "-m", "pipewarden.demo.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = child.stdout.readline().strip() if child.stdout is not None else ""
        if not line.isdigit():
            raise ConfigError("the AWS emulator process did not start (is moto installed?)")
        yield int(line), child.pid
    finally:
        if child.stdin is not None:
            child.stdin.close()  # the child stops when its stdin closes
        try:
            child.wait(timeout=_START_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@contextmanager
def emulator(region: str = "us-east-1", *, process: bool = False) -> Iterator[Emulator]:
    """Run moto on ``127.0.0.1`` (a free port) during the block, empty at the start.

    ``process``: in a child process rather than a thread of this one.
    """
    if process:
        with _child() as (port, pid):
            yield Emulator(f"http://{_LOOPBACK}:{port}", region, port, pid)
    else:
        with _serve() as port:
            yield Emulator(f"http://{_LOOPBACK}:{port}", region, port, os.getpid())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pipewarden.demo.server``: serve until stdin closes; print the port."""
    parser = argparse.ArgumentParser(prog="python -m pipewarden.demo.server")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    args = parser.parse_args(argv)
    with _serve(args.port) as port:
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the parent closes the pipe (or exits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
