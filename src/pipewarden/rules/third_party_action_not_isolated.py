"""Detects third-party actions that share a stage with a deploy, or whose role can deploy.

## Rationale
A `ThirdParty` or `Custom` action is code you do not operate. Placed in the
same stage as a deploy action, it runs alongside the deployment with no
stage boundary (no transition to disable, no condition to evaluate) between
what it produces and what ships. Running under a role that also deploys, or
that holds deployment permissions (`cloudformation:UpdateStack`,
`ecs:UpdateService`, `lambda:UpdateFunctionCode`, ...), it can change
production directly if its operator or job worker is compromised.

## Remediation
Move third-party actions into a stage of their own, before any deploy stage
and behind a verification step. Give each an action-level `roleArn` used by
no deploy action, with only the permissions the action needs (reading its
input artifacts, writing its output).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from pipewarden.model import Action, Finding, Gap, Role, Severity, Unresolved
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import is_third_party, type_label, who_of
from pipewarden.rules._policy import action_matches, statements

META = RuleMeta(
    id="PW503",
    slug="third-party-action-not-isolated",
    title="Third-party action runs next to a deploy or under a role that can deploy",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_8,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-create-custom-action.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/security-iam.html",
    ),
    needs=frozenset({"role"}),
)

# IAM actions that change what runs in an environment.
DEPLOY_PERMISSIONS: Final = (
    "cloudformation:CreateStack",
    "cloudformation:UpdateStack",
    "cloudformation:ExecuteChangeSet",
    "codedeploy:CreateDeployment",
    "ecs:UpdateService",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateAlias",
    "elasticbeanstalk:UpdateEnvironment",
    "appconfig:StartDeployment",
    "servicecatalog:UpdateProvisionedProduct",
)


def _deploy_permission(role: Role) -> str | Gap | None:
    """The first deploy permission the role allows; a Gap when policies are not all known."""
    documents = list(role.inline_policies.values())
    unknown_docs = False
    for managed in role.managed_policies:
        if managed.document is None:
            if managed.name == "AdministratorAccess":
                return "*"
            unknown_docs = True
        else:
            documents.append(managed.document)
    for document in documents:
        for st in statements(document):
            if not st.allows:
                continue
            for permission in DEPLOY_PERMISSIONS:
                if st.actions and any(action_matches(p, permission) for p in st.actions):
                    return permission
                if st.not_actions and not any(
                    action_matches(p, permission) for p in st.not_actions
                ):
                    return permission
    if unknown_docs or not role.complete:
        return Gap(f"some policies of role `{role.name}` could not be read")
    return None


def _isolation(ctx: RuleContext, action: Action, deploys: list[Action]) -> Iterator[Finding]:
    who = who_of(action)
    what = f"{action.owner} action `{action.name}` (`{type_label(action)}`)"
    stage = ctx.stage_of(action)
    neighbours = [d for d in stage.actions if ctx.is_deploy(d)]
    if neighbours:
        yield fail(
            action.loc,
            f"{what} shares stage `{stage.name}` with deploy action `{neighbours[0].name}`",
            **who,
        )
    role_arn = action.role_arn
    if role_arn is None:
        return
    role_loc = action.loc / "roleArn"
    if isinstance(role_arn, Unresolved):
        if deploys:
            yield unknown(role_loc, f"the role of {what} is unresolved: {role_arn.reason}", **who)
        return
    for deploy in deploys:
        if deploy.role_arn == role_arn:
            yield fail(
                role_loc,
                f"{what} runs under role `{role_arn}`, which deploy action `{deploy.name}` in "
                f"stage `{deploy.stage_name}` also uses",
                evidence={"roleArn": role_arn},
                **who,
            )
            return
    unresolved = [d for d in deploys if isinstance(d.role_arn, Unresolved)]
    if unresolved:
        yield unknown(
            role_loc,
            f"whether {what} shares its role with deploy action `{unresolved[0].name}` is not "
            "known: that action's role is unresolved",
            **who,
        )
        return
    found = ctx.role(role_arn)
    if isinstance(found, Gap):
        yield unknown(
            role_loc, f"whether the role of {what} can deploy is not known: {found.reason}", **who
        )
        return
    permission = _deploy_permission(found)
    if isinstance(permission, Gap):
        yield unknown(
            role_loc,
            f"whether the role of {what} can deploy is not known: {permission.reason}",
            **who,
        )
    elif permission is not None:
        yield fail(
            role_loc,
            f"{what} runs under role `{found.name}`, which allows `{permission}`",
            evidence={"roleArn": role_arn, "permission": permission},
            **who,
        )


def check(ctx: RuleContext) -> Iterator[Finding]:
    deploys = [a for a in ctx.actions() if ctx.is_deploy(a)]
    for action in ctx.actions():
        if is_third_party(action):
            yield from _isolation(ctx, action, deploys)


RULE = Rule(META, check, __doc__ or "")
