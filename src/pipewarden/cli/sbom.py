"""``pipewarden sbom PATH [-o FILE]``: a CycloneDX 1.6 JSON SBOM for a build output.

The timestamp is the current time, or ``SOURCE_DATE_EPOCH`` when that is set
(reproducible builds): the same output then gives the same document byte for
byte. An unreadable, malformed or unsafe input (path traversal, symbolic links
or a decompression bomb in a zip) is a one-line error and exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipewarden.cli._io import Context, emit, say
from pipewarden.errors import ConfigError, Error

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``sbom`` sub-command."""
    parser = sub.add_parser(
        "sbom",
        help="write a CycloneDX 1.6 SBOM for a build output (directory or zip)",
        description=(
            "Write a CycloneDX 1.6 JSON SBOM listing the Python and npm packages that a build "
            "output declares (requirements, poetry.lock, uv.lock, Pipfile.lock, "
            "package-lock.json) or holds (installed *.dist-info)."
        ),
        epilog="exit codes: 0 written; 2 unreadable, malformed or unsafe input; 3 internal error",
    )
    parser.add_argument(
        "path", metavar="PATH", type=Path, help="build output: a directory, a zip, or one lock file"
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", type=Path, help="write the SBOM to FILE (default stdout)"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def _clock(environ: Mapping[str, str]) -> Callable[[], dt.datetime]:
    epoch = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return lambda: dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        fixed = dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise ConfigError(f"SOURCE_DATE_EPOCH={epoch[:40]!r} is not a Unix timestamp") from None
    return lambda: fixed


def run(args: argparse.Namespace, ctx: Context) -> int:
    """Write the SBOM; returns the exit code."""
    from pipewarden.attest.sbom import build_sbom

    text, count = build_sbom(args.path, clock=_clock(ctx.environ))
    if args.output is None:
        emit(ctx.stdout, text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise Error(f"{args.output}: cannot write the SBOM: {exc.strerror or exc}") from exc
    say(
        ctx.stderr,
        "",
        f"wrote CycloneDX 1.6 SBOM of {args.path} to {args.output}: {count} components",
    )
    return 0
