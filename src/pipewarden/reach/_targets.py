"""Vulnerable symbols (``module:Name`` / ``module:Class.method``) -> nodes of the call graph.

Resolution reads the installed code's IR without running anything: a name is
found where it is defined (``def``/``class``), or followed through aliases
(``X = Y``), ``from ... import``, star imports and, for methods, the base
classes. A symbol whose module is a compiled extension, or that is bound to
something that is neither a function nor a class, cannot be pinned to a node:
the verdict layer then treats the package conservatively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from pipewarden.reach._ir import BASES, FACTS, KIND, NAME
from pipewarden.reach._osv import Symbol
from pipewarden.reach._solver import Solver

__all__ = ["Resolution", "resolve_symbol"]

_MAX_DEPTH: Final = 12


@dataclass
class Resolution:
    """Where a symbol lives: call-graph nodes, or why it could not be pinned."""

    symbol: Symbol
    nodes: set[Any] = field(default_factory=set)
    fids: set[int] = field(default_factory=set)
    status: str = "resolved"  # resolved | module-absent | opaque | not-found
    detail: str = ""


def resolve_symbol(solver: Solver, symbol: Symbol) -> Resolution:
    """Resolve one symbol against the artifact's installed code."""
    result = Resolution(symbol)
    mod = solver.load_module(symbol.module)
    if mod is None:
        result.status = "module-absent"
        result.detail = f"module {symbol.module} is not in the artifact"
        return result
    if mod.kind in ("ext", "error"):
        result.status = "opaque"
        result.detail = f"module {symbol.module} is compiled or unparseable"
        return result
    parts = symbol.name.split(".")
    found, opaque = _find_global(solver, symbol.module, parts[0], 0)
    for part in parts[1:]:
        next_found: set[int] = set()
        for fid in found:
            if solver.scopes[fid][1][KIND] == "C":
                members, member_opaque = _find_in_class(solver, fid, part, 0)
                next_found |= members
                opaque = opaque or member_opaque
        found = next_found
    if not found:
        result.status = "opaque" if opaque else "not-found"
        result.detail = (
            f"{symbol.text} is bound to code the analysis cannot see"
            if opaque
            else f"{symbol.text} is not defined in the installed code"
        )
        return result
    for fid in found:
        result.fids.add(fid)
        kind = solver.scopes[fid][1][KIND]
        result.nodes.add(("new", fid) if kind == "C" else fid)
    return result


def _find_global(solver: Solver, modname: str, name: str, depth: int) -> tuple[set[int], bool]:
    """Scopes (function or class) a module-level ``name`` of ``modname`` can be bound to."""
    if depth > _MAX_DEPTH:
        return set(), True
    mod = solver.load_module(modname)
    if mod is None:
        return set(), False
    if mod.kind in ("ext", "error"):
        return set(), True
    if not mod.ir[1]:
        return set(), False
    found: set[int] = set()
    opaque = False
    stars: list[tuple[str | None, int]] = []
    for fact in mod.ir[1][0][FACTS]:
        tag = fact[0]
        if tag == "d" and fact[2] == ("G", name):
            found.add(mod.base + fact[1])
        elif tag == "=" and fact[1] == ("N", ("G", name)):
            got, was_opaque = _resolve_expr(solver, modname, fact[2], depth + 1)
            found |= got
            opaque = opaque or was_opaque
        elif tag == "f":
            for original, ref in fact[3]:
                if original == "*":
                    stars.append((fact[1], fact[2]))
                elif ref == ("G", name):
                    base = _relative(solver, modname, fact[1], fact[2])
                    if base is None:
                        continue
                    got, was_opaque = _find_global(solver, base, original, depth + 1)
                    found |= got
                    opaque = opaque or was_opaque
    if not found:
        for module, level in stars:
            base = _relative(solver, modname, module, level)
            if base is None:
                continue
            got, was_opaque = _find_global(solver, base, name, depth + 1)
            found |= got
            opaque = opaque or was_opaque
    return found, opaque


def _relative(solver: Solver, modname: str, module: str | None, level: int) -> str | None:
    if level == 0:
        return module
    mod = solver.load_module(modname)
    if mod is None:
        return None
    package = mod.package
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    if not package:
        return module
    return f"{package}.{module}" if module else package


def _resolve_expr(solver: Solver, modname: str, expr: Any, depth: int) -> tuple[set[int], bool]:
    """What a module-level expression assigned to a symbol resolves to (names and attributes)."""
    if depth > _MAX_DEPTH:
        return set(), True
    tag = expr[0]
    if tag == "N" and expr[1][0] == "G":
        return _find_global(solver, modname, expr[1][1], depth + 1)
    if tag == "A":
        chain = []
        node = expr
        while node[0] == "A":
            chain.append(node[2])
            node = node[1]
        if node[0] == "N" and node[1][0] == "G":
            chain.reverse()
            return _resolve_chain(solver, modname, node[1][1], chain, depth + 1)
        return set(), True
    if tag == "C":
        # An instance bound to the name: its class's __call__ is what calling it runs.
        classes, opaque = _resolve_expr(solver, modname, expr[1], depth + 1)
        calls: set[int] = set()
        for cls in classes:
            if solver.scopes[cls][1][KIND] == "C":
                members, _ = _find_in_class(solver, cls, "__call__", 0)
                calls |= members or {cls}
        return calls, opaque
    if tag == "U":
        found: set[int] = set()
        opaque = False
        for part in expr[1]:
            got, was_opaque = _resolve_expr(solver, modname, part, depth + 1)
            found |= got
            opaque = opaque or was_opaque
        return found, opaque
    return set(), True


def _resolve_chain(
    solver: Solver, modname: str, head: str, chain: list[str], depth: int
) -> tuple[set[int], bool]:
    # head may be a module imported into modname (import x.y / from x import y)
    module = _module_alias(solver, modname, head)
    if module is not None:
        current_mod = module
        for i, part in enumerate(chain):
            sub = f"{current_mod}.{part}"
            if solver.artifact.find_module(sub) is not None and i < len(chain) - 1:
                current_mod = sub
                continue
            found, opaque = _find_global(solver, current_mod, part, depth + 1)
            rest = chain[i + 1 :]
            for member in rest:
                nxt: set[int] = set()
                for fid in found:
                    if solver.scopes[fid][1][KIND] == "C":
                        got, was_opaque = _find_in_class(solver, fid, member, depth + 1)
                        nxt |= got
                        opaque = opaque or was_opaque
                found = nxt
            return found, opaque
        return set(), False
    found, opaque = _find_global(solver, modname, head, depth + 1)
    for member in chain:
        nxt = set()
        for fid in found:
            if solver.scopes[fid][1][KIND] == "C":
                got, was_opaque = _find_in_class(solver, fid, member, depth + 1)
                nxt |= got
                opaque = opaque or was_opaque
        found = nxt
    return found, opaque


def _module_alias(solver: Solver, modname: str, name: str) -> str | None:
    mod = solver.load_module(modname)
    if mod is None or not mod.ir[1]:
        return None
    for fact in mod.ir[1][0][FACTS]:
        if fact[0] == "i" and fact[2] == ("G", name):
            return str(fact[1] if fact[3] else fact[1].partition(".")[0])
        if fact[0] == "f":
            for original, ref in fact[3]:
                if ref == ("G", name) and original != "*":
                    base = _relative(solver, modname, fact[1], fact[2])
                    if base and solver.artifact.find_module(f"{base}.{original}") is not None:
                        return f"{base}.{original}"
    return None


def _find_in_class(solver: Solver, cls: int, name: str, depth: int) -> tuple[set[int], bool]:
    if depth > _MAX_DEPTH:
        return set(), True
    mod, rec = solver.scopes[cls]
    idx = cls - mod.base
    found: set[int] = set()
    for child in mod.children.get(idx, ()):
        crec = mod.ir[1][child]
        if crec[NAME] == name and crec[KIND] in ("F", "C"):
            found.add(mod.base + child)
    if found:
        return found, False
    opaque = False
    for fact in rec[FACTS]:
        if fact[0] == "=" and fact[1][0] == "N" and fact[1][1][:2] == ("K", name):
            value = fact[2]
            if value[0] == "N" and value[1][0] == "K":
                got, was_opaque = _find_in_class(solver, cls, value[1][1], depth + 1)
            else:
                got, was_opaque = _resolve_expr(solver, mod.name, value, depth + 1)
            found |= got
            opaque = opaque or was_opaque
    if found:
        return found, opaque
    for base in rec[BASES]:
        classes, was_opaque = _resolve_expr(solver, mod.name, base, depth + 1)
        opaque = opaque or was_opaque
        for klass in classes:
            if solver.scopes[klass][1][KIND] == "C":
                got, member_opaque = _find_in_class(solver, klass, name, depth + 1)
                found |= got
                opaque = opaque or member_opaque
        if found:
            break
    return found, opaque
