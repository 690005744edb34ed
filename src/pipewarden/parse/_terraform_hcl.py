"""Raw ``.tf`` files of one module directory -> Catalog, with a position index.

python-hcl2 parses the files; its parse tree carries line numbers, which give
the pointer -> line index (``/resource/aws_codepipeline/<name>/stage/1/...``).
Expressions arrive from python-hcl2 as HCL text (``"${aws_iam_role.x.arn}"``,
quoted templates, ``${jsonencode({...})}``); they are evaluated here as far as
the module itself determines them: variables with defaults, locals, references
to resources of the module (to their identities, see ``_terraform_catalog``),
``jsonencode``/``yamlencode`` and a few pure functions, and
``aws_iam_policy_document`` data sources. Anything else is Unresolved with the
reason, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePath
from typing import Any, Final

import hcl2
import yaml
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from pipewarden.errors import ParseError
from pipewarden.model import Inventory, KeyStyle, Loc, Unresolved
from pipewarden.model.location import escape_token
from pipewarden.parse._source import check_depth
from pipewarden.parse._terraform_catalog import (
    DEFAULT_ACCOUNT,
    Catalog,
    ProviderInfo,
    TfResource,
    Traversal,
    arn_account,
    known_str,
    parse_traversal,
    step_into,
)
from pipewarden.parse._terraform_inventory import build_inventory

__all__ = ["HclPositions", "parse_module"]

MAX_HCL_NESTING: Final = 100
MAX_INSTANCES: Final = 256
MAX_EXPANDED_BLOCKS: Final = 4096  # `dynamic` blocks expanded per module, in all
_MAX_EVAL_DEPTH: Final = 60
_OPTIONS: Final = hcl2.SerializationOptions(
    with_comments=False, preserve_heredocs=False, explicit_blocks=True
)
_META_KEYS: Final = frozenset(
    {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
)
_NOT_EVALUATED: Final = "expression is not evaluated offline"
_CREDENTIAL_KEYS: Final = (
    "assume_role",
    "assume_role_with_web_identity",
    "profile",
    "access_key",
    "shared_config_files",
    "shared_credentials_files",
    "allowed_account_ids",
)


# -- positions -------------------------------------------------------------------


class HclPositions:
    """Pointer -> (line, column) for one ``.tf`` file, from python-hcl2's parse tree."""

    def __init__(self, index: dict[str, tuple[int, int]]) -> None:
        self._index = index

    def __contains__(self, pointer: object) -> bool:
        """Whether ``pointer`` names a block or attribute written in the file itself."""
        return pointer in self._index

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer`` or of its nearest ancestor that has one."""
        probe = pointer
        while True:
            found = self._index.get(probe)
            if found is not None:
                return found
            if not probe:
                return None
            probe = probe.rsplit("/", 1)[0]


def _kind(node: Any) -> str:
    return str(node.data) if isinstance(node, Tree) else ""


def _node_text(node: Any) -> str | None:
    """The name an identifier, a string literal or a key expression spells."""
    if isinstance(node, Token):
        return str(node)
    if not isinstance(node, Tree):
        return None
    kind = _kind(node)
    if kind in ("identifier", "keyword"):
        return str(node.children[0]) if node.children else None
    if kind == "string":
        parts = []
        for part in node.children:
            if isinstance(part, Tree) and _kind(part) == "string_part":
                for tok in part.children:
                    if not isinstance(tok, Token):
                        return None
                    parts.append(str(tok))
        return "".join(parts)
    if kind in ("expr_term", "object_elem_key") and len(node.children) == 1:
        return _node_text(node.children[0])
    return None


def _where(node: Any) -> tuple[int, int] | None:
    meta = getattr(node, "meta", None)
    line = getattr(meta, "line", None) if meta is not None and not meta.empty else None
    return (line, getattr(meta, "column", 1)) if isinstance(line, int) else None


def _unwrap(node: Any) -> Any:
    while isinstance(node, Tree) and _kind(node) == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    return node


def _build_positions(tree: Any) -> HclPositions:
    index: dict[str, tuple[int, int]] = {"": (1, 1)}
    start = tree.children[0] if isinstance(tree, Tree) and tree.children else None
    stack: list[tuple[Any, str, bool]] = [(start, "", True)]
    while stack:
        node, base, top = stack.pop()
        kind = _kind(node)
        if kind == "body":
            counts: dict[str, int] = {}
            for child in node.children:
                ckind = _kind(child)
                if ckind == "attribute" and child.children:
                    name = _node_text(child.children[0])
                    if name is None:
                        continue
                    ptr = f"{base}/{escape_token(name)}"
                    pos = _where(child)
                    if pos:
                        index.setdefault(ptr, pos)
                    stack.append((child.children[-1], ptr, False))
                elif ckind == "block" and child.children:
                    btype = _node_text(child.children[0]) or ""
                    labels = [
                        text
                        for c in child.children[1:]
                        if _kind(c) in ("identifier", "string")
                        and (text := _node_text(c)) is not None
                    ]
                    if top:
                        ptr = (
                            "/"
                            + escape_token(btype)
                            + "".join("/" + escape_token(x) for x in labels)
                        )
                    else:
                        i = counts.get(btype, 0)
                        counts[btype] = i + 1
                        ptr = f"{base}/{escape_token(btype)}/{i}" + "".join(
                            "/" + escape_token(x) for x in labels
                        )
                    pos = _where(child)
                    if pos:
                        index.setdefault(ptr, pos)
                    body = next((c for c in child.children if _kind(c) == "body"), None)
                    if body is not None:
                        stack.append((body, ptr, False))
        else:
            inner = _unwrap(node)
            ikind = _kind(inner)
            if ikind == "object":
                for elem in inner.children:
                    if _kind(elem) != "object_elem" or not elem.children:
                        continue
                    key = _node_text(elem.children[0])
                    if key is None:
                        continue
                    ptr = f"{base}/{escape_token(key)}"
                    pos = _where(elem)
                    if pos:
                        index.setdefault(ptr, pos)
                    stack.append((elem.children[-1], ptr, False))
            elif ikind == "tuple":
                i = 0
                for elem in inner.children:
                    if isinstance(elem, Token) or _kind(elem) == "new_line_or_comment":
                        continue
                    ptr = f"{base}/{i}"
                    pos = _where(elem)
                    if pos:
                        index.setdefault(ptr, pos)
                    stack.append((elem, ptr, False))
                    i += 1
    return HclPositions(index)


# -- reading files ------------------------------------------------------------------


def _check_nesting(text: str, source: str) -> None:
    """Refuse pathological bracket nesting before handing the text to the parser."""
    if text.count("{") + text.count("[") + text.count("(") <= MAX_HCL_NESTING:
        return
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch in '"\n':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[(":
            depth += 1
            if depth > MAX_HCL_NESTING:
                raise ParseError(source, f"nesting deeper than {MAX_HCL_NESTING} levels")
        elif ch in "}])":
            depth = max(0, depth - 1)


def _load(text: str, source: str) -> tuple[dict[str, Any], HclPositions]:
    _check_nesting(text, source)
    try:
        tree = hcl2.parses_to_tree(text)
        positions = _build_positions(tree)
        data = hcl2.serialize(hcl2.transform(tree), serialization_options=_OPTIONS)
    except UnexpectedInput as exc:
        line = getattr(exc, "line", None)
        column = getattr(exc, "column", None)
        where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
        raise ParseError(
            source,
            f"invalid HCL syntax{where}",
            line=line if isinstance(line, int) and line > 0 else None,
        ) from exc
    except RecursionError as exc:
        raise ParseError(source, "nesting too deep") from exc
    except (LarkError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ParseError(source, f"invalid HCL: {type(exc).__name__}") from exc
    if not isinstance(data, dict):
        raise ParseError(source, "invalid HCL: not a body")
    check_depth(data, source)
    return data, positions


def _parse_expression(text: str) -> tuple[bool, Any]:
    """An HCL expression (as python-hcl2 prints it) back to python-hcl2's values."""
    try:
        data = hcl2.serialize(
            hcl2.transform(hcl2.parses_to_tree(f"v = {text}\n")), serialization_options=_OPTIONS
        )
    except (LarkError, RecursionError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False, None
    if "v" not in data:
        return False, None
    return True, data["v"]


def _unquote_label(label: str) -> str:
    if len(label) >= 2 and label[0] == '"' and label[-1] == '"':
        return label[1:-1]
    return label


def _labelled(entries: Any, depth: int) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """``[{'"type"': {'"name"': body}}]`` -> (["type", "name"], body)."""
    if not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        stack: list[tuple[dict[str, Any], list[str]]] = [(entry, [])]
        while stack:
            node, labels = stack.pop()
            if len(labels) == depth:
                yield labels, node
                continue
            for key, value in node.items():
                if key.startswith("__") or not isinstance(value, dict):
                    continue
                stack.append((value, [*labels, _unquote_label(key)]))


# -- template scanning ----------------------------------------------------------------


def _skip_string(text: str, i: int) -> int:
    """Index just after the string whose opening quote precedes ``i``."""
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if text.startswith("${", i) or text.startswith("%{", i):
            end = _match_brace(text, i + 2)
            if end < 0:
                return n
            i = end + 1
            continue
        if ch == '"':
            return i + 1
        i += 1
    return n


def _match_brace(text: str, i: int) -> int:
    """Index of the ``}`` closing an interpolation whose body starts at ``i``."""
    depth = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _skip_string(text, i + 1)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return -1


_ESCAPES: Final = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _template_parts(body: str) -> list[tuple[str, str]] | None:
    """("text", s) and ("expr", s) parts of a template; None for directives or bad text."""
    parts: list[tuple[str, str]] = []
    buf: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        if body.startswith("$${", i):
            buf.append("${")
            i += 3
        elif body.startswith("%%{", i):
            buf.append("%{")
            i += 3
        elif body.startswith("${", i):
            end = _match_brace(body, i + 2)
            if end < 0:
                return None
            if buf:
                parts.append(("text", "".join(buf)))
                buf = []
            parts.append(("expr", body[i + 2 : end]))
            i = end + 1
        elif body.startswith("%{", i):
            return None
        elif body[i] == "\\" and i + 1 < n:
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                buf.append(_ESCAPES[nxt])
                i += 2
            elif nxt in "uU":
                width = 4 if nxt == "u" else 8
                digits = body[i + 2 : i + 2 + width]
                if len(digits) == width and all(c in "0123456789abcdefABCDEF" for c in digits):
                    code = int(digits, 16)
                    buf.append(chr(code) if code <= 0x10FFFF else "\ufffd")
                    i += 2 + width
                else:
                    buf.append(body[i])
                    i += 1
            else:
                buf.append(body[i])
                i += 1
        else:
            buf.append(body[i])
            i += 1
    if buf or not parts:
        parts.append(("text", "".join(buf)))
    return parts


_CALL: Final = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\((.*)\)$", re.DOTALL)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_literal_index(text: str) -> bool:
    text = text.strip()
    return text.isdigit() or (
        len(text) >= 2 and text[0] == '"' and text[-1] == '"' and "${" not in text
    )


def _policy_from_document(body: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON an ``aws_iam_policy_document`` data source renders."""
    statements: list[Any] = []
    for key in ("source_policy_documents", "source_json"):
        sources = body.get(key)
        for src in sources if isinstance(sources, list) else [sources] if sources else []:
            doc = src
            if isinstance(src, str):
                try:
                    doc = json.loads(src)
                except ValueError:
                    doc = None
            if isinstance(doc, Mapping):
                inner = doc.get("Statement")
                statements.extend(inner if isinstance(inner, list) else [inner] if inner else [])
            elif isinstance(src, Unresolved):
                statements.append(src)

    def principals(blocks: Any) -> Any:
        if isinstance(blocks, Unresolved):
            return blocks
        out: dict[str, Any] = {}
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, Mapping):
                continue
            kind = block.get("type")
            ids = block.get("identifiers")
            if kind == "*" and ids in (["*"], "*"):
                return "*"
            if isinstance(kind, str):
                existing = out.setdefault(kind, [])
                existing.extend(ids if isinstance(ids, list) else [ids])
        return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}

    raw_statements = body.get("statement")
    for st in raw_statements if isinstance(raw_statements, list) else []:
        if not isinstance(st, Mapping):
            continue
        rendered: dict[str, Any] = {}
        if st.get("sid"):
            rendered["Sid"] = st["sid"]
        rendered["Effect"] = st.get("effect") or "Allow"
        for src_key, dst_key in (
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ):
            if st.get(src_key) is not None:
                rendered[dst_key] = st[src_key]
        if st.get("principals"):
            rendered["Principal"] = principals(st["principals"])
        if st.get("not_principals"):
            rendered["NotPrincipal"] = principals(st["not_principals"])
        conditions = st.get("condition")
        if isinstance(conditions, list) and conditions:
            cond: dict[str, Any] = {}
            for c in conditions:
                if (
                    isinstance(c, Mapping)
                    and isinstance(c.get("test"), str)
                    and isinstance(c.get("variable"), str)
                ):
                    cond.setdefault(c["test"], {})[c["variable"]] = c.get("values")
            rendered["Condition"] = cond
        statements.append(rendered)
    version = body.get("version")
    return {
        "Version": version if isinstance(version, str) else "2012-10-17",
        "Statement": statements,
    }


# -- the catalog -----------------------------------------------------------------------


class HclCatalog(Catalog):
    """Resources of one module directory, evaluated on demand."""

    def __init__(
        self,
        files: list[tuple[str, dict[str, Any]]],
        tfvars: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> None:
        super().__init__({})
        self.notes: list[str] = []
        self._variables: dict[str, dict[str, Any]] = {}
        self._locals: dict[str, Any] = {}
        self._provider_bodies: dict[str, dict[str, Any]] = {}
        self._default_tags: dict[str, dict[str, str]] = {}
        self._local_cache: dict[str, Any] = {}
        self._attr_cache: dict[tuple[int, str], Any] = {}
        self._values_cache: dict[int, dict[str, Any]] = {}
        self._active: set[tuple[str, ...]] = set()
        self._depth = 0
        # While instances are being counted, references to resources are not
        # evaluated (and nothing evaluated then is cached).
        self._expanding = True
        # (resource address, "dynamic `label`") of dynamic blocks not expanded
        self.dynamic_failures: list[tuple[str, str]] = []
        self._reparsed: dict[str, tuple[bool, Any]] = {}
        self._current = ""
        self._expansion_budget = MAX_EXPANDED_BLOCKS
        blocks: list[tuple[str, str, str, dict[str, Any], str]] = []
        self._assigned: dict[str, Any] = {}
        for _, data in tfvars:
            for key, value in data.items():
                if not key.startswith("__"):
                    self._assigned[key] = value
        for path, data in files:
            for labels, body in _labelled(data.get("variable"), 1):
                self._variables.setdefault(labels[0], body)
            for body in data.get("locals") or []:
                if isinstance(body, dict):
                    for key, value in body.items():
                        if not key.startswith("__"):
                            self._locals.setdefault(key, value)
            for labels, body in _labelled(data.get("provider"), 1):
                alias = self._evaluate(body.get("alias"), {})
                key = labels[0] + (f".{alias}" if isinstance(alias, str) and alias else "")
                self._provider_bodies.setdefault(key, body)
            for mode in ("resource", "data"):
                for labels, body in _labelled(data.get(mode), 2):
                    blocks.append((mode, labels[0], labels[1], body, path))
            for labels, body in _labelled(data.get("module"), 1):
                source = body.get("source")
                where = source.strip('"') if isinstance(source, str) else "?"
                self.notes.append(
                    f"{path}: module `{labels[0]}` ({_short(where, 80)}) is not followed;"
                    " its outputs are unresolved"
                )
        self.providers = self._providers()
        for mode, rtype, name, body, path in blocks:
            self._expand(mode, rtype, name, body, path)
        self._expanding = False

    # -- setup ----------------------------------------------------------------------

    def _providers(self) -> dict[str, ProviderInfo]:
        bodies = {
            k: v for k, v in self._provider_bodies.items() if k == "aws" or k.startswith("aws.")
        }
        bodies.setdefault("aws", {})

        def signature(body: Mapping[str, Any]) -> str:
            return json.dumps(
                {k: body.get(k) for k in _CREDENTIAL_KEYS}, sort_keys=True, default=str
            )

        default_sig = signature(bodies["aws"])
        out: dict[str, ProviderInfo] = {}
        for key in sorted(bodies, key=lambda k: (k != "aws", k)):
            body = bodies[key]
            region = known_str(self._evaluate(body.get("region"), {}))
            account: str | None = None
            allowed = self._evaluate(body.get("allowed_account_ids"), {})
            if isinstance(allowed, list) and len(allowed) == 1 and isinstance(allowed[0], str):
                account = allowed[0]
            assume = self._evaluate(body.get("assume_role"), {})
            if (
                account is None
                and isinstance(assume, list)
                and assume
                and isinstance(assume[0], Mapping)
            ):
                role = known_str(assume[0].get("role_arn"))
                account = arn_account(role) if role else None
            shares_default = key != "aws" and signature(body) == default_sig
            if shares_default and "aws" in out:
                account = account or out["aws"].account
            placeholder = (
                DEFAULT_ACCOUNT if key == "aws" or shares_default else "${" + key + ".account_id}"
            )
            out[key] = ProviderInfo(key, account, region, placeholder)
            tags = _first(self._evaluate(body.get("default_tags"), {}))
            tags = tags.get("tags") if isinstance(tags, Mapping) else None
            if isinstance(tags, Mapping):
                self._default_tags[key] = {str(k): v for k, v in tags.items() if isinstance(v, str)}
        return out

    def _expand(self, mode: str, rtype: str, name: str, body: dict[str, Any], path: str) -> None:
        prefix = "data." if mode == "data" else ""
        pointer = f"/{mode}/{escape_token(rtype)}/{escape_token(name)}"
        loc = Loc(path, pointer, KeyStyle.TERRAFORM)
        provider = "aws"
        raw_provider = body.get("provider")
        if isinstance(raw_provider, str):
            provider = raw_provider.removeprefix("${").removesuffix("}").strip() or "aws"
        base = f"{prefix}{rtype}.{name}"
        instances: list[tuple[str | None, dict[str, Any]]] = [(None, {})]
        if "count" in body:
            count = self._evaluate(body["count"], {})
            if isinstance(count, int) and not isinstance(count, bool):
                instances = [
                    (str(i), {"count": {"index": i}}) for i in range(min(count, MAX_INSTANCES))
                ]
            else:
                instances = [
                    (None, {"count": Unresolved(f"{base}.count", "count is not resolved")})
                ]
        elif "for_each" in body:
            each = self._evaluate(body["for_each"], {})
            if isinstance(each, Mapping):
                instances = [
                    (json.dumps(str(k)), {"each": {"key": str(k), "value": v}})
                    for k, v in list(each.items())[:MAX_INSTANCES]
                ]
            elif isinstance(each, list) and all(isinstance(v, str) for v in each):
                instances = [
                    (json.dumps(v), {"each": {"key": v, "value": v}}) for v in each[:MAX_INSTANCES]
                ]
            else:
                instances = [
                    (None, {"each": Unresolved(f"{base}.for_each", "for_each is not resolved")})
                ]
        for key, scope in instances:
            res = TfResource(
                address=base if key is None else f"{base}[{key}]",
                type=rtype,
                name=name,
                module=(),
                loc=loc,
                provider=provider,
                mode="data" if mode == "data" else "managed",
                key=key,
                meta={"body": body, "scope": scope},
            )
            self.add(res)

    # -- Catalog hooks ---------------------------------------------------------------

    def attr(self, res: TfResource, key: str) -> Any:
        cache_key = (id(res), key)
        if cache_key in self._attr_cache:
            return self._attr_cache[cache_key]
        body = res.meta.get("body", {})
        if key not in body or key in _META_KEYS:
            return None
        guard = ("attr", res.address, key)
        if guard in self._active:
            return Unresolved(f"{res.address}.{key}", "refers to itself")
        self._active.add(guard)
        try:
            value = self._evaluate(body[key], res.meta.get("scope", {}))
        finally:
            self._active.discard(guard)
        self._attr_cache[cache_key] = value
        return value

    def values(self, res: TfResource) -> dict[str, Any]:
        cached = self._values_cache.get(id(res))
        if cached is not None:
            return cached
        guard = ("values", res.address)
        if guard in self._active:
            return {}
        self._active.add(guard)
        outer, self._current = self._current, res.address
        try:
            evaluated = self._body(
                res.meta.get("body", {}), res.meta.get("scope", {}), res.address, top=True
            )
        finally:
            self._active.discard(guard)
            self._current = outer
        defaults = self._default_tags.get(res.provider)
        if defaults and res.mode == "managed" and "tags_all" not in evaluated:
            own = evaluated.get("tags")
            evaluated["tags_all"] = {**defaults, **(own if isinstance(own, Mapping) else {})}
        self._values_cache[id(res)] = evaluated
        return evaluated

    def declared(self, res: TfResource, key: str) -> bool | None:
        body = res.meta.get("body", {})
        if key in body:
            return True
        dynamic = body.get("dynamic")
        return any(labels[0] == key for labels, _ in _labelled(dynamic, 1))

    # -- evaluation -----------------------------------------------------------------

    def _evaluate(self, raw: Any, scope: Mapping[str, Any]) -> Any:
        if self._depth > _MAX_EVAL_DEPTH:
            return Unresolved(_short(str(raw)), "too deeply nested to evaluate")
        self._depth += 1
        try:
            return self._eval(raw, scope)
        finally:
            self._depth -= 1

    def _eval(self, raw: Any, scope: Mapping[str, Any]) -> Any:
        if raw is None or isinstance(raw, bool | int | float):
            return raw
        if isinstance(raw, str):
            if len(raw) >= 2 and raw[0] == '"' and raw[-1] == '"':
                return self._template(raw[1:-1], scope)
            if raw.startswith("${") and raw.endswith("}"):
                return self._expression(raw[2:-1], scope)
            return raw
        if isinstance(raw, list):
            return [self._evaluate(item, scope) for item in raw]
        if isinstance(raw, dict):
            if raw.get("__is_block__"):
                return self._body(raw, scope, "")
            out: dict[str, Any] = {}
            for key, value in raw.items():
                if key.startswith("__") and key.endswith("__"):
                    continue
                out[self._key(key, scope)] = self._evaluate(value, scope)
            return out
        return Unresolved(_short(str(raw)), _NOT_EVALUATED)

    def _key(self, key: str, scope: Mapping[str, Any]) -> str:
        value = self._eval(key, scope)
        return value if isinstance(value, str) else key

    def _body(
        self, body: Mapping[str, Any], scope: Mapping[str, Any], where: str, *, top: bool = False
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in body.items():
            if (key.startswith("__") and key.endswith("__")) or (top and key in _META_KEYS):
                continue
            if key == "dynamic":
                continue
            out[key] = self._evaluate(value, scope)
        for labels, dyn in _labelled(body.get("dynamic"), 1):
            label = labels[0]
            expanded = self._dynamic(label, dyn, scope, where)
            if expanded is None:
                continue
            existing = out.get(label)
            out[label] = (existing if isinstance(existing, list) else []) + expanded
        return out

    def _dynamic(
        self, label: str, dyn: Mapping[str, Any], scope: Mapping[str, Any], where: str
    ) -> list[Any] | None:
        each = self._evaluate(dyn.get("for_each"), scope)
        iterator = self._evaluate(dyn.get("iterator"), scope) if "iterator" in dyn else None
        if not isinstance(iterator, str):
            raw_it = dyn.get("iterator")
            iterator = (
                raw_it.removeprefix("${").removesuffix("}") if isinstance(raw_it, str) else label
            )
        contents = dyn.get("content")
        content = contents[0] if isinstance(contents, list) and contents else None
        items: list[tuple[Any, Any]]
        if isinstance(each, Mapping):
            items = list(each.items())
        elif isinstance(each, list):
            items = list(enumerate(each))
        else:
            self.dynamic_failures.append((where or self._current, f"dynamic `{label}`"))
            return None
        if not isinstance(content, Mapping):
            return []
        if len(items) > self._expansion_budget:
            self.dynamic_failures.append(
                (where or self._current, f"dynamic `{label}` (too many blocks)")
            )
            return None
        self._expansion_budget -= len(items)
        return [
            self._body(content, {**scope, iterator: {"key": k, "value": v}}, where)
            for k, v in items
        ]

    def _reparse(self, text: str) -> tuple[bool, Any]:
        found = self._reparsed.get(text)
        if found is None:
            found = _parse_expression(text)
            self._reparsed[text] = found
        return found

    def _template(self, body: str, scope: Mapping[str, Any]) -> Any:
        parts = _template_parts(body)
        if parts is None:
            return Unresolved(_short(f'"{body}"'), "template directives are not evaluated")
        if len(parts) == 1 and parts[0][0] == "expr":
            return self._expression(parts[0][1], scope)
        out = []
        for kind, text in parts:
            if kind == "text":
                out.append(text)
                continue
            value = self._expression(text, scope)
            if isinstance(value, Unresolved):
                return Unresolved(_short(f'"{body}"'), value.reason)
            if isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, int | float | str):
                out.append(str(value))
            else:
                return Unresolved(_short(f'"{body}"'), "interpolates a value that is not a string")
        return "".join(out)

    def _expression(self, text: str, scope: Mapping[str, Any]) -> Any:
        text = text.strip()
        if text.startswith("(") and text.endswith(")") and _balanced_parens(text):
            return self._expression(text[1:-1], scope)
        trav = parse_traversal(text)
        if trav is not None:
            if trav.text in ("true", "false"):
                return trav.text == "true"
            if trav.text == "null":
                return None
            return self._traverse(trav, scope)
        call = _CALL.match(text)
        if call is not None and _balanced_parens(text[len(call.group(1)) :]):
            return self._call(call.group(1), call.group(2), text, scope)
        if text.startswith(("{", "[")) and not text.startswith(("{for ", "[for ")):
            ok, raw = self._reparse(text)
            if ok:
                return self._evaluate(raw, scope)
        return Unresolved(_short(text), _NOT_EVALUATED)

    def _call(self, name: str, args_text: str, text: str, scope: Mapping[str, Any]) -> Any:
        ok, raw_args = self._reparse(f"[{args_text}]")
        if not ok or not isinstance(raw_args, list):
            return Unresolved(_short(text), "the function call could not be read")
        args = [self._evaluate(a, scope) for a in raw_args]
        unresolved = next((a for a in args if isinstance(a, Unresolved)), None)
        if name == "jsonencode" and len(args) == 1:
            value = args[0]
            if isinstance(value, Mapping | list):
                return value  # kept as structure; serialised by whoever needs text
            if unresolved is not None:
                return Unresolved(_short(text), unresolved.reason)
            return json.dumps(value)
        if unresolved is not None:
            return Unresolved(_short(text), unresolved.reason)
        if name == "yamlencode" and len(args) == 1 and not _contains_unresolved(args[0]):
            return yaml.safe_dump(args[0], sort_keys=False, default_flow_style=False)
        if (
            name in ("tostring", "tolist", "toset", "tomap", "sensitive", "nonsensitive")
            and len(args) == 1
        ):
            return args[0]
        if name in ("lower", "upper", "trimspace") and len(args) == 1 and isinstance(args[0], str):
            if name == "lower":
                return args[0].lower()
            return args[0].upper() if name == "upper" else args[0].strip()
        if name == "merge" and all(isinstance(a, Mapping) for a in args):
            merged: dict[str, Any] = {}
            for a in args:
                merged.update(a)
            return merged
        if name == "concat" and all(isinstance(a, list) for a in args):
            return [item for a in args for item in a]
        if (
            name == "join"
            and len(args) == 2
            and isinstance(args[0], str)
            and isinstance(args[1], list)
            and all(isinstance(x, str) for x in args[1])
        ):
            return args[0].join(args[1])
        return Unresolved(_short(text), f"function `{name}` is not evaluated offline")

    def _traverse(self, trav: Traversal, scope: Mapping[str, Any]) -> Any:
        steps = list(trav.steps)
        for i, step in enumerate(steps):
            if isinstance(step, tuple) and step[1] != "*" and not _is_literal_index(step[1]):
                key = self._expression(step[1], scope)
                if isinstance(key, bool) or not isinstance(key, str | int):
                    return Unresolved(trav.text, "an index is not resolved")
                steps[i] = ("[", str(key) if isinstance(key, int) else json.dumps(key))
        root = trav.root
        if root in scope:
            value = scope[root]
            return step_into(value, tuple(steps[1:]), trav.text)
        if len(steps) < 2 or not isinstance(steps[1], str):
            return Unresolved(trav.text, _NOT_EVALUATED)
        name = steps[1]
        if root == "var":
            return step_into(self._variable(name), tuple(steps[2:]), trav.text)
        if root == "local":
            return step_into(self._local(name), tuple(steps[2:]), trav.text)
        if root in ("each", "count"):
            return Unresolved(trav.text, f"`{root}` is only known per instance")
        if root == "module":
            return Unresolved(trav.text, f"output of module `{name}` is not followed")
        if root in ("path", "terraform", "self"):
            return Unresolved(trav.text, _NOT_EVALUATED)
        mode = "managed"
        if root == "data":
            mode = "data"
            steps = steps[1:]
            if len(steps) < 2 or not isinstance(steps[1], str):
                return Unresolved(trav.text, _NOT_EVALUATED)
        rtype, rname = str(steps[0]), str(steps[1])
        rest = steps[2:]
        index: str | None = None
        if rest and isinstance(rest[0], tuple):
            index = rest[0][1]
            rest = rest[1:]
        if self._expanding:
            return Unresolved(trav.text, "resources are not known while counting instances")
        found = self.instances((), mode, rtype, rname)
        if not found:
            what = "data source" if mode == "data" else "resource"
            return Unresolved(trav.text, f"{what} `{rtype}.{rname}` is not in this configuration")
        target = self.pick(found, index)
        if target is None:
            return Unresolved(trav.text, "no such instance")
        if isinstance(target, Unresolved):
            return Unresolved(trav.text, target.reason)
        if not rest or not isinstance(rest[0], str):
            return Unresolved(trav.text, "a whole resource is not a value")
        attr = rest[0]
        if mode == "data":
            value = self._data_attr(target, attr, trav.text)
        else:
            value = self.resource_attr(target, attr)
        return step_into(value, tuple(rest[1:]), trav.text)

    def _data_attr(self, res: TfResource, attr: str, text: str) -> Any:
        if res.type == "aws_caller_identity" and attr == "account_id":
            return self.account(res)
        if res.type == "aws_region" and attr in ("name", "id", "region"):
            return self.region(res)
        if res.type == "aws_partition" and attr == "partition":
            return "aws"
        if res.type == "aws_partition" and attr == "dns_suffix":
            return "amazonaws.com"
        if res.type == "aws_iam_policy_document" and attr in ("json", "minified_json"):
            return _policy_from_document(self.values(res))
        return Unresolved(text, "data source is read from AWS at plan time")

    def _variable(self, name: str) -> Any:
        body = self._variables.get(name)
        if body is None:
            return Unresolved(f"var.{name}", f"variable `{name}` is not declared")
        if name in self._assigned:
            return self._evaluate(self._assigned[name], {})
        if "default" not in body:
            return Unresolved(f"var.{name}", f"variable `{name}` has no default")
        return self._evaluate(body["default"], {})

    def _local(self, name: str) -> Any:
        if name in self._local_cache:
            return self._local_cache[name]
        if name not in self._locals:
            return Unresolved(f"local.{name}", f"local `{name}` is not defined")
        guard = ("local", name)
        if guard in self._active:
            return Unresolved(f"local.{name}", "refers to itself")
        self._active.add(guard)
        try:
            value = self._evaluate(self._locals[name], {})
        finally:
            self._active.discard(guard)
        if not self._expanding:
            self._local_cache[name] = value
        return value


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _balanced_parens(text: str) -> bool:
    """True when the ``(`` at the start of ``text`` closes at its very end."""
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            i = _skip_string(text, i + 1)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != n - 1:
                return False
        i += 1
    return depth == 0


def _contains_unresolved(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, Mapping):
        return any(_contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unresolved(v) for v in value)
    return False


def _has_pipeline(data: Mapping[str, Any]) -> bool:
    return any(labels[0] == "aws_codepipeline" for labels, _ in _labelled(data.get("resource"), 2))


def _load_order(path: str) -> tuple[int, str]:
    """``.tf`` files first, then ``terraform.tfvars``, then ``*.auto.tfvars`` by name."""
    if not path.endswith(".tfvars"):
        return 0, path
    return (1 if PurePath(path).name == "terraform.tfvars" else 2), path


def parse_module(texts: Mapping[str, str], *, module: str, source_kind: str) -> Inventory | None:
    """Parse the ``.tf`` files of one directory; None when none declares a pipeline.

    ``texts`` may also hold the directory's auto-loaded variable files
    (``terraform.tfvars``, ``*.auto.tfvars``): their values replace defaults,
    later files winning as in Terraform.
    """
    files: list[tuple[str, dict[str, Any]]] = []
    tfvars: list[tuple[str, dict[str, Any]]] = []
    positions: dict[str, HclPositions] = {}
    for path in sorted(texts, key=_load_order):
        data, index = _load(texts[path], path)
        (tfvars if path.endswith(".tfvars") else files).append((path, data))
        positions[path] = index
    if not any(_has_pipeline(data) for _, data in files):
        return None
    catalog = HclCatalog(files, tfvars)
    notes = list(catalog.notes)
    # A pipeline whose stages or actions come from `dynamic` blocks over an
    # unresolved collection cannot be evaluated: skip it with a note rather
    # than judge the stages that happen to be static.
    skipped: set[str] = set()
    for res in catalog.of_type("aws_codepipeline"):
        catalog.dynamic_failures.clear()
        catalog.values(res)
        if catalog.dynamic_failures:
            skipped.add(res.address)
            blocks = ", ".join(sorted({what for _, what in catalog.dynamic_failures}))
            notes.append(
                f"{res.loc.subject}: pipeline `{res.address}` not scanned: its {blocks} "
                "iterates over a value this module does not determine (scan "
                "`terraform show -json` of a plan instead)"
            )
    if skipped:
        catalog.resources = [r for r in catalog.resources if r.address not in skipped]
    catalog.dynamic_failures.clear()
    inventory = build_inventory(catalog, source_kind=source_kind, positions=positions, notes=notes)
    if catalog.dynamic_failures:
        extra = ", ".join(sorted({f"{where}: {what}" for where, what in catalog.dynamic_failures}))
        inventory = replace(
            inventory,
            notes=(
                *inventory.notes,
                f"{module}: blocks generated by {extra} are not evaluated: the collection "
                "they iterate over is not determined by this module",
            ),
        )
    return inventory
