"""Rules registered by family (merged into the explicit RULES tuple in rules/__init__.py).

Family A: source (PW1xx) and artifacts (PW2xx).
"""

from __future__ import annotations

from typing import Final

from pipewarden.rules import (
    artifact_store_no_cmk,
    artifact_store_no_object_lock,
    artifact_store_policy_weak,
    artifact_store_shared,
    artifact_store_unversioned,
    cross_account_handoff_unverified,
    cross_account_key_too_open,
    pull_request_build_untrusted,
    source_clone_metadata_missing,
    source_connection_untrusted,
    source_ecr_mutable_tag,
    source_not_codeconnections,
    source_oauth_token,
    source_s3_mutable,
    source_signature_unverified,
    webhook_unauthenticated,
)
from pipewarden.rules._api import Rule

FAMILY: Final[tuple[Rule, ...]] = (
    source_oauth_token.RULE,  # PW101
    source_not_codeconnections.RULE,  # PW102
    source_connection_untrusted.RULE,  # PW103
    source_signature_unverified.RULE,  # PW104
    source_clone_metadata_missing.RULE,  # PW105
    pull_request_build_untrusted.RULE,  # PW106
    source_s3_mutable.RULE,  # PW107
    source_ecr_mutable_tag.RULE,  # PW108
    webhook_unauthenticated.RULE,  # PW109
    artifact_store_no_object_lock.RULE,  # PW201
    artifact_store_no_cmk.RULE,  # PW202
    artifact_store_unversioned.RULE,  # PW203
    artifact_store_policy_weak.RULE,  # PW204
    artifact_store_shared.RULE,  # PW205
    cross_account_handoff_unverified.RULE,  # PW206
    cross_account_key_too_open.RULE,  # PW207
)
