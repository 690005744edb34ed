"""CloudFormation templates (YAML or JSON, CDK ``cdk.out/*.template.json``) -> Inventory.

The template is resolved as far as the template itself can be: ``Ref`` and
``Fn::GetAtt`` to resources it defines, parameters with defaults, pseudo
parameters, ``Fn::Sub``/``Join``/``Select``/``Split``/``FindInMap``/``If`` and
conditions whose inputs are known. What depends on the deployment
(``Fn::ImportValue``, a parameter without default, an ``Fn::If`` whose
condition is unknown and whose branches differ) becomes
:class:`~pipewarden.model.Unresolved` with the reason, never a guess.

Identity conventions (rules and lookups rely on them):

- the account and region are the placeholders ``${AWS::AccountId}`` and
  ``${AWS::Region}``; ``AWS::Partition`` is ``aws``;
- a resource whose name property is not given (or not resolvable) is named by
  its logical id: ``Ref`` to an IAM role gives ``RoleName`` or the logical id,
  ``Fn::GetAtt Role.Arn`` gives ``arn:aws:iam::${AWS::AccountId}:role/<name>``;
- a KMS key's id is its logical id, a connection's ARN ends in its logical id,
  a Lambda version's number is ``${<VersionLogicalId>.Version}``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.errors import ParseError
from pipewarden.model import (
    ActionType,
    Bucket,
    CodeBuildProject,
    Connection,
    EcrRepository,
    EnvVar,
    IdentityPolicy,
    InlineSuppression,
    Inventory,
    KeyStyle,
    KmsKey,
    LambdaFunction,
    Loc,
    LogGroup,
    ManagedPolicy,
    ObjectLock,
    Pipeline,
    PipelineWebhook,
    PositionIndex,
    Role,
    Secret,
    Unresolved,
    Value,
    WebhookFilterGroup,
)
from pipewarden.model.location import escape_token, split_pointer
from pipewarden.parse._source import JsonPositions, check_depth
from pipewarden.parse._yaml import load_yaml
from pipewarden.parse.declaration import parse_declaration, to_value

__all__ = [
    "SOURCE_KIND",
    "is_cloudformation",
    "looks_like_cloudformation_yaml",
    "parse_cloudformation_json",
    "parse_cloudformation_yaml",
]

SOURCE_KIND: Final = "CloudFormation template"
ACCOUNT: Final = "${AWS::AccountId}"
REGION: Final = "${AWS::Region}"

MAX_STRING: Final = 1_000_000
"""Longest string an intrinsic function may produce before it is left unresolved."""

MAX_RESOLVED_CHARS: Final = 64 * 1024 * 1024
"""Most characters intrinsic functions may produce over a whole template."""

_MAX_LEVEL: Final = 220  # nested resolution steps (data nesting is at most MAX_DEPTH)
_HOP_COST: Final = 4  # a Ref/condition hop costs several stack frames

_YAML_HINT: Final = re.compile(
    r"""^["']?(?:Resources|AWSTemplateFormatVersion)["']?[ \t]*:""", re.MULTILINE
)
_SUB_VAR: Final = re.compile(r"\$\{([^}]*)\}")
_RATE: Final = re.compile(r"^rate\(\s*(\d+)\s+(day|days|hour|hours)\s*\)$")

_PSEUDO: Final[Mapping[str, str]] = {
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::StackName": "${AWS::StackName}",
    "AWS::StackId": "${AWS::StackId}",
}

_DEFAULT_KEY_POLICY: Final = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}
"""The key policy KMS attaches when a template gives none (documented default)."""


class _NoValue:
    """``AWS::NoValue``: the enclosing key or element is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


_NO_VALUE: Final = _NoValue()


# -- public entry points -------------------------------------------------------


def is_cloudformation(doc: Any) -> bool:
    """Whether decoded JSON/YAML is a CloudFormation template."""
    return isinstance(doc, Mapping) and (
        isinstance(doc.get("Resources"), Mapping) or "AWSTemplateFormatVersion" in doc
    )


def looks_like_cloudformation_yaml(text: str) -> bool:
    """Cheap check: a top-level ``Resources:`` or ``AWSTemplateFormatVersion:`` line."""
    return _YAML_HINT.search(text) is not None


def parse_cloudformation_json(doc: Any, *, source: str, text: str) -> Inventory:
    """Parse a decoded JSON template (CDK ``*.template.json`` included)."""
    check_depth(doc, source)
    return _parse(doc, source, JsonPositions(text))


def parse_cloudformation_yaml(text: str, *, source: str) -> Inventory:
    """Parse a YAML template (short-form tags such as ``!Ref`` and ``!Sub`` included)."""
    doc, positions = load_yaml(text, source)
    return _parse(doc, source, positions)


# -- helpers -------------------------------------------------------------------


def _ptr(base: str | None, key: str | int) -> str | None:
    if base is None:
        return None
    return f"{base}/{escape_token(str(key))}"


def _expr(fn: str, arg: Any) -> str:
    """Short printable form of an intrinsic function call."""
    try:
        shown = json.dumps(arg, separators=(",", ":"), default=str)
    except (ValueError, TypeError):
        shown = "..."
    text = f"{fn} {shown}"
    return text if len(text) <= 200 else text[:197] + "..."


def _text(value: Any) -> str | Unresolved | None:
    """A resolved scalar as text; None when it is not a scalar."""
    if isinstance(value, Unresolved | str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _dig(node: Any, *keys: str | int) -> Any:
    """A nested value; an Unresolved on the way is returned as is (unknown stays unknown)."""
    for key in keys:
        if isinstance(node, Unresolved):
            return node
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                return None
            node = node[key]
        elif isinstance(node, Mapping):
            node = node.get(key)
        else:
            return None
    return node


def _flag(value: Any) -> bool | Unresolved | None:
    """A boolean property: True/False, "true"/"false", Unresolved, or None when absent."""
    if value is None or isinstance(value, Unresolved | bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _string(value: Any) -> str | None:
    """A known string (numbers as text); None when absent or unresolved."""
    got = _text(value)
    return got if isinstance(got, str) else None


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if value is None:
        return []
    return [value]


def _tags(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping) and item.get("Key") is not None:
                out[str(_text(item["Key"]))] = str(_text(item.get("Value")) or "")
    elif isinstance(raw, Mapping):
        out = {str(k): str(_text(v) or "") for k, v in raw.items()}
    return out


# -- the template ------------------------------------------------------------------


@dataclass(slots=True)
class _Resource:
    id: str
    type: str
    raw: Mapping[str, Any]
    pointer: str
    exists: bool | None = True  # None: its condition is unknown
    condition: str | None = None

    @property
    def props_raw(self) -> Any:
        return self.raw.get("Properties")


@dataclass(slots=True)
class _Identity:
    ref: Any
    attrs: dict[str, Any] = field(default_factory=dict)


class _Template:
    """The sections of a template, validated, plus the resolver over them."""

    def __init__(self, doc: Any, source: str, positions: PositionIndex) -> None:
        self.source = source
        self.positions = positions
        if not isinstance(doc, Mapping):
            raise self.error("a CloudFormation template must be an object", "")
        self.doc = doc
        self.parameters = self._section("Parameters")
        self.mappings = self._section("Mappings")
        self.conditions = self._section("Conditions")
        resources = self._section("Resources")
        self.resources: dict[str, _Resource] = {}
        for rid, body in resources.items():
            pointer = f"/Resources/{escape_token(str(rid))}"
            if not isinstance(body, Mapping):
                raise self.error(f"resource `{rid}` must be an object", pointer)
            rtype = body.get("Type")
            if not isinstance(rtype, str):
                raise self.error(f"resource `{rid}` has no Type", pointer)
            cond = body.get("Condition")
            self.resources[str(rid)] = _Resource(
                str(rid), rtype, body, pointer, condition=cond if isinstance(cond, str) else None
            )
        self.remap: dict[str, str] = {}
        self.notes: list[str] = []
        self._identities: dict[str, _Identity] = {}
        self._conditions: dict[str, bool | None] = {}
        self._active: set[str] = set()
        self._level = 0
        self._produced = 0
        self._props: dict[str, Any] = {}
        self.unresolved_props: set[str] = set()
        for res in self.resources.values():
            if res.condition is not None:
                res.exists = self.condition(res.condition)

    def error(self, message: str, pointer: str) -> ParseError:
        spot = self.positions.locate(pointer) if pointer else None
        return ParseError(
            self.source, message, pointer=pointer, line=spot[0] if spot is not None else None
        )

    def _section(self, name: str) -> Mapping[str, Any]:
        body = self.doc.get(name)
        if body is None:
            return {}
        if not isinstance(body, Mapping):
            raise self.error(f"`{name}` must be an object", f"/{name}")
        return body

    # -- resolution ------------------------------------------------------------

    def _count(self, value: Any) -> Any:
        if isinstance(value, str):
            self._produced += len(value)
            if self._produced > MAX_RESOLVED_CHARS:
                raise ParseError(
                    self.source,
                    f"intrinsic functions produce more than {MAX_RESOLVED_CHARS} characters",
                )
        return value

    def resolve(self, node: Any, src: str | None = None, out: str | None = None) -> Any:
        """Resolve every intrinsic function in ``node``.

        ``src``/``out`` are the pointers of ``node`` in the template and in the
        result; where they part (a dropped list element, a chosen ``Fn::If``
        branch) the result's pointers are mapped back to the template.
        """
        if isinstance(node, Mapping):
            self._level += 1
            try:
                if self._level > _MAX_LEVEL:
                    return Unresolved("...", "intrinsic functions nest too deeply")
                if len(node) == 1:
                    ((key, arg),) = node.items()
                    if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
                        return self._intrinsic(str(key), arg, src, out)
                result: dict[str, Any] = {}
                for key, value in node.items():
                    child = self.resolve(value, _ptr(src, key), _ptr(out, key))
                    if child is not _NO_VALUE:
                        result[str(key)] = child
                return result
            finally:
                self._level -= 1
        if isinstance(node, list):
            self._level += 1
            try:
                items: list[Any] = []
                for i, value in enumerate(node):
                    child = self.resolve(value, _ptr(src, i), _ptr(out, len(items)))
                    if child is _NO_VALUE:
                        continue
                    if src is not None and out is not None and len(items) != i:
                        self.remap[f"{out}/{len(items)}"] = f"{src}/{i}"
                    items.append(child)
                return items
            finally:
                self._level -= 1
        return node

    def _intrinsic(self, fn: str, arg: Any, src: str | None, out: str | None) -> Any:
        if fn == "Fn::If":
            return self._if(arg, src, out)
        handler = _FUNCTIONS.get(fn)
        if handler is None:
            return Unresolved(_expr(fn, arg), f"`{fn}` is not evaluated")
        result = handler(self, arg)
        if isinstance(result, str) and len(result) > MAX_STRING:
            return Unresolved(_expr(fn, arg), f"the value is longer than {MAX_STRING} characters")
        return self._count(result)

    def _hop(self) -> bool:
        """Enter a Ref/condition hop; False when the chain is too long."""
        if self._level + _HOP_COST > _MAX_LEVEL:
            return False
        self._level += _HOP_COST
        return True

    def ref(self, name: Any) -> Any:
        """The value of ``Ref name``."""
        if not isinstance(name, str):
            return Unresolved(_expr("Ref", name), "Ref names a non-string")
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in _PSEUDO:
            return _PSEUDO[name]
        if name.startswith("AWS::"):
            return Unresolved(f"Ref {name}", f"`{name}` is known only at deployment")
        if name in self.parameters:
            return self._parameter(name)
        res = self.resources.get(name)
        if res is None:
            return Unresolved(f"Ref {name}", f"`{name}` is not defined in this template")
        if res.exists is False:
            return Unresolved(
                f"Ref {name}",
                f"resource `{name}` is not created (condition `{res.condition}` is false)",
            )
        return self.identity(res).ref

    def _parameter(self, name: str) -> Any:
        body = self.parameters[name]
        if not isinstance(body, Mapping) or "Default" not in body:
            return Unresolved(f"Ref {name}", f"parameter `{name}` has no default")
        default = body["Default"]
        ptype = str(body.get("Type", "String"))
        if ptype.startswith("AWS::SSM::Parameter::Value"):
            return Unresolved(
                f"Ref {name}",
                f"parameter `{name}` is read from SSM parameter `{default}` at deployment",
            )
        if (ptype == "CommaDelimitedList" or ptype.startswith("List<")) and isinstance(
            default, str
        ):
            return [part.strip() for part in default.split(",")]
        return default

    def getatt(self, arg: Any) -> Any:
        """The value of ``Fn::GetAtt``."""
        if isinstance(arg, str) and "." in arg:
            arg = arg.split(".", 1)
        if not isinstance(arg, list) or len(arg) != 2:
            return Unresolved(_expr("Fn::GetAtt", arg), "malformed Fn::GetAtt")
        rid, attr = arg[0], arg[1]
        if not isinstance(attr, str):
            attr = _text(self.resolve(attr))
        if not isinstance(rid, str) or not isinstance(attr, str):
            return Unresolved(_expr("Fn::GetAtt", arg), "Fn::GetAtt names are not known")
        expr = f"Fn::GetAtt {rid}.{attr}"
        res = self.resources.get(rid)
        if res is None:
            return Unresolved(expr, f"`{rid}` is not defined in this template")
        if res.exists is False:
            return Unresolved(
                expr, f"resource `{rid}` is not created (condition `{res.condition}` is false)"
            )
        ident = self.identity(res)
        if attr in ident.attrs:
            return ident.attrs[attr]
        return Unresolved(
            expr, f"attribute `{attr}` of `{rid}` ({res.type}) is known only after deployment"
        )

    def _sub(self, arg: Any) -> Any:
        variables: Mapping[str, Any] = {}
        if isinstance(arg, str):
            template = arg
        elif (
            isinstance(arg, list)
            and len(arg) == 2
            and isinstance(arg[0], str)
            and isinstance(arg[1], Mapping)
        ):
            template, variables = arg[0], arg[1]
        else:
            return Unresolved(_expr("Fn::Sub", arg), "malformed Fn::Sub")
        expr = _expr("Fn::Sub", template)
        parts: list[str] = []
        size = 0
        pos = 0
        for match in _SUB_VAR.finditer(template):
            parts.append(template[pos : match.start()])
            pos = match.end()
            name = match.group(1)
            if name.startswith("!"):
                parts.append("${" + name[1:] + "}")
                continue
            name = name.strip()
            if name in variables:
                value = self.resolve(variables[name])
            elif "." in name and not name.startswith("AWS::"):
                value = self.getatt(name.split(".", 1))
            else:
                value = self.ref(name)
            got = _text(value)
            if isinstance(got, Unresolved):
                return Unresolved(expr, got.reason)
            if got is None:
                return Unresolved(expr, f"Fn::Sub variable `{name}` is not a string")
            size += len(got)
            if size > MAX_STRING:
                return Unresolved(expr, f"the value is longer than {MAX_STRING} characters")
            parts.append(got)
        parts.append(template[pos:])
        return "".join(parts)

    def _join(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unresolved(_expr("Fn::Join", arg), "malformed Fn::Join")
        expr = _expr("Fn::Join", arg)
        delimiter = _text(self.resolve(arg[0]))
        items = self.resolve(arg[1])
        for part in (delimiter, items):
            if isinstance(part, Unresolved):
                return Unresolved(expr, part.reason)
        if not isinstance(delimiter, str) or not isinstance(items, list):
            return Unresolved(expr, "malformed Fn::Join")
        texts: list[str] = []
        size = 0
        for item in items:
            got = _text(item)
            if isinstance(got, Unresolved):
                return Unresolved(expr, got.reason)
            if got is None:
                return Unresolved(expr, "Fn::Join element is not a string")
            size += len(got) + len(delimiter)
            if size > MAX_STRING:
                return Unresolved(expr, f"the value is longer than {MAX_STRING} characters")
            texts.append(got)
        return delimiter.join(texts)

    def _select(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unresolved(_expr("Fn::Select", arg), "malformed Fn::Select")
        expr = _expr("Fn::Select", arg)
        index = _text(self.resolve(arg[0]))
        items = self.resolve(arg[1])
        for part in (index, items):
            if isinstance(part, Unresolved):
                return Unresolved(expr, part.reason)
        if not isinstance(items, list) or not isinstance(index, str) or not index.isdigit():
            return Unresolved(expr, "malformed Fn::Select")
        position = int(index)
        if position >= len(items):
            return Unresolved(expr, f"Fn::Select index {position} is out of range")
        return items[position]

    def _split(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 2:
            return Unresolved(_expr("Fn::Split", arg), "malformed Fn::Split")
        expr = _expr("Fn::Split", arg)
        delimiter = _text(self.resolve(arg[0]))
        value = _text(self.resolve(arg[1]))
        for part in (delimiter, value):
            if isinstance(part, Unresolved):
                return Unresolved(expr, part.reason)
        if not isinstance(delimiter, str) or not delimiter or not isinstance(value, str):
            return Unresolved(expr, "malformed Fn::Split")
        return value.split(delimiter)

    def _find_in_map(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            return Unresolved(_expr("Fn::FindInMap", arg), "malformed Fn::FindInMap")
        expr = _expr("Fn::FindInMap", arg)
        keys: list[str] = []
        for part in arg[:3]:
            got = _text(self.resolve(part))
            if isinstance(got, Unresolved):
                return Unresolved(expr, got.reason)
            if got is None:
                return Unresolved(expr, "malformed Fn::FindInMap")
            if "${" in got:
                return Unresolved(expr, f"Fn::FindInMap key `{got}` is known only at deployment")
            keys.append(got)
        found: Any = self.mappings.get(keys[0])
        for key in keys[1:]:
            found = found.get(key) if isinstance(found, Mapping) else None
        if found is not None:
            return found
        if len(arg) == 4 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
            return self.resolve(arg[3]["DefaultValue"])
        return Unresolved(expr, f"`{keys[1]}`/`{keys[2]}` is not in mapping `{keys[0]}`")

    def _if(self, arg: Any, src: str | None, out: str | None) -> Any:
        if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
            return Unresolved(_expr("Fn::If", arg), "malformed Fn::If")
        name = arg[0]
        verdict = self.condition(name)
        if verdict is not None:
            branch = 1 if verdict else 2
            branch_src = f"{src}/Fn::If/{branch}" if src is not None else None
            value = self.resolve(arg[branch], branch_src, out)
            if branch_src is not None and out is not None and isinstance(value, dict | list):
                self.remap[out] = branch_src
            return value
        first = self.resolve(arg[1])
        second = self.resolve(arg[2])
        if first == second:
            return first
        return Unresolved(f"Fn::If {name}", f"Fn::If on condition `{name}` whose branches differ")

    def _import_value(self, arg: Any) -> Any:
        name = _text(self.resolve(arg))
        shown = (
            f"Fn::ImportValue {name}" if isinstance(name, str) else _expr("Fn::ImportValue", arg)
        )
        return Unresolved(shown, "imported from another stack")

    def _base64(self, arg: Any) -> Any:
        value = _text(self.resolve(arg))
        if isinstance(value, Unresolved):
            return Unresolved(_expr("Fn::Base64", arg), value.reason)
        if value is None:
            return Unresolved(_expr("Fn::Base64", arg), "malformed Fn::Base64")
        if len(value) > MAX_STRING:
            return Unresolved(_expr("Fn::Base64", arg), "the value is too long")
        return base64.b64encode(value.encode()).decode()

    def _length(self, arg: Any) -> Any:
        value = self.resolve(arg)
        if isinstance(value, Unresolved):
            return Unresolved(_expr("Fn::Length", arg), value.reason)
        if not isinstance(value, list):
            return Unresolved(_expr("Fn::Length", arg), "malformed Fn::Length")
        return len(value)

    def _condition_value(self, fn: str, arg: Any) -> Any:
        verdict = self._cond_expr({fn: arg})
        if verdict is None:
            return Unresolved(_expr(fn, arg), "the condition's inputs are known only at deployment")
        return verdict

    # -- conditions ----------------------------------------------------------

    def condition(self, name: Any) -> bool | None:
        """The value of a named condition; None when it depends on the deployment."""
        if not isinstance(name, str) or name not in self.conditions:
            return None
        if name in self._conditions:
            return self._conditions[name]
        key = f"condition:{name}"
        if key in self._active or not self._hop():
            return None
        self._active.add(key)
        try:
            verdict = self._cond_expr(self.conditions[name])
        finally:
            self._active.discard(key)
            self._level -= _HOP_COST
        self._conditions[name] = verdict
        return verdict

    def _cond_expr(self, node: Any) -> bool | None:
        if isinstance(node, bool):
            return node
        if not isinstance(node, Mapping) or len(node) != 1:
            return None
        ((fn, arg),) = node.items()
        if fn == "Condition":
            return self.condition(arg)
        args = arg if isinstance(arg, list) else None
        if args is None:
            return None
        if fn == "Fn::Equals" and len(args) == 2:
            left, right = self._operand(args[0]), self._operand(args[1])
            if left is None or right is None:
                return None
            return left == right
        if fn == "Fn::Not" and len(args) == 1:
            inner = self._cond_expr(args[0])
            return None if inner is None else not inner
        if fn in ("Fn::And", "Fn::Or"):
            verdicts = [self._cond_expr(item) for item in args]
            decisive = bool(fn == "Fn::Or")  # Or: any True decides; And: any False decides
            if decisive in verdicts:
                return decisive
            if None in verdicts:
                return None
            return not decisive
        return None

    def _operand(self, node: Any) -> str | None:
        value = _text(self.resolve(node))
        if not isinstance(value, str) or "${" in value:
            return None  # unresolved, not a scalar, or a deployment placeholder
        return value

    # -- identities --------------------------------------------------------------

    def identity(self, res: _Resource) -> _Identity:
        """What ``Ref`` and ``Fn::GetAtt`` return for a resource (memoised)."""
        known = self._identities.get(res.id)
        if known is not None:
            return known
        key = f"resource:{res.id}"
        if key in self._active:
            return _Identity(Unresolved(f"Ref {res.id}", f"`{res.id}` is named after itself"))
        if not self._hop():
            return _Identity(Unresolved(f"Ref {res.id}", "the reference chain is too long"))
        self._active.add(key)
        try:
            ident = _identity_of(self, res)
        finally:
            self._active.discard(key)
            self._level -= _HOP_COST
        self._identities[res.id] = ident
        return ident

    def name(self, res: _Resource, prop: str) -> str:
        """The resource's name property when it resolves, else its logical id."""
        raw = res.props_raw.get(prop) if isinstance(res.props_raw, Mapping) else None
        if raw is None:
            return res.id
        got = _string(self.resolve(raw))
        return got if got else res.id

    def props(self, res: _Resource) -> dict[str, Any]:
        """The resource's resolved ``Properties`` (memoised)."""
        known = self._props.get(res.id)
        if known is not None:
            return known  # type: ignore[no-any-return]
        raw = res.props_raw
        pointer = f"{res.pointer}/Properties"
        if raw is None:
            resolved: Any = {}
        elif isinstance(raw, Mapping):
            resolved = self.resolve(raw, pointer, pointer)
        else:
            raise self.error(f"`Properties` of `{res.id}` must be an object", pointer)
        if not isinstance(resolved, dict):
            self.unresolved_props.add(res.id)
            resolved = {}
        self._props[res.id] = resolved
        return resolved  # type: ignore[no-any-return]

    def of_type(self, *types: str) -> list[_Resource]:
        """Resources of these types that exist (or may exist)."""
        return [r for r in self.resources.values() if r.type in types and r.exists is not False]


_FUNCTIONS: Final[Mapping[str, Callable[[_Template, Any], Any]]] = {
    "Ref": _Template.ref,
    "Fn::GetAtt": _Template.getatt,
    "Fn::Sub": _Template._sub,
    "Fn::Join": _Template._join,
    "Fn::Select": _Template._select,
    "Fn::Split": _Template._split,
    "Fn::FindInMap": _Template._find_in_map,
    "Fn::ImportValue": _Template._import_value,
    "Fn::Base64": _Template._base64,
    "Fn::Length": _Template._length,
    "Fn::GetAZs": lambda t, a: Unresolved(
        _expr("Fn::GetAZs", a), "availability zones are known only at deployment"
    ),
    "Fn::Cidr": lambda t, a: Unresolved(
        _expr("Fn::Cidr", a), "address blocks are computed at deployment"
    ),
    "Fn::Transform": lambda t, a: Unresolved(
        _expr("Fn::Transform", a), "a macro's output is known only at deployment"
    ),
    "Fn::Equals": lambda t, a: t._condition_value("Fn::Equals", a),
    "Fn::And": lambda t, a: t._condition_value("Fn::And", a),
    "Fn::Or": lambda t, a: t._condition_value("Fn::Or", a),
    "Fn::Not": lambda t, a: t._condition_value("Fn::Not", a),
}


# -- identity conventions ------------------------------------------------------------


def _iam_path(tmpl: _Template, res: _Resource) -> str:
    raw = res.props_raw.get("Path") if isinstance(res.props_raw, Mapping) else None
    path = _string(tmpl.resolve(raw)) if raw is not None else None
    if not path:
        return "/"
    return path if path.endswith("/") else path + "/"


def _lambda_base(tmpl: _Template, res: _Resource) -> Any:
    """The function ARN a Lambda version or alias belongs to."""
    raw = res.props_raw.get("FunctionName") if isinstance(res.props_raw, Mapping) else None
    value = _text(tmpl.resolve(raw)) if raw is not None else None
    if isinstance(value, Unresolved):
        return value
    if not value:
        return Unresolved(f"Ref {res.id}", f"`{res.id}` names no function")
    if value.startswith("arn:"):
        return value
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{value}"


def _identity_of(tmpl: _Template, res: _Resource) -> _Identity:
    rtype = res.type
    lid = res.id
    iam = {"AWS::IAM::Role": ("RoleName", "role"), "AWS::IAM::User": ("UserName", "user")}
    iam["AWS::IAM::Group"] = ("GroupName", "group")
    if rtype in iam:
        prop, kind = iam[rtype]
        name = tmpl.name(res, prop)
        return _Identity(
            name, {"Arn": f"arn:aws:iam::{ACCOUNT}:{kind}{_iam_path(tmpl, res)}{name}"}
        )
    if rtype == "AWS::IAM::ManagedPolicy":
        name = tmpl.name(res, "ManagedPolicyName")
        arn = f"arn:aws:iam::{ACCOUNT}:policy{_iam_path(tmpl, res)}{name}"
        return _Identity(arn, {"PolicyArn": arn})
    if rtype == "AWS::S3::Bucket":
        name = tmpl.name(res, "BucketName")
        return _Identity(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
                "DualStackDomainName": f"{name}.s3.dualstack.{REGION}.amazonaws.com",
            },
        )
    if rtype == "AWS::KMS::Key":
        return _Identity(lid, {"Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{lid}", "KeyId": lid})
    if rtype == "AWS::KMS::Alias":
        return _Identity(tmpl.name(res, "AliasName"))
    if rtype == "AWS::CodeBuild::Project":
        name = tmpl.name(res, "Name")
        return _Identity(name, {"Arn": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/{name}"})
    if rtype in ("AWS::CodeStarConnections::Connection", "AWS::CodeConnections::Connection"):
        service = "codestar-connections" if "CodeStar" in rtype else "codeconnections"
        arn = f"arn:aws:{service}:{REGION}:{ACCOUNT}:connection/{lid}"
        return _Identity(arn, {"ConnectionArn": arn})
    if rtype == "AWS::CodePipeline::Pipeline":
        return _Identity(tmpl.name(res, "Name"))
    if rtype == "AWS::CodePipeline::Webhook":
        return _Identity(tmpl.name(res, "Name"))
    if rtype == "AWS::Lambda::Function":
        name = tmpl.name(res, "FunctionName")
        return _Identity(name, {"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"})
    if rtype == "AWS::Lambda::Version":
        base = _lambda_base(tmpl, res)
        number = "${" + lid + ".Version}"
        if isinstance(base, Unresolved):
            return _Identity(base, {"Version": number})
        return _Identity(f"{base}:{number}", {"Version": number, "FunctionArn": base})
    if rtype == "AWS::Lambda::Alias":
        base = _lambda_base(tmpl, res)
        alias = tmpl.name(res, "Name")
        ref = base if isinstance(base, Unresolved) else f"{base}:{alias}"
        return _Identity(ref, {"AliasArn": ref})
    if rtype == "AWS::SecretsManager::Secret":
        name = tmpl.name(res, "Name")
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"
        return _Identity(arn, {"Id": arn})
    if rtype == "AWS::Logs::LogGroup":
        name = tmpl.name(res, "LogGroupName")
        return _Identity(name, {"Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"})
    if rtype == "AWS::ECR::Repository":
        name = tmpl.name(res, "RepositoryName")
        return _Identity(
            name,
            {
                "Arn": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{name}",
                "RepositoryUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}",
            },
        )
    return _Identity(
        Unresolved(f"Ref {lid}", f"the physical id of `{lid}` ({rtype}) is assigned at deployment")
    )


# -- building the inventory ------------------------------------------------------


class _Builder:
    """Resolved resources -> model objects."""

    def __init__(self, tmpl: _Template) -> None:
        self.t = tmpl
        self.source = tmpl.source

    def loc(self, res: _Resource, *tokens: str | int) -> Loc:
        pointer = res.pointer + "".join(f"/{escape_token(str(t))}" for t in tokens)
        return Loc(self.source, pointer, KeyStyle.CLOUDFORMATION)

    def note(self, message: str) -> None:
        if message not in self.t.notes:
            self.t.notes.append(message)

    # -- IAM ------------------------------------------------------------------

    def iam(self) -> tuple[dict[str, Role], tuple[IdentityPolicy, ...]]:
        t = self.t
        managed: dict[str, ManagedPolicy] = {}
        managed_targets: list[tuple[ManagedPolicy, dict[str, list[Any]]]] = []
        for res in t.of_type("AWS::IAM::ManagedPolicy"):
            props = t.props(res)
            arn = t.identity(res).ref
            policy = ManagedPolicy(arn, props.get("PolicyDocument"), self.loc(res, "Properties"))
            managed[arn] = policy
            managed_targets.append((policy, self._targets(res, props)))
        attached: list[tuple[str, Any, Loc, dict[str, list[Any]]]] = []
        for res in t.of_type("AWS::IAM::Policy"):
            props = t.props(res)
            name = _string(props.get("PolicyName")) or res.id
            attached.append(
                (
                    name,
                    props.get("PolicyDocument"),
                    self.loc(res, "Properties"),
                    self._targets(res, props),
                )
            )

        roles: dict[str, Role] = {}
        identity: list[IdentityPolicy] = []
        kinds = {"AWS::IAM::Role": "role", "AWS::IAM::User": "user", "AWS::IAM::Group": "group"}
        targets_key = {"role": "Roles", "user": "Users", "group": "Groups"}
        for res in t.of_type(*kinds):
            kind = kinds[res.type]
            props = t.props(res)
            ident = t.identity(res)
            name = str(ident.ref)
            arn = str(ident.attrs["Arn"])
            complete = True
            inline: dict[str, Any] = {}
            inline_locs: dict[str, Loc] = {}
            for i, item in enumerate(_list(props.get("Policies"))):
                if not isinstance(item, Mapping):
                    complete = False
                    continue
                pname = _string(item.get("PolicyName")) or f"{res.id}-policy-{i}"
                inline[pname] = item.get("PolicyDocument")
                inline_locs[pname] = self.loc(res, "Properties", "Policies", i)
            for pname, document, ploc, targets in attached:
                if name in targets[targets_key[kind]]:
                    key = (
                        pname if pname not in inline else f"{pname} ({ploc.pointer.split('/')[2]})"
                    )
                    inline[key] = document
                    inline_locs[key] = ploc
            policies: list[ManagedPolicy] = []
            for i, arn_value in enumerate(_list(props.get("ManagedPolicyArns"))):
                if isinstance(arn_value, str):
                    policies.append(
                        managed.get(arn_value)
                        or ManagedPolicy(
                            arn_value, None, self.loc(res, "Properties", "ManagedPolicyArns", i)
                        )
                    )
                else:
                    complete = False
            for policy, targets in managed_targets:
                if name in targets[targets_key[kind]] and policy not in policies:
                    policies.append(policy)
            if any(isinstance(doc, Unresolved) for doc in inline.values()):
                complete = False
            for pname, document in inline.items():
                identity.append(IdentityPolicy(arn, kind, pname, document, inline_locs[pname]))
            identity.extend(IdentityPolicy(arn, kind, p.name, p.document, p.loc) for p in policies)
            if kind == "role":
                roles[arn] = Role(
                    arn=arn,
                    name=name,
                    loc=self.loc(res),
                    trust_policy=props.get("AssumeRolePolicyDocument"),
                    inline_policies=inline,
                    inline_policy_locs=inline_locs,
                    managed_policies=tuple(policies),
                    complete=complete,
                )
        return roles, tuple(identity)

    def _targets(self, res: _Resource, props: Mapping[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {}
        for key in ("Roles", "Users", "Groups"):
            values = _list(props.get(key))
            if any(isinstance(v, Unresolved) for v in values):
                self.note(f"`{res.id}` is attached to a principal the template cannot name")
            out[key] = [v for v in values if isinstance(v, str)]
        return out

    # -- S3 and KMS ----------------------------------------------------------------

    def buckets(self) -> dict[str, Bucket]:
        t = self.t
        policies: dict[str, list[Any]] = {}
        for res in t.of_type("AWS::S3::BucketPolicy"):
            props = t.props(res)
            target = props.get("Bucket")
            if isinstance(target, str):
                policies.setdefault(target, []).append(props.get("PolicyDocument"))
            else:
                self.note(f"bucket policy `{res.id}` is for a bucket the template cannot name")
        out: dict[str, Bucket] = {}
        for res in t.of_type("AWS::S3::Bucket"):
            props = t.props(res)
            name = str(t.identity(res).ref)
            status = _dig(props, "VersioningConfiguration", "Status")
            versioning = None if isinstance(status, Unresolved) else status == "Enabled"
            lock, lock_known = self._object_lock(props)
            algorithm, kms_key, enc_known = self._encryption(props)
            docs = policies.get(name, [])
            policy = docs[0] if docs else None
            policy_known = not isinstance(policy, Unresolved)
            out[name] = Bucket(
                name=name,
                loc=self.loc(res),
                account=ACCOUNT,
                versioning=versioning,
                object_lock=lock,
                object_lock_known=lock_known,
                sse_algorithm=algorithm,
                sse_kms_key=kms_key,
                encryption_known=enc_known,
                policy=policy if policy_known else None,
                policy_known=policy_known,
            )
        return out

    @staticmethod
    def _object_lock(props: Mapping[str, Any]) -> tuple[ObjectLock | None, bool]:
        enabled = _flag(props.get("ObjectLockEnabled"))
        config = props.get("ObjectLockConfiguration")
        config_enabled = _dig(config, "ObjectLockEnabled")
        retention = _dig(config, "Rule", "DefaultRetention")
        parts = (enabled, config, config_enabled, retention)
        if any(isinstance(p, Unresolved) for p in parts):
            return None, False
        if not (enabled is True or config_enabled == "Enabled"):
            return None, True
        mode = _dig(retention, "Mode")
        days = _dig(retention, "Days")
        years = _dig(retention, "Years")
        if any(isinstance(p, Unresolved) for p in (mode, days, years)):
            return None, False

        def number(value: Any) -> int | None:
            got = _string(value)
            return int(got) if got is not None and got.isdigit() else None

        return (
            ObjectLock(True, _string(mode), number(days), number(years)),
            True,
        )

    @staticmethod
    def _encryption(props: Mapping[str, Any]) -> tuple[str | None, Value | None, bool]:
        default = _dig(
            props,
            "BucketEncryption",
            "ServerSideEncryptionConfiguration",
            0,
            "ServerSideEncryptionByDefault",
        )
        if isinstance(default, Unresolved):
            return None, None, False
        algorithm = _dig(default, "SSEAlgorithm")
        if isinstance(algorithm, Unresolved):
            return None, None, False
        return _string(algorithm), to_value(_dig(default, "KMSMasterKeyID")), True

    def kms_keys(self) -> dict[str, KmsKey]:
        t = self.t
        aliases: dict[str, list[str]] = {}
        for res in t.of_type("AWS::KMS::Alias"):
            props = t.props(res)
            target = _string(props.get("TargetKeyId"))
            alias = _string(props.get("AliasName"))
            if target is not None and alias is not None:
                aliases.setdefault(target, []).append(alias)
        out: dict[str, KmsKey] = {}
        for res in t.of_type("AWS::KMS::Key"):
            props = t.props(res)
            ident = t.identity(res)
            arn = str(ident.attrs["Arn"])
            names = tuple(aliases.get(res.id, []) + aliases.get(arn, []))
            policy = props.get("KeyPolicy", _DEFAULT_KEY_POLICY)
            out[arn] = KmsKey(
                key_id=res.id,
                arn=arn,
                loc=self.loc(res),
                aliases=names,
                customer_managed=True,
                policy=None if isinstance(policy, Unresolved) else policy,
                account=ACCOUNT,
            )
        return out

    # -- CodeBuild, connections, webhooks, action types ------------------------------------

    def codebuild(self) -> dict[str, CodeBuildProject]:
        t = self.t
        out: dict[str, CodeBuildProject] = {}
        for res in t.of_type("AWS::CodeBuild::Project"):
            props = t.props(res)
            ident = t.identity(res)
            name = str(ident.ref)
            source = props.get("Source")
            env = props.get("Environment")
            privileged = _flag(_dig(env, "PrivilegedMode"))
            cw, s3, s3_unencrypted, group = self._logs(props.get("LogsConfig"))
            artifacts = props.get("Artifacts")
            secondary = _list(props.get("SecondaryArtifacts"))
            triggers = props.get("Triggers")
            groups: list[WebhookFilterGroup] = []
            for group_raw in _list(_dig(triggers, "FilterGroups")):
                filters = tuple(
                    (
                        str(to_value(item.get("Type")) or ""),
                        str(to_value(item.get("Pattern")) or ""),
                        _flag(item.get("ExcludeMatchedPattern")) is True,
                    )
                    for item in _list(group_raw)
                    if isinstance(item, Mapping)
                )
                groups.append(WebhookFilterGroup(filters))
            webhook = _flag(_dig(triggers, "Webhook"))
            out[name] = CodeBuildProject(
                name=name,
                loc=self.loc(res),
                arn=str(ident.attrs["Arn"]),
                account=ACCOUNT,
                source_type=_string(_dig(source, "Type")),
                source_location=to_value(_dig(source, "Location")),
                buildspec=to_value(_dig(source, "BuildSpec")),
                image=to_value(_dig(env, "Image")),
                privileged=None if isinstance(privileged, Unresolved) else privileged is True,
                environment_variables=self._env(res, env),
                service_role=to_value(props.get("ServiceRole")),
                cloudwatch_logs_enabled=cw,
                s3_logs_enabled=s3,
                s3_logs_encryption_disabled=s3_unencrypted,
                artifacts_type=_string(_dig(artifacts, "Type")),
                artifacts_encryption_disabled=_flag(_dig(artifacts, "EncryptionDisabled")) is True,
                secondary_artifacts_encryption_disabled=any(
                    _flag(_dig(a, "EncryptionDisabled")) is True for a in secondary
                ),
                encryption_key=to_value(props.get("EncryptionKey")),
                log_group=group,
                webhook_filter_groups=tuple(groups),
                webhook_loc=self.loc(res, "Properties", "Triggers")
                if webhook is True or groups
                else None,
                tags=_tags(props.get("Tags")),
            )
        return out

    def _env(self, res: _Resource, env: Any) -> tuple[EnvVar, ...]:
        raw = _dig(env, "EnvironmentVariables")
        base = ("Properties", "Environment", "EnvironmentVariables")
        if isinstance(raw, Unresolved):
            return (EnvVar("*", raw, "PLAINTEXT", self.loc(res, *base)),)
        out: list[EnvVar] = []
        for i, item in enumerate(_list(raw)):
            if not isinstance(item, Mapping):
                continue
            value = to_value(item.get("Value"))
            kind = item.get("Type", "PLAINTEXT")
            if isinstance(kind, Unresolved):
                value = Unresolved(kind.expr, f"the variable's type is unresolved: {kind.reason}")
                kind = "PLAINTEXT"
            out.append(
                EnvVar(
                    name=str(to_value(item.get("Name")) or ""),
                    value=value if value is not None else "",
                    type=str(kind),
                    loc=self.loc(res, *base, i),
                )
            )
        return tuple(out)

    @staticmethod
    def _logs(config: Any) -> tuple[bool | None, bool | None, bool, str | None]:
        if config is None:
            return True, False, False, None
        if isinstance(config, Unresolved):
            return None, None, False, None

        def status(value: Any, default: bool) -> bool | None:
            if value is None:
                return default
            if isinstance(value, Unresolved):
                return None
            return str(value).upper() == "ENABLED"

        cw = status(_dig(config, "CloudWatchLogs", "Status"), True)
        s3 = status(_dig(config, "S3Logs", "Status"), False)
        unencrypted = _flag(_dig(config, "S3Logs", "EncryptionDisabled")) is True
        group = to_value(_dig(config, "CloudWatchLogs", "GroupName"))
        return cw, s3, unencrypted, str(group) if group is not None else None

    def connections(self) -> dict[str, Connection]:
        t = self.t
        out: dict[str, Connection] = {}
        for res in t.of_type(
            "AWS::CodeStarConnections::Connection", "AWS::CodeConnections::Connection"
        ):
            props = t.props(res)
            arn = str(t.identity(res).ref)
            host = to_value(props.get("HostArn"))
            out[arn] = Connection(
                arn=arn,
                loc=self.loc(res),
                name=_string(props.get("ConnectionName")),
                provider_type=_string(props.get("ProviderType")),
                owner_account=ACCOUNT,
                status=None,
                host_arn=str(host) if host is not None else None,
            )
        return out

    def webhooks(self) -> tuple[PipelineWebhook, ...]:
        t = self.t
        out: list[PipelineWebhook] = []
        for res in t.of_type("AWS::CodePipeline::Webhook"):
            props = t.props(res)
            filters = tuple(
                (str(to_value(f.get("JsonPath")) or ""), str(to_value(f.get("MatchEquals")) or ""))
                for f in _list(props.get("Filters"))
                if isinstance(f, Mapping)
            )
            out.append(
                PipelineWebhook(
                    name=str(t.identity(res).ref),
                    target_pipeline=to_value(props.get("TargetPipeline")) or "",
                    target_action=to_value(props.get("TargetAction")) or "",
                    authentication=to_value(props.get("Authentication")) or "",
                    loc=self.loc(res),
                    filters=filters,
                )
            )
        return tuple(out)

    def action_types(self) -> dict[tuple[str, str, str, str], ActionType]:
        t = self.t
        out: dict[tuple[str, str, str, str], ActionType] = {}
        for res in t.of_type("AWS::CodePipeline::CustomActionType"):
            props = t.props(res)
            category = _string(props.get("Category"))
            provider = _string(props.get("Provider"))
            version = _string(props.get("Version"))
            if category is None or provider is None or version is None:
                self.note(f"custom action type `{res.id}` has unresolved identity")
                continue
            out[(category, "Custom", provider, version)] = ActionType(
                category, "Custom", provider, version, loc=self.loc(res)
            )
        return out

    # -- Lambda, secrets, logs, ECR -------------------------------------------------

    def lambdas(self) -> dict[str, LambdaFunction]:
        t = self.t
        versions = [(r, t.identity(r)) for r in t.of_type("AWS::Lambda::Version")]
        aliases = [(r, t.props(r)) for r in t.of_type("AWS::Lambda::Alias")]
        out: dict[str, LambdaFunction] = {}
        for res in t.of_type("AWS::Lambda::Function"):
            props = t.props(res)
            ident = t.identity(res)
            name = str(ident.ref)
            arn = str(ident.attrs["Arn"])

            def mine(value: Any, name: str = name, arn: str = arn) -> bool:
                return isinstance(value, str) and value in (name, arn)

            found_versions = tuple(
                str(v.attrs["Version"]) for r, v in versions if mine(t.props(r).get("FunctionName"))
            )
            found_aliases = {
                str(_text(p.get("Name"))): str(_text(p.get("FunctionVersion")))
                for _, p in aliases
                if mine(p.get("FunctionName"))
            }
            group = to_value(_dig(props, "LoggingConfig", "LogGroup"))
            out[name] = LambdaFunction(
                name=name,
                arn=arn,
                loc=self.loc(res),
                versions=found_versions,
                aliases=found_aliases,
                log_group=str(group) if group is not None else None,
            )
        return out

    def secrets(self) -> dict[str, Secret]:
        t = self.t
        schedules: dict[str, tuple[bool | None, int | None]] = {}
        for res in t.of_type("AWS::SecretsManager::RotationSchedule"):
            props = t.props(res)
            target = _string(props.get("SecretId"))
            if target is None:
                self.note(f"rotation schedule `{res.id}` is for a secret the template cannot name")
                continue
            schedules[target] = self._rotation(props.get("RotationRules"))
        out: dict[str, Secret] = {}
        for res in t.of_type("AWS::SecretsManager::Secret"):
            arn = str(t.identity(res).ref)
            name = t.name(res, "Name")
            enabled, days = schedules.get(arn) or schedules.get(name) or (False, None)
            out[name] = Secret(
                name=name, arn=arn, loc=self.loc(res), rotation_enabled=enabled, rotation_days=days
            )
        return out

    @staticmethod
    def _rotation(rules: Any) -> tuple[bool | None, int | None]:
        if isinstance(rules, Unresolved):
            return None, None
        days = _dig(rules, "AutomaticallyAfterDays")
        if isinstance(days, Unresolved):
            return True, None
        if days is not None:
            text = _string(days)
            return True, int(text) if text and text.isdigit() else None
        expression = _string(_dig(rules, "ScheduleExpression"))
        match = _RATE.match(expression or "")
        if match is None:
            return True, None
        count = int(match.group(1))
        return True, count if match.group(2).startswith("day") else max(1, count // 24)

    def log_groups(self) -> dict[str, LogGroup]:
        t = self.t
        out: dict[str, LogGroup] = {}
        for res in t.of_type("AWS::Logs::LogGroup"):
            props = t.props(res)
            name = str(t.identity(res).ref)
            policy = props.get("DataProtectionPolicy")
            known = not isinstance(policy, Unresolved)
            out[name] = LogGroup(
                name=name,
                loc=self.loc(res),
                data_protection_policy=policy if known else None,
                policy_known=known,
            )
        return out

    def ecr(self) -> dict[str, EcrRepository]:
        t = self.t
        out: dict[str, EcrRepository] = {}
        for res in t.of_type("AWS::ECR::Repository"):
            props = t.props(res)
            ident = t.identity(res)
            name = str(ident.ref)
            mutability = props.get("ImageTagMutability", "MUTABLE")
            scan = _flag(_dig(props, "ImageScanningConfiguration", "ScanOnPush"))
            exclusions = tuple(
                str(_text(_dig(f, "ImageTagMutabilityExclusionFilterValue")))
                for f in _list(props.get("ImageTagMutabilityExclusionFilters"))
                if isinstance(f, Mapping)
            )
            out[name] = EcrRepository(
                name=name,
                loc=self.loc(res),
                arn=str(ident.attrs["Arn"]),
                tag_mutability=_string(mutability),
                mutability_exclusions=exclusions,
                scan_on_push=None if isinstance(scan, Unresolved) else scan is True,
            )
        return out

    # -- pipelines ---------------------------------------------------------------

    def pipelines(self) -> tuple[Pipeline, ...]:
        t = self.t
        out: list[Pipeline] = []
        for res in t.of_type("AWS::CodePipeline::Pipeline"):
            if res.exists is None:
                self.note(
                    f"pipeline `{res.id}` exists only if condition `{res.condition}` holds; "
                    "it is scanned as if it does"
                )
            props = t.props(res)
            suppressions = self.suppressions(res)
            if res.id in t.unresolved_props:
                self.note(
                    f"pipeline `{res.id}` is not scanned: its properties could not be resolved"
                )
                continue
            base = self.loc(res, "Properties")
            try:
                pipeline = parse_declaration(
                    props,
                    loc=base,
                    source=self.source,
                    fallback_name=res.id,
                    suppressions=suppressions,
                    source_file=self.source,
                )
            except ParseError as exc:
                gap = _unresolved_along(props, base.pointer, exc.pointer)
                if gap is not None:
                    self.note(
                        f"pipeline `{res.id}` is not scanned: {exc.message}, because "
                        f"`{gap.expr}` is unresolved ({gap.reason})"
                    )
                    continue
                if exc.line is None and exc.pointer:
                    raise t.error(exc.message, exc.pointer) from exc
                raise
            out.append(pipeline)
        return tuple(out)

    def suppressions(self, res: _Resource) -> tuple[InlineSuppression, ...]:
        """``Metadata: {pipewarden: {ignore: [{id, reason}]}}`` on a resource."""
        meta = res.raw.get("Metadata")
        body = meta.get("pipewarden") if isinstance(meta, Mapping) else None
        if body is None:
            return ()
        base = ("Metadata", "pipewarden")
        if not isinstance(body, Mapping):
            raise self.t.error(
                "`Metadata.pipewarden` must be an object", self.loc(res, *base).pointer
            )
        entries = body.get("ignore")
        if entries is None:
            return ()
        if not isinstance(entries, list):
            raise self.t.error(
                "`Metadata.pipewarden.ignore` must be a list",
                self.loc(res, *base, "ignore").pointer,
            )
        out: list[InlineSuppression] = []
        for i, entry in enumerate(entries):
            loc = self.loc(res, *base, "ignore", i)
            if not isinstance(entry, Mapping):
                raise self.t.error(
                    "a suppression must be an object with `id` and `reason`", loc.pointer
                )
            rule = entry.get("id")
            reason = entry.get("reason")
            if not isinstance(rule, str) or not rule.strip():
                raise self.t.error("a suppression needs the rule `id`", loc.pointer)
            if not isinstance(reason, str) or not reason.strip():
                raise self.t.error(f"the suppression of {rule} needs a `reason`", loc.pointer)
            out.append(InlineSuppression(rule.strip(), reason.strip(), loc))
        return tuple(out)


def _unresolved_along(props: Any, base: str, pointer: str) -> Unresolved | None:
    """The unresolved value on the way to ``pointer`` (or just below it), if any."""
    if not pointer.startswith(base):
        return None
    node = props
    for token in split_pointer(pointer[len(base) :]):
        if isinstance(node, Unresolved):
            return node
        if isinstance(node, Mapping):
            node = node.get(token)
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    if isinstance(node, Unresolved):
        return node
    if isinstance(node, Mapping):
        return next((v for v in node.values() if isinstance(v, Unresolved)), None)
    return None


class _Remapped:
    """A position index seen through the result-to-template pointer map."""

    def __init__(self, inner: PositionIndex, remap: Mapping[str, str]) -> None:
        self._inner = inner
        self._remap = remap

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer`` (a pointer into the resolved template)."""
        probe = pointer
        rest = ""
        while probe:
            target = self._remap.get(probe)
            if target is not None:
                return self._inner.locate(target + rest)
            parent, _, last = probe.rpartition("/")
            rest = f"/{last}{rest}"
            probe = parent
        return self._inner.locate(pointer)


def _parse(doc: Any, source: str, positions: PositionIndex) -> Inventory:
    if not is_cloudformation(doc):
        return Inventory(
            source_kind=SOURCE_KIND,
            positions={source: positions},
            notes=(f"{source}: not a CloudFormation template (no `Resources`)",),
        )
    try:
        tmpl = _Template(doc, source, positions)
        builder = _Builder(tmpl)
        transform = doc.get("Transform")
        if transform is not None:
            names = ", ".join(str(x) for x in _list(transform) if isinstance(x, str)) or "a macro"
            builder.note(
                f"{source} uses transform {names}; resources it generates are not analysed"
            )
        roles, identity = builder.iam()
        parts: dict[str, Any] = {
            "pipelines": builder.pipelines(),
            "roles": roles,
            "buckets": builder.buckets(),
            "kms_keys": builder.kms_keys(),
            "connections": builder.connections(),
            "action_types": builder.action_types(),
            "codebuild_projects": builder.codebuild(),
            "webhooks": builder.webhooks(),
            "lambdas": builder.lambdas(),
            "secrets": builder.secrets(),
            "log_groups": builder.log_groups(),
            "ecr_repositories": builder.ecr(),
        }
    except RecursionError as exc:
        raise ParseError(source, "intrinsic functions nest too deeply") from exc
    index: PositionIndex = _Remapped(positions, tmpl.remap) if tmpl.remap else positions
    return Inventory(
        source_kind=SOURCE_KIND,
        identity_policies=identity,
        identity_policies_complete=False,
        positions={source: index},
        notes=tuple(tmpl.notes),
        **parts,
    )
