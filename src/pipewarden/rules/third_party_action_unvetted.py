"""Detects ThirdParty and Custom action types that are not on the configured allow-list.

## Rationale
A `ThirdParty` action runs on a partner's service and a `Custom` action runs
on whatever job worker polls for it. Either receives the pipeline's input
artifacts (source code, build output) together with temporary credentials
for the artifact bucket, and its output flows on into later stages. An action
type nobody vetted is an unreviewed supplier with read access to your code
and write access to what you ship. The allow-list is how a team records
which action types it reviewed; with no allow-list configured, every
third-party and custom action is reported, because an unvetted marketplace
action is exactly the risk.

The GitHub (version 1) source action, owned `ThirdParty` but operated by AWS,
is left to PW101 and PW102.

## Remediation
Review the action type (who operates it, what it does with artifacts and
credentials), then add it to the allow-list as `Owner/Provider/Version`
(or `Category/Owner/Provider/Version`; `*` matches any version):

```toml
[allow]
action_types = ["ThirdParty/Snyk/1", "Custom/Jenkins/*"]
```

Otherwise replace the action with an AWS-owned one (a CodeBuild or Commands
action running the same tool at a pinned version).
"""

from __future__ import annotations

from collections.abc import Iterator

from pipewarden.model import Action, Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail, unknown
from pipewarden.rules._build import THIRD_PARTY_OWNERS, is_third_party, type_label, who_of

META = RuleMeta(
    id="PW501",
    slug="third-party-action-unvetted",
    title="Third-party or custom action type is not on the allow-list",
    severity=Severity.HIGH,
    cicd_sec=(CicdSec.SEC_8,),
    references=(
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-create-custom-action.html",
        "https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-pipeline-structure.html",
    ),
)

_UNRESOLVED = "<unresolved"


def _segment_matches(pattern: str, value: str) -> bool:
    return pattern == "*" or pattern == value


def allowed(action: Action, allow_list: tuple[str, ...]) -> bool:
    """Whether an allow-list entry (``Owner/Provider/Version`` or
    ``Category/Owner/Provider/Version``, ``*`` for any segment) covers the action type."""
    tid = action.type_id
    for entry in allow_list:
        parts = [p.strip() for p in entry.split("/")]
        wanted: tuple[str, ...]
        if len(parts) == 3:
            wanted = (tid.owner, tid.provider, tid.version)
        elif len(parts) == 4:
            wanted = (tid.category, tid.owner, tid.provider, tid.version)
        else:
            continue
        if all(_segment_matches(p, v) for p, v in zip(parts, wanted, strict=True)):
            return True
    return False


def check(ctx: RuleContext) -> Iterator[Finding]:
    allow_list = ctx.config.allowed_action_types
    for action in ctx.actions():
        tid = action.type_id
        if tid.owner not in THIRD_PARTY_OWNERS and not tid.owner.startswith(_UNRESOLVED):
            continue
        loc = action.loc / "actionTypeId"
        if tid.owner.startswith(_UNRESOLVED):
            yield unknown(
                loc,
                f"the owner of action `{action.name}` in stage `{action.stage_name}` is unresolved",
                **who_of(action),
            )
            continue
        if tid.owner not in THIRD_PARTY_OWNERS or not is_third_party(action):
            continue
        if allowed(action, allow_list):
            continue
        label = type_label(action)
        if _UNRESOLVED in label:
            yield unknown(
                loc,
                f"the action type of `{action.name}` in stage `{action.stage_name}` is unresolved",
                **who_of(action),
            )
            continue
        why = (
            "no action types are allowed (allow.action_types is empty)"
            if not allow_list
            else "which is not on the allow-list (allow.action_types)"
        )
        sep = ": " if not allow_list else ", "
        yield fail(
            loc,
            f"action `{action.name}` in stage `{action.stage_name}` uses {tid.owner} action type "
            f"`{label}`{sep}{why}",
            **who_of(action),
            evidence={"actionTypeId": str(tid)},
        )


RULE = Rule(META, check, __doc__ or "")
