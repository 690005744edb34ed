"""Detects production deployments that no manual approval precedes.

## Rationale
Continuous deployment to production without a human decision means every
change that passes the automated checks ships, including one that
subverted them: a poisoned dependency, a compromised source credential, a
malicious commit on an unprotected branch. A Manual approval action before
the production deploy (in an earlier stage, or earlier in the same stage by
`runOrder`) gives a person the chance to look at what is about to be
released, and its approvers can be limited and required to use MFA (see
PW308).

## Remediation
Add an `Approval`/`AWS`/`Manual` action before each production deploy, for
example in its own stage just before the production stage, with a
`NotificationArn` and a `CustomData` text telling approvers what to check.
Restrict `codepipeline:PutApprovalResult` to the approvers. Teams that
deploy continuously by design can suppress this rule with a reason, given
strong automated gates (PW402).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import is_manual_approval, located, maybe_production

META = RuleMeta(
    id="PW403",
    slug="prod-without-approval",
    title="A production deploy is not preceded by a manual approval",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_1,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-action-add.html",
    ),
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    approvals = [a for a in ctx.actions() if is_manual_approval(a)]
    for action in ctx.actions(category="Deploy"):
        if any(approval.precedes(action) for approval in approvals):
            continue
        where = f"deploy action `{action.name}` in stage `{action.stage_name}`"
        if ctx.is_production_deploy(action):
            yield fail(
                action.loc,
                f"production {where} is not preceded by a Manual approval action",
                **located(action),
            )
            continue
        reason = maybe_production(ctx, action)
        if reason is not None:
            yield unknown(
                action.loc,
                f"{where} is not preceded by a Manual approval and may deploy to production: {reason}",
                **located(action),
            )


RULE = Rule(META, check, __doc__ or "")
