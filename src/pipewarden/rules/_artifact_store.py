"""Helpers shared by the source and artifact rules (PW1xx, PW2xx).

Artifact-store lookups that turn a missing bucket or key into an ``unknown``
finding, account comparison that respects CloudFormation placeholders,
principal classification for bucket and key policies, and the location a
finding about a resource should point at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from pipewarden.model import (
    ArtifactStore,
    Bucket,
    Finding,
    Gap,
    KmsKey,
    Loc,
    Unresolved,
)
from pipewarden.rules._api import RuleContext, arn_account, unknown
from pipewarden.rules._policy import Statement, action_matches

__all__ = [
    "Principal",
    "aws_principals",
    "bool_condition_is_false",
    "covers_action",
    "has_org_condition",
    "is_aws_managed_key_ref",
    "is_placeholder",
    "limited_to_account",
    "located",
    "same_account",
    "store_bucket",
    "store_key",
    "store_label",
]

_ACCOUNT_RE: Final = re.compile(r"^\d{12}$")


def located(ctx: RuleContext, resource_loc: Loc | None, fallback: Loc) -> Loc:
    """``resource_loc`` when it points into a document with positions, else ``fallback``.

    Resources from a template carry a location in the same file as the
    pipeline; resources from a snapshot do not, and a finding about them is
    reported where the pipeline references them.
    """
    if resource_loc is not None and resource_loc.subject in ctx.inventory.positions:
        return resource_loc
    return fallback


def store_label(store: ArtifactStore) -> str:
    """``artifact store`` or ``artifact store for <region>``."""
    return f"artifact store for {store.region}" if store.region else "artifact store"


def store_bucket(ctx: RuleContext, store: ArtifactStore) -> Bucket | Finding:
    """The artifact store's bucket, or an ``unknown`` finding saying why it is not known."""
    loc = store.loc / "location"
    if isinstance(store.location, Unresolved):
        return unknown(
            loc,
            f"the {store_label(store)} bucket is unresolved ({store.location.expr}): "
            f"{store.location.reason}",
        )
    found = ctx.inventory.bucket(store.location)
    if isinstance(found, Gap):
        return unknown(loc, f"the {store_label(store)} bucket is not known: {found.reason}")
    return found


def store_key(ctx: RuleContext, store: ArtifactStore) -> KmsKey | Finding | None:
    """The artifact store's KMS key (None when the store names none), or an ``unknown``."""
    ref = store.encryption_key
    if ref is None:
        return None
    loc = store.loc / "encryptionKey"
    if isinstance(ref, Unresolved):
        return unknown(
            loc,
            f"the {store_label(store)} encryption key is unresolved ({ref.expr}): {ref.reason}",
        )
    found = ctx.inventory.kms_key(ref)
    if isinstance(found, Gap):
        return unknown(loc, f"the {store_label(store)} encryption key is not known: {found.reason}")
    return found


def is_aws_managed_key_ref(ref: str) -> bool:
    """Whether a key reference names an AWS managed key by its reserved ``alias/aws/`` alias."""
    alias = ref.split(":", 5)[-1] if ref.startswith("arn:") else ref
    return alias.startswith("alias/aws/")


def same_account(a: str | Unresolved | None, b: str | Unresolved | None) -> bool | None:
    """Whether two account ids are the same account; None when one is not known.

    Follows the template convention of :class:`~pipewarden.rules._api.RuleContext`:
    the CloudFormation placeholder ``${AWS::AccountId}`` equals only itself, so a
    literal account id in a template names another account.
    """
    if a is None or b is None or isinstance(a, Unresolved) or isinstance(b, Unresolved):
        return None
    return a == b


def is_placeholder(account: str | Unresolved | None) -> bool:
    """Whether an account id is a template placeholder (``${AWS::AccountId}``)."""
    return isinstance(account, str) and "${" in account


@dataclass(frozen=True, slots=True)
class Principal:
    """An ``AWS`` principal of a policy statement, classified."""

    text: str
    account: str | None  # the account id; None for a wildcard or an unresolved value
    wildcard: bool = False
    unresolved: bool = False

    @property
    def is_root(self) -> bool:
        """A whole account: ``123456789012`` or ``arn:aws:iam::123456789012:root``."""
        return bool(_ACCOUNT_RE.match(self.text)) or self.text.endswith(":root")


def _principal(value: object) -> Principal:
    if isinstance(value, Unresolved):
        return Principal(value.expr, None, unresolved=True)
    text = str(value)
    if text == "*":
        return Principal(text, None, wildcard=True)
    if _ACCOUNT_RE.match(text):
        return Principal(text, text)
    account = arn_account(text)
    if isinstance(account, str):
        wildcard = "*" in text or "?" in text
        if "*" in account or "?" in account:
            return Principal(text, None, wildcard=True)
        return Principal(text, account, wildcard=wildcard)
    # Not an ARN nor an account id (a template logical id, a canonical user id...).
    return Principal(text, None, wildcard="*" in text)


def aws_principals(statement: Statement) -> Iterator[Principal]:
    """The statement's ``AWS`` principals (``Principal: "*"`` counts as one wildcard)."""
    for key, values in statement.principals.items():
        if key in ("AWS", "*", "?"):
            for value in values:
                yield _principal(value)


def covers_action(statement: Statement, action: str) -> bool | None:
    """Whether the statement's ``Action``/``NotAction`` covers ``action`` (None: unresolved)."""
    if statement.actions:
        verdicts = [action_matches(pattern, action) for pattern in statement.actions]
        if any(verdicts):
            return True
        return None if None in verdicts else False
    if statement.not_actions:
        verdicts = [action_matches(pattern, action) for pattern in statement.not_actions]
        if any(verdicts):
            return False
        return None if None in verdicts else True
    return False


def _condition_values(raw: object) -> tuple[object, ...]:
    if isinstance(raw, list | tuple):
        return tuple(raw)
    return (raw,)


def _values_of(statement: Statement, key: str) -> tuple[object, ...]:
    """Every value the statement's conditions give ``key`` (case-insensitive), any operator."""
    wanted = key.lower()
    out: list[object] = []
    for body in statement.conditions.values():
        for name, raw in body.items():
            if str(name).lower() == wanted:
                out.extend(_condition_values(raw))
    return tuple(out)


def has_org_condition(statement: Statement) -> bool:
    """Whether the statement is limited to an organisation (``aws:PrincipalOrgID``/``OrgPaths``)."""
    keys = statement.condition_keys()
    return "aws:principalorgid" in keys or "aws:principalorgpaths" in keys


def limited_to_account(statement: Statement, account: str | Unresolved | None) -> bool:
    """Whether a condition pins the caller to ``account`` (``aws:PrincipalAccount``,
    ``kms:CallerAccount``)."""
    for key in ("aws:PrincipalAccount", "kms:CallerAccount"):
        values = _values_of(statement, key)
        if values and all(same_account(str(v), account) is True for v in values):
            return True
    return False


def bool_condition_is_false(conditions: Mapping[str, Mapping[str, object]], key: str) -> bool:
    """Whether a ``Bool``/``BoolIfExists`` condition requires ``key`` to be false."""
    wanted = key.lower()
    for operator, body in conditions.items():
        if operator.lower() not in ("bool", "boolifexists"):
            continue
        for name, raw in body.items():
            if str(name).lower() != wanted:
                continue
            values = _condition_values(raw)
            if values and all(str(v).lower() == "false" for v in values):
                return True
    return False
