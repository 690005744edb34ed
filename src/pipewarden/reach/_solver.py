"""Whole-program points-to and call-graph analysis over module IR.

A flow-insensitive, context-insensitive analysis in the Andersen style, built
on the fly from the entry points (only code that can run is analysed): every
name, parameter, attribute, return value and container holds a set of
abstract values, and evaluating a reached scope adds to them until nothing
changes. Abstract values are small tuples:

=========  ==========================================================
``M``      a module of the artifact
``F``      a function; ``BM`` a bound method; ``SF``/``CM`` static/class method
``C``      a class; ``I`` an instance of it; ``R`` a property (its getter)
``X``      an object from outside the artifact (stdlib, absent package)
``U``      unknown: any object at all
``S``/``P`` a string constant / a string with a known prefix
``K``      a container (list, dict, set, tuple, generator); ``KM`` its method
``D``      a value obtained through a dynamic feature (an import of a name
           with a known prefix, a registry lookup keyed by run-time data):
           calls through it are potential edges naming the feature
``DA``     any attribute of a module, class or instance, read with a
           computed name (``getattr``, ``globals()[...]``, ``vars()``,
           ``sys.modules``): calling it may call any callable the target holds
``0``      ``None``: the constant, an omitted argument whose default it is, what
           a function gives when its end is reached, a ``dict.get`` miss
=========  ==========================================================

Other constants (numbers, booleans) have no value. ``None`` has one for a
single purpose: the body of ``if name is None:`` on a local runs only when
the local may be ``None``, that is, when its values hold ``0`` or anything
that may stand for ``None`` (an unknown or outside object, a dynamic value).
So every way to ``None`` gives a value that may be it: the constant, a default
used by a call that omits the argument, the end of a function body, what a
model of the standard library or a container method gives (``dict.get``),
implicit attributes (``__doc__``), function attributes. Every other use of
values ignores ``0``.

Edges of the call graph are *concrete* (a resolved call, import or
instantiation) or *potential* (a method reached by name on an object of
unresolved type, a callable passed to code outside the artifact, a dynamic
feature). The verdict layer reads reachability twice: over concrete edges
(``reachable``) and over all edges (otherwise ``unknown``). Dynamic features
that could reach anything at all (``eval``/``exec`` of computed code, an
import of a computed name, entry-point plugins, unparseable modules) are
recorded as *unbounded* sites.

Soundness rules (each is an over-approximation):

* a value handed to code outside the analysis escapes: functions and methods
  it carries may be called (potential edges) and its class may be
  instantiated;
* an attribute read on an unknown object reaches, by name, the methods of
  every class whose instances escaped;
* a class with a base from outside the artifact (other than ``object``, the
  exception hierarchy and similar inert bases) has every method potentially
  called once instantiated: the base may call any of them;
* a name computed at run time reaches every candidate: an attribute read with
  a computed name, every callable its target holds (module globals, class and
  instance attributes, also those bound later); an import of a name with a
  known prefix, every module with that prefix; a lookup keyed by run-time data
  in a registry that decorators fill, every registered function.

Potential edges through a dynamic feature carry its name (``Edge.detail``), so
an ``unknown`` verdict says which feature, and where, leaves the analysis blind.
"""

from __future__ import annotations

import builtins
import logging
import sys
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.reach._artifact import Artifact, ModuleFile
from pipewarden.reach._cache import IRCache
from pipewarden.reach._ir import (
    BASES,
    DECOS,
    FACTS,
    FLAG_FALLS_OFF,
    FLAG_GENERATOR,
    FLAGS,
    KEYWORDS,
    KIND,
    LINE,
    MAX_STRING,
    NAME,
    PARAMS,
    PARENT,
    QUAL,
    build_ir,
    error_ir,
)

__all__ = ["Mod", "Solver", "U"]

_LOG = logging.getLogger(__name__)

Value = tuple[Any, ...]
Node = Any
U: Final[Value] = ("U",)
NONE: Final[Value] = ("0",)
_NONE_SET: Final[frozenset[Value]] = frozenset({NONE})
_NOT_NONE: Final = frozenset({"M", "F", "BM", "SF", "CM", "CB", "C", "I", "K", "KM", "S", "P"})
"""Kinds of values that are never ``None``; any other kind may be."""
_MAYBE_NONE_ATTRS: Final = frozenset(
    {
        "__doc__", "__defaults__", "__kwdefaults__", "__closure__", "__weakref__",
        "__context__", "__cause__", "__traceback__", "__file__", "__spec__", "__loader__",
        "__package__", "__cached__", "__self__", "__text_signature__", "__wrapped__",
        "__annotations__", "__objclass__",
    }
)  # fmt: skip
"""Attributes Python provides implicitly that may be ``None``."""
_STRING_MODELS: Final = frozenset(
    {
        "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr",
        "builtins.__import__", "importlib.__import__", "importlib.import_module",
        "builtins.eval", "builtins.exec", "builtins.compile", "runpy.run_module",
        "operator.attrgetter", "operator.methodcaller",
    }
)  # fmt: skip
"""Models that read names from their arguments (``None`` among them is no name)."""
_NEVER_NONE_MODELS: Final = frozenset(
    {
        "functools.wraps", "functools.lru_cache", "functools.cache", "functools.cached_property",
        "functools.total_ordering", "functools.singledispatch", "functools.singledispatchmethod",
        "functools.partial", "functools.partialmethod", "contextlib.contextmanager",
        "contextlib.asynccontextmanager", "typing.overload", "typing.final",
        "typing.no_type_check", "typing.runtime_checkable", "typing.dataclass_transform",
        "typing_extensions.overload", "typing_extensions.final",
        "typing_extensions.runtime_checkable", "dataclasses.dataclass", "abc.abstractmethod",
        "abc.abstractproperty", "enum.unique", "builtins.property", "builtins.staticmethod",
        "builtins.classmethod", "builtins.type", "abc.ABCMeta", "builtins.super",
        "builtins.iter", "builtins.list", "builtins.tuple", "builtins.set", "builtins.frozenset",
        "builtins.reversed", "builtins.enumerate", "builtins.zip", "builtins.dict",
        "builtins.map", "builtins.filter", "builtins.vars", "builtins.globals", "builtins.locals",
        "builtins.dir", "collections.OrderedDict", "collections.defaultdict", "collections.deque",
        "collections.Counter", "collections.ChainMap", "collections.UserDict",
        "weakref.WeakValueDictionary", "weakref.WeakKeyDictionary", "weakref.WeakSet",
        "queue.Queue", "queue.LifoQueue", "queue.SimpleQueue", "queue.PriorityQueue",
        "asyncio.Queue", "threading.local", "types.SimpleNamespace", "types.MethodType",
        "threading.Thread",
    }
)  # fmt: skip
"""Models of decorators and constructors: what they give is never None (None they are
given, they pass on)."""
_EMPTY: Final[frozenset[Value]] = frozenset()
MAX_SOURCE_BYTES: Final = 5 * 1024 * 1024
_MAX_X_DEPTH: Final = 3
_MAX_STRINGS: Final = 512
_MAX_EVAL_DEPTH: Final = 150
_MAX_EXTERNALS: Final = 24
_MAX_VALUES: Final = 100
_MAX_CLONES: Final = 24
_MAX_CLONES_SMALL: Final = 400
_SMALL_FUNCTION: Final = 24
_MAX_CLONE_KEY: Final = 4
_WIDENED: Final = frozenset({"l", "g", "a", "r", "e", "mw", "aw"})
_OPAQUE: Final[Value] = ("X", "?")
"""An object from outside the artifact whose name is not worth tracking."""

_BUILTIN_NAMES: Final = frozenset(dir(builtins))
_STDLIB: Final = frozenset(sys.stdlib_module_names) | {"__future__"}
_INERT_BASES: Final = frozenset(
    {
        "builtins.object",
        "builtins.BaseException",
        "builtins.Exception",
        "builtins.int",
        "builtins.str",
        "builtins.bytes",
        "builtins.float",
        "builtins.tuple",
        "builtins.frozenset",
        "builtins.type",
        "typing.Generic",
        "typing.Protocol",
        "typing.NamedTuple",
        "typing.TypedDict",
        "typing_extensions.Protocol",
        "typing_extensions.TypedDict",
        "abc.ABC",
        "enum.Enum",
        "enum.IntEnum",
        "enum.Flag",
        "enum.IntFlag",
        "enum.StrEnum",
        "collections.namedtuple",
        "builtins.property",
        "functools.cached_property",
    }
)
_CONTAINER_BASES: Final = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.set",
        "collections.OrderedDict",
        "collections.defaultdict",
        "collections.deque",
        "collections.Counter",
        "collections.UserDict",
        "collections.UserList",
        "collections.abc.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableSequence",
        "collections.abc.Sequence",
        "collections.abc.MutableSet",
        "collections.abc.Set",
        "typing.MutableMapping",
        "typing.Mapping",
        "typing.Dict",
        "typing.List",
    }
)
_FRESH_MODULES: Final = frozenset(
    {
        "re", "os", "posixpath", "ntpath", "time", "datetime", "math", "cmath", "decimal",
        "fractions", "hashlib", "hmac", "secrets", "random", "uuid", "base64", "binascii",
        "struct", "zlib", "gzip", "bz2", "lzma", "string", "textwrap", "unicodedata", "locale",
        "codecs", "io", "json", "csv", "urllib", "http", "email", "mimetypes", "socket", "ssl",
        "select", "selectors", "logging", "warnings", "traceback", "platform", "errno", "signal",
        "shutil", "tempfile", "glob", "fnmatch", "pathlib", "stat", "getpass", "calendar",
        "zoneinfo", "ipaddress", "html", "xml", "sys", "subprocess", "typing", "numbers",
        "keyword", "token", "tokenize", "ast", "dis", "difflib", "pprint", "reprlib", "gettext",
        "sqlite3", "zipfile", "tarfile", "configparser", "argparse", "getopt", "array",
        "statistics", "bisect", "heapq",
    }
)  # fmt: skip
"""Standard-library modules whose functions never hand back the caller's own objects."""
_ENV_PACKAGES: Final[dict[str, tuple[str, ...]]] = {
    "boto3": ("botocore", "jmespath", "s3transfer"),
    "botocore": ("urllib3", "jmespath", "python-dateutil", "six"),
    "s3transfer": ("botocore",),
}
"""Packages the AWS Lambda Python runtime provides outside the artifact, and what they import."""
_DUNDER_FOR_BUILTIN: Final = {
    "builtins.len": ("__len__",),
    "builtins.str": ("__str__", "__repr__"),
    "builtins.repr": ("__repr__",),
    "builtins.format": ("__format__", "__str__"),
    "builtins.print": ("__str__", "__repr__"),
    "builtins.bool": ("__bool__", "__len__"),
    "builtins.hash": ("__hash__",),
    "builtins.int": ("__int__", "__index__"),
    "builtins.float": ("__float__",),
    "builtins.abs": ("__abs__",),
    "builtins.round": ("__round__",),
    "builtins.bytes": ("__bytes__",),
    "builtins.sorted": ("__lt__",),
    "builtins.min": ("__lt__",),
    "builtins.max": ("__gt__", "__lt__"),
    "builtins.sum": ("__add__", "__radd__"),
}


@dataclass
class Mod:
    """A module loaded into the analysis."""

    name: str
    file: ModuleFile | None
    ir: Any
    base: int
    kind: str  # py | ext | ns | error | entry
    package: str
    dist: str | None
    global_names: frozenset[str]
    children: dict[int, list[int]] = field(default_factory=dict)
    label: str = ""
    """For an entry point's synthetic module: the entry point (``module:function``)."""


@dataclass(frozen=True, slots=True)
class Edge:
    """How one node reaches another."""

    line: int
    kind: str
    potential: bool
    detail: str = ""
    """For an edge through a dynamic feature: which one (``getattr with a computed name``)."""


class Solver:
    """The analysis of one artifact; see the module docstring."""

    def __init__(self, artifact: Artifact, cache: IRCache, *, target_fids: set[int] | None = None):
        self.artifact = artifact
        self.cache = cache
        self.mods: dict[str, Mod] = {}
        self.scopes: list[tuple[Mod, Any]] = []
        self._idx: list[int] = []
        self.remap: dict[int, dict[int, int]] = {}
        self.origin: dict[int, int] = {}
        self.clones_of: dict[int, list[int]] = {}
        self._clones: dict[tuple[int, frozenset[Value]], int] = {}
        self.loc: dict[Any, set[Value]] = {}
        self.readers: dict[Any, set[int]] = {}
        self.queue: deque[int] = deque()
        self.stale: deque[int] = deque()
        self._evaluated: set[int] = set()
        self.queued: set[int] = set()
        self.reached: set[int] = set()
        self.edges: dict[Node, dict[Node, Edge]] = {}
        self.instantiated: set[int] = set()
        self.escaped: set[int] = set()
        self.escaped_sites: set[Any] = set()
        self.escaped_mods: set[str] = set()
        self.unknown_called: set[int] = set()
        self.hubs: dict[str, set[int]] = {}
        self.absent_imports: dict[str, tuple[Node, int]] = {}
        self.sites: dict[int, dict[tuple[int, str], str]] = {}
        self.refs: dict[int, set[tuple[int, int]]] = {}
        self.target_fids: set[int] = set(target_fids or ())
        self.target_names: set[str] = set()
        self.cur: int = -1
        self.cur_node: Node = ("root",)
        self.cur_mod: Mod | None = None
        self.cur_line = 0
        self.passive = False
        self._mro_cache: dict[int, tuple[tuple[int, ...], tuple[Value, ...]]] = {}
        self._mro_users: dict[int, set[int]] = {}
        self._base_rank: dict[tuple[int, Value], int] = {}
        self._method_tables: dict[int, dict[str, list[int]]] = {}
        self._escaped_by_name: dict[str, set[int]] = {}
        self._method_kind: dict[int, int] = {}
        self._param_info: dict[int, tuple[tuple[str, ...], str | None, str | None, set[str]]] = {}
        self._method_index: dict[int, dict[str, list[int]]] = {}
        self._entry_count = 0
        self._star_cache: dict[str, tuple[str, ...]] = {}
        self._escape_returns: set[int] = set()
        self._calling: set[int] = set()
        self._escaped_values: set[Value] = set()
        self._caps: dict[Any, list[int]] = {}
        self.saturated: set[Any] = set()
        self._attr_version: dict[str, int] = {}
        self._bind_cache: dict[
            tuple[int, str], tuple[Any, int, frozenset[Value], tuple[Value, ...]]
        ] = {}
        self._wild_version = 0
        self._mro_version = 0
        self._lookup_cache: dict[tuple[int, str], tuple[Any, Any, bool]] = {}
        self._depth = 0
        self.evaluations = 0
        self._attr_names: dict[int, set[str]] = {}
        """Attribute names stored per class (and class body), for computed attribute reads."""
        self._dynamic_owners: dict[int, Node] = {}
        """Classes whose attributes are read with a computed name: the node that reads them."""
        self._star_globals: dict[str, set[str]] = {}
        """Module globals bound by ``from ... import *``."""
        self.registered: set[int] = set()
        """Functions and classes handed to a decorator other than the builtin ones."""

    # -- modules ------------------------------------------------------------------

    @property
    def module(self) -> Mod:
        """The module of the scope being evaluated."""
        if self.cur_mod is None:
            raise RuntimeError("no scope is being evaluated")
        return self.cur_mod

    def _register(
        self, name: str, file: ModuleFile | None, ir: Any, kind: str, dist: str | None
    ) -> Mod:
        is_pkg = file.is_package if file is not None else False
        package = name if is_pkg else name.rpartition(".")[0]
        mod = Mod(
            name=name,
            file=file,
            ir=ir,
            base=len(self.scopes),
            kind=kind,
            package=package,
            dist=dist,
            global_names=frozenset(ir[3]),
        )
        for idx, rec in enumerate(ir[1]):
            self.scopes.append((mod, rec))
            self._idx.append(idx)
            parent = rec[PARENT]
            if parent >= 0:
                mod.children.setdefault(parent, []).append(idx)
        if not ir[1]:  # ext / ns / error: one empty module scope as a node
            rec = ("M", "<module>", "", 1, -1, (), (), (), (), (), 0, (), 1)
            self.scopes.append((mod, rec))
            self._idx.append(0)
        self.mods[name] = mod
        return mod

    def load_module(self, name: str) -> Mod | None:
        """Load ``name`` (not executing it); None when it is not in the artifact."""
        found = self.mods.get(name)
        if found is not None:
            return found
        file = self.artifact.find_module(name)
        if file is None:
            return None
        if file.kind == "ns" or file.path is None:
            return self._register(name, file, error_ir(""), "ns", file.dist)
        if file.kind == "ext":
            return self._register(name, file, error_ir(""), "ext", file.dist)
        try:
            data = self.artifact.read(file.path, limit=MAX_SOURCE_BYTES)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is opaque code
            ir = error_ir(f"cannot read: {exc}")
        else:
            ir = self.cache.get(data, file.path)
        kind = "error" if ir[4] else "py"
        return self._register(name, file, ir, kind, file.dist)

    def add_entry_source(self, source: str, label: str) -> int:
        """A synthetic module (driving an entry point); returns its module scope id."""
        name = f"<entry:{self._entry_count}:{label}>"
        self._entry_count += 1
        ir = build_ir(source.encode(), name)
        mod = self._register(name, None, ir, "entry", None)
        mod.label = label
        return mod.base

    def fid_for(self, context: int, idx: int) -> int:
        """The scope ``idx`` of the module of ``context``, as seen from ``context`` (a clone
        sees the clones of its own nested scopes)."""
        mapping = self.remap.get(context)
        if mapping is not None:
            found = mapping.get(idx)
            if found is not None:
                return found
        return self.scopes[context][0].base + idx if context >= 0 else idx

    def clone(self, fid: int, key: frozenset[Value]) -> int:
        """A copy of function ``fid`` (and the scopes nested in it) for calls whose callable
        arguments are ``key``: decorators and other higher-order functions are analysed
        once per function they are given, so one decorated function does not flow into
        every other."""
        found = self._clones.get((fid, key))
        if found is not None:
            return found
        original = self.origin.get(fid, fid)
        siblings = self.clones_of.setdefault(original, [])
        mod, _ = self.scopes[fid]
        root = self._idx[fid]
        family = [root]
        todo = [root]
        while todo:
            for child in mod.children.get(todo.pop(), ()):
                family.append(child)
                todo.append(child)
        size = sum(len(mod.ir[1][idx][FACTS]) for idx in family)
        # Small functions (decorators, registries) may be copied many times; big ones less.
        if len(siblings) >= (_MAX_CLONES_SMALL if size <= _SMALL_FUNCTION else _MAX_CLONES):
            return fid
        mapping = dict(self.remap.get(fid, {}))
        for idx in family:
            new = len(self.scopes)
            self.scopes.append((mod, mod.ir[1][idx]))
            self._idx.append(idx)
            mapping[idx] = new
            source = mod.base + idx
            self.origin[new] = source
            self.clones_of.setdefault(source, []).append(new)
        for idx in family:
            self.remap[mapping[idx]] = mapping
        copy = mapping[root]
        self._clones[(fid, key)] = copy
        # A cloned method keeps the receivers the original has (and gets later ones).
        positional = self.param_info(fid)[0]
        if positional and self.is_method(fid):
            self.add(("l", copy, positional[0]), self.get_silent(("l", original, positional[0])))
        return copy

    def scope_name(self, fid: int) -> str:
        mod, rec = self.scopes[fid]
        qual = rec[QUAL]
        if rec[KIND] == "N":
            qual = "<main>"
        return f"{mod.name}:{qual}" if qual else mod.name

    # -- locations ----------------------------------------------------------------

    def get(self, key: Any) -> set[Value] | frozenset[Value]:
        if self.cur >= 0 and not self.passive:
            readers = self.readers.get(key)
            if readers is None:
                self.readers[key] = {self.cur}
            else:
                readers.add(self.cur)
        return self.loc.get(key, _EMPTY)

    def add(self, key: Any, values: Iterable[Value]) -> None:
        if self.passive:
            return
        if key in self.saturated:
            self.escape(values, self.cur_line, kind="widened")
            return
        current = self.loc.get(key)
        if current is None:
            current = set()
            self.loc[key] = current
        before = len(current)
        new: list[Value] | None = None
        for value in values:
            if value not in current:
                tag = value[0]
                if tag == "D":
                    tag = value[1][0]
                if tag == "S" or tag == "X":
                    counts = self._caps.get(key)
                    if counts is None:
                        counts = [0, 0]
                        self._caps[key] = counts
                    slot = 0 if tag == "S" else 1
                    if counts[slot] >= (_MAX_STRINGS if slot == 0 else _MAX_EXTERNALS):
                        value = ("P", "") if slot == 0 else _OPAQUE
                        if value in current:
                            continue
                    else:
                        counts[slot] += 1
                current.add(value)
                if new is None:
                    new = [value]
                else:
                    new.append(value)
        if len(current) == before or new is None:
            return
        kind = key[0]
        strings = self._caps.get(key)
        if (
            len(current) - (strings[0] if strings else 0) - (NONE in current) > _MAX_VALUES
            and kind in _WIDENED
            and not (kind == "e" and key[1][0] == "ns")  # a class body: bounded by its source
        ):
            # Widening: too many objects meet here to track them one by one. They are
            # treated as escaped (every method potentially called), and the location
            # holds "unknown" from now on. Sound, and it keeps the analysis linear.
            self.saturated.add(key)
            everything = list(current)
            current.clear()
            current.add(U)
            self.escape(everything, self.cur_line, kind="widened")
            for reader in self.readers.get(key, ()):
                self.enqueue(reader)
            return
        if kind == "a":
            name = key[2]
            self._attr_version[name] = self._attr_version.get(name, 0) + 1
            for reader in self.readers.get(("an", name), ()):
                self.enqueue(reader)
            owner = key[1]
            names = self._attr_names.get(owner)
            if names is None:
                self._attr_names[owner] = {name}
            else:
                names.add(name)
            if owner in self._dynamic_owners:
                self._escape_attribute_values(owner, new)
        elif kind == "aw":
            self._wild_version += 1
            for reader in self.readers.get(("an*",), ()):
                self.enqueue(reader)
        for reader in self.readers.get(key, ()):
            self.enqueue(reader)
        if kind == "e" and key[1] in self.escaped_sites:
            self.escape(new, self.cur_line)
        elif kind == "g" and key[1] in self.escaped_mods:
            self._escape_module_values(key[1], new, self.cur_line)
        elif kind == "b":
            self._mro_version += 1
            affected = self._mro_users.pop(key[1], set()) | {key[1]}
            for cls in affected:
                self._mro_cache.pop(cls, None)
                self._method_tables.pop(cls, None)
                # A scope that resolved an attribute along the old MRO of a subclass
                # depends on it (see ``mro``): it runs again with the new bases.
                for reader in self.readers.get(("b", cls), ()):
                    self.enqueue(reader)
            for cls in affected:
                if cls in self.instantiated:
                    self._setup_instance(cls)
                if cls in self.escaped:
                    self._connect_hubs(cls)

    def enqueue(self, fid: int) -> None:
        if fid not in self.queued:
            self.queued.add(fid)
            if fid in self._evaluated:
                self.stale.append(fid)
            else:
                self.queue.append(fid)

    # -- graph --------------------------------------------------------------------

    def add_edge(
        self, src: Node, dst: Node, line: int, kind: str, potential: bool, detail: str = ""
    ) -> bool:
        """Record an edge; True when ``dst`` is a scope reached for the first time."""
        if self.passive:
            return False
        out = self.edges.get(src)
        if out is None:
            out = {}
            self.edges[src] = out
        old = out.get(dst)
        if old is None or (old.potential and not potential):
            out[dst] = Edge(line, kind, potential, detail if potential else "")
        if isinstance(dst, int) and dst not in self.reached:
            self.reached.add(dst)
            self._setup_scope(dst)
            self.enqueue(dst)
            return True
        return False

    def reach(self, dst: Node, line: int, kind: str, potential: bool, detail: str = "") -> bool:
        return self.add_edge(self.cur_node, dst, line, kind, potential, detail)

    def _setup_scope(self, fid: int) -> None:
        mod, rec = self.scopes[fid]
        if rec[KIND] == "F":
            _names, vararg, kwarg, _ = self.param_info(fid)
            if vararg:
                self.add(("l", fid, vararg), (("K", ("va", fid)),))
            if kwarg:
                self.add(("l", fid, kwarg), (("K", ("kw", fid)),))
        elif rec[KIND] == "M" and mod.kind == "error" and mod.ir[4]:
            self.note_site(fid, 0, "unparseable", f"cannot analyse {mod.name}: {mod.ir[4]}")

    def reach_unknown(
        self,
        fid: int,
        line: int,
        kind: str,
        src: Node | None = None,
        *,
        potential: bool = True,
        detail: str = "",
    ) -> None:
        """``fid`` may be called by code outside the analysis, with any arguments."""
        if src is None:
            self.reach(fid, line, kind, potential, detail)
        else:
            self.add_edge(src, fid, line, kind, potential, detail)
        if fid in self.unknown_called or self.passive:
            return
        self.unknown_called.add(fid)
        _mod, rec = self.scopes[fid]
        if rec[KIND] != "F":
            return
        names, vararg, kwarg, kwonly = self.param_info(fid)
        skip_self = self.is_method(fid)
        for i, name in enumerate(names):
            if i == 0 and skip_self:
                continue
            self.add(
                ("l", fid, name), (U, *self.get_silent(("dflt", self.origin.get(fid, fid), name)))
            )
        for name in kwonly:
            self.add(
                ("l", fid, name), (U, *self.get_silent(("dflt", self.origin.get(fid, fid), name)))
            )
        if vararg:
            self.add(("e", ("va", fid)), (U,))
        if kwarg:
            self.add(("e", ("kw", fid)), (U,))
        self.escape(self.get_silent(("r", fid)), line)
        self.escaped_sites.add(("gen", fid))
        self.escape(self.get_silent(("e", ("gen", fid))), line)
        self._escape_returns.add(fid)

    def get_silent(self, key: Any) -> set[Value] | frozenset[Value]:
        return self.loc.get(key, _EMPTY)

    def note_site(self, fid: int, line: int, kind: str, description: str) -> None:
        if self.passive:
            return
        self.sites.setdefault(fid, {})[(line, kind)] = description

    # -- scope facts ----------------------------------------------------------------

    def param_info(self, fid: int) -> tuple[tuple[str, ...], str | None, str | None, set[str]]:
        info = self._param_info.get(fid)
        if info is None:
            rec = self.scopes[fid][1]
            positional = tuple(p[0] for p in rec[PARAMS] if p[2] in ("o", "p"))
            vararg = next((p[0] for p in rec[PARAMS] if p[2] == "v"), None)
            kwarg = next((p[0] for p in rec[PARAMS] if p[2] == "w"), None)
            kwonly = {p[0] for p in rec[PARAMS] if p[2] == "k"}
            info = (positional, vararg, kwarg, kwonly)
            self._param_info[fid] = info
        return info

    def _decorator_names(self, fid: int) -> set[str]:
        rec = self.scopes[fid][1]
        names = set()
        for deco in rec[DECOS]:
            if deco[0] == "N":
                names.add(deco[1][1])
            elif deco[0] == "A":
                names.add(deco[2])
        return names

    def is_method(self, fid: int) -> bool:
        return self._kind_of(fid) >= 1

    def _kind_of(self, fid: int) -> int:
        """0 plain function, 1 method, 2 classmethod."""
        found = self._method_kind.get(fid)
        if found is None:
            found = 0
            if self._is_method(fid):
                found = 2 if "classmethod" in self._decorator_names(fid) else 1
            self._method_kind[fid] = found
        return found

    def _is_method(self, fid: int) -> bool:
        mod, rec = self.scopes[fid]
        if rec[KIND] != "F" or rec[PARENT] < 0:
            return False
        parent = mod.ir[1][rec[PARENT]] if mod.ir[1] else None
        if parent is None or parent[KIND] != "C":
            return False
        return "staticmethod" not in self._decorator_names(fid)

    def is_classmethod(self, fid: int) -> bool:
        return self._kind_of(fid) == 2

    def class_methods(self, cls: int) -> dict[str, list[int]]:
        """Functions defined directly in the body of class ``cls``, by name."""
        found = self._method_index.get(cls)
        if found is None:
            mod, _rec = self.scopes[cls]
            found = {}
            idx = self._idx[cls]
            for child in mod.children.get(idx, ()):
                crec = mod.ir[1][child]
                if crec[KIND] == "F":
                    found.setdefault(crec[NAME], []).append(self.fid_for(cls, child))
            self._method_index[cls] = found
        return found

    def run_scope(self, fid: int) -> None:
        mod, rec = self.scopes[fid]
        self.cur = fid
        self.cur_node = fid
        self.cur_mod = mod
        self.cur_line = rec[LINE]
        self.evaluations += 1
        if not self.passive:
            self.sites.pop(fid, None)
        self._run_facts(fid, rec[FACTS])
        if rec[KIND] == "F" and rec[FLAGS] & FLAG_FALLS_OFF:
            self.add(("r", fid), _NONE_SET)
        if rec[KIND] == "C" and not self.passive:
            self._class_created(fid)

    def _run_facts(self, fid: int, facts: Iterable[Any]) -> None:
        for fact in facts:
            tag = fact[0]
            if tag == "=":
                self.cur_line = fact[3]
                self.assign(fact[1], self.ev(fact[2]))
            elif tag == "e":
                self.ev(fact[1])
            elif tag == "r":
                values = self.ev(fact[1])
                self.add(("r", fid), values)
                if fid in self._escape_returns:
                    self.escape(values, self.cur_line)
            elif tag == "d":
                self.cur_line = fact[3]
                self.define(fact[1], fact[2])
            elif tag == "i":
                self.cur_line = fact[4]
                self.do_import(fact[1], fact[2], fact[3])
            elif tag == "f":
                self.cur_line = fact[4]
                self.do_from(fact[1], fact[2], fact[3])
            elif tag == "x":
                self.cur_line = fact[2]
                self.escape(self.ev(fact[1]), fact[2])
            elif tag == "?":
                self.cur_line = fact[3]
                if self._may_be_none(fact[1]):
                    self._run_facts(fid, fact[2])

    def _may_be_none(self, ref: Any) -> bool:
        """Whether the local ``ref`` may be ``None`` (for a guarded body). The scope reads
        the local, so it runs again when the local gets values. Every way a value may
        be ``None`` gives one that may be (see the module docstring): a local with no
        value holds only other constants (numbers, booleans), or nothing yet."""
        if self.passive:
            return True  # references inside are evidence, whatever the local holds
        values = self.get(self._key_for(ref))
        return any(v[0] not in _NOT_NONE for v in values)

    def solve(self) -> None:
        """Run to the fixpoint."""
        # Scopes never evaluated go first; re-evaluations wait, so each one sees the
        # changes of many others at once (far fewer evaluations overall).
        while self.queue or self.stale:
            fid = self.queue.popleft() if self.queue else self.stale.popleft()
            self.queued.discard(fid)
            self._evaluated.add(fid)
            self.run_scope(fid)
        self.cur = -1
        self.cur_node = ("root",)

    def label_references(self) -> None:
        """Evaluate, without effects, the functions of imported modules that never ran,
        to record where target symbols are referenced (for the verdict's evidence)."""
        self.passive = True
        try:
            for fid in range(len(self.scopes)):
                mod, rec = self.scopes[fid]
                if fid in self.reached or rec[KIND] != "F" or mod.kind != "py":
                    continue
                if mod.base not in self.reached:
                    continue
                self.run_scope(fid)
        finally:
            self.passive = False
            self.cur = -1
            self.cur_node = ("root",)

    # -- names ----------------------------------------------------------------------

    def _key_for(self, ref: Any) -> Any:
        tag = ref[0]
        mod = self.module
        if tag == "L":
            return ("l", self.cur, ref[1])
        if tag == "G":
            return ("g", mod.name, ref[1])
        if tag == "E":
            return ("l", self.fid_for(self.cur, ref[1]), ref[2])
        return ("a", self.cur, ref[1])

    def load_ref(self, ref: Any) -> set[Value] | frozenset[Value]:
        tag = ref[0]
        if tag == "G":
            return self.load_global(ref[1])
        if tag == "K":
            own = self.get(("a", self.cur, ref[1]))
            outer = self.load_ref(ref[2]) if ref[2] is not None else _EMPTY
            return own | outer if outer else own
        values = self.get(self._key_for(ref))
        self._note_refs(values)
        return values

    def load_global(self, name: str) -> set[Value] | frozenset[Value]:
        mod = self.module
        values = self.get(("g", mod.name, name))
        if values:
            self._note_refs(values)
            return values
        if mod.kind == "entry" and name in _ENTRY_NAMES:
            return {_ENTRY_NAMES[name]}
        if name in mod.global_names:
            return values
        special = _module_special(mod, name)
        if special is not None:
            return special
        if name in _BUILTIN_NAMES:
            return {("X", "builtins." + name)}
        return _EMPTY

    def _note_refs(self, values: Iterable[Value]) -> None:
        if not self.target_fids:
            return
        for value in tuple(values):
            if value[0] in ("F", "BM", "SF", "CM", "CB", "C", "R"):
                source = self.origin.get(value[1], value[1])
                if source in self.target_fids:
                    self.refs.setdefault(source, set()).add((self.cur, self.cur_line))

    def store(self, ref: Any, values: set[Value] | frozenset[Value]) -> None:
        if not values:
            return
        key = self._key_for(ref)
        self.add(key, values)
        if ref[0] == "K":
            self.add(("e", ("ns", self.cur)), values)

    # -- expressions ------------------------------------------------------------------

    def ev(self, e: Any) -> set[Value] | frozenset[Value]:
        self._depth += 1
        try:
            if self._depth > _MAX_EVAL_DEPTH:
                return {U}
            return self._ev(e)
        finally:
            self._depth -= 1

    def _ev(self, e: Any) -> set[Value] | frozenset[Value]:
        tag = e[0]
        if tag == "N":
            return self.load_ref(e[1])
        if tag == "A":
            base = self.ev(e[1])
            self.cur_line = e[3]
            return self.attr_load(base, e[2])
        if tag == "C":
            return self.ev_call(e)
        if tag == "S":
            return {("S", e[1])}
        if tag == "B":
            return _EMPTY
        if tag == "0":
            return _NONE_SET
        if tag == "I":
            base = self.ev(e[1])
            index = self.ev(e[2])
            self.cur_line = e[3]
            return self.subscript(base, index)
        if tag == "D":
            site = (self.module.name, e[1])
            key = ("e", site)
            for elem in e[2]:
                if elem[0] == "*":
                    self.add(key, self.iterate(self.ev(elem[1])))
                else:
                    self.add(key, self.ev(elem))
            for k in e[3]:
                self.ev(k)
            return {("K", site)}
        if tag == "Q":
            for effect in e[1]:
                self.ev(effect)
            return self.ev(e[2])
        if tag == "U":
            out: set[Value] = set()
            for part in e[1]:
                out |= self.ev(part)
            return out
        if tag == "O":
            return self.operator(e)
        if tag == "P":
            return {("P", e[1])}
        if tag == "F":
            fid = self.fid_for(self.cur, e[1])
            self._defaults(fid)
            return {("F", fid)}
        if tag == "Y":
            values = self.ev(e[1])
            self.add(("e", ("gen", self.cur)), values)
            return {U}
        if tag == "Z":
            values = self.iterate(self.ev(e[1]))
            self.add(("e", ("gen", self.cur)), values)
            return {U}
        if tag == "T":
            return self.iterate(self.ev(e[1]))
        if tag == "*":
            return self.iterate(self.ev(e[1]))
        return {U}

    def operator(self, e: Any) -> set[Value]:
        operands = [self.ev(x) for x in e[1]]
        dunder = e[2]
        out: set[Value] = set()
        for i, values in enumerate(operands):
            for value in tuple(values):
                kind = value[0]
                if kind == "K" or kind == "U":
                    out.add(value)
                elif kind == "I" and dunder is not None and i == 0:
                    # The other operand is passed as unknown: flowing every compared value
                    # into every __eq__ would merge unrelated data for no gain.
                    out |= self.call_method(
                        value, dunder, [({U}, False)] if len(operands) > 1 else []
                    )
                elif kind == "I" and dunder is not None and i == 1 and dunder != "__contains__":
                    rname = dunder.replace("__", "__r", 1) if dunder.count("_") == 4 else dunder
                    self.call_method(value, rname, [({U}, False)])
                elif kind in ("X", "XB"):
                    out.add(U)
                elif kind == "D":
                    out.add(value)
                elif kind in ("S", "P") and i == 0 and dunder in _STRING_BUILDERS:
                    out |= self._concatenate(value, dunder, operands[1:])
        return out

    def _concatenate(
        self, left: Value, dunder: str, rest: list[set[Value] | frozenset[Value]]
    ) -> set[Value]:
        """``"text" + x`` (exactly, when both sides are a few constants) and ``"text %s" % x``:
        otherwise a string that starts with the same text."""
        if "mod" in dunder:
            return {("P", left[1].split("%", 1)[0])}
        right = _without_none(rest[0]) if rest else _EMPTY
        if (
            left[0] == "S"
            and right
            and len(right) <= _MAX_CONCATENATIONS
            and all(v[0] == "S" and len(left[1]) + len(v[1]) <= MAX_STRING for v in right)
        ):
            return {("S", left[1] + v[1]) for v in right}
        if left[0] == "S" and not right:
            return set()  # not known yet: evaluated again when the right side gets values
        return {("P", left[1])}

    def ev_call(self, e: Any) -> set[Value] | frozenset[Value]:
        func = self.ev(e[1])
        args: list[tuple[set[Value] | frozenset[Value], bool]] = []
        for a in e[2]:
            if a[0] == "*":
                args.append((self.iterate(self.ev(a[1])), True))
            else:
                args.append((self.ev(a), False))
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]] = []
        for name, value in e[3]:
            values = self.ev(value)
            if name is None:
                kwargs.append((None, self.dict_values(values)))
            else:
                kwargs.append((name, values))
        self.cur_line = e[4]
        return self.call(func, args, kwargs, e[4], False)

    def dict_values(self, values: Iterable[Value]) -> set[Value]:
        out: set[Value] = set()
        for value in tuple(values):
            if value[0] == "K":
                out |= self.get(("e", value[1]))
            elif value[0] == "D":
                out |= {_dyn(v, value[2]) for v in self.dict_values((value[1],))}
            elif value[0] != "0":
                out.add(U)
        return out

    # -- assignment -------------------------------------------------------------------

    def assign(self, target: Any, values: set[Value] | frozenset[Value]) -> None:
        tag = target[0]
        if tag == "N":
            self.store(target[1], values)
        elif tag == "A":
            base = self.ev(target[1])
            self.attr_store(base, target[2], values)
        elif tag == "I":
            base = self.ev(target[1])
            index = self.ev(target[2])
            self.sub_store(base, index, values)
        elif tag == "T" and target[1]:
            items = self.unpack(values)
            for sub in target[1]:
                self.assign(sub, items)

    def unpack(self, values: Iterable[Value]) -> set[Value]:
        """Values of the parts of ``a, b = value``.

        Containers are collapsed (a dict's items are its values), so a part may be
        the element itself: an instance that cannot be iterated stands for itself.
        """
        out: set[Value] = set()
        plain: list[Value] = []
        for value in tuple(values):
            if (
                value[0] == "I"
                and not (
                    self.lookup_method(value[1], "__iter__")
                    or self.lookup_method(value[1], "__getitem__")
                )
            ) or value[0] in ("C", "F", "BM", "SF", "CM", "CB", "M", "R"):
                out.add(value)
            else:
                plain.append(value)
        return out | self.iterate(plain)

    def attr_store(
        self, bases: Iterable[Value], name: str, values: set[Value] | frozenset[Value]
    ) -> None:
        if not values:
            return
        for base in tuple(bases):
            kind = base[0]
            if kind in ("I", "C"):
                self.add(("a", base[1], name), values)
            elif kind == "SU":
                self.attr_store((base[2],), name, values)
            elif kind == "M":
                mod = self.cur_mod
                if mod is not None and base[1] == mod.name:
                    self.add(("g", base[1], name), values)
                else:  # monkeypatching another module
                    self.add(("g", base[1], name), values)
                    self.note_site(
                        self.cur, self.cur_line, "monkeypatch", f"assigns {base[1]}.{name}"
                    )
            elif kind == "K":
                self.add(("e", base[1]), values)
            elif kind == "D":
                self.attr_store((base[1],), name, {_dyn(v, base[2]) for v in values})
            elif kind in ("U", "X", "XB", "VA"):
                self.escape(values, self.cur_line)

    def sub_store(
        self, bases: Iterable[Value], index: Iterable[Value], values: set[Value] | frozenset[Value]
    ) -> None:
        if not values:
            return
        index = list(_without_none(index))
        for base in tuple(bases):
            kind = base[0]
            if kind == "K":
                self.add(("e", base[1]), values)
            elif kind == "I":
                found = self.lookup_method(base[1], "__setitem__")
                if found:
                    self.call(
                        found, [(set(index), False), (values, False)], [], self.cur_line, False
                    )
                elif self.container_facet(base[1]):
                    self.add(("e", ("ic", base[1])), values)
                else:
                    self.escape(values, self.cur_line)
            elif kind == "GL":
                names = [i[1] for i in index if i[0] == "S"]
                if names and len(names) == len(index):
                    for n in names:
                        self.add(("g", base[1], n), values)
                else:
                    self.add(("mw", base[1]), values)
                    self.note_site(
                        self.cur,
                        self.cur_line,
                        "globals",
                        "stores into globals() with a computed key",
                    )
            elif kind == "SM":
                self.note_site(self.cur, self.cur_line, "sys.modules", "stores into sys.modules")
            elif kind == "VA":
                names = [i[1] for i in index if i[0] == "S"]
                if names and len(names) == len(index):
                    for n in names:
                        self.attr_store((base[1],), n, values)
                else:
                    self.wild_store(base[1], values)
            elif kind == "D":
                self.sub_store((base[1],), index, {_dyn(v, base[2]) for v in values})
            elif kind in ("U", "X", "XB"):
                self.escape(values, self.cur_line)

    def wild_store(self, target: Value, values: Iterable[Value]) -> None:
        """A store under a computed attribute name: kept apart, read back as a summary."""
        if target[0] in ("I", "C"):
            self.add(("aw", target[1]), values)
        elif target[0] == "M":
            self.add(("mw", target[1]), values)
        elif target[0] == "D":
            self.wild_store(target[1], values)
        else:
            self.escape(values, self.cur_line, kind="dynamic")

    # -- attributes ---------------------------------------------------------------------

    def attr_load(self, bases: Iterable[Value], name: str) -> set[Value]:
        out: set[Value] = set()
        for base in tuple(bases):
            kind = base[0]
            if kind == "M":
                out |= self.module_attr(base[1], name)
            elif kind == "I":
                out |= self.instance_attr(base[1], name, base)
            elif kind == "C":
                out |= self.class_attr(base[1], name)
            elif kind == "X":
                out |= self.external_attr(base[1], name)
            elif kind in ("U", "XB"):
                out.add(U)
                self.hub_access(name)
            elif kind == "SU":
                out |= self.super_attr(base[1], base[2], name)
            elif kind == "K":
                if base[1][-1] == "namespace":
                    out |= self.get(("e", base[1]))
                elif name in _CONTAINER_METHODS:
                    out.add(("KM", base[1], name))
            elif kind == "D":
                out |= {_dyn(v, base[2]) for v in self.attr_load((base[1],), name)}
            elif kind == "DW":
                out.add(U)
                out.add(base)  # see DA below
                self.hub_access(name)
            elif kind == "DA":
                # An attribute of any value the target holds: calling it may call any of
                # their methods, which calling the summary value itself covers.
                out.add(U)
                out.add(base)
                self.hub_access(name)
                if base[1][0] == "SM":
                    for modname, mod in list(self.mods.items()):
                        if mod.base in self.reached and name in mod.global_names:
                            out |= {_dyn(v, base[2]) for v in self.get(("g", modname, name))}
            elif kind == "SM":
                out.add(("SMM", name))
            elif kind == "EP":
                out.add(("EPL",) if name == "load" else ("EP",))
            elif kind == "R":
                if name in ("setter", "getter", "deleter"):
                    out.add(("RS", base[1]))
                else:
                    out.add(NONE)  # fset, fdel, __doc__ may be None
            elif kind in ("S", "P"):
                out.add(("X", "builtins.str." + name))
            elif kind in ("GL", "VA"):
                out.add(("GLM", base, name))
            elif kind in ("F", "BM", "SF", "CM", "CB"):
                if name in ("__func__", "__wrapped__"):
                    out.add(("F", base[1]))
                elif name == "__get__":
                    out.add(base)
                else:
                    out.add(NONE)  # function attributes are not tracked: any may be None
                    if not name.startswith("__"):
                        # ... nor what a decorator set there (singledispatch's register):
                        # what such an attribute is given goes to code the analysis
                        # does not see.
                        out.add(("X", f"builtins.function.{name}"))
            elif kind == "EPL":
                out.add(U)
        if name in _MAYBE_NONE_ATTRS:
            out.add(NONE)
        self._note_refs(out)
        return out

    def module_attr(self, modname: str, name: str) -> set[Value]:
        mod = self.mods.get(modname)
        if mod is None:
            mod = self.load_module(modname)
            if mod is None:
                return {("X", f"{modname}.{name}")}
        if mod.kind in ("ext", "error"):
            return {("X", f"{modname}.{name}"), U}
        out = set(self.get(("g", modname, name)))
        sub = f"{modname}.{name}"
        if self.artifact.find_module(sub) is not None:
            out.add(("M", sub))
        if self.get(("mw", modname)):
            out.add(("DW", ("mw", modname)))
        if not out and name not in mod.global_names:
            if "__getattr__" in mod.global_names:
                getter = self.get(("g", modname, "__getattr__"))
                out |= self.call(getter, [({("S", name)}, False)], [], self.cur_line, False)
            elif name == "__dict__":
                out.add(("VA", ("M", modname)))
            elif name in ("__name__", "__file__", "__path__", "__spec__", "__loader__", "__doc__"):
                out.add(U)
        return out

    def external_attr(self, qual: str, name: str) -> set[Value]:
        if qual == "sys" and name == "modules":
            return {("SM",)}
        if qual == "?" or qual.count(".") >= _MAX_X_DEPTH:
            return {_OPAQUE}
        return {("X", f"{qual}.{name}")}

    def mro(self, cls: int) -> tuple[tuple[int, ...], tuple[Value, ...]]:
        """(artifact classes in method-resolution order, bases from outside the artifact).

        The scope asking depends on the bases of ``cls`` even when the answer comes from
        the cache: a base found later (a class statement run before the module defining
        its base) changes the MRO, and every lookup made through the old one.
        """
        self.get(("b", cls))
        cached = self._mro_cache.get(cls)
        if cached is not None:
            return cached
        external: list[Value] = []
        order = self._c3(cls, external, set())
        if order is None:
            external.clear()
            order = self._dfs_order(cls, external)
        result = (tuple(order), tuple(dict.fromkeys(external)))
        self._mro_cache[cls] = result
        for klass in order:
            self._mro_users.setdefault(klass, set()).add(cls)
        return result

    def _ordered_bases(self, cls: int, external: list[Value]) -> list[int]:
        """The artifact classes among the bases of ``cls``, in the order the class statement
        lists them; bases from outside the artifact go to ``external``."""
        classes: list[int] = []
        for base in sorted(
            self.get(("b", cls)), key=lambda b: (self._base_rank.get((cls, b), 1 << 30), repr(b))
        ):
            if base[0] == "C":
                classes.append(base[1])
            elif base[0] == "D" and base[1][0] == "C":
                classes.append(base[1][1])
            elif base[0] in ("X", "U", "XB", "D", "I"):
                external.append(base)
        return list(dict.fromkeys(classes))

    def _c3(self, cls: int, external: list[Value], active: set[int]) -> list[int] | None:
        """Python's C3 linearisation; None when the bases do not allow one (or cycle)."""
        if cls in active or len(active) > 64:
            return None
        active.add(cls)
        try:
            bases = self._ordered_bases(cls, external)
            lists: list[list[int]] = []
            for base in bases:
                lin = self._c3(base, external, active)
                if lin is None:
                    return None
                lists.append(lin)
            lists.append(list(bases))
            order = [cls]
            while True:
                lists = [lst for lst in lists if lst]
                if not lists:
                    return order
                for lst in lists:
                    head = lst[0]
                    if not any(head in other[1:] for other in lists):
                        break
                else:
                    return None
                order.append(head)
                for lst in lists:
                    if lst and lst[0] == head:
                        del lst[0]
        finally:
            active.discard(cls)

    def _dfs_order(self, cls: int, external: list[Value]) -> list[int]:
        """Depth-first, left to right, deduplicated: the fallback when C3 fails."""
        order: list[int] = []
        seen: set[int] = set()
        stack = [cls]
        while stack:
            current = stack.pop(0)
            if current in seen:
                continue
            seen.add(current)
            order.append(current)
            stack = self._ordered_bases(current, external) + stack
            if len(order) > 64:
                break
        return order

    def method_names(self, cls: int) -> set[str]:
        """Names of the functions defined along the MRO of ``cls`` (artifact classes)."""
        return set(self.method_table(cls))

    def opaque_base(self, cls: int) -> bool:
        """Whether a base from outside the artifact may call this class's methods."""
        _, external = self.mro(cls)
        for base in external:
            if base[0] != "X":
                return True
            qual = base[1].removesuffix("[]")
            if qual in _INERT_BASES or qual in _CONTAINER_BASES:
                continue
            if (
                qual.startswith("builtins.")
                and qual[9:10].isupper()
                and qual.endswith(("Error", "Exception", "Warning"))
            ):
                continue
            if qual.startswith(("typing.", "typing_extensions.")):
                continue
            return True
        return False

    def container_facet(self, cls: int) -> bool:
        _, external = self.mro(cls)
        return any(b[0] == "X" and b[1].removesuffix("[]") in _CONTAINER_BASES for b in external)

    def _lookup(self, cls: int, name: str) -> tuple[set[Value] | frozenset[Value], bool]:
        """Values of attribute ``name`` along the MRO of ``cls``; True when found.

        The scope asking depends on every class attribute called ``name`` (a coarse but
        cheap dependency), which lets the answer be cached until one of them changes.
        """
        special = name.startswith("__") and name.endswith("__")
        self.get(("an", name))
        self.get(("b", cls))
        if not special:
            self.get(("an*",))
        stamp = (
            self._attr_version.get(name, 0),
            0 if special else self._wild_version,
            self._mro_version,
        )
        cached = self._lookup_cache.get((cls, name))
        if cached is not None and cached[0] == stamp:
            return cached[1], cached[2]
        order, _ = self.mro(cls)
        wild: set[Value] = set()
        result: tuple[set[Value] | frozenset[Value], bool] = (wild, False)
        loc = self.loc
        for klass in order:
            values = loc.get(("a", klass, name))
            if values:
                if len(values) == 1 and NONE in values:
                    # Only None: the search goes on as if absent (as it did before None
                    # had a value), keeping None in the answer.
                    wild.add(NONE)
                    continue
                result = ((values | wild) if wild else values, True)
                break
            if not special and loc.get(("aw", klass)):
                wild.add(("DW", ("aw", klass)))
        self._lookup_cache[(cls, name)] = (stamp, result[0], result[1])
        return result

    def lookup_method(self, cls: int, name: str) -> set[Value] | frozenset[Value]:
        """Bound methods named ``name`` an instance of ``cls`` has (artifact code only)."""
        values, found = self._lookup(cls, name)
        if not found:
            return set(values)
        return self._bind_instance(cls, values, ("I", cls), name, call_properties=False)

    def _bind_instance(
        self,
        cls: int,
        values: Iterable[Value],
        inst: Value,
        name: str,
        *,
        call_properties: bool = True,
    ) -> set[Value] | frozenset[Value]:
        """Attribute values as seen through an instance: functions become bound methods,
        properties and descriptors run. The plain part is cached per (class, name) until
        the attribute's values change; properties and descriptors are handled per access
        (they add edges from the accessing scope). Callers must not mutate the result."""
        if not isinstance(values, set | frozenset):
            values = frozenset(values)
        key = (cls, name)
        cached = self._bind_cache.get(key)
        count = len(values)
        if cached is None or cached[0] is not values or cached[1] != count:
            simple: set[Value] = set()
            special: list[Value] = []
            for value in tuple(values):
                kind = value[0]
                if kind == "F":
                    simple.add(("BM", value[1]))
                elif kind == "SF":
                    simple.add(("F", value[1]))
                elif kind == "CM":
                    simple.add(("CB", value[1], cls))
                elif kind == "R" or kind == "D" or (kind == "I" and self._descriptor(value[1])):
                    special.append(value)
                else:
                    simple.add(value)
            cached = (values, count, frozenset(simple), tuple(special))
            self._bind_cache[key] = cached
        if not cached[3]:
            return cached[2]
        out: set[Value] = set(cached[2])
        for value in cached[3]:
            kind = value[0]
            if kind == "R":
                if call_properties:
                    self.reach(value[1], self.cur_line, "property", False)
                    out |= self.get(("r", value[1]))
            elif kind == "I":
                if not call_properties:
                    out.add(value)
                    continue
                getter, found = self._lookup(value[1], "__get__")
                if found:
                    out |= self.call(
                        self._bind_instance(value[1], getter, value, "__get__"),
                        [({inst}, False), ({("C", cls)}, False)],
                        [],
                        self.cur_line,
                        False,
                    )
                elif self._descriptor(value[1]) == 2:
                    # A property subclass without its own __get__: property calls fget.
                    accessors, _ = self._lookup(value[1], "fget")
                    out |= self.call(accessors, [({inst}, False)], [], self.cur_line, False)
                else:
                    out.add(value)
            else:  # D
                inner = self._bind_instance_uncached(cls, value[1], inst, name, call_properties)
                out |= {_dyn(v, value[2]) for v in inner}
        return out

    def _bind_instance_uncached(
        self, cls: int, value: Value, inst: Value, name: str, call_properties: bool
    ) -> set[Value]:
        kind = value[0]
        if kind == "F":
            return {("BM", value[1])}
        if kind == "SF":
            return {("F", value[1])}
        if kind == "CM":
            return {("CB", value[1], cls)}
        if kind in ("R", "I"):
            return set(
                self._bind_instance(
                    cls, frozenset((value,)), inst, name, call_properties=call_properties
                )
            )
        return {value}

    def _descriptor(self, cls: int) -> int:
        """1: the class defines ``__get__``; 2: it is a property subclass without one; 0."""
        if "__get__" in self.method_table(cls):
            return 1
        _, external = self.mro(cls)
        if any(
            b in (("X", "builtins.property"), ("X", "functools.cached_property")) for b in external
        ):
            return 2
        return 0

    def instance_attr(self, cls: int, name: str, inst: Value) -> set[Value]:
        if name == "__class__":
            return {("C", cls)}
        if name == "__dict__":
            return {("VA", inst)}
        values, found = self._lookup(cls, name)
        out = set(self._bind_instance(cls, values, inst, name)) if values else set()
        if not found:
            getattr_values, has_getattr = (
                self._lookup(cls, "__getattr__")
                if "__getattr__" in self.method_table(cls)
                else (_EMPTY, False)
            )
            if has_getattr:
                out |= self.call(
                    self._bind_instance(cls, getattr_values, inst, "__getattr__"),
                    [({("S", name)}, False)],
                    [],
                    self.cur_line,
                    False,
                )
            _, external = self.mro(cls)
            if external and not (len(external) == 1 and external[0] == ("X", "builtins.object")):
                out.add(("XB", cls))
                if self.container_facet(cls):
                    out.add(("KM", ("ic", cls), name))
        return out

    def class_attr(self, cls: int, name: str) -> set[Value]:
        if name in ("__name__", "__qualname__", "__module__", "__doc__"):
            return {U}
        if name == "__dict__":
            return {("VA", ("C", cls))}
        if name == "__mro__" or name == "__bases__":
            return {("K", ("mro", cls))}
        values, found = self._lookup(cls, name)
        out: set[Value] = set()
        for value in tuple(values):
            kind = value[0]
            if kind == "SF":
                out.add(("F", value[1]))
            elif kind == "CM":
                out.add(("CB", value[1], cls))
            elif kind == "I":
                getter, has_get = (
                    self._lookup(value[1], "__get__")
                    if "__get__" in self.method_table(value[1])
                    else (_EMPTY, False)
                )
                if has_get:
                    out |= self.call(
                        self._bind_instance(value[1], getter, value, "__get__"),
                        [(set(), False), ({("C", cls)}, False)],
                        [],
                        self.cur_line,
                        False,
                    )
                out.add(value)
            else:
                out.add(value)
        if not found and name == "register":
            # ABCMeta.register(cls) (a virtual subclass): calls nothing.
            return {("X", "abc.ABC.register")}
        if not found:
            for meta in self.get(("mc", cls)):
                if meta[0] == "C":
                    out |= self.instance_attr(meta[1], name, ("C", cls))
            _, external = self.mro(cls)
            if external and not (len(external) == 1 and external[0] == ("X", "builtins.object")):
                out.add(("XB", cls))
        return out

    def super_attr(self, cls: int, inst: Value, name: str) -> set[Value] | frozenset[Value]:
        target = inst[1] if inst[0] in ("I", "C") else None
        if target is None:
            return {U}
        order, external = self.mro(target)
        after = False
        for klass in order:
            if after:
                values = self.get(("a", klass, name))
                if values and not (len(values) == 1 and NONE in values):
                    if inst[0] == "I":
                        return self._bind_instance(target, values, inst, name)
                    return {("CB", v[1], target) if v[0] in ("CM", "F") else v for v in values}
            elif klass == cls:
                after = True
        if external:
            if (
                name == "__init__"
                and inst[0] == "I"
                and any(
                    b in (("X", "builtins.property"), ("X", "functools.cached_property"))
                    for b in external
                )
            ):
                # property.__init__(fget, fset, fdel, doc) in a property subclass: keep the
                # accessors as attributes so the subclass's __get__ can call self.fget.
                return {("PI", target)}
            return {("XB", target)}
        return set()

    # -- subscripts and iteration ---------------------------------------------------------

    def subscript(self, bases: Iterable[Value], index: set[Value] | frozenset[Value]) -> set[Value]:
        index = _without_none(index)
        out: set[Value] = set()
        for base in tuple(bases):
            kind = base[0]
            if kind == "K":
                out |= self.dispatch(self.get(("e", base[1])), index)
            elif kind == "I":
                found = self.lookup_method(base[1], "__getitem__")
                if found:
                    out |= self.call(found, [(index, False)], [], self.cur_line, False)
                elif self.container_facet(base[1]):
                    out |= self.get(("e", ("ic", base[1])))
                else:
                    out.add(U)
            elif kind == "C":
                out.add(base)
            elif kind == "X":
                if base[1] == "?" or base[1].endswith("[]"):
                    out.add(_OPAQUE)
                else:
                    out.add(("X", base[1] + "[]"))
                if not base[1].startswith(_GENERIC_PREFIXES):
                    out.add(U)  # a generic alias like typing.Generic[T] is not a container
            elif kind == "SM":
                out |= self.sys_modules(index)
            elif kind == "GL":
                out |= self.globals_lookup(base[1], index)
            elif kind == "LC":
                out |= self.locals_lookup(base[1])
            elif kind == "VA":
                out |= self.vars_lookup(base[1], index)
            elif kind == "D":
                out |= {_dyn(v, base[2]) for v in self.subscript((base[1],), index)}
            elif kind in ("DA", "DW"):
                out.add(U)
                out.add(base)  # an element of any value it holds: see attr_load
            elif kind == "EP":
                out.add(base)
            elif kind in ("U", "XB"):
                out.add(U)
        return out

    def sys_modules(self, index: Iterable[Value]) -> set[Value]:
        """``sys.modules[key]``: the named modules for constant keys, else any imported module."""
        index = list(_without_none(index))
        if not index:
            return set()  # nothing known yet: evaluated again when the key gets values
        names = [i[1] for i in index if i[0] == "S"]
        if names and len(names) == len(index):
            return {self.module_value(name) for name in names}
        if all(i[0] in ("S", "P") and i[1] for i in index):
            # Keys with known beginnings: the imported modules whose names start so.
            out: set[Value] = set()
            for key in index:
                if key[0] == "S":
                    out.add(self.module_value(key[1]))
                    continue
                feature = f"sys.modules indexed with a computed key starting {key[1]!r}"
                candidates = self.artifact.module_names(key[1])
                if len(candidates) > _MAX_PREFIX_MODULES:
                    return self.any_module()
                out |= {("D", ("M", name), feature) for name in candidates}
            return out
        self.note_site(
            self.cur, self.cur_line, "sys.modules", "reads sys.modules with a computed key"
        )
        return self.any_module()

    def any_module(self) -> set[Value]:
        """A module read from ``sys.modules`` with a computed key: any imported module."""
        return {("DA", ("SM",), "sys.modules indexed with a computed key")}

    def globals_lookup(self, modname: str, index: Iterable[Value]) -> set[Value]:
        index = list(index)
        if not index:
            return set()
        names = [i[1] for i in index if i[0] == "S"]
        if names and len(names) == len(index):
            out: set[Value] = set()
            for name in names:
                out |= self.get(("g", modname, name))
            return out
        self.note_site(self.cur, self.cur_line, "globals", "reads globals() with a computed key")
        return {("DA", ("M", modname), "globals() indexed with a computed key")}

    def locals_lookup(self, fid: int) -> set[Value]:
        self.note_site(self.cur, self.cur_line, "locals", "reads locals() with a computed key")
        return {("DA", ("LC", fid), "locals() indexed with a computed key")}

    def vars_lookup(self, target: Value, index: Iterable[Value]) -> set[Value]:
        index = list(index)
        if not index:
            return set()
        names = [i[1] for i in index if i[0] == "S"]
        if names and len(names) == len(index):
            out: set[Value] = set()
            for name in names:
                out |= self.attr_load((target,), name)
            return out
        return self.all_attributes(target, "vars() or __dict__ indexed with a computed key")

    def all_attributes(self, target: Value, feature: str) -> set[Value]:
        """Any attribute of ``target`` (a computed getattr): one summary value naming the
        dynamic ``feature`` that reads it."""
        if target[0] == "D":
            return self.all_attributes(target[1], feature)
        if target[0] in ("M", "I", "C", "LC"):
            return {("DA", target, feature)}
        if target[0] == "DA" and target[1][0] == "SM":
            self.note_site(
                self.cur, self.cur_line, "import", "any attribute of any imported module"
            )
        self.hub_access("*")
        return {U}

    def dispatch(
        self, values: set[Value] | frozenset[Value], index: Iterable[Value]
    ) -> set[Value] | frozenset[Value]:
        """Elements of a container read under ``index``. When the key is run-time data (not
        a string constant or a class), the functions and classes among them that a
        decorator was given come out of a registry (``@route("/path")``, ``@register``):
        which one runs depends on that data, so calls through them are potential edges
        naming the lookup. Plain tables (``{"http": HTTPConnectionPool}``) stay precise."""
        index = _without_none(index)
        if all(i[0] in ("S", "C") for i in index):
            return values
        registered = self.registered
        if not any(v[0] in _REGISTERED and v[1] in registered for v in values):
            return values
        return {
            _dyn(v, _REGISTRY) if v[0] in _REGISTERED and v[1] in registered else v for v in values
        }

    def dynamic_members(self, target: Value) -> set[Value]:
        """The callables among the locals of a function (``locals()[computed]``)."""
        out: set[Value] = set()
        if target[0] == "LC":
            rec = self.scopes[target[1]][1]
            for name in rec[11]:
                out |= self.get(("l", target[1], name))
        return {v for v in out if v[0] in _CALLABLE}

    def _attr_keys(self, cls: int) -> list[str]:
        _mod, rec = self.scopes[cls]
        return list(rec[11])

    def iterate(self, values: Iterable[Value]) -> set[Value]:
        out: set[Value] = set()
        for value in tuple(values):
            kind = value[0]
            if kind == "K":
                out |= self.get(("e", value[1]))
            elif kind == "I":
                found = self.lookup_method(value[1], "__iter__")
                if found:
                    for item in tuple(self.call(found, [], [], self.cur_line, False)):
                        if item[0] == "I":
                            nexts = self.lookup_method(item[1], "__next__")
                            out |= self.call(nexts, [], [], self.cur_line, False) if nexts else {U}
                        elif item[0] == "K":
                            out |= self.get(("e", item[1]))
                        else:
                            out.add(U)
                elif self.container_facet(value[1]):
                    out |= self.get(("e", ("ic", value[1])))
                else:
                    getitem = self.lookup_method(value[1], "__getitem__")
                    out |= (
                        self.call(getitem, [({U}, False)], [], self.cur_line, False)
                        if getitem
                        else {U}
                    )
            elif kind == "C":
                out.add(("I", value[1]))
            elif kind == "D":
                out |= {_dyn(v, value[2]) for v in self.iterate((value[1],))}
            elif kind in ("DA", "DW"):
                out.add(U)
                out.add(value)  # an element of any value it holds: see attr_load
            elif kind == "SM":
                out.add(U)
            elif kind in ("S", "P", "0"):
                continue
            elif kind == "EP":
                out.add(("EP",))
            else:
                out.add(U)
        return out

    # -- calls ------------------------------------------------------------------------------

    def call(
        self,
        funcs: Iterable[Value],
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
        potential: bool,
        *,
        detail: str = "",
    ) -> set[Value]:
        self._depth += 1
        try:
            if self._depth > _MAX_EVAL_DEPTH:
                self.escape_args(args, kwargs, line)
                return {U}
            return self._call(funcs, args, kwargs, line, potential, detail)
        finally:
            self._depth -= 1

    def _call(
        self,
        funcs: Iterable[Value],
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
        potential: bool,
        detail: str = "",
    ) -> set[Value]:
        out: set[Value] = set()
        for func in list(funcs):
            kind = func[0]
            if kind in ("F", "SF"):
                out |= self.call_function(func[1], args, kwargs, line, False, potential, detail)
            elif kind in ("BM", "CM"):
                out |= self.call_function(func[1], args, kwargs, line, True, potential, detail)
            elif kind == "CB":
                positional = self.param_info(func[1])[0]
                if positional:
                    self.add(("l", func[1], positional[0]), {("C", func[2])})
                out |= self.call_function(func[1], args, kwargs, line, True, potential, detail)
            elif kind == "C":
                out |= self.instantiate(func[1], args, kwargs, line, potential, detail)
            elif kind == "I":
                if func[1] in self._calling:
                    continue
                self._calling.add(func[1])
                try:
                    found = self.lookup_method(func[1], "__call__")
                    if found:
                        out |= self.call(found, args, kwargs, line, potential, detail=detail)
                    else:
                        self.escape_args(args, kwargs, line)
                        out.add(U)
                finally:
                    self._calling.discard(func[1])
            elif kind == "X":
                out |= self.call_external(func[1], args, kwargs, line, potential)
            elif kind == "PI":
                for index, attr in enumerate(("fget", "fset", "fdel")):
                    if index < len(args) and not args[index][1]:
                        self.add(("a", func[1], attr), args[index][0])
                for name, values in kwargs:
                    if name in ("fget", "fset", "fdel"):
                        self.add(("a", func[1], name), values)
                out.add(NONE)
            elif kind == "XB":
                # A method inherited from a base outside the artifact; object/type/Exception
                # methods call nothing of ours.
                if self.opaque_base(func[1]):
                    self.escape_args(args, kwargs, line)
                out.add(U)
            elif kind == "U":
                self.escape_args(args, kwargs, line)
                out.add(U)
            elif kind == "KM":
                out |= self.container_method(func[1], func[2], args, kwargs, line)
            elif kind == "D":
                out |= {
                    _dyn(v, func[2])
                    for v in self.call((func[1],), args, kwargs, line, True, detail=func[2])
                }
            elif kind == "DW":
                self.escape_args(args, kwargs, line)
                self.escape(self.get(func[1]), line, kind="dynamic", detail=_STORED_BY_NAME)
                out.add(U)
            elif kind == "DA":
                # Any attribute of the target may be what is called: all of its callables
                # become potential callees (with any arguments), as when it escapes.
                self.escape_args(args, kwargs, line)
                self.escape((func,), line, kind="dynamic", detail=func[2])
                out.add(U)
            elif kind == "RS":
                for values, _ in args[:1]:
                    out |= {("R", v[1]) for v in values if v[0] == "F"}
            elif kind == "ID":
                if args:
                    out |= args[0][0]
            elif kind == "EPL":
                self.note_site(
                    self.cur, line, "entry-points", "loads a plugin through an entry point"
                )
                out.add(U)
            elif kind == "EP":
                out.add(("EP",))
            elif kind == "K":
                out |= self.get(("e", func[1]))
            elif kind == "AG":
                for values, _ in args[:1]:
                    for name in func[1]:
                        out |= self.attr_load(values, name)
            elif kind == "MC":
                for values, _ in args[:1]:
                    for name in func[1]:
                        out |= self.call(self.attr_load(values, name), [], [], line, potential)
            elif kind == "SMM":
                if func[1] in ("get", "pop", "setdefault"):
                    out |= self.sys_modules(args[0][0] if args else {U})
                    out.add(NONE)
                elif func[1] in ("values", "items"):
                    out.add(("K", ("sysmodules",)))
                    self.add(("e", ("sysmodules",)), self.any_module())
            elif kind == "GLM":
                out |= self.globals_method(func[1], func[2], args, line)
        return out

    def call_method(
        self, inst: Value, name: str, args: list[tuple[set[Value] | frozenset[Value], bool]]
    ) -> set[Value]:
        found = self.lookup_method(inst[1], name)
        if not found:
            return set()
        return self.call(found, args, [], self.cur_line, False)

    def call_function(
        self,
        fid: int,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
        bound: bool,
        potential: bool,
        detail: str = "",
    ) -> set[Value] | frozenset[Value]:
        if not self.passive:
            key = _callable_key(args, kwargs)
            if key:
                fid = self.clone(fid, key)
        self.reach(fid, line, "call", potential, detail)
        if self.passive:
            return self.loc.get(("r", fid), _EMPTY)
        self.bind(fid, args, kwargs, bound)
        rec = self.scopes[fid][1]
        if rec[FLAGS] & FLAG_GENERATOR:
            return {("K", ("gen", fid))}
        return self.get(("r", fid))

    def bind(
        self,
        fid: int,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        bound: bool,
    ) -> None:
        positional, vararg, kwarg, kwonly = self.param_info(fid)
        i = 1 if bound and positional else 0
        supplied: set[str] = set()
        everything = False
        for values, starred in args:
            if not values:
                if starred:
                    everything = True  # however many it holds, defaults may be used
                else:
                    if i < len(positional):
                        supplied.add(positional[i])  # passed: its default is not used
                    i += 1
                continue
            if starred:
                everything = True
                for name in positional[i:]:
                    self.add(("l", fid, name), values)
                if vararg:
                    self.add(("e", ("va", fid)), values)
                continue
            if i < len(positional):
                supplied.add(positional[i])
                self.add(("l", fid, positional[i]), values)
            elif vararg:
                self.add(("e", ("va", fid)), values)
            i += 1
        for kname, values in kwargs:
            if kname is not None:
                supplied.add(kname)
            else:
                everything = True
            if not values:
                continue
            if kname is None:
                everything = True
                for pname in positional[1 if bound else 0 :]:
                    self.add(("l", fid, pname), values)
                for pname in kwonly:
                    self.add(("l", fid, pname), values)
                if kwarg:
                    self.add(("e", ("kw", fid)), values)
            elif kname in kwonly or kname in positional:
                self.add(("l", fid, kname), values)
            elif kwarg:
                self.add(("e", ("kw", fid)), values)
        source = self.origin.get(fid, fid)
        for name in (*positional, *kwonly):
            if everything or name not in supplied:
                defaults = self.get(("dflt", source, name))
                if defaults:
                    self.add(("l", fid, name), defaults)

    def _defaults(self, fid: int) -> None:
        """Evaluate default values where the function is defined; they flow in per call."""
        rec = self.scopes[fid][1]
        for name, default, _ in rec[PARAMS]:
            if default is not None:
                values = self.ev(default)
                if values:
                    self.add(("dflt", fid, name), values)
                    if fid in self.unknown_called:
                        self.add(("l", fid, name), values)

    def instantiate(
        self,
        cls: int,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
        potential: bool,
        detail: str = "",
    ) -> set[Value]:
        self.reach(("new", cls), line, "instantiate", potential, detail)
        if self.passive:
            return {("I", cls)}
        if cls not in self.instantiated:
            self.instantiated.add(cls)
            self._setup_instance(cls)
        out: set[Value] = {("I", cls)}
        saved = self.cur_node
        self.cur_node = ("new", cls)
        try:
            inits = self.lookup_method(cls, "__init__")
            if inits:
                self.call(inits, args, kwargs, line, False)
            elif self.opaque_base(cls) or args or kwargs:
                # Arguments to a class without an __init__ of its own in the artifact go to
                # code the analysis does not read: an outside base's, or one generated
                # (dataclasses, attrs) that stores them in attributes.
                self.escape_args(args, kwargs, line)
            for hook in _POST_INIT:
                # The __init__ that dataclasses (attrs) generate ends by calling this hook;
                # it is called whether or not the class has its own __init__.
                posts = self.lookup_method(cls, hook)
                if posts:
                    self.call(posts, [], [], line, False)
            news, found = self._lookup(cls, "__new__")
            if found:
                for value in tuple(news):
                    if value[0] in ("F", "SF"):
                        out |= {
                            r
                            for r in self.call_function(
                                value[1], [({("C", cls)}, False), *args], kwargs, line, False, False
                            )
                            if r[0] != "U"
                        }
        finally:
            self.cur_node = saved
        return out

    def _setup_instance(self, cls: int) -> None:
        order, _ = self.mro(cls)
        for klass in order:
            if klass != cls:
                self.add_edge(
                    ("new", cls), ("new", klass), self.scopes[klass][1][LINE], "base", False
                )
            for fids in self.class_methods(klass).values():
                for fid in fids:
                    positional, _, _, _ = self.param_info(fid)
                    if not positional or not self.is_method(fid):
                        continue
                    value = ("C", cls) if self.is_classmethod(fid) else ("I", cls)
                    self.add(("l", fid, positional[0]), (value,))
                    for copy in self.clones_of.get(fid, ()):
                        self.add(("l", copy, positional[0]), (value,))
        if self.opaque_base(cls):
            for klass in order:
                for name, fids in self.class_methods(klass).items():
                    if name in _CONSTRUCTION:
                        continue
                    for fid in fids:
                        self.reach_unknown(
                            fid, self.scopes[fid][1][LINE], "external-base", ("new", cls)
                        )

    def _class_created(self, cls: int) -> None:
        """Hooks Python runs when a class statement completes: metaclass, __init_subclass__,
        __set_name__ (the class body has just been evaluated)."""
        namespace = {("K", ("ns", cls))}
        bases = self.get(("b", cls))
        metas: set[Value] = set(self.get(("mc", cls)))
        for base in tuple(bases):
            if base[0] == "C":
                metas |= self.get(("mc", base[1]))
        if metas:
            self.add(("mc", cls), metas)
        saved = self.cur_node
        line = self.scopes[cls][1][LINE]
        for meta in metas:
            if meta[0] != "C":
                continue
            news, found = self._lookup(meta[1], "__new__")
            if found:
                for value in tuple(news):
                    if value[0] in ("F", "SF"):
                        self.call_function(
                            value[1],
                            [
                                ({meta}, False),
                                ({U}, False),
                                ({("K", ("mro", cls))}, False),
                                (namespace, False),
                            ],
                            [],
                            line,
                            False,
                            False,
                        )
            inits, found = self._lookup(meta[1], "__init__")
            if found:
                for value in tuple(inits):
                    if value[0] == "F":
                        self.call_function(
                            value[1],
                            [({("C", cls)}, False), ({U}, False), ({U}, False), (namespace, False)],
                            [],
                            line,
                            False,
                            False,
                        )
        order, _ = self.mro(cls)
        for klass in order[1:]:
            values = self.get(("a", klass, "__init_subclass__"))
            for value in tuple(values):
                if value[0] in ("F", "CM"):
                    self.add(
                        (
                            "l",
                            value[1],
                            self.param_info(value[1])[0][0]
                            if self.param_info(value[1])[0]
                            else "cls",
                        ),
                        {("C", cls)},
                    )
                    self.call_function(value[1], [], [], line, True, False)
            if values:
                break
        for item in tuple(self.get(("e", ("ns", cls)))):
            if item[0] == "I":
                setters = self.lookup_method(item[1], "__set_name__")
                if setters:
                    self.call(setters, [({("C", cls)}, False), ({U}, False)], [], line, False)
        self.cur_node = saved

    # -- definitions and imports ----------------------------------------------------------------

    def define(self, idx: int, target: Any) -> None:
        fid = self.fid_for(self.cur, idx)
        rec = self.scopes[fid][1]
        line = self.cur_line
        if rec[KIND] == "F":
            self._defaults(fid)
            values: set[Value] | frozenset[Value] = {("F", fid)}
        else:
            bases: set[Value] = set()
            for position, expr in enumerate(rec[BASES]):
                found = self.ev(expr)
                for base in found:
                    rank = self._base_rank.get((fid, base))
                    if rank is None or position < rank:
                        self._base_rank[(fid, base)] = position
                bases |= found
            if bases:
                self.add(("b", fid), bases)
            else:
                self.add(("b", fid), {("X", "builtins.object")})
            for name, expr in rec[KEYWORDS]:
                kw = self.ev(expr)
                if name == "metaclass":
                    self.add(("mc", fid), kw)
            self.reach(fid, line, "define", False)
            values = {("C", fid)}
        for deco in reversed(rec[DECOS]):
            values = self.decorate(self.ev(deco), values, line)
        self.store(target, values)

    def decorate(
        self, decorators: Iterable[Value], values: set[Value] | frozenset[Value], line: int
    ) -> set[Value]:
        out: set[Value] = set()
        for deco in decorators:
            if deco == ("X", "builtins.staticmethod"):
                out |= {("SF", v[1]) if v[0] == "F" else v for v in values}
            elif deco == ("X", "builtins.classmethod"):
                out |= {("CM", v[1]) if v[0] == "F" else v for v in values}
            elif deco in (("X", "builtins.property"), ("X", "functools.cached_property")):
                out |= {("R", v[1]) if v[0] == "F" else v for v in values}
            else:
                self.registered.update(v[1] for v in values if v[0] in ("F", "C"))
                out |= self.call((deco,), [(values, False)], [], line, False)
                if deco[0] == "C" and self._property_class(deco[1]):
                    # A property subclass as decorator (werkzeug's cached_property): its
                    # shared __get__ calls every fget; the direct getter edge keeps this
                    # attribute's own getter on the shortest path.
                    out |= {("R", v[1]) for v in values if v[0] == "F"}
        return out

    def _property_class(self, cls: int) -> bool:
        _, external = self.mro(cls)
        return any(
            b in (("X", "builtins.property"), ("X", "functools.cached_property")) for b in external
        )

    def resolve_relative(self, module: str | None, level: int) -> str | None:
        if level == 0:
            return module
        mod = self.module
        package = mod.package
        for _ in range(level - 1):
            if not package:
                return None
            package = package.rpartition(".")[0]
        if not package:
            return module if module else None
        return f"{package}.{module}" if module else package

    def import_module(
        self, name: str, potential: bool = False, kind: str = "import", detail: str = ""
    ) -> bool:
        """Import ``name`` and its parent packages from the current scope."""
        parts = name.split(".")
        ok = True
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            mod = self.load_module(prefix)
            if mod is None:
                if prefix.partition(".")[0] not in _STDLIB:
                    self.absent_imports.setdefault(prefix, (self.cur_node, self.cur_line))
                    if not self.passive and self.cur_node not in ("root",):
                        self.reach(("absent", prefix), self.cur_line, "import", potential, detail)
                ok = False
                break
            self.reach(mod.base, self.cur_line, kind, potential, detail)
        return ok

    def module_value(self, name: str) -> Value:
        return ("M", name) if self.artifact.find_module(name) is not None else ("X", name)

    def do_import(self, module: str, target: Any, full: bool) -> None:
        self.import_module(module)
        self.store(target, {self.module_value(module if full else module.partition(".")[0])})

    def do_from(self, module: str | None, level: int, names: tuple[Any, ...]) -> None:
        base = self.resolve_relative(module, level)
        if base is None:
            return
        present = self.import_module(base) if (module or level) else False
        base_mod = self.mods.get(base)
        for name, ref in names:
            if name == "*":
                if base_mod is not None:
                    self.star_import(base)
                continue
            values: set[Value] = set()
            sub = f"{base}.{name}"
            if self.artifact.find_module(sub) is not None:
                self.import_module(sub)
                values.add(("M", sub))
            if present and base_mod is not None:
                values |= self.module_attr(base, name)
            elif not values:
                values.add(("X", sub))
                if base.partition(".")[0] not in _STDLIB and not present:
                    values.add(U)
            self.store(ref, values)

    def star_names(self, modname: str, depth: int = 0) -> tuple[str, ...]:
        cached = self._star_cache.get(modname)
        if cached is not None:
            return cached
        mod = self.load_module(modname)
        if mod is None or depth > 20:
            return ()
        if mod.ir[2] is not None:
            names = tuple(mod.ir[2])
        else:
            found = {n for n in mod.global_names if not n.startswith("_")}
            for rec in mod.ir[1][:1]:
                for fact in rec[FACTS]:
                    if fact[0] == "f" and any(n == "*" for n, _ in fact[3]):
                        saved = self.cur_mod
                        self.cur_mod = mod
                        try:
                            other = self.resolve_relative(fact[1], fact[2])
                        finally:
                            self.cur_mod = saved
                        if other:
                            found |= set(self.star_names(other, depth + 1))
            names = tuple(sorted(found))
        self._star_cache[modname] = names
        return names

    def star_import(self, base: str) -> None:
        mod = self.module
        names = self.star_names(base)
        self._star_globals.setdefault(mod.name, set()).update(names)
        for name in names:
            values = self.module_attr(base, name)
            if values:
                self.add(("g", mod.name, name), values)

    def enter(self, values: Iterable[Value], line: int) -> None:
        """Values an entry point designates: called by the runtime with any arguments."""
        for value in list(values):
            kind = value[0]
            if kind == "F" and self._kind_of(value[1]) == 1:
                # A method named through its class (MODULE:Class.method): it runs on some
                # instance, so one exists (built with arguments the analysis cannot know).
                _, rec = self.scopes[value[1]]
                owner = self.fid_for(value[1], rec[PARENT])
                self.instantiate(owner, [({U}, True)], [(None, {U})], line, False)
                self.reach_unknown(value[1], line, "entry", potential=False)
            elif kind in ("F", "SF", "BM", "CM", "CB"):
                self.reach_unknown(value[1], line, "entry", potential=False)
            elif kind == "I":
                calls = self.lookup_method(value[1], "__call__")
                if calls:
                    self.enter(calls, line)
                else:
                    self.note_site(
                        self.cur, line, "entry", "the entry point object is not callable code"
                    )
            elif kind == "C":
                self.instantiate(value[1], [({U}, True)], [(None, {U})], line, False)
            elif kind == "D":
                self.enter((value[1],), line)
            elif kind == "R":
                self.reach_unknown(value[1], line, "entry", potential=False)
            elif kind not in ("M", "S", "P", "0"):
                self.note_site(
                    self.cur, line, "entry", "the entry point is not code the analysis can see"
                )

    def run_main(self, modname: str, line: int) -> None:
        """Run the ``if __name__ == "__main__":`` blocks of ``modname`` (a script entry)."""
        mod = self.mods.get(modname)
        if mod is None:
            return
        for idx, rec in enumerate(mod.ir[1]):
            if rec[KIND] == "N":
                self.reach(mod.base + idx, line, "run-main", False)

    # -- escape and by-name dispatch -------------------------------------------------------------

    def escape_args(
        self,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
    ) -> None:
        for values, _ in args:
            self.escape(values, line)
        for _, values in kwargs:
            self.escape(values, line)

    def escape(
        self, values: Iterable[Value], line: int, kind: str = "escape", detail: str = ""
    ) -> None:
        if self.passive:
            return
        how = kind
        done = self._escaped_values
        for value in list(values):
            if value in done:
                continue
            if value[0] != "DA":  # each read with a computed name adds its own edges
                done.add(value)
            kind = value[0]
            if kind in ("F", "SF", "BM", "CM", "CB", "R"):
                self.reach_unknown(value[1], line, how, detail=detail)
            elif kind == "C":
                self.escape_class(value[1], line, how, detail)
            elif kind == "I":
                self.escape_instance(value[1], line, how, detail)
            elif kind in ("K", "KM"):
                site = value[1]
                if site not in self.escaped_sites:
                    self.escaped_sites.add(site)
                    self.escape(self.get_silent(("e", site)), line)
            elif kind == "M":
                self.escape_module(value[1], line, how, detail)
            elif kind == "D":
                self.escape((value[1],), line, how, detail or value[2])
            elif kind == "DW":
                self.escape(self.get_silent(value[1]), line, how, detail or _STORED_BY_NAME)
            elif kind == "DA":
                target = value[1]
                feature = detail or value[2]
                if target[0] == "I":
                    self.escape_instance(target[1], line, how, feature)
                    self.escape_attributes(target[1], line)
                elif target[0] == "C":
                    self.escape_class(target[1], line, how, feature)
                    self.escape_attributes(target[1], line)
                elif target[0] == "M":
                    self.escape_module(target[1], line, how, feature)
                elif target[0] == "LC":
                    self.escape(self.dynamic_members(target), line, how, feature)
            elif kind == "SU":
                self.escape((value[2],), line)
            elif kind == "VA":
                self.escape((value[1],), line)
            elif kind == "GL":
                self.escape_module(value[1], line)

    def escape_instance(self, cls: int, line: int, how: str = "escape", detail: str = "") -> None:
        node = ("esc", cls)
        self.reach(node, line, how, True, detail)
        if cls in self.escaped:
            return
        self.escaped.add(cls)
        if cls not in self.instantiated:
            self.instantiated.add(cls)
            self._setup_instance(cls)
        order, _ = self.mro(cls)
        for klass in order:
            for name, fids in self.class_methods(klass).items():
                if name in _CONSTRUCTION:
                    continue  # an existing object is not constructed again
                for fid in fids:
                    self.reach_unknown(fid, line, "escape", node)
        self._connect_hubs(cls)

    def _connect_hubs(self, cls: int) -> None:
        table = self.method_table(cls)
        for name in table:
            self._escaped_by_name.setdefault(name, set()).add(cls)
        names = [n for n in table if n in self.hubs]
        if "*" in self.hubs:
            names.append("*")
        for name in names:
            self._connect_hub_class(name, cls)

    def escape_class(self, cls: int, line: int, how: str = "escape", detail: str = "") -> None:
        self.reach(("new", cls), line, how, True, detail)
        self.escape_instance(cls, line, how, detail)

    def escape_attributes(self, cls: int, line: int) -> None:
        """Attributes of ``cls`` and its instances are read with a computed name: every
        callable among them (now or later) may be called, with any arguments (the edge
        to ``("esc", cls)`` names the feature)."""
        node = ("esc", cls)
        order, _ = self.mro(cls)
        for klass in order:
            if klass in self._dynamic_owners:
                continue
            self._dynamic_owners[klass] = node
            values: set[Value] = set()
            for name in tuple(self._attr_names.get(klass, ())):
                values |= self.get_silent(("a", klass, name))
            self._escape_attribute_values(klass, values, line)

    def _escape_attribute_values(
        self, klass: int, values: Iterable[Value], line: int | None = None
    ) -> None:
        node = self._dynamic_owners[klass]
        callables = [v for v in values if v[0] in _DYNAMIC_CALLABLE]
        calls: set[Value] = set()
        for value in values:
            if value[0] == "I":
                calls |= self.lookup_method(value[1], "__call__")
        if not callables and not calls:
            return
        saved = self.cur_node
        self.cur_node = node
        try:
            self.escape([*callables, *calls], self.cur_line if line is None else line)
        finally:
            self.cur_node = saved

    def escape_module(self, modname: str, line: int, how: str = "escape", detail: str = "") -> None:
        node = ("escmod", modname)
        self.reach(node, line, how, True, detail)
        if modname in self.escaped_mods:
            return
        self.escaped_mods.add(modname)
        mod = self.mods.get(modname)
        if mod is None:
            return
        values: set[Value] = set()
        for name in mod.global_names | self._star_globals.get(modname, set()):
            values |= self.get_silent(("g", modname, name))
        self._escape_module_values(modname, values, line)

    def _escape_module_values(self, modname: str, values: Iterable[Value], line: int) -> None:
        """Values of an escaped module's globals escape too (also when bound later)."""
        saved = self.cur_node
        self.cur_node = ("escmod", modname)
        try:
            self.escape([v for v in values if v[0] in ("F", "C", "I", "K")], line)
        finally:
            self.cur_node = saved

    def hub_access(self, name: str) -> None:
        """An attribute ``name`` read on an object of unresolved type."""
        if self.passive:
            return
        node = ("hub", name)
        self.reach(node, self.cur_line, "by-name", True)
        sources = self.hubs.get(name)
        if sources is not None:
            sources.add(self.cur)
            return
        self.hubs[name] = {self.cur}
        classes = self.escaped if name == "*" else self._escaped_by_name.get(name, ())
        for cls in list(classes):
            self._connect_hub_class(name, cls)

    def _connect_hub_class(self, name: str, cls: int) -> None:
        node = ("hub", name)
        table = self.method_table(cls)
        if name == "*":
            targets = [fid for n, fids in table.items() if n not in _CONSTRUCTION for fid in fids]
        else:
            targets = table.get(name, [])
        for fid in targets:
            self.reach_unknown(fid, self.scopes[fid][1][LINE], "by-name", node)

    def method_table(self, cls: int) -> dict[str, list[int]]:
        """Method name -> the functions an instance of ``cls`` resolves it to (first definer)."""
        found = self._method_tables.get(cls)
        if found is None:
            found = {}
            for klass in self.mro(cls)[0]:
                for name, fids in self.class_methods(klass).items():
                    found.setdefault(name, fids)
            self._method_tables[cls] = found
        return found

    # -- containers ------------------------------------------------------------------------------

    def container_method(
        self,
        site: Any,
        name: str,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
    ) -> set[Value]:
        out = self._container_method(site, name, args, kwargs, line)
        if name not in _NEVER_NONE_METHODS or (name in ("get", "setdefault") and len(args) < 2):
            out.add(NONE)  # list.append(...) is None, dict.get(missing) is None
        return out

    def _container_method(
        self,
        site: Any,
        name: str,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
    ) -> set[Value]:
        key = ("e", site)
        if name in (
            "append",
            "add",
            "appendleft",
            "put",
            "put_nowait",
            "push",
            "discard",
            "remove",
        ):
            if args and name not in ("discard", "remove"):
                self.add(key, args[-1][0])
            return set()
        if name == "insert":
            if len(args) >= 2:
                self.add(key, args[1][0])
            return set()
        if name in ("extend", "extendleft", "update", "union", "__ior__"):
            for values, _ in args:
                self.add(key, self.iterate(values) | self.dict_values(values))
            for _, values in kwargs:
                self.add(key, values)
            return {("K", site)} if name == "union" else set()
        if name == "setdefault":
            if len(args) >= 2:
                self.add(key, args[1][0])
            return set(self.get(key))
        if name in ("__exit__", "close", "throw"):
            return set()
        if name in (
            "get",
            "pop",
            "popleft",
            "popitem",
            "get_nowait",
            "__getitem__",
            "__next__",
            "__enter__",
            "send",
        ):
            out = set(self.get(key))
            if args and name in ("get", "pop", "__getitem__"):
                out = set(self.dispatch(out, args[0][0]))
            if len(args) >= 2:
                out |= args[1][0]
            return out
        if name in ("copy", "values", "items", "keys", "__iter__", "__reversed__"):
            return {("K", site)}
        if name in ("sort",):
            for kname, values in kwargs:
                if kname == "key":
                    self.call(values, [(self.get(key), False)], [], line, False)
            return set()
        if name in ("__setitem__",):
            if len(args) >= 2:
                self.add(key, args[1][0])
            return set()
        if name in (
            "join",
            "format",
            "count",
            "index",
            "clear",
            "reverse",
            "__len__",
            "__contains__",
        ):
            return set()
        self.escape_args(args, kwargs, line)
        return {U}

    def globals_method(
        self,
        base: Value,
        name: str,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        line: int,
    ) -> set[Value]:
        out = self._globals_method(base, name, args, line)
        out.add(NONE)
        return out

    def _globals_method(
        self,
        base: Value,
        name: str,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        line: int,
    ) -> set[Value]:
        target = base
        if name == "copy":
            return {base}
        if name in ("get", "pop", "setdefault", "__getitem__"):
            index = args[0][0] if args else {U}
            return self.subscript((target,), index)
        if name in ("update", "__setitem__"):
            values: set[Value] = set()
            for vals, _ in args:
                values |= self.dict_values(vals) | vals
            self.sub_store((target,), {U}, values)
            return set()
        if name in ("values", "items"):
            site = ("glob", repr(target))
            self.add(("e", site), self.subscript((target,), {U}))
            return {("K", site)}
        return set()

    # -- the standard library and other code outside the artifact -------------------------------

    def call_external(
        self,
        qual: str,
        args: list[tuple[set[Value] | frozenset[Value], bool]],
        kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
        line: int,
        potential: bool,
    ) -> set[Value]:
        from pipewarden.reach._models import MODELS

        model = MODELS.get(qual)
        if model is not None:
            if qual in _STRING_MODELS:
                keep = 2 if qual == "builtins.setattr" else -1  # the value set keeps None
                args = [
                    (v if i == keep else _without_none(v), st) for i, (v, st) in enumerate(args)
                ]
                kwargs = [(k, v if k == "value" else _without_none(v)) for k, v in kwargs]
            result: set[Value] = model(self, args, kwargs, line)
            if qual not in _NEVER_NONE_MODELS:
                result.add(NONE)  # a default, a forwarded value, a miss: None is possible
            return result
        top = qual.partition(".")[0]
        if qual.endswith(".register") and top in _ABC_MODULES:
            # ABCMeta.register(cls): records a virtual subclass, calls nothing.
            return set(args[0][0]) if args else set()
        if top not in _STDLIB and top != "builtins":
            self.reach(("ext", qual), line, "call", potential)
        dunders = _DUNDER_FOR_BUILTIN.get(qual)
        if dunders is not None:
            for values, _ in args:
                for value in tuple(values):
                    if value[0] == "I":
                        for dunder in dunders:
                            self.call_method(value, dunder, [])
                    elif value[0] == "K" and qual in (
                        "builtins.sorted",
                        "builtins.min",
                        "builtins.max",
                        "builtins.sum",
                    ):
                        for item in tuple(self.get(("e", value[1]))):
                            if item[0] == "I":
                                for dunder in dunders:
                                    self.call_method(item, dunder, [])
            for kname, values in kwargs:
                if kname == "key":
                    items: set[Value] = set()
                    for values2, _ in args:
                        items |= self.iterate(values2)
                    self.call(values, [(items, False)], [], line, False)
            if qual in ("builtins.sorted", "builtins.min", "builtins.max"):
                items2: set[Value] = set()
                for values3, _ in args:
                    items2 |= self.iterate(values3)
                return self.fresh_container(items2, line) if qual == "builtins.sorted" else items2
            return {NONE} if qual == "builtins.print" else set()
        self.escape_args(args, kwargs, line)
        stdlib = top in _STDLIB or top == "builtins" or top == "?"
        obj = _OPAQUE if stdlib or qual.count(".") >= _MAX_X_DEPTH else ("X", qual)
        if top in _FRESH_MODULES or top == "builtins":
            return {obj}
        return {obj, U}

    def fresh_container(self, items: Iterable[Value], line: int, tag: str = "") -> set[Value]:
        site = ("call", self.cur, line, tag)
        self.add(("e", site), items)
        return {("K", site)}


_ENTRY_NAMES: Final[dict[str, Value]] = {
    "__pw_unknown__": U,
    "__pw_entry__": ("X", "pipewarden.entry"),
    "__pw_main__": ("X", "pipewarden.run_main"),
    "__pw_escape__": ("X", "pipewarden.escape"),
    "__pw_blind__": ("X", "pipewarden.blind"),
}


_CONTAINER_METHODS: Final = frozenset(
    {
        "append", "add", "appendleft", "put", "put_nowait", "push", "discard", "remove",
        "insert", "extend", "extendleft", "update", "union", "setdefault", "get", "pop",
        "popleft", "popitem", "get_nowait", "copy", "values", "items", "keys", "sort",
        "join", "format", "count", "index", "clear", "reverse", "intersection",
        "difference", "symmetric_difference", "issubset", "issuperset", "fromkeys",
        "__getitem__", "__setitem__", "__iter__", "__next__", "__enter__", "__exit__",
        "__len__", "__contains__", "__reversed__", "send", "throw", "close",
    }
)  # fmt: skip
_GENERIC_PREFIXES: Final = ("typing.", "typing_extensions.", "collections.abc.", "builtins.type")
_ABC_MODULES: Final = frozenset(
    {"abc", "collections", "numbers", "typing", "io", "os", "typing_extensions"}
)
_CONSTRUCTION: Final = frozenset({"__init__", "__new__", "__init_subclass__", "__class_getitem__"})
_POST_INIT: Final = ("__post_init__", "__attrs_post_init__")
_CALLABLE: Final = frozenset({"F", "BM", "SF", "CM", "CB", "C", "I", "R"})
_DYNAMIC_CALLABLE: Final = frozenset({"F", "BM", "SF", "CM", "CB", "C", "R", "D"})
_STORED_BY_NAME: Final = "an attribute stored under a computed name (setattr)"
_REGISTRY: Final = "a registry lookup keyed by run-time data"
_STRING_BUILDERS: Final = frozenset({"__add__", "__iadd__", "__mod__", "__imod__"})
_MAX_CONCATENATIONS: Final = 8
_MAX_PREFIX_MODULES: Final = 200
_REGISTERED: Final = frozenset({"F", "BM", "SF", "CM", "CB", "C"})


def _callable_key(
    args: list[tuple[set[Value] | frozenset[Value], bool]],
    kwargs: list[tuple[str | None, set[Value] | frozenset[Value]]],
) -> frozenset[Value]:
    found: list[Value] = []
    for values, _ in args:
        found.extend(v for v in values if v[0] in _CLONE_KINDS)
    for _, values in kwargs:
        found.extend(v for v in values if v[0] in _CLONE_KINDS)
    if not found or len(found) > _MAX_CLONE_KEY:
        return frozenset()
    return frozenset(found)


_CLONE_KINDS: Final = frozenset({"F", "BM", "SF", "CM", "CB", "R", "C"})


_NEVER_NONE_METHODS: Final = frozenset(
    {
        "copy", "values", "items", "keys", "__iter__", "__reversed__", "union", "join",
        "format", "count", "index", "__len__", "__contains__", "get", "setdefault", "pop",
        "popleft", "popitem", "__getitem__", "__next__", "__enter__", "send",
    }
)  # fmt: skip
"""Container methods that give back an element (or a new object), never None themselves."""


def _without_none(values: Any) -> Any:
    """``values`` without None (where only names or keys matter)."""
    if NONE in values:
        return frozenset(v for v in values if v != NONE)
    return values


def _dyn(value: Value, feature: str) -> Value:
    """``value`` as obtained through the dynamic feature ``feature`` (calls through it are
    potential edges that name the feature)."""
    return value if value[0] == "D" else ("D", value, feature)


def _count(values: set[Value], tag: str) -> int:
    return sum(1 for v in values if v[0] == tag or (v[0] == "D" and v[1][0] == tag))


def _module_special(mod: Mod, name: str) -> set[Value] | None:
    if name == "__name__":
        return {("S", mod.name)}
    if name == "__package__":
        return {("S", mod.package)}
    if name in ("__file__", "__path__", "__spec__", "__loader__", "__doc__", "__builtins__"):
        return {U}
    return None


def is_stdlib(module: str) -> bool:
    """Whether ``module`` belongs to the standard library of this interpreter."""
    return module.partition(".")[0] in _STDLIB


ModelFn = Callable[..., set[Value]]
