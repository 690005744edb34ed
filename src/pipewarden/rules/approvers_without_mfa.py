"""Detects identities that may approve the pipeline's manual approvals without MFA.

## Rationale
A manual approval is only as strong as the credentials that can answer it.
When a user or role may call `codepipeline:PutApprovalResult` on the
pipeline without multi-factor authentication, a leaked access key, a
phished console password or a build role holding the permission approves a
production release as easily as the intended reviewer. A build role that
can approve is worse still: the change under review can approve itself.

PipeWarden reads the identity policies in the input (users, groups, roles,
including the roles of the pipeline itself) and reports every `Allow` of
`codepipeline:PutApprovalResult` on a resource matching one of this
pipeline's approval actions (`*`, the pipeline ARN with a wildcard, or the
`PIPELINE_ARN/STAGE/ACTION` ARN) that lacks a `Bool` condition requiring
`aws:MultiFactorAuthPresent` to be `true` (or a `Numeric*` test of
`aws:MultiFactorAuthAge`), unless the same identity has a `Deny` for
requests without MFA. `BoolIfExists` is not enough: it lets long-term
access keys through. Only the principals in the input are seen: unless the
input is a complete snapshot of the account's IAM, a pipeline with no
failing grant is unknown, not pass. Pipelines without a manual approval
pass.

## Remediation
Grant `codepipeline:PutApprovalResult` only on the approval action ARNs
(`arn:aws:codepipeline:REGION:ACCOUNT:PIPELINE/STAGE/ACTION`), only to
approver identities, with
`"Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}`; remove it
from pipeline, action and build roles.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._gates import is_manual_approval, located
from pipewarden.rules._iam import (
    Identity,
    covers_action,
    covers_arns,
    grant_loc,
    grants,
    pipeline_arn,
    policy_label,
    resource_is_everything,
)
from pipewarden.rules._policy import Statement

META = RuleMeta(
    id="PW308",
    slug="approvers-without-mfa",
    title="Manual approvals can be answered without multi-factor authentication",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_1,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-iam-permissions.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html",
    ),
    needs=frozenset({"identity-policies", "role"}),
)

APPROVE = "codepipeline:PutApprovalResult"
_MFA = "aws:multifactorauthpresent"
_MFA_AGE = "aws:multifactorauthage"


def requires_mfa(stmt: Statement) -> bool:
    """An Allow whose conditions only hold for MFA-authenticated requests."""
    for operator, body in stmt.conditions.items():
        op = operator.lower()
        for key, raw in body.items():
            name = str(key).lower()
            values = [str(v).lower() for v in (raw if isinstance(raw, list) else [raw])]
            if name == _MFA and op == "bool" and values == ["true"]:
                return True
            if name == _MFA_AGE and op.startswith("numeric") and not op.endswith("ifexists"):
                return True
    return False


def denies_without_mfa(stmt: Statement) -> bool:
    """A Deny that applies to requests made without MFA."""
    for operator, body in stmt.conditions.items():
        op = operator.lower()
        for key, raw in body.items():
            values = [str(v).lower() for v in (raw if isinstance(raw, list) else [raw])]
            if str(key).lower() == _MFA and op in ("bool", "boolifexists") and "false" in values:
                return True
    return False


def check(ctx: RuleContext) -> Iterator[Finding]:
    approvals = [a for a in ctx.actions() if is_manual_approval(a)]
    if not approvals:
        return
    first = approvals[0]
    base, why = pipeline_arn(ctx)
    targets = [f"{base}/{a.stage_name}/{a.name}" for a in approvals] if base else None
    opens: list[str] = [why] if why else []
    failed = False
    gate = f"`{first.stage_name}/{first.name}`" + (
        f" (+{len(approvals) - 1} more)" if len(approvals) > 1 else ""
    )
    enforced: dict[str, bool] = {}

    def mfa_enforced(identity: Identity) -> bool:
        if identity.principal not in enforced:
            enforced[identity.principal] = _mfa_enforced(identity, targets)
        return enforced[identity.principal]

    found, unsure = grants(ctx, APPROVE, targets, excuse=requires_mfa, skip=mfa_enforced)
    opens.extend(unsure)
    for grant in found:
        failed = True
        identity = grant.identity
        yield fail(
            grant_loc(ctx, grant, first.loc),
            f"{identity.kind} `{identity.principal}` may approve {gate} without MFA: "
            f"{policy_label(grant.policy, grant.statement)} allows `{APPROVE}` without "
            "a `Bool` condition requiring `aws:MultiFactorAuthPresent`",
            **located(first),
            evidence={"principal": identity.principal, "policy": grant.policy.name},
        )
    if failed:
        return
    if not ctx.inventory.identity_policies_complete:
        opens.insert(0, "only the principals in this input were seen")
    if opens:
        yield unknown(
            first.loc,
            f"who may approve {gate} without MFA is not known: "
            + "; ".join(opens[:3])
            + (f" (+{len(opens) - 3} more)" if len(opens) > 3 else ""),
            **located(first),
        )


def _mfa_enforced(identity: Identity, targets: list[str] | None) -> bool:
    """The identity denies itself approvals made without MFA."""
    for doc in identity.policies:
        for stmt in doc.statements():
            if stmt.allows or not denies_without_mfa(stmt):
                continue
            if covers_action(stmt, APPROVE) is not True:
                continue
            on = resource_is_everything(stmt) if targets is None else covers_arns(stmt, targets)
            if on is True:
                return True
    return False


RULE = Rule(META, check, __doc__ or "")
