"""The rule registry: one explicit, sorted tuple. No decorators, no auto-import."""

from __future__ import annotations

from typing import Final

from pipewarden.rules import _family_a, _family_b, _family_c, pipeline_v1
from pipewarden.rules._api import Rule, RuleContext, RuleMeta

__all__ = ["RULES", "Rule", "RuleContext", "RuleMeta", "rule_by_key"]

RULES: Final[tuple[Rule, ...]] = tuple(
    sorted(
        (
            pipeline_v1.RULE,
            *_family_a.FAMILY,
            *_family_b.FAMILY,
            *_family_c.FAMILY,
        ),
        key=lambda r: r.meta.id,
    )
)


def rule_by_key(key: str) -> Rule | None:
    """Find a rule by id (``PW101``), slug or alias, case-insensitively for ids."""
    wanted = key.strip()
    for rule in RULES:
        if wanted.upper() == rule.meta.id or wanted in (rule.meta.slug, *rule.meta.aliases):
            return rule
    return None
