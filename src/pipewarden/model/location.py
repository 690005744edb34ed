"""Symbolic locations: a subject (file or ARN) plus an RFC 6901 JSON pointer.

Rules address the declaration in API terms (``configuration``, ``roleArn``);
each parser records the :class:`KeyStyle` of its source so that a location
derived with ``loc / "configuration" / "ProjectName"`` points at the key as it
is spelt in that source (``Configuration`` in CloudFormation).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["KeyStyle", "Loc", "SourceSpan", "escape_token", "join_pointer", "split_pointer"]


class KeyStyle(StrEnum):
    """How a source spells the keys of a pipeline declaration."""

    API = "api"
    CLOUDFORMATION = "cloudformation"
    TERRAFORM = "terraform"


_CFN_SPECIAL: Final = {"roleArn": "RoleArn", "runOrder": "RunOrder"}
_TF: Final = {
    "actions": "action",
    "stages": "stage",
    "roleArn": "role_arn",
    "runOrder": "run_order",
    "inputArtifacts": "input_artifacts",
    "outputArtifacts": "output_artifacts",
    "artifactStore": "artifact_store",
    "artifactStores": "artifact_store",
    "encryptionKey": "encryption_key",
    "pipelineType": "pipeline_type",
    "executionMode": "execution_mode",
    "triggers": "trigger",
    "gitConfiguration": "git_configuration",
    "sourceActionName": "source_action_name",
    "pullRequest": "pull_request",
    "filePaths": "file_paths",
    "providerType": "provider_type",
    "beforeEntry": "before_entry",
    "onFailure": "on_failure",
    "onSuccess": "on_success",
    "conditions": "condition",
    "rules": "rule",
    "ruleTypeId": "rule_type_id",
    "timeoutInMinutes": "timeout_in_minutes",
    "environmentVariables": "environment_variables",
    "variables": "variable",
    "push": "push",
    "branches": "branches",
    "tags": "tags",
}


def _style_key(style: KeyStyle, key: str) -> str | None:
    if style is KeyStyle.API:
        return key
    if style is KeyStyle.CLOUDFORMATION:
        if key in _CFN_SPECIAL:
            return _CFN_SPECIAL[key]
        return key[:1].upper() + key[1:]
    # Terraform flattens actionTypeId onto the action block.
    if key == "actionTypeId":
        return None
    return _TF.get(key, key)


def escape_token(token: str) -> str:
    """Escape one reference token per RFC 6901."""
    if "~" not in token and "/" not in token:  # the usual case, checked without copying
        return token
    return token.replace("~", "~0").replace("/", "~1")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join_pointer(tokens: tuple[str | int, ...] | list[str | int]) -> str:
    """Build a JSON pointer from reference tokens."""
    return "".join("/" + escape_token(str(t)) for t in tokens)


def split_pointer(pointer: str) -> list[str]:
    """Split a JSON pointer into unescaped reference tokens."""
    if not pointer:
        return []
    return [_unescape(t) for t in pointer.split("/")[1:]]


@dataclass(frozen=True, slots=True)
class SourceSpan:
    """A concrete place in a file: 1-based line and column."""

    file: str
    line: int
    column: int = 1


@dataclass(frozen=True, slots=True)
class Loc:
    """A symbolic location: ``subject#pointer`` with the source's key style.

    ``subject`` is the file path for file inputs and the pipeline ARN (or name)
    for live inputs.
    """

    subject: str
    pointer: str = ""
    style: KeyStyle = KeyStyle.API

    def __truediv__(self, key: str | int) -> Loc:
        if isinstance(key, int):
            return Loc(self.subject, f"{self.pointer}/{key}", self.style)
        # API keys are the model's own: no mapping (the common case, taken first).
        mapped = key if self.style is KeyStyle.API else _style_key(self.style, key)
        if mapped is None:
            return self
        return Loc(self.subject, f"{self.pointer}/{escape_token(mapped)}", self.style)

    def raw(self, key: str | int) -> Loc:
        """Child location with ``key`` used verbatim (no key-style mapping)."""
        return Loc(self.subject, f"{self.pointer}/{escape_token(str(key))}", self.style)

    def __str__(self) -> str:
        return f"{self.subject}#{self.pointer}"
