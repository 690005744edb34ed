"""Helpers shared by the flow-control rules (PW306, PW4xx): production and approvals."""

from __future__ import annotations

import re
from typing import Final

from pipewarden.model import Action, Stage, Unresolved, Value, split_arn
from pipewarden.rules._api import ActionRef, RuleContext, at_action

__all__ = [
    "VERSION_PLACEHOLDER",
    "Where",
    "is_manual_approval",
    "lambda_qualifier",
    "located",
    "maybe_production",
    "result_of",
    "split_function",
    "uncertain_production",
    "unpinned_reason",
]


Where = ActionRef


def located(action: Action | None) -> Where:
    """``stage=``/``action=`` keywords for :func:`fail`/:func:`unknown` (empty for None)."""
    if action is None:
        return {}
    return at_action(action)


_TARGET_KEYS = ("RoleArn", "AdministrationRoleArn", "DeploymentTargets")


def is_manual_approval(action: Action) -> bool:
    """A Manual approval action."""
    return action.category == "Approval" and action.provider == "Manual"


def maybe_production(ctx: RuleContext, action: Action) -> str | None:
    """Why a deploy action not classified as production might still be production.

    Production accounts are matched against the action's target accounts; when
    one of those is unresolved the classification is open. Returns the reason,
    or None when the classification is certain.
    """
    if not ctx.is_deploy(action) or ctx.is_production_deploy(action):
        return None
    if not ctx.config.production_accounts:
        return None
    if isinstance(action.role_arn, Unresolved):
        return f"the role of action `{action.name}` is unresolved ({action.role_arn.reason})"
    if action.role_arn is None and isinstance(ctx.pipeline_account, Unresolved):
        return f"the pipeline's account is unresolved ({ctx.pipeline_account.reason})"
    for key in _TARGET_KEYS:
        value = action.config(key)
        if isinstance(value, Unresolved):
            return f"`{key}` of action `{action.name}` is unresolved ({value.reason})"
    return None


def uncertain_production(ctx: RuleContext, stage: Stage) -> list[tuple[Action, str]]:
    """Deploy actions of a stage whose production classification is open, with why."""
    out = []
    for action in stage.actions:
        reason = maybe_production(ctx, action)
        if reason is not None:
            out.append((action, reason))
    return out


def result_of(value: Value | None) -> str | Unresolved | None:
    """A condition result upper-cased (``FAIL``), Unresolved as is, None when absent."""
    if value is None or isinstance(value, Unresolved):
        return value
    return value.strip().upper()


# A CloudFormation ``!Ref`` to an ``AWS::Lambda::Version`` resolves to ``${Logical.Version}``.
VERSION_PLACEHOLDER: Final = re.compile(r"^\$\{[^}]+\.Version\}$")


def split_function(name: str) -> tuple[str, str | None]:
    """(function name, qualifier) of a name, partial ARN or ARN.

    ``${...}`` placeholders (which may hold colons, ``${AWS::Region}``) are kept whole.
    """
    parts = split_arn(name)
    if parts[0] == "arn":
        # arn:aws:lambda:region:account:function:name[:qualifier]
        return (parts[6] if len(parts) > 6 else name), (parts[7] if len(parts) > 7 else None)
    if len(parts) >= 3 and parts[1] == "function":
        # account:function:name[:qualifier]
        return parts[2], (parts[3] if len(parts) > 3 else None)
    if len(parts) == 2:
        return parts[0], parts[1]
    return name, None


def lambda_qualifier(function: str) -> str | None:
    """The qualifier of a Lambda function reference (name, partial or full ARN), or None."""
    return split_function(function)[1] or None


def unpinned_reason(function: str) -> str | None:
    """Why a Lambda reference is not pinned to a published version, or None when it is."""
    _, qualifier = split_function(function)
    if not qualifier:
        return "has no version qualifier"
    if qualifier == "$LATEST":
        return "uses `$LATEST`"
    if not (qualifier.isdigit() or VERSION_PLACEHOLDER.match(qualifier)):
        return f"uses the alias `{qualifier}` (an alias can be repointed)"
    return None
