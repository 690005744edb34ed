"""Detects artifact key policies that let other accounts decrypt beyond the roles that deploy there.

## Rationale
Cross-account pipelines encrypt artifacts with a customer managed key whose
policy lets the target accounts decrypt them. The AWS walkthrough grants the
whole target account (`arn:aws:iam::<account>:root`), which delegates the
decision to that account's IAM: every role and user there whose identity
policy allows `kms:Decrypt` (`kms:*` in an administrator or power-user
policy is common) can read every artifact of the pipeline, source code
included, and a broad principal (`*`, `arn:aws:iam::*:...`) opens it to
anyone with access to the bucket. The key's own account root is the usual
delegation to the key owner's IAM and is fine; so are the roles the pipeline's
actions run with in other accounts (their `roleArn`), which need the key.

A principal is allowed anyway when the statement carries an
`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths` or `aws:PrincipalArn`
condition, or pins `kms:CallerAccount`/`aws:PrincipalAccount` to the key's
own account. Service principals are not judged here.

## Remediation
In the key policy (`KeyPolicy` of `AWS::KMS::Key`, Terraform `policy` of
`aws_kms_key`), replace grants to other accounts' roots and wildcards with
the ARNs of the cross-account action roles:
`{Effect: Allow, Principal: {AWS: [arn:aws:iam::<target>:role/<deploy-role>]}, Action: [kms:Decrypt, kms:DescribeKey], Resource: "*"}`,
or keep the account principal and add
`Condition: {ArnLike: {aws:PrincipalArn: arn:aws:iam::<target>:role/<deploy-role>}}`.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import ArtifactStore, Finding, KmsKey, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, arn_account, fail, unknown
from pipewarden.rules._artifact_store import (
    aws_principals,
    covers_action,
    has_org_condition,
    is_aws_managed_key_ref,
    limited_to_account,
    located,
    same_account,
    store_key,
    store_label,
)
from pipewarden.rules._policy import statements

META = RuleMeta(
    id="PW207",
    slug="cross-account-key-too-open",
    title="Artifact key policy lets other accounts decrypt beyond their deploy roles",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_9,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-create-cross-account.html",
        "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html",
    ),
    needs=frozenset({"kms-key"}),
)


def _key_account(ctx: RuleContext, store: ArtifactStore, key: KmsKey) -> str | None:
    for candidate in (key.account, arn_account(key.arn), arn_account(store.encryption_key)):
        if isinstance(candidate, str):
            return candidate
    mine = ctx.pipeline_account
    return mine if isinstance(mine, str) else None


def _check_key(ctx: RuleContext, store: ArtifactStore, key: KmsKey) -> Iterator[Finding]:
    loc = located(ctx, key.loc, store.loc / "encryptionKey")
    what = f"{store_label(store).capitalize()} key `{key.arn or key.key_id}`"
    if key.policy is None:
        yield unknown(loc, f"{what}: its key policy is not known")
        return
    owner = _key_account(ctx, store, key)
    action_roles = {a.role_arn for a in ctx.pipeline.actions() if isinstance(a.role_arn, str)}
    too_open: list[str] = []
    unsure: list[str] = []
    for st in statements(key.policy):
        if not st.allows:
            continue
        label = f"statement `{st.sid}`" if st.sid else f"statement {st.index}"
        decrypts = covers_action(st, "kms:Decrypt")
        if decrypts is None:
            unsure.append(f"whether {label} allows kms:Decrypt cannot be told (unresolved actions)")
        if not decrypts:
            continue
        keys = st.condition_keys()
        if has_org_condition(st) or "aws:principalarn" in keys or limited_to_account(st, owner):
            continue
        for principal in aws_principals(st):
            if principal.unresolved:
                unsure.append(f"{label} lets an unresolved principal `{principal.text}` decrypt")
            elif principal.wildcard:
                too_open.append(f"`{principal.text}` ({label})")
            else:
                verdict = same_account(principal.account, owner)
                if verdict is True or principal.text in action_roles:
                    continue
                if verdict is None:
                    unsure.append(
                        f"whether `{principal.text}` ({label}) is in the key's account cannot be told"
                    )
                elif principal.is_root:
                    too_open.append(f"account `{principal.account}` as a whole ({label})")
                else:
                    too_open.append(f"`{principal.text}`, which no action runs as ({label})")
    if too_open:
        yield fail(
            loc,
            f"{what} lets other accounts decrypt artifacts: " + "; ".join(too_open),
            evidence={"key": key.arn or key.key_id},
        )
    elif unsure:
        yield unknown(loc, f"{what}: " + "; ".join(unsure))


def check(ctx: RuleContext) -> Iterator[Finding]:
    for store in ctx.pipeline.artifact_stores:
        ref = store.encryption_key
        if isinstance(ref, str) and is_aws_managed_key_ref(ref):
            continue  # an AWS managed key's policy never reaches other accounts
        key = store_key(ctx, store)
        if key is None:
            continue
        if isinstance(key, Finding):
            yield key
        else:
            yield from _check_key(ctx, store, key)


RULE = Rule(META, check, __doc__ or "")
