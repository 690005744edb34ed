"""Plaintext secrets sealed before a declaration or a project is stored. Pure.

A baseline keeps the whole declaration, so a token written in clear into an
action's configuration, an environment variable or a command would end up in
the database. Before anything is stored (and before a current declaration is
compared with its baseline) every value the scanner's secret detection flags
(:func:`pipewarden.rules._secrets.find_secret` for configuration values and
plaintext variables, :func:`~pipewarden.rules._secrets.find_secret_in_text` for
commands and inline scripts) is replaced by a *sealed* value::

    $sealed:hmac-sha256:<64 hex digits>:<masked form>

The digest is HMAC-SHA256 of the value under a random key kept in the database
(one per database), so a changed secret still reads as a change while the
value cannot be recovered or guessed offline from a stolen report. The masked
form is :func:`pipewarden.model.mask`'s (a prefix of at most four characters
and the length). Sealing is idempotent: sealed values are left as they are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from pipewarden.model import mask

__all__ = ["PREFIX", "Sealer", "display", "is_sealed"]

PREFIX: Final = "$sealed:hmac-sha256:"
_DIGEST_LEN: Final = 64
_UNRESOLVED: Final = "$unresolved"
_FREE_TEXT_KEYS: Final = frozenset({"commands"})
# Values AWS returns in place of what it does not show (not a secret, not worth a digest).
_HIDDEN: Final = frozenset({"****", "HIDDEN_DUE_TO_SECURITY_REASONS"})


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a sealed secret."""
    return isinstance(value, str) and value.startswith(PREFIX)


def display(value: str) -> str:
    """A sealed value as reports show it: the masked form and a short digest."""
    digest, _, masked = value[len(PREFIX) :].partition(":")
    return f"secret {masked} (keyed digest {digest[:12]})"


class Sealer:
    """Seals secrets with one database's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the sealing key must be at least 16 bytes")
        self._key = key

    def keyed_digest(self, data: bytes) -> str:
        """HMAC-SHA256 (hex) of ``data`` under this store's key: a digest of an
        unsealed declaration that can be kept without revealing what it hashes."""
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

    def seal(self, value: str) -> str:
        """``value`` sealed, whatever it holds."""
        if is_sealed(value):
            return value
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"{PREFIX}{digest.hexdigest()}:{mask(value)}"

    def value(self, name: str, value: Any) -> Any:
        """A configuration value or variable stored under ``name``, sealed when it
        holds a secret (an unresolved template value when its expression does)."""
        if isinstance(value, str):
            return self.seal(value) if _holds_secret(name, value) else value
        if isinstance(value, Mapping) and set(value) == {_UNRESOLVED}:
            expr = value[_UNRESOLVED]
            if isinstance(expr, str) and _holds_secret(name, expr):
                return {_UNRESOLVED: self.seal(expr)}
        return value

    def text(self, value: Any) -> Any:
        """Free text (a command, a script), sealed when a secret is in it."""
        if isinstance(value, str) and not is_sealed(value) and _text_holds_secret(value):
            return self.seal(value)
        return value

    def _configuration(self, config: Any) -> Any:
        if not isinstance(config, Mapping):
            return config
        out = {k: self.value(str(k), v) for k, v in config.items()}
        return out if out != config else config

    def _variables(self, variables: Any) -> Any:
        if not isinstance(variables, list):
            return variables
        out = []
        for var in variables:
            if (
                isinstance(var, Mapping)
                and str(var.get("type") or "PLAINTEXT").upper() == "PLAINTEXT"
                and "value" in var
            ):
                var = {**var, "value": self.value(str(var.get("name", "")), var["value"])}
            out.append(var)
        return out if out != variables else variables

    def _node(self, node: Mapping[str, Any]) -> dict[str, Any]:
        """An action or a condition rule."""
        out = dict(node)
        if "configuration" in out:
            out["configuration"] = self._configuration(out["configuration"])
        if "environmentVariables" in out:
            out["environmentVariables"] = self._variables(out["environmentVariables"])
        for key in _FREE_TEXT_KEYS & set(out):
            if isinstance(out[key], list):
                out[key] = [self.text(line) for line in out[key]]
        return out

    def declaration(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """A canonical declaration with its secrets sealed (a new document)."""
        out = dict(doc)
        stages = doc.get("stages")
        if not isinstance(stages, list):
            return out
        sealed_stages = []
        for stage in stages:
            if not isinstance(stage, Mapping):
                sealed_stages.append(stage)
                continue
            new_stage = dict(stage)
            actions = stage.get("actions")
            if isinstance(actions, list):
                new_stage["actions"] = [
                    self._node(a) if isinstance(a, Mapping) else a for a in actions
                ]
            for group in ("beforeEntry", "onSuccess", "onFailure"):
                conditions = stage.get(group)
                if isinstance(conditions, Mapping):
                    new_stage[group] = self._conditions(conditions)
            sealed_stages.append(new_stage)
        out["stages"] = sealed_stages
        return out

    def _conditions(self, group: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(group)
        conditions = group.get("conditions")
        if isinstance(conditions, list):
            out["conditions"] = [self._condition(c) for c in conditions]
        return out

    def _condition(self, condition: Any) -> Any:
        if not isinstance(condition, Mapping) or not isinstance(condition.get("rules"), list):
            return condition
        rules = [self._node(r) if isinstance(r, Mapping) else r for r in condition["rules"]]
        return {**condition, "rules": rules}


def _holds_secret(name: str, value: str) -> bool:
    from pipewarden.rules._secrets import find_secret, find_secret_in_text

    if is_sealed(value) or value in _HIDDEN:
        return False
    if find_secret(name, value) is not None:
        return True
    return ("\n" in value or len(value) > 64) and find_secret_in_text(value) is not None


def _text_holds_secret(value: str) -> bool:
    from pipewarden.rules._secrets import find_secret_in_text

    return value not in _HIDDEN and find_secret_in_text(value) is not None
