"""IAM policy documents as rules need them: normalised statements and matching."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pipewarden.model import JsonValue, Unresolved

__all__ = ["Statement", "action_matches", "statements"]


def _as_tuple(value: JsonValue) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(value)
    return (value,)


@dataclass(frozen=True, slots=True)
class Statement:
    """One policy statement with list-valued fields normalised to tuples.

    Elements may be :class:`Unresolved` when a template could not resolve them.
    ``principals`` maps ``AWS``/``Service``/``Federated``/``*`` to values.
    """

    index: int
    effect: str
    actions: tuple[Any, ...] = ()
    not_actions: tuple[Any, ...] = ()
    resources: tuple[Any, ...] = ()
    not_resources: tuple[Any, ...] = ()
    principals: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    not_principals: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sid: str | None = None

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    def condition_keys(self) -> frozenset[str]:
        """Every condition key used, lower-cased (``aws:sourcearn``...)."""
        return frozenset(k.lower() for ops in self.conditions.values() for k in ops)


def _principals(value: JsonValue) -> dict[str, tuple[Any, ...]]:
    if value is None:
        return {}
    if value == "*":
        return {"*": ("*",)}
    if isinstance(value, Mapping):
        return {str(k): _as_tuple(v) for k, v in value.items()}
    return {"?": (value,)}


def statements(document: JsonValue) -> Iterator[Statement]:
    """Normalised statements of a policy document (tolerates a single statement object)."""
    if not isinstance(document, Mapping):
        return
    raw = document.get("Statement")
    for index, st in enumerate(_as_tuple(raw)):
        if not isinstance(st, Mapping):
            continue
        conditions = st.get("Condition")
        yield Statement(
            index=index,
            effect=str(st.get("Effect", "")),
            actions=_as_tuple(st.get("Action")),
            not_actions=_as_tuple(st.get("NotAction")),
            resources=_as_tuple(st.get("Resource")),
            not_resources=_as_tuple(st.get("NotResource")),
            principals=_principals(st.get("Principal")),
            not_principals=_principals(st.get("NotPrincipal")),
            conditions={
                str(op): (dict(body) if isinstance(body, Mapping) else {})
                for op, body in (conditions.items() if isinstance(conditions, Mapping) else [])
            },
            sid=str(st["Sid"]) if isinstance(st.get("Sid"), str) else None,
        )


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> str:
    return pattern.lower()


def action_matches(pattern: object, action: str) -> bool | None:
    """Whether an IAM action pattern (``s3:*``, ``iam:Pass*``) matches ``action``.

    None when the pattern is unresolved.
    """
    if isinstance(pattern, Unresolved):
        return None
    if not isinstance(pattern, str):
        return False
    return fnmatch.fnmatchcase(action.lower(), _compile(pattern))


def is_unresolved(value: object) -> bool:
    """True when ``value`` is or contains an unresolved part."""
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, Mapping):
        return any(is_unresolved(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unresolved(v) for v in value)
    return False
