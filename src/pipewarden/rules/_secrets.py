"""Secret detection for plaintext values in pipeline declarations and projects.

Two signals, either of which makes a hit:

* **The value itself** looks like a credential of a known kind: detect-secrets'
  regex plugins (AWS access keys, GitHub, GitLab, Slack, Stripe, npm, PyPI,
  OpenAI, private key blocks, JWTs, credentials in URLs, ...), run in-process on
  the value alone, plus a few formats those plugins do not know (GitHub
  fine-grained ``github_pat_`` tokens, ``Authorization: Basic/Bearer`` values).
* **The name** says secret (``DB_PASSWORD``, ``ApiKey``, ``client_secret``,
  ``GITHUB_PAT``) and the value is a non-trivial literal. Names that only hint
  at a secret (``auth``, ``key``) need a high-entropy value as well, so hashes,
  ids and commit SHAs under ordinary names never match.

References are never plaintext secrets: CloudFormation dynamic references
(``{{resolve:secretsmanager:...}}``, ``{{resolve:ssm-secure:...}}``,
``{{resolve:ssm:...}}``), the ``****`` AWS shows for masked values,
``#{Namespace.Variable}`` pipeline variables, ``${...}``/``$VAR``/``$(...)``
placeholders, ARNs, and Parameter Store paths. Callers skip values of type
``SECRETS_MANAGER``/``PARAMETER_STORE`` and unresolved template values, which
are not literals either. Well-known placeholders (``changeme``, ``<token>``,
``xxxx``) are not reported: they are not a secret anyone can steal.

Nothing here returns a secret: a hit carries the masked form only.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Protocol

from pipewarden.model import mask, split_arn

__all__ = [
    "SecretHit",
    "find_secret",
    "find_secret_in_text",
    "is_reference",
    "looks_secret_name",
    "secrets_manager_references",
    "split_colons",
    "url_credentials",
]


@dataclass(frozen=True, slots=True)
class SecretHit:
    """A detected plaintext secret: what kind it looks like and its masked form."""

    kind: str
    masked: str


class _Plugin(Protocol):
    secret_type: str

    def analyze_string(self, string: str) -> Iterator[str]: ...


# detect-secrets plugin classes used on values (module, class). The public-IP,
# keyword and high-entropy plugins are left out: the first is not a secret,
# and the name heuristics below replace the other two for key/value data.
_PLUGINS: Final = (
    ("aws", "AWSKeyDetector"),
    ("artifactory", "ArtifactoryDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("cloudant", "CloudantDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("ibm_cloud_iam", "IbmCloudIamDetector"),
    ("ibm_cos_hmac", "IbmCosHmacDetector"),
    ("jwt", "JwtTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("npm", "NpmDetector"),
    ("openai", "OpenAIDetector"),
    ("private_key", "PrivateKeyDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"),
    ("softlayer", "SoftlayerDetector"),
    ("square_oauth", "SquareOAuthDetector"),
    ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("twilio", "TwilioKeyDetector"),
)


@lru_cache(maxsize=1)
def _plugins() -> tuple[_Plugin, ...]:
    """detect-secrets plugin instances, imported on first use.

    Only ``analyze_string`` is called: it is pure regex matching and reads no
    detect-secrets settings (``analyze_line`` consults the global settings for
    network verification, which a scanner must never do).
    """
    import importlib

    out: list[_Plugin] = []
    for module_name, class_name in _PLUGINS:
        try:
            module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
        except ImportError:  # pragma: no cover - a plugin renamed upstream
            continue
        cls = getattr(module, class_name, None)
        if cls is not None:
            out.append(cls())
    return tuple(out)


# Formats the plugins do not cover.
_EXTRA_PATTERNS: Final = (
    ("GitHub Token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,255}")),
    ("NPM tokens", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    (
        "HTTP Authorization credential",
        re.compile(r"\b(?:Basic|Bearer)\s+([A-Za-z0-9._~+/=-]{16,})"),
    ),
)

# Plugin matches that need a second look to avoid matching ordinary words.
_MIXED_CLASSES_REQUIRED: Final = frozenset({"Artifactory Credentials"})
_URL_PASSWORD_KINDS: Final = frozenset({"Basic Auth Credentials"})

# -- references -------------------------------------------------------------

_REFERENCE_PATTERNS: Final = (
    re.compile(r"\{\{resolve:[^}]*\}\}"),  # CloudFormation dynamic references
    re.compile(r"#\{[^}]*\}"),  # pipeline variables
    re.compile(r"\$\{[^}]*\}"),  # ${...} placeholders (CFN Sub, shell, Terraform)
    re.compile(r"\$\([^)]*\)"),  # shell command substitution
    re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*"),  # $VAR
    re.compile(r"%[A-Za-z_][A-Za-z0-9_]*%"),  # %VAR% (Windows)
    re.compile(r"\{\{\s*[\w.-]+\s*\}\}"),  # {{ template }} placeholders
)
_ARN: Final = re.compile(r"^arn:aws[a-z-]*:")
_PARAMETER_PATH: Final = re.compile(r"^/[A-Za-z0-9_.\-/]+$")
_REPEATED: Final = re.compile(r"^(.)\1*$", re.DOTALL)
_ANGLE_PLACEHOLDER: Final = re.compile(r"^<[^<>]*>$")


def _strip_references(value: str) -> str:
    for pattern in _REFERENCE_PATTERNS:
        value = pattern.sub("", value)
    return value


def is_reference(value: str) -> bool:
    """Whether ``value`` as a whole refers to a secret rather than holding one."""
    stripped = value.strip()
    if not stripped:
        return False
    if _ARN.match(stripped) or (_REPEATED.match(stripped) and stripped[0] == "*"):
        return True
    return not _strip_references(stripped).strip()


# -- names ------------------------------------------------------------------

_WORD: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

# A name containing one of these words (or word pairs) names a secret.
_STRONG_WORDS: Final = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "credential",
        "credentials",
        "creds",
        "pat",
        "apikey",
        "privatekey",
        "accesskey",
        "clientsecret",
        "authtoken",
    }
)
_STRONG_PAIRS: Final = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("client", "secret"),
        ("ssh", "key"),
        ("deploy", "key"),
        ("signing", "key"),
        ("master", "key"),
        ("license", "key"),
        ("webhook", "secret"),
    }
)
# Words that suggest a secret but also name ordinary settings: they need a
# high-entropy value.
_WEAK_WORDS: Final = frozenset({"auth", "authorization", "key", "apitoken", "bearer", "hmac"})
# A name ending in one of these describes a secret (its id, location, policy),
# it does not hold one.
_METADATA_SUFFIXES: Final = frozenset(
    {
        "arn",
        "id",
        "ids",
        "name",
        "names",
        "url",
        "uri",
        "path",
        "file",
        "files",
        "type",
        "types",
        "mode",
        "length",
        "len",
        "ttl",
        "enabled",
        "enable",
        "disabled",
        "disable",
        "region",
        "endpoint",
        "host",
        "port",
        "user",
        "username",
        "policy",
        "header",
        "version",
        "env",
        "dir",
        "location",
        "field",
        "param",
        "parameter",
        "ref",
        "reference",
        "expiry",
        "expiration",
        "expires",
        "age",
        "rotation",
        "count",
        "size",
        "timeout",
        "scope",
        "scopes",
        "audience",
        "issuer",
        "prefix",
        "suffix",
        "format",
        "provider",
        "kind",
        "store",
        "source",
        "bucket",
        "stage",
        "label",
        "hint",
        "description",
        "manager",
        "required",
        "method",
        "strategy",
        "algorithm",
    }
)


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def _name_strength(name: str) -> int:
    """2: names a secret; 1: hints at one (needs entropy); 0: ordinary name."""
    words = _words(name)
    if not words or words[-1] in _METADATA_SUFFIXES:
        return 0
    joined = "".join(words)
    if any(w in _STRONG_WORDS for w in words) or joined in _STRONG_WORDS:
        return 2
    if any(pair in _STRONG_PAIRS for pair in itertools.pairwise(words)):
        return 2
    if any(w in _WEAK_WORDS for w in words):
        return 1
    return 0


def looks_secret_name(name: str) -> bool:
    """Whether a key or variable name says it holds a secret."""
    return _name_strength(name) == 2


# -- values -----------------------------------------------------------------

_TRIVIAL_WORDS: Final = frozenset(
    {
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "none",
        "null",
        "nil",
        "undefined",
        "enabled",
        "disabled",
        "required",
        "optional",
        "default",
        "auto",
        "basic",
        "bearer",
        "oauth",
        "oauth2",
        "token",
        "secret",
        "password",
        "empty",
        "unset",
        "notset",
        "changeme",
        "changeit",
        "redacted",
        "masked",
        "hidden",
        "placeholder",
        "dummy",
        "example",
        "sample",
        "test",
        "testing",
        "todo",
        "fixme",
        "secure",
        "plaintext",
        "secrets_manager",
        "parameter_store",
    }
)
_PLACEHOLDER_FRAGMENTS: Final = (
    "changeme",
    "change-me",
    "change_me",
    "replace-me",
    "replace_me",
    "replaceme",
    "placeholder",
    "your-",
    "your_",
    "example",
    "redacted",
    "xxxxxx",
    "dummy",
)
_SECRET_NAME_VALUE: Final = re.compile(r"^[a-z0-9][a-z0-9._/-]*$")
_URL: Final = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_BASE64_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
_HEX_CHARS: Final = "0123456789abcdefABCDEF"
_MIN_LITERAL: Final = 6


def _entropy(data: str, charset: str) -> float:
    if not data:
        return 0.0
    total = 0.0
    for ch in set(data):
        if ch in charset:
            p = data.count(ch) / len(data)
            total -= p * math.log2(p)
    return total


def _high_entropy(value: str) -> bool:
    """Random-looking: detect-secrets' default limits (base64 > 4.5, hex > 3.0)."""
    if len(value) < 16:
        return False
    if all(c in _HEX_CHARS for c in value):
        return _entropy(value, _HEX_CHARS) > 3.0 and len(value) not in (32, 40, 64)
    if all(c in _BASE64_CHARS for c in value):
        return _entropy(value, _BASE64_CHARS) > 4.5
    return False


def _trivial(value: str) -> bool:
    """Not a secret literal: empty, short, numeric, a keyword, a placeholder, a
    URL without credentials, a sentence, or the name of a secret."""
    v = value.strip().strip("'\"")
    if len(v) < _MIN_LITERAL or v.isdigit():
        return True
    low = v.lower()
    if low in _TRIVIAL_WORDS or _REPEATED.match(v) or _ANGLE_PLACEHOLDER.match(v):
        return True
    if any(fragment in low for fragment in _PLACEHOLDER_FRAGMENTS):
        return True
    if any(ch.isspace() for ch in v):
        return True
    if _URL.match(v) and url_credentials(v) is None:
        return True
    if _PARAMETER_PATH.match(v):
        return True
    # A lower-case identifier mentioning a secret word names a secret
    # ("github-token", "prod/db/password"): it is a pointer, not the secret.
    return bool(_SECRET_NAME_VALUE.match(v)) and _name_strength(v.replace("/", "-")) > 0


# Every credential format the plugins know has a run of ten or more letters
# and digits, a URL with user-info, or a key-block marker. Values without
# any of these (most names, paths, modes) skip the plugins.
_MAY_HOLD_CREDENTIAL: Final = re.compile(r"[A-Za-z0-9]{10}|://|PRIVATE KEY|PuTTY")


def _plugin_hit(value: str) -> SecretHit | None:
    if not _MAY_HOLD_CREDENTIAL.search(value):
        return None
    for kind, pattern in _EXTRA_PATTERNS:
        match = pattern.search(value)
        if match:
            found = match.group(match.lastindex or 0)
            return SecretHit(kind, mask(found))
    for plugin in _plugins():
        for found in plugin.analyze_string(value):
            if not found:
                continue
            if plugin.secret_type in _MIXED_CLASSES_REQUIRED and not _mixed_classes(found):
                continue
            if plugin.secret_type in _URL_PASSWORD_KINDS and _trivial_password(found):
                continue
            return SecretHit(plugin.secret_type, mask(_full_match(plugin, value, found)))
    return None


def _full_match(plugin: _Plugin, value: str, found: str) -> str:
    """The whole credential when a plugin yields only a capture group (``ghp``)."""
    found = found.strip()
    if len(found) >= 8:
        return found
    for regex in getattr(plugin, "denylist", ()):
        for match in regex.finditer(value):
            whole = str(match.group(0)).strip()
            if found in whole:
                return whole
    return found


def _mixed_classes(found: str) -> bool:
    return (
        any(c.isdigit() for c in found)
        and any(c.islower() for c in found)
        and any(c.isupper() for c in found)
    )


def _trivial_password(found: str) -> bool:
    return found.lower() in _TRIVIAL_WORDS or bool(_REPEATED.match(found))


_MAX_JSON_DEPTH: Final = 20


def _json_hit(value: str) -> SecretHit | None:
    """Secrets inside a JSON object or list value (``UserParameters``)."""
    try:
        doc = json.loads(value)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[str, Any, int]] = [("", doc, 0)]
    while stack:
        key, node, depth = stack.pop()
        if depth > _MAX_JSON_DEPTH:
            continue
        if isinstance(node, dict):
            stack.extend((str(k), v, depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((key, v, depth + 1) for v in node)
        elif isinstance(node, str):
            hit = _scalar_hit(key, node)
            if hit is not None:
                return hit
    return None


def _scalar_hit(key: str, value: str) -> SecretHit | None:
    if is_reference(value):
        return None
    literal = _strip_references(value)
    hit = _plugin_hit(literal)
    if hit is not None:
        return hit
    strength = _name_strength(key) if key else 0
    if strength == 0 or _trivial(literal):
        return None
    candidate = literal.strip().strip("'\"")
    if strength == 2 or _high_entropy(candidate):
        return SecretHit("secret-named literal", mask(candidate))
    return None


@lru_cache(maxsize=16384)
def find_secret(key: str, value: str) -> SecretHit | None:
    """A plaintext secret held by ``value`` (stored under ``key``), or None.

    ``key`` is the configuration key, variable name or JSON key the value is
    stored under; pass ``""`` when there is none. JSON object values are
    searched key by key.
    """
    if not value or not value.strip():
        return None
    stripped = value.strip()
    if stripped[:1] in "{[":
        hit = _json_hit(stripped)
        if hit is not None:
            return hit
    return _scalar_hit(key, value)


# -- free text (commands, buildspecs) ----------------------------------------

_ASSIGNMENT: Final = re.compile(
    r"""(?:^|[\s;&|(])(?:export\s+|set\s+|-e\s+|--env\s+|--build-arg\s+)?
        ["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?:=|:(?!//))\s*
        ("[^"]*"|'[^']*'|[^\s;&|]+)""",
    re.VERBOSE,
)
_FLAG: Final = re.compile(
    r"""(?:^|\s)--?([A-Za-z][A-Za-z0-9-]*)(?:=|\s+)("[^"]*"|'[^']*'|[^\s;&|-][^\s;&|]*)""",
    re.VERBOSE,
)
# Sections of a buildspec whose values name secrets in Secrets Manager or
# Parameter Store: references, not literals.
_REFERENCE_SECTION: Final = re.compile(
    r"^(\s*)(?:-\s+)?(secrets-manager|parameter-store|exported-variables)\s*:\s*$"
)


def _text_lines(text: str) -> Iterator[str]:
    """Lines of a script or buildspec, skipping buildspec reference sections."""
    skip_indent: int | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if skip_indent is not None:
            if indent > skip_indent:
                continue
            skip_indent = None
        section = _REFERENCE_SECTION.match(line)
        if section:
            skip_indent = len(section.group(1))
            continue
        yield line


@lru_cache(maxsize=4096)
def find_secret_in_text(text: str) -> SecretHit | None:
    """A plaintext secret in free text: a command line, a script, a buildspec.

    Known credential formats anywhere in the text, and secret-named
    assignments (``DB_PASSWORD=...``, ``api_key: ...``) or flags
    (``--password ...``) with a literal value.
    """
    for line in _text_lines(text):
        hit = _plugin_hit(_strip_references(line))
        if hit is not None:
            return hit
        for pattern in (_ASSIGNMENT, _FLAG):
            for match in pattern.finditer(line):
                name, value = match.group(1), match.group(2).strip("'\"")
                if _name_strength(name) == 0:
                    continue
                hit = _scalar_hit(name, value)
                if hit is not None:
                    return hit
    return None


# -- helpers for rules ---------------------------------------------------------

_SECRETS_MANAGER_REF: Final = re.compile(r"\{\{resolve:secretsmanager:((?:\$\{[^}]*\}|[^}])*)\}\}")
_PLACEHOLDER: Final = re.compile(r"\$\{[^}]*\}")


def split_colons(value: str) -> list[str]:
    """Split an ARN-like string on ``:``, keeping ``${...}`` placeholders
    (``${AWS::Region}`` in a template) whole."""
    return split_arn(value)


def secrets_manager_references(value: str) -> list[str]:
    """Secret ids (name or ARN) named by ``{{resolve:secretsmanager:...}}`` references."""
    out: list[str] = []
    for match in _SECRETS_MANAGER_REF.finditer(value):
        body = match.group(1)
        parts = split_colons(body)
        if body.startswith("arn:"):
            # arn:aws:secretsmanager:region:account:secret:name[:json-key:...]
            out.append(":".join(parts[:7]))
        else:
            out.append(parts[0])
    return [ref for ref in out if ref]


def url_credentials(url: str) -> str | None:
    """The credential embedded in a URL's user-info (password, or a token used
    as user name), or None. Reference placeholders do not count."""
    match = re.match(r"^[a-z][a-z0-9+.-]*://([^/?#@\s]*)@", url.strip(), re.IGNORECASE)
    if not match:
        return None
    userinfo = match.group(1)
    user, _, password = userinfo.partition(":")
    if password:
        if is_reference(password) or _trivial_password(_strip_references(password).strip() or "*"):
            return None
        return password
    if user and not is_reference(user) and _plugin_hit(user) is not None:
        return user
    if user and not is_reference(user) and _high_entropy(user):
        return user
    return None
