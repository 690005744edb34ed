"""Detects identities that may bypass the pipeline's gates by overriding, disabling or rewriting them.

## Rationale
Stage conditions, approvals and disabled transitions only protect a release
if nobody can switch them off. `codepipeline:OverrideStageCondition` skips a
failing `beforeEntry` or `onSuccess` check, `codepipeline:DisableStageTransition`
(with `EnableStageTransition`) controls which stage runs next, and
`codepipeline:UpdatePipeline` rewrites the whole declaration: gates,
approvals, roles and all. Outside a small, audited break-glass group, anyone
holding these rights on the pipeline can ship an unreviewed change.

PipeWarden reads the identity policies in the input (users, groups, roles,
including the pipeline's own roles) and reports each `Allow` of one of these
actions on a resource matching this pipeline (`*`, the pipeline ARN, a stage
ARN, or a pattern matching them) to an identity not listed in
`rules.PW309.break_glass`. Only the principals in the input are seen: unless
the input is a complete snapshot of the account's IAM, a pipeline with no
failing grant is unknown, not pass.

## Remediation
Remove these actions from day-to-day identities and from every pipeline,
action and build role; pipeline changes go through infrastructure as code
reviewed like any other change. Grant them to a break-glass role that needs
MFA and is monitored, and list that role in the configuration:

```toml
[rules.PW309]
break_glass = ["arn:aws:iam::111122223333:role/BreakGlass"]
```
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._iam import (
    Grant,
    grant_loc,
    grants,
    pipeline_arn,
    policy_label,
)

META = RuleMeta(
    id="PW309",
    slug="condition-override-allowed",
    title="Identities beyond break-glass may override, disable or rewrite pipeline gates",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_1,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/stage-conditions.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html",
    ),
    needs=frozenset({"identity-policies", "role"}),
)

STAGE_ACTIONS = ("codepipeline:OverrideStageCondition", "codepipeline:DisableStageTransition")
PIPELINE_ACTIONS = ("codepipeline:UpdatePipeline",)


def break_glass(ctx: RuleContext) -> tuple[str, ...]:
    """The configured break-glass identities (ARNs or names)."""
    raw = ctx.config.option(META.id, "break_glass", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        return ()
    return tuple(x for x in raw if isinstance(x, str) and x)


def is_break_glass(principal: str, allowed: tuple[str, ...]) -> bool:
    """Exact ARN match; a name (or template logical id) matches the ARN's last path segment."""
    if principal in allowed:
        return True
    name = principal.rsplit("/", 1)[-1]
    for entry in allowed:
        if principal.startswith("arn:") and entry.startswith("arn:"):
            continue
        if entry.rsplit("/", 1)[-1] == name:
            return True
    return False


def check(ctx: RuleContext) -> Iterator[Finding]:
    pipeline = ctx.pipeline
    allowed = break_glass(ctx)
    base, why = pipeline_arn(ctx)
    stage_targets = [f"{base}/{s.name}" for s in pipeline.stages] if base else None
    pipeline_targets = [base] if base else None
    opens: list[str] = [why] if why else []
    failed = False
    by_statement: dict[tuple[str, str, int], list[Grant]] = {}
    for actions, targets in (
        (STAGE_ACTIONS, stage_targets),
        (PIPELINE_ACTIONS, pipeline_targets),
    ):
        for action in actions:
            found, unsure = grants(
                ctx, action, targets, skip=lambda i: is_break_glass(i.principal, allowed)
            )
            opens.extend(u for u in unsure if u not in opens)
            for grant in found:
                key = (grant.identity.principal, grant.policy.name, grant.statement.index)
                by_statement.setdefault(key, []).append(grant)
    for found in by_statement.values():
        failed = True
        grant = found[0]
        identity = grant.identity
        names = ", ".join(f"`{g.action}`" for g in found)
        yield fail(
            grant_loc(ctx, grant, pipeline.loc),
            f"{identity.kind} `{identity.principal}` is not break-glass but may call {names} "
            f"on this pipeline ({policy_label(grant.policy, grant.statement)})",
            evidence={"principal": identity.principal, "policy": grant.policy.name},
        )
    if failed:
        return
    if not ctx.inventory.identity_policies_complete:
        opens.insert(0, "only the principals in this input were seen")
    if opens:
        yield unknown(
            pipeline.loc,
            "who may override, disable or rewrite this pipeline's gates is not known: "
            + "; ".join(opens[:3])
            + (f" (+{len(opens) - 3} more)" if len(opens) > 3 else ""),
        )


RULE = Rule(META, check, __doc__ or "")
