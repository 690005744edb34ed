"""Detects one action role serving actions of different providers or different stages.

## Rationale
Per-action roles only limit the blast radius when each role serves one kind
of work. A role shared by a build and a deploy action, or by the test and
production stages, must hold the permissions of both, so the code that runs
in the less trusted action (a build running contributed code, a staging
deploy) can do whatever the more trusted one can, such as deploying to
production.

## Remediation
Give each stage, and each provider within a stage, its own `roleArn` with
only the permissions that action needs, each trusted only by the pipeline
service role. Two actions of the same provider in the same stage (parallel
deploys to one environment) may share a role.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Action, Finding, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import located

META = RuleMeta(
    id="PW304",
    slug="role-shared-across-actions",
    title="One role serves actions of different providers or different stages",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_5,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/how-to-custom-role.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html",
    ),
)


def _kind(action: Action) -> tuple[str, str]:
    return action.stage_name, action.provider


def _names(actions: list[Action]) -> str:
    shown = ", ".join(f"`{a.stage_name}/{a.name}`" for a in actions[:4])
    return shown + (f", +{len(actions) - 4} more" if len(actions) > 4 else "")


def check(ctx: RuleContext) -> Iterator[Finding]:
    groups: dict[str, list[Action]] = {}
    unresolved: list[Action] = []
    for action in ctx.actions():
        arn = action.role_arn
        if arn is None:
            continue
        if isinstance(arn, Unresolved):
            # The same expression resolves to the same role; different ones may too.
            groups.setdefault(f"?{arn.expr}", []).append(action)
            unresolved.append(action)
        else:
            groups.setdefault(arn, []).append(action)
    failed: set[str] = set()
    for key, actions in groups.items():
        stages = sorted({a.stage_name for a in actions})
        providers = sorted({a.provider for a in actions})
        if len(stages) < 2 and len(providers) < 2:
            continue
        failed.add(key)
        first = actions[0]
        shown_role = key[1:] if key.startswith("?") else key
        spread = []
        if len(stages) > 1:
            spread.append("stages " + ", ".join(f"`{s}`" for s in stages))
        if len(providers) > 1:
            spread.append("providers " + ", ".join(f"`{p}`" for p in providers))
        yield fail(
            first.loc / "roleArn",
            f"role `{shown_role}` serves {len(actions)} actions across {' and '.join(spread)}: "
            f"{_names(actions)}",
            **located(first),
            evidence={"role": shown_role, "actions": str(len(actions))},
        )
    # An unresolved role ARN might equal another action's role.
    if failed:
        return
    for action in unresolved:
        others = [
            other
            for key, members in groups.items()
            for other in members
            if other is not action
            and _kind(other) != _kind(action)
            and not (isinstance(action.role_arn, Unresolved) and key == f"?{action.role_arn.expr}")
        ]
        if others:
            reason = action.role_arn.reason if isinstance(action.role_arn, Unresolved) else ""
            yield unknown(
                action.loc / "roleArn",
                f"the role of action `{action.name}` in stage `{action.stage_name}` is unresolved "
                f"({reason}), so it may be the role of {_names(others)}",
                **located(action),
            )
            return


RULE = Rule(META, check, __doc__ or "")
