"""Values in a fix plan: plain strings, references to resources the fix creates, and joins.

A fix plan is written once, in API terms, and rendered by several emitters.
A value that names a resource the fix creates (a role ARN, a bucket name) is
a :class:`Ref`: CloudFormation renders it ``!GetAtt Logical.Arn``, Terraform
``aws_iam_role.x.arn``, and the update-pipeline JSON its concrete value. A
:class:`Join` concatenates strings and references (an object ARN under a new
bucket).

Concrete values use the CloudFormation pseudo-parameter placeholders
``${AWS::AccountId}``, ``${AWS::Region}`` and ``${AWS::Partition}`` wherever
the deployment decides them; the readers use the same convention, so a value
read back from an emitted template compares equal to the planned one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

__all__ = [
    "ACCOUNT",
    "PARTITION",
    "REGION",
    "Join",
    "Ref",
    "Text",
    "concrete",
    "has_placeholder",
    "localize",
    "logical_id",
    "physical_name",
    "text_parts",
]

ACCOUNT: Final = "${AWS::AccountId}"
REGION: Final = "${AWS::Region}"
PARTITION: Final = "${AWS::Partition}"
_PSEUDO: Final = re.compile(r"\$\{AWS::(AccountId|Region|Partition)\}")


@dataclass(frozen=True, slots=True)
class Ref:
    """An attribute of a resource: ``attr`` "Ref" is CloudFormation's ``Ref`` value.

    ``value`` is what the attribute will be (with placeholders for what the
    deployment decides), ``tf`` the Terraform expression for it.
    """

    logical_id: str
    attr: str
    value: str
    tf: str = ""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Join:
    """Strings and references concatenated (``arn:aws:s3:::`` + bucket + ``/*``)."""

    parts: tuple[str | Ref, ...]

    @property
    def value(self) -> str:
        return "".join(p.value if isinstance(p, Ref) else p for p in self.parts)

    def __str__(self) -> str:
        return self.value


Text: TypeAlias = str | Ref | Join
"""A string-valued field of a plan."""


def join(*parts: Text) -> Text:
    """Concatenate texts, flattening joins; a single plain string stays a string."""
    flat: list[str | Ref] = []
    for part in parts:
        if isinstance(part, Join):
            flat.extend(part.parts)
        else:
            flat.append(part)
    merged: list[str | Ref] = []
    for part in flat:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        elif part != "":
            merged.append(part)
    if not merged:
        return ""
    if len(merged) == 1:
        return merged[0]
    return Join(tuple(merged))


def concrete(value: Text) -> str:
    """The concrete string of a text (references give their planned value)."""
    if isinstance(value, Ref | Join):
        return value.value
    return value


def text_parts(value: Text) -> tuple[str | Ref, ...]:
    """A text as a sequence of strings and references."""
    if isinstance(value, Join):
        return value.parts
    return (value,)


def has_placeholder(value: str) -> bool:
    """Whether a string holds a pseudo-parameter placeholder."""
    return bool(_PSEUDO.search(value))


_ID_CHARS: Final = re.compile(r"[^A-Za-z0-9]+")


def logical_id(*words: str, limit: int = 255) -> str:
    """A CloudFormation logical id from words (alphanumeric, each word capitalised)."""
    out = [
        piece[:1].upper() + piece[1:] for word in words for piece in _ID_CHARS.split(word) if piece
    ]
    text = "".join(out) or "Resource"
    if not text[0].isalpha():
        text = "R" + text
    if len(text) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        text = text[: limit - 8] + digest
    return text


_NAME_CHARS: Final = re.compile(r"[^A-Za-z0-9+=,.@_-]+")


def physical_name(*words: str, limit: int = 64, lower: bool = False) -> str:
    """A resource name from words joined by ``-``, at most ``limit`` characters.

    Characters IAM does not allow in role names are replaced; a name that is too
    long keeps its start and gains a short digest of the whole, so two long
    names that share a prefix still differ.
    """
    text = "-".join(_NAME_CHARS.sub("-", w).strip("-") for w in words if w)
    text = re.sub(r"-{2,}", "-", text)
    if lower:
        text = text.lower()
    if len(text) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        text = text[: limit - 9].rstrip("-") + "-" + digest
    return text


_ARN_HEAD: Final = re.compile(r"^arn:([^:]*):([^:]*):([^:]*):([^:]*):")


def localize(value: Any, account: str, region: str) -> Any:
    """In a new template, the pipeline's own account and region are the stack's: write them
    as ``${AWS::AccountId}``/``${AWS::Region}`` so the template is consistent wherever the
    pipeline's literal ARNs and the new resources meet."""
    if isinstance(value, str):
        match = _ARN_HEAD.match(value)
        if not match:
            return value
        part, service, arn_region, arn_account = match.groups()
        if account and arn_account == account and account.isdigit():
            arn_account = "${AWS::AccountId}"
        if region and arn_region == region and "${" not in region:
            arn_region = "${AWS::Region}"
        return f"arn:{part}:{service}:{arn_region}:{arn_account}:" + value[match.end() :]
    if isinstance(value, Join):
        parts = list(value.parts)
        if parts and isinstance(parts[0], str):
            parts[0] = localize(parts[0], account, region)
        return Join(tuple(parts))
    if isinstance(value, Mapping):
        return {k: localize(v, account, region) for k, v in value.items()}
    if isinstance(value, list):
        return [localize(v, account, region) for v in value]
    return value
