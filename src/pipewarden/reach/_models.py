"""What the analysis knows about calls into the standard library.

Each model takes the solver, the positional arguments (value sets, with a
flag for ``*args``), the keyword arguments and the line, and returns the
values of the call. Models exist where they matter for soundness (dynamic
features: ``getattr``, ``importlib``, ``eval``...) or for precision (a
container, a decorator, a context manager that hands back its argument).
Everything else goes through the solver's default: the arguments escape and
the result is unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from pipewarden.reach._ir import KIND, PARENT

if TYPE_CHECKING:
    from pipewarden.reach._solver import Solver, Value

__all__ = ["MODELS"]

Args = list[tuple[set["Value"] | frozenset["Value"], bool]]
Kwargs = list[tuple[str | None, set["Value"] | frozenset["Value"]]]
Model = Callable[["Solver", Args, Kwargs, int], set["Value"]]

_U: Final = ("U",)


def _arg(args: Args, kwargs: Kwargs, index: int, name: str) -> set[Value] | frozenset[Value] | None:
    if index < len(args) and not args[index][1]:
        return args[index][0]
    for key, values in kwargs:
        if key == name:
            return values
    starred = [values for values, star in args if star]
    if starred:
        out: set[Value] = set()
        for values in starred:
            out |= values
        return out
    return None


def _strings(values: Iterable[Value] | None) -> list[str] | None:
    """The string constants in ``values``, or None when any value is not one."""
    if not values:
        return None
    out = []
    for value in tuple(values):
        if value[0] == "S":
            out.append(value[1])
        elif value[0] == "D" and value[1][0] == "S":
            out.append(value[1][1])
        else:
            return None
    return out


def _prefixes(values: Iterable[Value] | None) -> list[str] | None:
    if not values:
        return None
    out = []
    for value in tuple(values):
        if value[0] == "S" or (value[0] == "P" and value[1]):
            out.append(value[1])
        else:
            return None
    return out


# -- attributes -------------------------------------------------------------------------


def _getattr(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    objs = _arg(args, kwargs, 0, "object") or set()
    names = _arg(args, kwargs, 1, "name")
    default = _arg(args, kwargs, 2, "default") or set()
    strings = _strings(names)
    out: set[Value] = set(default)
    if not names:
        return out  # the name is not known yet (or is no string): nothing to read
    if strings is not None:
        for name in strings:
            out |= s.attr_load(objs, name)
        return out
    for obj in objs:
        out |= s.all_attributes(obj, "getattr with a computed name")
    return out


def _setattr(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    objs = _arg(args, kwargs, 0, "obj") or set()
    names = _arg(args, kwargs, 1, "name")
    values = _arg(args, kwargs, 2, "value") or set()
    if not names:
        return set()
    strings = _strings(names)
    if strings is not None:
        for name in strings:
            s.attr_store(objs, name, values)
            for obj in objs:
                if obj[0] == "M":
                    s.note_site(s.cur, line, "monkeypatch", f"setattr on module {obj[1]}")
        return set()
    for obj in objs:
        s.wild_store(obj, values)
        if obj[0] == "M":
            s.note_site(s.cur, line, "monkeypatch", f"setattr with a computed name on {obj[1]}")
    return set()


def _nothing(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return set()


def _type(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if len(args) == 1 and not kwargs:
        out: set[Value] = set()
        for value in tuple(args[0][0]):
            if value[0] == "I":
                out.add(("C", value[1]))
            elif value[0] == "C":
                out.add(("X", "builtins.type"))
            else:
                out.add(_U)
        return out
    return _make_class(s, args, kwargs, line)


def _make_class(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    """``type(name, bases, namespace)`` / ``ABCMeta(...)``: a class made at run time.

    When the namespace is another class's ``__dict__`` (``six.add_metaclass``
    rebuilding a class), the result is that class; otherwise its members escape.
    """
    if len(args) >= 3:
        rebuilt = {v[1] for v in args[2][0] if v[0] == "VA" and v[1][0] == "C"}
        if rebuilt:
            return rebuilt
    for values, _ in args[1:]:
        s.escape(s.iterate(values) | s.dict_values(values), line)
    return {_U}


def _super(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if len(args) >= 2:
        out: set[Value] = set()
        for cls in tuple(args[0][0]):
            if cls[0] != "C":
                continue
            for inst in args[1][0]:
                if inst[0] in ("I", "C"):
                    out.add(("SU", cls[1], inst))
        return out or {_U}
    fid = s.cur
    if fid < 0:
        return {_U}
    mod, rec = s.scopes[fid]
    method = fid
    # The zero-argument form uses the class of the function defined in a class body.
    while rec[KIND] == "F" and rec[PARENT] >= 0:
        parent = mod.ir[1][rec[PARENT]]
        if parent[KIND] == "C":
            owner = s.fid_for(method, rec[PARENT])
            positional, _, _, _ = s.param_info(method)
            if not positional:
                return {_U}
            selves = s.get(("l", method, positional[0]))
            return {("SU", owner, v) for v in selves if v[0] in ("I", "C")} or {_U}
        method = s.fid_for(method, rec[PARENT])
        rec = parent
    return {_U}


def _vars(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if args:
        return {("VA", v) for v in args[0][0]}
    return _locals(s, args, kwargs, line)


def _globals(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return {("GL", s.module.name)}


def _locals(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    rec = s.scopes[s.cur][1] if s.cur >= 0 else None
    if rec is not None and rec[KIND] == "F":
        return {("LC", s.cur)}
    return {("GL", s.module.name)}


def _dir(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return s.fresh_container({("P", "")}, line, "dir")


# -- imports and code ---------------------------------------------------------------------


def _import_names(
    s: Solver, names: set[Value] | frozenset[Value] | None, line: int, what: str
) -> set[Value]:
    if not names:
        return set()  # not known yet: evaluated again when the argument gets values
    strings = _strings(names)
    if strings is not None:
        out: set[Value] = set()
        for name in strings:
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                resolved = s.resolve_relative(name.lstrip(".") or None, level)
                if resolved is None:
                    continue
                name = resolved
            s.import_module(name)
            out.add(s.module_value(name))
        return out
    prefixes = _prefixes(names)
    if prefixes is not None:
        out = set()
        for text in prefixes:
            prefix = _absolute_prefix(s, text)
            if prefix is None:
                s.note_site(s.cur, line, "import", f"{what} of a computed name starting {text!r}")
                continue
            candidates = s.artifact.module_names(prefix)
            if not candidates and not _outside_code(s, prefix):
                # Only standard-library modules (or none) have such names: nothing of the
                # artifact runs, and an import error is no path to vulnerable code.
                out.add(("X", "?"))
                continue
            if not candidates or len(candidates) > 5000:
                s.note_site(s.cur, line, "import", f"{what} of a computed name starting {text!r}")
                continue
            feature = f"{what} of a computed name starting {text!r}"
            for name in candidates:
                s.import_module(name, potential=True, kind="dynamic-import", detail=feature)
                out.add(("D", ("M", name), feature))
        return out
    s.note_site(s.cur, line, "import", f"{what} of a computed module name")
    return {_U}


def _absolute_prefix(s: Solver, prefix: str) -> str | None:
    """A relative prefix (``".plugins."``) made absolute from the current package."""
    if not prefix.startswith("."):
        return prefix
    rest = prefix.lstrip(".")
    package = s.resolve_relative(None, len(prefix) - len(rest))
    return f"{package}.{rest}" if package else None


def _outside_code(s: Solver, prefix: str) -> bool:
    """Whether a module whose name starts with ``prefix`` may exist outside both the artifact
    and the standard library: a pinned package whose code is not in the artifact, or one
    the AWS Lambda runtime provides."""
    from pipewarden.reach._solver import _ENV_PACKAGES, is_stdlib

    top, dot, _ = prefix.partition(".")
    outside = {t for d in s.artifact.distributions if not d.installed for t in d.top_level}
    outside |= set(_ENV_PACKAGES)
    if dot:
        return not is_stdlib(top) and top in outside
    return any(name.startswith(top) for name in outside)


def _import_module(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    names = _arg(args, kwargs, 0, "name")
    package = _strings(_arg(args, kwargs, 1, "package"))
    strings = _strings(names)
    if strings is not None and package and any(n.startswith(".") for n in strings):
        names = {
            ("S", _relative(p + n) if n.startswith(".") else n) for n in strings for p in package
        }
    return _import_names(s, names, line, "importlib.import_module")


def _relative(text: str) -> str:
    """``pkg.sub..mod`` style joins from import_module(".x", "pkg"): resolve the dots."""
    head, sep, tail = text.partition("..")
    if not sep:
        return text.replace("..", ".")
    return f"{head}.{tail}" if tail else head


def _dunder_import(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    names = _arg(args, kwargs, 0, "name")
    fromlist = _arg(args, kwargs, 3, "fromlist")
    strings = _strings(names)
    out = _import_names(s, names, line, "__import__")
    if strings is not None:
        items = s.iterate(fromlist) if fromlist else set()
        subs = _strings(items)
        tops: set[Value] = set()
        for name in strings:
            if subs:
                for sub in subs:
                    if s.artifact.find_module(f"{name}.{sub}") is not None:
                        s.import_module(f"{name}.{sub}")
            if not fromlist:
                tops.add(s.module_value(name.partition(".")[0]))
        if tops:
            return tops
    return out


def _code(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    source = _arg(args, kwargs, 0, "source")
    if not source:
        return set()
    if _strings(source) is not None:
        return {_U}  # a constant: analysed in place when the module was read
    s.note_site(s.cur, line, "eval", "eval/exec/compile of computed code")
    for values, _ in args[1:]:
        s.escape(values, line)
    return {_U}


def _unbounded(kind: str, text: str) -> Model:
    def model(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
        s.note_site(s.cur, line, kind, text)
        s.escape_args(args, kwargs, line)
        return {_U}

    return model


def _run_module(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    names = _strings(_arg(args, kwargs, 0, "mod_name"))
    if names is None:
        s.note_site(s.cur, line, "import", "runpy.run_module of a computed name")
        return {_U}
    for name in names:
        if s.import_module(name):
            mod = s.mods.get(name)
            if mod is not None:
                for idx, rec in enumerate(mod.ir[1]):
                    if rec[KIND] == "N":
                        s.reach(mod.base + idx, line, "run-module", False)
    return {_U}


def _entry_points(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return {("EP",)}


# -- functions and decorators -------------------------------------------------------------


def _identity(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if args and not args[0][1]:
        return set(args[0][0])
    return {("ID",)}


def _first_or_decorator(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    """``@lru_cache`` and ``@lru_cache(maxsize=1)``: the function itself, or a decorator."""
    # A class too: a bare ``@dataclass`` returns the class it decorates.
    if args and not args[0][1] and any(v[0] in ("F", "BM", "SF", "CM", "C") for v in args[0][0]):
        return set(args[0][0])
    return {("ID",)}


def _wraps(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return {("ID",)}


def _update_wrapper(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return set(args[0][0]) if args else {_U}


def _partial(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if not args:
        return {_U}
    funcs = args[0][0]
    rest = args[1:]
    for func in tuple(funcs):
        if func[0] in ("F", "SF"):
            s.bind(func[1], rest, kwargs, False)
        elif func[0] in ("BM", "CM", "CB"):
            s.bind(func[1], rest, kwargs, True)
    return set(funcs)


def _property(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    out: set[Value] = set()
    for values, _ in args[:2]:
        out |= {("R", v[1]) for v in values if v[0] == "F"}
    for name, values in kwargs:
        if name in ("fget", "fset"):
            out |= {("R", v[1]) for v in values if v[0] == "F"}
    return out or {_U}


def _staticmethod(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return {("SF", v[1]) if v[0] == "F" else v for v in (args[0][0] if args else ())}


def _classmethod(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return {("CM", v[1]) if v[0] == "F" else v for v in (args[0][0] if args else ())}


def _cached_property(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return {("R", v[1]) if v[0] == "F" else v for v in (args[0][0] if args else ())}


def _reduce(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if len(args) < 2:
        return {_U}
    items = s.iterate(args[1][0])
    if len(args) > 2:
        items |= args[2][0]
    return s.call(args[0][0], [(items, False), (items, False)], [], line, False)


def _cast(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return set(args[1][0]) if len(args) > 1 else {_U}


def _copy(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if not args:
        return {_U}
    for value in tuple(args[0][0]):
        if value[0] == "I":
            s.call_method(value, "__copy__", [])
            s.call_method(value, "__deepcopy__", [({_U}, False)])
    return set(args[0][0])


def _contextmanager(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    return set(args[0][0]) if args else {("ID",)}


def _thread(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    target = _arg(args, kwargs, 1, "target")
    thread_args = _arg(args, kwargs, 3, "args")
    thread_kwargs = _arg(args, kwargs, 4, "kwargs")
    if target:
        call_args: Args = [(s.iterate(thread_args), True)] if thread_args else []
        call_kwargs: Kwargs = [(None, s.dict_values(thread_kwargs))] if thread_kwargs else []
        s.call(target, call_args, call_kwargs, line, False)
    return {("X", "threading.Thread")}


def _escape_first_return(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    """``atexit.register(f)``: f runs later (a potential call); returns f."""
    s.escape_args(args, kwargs, line)
    return set(args[0][0]) if args else {_U}


def _passthrough(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    out: set[Value] = set()
    for values, _ in args:
        out |= values
    return out or {_U}


def _method_type(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if len(args) < 2:
        return {_U}
    out: set[Value] = set()
    for func in tuple(args[0][0]):
        if func[0] == "F":
            positional, _, _, _ = s.param_info(func[1])
            if positional:
                s.add(("l", func[1], positional[0]), args[1][0])
            out.add(("BM", func[1]))
        else:
            out.add(func)
    return out


# -- containers -----------------------------------------------------------------------------


def _container(kind: str) -> Model:
    def model(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
        items: set[Value] = set()
        start = 0
        if kind == "defaultdict" and args and not args[0][1]:
            start = 1
            items |= s.call(args[0][0], [], [], line, False)
        for values, _ in args[start:]:
            items |= s.iterate(values) | s.dict_values(values) - {_U}
        for _, values in kwargs:
            items |= values
        return s.fresh_container(items, line, kind)

    return model


def _namespace(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    site = ("call", s.cur, line, "namespace")
    for _, values in kwargs:
        s.add(("e", site), values)
    return {("K", site)}


def _iter_container(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    items: set[Value] = set()
    for values, _ in args:
        items |= s.iterate(values)
    return s.fresh_container(items, line, "iter")


def _dict(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    items: set[Value] = set()
    for values, _ in args:
        items |= s.dict_values(values) | s.iterate(values)
    for _, values in kwargs:
        items |= values
    return s.fresh_container(items, line, "dict")


def _next(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    out: set[Value] = set()
    if args:
        out |= s.iterate(args[0][0])
    if len(args) > 1:
        out |= args[1][0]
    return out


def _map(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if not args:
        return {_U}
    call_args: Args = [(s.iterate(values), False) for values, _ in args[1:]]
    results = s.call(args[0][0], call_args, [], line, False)
    return s.fresh_container(results, line, "map")


def _filter(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if len(args) < 2:
        return {_U}
    items = s.iterate(args[1][0])
    s.call(args[0][0], [(items, False)], [], line, False)
    return s.fresh_container(items, line, "filter")


def _weakref(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    if len(args) > 1:
        s.escape(args[1][0], line)
    site = ("call", s.cur, line, "weakref")
    if args:
        s.add(("e", site), args[0][0])
    return {("K", site)}


def _attrgetter(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    names = []
    for values, _ in args:
        strings = _strings(values)
        if strings is None:
            return {_U}
        names.extend(strings)
    return {("AG", tuple(names))}


def _methodcaller(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    names = _strings(args[0][0]) if args else None
    if not names:
        s.escape_args(args, kwargs, line)
        return {_U}
    s.escape_args(args[1:], kwargs, line)
    return {("MC", tuple(names))}


def _entry(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    for values, _ in args:
        s.enter(values, line)
    return set()


def _run_main(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    for name in _strings(args[0][0] if args else None) or ():
        s.run_main(name, line)
    return set()


def _blind(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    """An entry point whose code the analysis cannot see: anything may run."""
    for text in _strings(args[0][0] if args else None) or ("an entry point cannot be read",):
        s.note_site(s.cur, line, "entry", text)
    return set()


def _escape_all(s: Solver, args: Args, kwargs: Kwargs, line: int) -> set[Value]:
    s.escape_args(args, kwargs, line)
    return set()


MODELS: Final[dict[str, Model]] = {
    "pipewarden.entry": _entry,
    "pipewarden.run_main": _run_main,
    "pipewarden.escape": _escape_all,
    "pipewarden.blind": _blind,
    "builtins.getattr": _getattr,
    "builtins.setattr": _setattr,
    "builtins.delattr": _nothing,
    "builtins.hasattr": _nothing,
    "builtins.isinstance": _nothing,
    "builtins.issubclass": _nothing,
    "builtins.callable": _nothing,
    "builtins.id": _nothing,
    "builtins.type": _type,
    "abc.ABCMeta": _make_class,
    "builtins.super": _super,
    "builtins.vars": _vars,
    "builtins.globals": _globals,
    "builtins.locals": _locals,
    "builtins.dir": _dir,
    "builtins.__import__": _dunder_import,
    "builtins.eval": _code,
    "builtins.exec": _code,
    "builtins.compile": _code,
    "builtins.property": _property,
    "builtins.staticmethod": _staticmethod,
    "builtins.classmethod": _classmethod,
    "builtins.iter": _iter_container,
    "builtins.list": _iter_container,
    "builtins.tuple": _iter_container,
    "builtins.set": _iter_container,
    "builtins.frozenset": _iter_container,
    "builtins.reversed": _iter_container,
    "builtins.enumerate": _iter_container,
    "builtins.zip": _iter_container,
    "builtins.dict": _dict,
    "builtins.next": _next,
    "builtins.map": _map,
    "builtins.filter": _filter,
    "builtins.open": _nothing,
    "importlib.import_module": _import_module,
    "importlib.__import__": _dunder_import,
    "importlib.reload": _passthrough,
    "importlib.util.spec_from_file_location": _unbounded(
        "import", "loads a module from a file path"
    ),
    "importlib.machinery.SourceFileLoader": _unbounded("import", "loads a module from a file path"),
    "importlib.machinery.SourcelessFileLoader": _unbounded("import", "loads compiled code"),
    "imp.load_source": _unbounded("import", "imp.load_source"),
    "imp.load_module": _unbounded("import", "imp.load_module"),
    "imp.load_compiled": _unbounded("import", "imp.load_compiled"),
    "zipimport.zipimporter": _unbounded("import", "imports from a zip at run time"),
    "runpy.run_path": _unbounded("import", "runpy.run_path runs a file"),
    "runpy.run_module": _run_module,
    "pkgutil.get_loader": _unbounded("import", "pkgutil loader"),
    "marshal.loads": _unbounded("eval", "marshal.loads can produce code objects"),
    "types.FunctionType": _unbounded("eval", "builds a function from a code object"),
    "types.CodeType": _unbounded("eval", "builds a code object"),
    "importlib.metadata.entry_points": _entry_points,
    "importlib.metadata.EntryPoint": _entry_points,
    "importlib_metadata.entry_points": _entry_points,
    "importlib_metadata.EntryPoint": _entry_points,
    "pkg_resources.iter_entry_points": _entry_points,
    "functools.wraps": _wraps,
    "functools.update_wrapper": _update_wrapper,
    "functools.partial": _partial,
    "functools.partialmethod": _partial,
    "functools.lru_cache": _first_or_decorator,
    "functools.cache": _first_or_decorator,
    "functools.cached_property": _cached_property,
    "functools.total_ordering": _identity,
    "functools.singledispatch": _identity,
    "functools.singledispatchmethod": _identity,
    "functools.reduce": _reduce,
    "contextlib.contextmanager": _contextmanager,
    "contextlib.asynccontextmanager": _contextmanager,
    "contextlib.closing": _passthrough,
    "contextlib.nullcontext": _passthrough,
    "typing.cast": _cast,
    "typing.overload": _identity,
    "typing.final": _identity,
    "typing.no_type_check": _identity,
    "typing.runtime_checkable": _identity,
    "typing.dataclass_transform": _first_or_decorator,
    "typing_extensions.overload": _identity,
    "typing_extensions.final": _identity,
    "typing_extensions.runtime_checkable": _identity,
    "dataclasses.dataclass": _first_or_decorator,
    "abc.abstractmethod": _identity,
    "abc.abstractproperty": _cached_property,
    "enum.unique": _identity,
    "copy.copy": _copy,
    "copy.deepcopy": _copy,
    "collections.OrderedDict": _container("dict"),
    "collections.defaultdict": _container("defaultdict"),
    "collections.deque": _container("deque"),
    "collections.Counter": _container("counter"),
    "collections.ChainMap": _container("chainmap"),
    "collections.UserDict": _container("dict"),
    "weakref.WeakValueDictionary": _container("weak"),
    "weakref.WeakKeyDictionary": _container("weak"),
    "weakref.WeakSet": _container("weak"),
    "weakref.ref": _weakref,
    "weakref.WeakMethod": _weakref,
    "weakref.proxy": _passthrough,
    "queue.Queue": _container("queue"),
    "queue.LifoQueue": _container("queue"),
    "queue.SimpleQueue": _container("queue"),
    "queue.PriorityQueue": _container("queue"),
    "asyncio.Queue": _container("queue"),
    "threading.local": _namespace,
    "types.SimpleNamespace": _namespace,
    "types.MethodType": _method_type,
    "threading.Thread": _thread,
    "atexit.register": _escape_first_return,
    "asyncio.run": _passthrough,
    "asyncio.ensure_future": _passthrough,
    "asyncio.create_task": _passthrough,
    "asyncio.gather": _passthrough,
    "asyncio.wait_for": _passthrough,
    "asyncio.shield": _passthrough,
    "operator.attrgetter": _attrgetter,
    "operator.methodcaller": _methodcaller,
}
