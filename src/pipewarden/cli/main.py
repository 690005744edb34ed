"""Entry point and sub-command dispatch.

``main`` never raises and never prints a traceback unless asked: a deliberate
:class:`~pipewarden.errors.Error` (bad input, bad option, bad configuration)
is one line on stderr and exit 2; anything else is an internal error, one line
and exit 3, with the traceback only when ``PIPEWARDEN_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final, NoReturn, TextIO

from pipewarden import __version__
from pipewarden.cli._io import Context, say
from pipewarden.errors import Error

if TYPE_CHECKING:
    from pipewarden.rules._api import Rule

__all__ = ["build_parser", "main"]

# One module per command under pipewarden.cli, each with ``add_parser(subparsers)``
# registering its parser and setting ``command`` to its handler. Order = help order.
COMMAND_MODULES: Final = (
    "scan",
    "rules",
    "fix",
    "verify_commit",
    "sbom",
    "attest",
    "verify_handoff",
    "gate",
    "collect",
    "policy",
    "demo",
    "baseline",
    "drift",
    "trust",
    "history",
    "reach",
)

_LOGGER = "pipewarden"
_DEBUG_ENV = "PIPEWARDEN_DEBUG"


class UsageError(Error):
    """The command line is not valid."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, raised rather than exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = _Parser(
        prog="pipewarden",
        description="Supply-chain posture for AWS CodePipeline.",
    )
    parser.add_argument("--version", action="version", version=f"pipewarden {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="debug logging")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"pipewarden.cli.{name}").add_parser(sub)
    return parser


@contextmanager
def _logging(verbosity: int, stream: TextIO) -> Iterator[None]:
    """Send the ``pipewarden`` logger (only) to ``stream`` for one command."""
    logger = logging.getLogger(_LOGGER)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("pipewarden: %(levelname)s: %(name)s: %(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity > 0 else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def main(
    argv: Sequence[str] | None = None,
    *,
    rules: Sequence[Rule] | None = None,
    today: dt.date | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the command line; returns the exit code.

    The keyword arguments are the seams for embedding and tests: ``rules``
    replaces the rule registry (default :data:`pipewarden.rules.RULES`),
    ``today`` fixes the date suppression expiry is judged against, and
    ``environ`` replaces ``os.environ``.
    """
    stdout, stderr = sys.stdout, sys.stderr
    env = os.environ if environ is None else environ
    debug = env.get(_DEBUG_ENV) == "1"
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        ctx = Context(
            stdout=stdout,
            stderr=stderr,
            environ=env,
            today=today,
            rules_override=None if rules is None else tuple(rules),
        )
        parser = build_parser()
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exc:  # --help and --version print, then "exit"
            return exc.code if isinstance(exc.code, int) else 0
        command = getattr(args, "command", None)
        if command is None:
            names = ", ".join(COMMAND_MODULES)
            raise UsageError(f"a command is required: one of {names} (see `pipewarden --help`)")
        with _logging(getattr(args, "verbose", 0), stderr):
            code: int = command(args, ctx)
        return code
    except Error as exc:
        say(stderr, "error", exc.diagnostics())
        return 2
    except KeyboardInterrupt:
        say(stderr, "error", "interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - the command line's last-resort boundary
        hint = "" if debug else f" (set {_DEBUG_ENV}=1 for a traceback)"
        say(stderr, "internal error", f"{type(exc).__name__}: {exc}{hint}")
        if debug:
            traceback.print_exc(file=stderr)
        return 3
