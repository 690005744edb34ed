"""Run an analysis in a child interpreter with a fixed hash seed (see ``analyze``).

The parent sends ``(artifact, osv paths, options)`` pickled on the child's
stdin and reads ``("ok", report)`` or ``("error", exception)`` pickled from
its stdout: both ends are this program, nothing else writes to the pipe.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipewarden.errors import Error

__all__ = ["run_in_worker"]


def run_in_worker(artifact: Path, osv_paths: tuple[Path, ...], options: dict[str, Any]) -> Any:
    """The report of ``analyze_here(artifact, osv_paths, **options)``, computed in a child."""
    payload = pickle.dumps((artifact, osv_paths, options))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [sys.executable, "-m", "pipewarden.reach._worker"],
        input=payload,
        stdout=subprocess.PIPE,
        env=env,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError(f"the analysis process failed (exit {proc.returncode})")
    status, value = pickle.loads(proc.stdout)  # noqa: S301 - our own child's output
    if status == "error":
        raise value
    if status == "crash":
        kind, message, trace = value
        if os.environ.get("PIPEWARDEN_DEBUG"):
            sys.stderr.write(trace)
        raise RuntimeError(f"the analysis failed: {kind}: {message}")
    return value


def main() -> int:
    import traceback

    from pipewarden.reach.analysis import analyze_here

    artifact, osv_paths, options = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    try:
        result: tuple[str, Any] = ("ok", analyze_here(artifact, osv_paths, **options))
    except Error as exc:
        result = ("error", exc)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        # An unexpected failure goes back as text: the parent reports it in one line
        # (and shows the traceback only in debug mode).
        result = ("crash", (type(exc).__name__, str(exc)[:500], traceback.format_exc()))
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
