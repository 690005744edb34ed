"""Values a template could not resolve, and the JSON value alias."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

__all__ = ["JsonValue", "Unresolved", "Value", "is_known", "mask", "split_arn", "text"]

JsonValue: TypeAlias = Any
"""A value decoded from JSON or YAML (dict, list, str, int, float, bool, None)."""


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A value the input names but does not determine (``ImportValue``, a parameter
    without default, an ``Fn::If`` whose branches differ, a Terraform value known
    only after apply). Rules treat it as missing evidence: ``unknown``, never pass.
    """

    expr: str
    reason: str

    def __str__(self) -> str:
        return f"<unresolved {self.expr}>"


Value: TypeAlias = str | Unresolved
"""A scalar from a declaration: a string, or what it would be if it could be resolved."""


def is_known(value: object) -> bool:
    """True when ``value`` is present and contains no unresolved part."""
    return value is not None and not isinstance(value, Unresolved)


def text(value: Value | None) -> str:
    """Printable form of a value (unresolved values show their expression)."""
    if value is None:
        return ""
    return str(value)


def mask(secret: str) -> str:
    """A secret's masked form: at most a 4-character prefix and its length.

    Short secrets show no prefix at all, so that no more than a quarter of a
    secret is ever revealed.
    """
    keep = min(4, len(secret) // 4)
    return f"{secret[:keep]}…({len(secret)} chars)"


_ARN_SEPARATOR: Final = re.compile(r":(?![^{}]*\})")


def split_arn(arn: str) -> list[str]:
    """The colon-separated fields of an ARN, keeping template placeholders whole.

    ``arn:aws:iam::${AWS::AccountId}:root`` has the account ``${AWS::AccountId}``,
    not ``${AWS``.
    """
    return _ARN_SEPARATOR.split(arn) if "${" in arn else arn.split(":")
