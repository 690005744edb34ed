"""The one error tree. Every error PipeWarden raises on purpose is an ``Error``."""

from __future__ import annotations

from typing import Any

__all__ = [
    "CollectionError",
    "ConfigError",
    "Error",
    "InputError",
    "ParseError",
    "RuleError",
]


class Error(Exception):
    """Root of every error PipeWarden raises deliberately."""

    def diagnostics(self) -> str:
        """One line for a person: what went wrong and where."""
        return str(self)


class ConfigError(Error):
    """The configuration file or a command-line option is invalid."""


class InputError(Error):
    """An input could not be read or is not acceptable (size, encoding, shape)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.source, self.message))


class ParseError(InputError):
    """An input was read but could not be understood."""

    def __init__(
        self, source: str, message: str, *, pointer: str = "", line: int | None = None
    ) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(where, message)
        self.source = source
        self.pointer = pointer
        self.line = line
        self.message = message

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_rebuild_parse_error, (self.source, self.message, self.pointer, self.line))


def _rebuild_parse_error(source: str, message: str, pointer: str, line: int | None) -> ParseError:
    return ParseError(source, message, pointer=pointer, line=line)


class CollectionError(Error):
    """Reading from AWS failed in a way that is not a recordable gap."""


class RuleError(Error):
    """A rule crashed. The scan continues; the exit code becomes 3."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(f"rule {rule_id} crashed: {message}")
        self.rule_id = rule_id
