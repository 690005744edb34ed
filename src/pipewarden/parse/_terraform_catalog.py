"""Terraform resources by address, and the identity each one is known by.

Rules find resources by AWS identity (a role by its ARN, a bucket by its name).
A Terraform resource not yet created has no ARN, so each resource gets one
stable identity string, computed only from values known before apply:

* roles: ``values.arn``; else ``arn:aws:iam::<account>:role<path><name>``, the
  account taken from the provider (``allowed_account_ids``, ``assume_role``, the
  ARNs of other resources of that provider) or the placeholder
  ``${AWS::AccountId}``; a role without a known name uses its address as name;
* buckets by name (else the address, which no real bucket name can equal);
* KMS keys by key id and ARN, CodeBuild projects by name, connections by ARN,
  Lambda functions by name, and so on (see :meth:`Catalog.identity`).

A reference such as ``aws_iam_role.pipeline.arn`` resolves to that identity,
so the pipeline's ``role_arn`` and the role's inventory key agree whether the
input is a plan or raw ``.tf`` files.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.model import Loc, Unresolved

__all__ = [
    "AFTER_APPLY",
    "DEFAULT_ACCOUNT",
    "DEFAULT_REGION",
    "Catalog",
    "ProviderInfo",
    "TfResource",
    "Traversal",
    "known_str",
    "parse_traversal",
]

AFTER_APPLY: Final = "known only after apply"
DEFAULT_ACCOUNT: Final = "${AWS::AccountId}"
DEFAULT_REGION: Final = "${AWS::Region}"

_ACCOUNT_RE: Final = re.compile(r"^\d{12}$")


def known_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def arn_account(arn: str) -> str | None:
    """The 12-digit account of an ARN (None for ``aws``-owned or account-less ARNs)."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and _ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return None


def arn_region(arn: str) -> str | None:
    """The region field of an ARN, when present."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[3]:
        return parts[3]
    return None


# -- traversals ----------------------------------------------------------------

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Traversal:
    """``root.attr[index].attr``: names are str, index steps are ("[", text)."""

    text: str
    steps: tuple[str | tuple[str, str], ...]

    @property
    def root(self) -> str:
        first = self.steps[0]
        return first if isinstance(first, str) else ""


def _close_bracket(text: str, start: int) -> int:
    """Index of the ``]`` closing the ``[`` at ``start`` (-1 when unbalanced)."""
    depth = 0
    i = start
    in_string = False
    while i < len(text):
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def parse_traversal(text: str) -> Traversal | None:
    """Split ``aws_iam_role.x["k"].arn`` into steps; None when ``text`` is not a traversal."""
    text = text.strip()
    match = _NAME.match(text)
    if match is None:
        return None
    steps: list[str | tuple[str, str]] = [match.group()]
    i = match.end()
    while i < len(text):
        ch = text[i]
        if ch == ".":
            if text.startswith(".*", i):
                steps.append(("[", "*"))
                i += 2
                continue
            digits = re.compile(r"\d+").match(text, i + 1)
            if digits is not None:
                steps.append(("[", digits.group()))
                i = digits.end()
                continue
            name = _NAME.match(text, i + 1)
            if name is None:
                return None
            steps.append(name.group())
            i = name.end()
        elif ch == "[":
            end = _close_bracket(text, i)
            if end < 0:
                return None
            steps.append(("[", text[i + 1 : end].strip()))
            i = end + 1
        else:
            return None
    return Traversal(text, tuple(steps))


# -- resources -----------------------------------------------------------------


@dataclass(eq=False, slots=True)
class TfResource:
    """One resource instance of a plan or a configuration."""

    address: str  # module.a.aws_iam_role.x[0]
    type: str
    name: str
    module: tuple[str, ...]  # configuration path of module call names
    loc: Loc
    provider: str = "aws"
    mode: str = "managed"
    key: str | None = None  # instance key text ("0", "\"a\"") or None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What the configuration says about the account and region of one provider."""

    key: str
    account: str | None = None
    region: str | None = None
    placeholder: str = DEFAULT_ACCOUNT


_ROLE_HINT_KEYS: Final = {
    "connectionarn": ("aws_codestarconnections_connection", "aws_codeconnections_connection"),
    "projectname": ("aws_codebuild_project",),
    "functionname": ("aws_lambda_function", "aws_lambda_alias"),
    "rolearn": ("aws_iam_role",),
    "role_arn": ("aws_iam_role",),
    "service_role": ("aws_iam_role",),
    "s3bucket": ("aws_s3_bucket",),
    "bucketname": ("aws_s3_bucket",),
    "location": ("aws_s3_bucket",),
    "bucket": ("aws_s3_bucket",),
    "kms_master_key_id": ("aws_kms_key", "aws_kms_alias"),
    "encryption_key": ("aws_kms_key", "aws_kms_alias"),
    "kmsencryptionkeyarn": ("aws_kms_key", "aws_kms_alias"),
    "repositoryname": ("aws_ecr_repository",),
}


def type_hints(key: str) -> tuple[str, ...]:
    """Resource types a value at ``key`` plausibly identifies (empty: any)."""
    return _ROLE_HINT_KEYS.get(key.lower(), ())


class Catalog(abc.ABC):
    """Resources by address plus identity resolution; subclasses supply values."""

    def __init__(self, providers: Mapping[str, ProviderInfo]) -> None:
        self.resources: list[TfResource] = []
        self._by_config: dict[tuple[tuple[str, ...], str, str, str], list[TfResource]] = {}
        self.providers = dict(providers)
        self._identity_cache: dict[tuple[int, str], Any] = {}
        self._identity_active: set[tuple[int, str]] = set()

    # -- subclass hooks ------------------------------------------------------

    @abc.abstractmethod
    def attr(self, res: TfResource, key: str) -> Any:
        """The value of a top-level attribute as known before apply."""

    @abc.abstractmethod
    def values(self, res: TfResource) -> dict[str, Any]:
        """Every attribute of ``res``, resolved as far as it goes."""

    @abc.abstractmethod
    def declared(self, res: TfResource, key: str) -> bool | None:
        """Whether the configuration sets ``key`` (None: not known)."""

    # -- registry --------------------------------------------------------------

    def add(self, res: TfResource) -> None:
        self.resources.append(res)
        self._by_config.setdefault((res.module, res.mode, res.type, res.name), []).append(res)

    def instances(
        self, module: tuple[str, ...], mode: str, rtype: str, name: str
    ) -> list[TfResource]:
        return self._by_config.get((module, mode, rtype, name), [])

    def of_type(self, *types: str) -> Iterator[TfResource]:
        for res in self.resources:
            if res.mode == "managed" and res.type in types:
                yield res

    def pick(self, found: list[TfResource], index: str | None) -> TfResource | Unresolved | None:
        """The instance named by ``index`` (an instance key's text) among ``found``."""
        if not found:
            return None
        if index is None:
            if len(found) == 1 and found[0].key is None:
                return found[0]
            if len(found) == 1:
                return found[0]
            return Unresolved(found[0].address.split("[")[0], "resource has several instances")
        wanted = index.strip()
        for res in found:
            if res.key is not None and _same_key(res.key, wanted):
                return res
        if len(found) == 1 and found[0].key is None:
            # Instances could not be expanded; every index names the one we have.
            return found[0]
        return None

    # -- provider facts -------------------------------------------------------

    def provider(self, res: TfResource) -> ProviderInfo:
        return self.providers.get(res.provider) or self.providers.get("aws") or ProviderInfo("aws")

    def account(self, res: TfResource) -> str:
        info = self.provider(res)
        return info.account or info.placeholder

    def real_account(self, res: TfResource) -> str | None:
        return self.provider(res).account

    def region(self, res: TfResource) -> str:
        return self.provider(res).region or DEFAULT_REGION

    # -- identities -------------------------------------------------------------

    def _known(self, res: TfResource, key: str) -> str | None:
        return known_str(self.attr(res, key))

    def identity(self, res: TfResource, attr: str) -> Any:
        """``res.attr`` resolved to the identity the inventory uses, or None when
        ``attr`` is not an identity attribute of that type."""
        cache_key = (id(res), attr)
        if cache_key in self._identity_cache:
            return self._identity_cache[cache_key]
        if cache_key in self._identity_active:
            return Unresolved(f"{res.address}.{attr}", "refers to itself")
        self._identity_active.add(cache_key)
        try:
            value = self._identity(res, attr)
        finally:
            self._identity_active.discard(cache_key)
        self._identity_cache[cache_key] = value
        return value

    def name_or_address(self, res: TfResource, key: str) -> str:
        return self._known(res, key) or res.address

    def _arn(self, res: TfResource, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region(res) if regional else ""
        return f"arn:aws:{service}:{region}:{self.account(res)}:{resource}"

    def _iam_path(self, res: TfResource) -> str:
        path = self._known(res, "path") or "/"
        if not path.startswith("/"):
            path = "/" + path
        if not path.endswith("/"):
            path += "/"
        return path

    def _identity(self, res: TfResource, attr: str) -> Any:
        t = res.type
        known_arn = self._known(res, "arn")
        if t == "aws_iam_role":
            name = self.name_or_address(res, "name")
            if attr in ("name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(
                    res, "iam", f"role{self._iam_path(res)}{name}", regional=False
                )
        elif t == "aws_iam_policy":
            name = self.name_or_address(res, "name")
            if attr == "name":
                return name
            if attr in ("arn", "id", "policy_arn"):
                return known_arn or self._arn(
                    res, "iam", f"policy{self._iam_path(res)}{name}", regional=False
                )
        elif t in ("aws_iam_user", "aws_iam_group"):
            name = self.name_or_address(res, "name")
            kind = "user" if t == "aws_iam_user" else "group"
            if attr in ("name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(
                    res, "iam", f"{kind}{self._iam_path(res)}{name}", regional=False
                )
        elif t == "aws_s3_bucket":
            name = self.name_or_address(res, "bucket")
            if attr in ("bucket", "id"):
                return name
            if attr == "arn":
                return known_arn or f"arn:aws:s3:::{name}"
        elif t == "aws_kms_key":
            key_id = self._known(res, "key_id") or self._known(res, "id") or res.address
            if attr in ("key_id", "id"):
                return key_id
            if attr == "arn":
                return known_arn or self._arn(res, "kms", f"key/{key_id}")
        elif t == "aws_kms_alias":
            name = self._known(res, "name") or f"alias/{res.address}"
            if attr in ("name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(res, "kms", name)
        elif t == "aws_codebuild_project":
            name = self.name_or_address(res, "name")
            if attr == "name":
                return name
            if attr in ("arn", "id"):
                return known_arn or self._arn(res, "codebuild", f"project/{name}")
        elif t in ("aws_codestarconnections_connection", "aws_codeconnections_connection"):
            if attr in ("arn", "id"):
                service = (
                    "codeconnections"
                    if t == "aws_codeconnections_connection"
                    else "codestar-connections"
                )
                return known_arn or self._arn(res, service, f"connection/{res.address}")
            if attr == "name":
                return self.name_or_address(res, "name")
        elif t == "aws_lambda_function":
            name = self.name_or_address(res, "function_name")
            if attr in ("function_name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(res, "lambda", f"function:{name}")
        elif t == "aws_lambda_alias":
            name = self.name_or_address(res, "name")
            function = self.attr(res, "function_name")
            if attr == "name":
                return name
            if attr == "arn" and isinstance(function, str):
                base = (
                    function
                    if function.startswith("arn:")
                    else self._arn(res, "lambda", f"function:{function}")
                )
                return known_arn or f"{base}:{name}"
        elif t == "aws_secretsmanager_secret":
            name = self.name_or_address(res, "name")
            if attr == "name":
                return name
            if attr in ("arn", "id"):
                return known_arn or self._arn(res, "secretsmanager", f"secret:{name}")
        elif t == "aws_cloudwatch_log_group":
            name = self.name_or_address(res, "name")
            if attr in ("name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(res, "logs", f"log-group:{name}")
        elif t == "aws_ecr_repository":
            name = self.name_or_address(res, "name")
            if attr in ("name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(res, "ecr", f"repository/{name}")
            if attr == "repository_url":
                return (
                    self._known(res, "repository_url")
                    or f"{self.account(res)}.dkr.ecr.{self.region(res)}.amazonaws.com/{name}"
                )
        elif t == "aws_codepipeline":
            name = self.name_or_address(res, "name")
            if attr in ("name", "id"):
                return name
            if attr == "arn":
                return known_arn or self._arn(res, "codepipeline", name)
        return None

    def resource_attr(self, res: TfResource, attr: str) -> Any:
        """``res.attr``: its identity when ``attr`` is one, else its value."""
        ident = self.identity(res, attr)
        if ident is not None:
            return ident
        value = self.attr(res, attr)
        if value is None:
            return Unresolved(f"{res.address}.{attr}", AFTER_APPLY)
        return value


def _same_key(have: str, wanted: str) -> bool:
    def norm(text: str) -> str:
        text = text.strip()
        if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
            return text[1:-1]
        return text

    return norm(have) == norm(wanted)


def step_into(value: Any, steps: tuple[str | tuple[str, str], ...], expr: str) -> Any:
    """Follow attribute and literal index steps into a resolved value."""
    for step in steps:
        if isinstance(value, Unresolved):
            return value
        if isinstance(step, str):
            if isinstance(value, Mapping) and step in value:
                value = value[step]
                continue
            if isinstance(value, list) and len(value) == 1 and isinstance(value[0], Mapping):
                # a single nested block, read as an object
                inner = value[0]
                if step in inner:
                    value = inner[step]
                    continue
            return Unresolved(expr, f"`{step}` is not set")
        text = step[1].strip()
        if text == "*":
            return Unresolved(expr, "splat expressions are not evaluated")
        if isinstance(value, list) and text.isdigit():
            idx = int(text)
            if idx < len(value):
                value = value[idx]
                continue
            return Unresolved(expr, f"index {idx} is out of range")
        if isinstance(value, Mapping):
            key = text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text
            if key in value:
                value = value[key]
                continue
        return Unresolved(expr, f"index `{text}` is not resolved")
    return value
