"""Python source -> a compact, cacheable intermediate form for the reachability solver.

The IR of a module is a pure function of its source text, made only of tuples,
strings, integers and ``None`` (so :mod:`marshal` stores it): the analysis
cache keys it by the file's hash. Names are resolved to their scope here
(Python's rules: locals, enclosing functions, class bodies, globals), so the
solver never re-derives scoping.

Layout (positions in the tuples, kept small because Django alone has ~50,000
functions):

* module: ``(IR_VERSION, scopes, exported, global_names, error)``; ``exported``
  is the literal ``__all__`` (or ``None``), ``error`` a parse error message.
* scope: ``(kind, name, qualname, line, parent, params, decorators, bases,
  keywords, facts, flags, locals, end_line)``; kind ``M`` module body, ``N``
  the ``if __name__ == "__main__":`` block, ``F`` function or lambda, ``C``
  class body.
* facts: ``("=", target, expr, line)`` assignment, ``("e", expr)`` evaluation,
  ``("r", expr)`` return, ``("d", scope, target, line)`` def/class binding,
  ``("i", module, target, full, line)`` ``import``, ``("f", module, level,
  names, line)`` ``from ... import``, ``("x", expr, line)`` a raised value,
  ``("?", ref, facts, line)`` facts that run only when the local ``ref`` may be
  ``None`` (the body of ``if name is None:``, the ``else`` of ``if name is not None:``).
* expressions: ``N`` name, ``A`` attribute, ``C`` call, ``I`` subscript,
  ``S`` string constant, ``P`` string with a constant prefix, ``B`` any other
  constant, ``D`` container display, ``Q`` effects then a value, ``U`` union,
  ``O`` operator, ``F`` function literal (lambda), ``Y``/``Z`` yield/yield from,
  ``R`` zero-argument ``super()``, ``T`` iteration, ``X`` unknown, ``*`` starred,
  ``0`` the constant ``None`` (also what a bare ``return`` gives).
* name references: ``("L", name)`` local, ``("G", name)`` module global,
  ``("E", scope, name)`` an enclosing function's local, ``("K", name, fallback)``
  a class-body name.

Deliberate simplifications, all on the side of over-approximation: control
flow is ignored (every assignment to a name counts wherever it happens), except
that a ``None`` test of a local keeps its branch apart (the solver runs it only
when the local may be ``None``); a function whose end may be reached (or that
has a bare ``return``) is flagged, as it may return ``None``;
comprehension variables live in the enclosing scope; annotations are not
evaluated; ``if TYPE_CHECKING:`` bodies are skipped (they never run).
"""

from __future__ import annotations

import ast
from typing import Any, Final

__all__ = ["IR_VERSION", "build_ir", "error_ir"]

IR_VERSION: Final = 5
MAX_STRING: Final = 256
_MAX_CONST_CODE: Final = 20_000

# Scope tuple positions.
KIND, NAME, QUAL, LINE, PARENT, PARAMS, DECOS, BASES, KEYWORDS, FACTS, FLAGS, LOCALS, END = range(
    13
)
FLAG_GENERATOR: Final = 1
FLAG_ASYNC: Final = 2
FLAG_FALLS_OFF: Final = 4
"""The end of the function body may be reached: it may return ``None``."""

_BINOP_DUNDER: Final = {
    ast.Add: "__add__",
    ast.Sub: "__sub__",
    ast.Mult: "__mul__",
    ast.MatMult: "__matmul__",
    ast.Div: "__truediv__",
    ast.FloorDiv: "__floordiv__",
    ast.Mod: "__mod__",
    ast.Pow: "__pow__",
    ast.LShift: "__lshift__",
    ast.RShift: "__rshift__",
    ast.BitOr: "__or__",
    ast.BitXor: "__xor__",
    ast.BitAnd: "__and__",
}
_UNARY_DUNDER: Final = {
    ast.Invert: "__invert__",
    ast.Not: "__bool__",
    ast.UAdd: "__pos__",
    ast.USub: "__neg__",
}
_CMP_DUNDER: Final = {
    ast.Eq: "__eq__",
    ast.NotEq: "__ne__",
    ast.Lt: "__lt__",
    ast.LtE: "__le__",
    ast.Gt: "__gt__",
    ast.GtE: "__ge__",
    ast.In: "__contains__",
    ast.NotIn: "__contains__",
}

Node = tuple[Any, ...]
_UNKNOWN: Final[Node] = ("X",)
_CONST: Final[Node] = ("B",)
_NONE: Final[Node] = ("0",)


def error_ir(message: str) -> Node:
    """The IR of a module that could not be read or parsed."""
    return (IR_VERSION, (), None, (), message)


def build_ir(source: bytes, filename: str) -> Node:
    """Parse ``source`` and build its IR; a syntax error gives an error IR."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return error_ir(_parse_error(exc))
    builder = _Builder()
    try:
        return builder.module(tree)
    except RecursionError:
        return error_ir("nesting too deep to analyse")


def _parse_error(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    return f"cannot parse: {type(exc).__name__}"


class _Scope:
    """Builder-side state of one scope."""

    __slots__ = (
        "bound",
        "end",
        "facts",
        "flags",
        "globals",
        "idx",
        "kind",
        "line",
        "name",
        "nonlocals",
        "parent",
        "qual",
        "record",
    )

    def __init__(
        self, idx: int, kind: str, name: str, qual: str, line: int, end: int, parent: _Scope | None
    ) -> None:
        self.idx = idx
        self.kind = kind
        self.name = name
        self.qual = qual
        self.line = line
        self.end = end
        self.parent = parent
        self.facts: list[Node] = []
        self.flags = 0
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.record: list[Any] = []


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    left, right = test.left, test.comparators[0]
    for a, b in ((left, right), (right, left)):
        if (
            isinstance(a, ast.Name)
            and a.id == "__name__"
            and isinstance(b, ast.Constant)
            and b.value == "__main__"
        ):
            return True
    return False


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


class _Binder(ast.NodeVisitor):
    """Names bound directly in one scope (not in nested functions or classes)."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()

    def body(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.visit(stmt)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.bound.add(node.name)
        for deco in node.decorator_list:
            self.visit(deco)
        self._defaults(node.args)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.bound.add(node.name)
        for deco in node.decorator_list:
            self.visit(deco)
        self._defaults(node.args)

    def _defaults(self, args: ast.arguments) -> None:
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.bound.add(node.name)
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.visit(expr)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._defaults(node.args)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.nonlocals.update(node.names)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):
            self.bound.add(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.partition(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bound.add(alias.asname or alias.name)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bound.add(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bound.add(node.rest)
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.body(node.orelse)
            return
        self.generic_visit(node)


class _Builder:
    """One module's AST -> IR."""

    def __init__(self) -> None:
        self.scopes: list[_Scope] = []
        self.stack: list[_Scope] = []
        self.sites = 0
        self.global_names: set[str] = set()
        self.exported: list[str] | None = []
        self.exported_seen = False

    # -- scopes ---------------------------------------------------------------

    def _new_scope(
        self, kind: str, name: str, line: int, end: int, parent: _Scope | None
    ) -> _Scope:
        if parent is None or parent.kind in ("M", "N"):
            qual = name if kind != "M" else ""
        elif parent.kind == "C":
            qual = f"{parent.qual}.{name}"
        else:
            qual = f"{parent.qual}.<locals>.{name}"
        scope = _Scope(len(self.scopes), kind, name, qual, line, end, parent)
        # kind, name, qual, line, parent, params, decos, bases, keywords, facts, flags, locals, end
        scope.record = [kind, name, qual, line, parent.idx if parent else -1, (), (), (), (), None]
        scope.record += [0, (), end]
        self.scopes.append(scope)
        return scope

    @property
    def cur(self) -> _Scope:
        return self.stack[-1]

    def module(self, tree: ast.Module) -> Node:
        scope = self._new_scope("M", "<module>", 1, 1, None)
        binder = _Binder()
        binder.body(tree.body)
        scope.bound = binder.bound
        self.global_names |= binder.bound
        self.stack.append(scope)
        self._body(tree.body, top=True)
        self.stack.pop()
        records = []
        for s in self.scopes:
            s.record[FACTS] = tuple(s.facts)
            s.record[FLAGS] = s.flags
            s.record[LOCALS] = tuple(sorted(s.bound))
            records.append(tuple(s.record))
        exported = (
            tuple(self.exported) if self.exported_seen and self.exported is not None else None
        )
        return (IR_VERSION, tuple(records), exported, tuple(sorted(self.global_names)), None)

    def _enter_function(
        self, name: str, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
    ) -> _Scope:
        end = getattr(node, "end_lineno", None) or node.lineno
        scope = self._new_scope("F", name, node.lineno, end, self.cur)
        binder = _Binder()
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            params.append(args.vararg)
        if args.kwarg:
            params.append(args.kwarg)
        binder.bound.update(a.arg for a in params)
        if isinstance(node, ast.Lambda):
            binder.visit(node.body)
        else:
            binder.body(node.body)
        scope.globals = binder.globals
        scope.nonlocals = binder.nonlocals
        scope.bound = binder.bound - binder.globals - binder.nonlocals
        self.global_names |= binder.globals
        return scope

    def _params(self, args: ast.arguments) -> tuple[Node, ...]:
        """Parameters with their defaults, converted in the defining (current) scope."""
        out: list[Node] = []
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
        defaults += list(args.defaults)
        for i, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
            kind = "o" if i < len(args.posonlyargs) else "p"
            out.append((arg.arg, self.expr(default) if default is not None else None, kind))
        if args.vararg:
            out.append((args.vararg.arg, None, "v"))
        for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
            out.append((arg.arg, self.expr(kw_default) if kw_default is not None else None, "k"))
        if args.kwarg:
            out.append((args.kwarg.arg, None, "w"))
        return tuple(out)

    # -- name resolution ------------------------------------------------------

    def _resolve_from(self, scope: _Scope, name: str) -> Node:
        """Where ``name`` lives when read in ``scope``."""
        if scope.kind in ("M", "N"):
            return ("G", name)
        if name in scope.globals:
            return ("G", name)
        if scope.kind == "F":
            if name in scope.bound:
                return ("L", name)
            return self._resolve_outer(scope, name)
        # class body
        fallback = self._resolve_outer(scope, name)
        if name in scope.bound:
            return ("K", name, fallback)
        return fallback

    def _resolve_outer(self, scope: _Scope, name: str) -> Node:
        outer = scope.parent
        while outer is not None:
            if outer.kind in ("M", "N"):
                return ("G", name)
            if outer.kind == "F":
                if name in outer.globals:
                    return ("G", name)
                if name in outer.bound:
                    return ("E", outer.idx, name)
            outer = outer.parent
        return ("G", name)

    def load(self, name: str) -> Node:
        return ("N", self._resolve_from(self.cur, name))

    def store_ref(self, name: str) -> Node:
        scope = self.cur
        if scope.kind in ("M", "N") or name in scope.globals:
            self.global_names.add(name)
            return ("G", name)
        if name in scope.nonlocals:
            return self._resolve_outer(scope, name)
        if scope.kind == "C":
            return ("K", name, None)
        return ("L", name)

    # -- statements -----------------------------------------------------------

    def _emit(self, fact: Node) -> None:
        self.cur.facts.append(fact)

    def _body(self, stmts: list[ast.stmt], *, top: bool = False) -> None:
        for stmt in stmts:
            self._stmt(stmt, top=top)

    def _stmt(self, stmt: ast.stmt, *, top: bool = False) -> None:
        if isinstance(stmt, ast.If):
            self._if(stmt, top=top)
            return
        method = getattr(self, "_s_" + type(stmt).__name__, None)
        if method is not None:
            method(stmt)
            return
        # Anything else: evaluate every expression it contains for effects.
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.expr):
                self._emit(("e", self.expr(child)))
            elif isinstance(child, ast.stmt):
                self._stmt(child)

    def _s_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        decorators = tuple(self.expr(d) for d in node.decorator_list)
        params = self._params(node.args)
        scope = self._enter_function(node.name, node)
        scope.record[PARAMS] = params
        scope.record[DECOS] = decorators
        if isinstance(node, ast.AsyncFunctionDef):
            scope.flags |= FLAG_ASYNC
        if _falls_off(node.body):
            scope.flags |= FLAG_FALLS_OFF
        target = self.store_ref(node.name)
        self.stack.append(scope)
        self._body(node.body)
        self.stack.pop()
        self._emit(("d", scope.idx, target, node.lineno))

    _s_AsyncFunctionDef = _s_FunctionDef

    def _s_ClassDef(self, node: ast.ClassDef) -> None:
        decorators = tuple(self.expr(d) for d in node.decorator_list)
        bases = tuple(self.expr(b) for b in node.bases)
        keywords = tuple((k.arg, self.expr(k.value)) for k in node.keywords)
        end = getattr(node, "end_lineno", None) or node.lineno
        scope = self._new_scope("C", node.name, node.lineno, end, self.cur)
        binder = _Binder()
        binder.body(node.body)
        scope.bound = binder.bound - binder.globals
        scope.globals = binder.globals
        self.global_names |= binder.globals
        scope.record[DECOS] = decorators
        scope.record[BASES] = bases
        scope.record[KEYWORDS] = keywords
        target = self.store_ref(node.name)
        self.stack.append(scope)
        self._body(node.body)
        self.stack.pop()
        self._emit(("d", scope.idx, target, node.lineno))

    def _s_Return(self, node: ast.Return) -> None:
        self._emit(("r", self.expr(node.value) if node.value is not None else _NONE))

    def _s_Assign(self, node: ast.Assign) -> None:
        value = self.expr(node.value)
        if self.cur.kind == "M":
            self._track_all(node.targets, node.value, augment=False)
        for target in node.targets:
            self._assign(target, value, node.lineno)

    def _s_AugAssign(self, node: ast.AugAssign) -> None:
        if self.cur.kind == "M" and isinstance(node.target, ast.Name):
            self._track_all([node.target], node.value, augment=True)
        current = self._target_load(node.target)
        dunder = _BINOP_DUNDER.get(type(node.op), "__add__").replace("__", "__i", 1)
        value = ("O", (current, self.expr(node.value)), dunder)
        self._assign(node.target, value, node.lineno)

    def _s_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assign(node.target, self.expr(node.value), node.lineno)

    def _s_For(self, node: ast.For | ast.AsyncFor) -> None:
        self._assign(node.target, ("T", self.expr(node.iter)), node.lineno)
        self._body(node.body)
        self._body(node.orelse)

    _s_AsyncFor = _s_For

    def _s_While(self, node: ast.While) -> None:
        self._emit(("e", self.expr(node.test)))
        self._body(node.body)
        self._body(node.orelse)

    def _if(self, node: ast.If, *, top: bool) -> None:
        if _is_type_checking(node.test):
            self._body(node.orelse, top=top)
            return
        if top and _is_main_guard(node.test):
            end = getattr(node, "end_lineno", None) or node.lineno
            main = self._new_scope("N", "<main>", node.lineno, end, self.cur)
            self.stack.append(main)
            self._body(node.body)
            self.stack.pop()
            self._body(node.orelse, top=top)
            return
        self._emit(("e", self.expr(node.test)))
        guard = self._none_test(node.test)
        if guard is None:
            self._body(node.body, top=top)
            self._body(node.orelse, top=top)
            return
        ref, is_none = guard
        when_none, otherwise = (node.body, node.orelse) if is_none else (node.orelse, node.body)
        if when_none:
            saved = self.cur.facts
            self.cur.facts = []
            try:
                self._body(when_none)
                guarded = tuple(self.cur.facts)
            finally:
                self.cur.facts = saved
            self._emit(("?", ref, guarded, node.lineno))
        self._body(otherwise, top=top)

    def _none_test(self, test: ast.expr) -> tuple[Node, bool] | None:
        """``name is None`` / ``name is not None`` on a function's local (or an enclosing
        function's): the reference and whether the test is ``is``."""
        if self.cur.kind != "F":
            return None
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
            return None
        op = test.ops[0]
        if not isinstance(op, ast.Is | ast.IsNot):
            return None
        left, right = test.left, test.comparators[0]
        if isinstance(left, ast.Constant) and left.value is None:
            left, right = right, left
        if not (
            isinstance(left, ast.Name) and isinstance(right, ast.Constant) and right.value is None
        ):
            return None
        ref = self._resolve_from(self.cur, left.id)
        if ref[0] not in ("L", "E"):
            return None
        return ref, isinstance(op, ast.Is)

    def _s_With(self, node: ast.With | ast.AsyncWith) -> None:
        enter, leave = (
            ("__aenter__", "__aexit__")
            if isinstance(node, ast.AsyncWith)
            else ("__enter__", "__exit__")
        )
        for item in node.items:
            ctx = self.expr(item.context_expr)
            line = node.lineno
            entered = ("C", ("A", ctx, enter, line), (), (), line)
            exited = ("C", ("A", ctx, leave, line), (_UNKNOWN, _UNKNOWN, _UNKNOWN), (), line)
            self._emit(("e", exited))
            if item.optional_vars is not None:
                self._assign(item.optional_vars, entered, line)
            else:
                self._emit(("e", entered))
        self._body(node.body)

    _s_AsyncWith = _s_With

    def _s_Raise(self, node: ast.Raise) -> None:
        if node.exc is not None:
            self._emit(("x", self.expr(node.exc), node.lineno))
        if node.cause is not None:
            self._emit(("x", self.expr(node.cause), node.lineno))

    def _s_Try(self, node: ast.Try) -> None:
        self._body(node.body)
        for handler in node.handlers:
            if handler.type is not None:
                self._emit(("e", self.expr(handler.type)))
            if handler.name:
                self._emit(("=", ("N", self.store_ref(handler.name)), _UNKNOWN, handler.lineno))
            self._body(handler.body)
        self._body(node.orelse)
        self._body(node.finalbody)

    _s_TryStar = _s_Try

    def _s_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self._emit(("i", alias.name, self.store_ref(alias.asname), True, node.lineno))
            else:
                top = alias.name.partition(".")[0]
                self._emit(("i", alias.name, self.store_ref(top), False, node.lineno))

    def _s_ImportFrom(self, node: ast.ImportFrom) -> None:
        names: list[Node] = []
        for alias in node.names:
            if alias.name == "*":
                names.append(("*", None))
            else:
                names.append((alias.name, self.store_ref(alias.asname or alias.name)))
        self._emit(("f", node.module, node.level or 0, tuple(names), node.lineno))

    def _s_Expr(self, node: ast.Expr) -> None:
        value = node.value
        if isinstance(value, ast.Constant):
            return  # docstrings and bare constants
        if self.cur.kind == "M":
            self._track_all_call(value)
        self._emit(("e", self.expr(value)))

    def _s_Global(self, node: ast.Global) -> None:
        return

    _s_Nonlocal = _s_Global

    def _s_Pass(self, node: ast.stmt) -> None:
        return

    _s_Break = _s_Pass
    _s_Continue = _s_Pass

    def _s_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript | ast.Attribute):
                self._emit(("e", self.expr(target.value)))

    def _s_Assert(self, node: ast.Assert) -> None:
        self._emit(("e", self.expr(node.test)))
        if node.msg is not None:
            self._emit(("e", self.expr(node.msg)))

    def _s_Match(self, node: ast.Match) -> None:
        self._emit(("e", self.expr(node.subject)))
        for case in node.cases:
            for sub in ast.walk(case.pattern):
                for name in _pattern_names(sub):
                    self._emit(("=", ("N", self.store_ref(name)), _UNKNOWN, node.lineno))
                if isinstance(sub, ast.MatchValue):
                    self._emit(("e", self.expr(sub.value)))
                elif isinstance(sub, ast.MatchClass):
                    self._emit(("e", self.expr(sub.cls)))
            if case.guard is not None:
                self._emit(("e", self.expr(case.guard)))
            self._body(case.body)

    # -- __all__ tracking -----------------------------------------------------

    def _track_all(self, targets: list[ast.expr], value: ast.expr, *, augment: bool) -> None:
        if not any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return
        self.exported_seen = True
        names = _literal_strings(value)
        if names is None or self.exported is None:
            self.exported = None
            return
        if augment:
            self.exported.extend(names)
        else:
            self.exported = list(names)

    def _track_all_call(self, value: ast.expr) -> None:
        if not (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Attribute)
            and isinstance(value.func.value, ast.Name)
            and value.func.value.id == "__all__"
        ):
            return
        self.exported_seen = True
        if self.exported is None:
            return
        if value.func.attr == "append" and len(value.args) == 1:
            names = _literal_strings(ast.List(elts=value.args, ctx=ast.Load()))
        elif value.func.attr == "extend" and len(value.args) == 1:
            names = _literal_strings(value.args[0])
        else:
            names = None
        if names is None:
            self.exported = None
        else:
            self.exported.extend(names)

    # -- assignment targets ---------------------------------------------------

    def _assign(self, target: ast.expr, value: Node, line: int) -> None:
        self._emit(("=", self._target(target), value, line))

    def _target(self, target: ast.expr) -> Node:
        if isinstance(target, ast.Name):
            return ("N", self.store_ref(target.id))
        if isinstance(target, ast.Attribute):
            return ("A", self.expr(target.value), target.attr, target.lineno)
        if isinstance(target, ast.Subscript):
            self._effects_of(target.slice)
            return ("I", self.expr(target.value), self.expr(target.slice), target.lineno)
        if isinstance(target, ast.Tuple | ast.List):
            return ("T", tuple(self._target(e) for e in target.elts))
        if isinstance(target, ast.Starred):
            return self._target(target.value)
        return ("T", ())

    def _target_load(self, target: ast.expr) -> Node:
        if isinstance(target, ast.Name):
            return self.load(target.id)
        return self.expr(target)

    def _effects_of(self, node: ast.expr) -> None:
        if isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                if part is not None:
                    self._emit(("e", self.expr(part)))

    # -- expressions ----------------------------------------------------------

    def _site(self) -> int:
        self.sites += 1
        return self.sites

    def expr(self, node: ast.expr) -> Node:
        if isinstance(node, ast.Name):
            return self.load(node.id)
        if isinstance(node, ast.Attribute):
            return ("A", self.expr(node.value), node.attr, node.lineno)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Constant):
            value = node.value
            if value is None:
                return _NONE
            if isinstance(value, str) and len(value) <= MAX_STRING:
                return ("S", value)
            return _CONST
        if isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Slice):
                self._effects_of(node.slice)
                return ("I", self.expr(node.value), _CONST, node.lineno)
            return ("I", self.expr(node.value), self.expr(node.slice), node.lineno)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return ("D", self._site(), tuple(self._element(e) for e in node.elts), ())
        if isinstance(node, ast.Dict):
            values: list[Node] = []
            keys: list[Node] = []
            for key, value_node in zip(node.keys, node.values, strict=True):
                if key is None:  # {**other}
                    values.append(("*", self.expr(value_node)))
                else:
                    keys.append(self.expr(key))
                    values.append(self.expr(value_node))
            return ("D", self._site(), tuple(values), tuple(keys))
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp):
            self._generators(node.generators)
            return ("D", self._site(), (self.expr(node.elt),), ())
        if isinstance(node, ast.DictComp):
            self._generators(node.generators)
            return ("D", self._site(), (self.expr(node.value),), (self.expr(node.key),))
        if isinstance(node, ast.BoolOp):
            return ("U", tuple(self.expr(v) for v in node.values))
        if isinstance(node, ast.IfExp):
            return (
                "Q",
                (self.expr(node.test),),
                ("U", (self.expr(node.body), self.expr(node.orelse))),
            )
        if isinstance(node, ast.NamedExpr):
            named = self.expr(node.value)
            self._emit(("=", self._target(node.target), named, node.lineno))
            return named
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return ("O", (self.expr(node.operand),), _UNARY_DUNDER.get(type(node.op)))
        if isinstance(node, ast.Compare):
            operands = (self.expr(node.left), *(self.expr(c) for c in node.comparators))
            dunder = _CMP_DUNDER.get(type(node.ops[0])) if len(node.ops) == 1 else None
            if dunder == "__contains__":
                operands = operands[::-1]
            return ("Q", (("O", operands, dunder),), _CONST)
        if isinstance(node, ast.JoinedStr):
            return self._joined(node)
        if isinstance(node, ast.FormattedValue):
            return ("O", (self.expr(node.value),), "__format__")
        if isinstance(node, ast.Lambda):
            return self._lambda(node)
        if isinstance(node, ast.Await):
            return self.expr(node.value)
        if isinstance(node, ast.Yield):
            self.cur.flags |= FLAG_GENERATOR
            return ("Y", self.expr(node.value) if node.value is not None else _CONST)
        if isinstance(node, ast.YieldFrom):
            self.cur.flags |= FLAG_GENERATOR
            return ("Z", self.expr(node.value))
        if isinstance(node, ast.Starred):
            return ("*", self.expr(node.value))
        if isinstance(node, ast.Slice):
            self._effects_of(node)
            return _CONST
        # Anything else: its sub-expressions still run.
        effects = tuple(self.expr(c) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr))
        return ("Q", effects, _UNKNOWN)

    def _element(self, node: ast.expr) -> Node:
        if isinstance(node, ast.Starred):
            return ("*", self.expr(node.value))
        return self.expr(node)

    def _generators(self, generators: list[ast.comprehension]) -> None:
        for gen in generators:
            iterated = self.expr(gen.iter)
            # Comprehension variables are bound in the enclosing scope (a simplification).
            self._bind_comprehension_names(gen.target)
            self._emit(("=", self._target(gen.target), ("T", iterated), gen.target.lineno))
            for cond in gen.ifs:
                self._emit(("e", self.expr(cond)))

    def _bind_comprehension_names(self, target: ast.expr) -> None:
        scope = self.cur
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name) and scope.kind in ("F", "C"):
                scope.bound.add(sub.id)

    def _binop(self, node: ast.BinOp) -> Node:
        left, right = node.left, node.right
        prefix = _const_prefix(left)
        if prefix is not None and isinstance(node.op, ast.Add | ast.Mod):
            if isinstance(node.op, ast.Mod):
                prefix = prefix.split("%", 1)[0]
            elif (
                isinstance(right, ast.Constant)
                and isinstance(right.value, str)
                and isinstance(left, ast.Constant)
                and isinstance(left.value, str)
                and len(left.value) + len(right.value) <= MAX_STRING
            ):
                return ("S", left.value + right.value)
            return ("Q", (self.expr(left), self.expr(right)), ("P", prefix))
        dunder = _BINOP_DUNDER.get(type(node.op))
        return ("O", (self.expr(left), self.expr(right)), dunder)

    def _joined(self, node: ast.JoinedStr) -> Node:
        prefix_parts: list[str] = []
        effects: list[Node] = []
        constant = True
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                if constant:
                    prefix_parts.append(value.value)
            else:
                constant = False
                effects.append(self.expr(value))
        prefix = "".join(prefix_parts)[:MAX_STRING]
        if constant:
            return ("S", prefix)
        return ("Q", tuple(effects), ("P", prefix))

    def _lambda(self, node: ast.Lambda) -> Node:
        params = self._params(node.args)
        scope = self._enter_function("<lambda>", node)
        scope.record[PARAMS] = params
        self.stack.append(scope)
        self._emit(("r", self.expr(node.body)))
        self.stack.pop()
        return ("F", scope.idx)

    def _call(self, node: ast.Call) -> Node:
        func = node.func
        args = tuple(self._element(a) for a in node.args)
        kwargs = tuple(
            (k.arg, self.expr(k.value)) if k.arg is not None else (None, self.expr(k.value))
            for k in node.keywords
        )
        line = node.lineno
        # "literal".format(...) gives a string with a known prefix.
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "format"
            and isinstance(func.value, ast.Constant)
            and isinstance(func.value.value, str)
        ):
            prefix = func.value.value.split("{", 1)[0]
            return ("Q", (*args, *(v for _, v in kwargs)), ("P", prefix[:MAX_STRING]))
        call = ("C", self.expr(func), args, kwargs, line)
        if (
            isinstance(func, ast.Name)
            and func.id in ("eval", "exec")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            inlined = self._constant_code(node.args[0].value, func.id, line)
            if inlined is not None:
                # The constant is analysed in place; the call keeps a string marker so the
                # solver knows the code was not computed.
                marked = ("C", call[1], (("S", ""), *args[1:]), kwargs, line)
                return ("Q", (inlined,), marked)
        return call

    def _constant_code(self, code: str, mode: str, line: int) -> Node | None:
        """A constant string given to eval/exec, analysed as a function called in place."""
        if len(code) > _MAX_CONST_CODE:
            return None
        try:
            tree = ast.parse(code, mode="eval" if mode == "eval" else "exec")
        except (SyntaxError, ValueError, RecursionError):
            return None
        module = self.stack[0]
        scope = self._new_scope("F", f"<{mode}>", line, line, module)
        self.stack.append(scope)
        if isinstance(tree, ast.Expression):
            self._emit(("r", self.expr(tree.body)))
        elif isinstance(tree, ast.Module):
            self._body(tree.body)
            scope.flags |= FLAG_FALLS_OFF
        self.stack.pop()
        return ("C", ("F", scope.idx), (), (), line)


def _falls_off(body: list[ast.stmt]) -> bool:
    """Whether the end of ``body`` may be reached (conservative: True unless it ends in a
    ``return``/``raise``, or an ``if`` whose branches all do)."""
    if not body:
        return True
    last = body[-1]
    if isinstance(last, ast.Return | ast.Raise):
        return False
    if isinstance(last, ast.If) and not _is_type_checking(last.test):
        return _falls_off(last.body) or _falls_off(last.orelse)
    return True


def _pattern_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _literal_strings(node: ast.expr) -> list[str] | None:
    if isinstance(node, ast.List | ast.Tuple):
        out = []
        for elt in node.elts:
            if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                out.append(elt.value)
            else:
                return None
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = _literal_strings(node.left)
        right = _literal_strings(node.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def _const_prefix(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value[:MAX_STRING]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
            else:
                break
        return "".join(parts)[:MAX_STRING]
    return None
