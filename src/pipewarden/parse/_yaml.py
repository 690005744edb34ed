"""Safe, position-aware YAML loading for CloudFormation templates.

PyYAML composes the text into a node graph (libyaml's composer when it is
available); this module turns that graph into plain data and a position index
keyed by JSON pointer, using each node's ``start_mark``. Nothing is injected
into the data.

CloudFormation's short-form tags become the long form (``!Ref X`` ->
``{"Ref": "X"}``, ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` ->
``{"Fn::Sub": "s"}``); any other application tag is refused. The input is
treated as hostile: nesting is measured on the event stream before anything
recursive runs, alias expansion is measured on the node graph (shared nodes
counted once each way, with memoisation) and refused above a limit, recursive
aliases are refused, and duplicate keys are an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from pipewarden.errors import ParseError
from pipewarden.model.location import escape_token
from pipewarden.parse._source import MAX_DEPTH

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is absent on some platforms
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

__all__ = ["MAX_EXPANDED_CHARS", "MAX_NODES", "YamlPositions", "load_yaml"]

MAX_NODES: Final = 1_000_000
"""Most nodes the document may have once its aliases are expanded."""

MAX_EXPANDED_CHARS: Final = 64 * 1024 * 1024
"""Most scalar characters the document may hold once its aliases are expanded."""

_STD: Final = "tag:yaml.org,2002:"

# Short-form tag -> long-form key. Scalar-only forms are handled specially below.
_CFN_TAGS: Final = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Not": "Fn::Not",
    "!FindInMap": "Fn::FindInMap",
    "!ImportValue": "Fn::ImportValue",
    "!Base64": "Fn::Base64",
    "!Cidr": "Fn::Cidr",
    "!GetAZs": "Fn::GetAZs",
    "!Transform": "Fn::Transform",
    "!Length": "Fn::Length",
    "!ToJsonString": "Fn::ToJsonString",
}

_Mark = tuple[int, int]


class YamlPositions:
    """Position index of a YAML document: JSON pointer -> 1-based (line, column).

    Members map to the position of their key, elements to the position of the
    element. Where the document reuses a node through an alias, the pointers
    under the alias resolve to the anchored node's own positions.
    """

    def __init__(self, index: dict[str, _Mark], aliases: dict[str, str]) -> None:
        self._index = index
        self._aliases = aliases

    def locate(self, pointer: str) -> tuple[int, int] | None:
        """Position of ``pointer`` or of its nearest ancestor that has one."""
        for _ in range(64):  # each hop moves to an earlier anchor; bounded anyway
            probe = pointer
            rest = ""
            while True:
                if rest and probe in self._aliases:
                    pointer = self._aliases[probe] + rest
                    break
                found = self._index.get(probe)
                if found is not None:
                    return found
                if not probe:
                    return None
                parent, _, last = probe.rpartition("/")
                rest = f"/{last}{rest}"
                probe = parent
        return None


def _events_depth(text: str, source: str, limit: int) -> None:
    """Refuse nesting deeper than ``limit`` before anything recursive runs."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            depth += 1
            if depth > limit:
                line = event.start_mark.line + 1 if event.start_mark else None
                raise ParseError(source, f"nesting deeper than {limit} levels", line=line)
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        yield from node.value
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value


def _measure(root: yaml.Node, source: str, *, max_nodes: int, max_depth: int) -> None:
    """Expanded size and height of the node graph, memoised per node; refuse bombs."""
    # id(node) -> (expanded node count, expanded scalar characters, height)
    done: dict[int, tuple[int, int, int]] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            count = 1
            chars = len(node.value) if isinstance(node, yaml.ScalarNode) else 0
            height = 0
            for child in _children(node):
                c_count, c_chars, c_height = done[id(child)]
                count += c_count
                chars += c_chars
                height = max(height, c_height)
            height += 1
            active.discard(key)
            done[key] = (count, chars, height)
            line = node.start_mark.line + 1
            if height > max_depth:
                raise ParseError(source, f"nesting deeper than {max_depth} levels", line=line)
            # Without aliases the counts equal what was read: only expansion is refused.
            if count > max_nodes and count > len(done):
                raise ParseError(source, f"YAML aliases expand to more than {max_nodes} nodes")
            if chars > MAX_EXPANDED_CHARS and count > len(done):
                raise ParseError(
                    source, f"YAML aliases expand to more than {MAX_EXPANDED_CHARS} characters"
                )
            continue
        if key in done:
            continue
        if key in active:
            raise ParseError(
                source, "YAML alias refers to its own ancestor", line=node.start_mark.line + 1
            )
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _mark(node: yaml.Node) -> _Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Node graph -> plain data, recording positions (recursive; depth already bounded)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.index: dict[str, _Mark] = {}
        self.aliases: dict[str, str] = {}
        self._built: dict[int, tuple[Any, str]] = {}
        self._scalars = SafeConstructor()

    def error(self, node: yaml.Node, message: str, pointer: str) -> ParseError:
        return ParseError(self.source, message, pointer=pointer, line=node.start_mark.line + 1)

    def build(self, node: yaml.Node, pointer: str) -> Any:
        self.index.setdefault(pointer, _mark(node))
        seen = self._built.get(id(node))
        if seen is not None:
            value, first = seen
            if first != pointer:
                self.aliases[pointer] = first
            return value
        value = self._tagged(node, pointer)
        self._built[id(node)] = (value, pointer)
        return value

    def _tagged(self, node: yaml.Node, pointer: str) -> Any:
        tag = node.tag
        if tag.startswith(_STD) or tag in ("!", "?"):
            return self._plain(node, pointer)
        long_form = _CFN_TAGS.get(tag)
        if long_form is None:
            raise self.error(node, f"unknown YAML tag `{tag}`", pointer)
        inner = f"{pointer}/{escape_token(long_form)}"
        self.index.setdefault(inner, _mark(node))
        if isinstance(node, yaml.ScalarNode):
            text = str(node.value)
            if long_form == "Fn::GetAtt":
                resource, _, attribute = text.partition(".")
                self.index.setdefault(f"{inner}/0", _mark(node))
                self.index.setdefault(f"{inner}/1", _mark(node))
                return {long_form: [resource, attribute]}
            return {long_form: text}
        return {long_form: self._plain(node, inner)}

    def _plain(self, node: yaml.Node, pointer: str) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, f"{pointer}/{i}") for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, pointer)
        raise self.error(node, "unsupported YAML node", pointer)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        value = str(node.value)
        kind = tag[len(_STD) :] if tag.startswith(_STD) else "str"
        try:
            if kind == "null":
                return None
            if kind == "bool":
                return self._scalars.construct_yaml_bool(node)
            if kind == "int":
                return self._scalars.construct_yaml_int(node)
            if kind == "float":
                return self._scalars.construct_yaml_float(node)
        except (ValueError, ConstructorError):
            return value  # e.g. an integer with more digits than Python converts
        if kind in ("str", "timestamp", "binary", "value", "merge"):
            return value
        raise ParseError(
            self.source, f"unsupported YAML tag `!!{kind}`", line=node.start_mark.line + 1
        )

    def _key(self, node: yaml.Node, pointer: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, "mapping keys must be plain scalars", pointer)
        if not node.tag.startswith(_STD):
            raise self.error(
                node, f"YAML tag `{node.tag}` is not allowed on a mapping key", pointer
            )
        return str(node.value)

    def _mapping(self, node: yaml.MappingNode, pointer: str) -> dict[str, Any]:
        explicit: list[tuple[yaml.Node, yaml.Node]] = []
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                if isinstance(value_node, yaml.SequenceNode):
                    merges.extend(value_node.value)
                else:
                    merges.append(value_node)
            else:
                explicit.append((key_node, value_node))
        out: dict[str, Any] = {}
        for key_node, value_node in explicit:
            key = self._key(key_node, pointer)
            child = f"{pointer}/{escape_token(key)}"
            if key in out:
                raise self.error(key_node, f"duplicate key `{key}`", child)
            self.index[child] = _mark(key_node)
            out[key] = self.build(value_node, child)
        # YAML 1.1 merge keys: explicit keys win, then earlier merge sources.
        for source_node in merges:
            if not isinstance(source_node, yaml.MappingNode):
                raise self.error(source_node, "a merge key (<<) takes mappings only", pointer)
            merged = self.build(source_node, f"{pointer}/<<")
            origin = self._built[id(source_node)][1]
            for key, value in merged.items():
                if key in out:
                    continue
                child = f"{pointer}/{escape_token(key)}"
                defined = f"{origin}/{escape_token(key)}"
                self.index[child] = self.index.get(defined, _mark(source_node))
                self.aliases[child] = defined
                out[key] = value
        return out


def load_yaml(
    text: str,
    source: str,
    *,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
) -> tuple[Any, YamlPositions]:
    """Load one YAML document as plain data plus its position index.

    Raises :class:`ParseError` (with the line when known) for invalid YAML,
    several documents, duplicate keys, unknown tags, recursive aliases, alias
    expansion beyond ``max_nodes`` nodes and nesting deeper than ``max_depth``.
    """
    try:
        _events_depth(text, source, max_depth)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        raise ParseError(
            source, f"invalid YAML: {problem}", line=mark.line + 1 if mark else None
        ) from exc
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParseError(source, f"invalid YAML: {first}") from exc
    except RecursionError as exc:  # the event pass bounds depth first; kept as a backstop
        raise ParseError(source, "nesting too deep") from exc
    if root is None:
        return None, YamlPositions({"": (1, 1)}, {})
    _measure(root, source, max_nodes=max_nodes, max_depth=max_depth)
    builder = _Builder(source)
    data = builder.build(root, "")
    builder.index[""] = (1, 1)
    return data, YamlPositions(builder.index, builder.aliases)
