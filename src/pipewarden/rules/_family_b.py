"""Rules registered by family (merged into the explicit RULES tuple in rules/__init__.py).

Family B: identity and the action graph (PW301-PW309) and gates and
conditions (PW402-PW406; PW401 is registered in rules/__init__.py).
"""

from __future__ import annotations

from typing import Final

from pipewarden.rules import (
    approvers_without_mfa,
    condition_override_allowed,
    condition_weak,
    pipeline_single_role,
    prod_no_rollback,
    prod_stage_no_entry_gate,
    prod_without_approval,
    role_admin_attached,
    role_passrole_unscoped,
    role_shared_across_actions,
    role_trust_too_broad,
    role_wildcard_permissions,
    stage_multiple_prod_deploys,
    trigger_unfiltered,
)
from pipewarden.rules._api import Rule

FAMILY: Final[tuple[Rule, ...]] = (
    pipeline_single_role.RULE,  # PW301
    role_wildcard_permissions.RULE,  # PW302
    role_passrole_unscoped.RULE,  # PW303
    role_shared_across_actions.RULE,  # PW304
    role_trust_too_broad.RULE,  # PW305
    stage_multiple_prod_deploys.RULE,  # PW306
    role_admin_attached.RULE,  # PW307
    approvers_without_mfa.RULE,  # PW308
    condition_override_allowed.RULE,  # PW309
    prod_stage_no_entry_gate.RULE,  # PW402
    prod_without_approval.RULE,  # PW403
    condition_weak.RULE,  # PW404
    prod_no_rollback.RULE,  # PW405
    trigger_unfiltered.RULE,  # PW406
)
