"""What every command shares: the streams, the rule registry, one-line messages."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from pipewarden._printable import printable
from pipewarden.errors import ConfigError

if TYPE_CHECKING:
    from pipewarden.rules._api import Rule

__all__ = ["Context", "emit", "positive_int", "resolve_rule", "rule_lookup", "say"]


@dataclass(frozen=True, slots=True)
class Context:
    """The environment a command runs in, injected so tests need no patching."""

    stdout: TextIO
    stderr: TextIO
    environ: Mapping[str, str]
    today: dt.date | None = None
    rules_override: Sequence[Rule] | None = None

    @property
    def rules(self) -> Sequence[Rule]:
        """The rules to run (the registry unless replaced). Imported on first use, so
        commands that run no rule (the in-pipeline verifiers) start quickly."""
        if self.rules_override is not None:
            return self.rules_override
        return self.known_rules

    @property
    def known_rules(self) -> Sequence[Rule]:
        """Every rule the configuration may name: the registry."""
        from pipewarden.rules import RULES

        return RULES


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def emit(stream: TextIO, text: str) -> None:
    """Write ``text`` to ``stream``, whatever its encoding; a closed pipe is not an error."""
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:
            encoding = getattr(stream, "encoding", None) or "ascii"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
        stream.flush()
    except BrokenPipeError:
        # The reader went away (``| head``): stop writing, keep the exit code.
        if stream is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def say(stream: TextIO, level: str, message: str) -> None:
    """One line, ``pipewarden: <level>: <message>`` (no level when empty), for stderr."""
    prefix = f"pipewarden: {level}: " if level else "pipewarden: "
    emit(stream, f"{prefix}{printable(message)}\n")


def rule_lookup(rules: Sequence[Rule]) -> dict[str, Rule]:
    """Every key a rule answers to: its id (any case), slug and aliases."""
    table: dict[str, Rule] = {}
    for rule in rules:
        meta = rule.meta
        for key in (meta.id, meta.id.lower(), meta.slug, *meta.aliases):
            table.setdefault(key, rule)
    return table


def resolve_rule(key: str, rules: Sequence[Rule]) -> Rule:
    """The rule named by ``key`` (id or slug); ConfigError when there is none."""
    wanted = key.strip()
    table = rule_lookup(rules)
    rule = table.get(wanted) or table.get(wanted.upper())
    if rule is None:
        raise ConfigError(f"unknown rule `{wanted}` (run `pipewarden rules` for the list)")
    return rule
