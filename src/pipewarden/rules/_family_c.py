"""Rules registered by family (merged into the explicit RULES tuple in rules/__init__.py).

Family C: third-party actions and pinning (PW5xx), secrets and logs (PW6xx),
CodeBuild (PW7xx) and images (PW8xx).
"""

from __future__ import annotations

from typing import Final

from pipewarden.rules import (
    build_image_unpinned,
    buildspec_risky_commands,
    codebuild_artifacts_unencrypted,
    codebuild_logging_disabled,
    codebuild_plaintext_secret,
    ecr_scan_on_push,
    ecr_tag_mutable,
    inline_buildspec,
    lambda_action_unpinned,
    log_group_no_data_protection,
    plaintext_secret_in_action,
    privileged_mode,
    secret_rotation,
    source_url_credentials,
    third_party_action_not_isolated,
    third_party_action_unvetted,
    third_party_output_unaudited,
)
from pipewarden.rules._api import Rule

FAMILY: Final[tuple[Rule, ...]] = (
    third_party_action_unvetted.RULE,  # PW501
    lambda_action_unpinned.RULE,  # PW502
    third_party_action_not_isolated.RULE,  # PW503
    third_party_output_unaudited.RULE,  # PW504
    build_image_unpinned.RULE,  # PW505
    plaintext_secret_in_action.RULE,  # PW601
    codebuild_plaintext_secret.RULE,  # PW602
    secret_rotation.RULE,  # PW603
    log_group_no_data_protection.RULE,  # PW604
    source_url_credentials.RULE,  # PW605
    codebuild_logging_disabled.RULE,  # PW606
    inline_buildspec.RULE,  # PW701
    privileged_mode.RULE,  # PW702
    codebuild_artifacts_unencrypted.RULE,  # PW703
    buildspec_risky_commands.RULE,  # PW704
    ecr_tag_mutable.RULE,  # PW801
    ecr_scan_on_push.RULE,  # PW802
)
