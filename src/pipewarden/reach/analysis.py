"""``analyze``: an artifact and OSV records in, one verdict per (vulnerability, package) out.

Verdicts are decided in this order (the first that holds wins):

1. ``not-installed``: the package's version is outside every affected range.
2. ``not-imported``: no module of the package is imported on any path from
   an entry point, no unbounded dynamic feature is reachable, and no code
   outside the artifact that could import the package runs.
3. Without symbol data: ``reachable`` when an import of the package is on a
   resolved path (the honest default: affected, reason "no symbol data"),
   else ``unknown``.
4. With symbol data: ``reachable`` when a vulnerable or derived symbol is
   reached over resolved edges (the path is reported); ``unknown`` when only a
   potential path exists (by name on an object of unresolved type, through
   code outside the analysis, through a dynamic feature), when an unbounded
   dynamic feature is reachable, when a method with a vulnerable name is
   called on an object of unresolved type while the vulnerable class is
   instantiated, or when a symbol lives in compiled code; otherwise
   ``no-call-path`` when some code outside the package references a symbol,
   else ``symbol-not-referenced``.

Not-affected tiers therefore need a complete view: any gap on the way makes
the verdict ``unknown``, never a not-affected tier.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import ConfigError, InputError
from pipewarden.model.values import JsonValue
from pipewarden.reach._artifact import Artifact, Distribution, load_artifact
from pipewarden.reach._cache import IRCache, default_cache_dir
from pipewarden.reach._cvss import nominal_score, severity_of
from pipewarden.reach._entries import EntryPoint, discover_entries, parse_entry
from pipewarden.reach._fs import open_artifact
from pipewarden.reach._ir import FACTS, KIND, LINE, PARENT
from pipewarden.reach._osv import AffectedPackage, Symbol, Vulnerability, affects, load_osv
from pipewarden.reach._solver import _ENV_PACKAGES, MAX_SOURCE_BYTES, Edge, Solver, is_stdlib
from pipewarden.reach._targets import Resolution, resolve_symbol
from pipewarden.reach.model import Finding, Frame, ReachReport, Severity, Tier

__all__ = ["analyze"]

_LOG = logging.getLogger(__name__)
_ROOT: Final = ("root",)
_POTENTIAL_WORDS: Final = {
    "by-name": "a method reached by name on an object of unresolved type",
    "escape": "a callable handed to code outside the analysis",
    "widened": "a place where too many objects meet to track them one by one",
    "external-base": "a method of a class whose base class is outside the artifact",
    "dynamic": "a dynamic feature",
    "dynamic-import": "an import of a computed module name",
    "call": "a call through a dynamically obtained value",
    "import": "an import through a dynamic feature",
    "instantiate": "an instantiation through a dynamic feature",
}


@dataclass
class _Graph:
    """Breadth-first reachability from the entry points, over concrete and over all edges."""

    edges: dict[Any, dict[Any, Edge]]
    concrete: dict[Any, Any] = field(default_factory=dict)
    anything: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.concrete = self._bfs(concrete_only=True)
        self.anything = self._bfs(concrete_only=False)

    def _bfs(self, *, concrete_only: bool) -> dict[Any, Any]:
        parent: dict[Any, Any] = {_ROOT: None}
        queue: deque[Any] = deque([_ROOT])
        while queue:
            node = queue.popleft()
            for nxt, edge in self.edges.get(node, {}).items():
                if nxt in parent or (concrete_only and edge.potential):
                    continue
                parent[nxt] = node
                queue.append(nxt)
        return parent

    def path(self, node: Any, *, concrete: bool) -> list[tuple[Any, Edge | None]]:
        parents = self.concrete if concrete else self.anything
        if node not in parents:
            return []
        chain: list[Any] = []
        current: Any = node
        while current is not None:
            chain.append(current)
            current = parents[current]
        chain.reverse()
        out: list[tuple[Any, Edge | None]] = []
        for i, item in enumerate(chain):
            edge = self.edges[item][chain[i + 1]] if i + 1 < len(chain) else None
            out.append((item, edge))
        return out


@dataclass
class _Context:
    artifact: Artifact
    solver: Solver
    graph: _Graph
    wildcards: list[tuple[Any, int, str, str]]
    opaque: dict[str, tuple[Any, int, str]]


def analyze(
    artifact_path: Path,
    osv_paths: Sequence[Path],
    *,
    entries: Sequence[str] = (),
    templates: Sequence[Path] = (),
    cache_dir: Path | None = None,
    use_cache: bool = True,
    jobs: int = 2,
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    deterministic: bool = True,
) -> ReachReport:
    """Analyse the artifact at ``artifact_path`` against the OSV records in ``osv_paths``.

    The analysis visits sets of objects whose iteration order follows string
    hashing; Python randomises that per process, and where many objects meet
    (widening) the order can change which edges are labelled concrete. With
    ``deterministic`` (the default) the analysis runs in a child interpreter with
    a fixed hash seed, unless this one already has it, so the same inputs always
    give the same report.
    """
    for entry in entries:
        parse_entry(entry)  # a bad --entry is a usage error before any work starts
    kwargs: dict[str, Any] = {
        "entries": tuple(entries),
        "templates": tuple(templates),
        "cache_dir": cache_dir,
        "use_cache": use_cache,
        "jobs": jobs,
        "environ": dict(environ) if environ is not None else None,
        "clock": clock,
    }
    if deterministic and sys.flags.hash_randomization and os.environ.get("PYTHONHASHSEED") != "0":
        from pipewarden.reach._worker import run_in_worker

        report: ReachReport = run_in_worker(artifact_path, tuple(osv_paths), kwargs)
        return report
    return analyze_here(artifact_path, osv_paths, **kwargs)


def analyze_here(
    artifact_path: Path,
    osv_paths: Sequence[Path],
    *,
    entries: Sequence[str] = (),
    templates: Sequence[Path] = (),
    cache_dir: Path | None = None,
    use_cache: bool = True,
    jobs: int = 2,
    environ: dict[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> ReachReport:
    """:func:`analyze` in this process (results depend on its hash seed)."""
    started = clock()
    notes: list[str] = []
    explicit = [parse_entry(e) for e in entries]
    fs = open_artifact(artifact_path)
    artifact = load_artifact(fs)
    notes.extend(artifact.notes)
    vulns = load_osv(osv_paths, notes)
    if cache_dir is None and use_cache:
        cache_dir = default_cache_dir(environ)
    cache = IRCache(cache_dir if use_cache else None, jobs=jobs)
    solver = Solver(artifact, cache)

    def app_globals(module: str) -> frozenset[str]:
        mod = solver.load_module(module)
        return mod.global_names if mod is not None and mod.kind == "py" else frozenset()

    _prefetch(artifact, cache, [m.name for m in artifact.app_modules()], explicit)
    entry_points = discover_entries(artifact, explicit, templates, app_globals, notes)
    candidates = _candidates(vulns, artifact.distributions)
    resolutions = _resolve_targets(solver, candidates)
    for resolution_list in resolutions.values():
        for resolution in resolution_list:
            solver.target_fids |= resolution.fids
    whole = _seed(solver, artifact, entry_points, notes)
    _prefetch(artifact, cache, [e.module for e in entry_points], explicit)
    solver.solve()
    solver.label_references()
    graph = _Graph(solver.edges)
    context = _Context(
        artifact=artifact,
        solver=solver,
        graph=graph,
        wildcards=_wildcards(solver, graph),
        opaque=_opaque_imports(solver, graph, artifact),
    )
    findings = [
        _verdict(
            context, vuln, package, dist, resolutions.get((vuln.id, package.key, id(dist)), [])
        )
        for vuln, package, dist in candidates
    ]
    findings.sort(key=lambda f: (f.tier.not_affected, f.package, f.vulnerability))
    elapsed = clock() - started
    stats: dict[str, JsonValue] = {
        "seconds": round(elapsed, 3),
        "modules_loaded": len(solver.mods),
        "modules_imported": sum(1 for m in solver.mods.values() if m.base in solver.reached),
        "functions_reached": len(solver.reached),
        "evaluations": solver.evaluations,
        "parse_cache_hits": cache.hits,
        "parse_cache_misses": cache.misses,
        "unbounded_dynamic_sites": len(context.wildcards),
    }
    return ReachReport(
        artifact=str(artifact_path),
        findings=tuple(findings),
        entry_points=tuple(f"{e.kind}: {e.text} ({e.source})" for e in entry_points)
        if not whole
        else ("whole application: no entry point found",),
        whole_application=whole,
        notes=tuple(dict.fromkeys(notes)),
        stats=stats,
    )


# -- preparation ----------------------------------------------------------------------------


def _prefetch(
    artifact: Artifact, cache: IRCache, modules: Iterable[str], explicit: Sequence[EntryPoint]
) -> None:
    """Parse the import closure of ``modules`` ahead of the solver, on several cores."""
    seen: set[str] = set()
    wave = [*modules, *(e.module for e in explicit)]
    for _ in range(64):
        batch: list[tuple[bytes, str]] = []
        found: list[tuple[str, bool, str]] = []
        for name in wave:
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in seen:
                    continue
                seen.add(prefix)
                file = artifact.find_module(prefix)
                if file is None or file.kind != "py" or file.path is None:
                    continue
                try:
                    data = artifact.read(file.path, limit=MAX_SOURCE_BYTES)
                except InputError:
                    continue
                batch.append((data, file.path))
                found.append((prefix, file.is_package, file.path))
        if not batch:
            return
        cache.prefetch(batch)
        wave = []
        for (name, is_package, _), (data, path) in zip(found, batch, strict=True):
            ir = cache.get(data, path)
            package = name if is_package else name.rpartition(".")[0]
            for rec in ir[1]:
                facts = list(rec[FACTS])
                for fact in facts:  # grows while read
                    if fact[0] == "?":  # code run when a local may be None
                        facts.extend(fact[2])
                    elif fact[0] == "i":
                        wave.append(fact[1])
                    elif fact[0] == "f":
                        base = _absolute(package, fact[1], fact[2])
                        if base:
                            wave.append(base)
                            wave.extend(f"{base}.{n}" for n, _ in fact[3] if n != "*")


def _absolute(package: str, module: str | None, level: int) -> str | None:
    if level == 0:
        return module
    for _ in range(level - 1):
        package = package.rpartition(".")[0]
    if not package:
        return module
    return f"{package}.{module}" if module else package


def _candidates(
    vulns: Sequence[Vulnerability], distributions: Sequence[Distribution]
) -> list[tuple[Vulnerability, AffectedPackage, Distribution]]:
    by_key: dict[str, list[Distribution]] = {}
    for dist in distributions:
        by_key.setdefault(dist.key, []).append(dist)
    return [
        (vuln, package, dist)
        for vuln in vulns
        for package in vuln.packages
        for dist in by_key.get(package.key, ())
    ]


def _resolve_targets(
    solver: Solver, candidates: Sequence[tuple[Vulnerability, AffectedPackage, Distribution]]
) -> dict[tuple[str, str, int], list[Resolution]]:
    out: dict[tuple[str, str, int], list[Resolution]] = {}
    for vuln, package, dist in candidates:
        if not dist.installed or not package.has_symbols or affects(package, dist.version) is False:
            continue
        resolutions = [resolve_symbol(solver, symbol) for symbol in package.symbols]
        for readings in package.candidates:
            tried = [resolve_symbol(solver, symbol) for symbol in readings]
            resolved = [r for r in tried if r.status == "resolved"]
            if resolved:
                resolutions += resolved
            else:
                opaque = [r for r in tried if r.status == "opaque"]
                resolutions.append(opaque[0] if opaque else tried[0])
        out[(vuln.id, package.key, id(dist))] = resolutions
    return out


def _seed(
    solver: Solver, artifact: Artifact, entries: Sequence[EntryPoint], notes: list[str]
) -> bool:
    """Start the analysis at the entry points; True in whole-application mode."""
    if entries:
        for entry in entries:
            module = entry.module
            lines = [f"import {module}"]
            problem = _entry_problem(solver, entry)
            if problem is not None:
                if entry.kind == "explicit":
                    raise ConfigError(f"--entry {entry.text}: {problem}")
                notes.append(f"entry point {entry.text} ({entry.source}): {problem}")
                lines.append(f"__pw_blind__({f'entry point {entry.text}: {problem}'!r})")
            if entry.attr:
                lines.append(f"__pw_entry__({module}.{entry.attr})")
            if entry.kind in ("main", "explicit") and not entry.attr:
                lines.append(f"__pw_main__({module!r})")
            fid = solver.add_entry_source("\n".join(lines) + "\n", entry.text)
            solver.add_edge(_ROOT, fid, 0, "entry", False)
        return False
    modules = list(artifact.app_modules())
    notes.append(
        "no entry point found: every application module and function is treated as an entry "
        "point (name the real ones with --entry for a sharper verdict)"
    )
    for app_module in modules:
        fid = solver.add_entry_source(
            f"import {app_module.name}\n__pw_main__({app_module.name!r})\n", app_module.name
        )
        solver.add_edge(_ROOT, fid, 0, "entry", False)
    solver.solve()
    for app_module in modules:
        mod = solver.mods.get(app_module.name)
        if mod is None or mod.kind != "py":
            continue
        for idx, rec in enumerate(mod.ir[1]):
            fid = mod.base + idx
            if rec[KIND] == "F":
                solver.cur_node = _ROOT
                solver.reach_unknown(fid, rec[LINE], "entry", potential=False)
            elif rec[KIND] == "C" and fid not in solver.instantiated:
                solver.cur_node = _ROOT
                solver.instantiate(fid, [({("U",)}, True)], [(None, {("U",)})], rec[LINE], False)
    return True


def _entry_problem(solver: Solver, entry: EntryPoint) -> str | None:
    """Why the code an entry point names cannot be analysed (None when it can)."""
    mod = solver.load_module(entry.module)
    if mod is None:
        return f"module {entry.module} is not in the artifact"
    if mod.kind == "ext":
        return f"module {entry.module} is compiled code"
    if not entry.attr or mod.kind != "py":
        return None
    first = entry.attr.partition(".")[0]
    if first in mod.global_names or "__getattr__" in mod.global_names:
        return None
    if any(fact[0] == "f" and any(n == "*" for n, _ in fact[3]) for fact in mod.ir[1][0][FACTS]):
        return None  # a star import may bind it
    if solver.artifact.find_module(f"{entry.module}.{first}") is not None:
        return None
    return f"module {entry.module} defines no {first}"


def _wildcards(solver: Solver, graph: _Graph) -> list[tuple[Any, int, str, str]]:
    out = []
    for fid, sites in solver.sites.items():
        if fid not in graph.anything:
            continue
        for (line, kind), description in sites.items():
            if kind in ("import", "eval", "entry-points", "unparseable", "entry"):
                out.append((fid, line, kind, description))
    out.sort(key=lambda w: (w[0] not in graph.concrete, str(w[0]), w[1]))
    return out


def _opaque_imports(
    solver: Solver, graph: _Graph, artifact: Artifact
) -> dict[str, tuple[Any, int, str]]:
    """Packages that code from outside the artifact may import: canonical name -> (node, line, why).

    A module that is neither in the artifact nor in the standard library fails to
    import at run time, except for a pinned package whose code is not in the
    artifact (installed at deploy time: it may import any of its dependencies,
    or anything when its dependencies are unknown) and the packages the AWS
    Lambda runtime provides. The key ``*`` means "any package".
    """
    pinned: dict[str, Distribution] = {}
    for dist in artifact.distributions:
        if not dist.installed:
            for top in dist.top_level:
                pinned.setdefault(top, dist)
    out: dict[str, tuple[Any, int, str]] = {}
    for module, (node, line) in solver.absent_imports.items():
        target = ("absent", module)
        if target not in graph.anything:
            continue
        top = module.partition(".")[0]
        pin = pinned.get(top)
        if pin is not None:
            if pin.requires is None:
                out.setdefault(
                    "*",
                    (node, line, f"{module} (from {pin.source}; its dependencies are unknown)"),
                )
            else:
                for key in _closure(pin.requires, artifact):
                    out.setdefault(key, (node, line, f"{module} (pinned in {pin.source})"))
        elif top in _ENV_PACKAGES:
            for key in _closure(_ENV_PACKAGES[top], artifact):
                out.setdefault(key, (node, line, f"{module} (provided by the AWS Lambda runtime)"))
    return out


def _closure(keys: Iterable[str], artifact: Artifact) -> set[str]:
    by_key = {d.key: d for d in artifact.distributions}
    todo = list(keys)
    seen: set[str] = set()
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        dist = by_key.get(key)
        if dist is not None and dist.requires:
            todo.extend(dist.requires)
        elif key in _ENV_PACKAGES:
            todo.extend(_ENV_PACKAGES[key])
    return seen


# -- verdicts ---------------------------------------------------------------------------------


def _frames(context: _Context, chain: list[tuple[Any, Edge | None]]) -> tuple[Frame, ...]:
    solver = context.solver
    frames: list[Frame] = []
    incoming: Edge | None = None
    for node, edge in chain:
        arrived, incoming = incoming, edge
        if node == _ROOT:
            continue
        if isinstance(node, int):
            mod, rec = solver.scopes[node]
            if mod.kind == "entry":
                entry_module = mod.label.partition(":")[0]
                found = context.artifact.find_module(entry_module)
                name = f"entry point {mod.label}"
                file = found.path if found is not None else None
                def_line = None
                frames.append(Frame(name, file, None, edge.kind if edge is not None else None))
                continue
            name = solver.scope_name(node)
            file = mod.file.path if mod.file is not None else None
            def_line = rec[LINE]
        else:
            name, file, def_line = _node_text(solver, node)
            dynamic = _dynamic_text(solver, node) if arrived and arrived.kind == "dynamic" else None
            if dynamic is not None:
                # What the feature may call: any callable of a module, class or instance
                # (the file that defines it; no single line).
                name, file = dynamic
                frames.append(Frame(name, file, None, _edge_text(edge)))
                continue
        line = edge.line if edge is not None and edge.line else def_line
        frames.append(Frame(name, file, line, _edge_text(edge)))
    return tuple(frames)


def _edge_text(edge: Edge | None) -> str | None:
    if edge is None:
        return None
    return f"{edge.kind} (potential)" if edge.potential else edge.kind


def _wildcard_frames(context: _Context, wildcard: tuple[Any, int, str, str]) -> tuple[Frame, ...]:
    """The path to an unbounded dynamic feature, its last frame at the feature's line."""
    node, line, kind, _ = wildcard
    frames = list(_frames(context, context.graph.path(node, concrete=False)))
    if frames and line:
        last = frames[-1]
        frames[-1] = Frame(last.function, last.file, line, f"dynamic: {kind}")
    return tuple(frames)


def _dynamic_text(solver: Solver, node: Any) -> tuple[str, str | None] | None:
    """A node reached through a dynamic feature, in words (what may be called), and the
    file that defines it."""
    if node[0] == "escmod":
        mod = solver.mods.get(node[1])
        file = mod.file.path if mod is not None and mod.file is not None else None
        return f"<any function of module {node[1]}>", file
    if node[0] in ("esc", "new"):
        mod, _ = solver.scopes[node[1]]
        file = mod.file.path if mod.file is not None else None
        what = "a {} instance" if node[0] == "esc" else "class {}"
        return f"<any method or attribute of {what.format(solver.scope_name(node[1]))}>", file
    return None


def _node_text(solver: Solver, node: Any) -> tuple[str, str | None, int | None]:
    kind = node[0]
    if kind == "new":
        mod, rec = solver.scopes[node[1]]
        return solver.scope_name(node[1]), mod.file.path if mod.file else None, rec[LINE]
    if kind == "hub":
        label = "any attribute" if node[1] == "*" else f".{node[1]}"
        return f"<{label} on an object of unresolved type>", None, None
    if kind == "esc":
        return (
            f"<instance of {solver.scope_name(node[1])} handed to code outside the analysis>",
            None,
            None,
        )
    if kind == "escmod":
        return f"<module {node[1]} handed to code outside the analysis>", None, None
    if kind == "ext":
        return node[1], None, None
    if kind == "absent":
        return f"<import of {node[1]}, not in the artifact>", None, None
    return str(node), None, None


def _potential_reason(context: _Context, chain: list[tuple[Any, Edge | None]]) -> str:
    """The first potential edge of ``chain``, in words: the dynamic feature it goes through
    (``getattr with a computed name at app.py:12``) or the kind of gap."""
    for node, edge in chain:
        if edge is None or not edge.potential:
            continue
        words = edge.detail or _POTENTIAL_WORDS.get(edge.kind, edge.kind)
        if isinstance(node, int) and edge.line:
            return f"{words} at {_where(context, node, edge.line)}"
        return words
    return "a potential call"


def _dist_modules(context: _Context, dist: Distribution) -> list[int]:
    return [
        m.base for m in context.solver.mods.values() if m.dist == dist.key and m.kind != "entry"
    ]


def _first_reached(
    context: _Context, nodes: Iterable[Any], *, concrete: bool, proxies: Iterable[Any] = ()
) -> Any | None:
    """The node nearest to an entry point; ties go to a node that is a symbol itself rather
    than a scope instantiating one, then to the one defined first (so reports are stable)."""
    reached = context.graph.concrete if concrete else context.graph.anything
    proxy_set = set(proxies)
    best = None
    best_key: tuple[int, bool, str, int, str] | None = None
    for node in (*nodes, *proxy_set):
        if node in reached:
            key = (
                len(context.graph.path(node, concrete=concrete)),
                node in proxy_set,
                *_definition(context.solver, node),
            )
            if best_key is None or key < best_key:
                best, best_key = node, key
    return best


def _verdict(
    context: _Context,
    vuln: Vulnerability,
    package: AffectedPackage,
    dist: Distribution,
    resolutions: list[Resolution],
) -> Finding:
    solver = context.solver
    severity = severity_of(vuln.severity, vuln.severity_label)
    base: dict[str, Any] = {
        "vulnerability": vuln.id,
        "aliases": vuln.aliases,
        "summary": vuln.summary,
        "package": dist.name,
        "version": dist.version,
        "purl": dist.purl,
        "severity": severity,
        "fixed": package.fixed_versions,
        "symbol_data": package.has_symbols,
        "version_source": dist.source,
        "references": vuln.references[:10],
    }

    def make(tier: Tier, reason: str, **extra: Any) -> Finding:
        return Finding(
            tier=tier, reason=reason, priority=_priority(severity, tier), **base, **extra
        )

    matched = affects(package, dist.version)
    if matched is False:
        return make(
            Tier.NOT_INSTALLED,
            f"{dist.name} {dist.version} is outside the affected versions",
            justification="component_not_present",
            evidence={"version_source": dist.source},
        )
    evidence: dict[str, JsonValue] = {"version_source": dist.source}
    if matched is None:
        evidence["version_note"] = (
            "the version in use is not known exactly"
            if dist.version is None
            else f"version {dist.version} cannot be compared with the affected ranges"
        )
    # Is the package imported at all?
    if dist.installed:
        module_nodes: list[Any] = _dist_modules(context, dist)
    else:
        module_nodes = [
            ("absent", m)
            for m in solver.absent_imports
            if m.partition(".")[0] in _tops(dist, package)
        ]
    imported_concrete = _first_reached(context, module_nodes, concrete=True)
    imported_any = imported_concrete or _first_reached(context, module_nodes, concrete=False)
    opaque = context.opaque.get(dist.key) or context.opaque.get("*")
    wildcard = context.wildcards[0] if context.wildcards else None
    if imported_any is None and wildcard is None and opaque is None:
        return make(
            Tier.NOT_IMPORTED,
            f"no module of {dist.name} is imported from any entry point",
            justification="vulnerable_code_not_in_execute_path",
            evidence=evidence,
        )
    gap = _gap_reason(context, wildcard, opaque)
    if not package.has_symbols:
        evidence["basis"] = "package"
        if imported_concrete is not None:
            chain = context.graph.path(imported_concrete, concrete=True)
            return make(
                Tier.REACHABLE,
                f"no symbol data: {dist.name} is imported on a path from an entry point, "
                "so its vulnerable code is assumed reached",
                path=_frames(context, chain),
                evidence=evidence,
            )
        if imported_any is not None:
            chain = context.graph.path(imported_any, concrete=False)
            return make(
                Tier.UNKNOWN,
                f"no symbol data, and {dist.name} is imported only through {_potential_reason(context, chain)}",
                path=_frames(context, chain),
                evidence=evidence,
            )
        return make(Tier.UNKNOWN, f"no symbol data; {gap}", evidence=evidence)
    evidence["basis"] = "symbol"
    evidence["symbols"] = [s.text for s in package.symbols] + [
        r[0].text for r in package.candidates if r
    ]
    if not dist.installed:
        return _absent_verdict(context, dist, package, make, evidence, imported_any, gap)
    primary, derived = _target_nodes(solver, resolutions)
    proxies = _instantiation_proxies(solver, resolutions, dist)
    for concrete in (True, False):
        # A listed symbol itself (a class created) makes a better path end than a method
        # derived from it, even when the method is a step closer to the entry point.
        hit = _first_reached(context, primary, concrete=concrete, proxies=proxies)
        if hit is None:
            hit = _first_reached(context, derived, concrete=concrete)
        if hit is None:
            continue
        chain = context.graph.path(hit, concrete=concrete)
        if hit in proxies:
            created = proxies[hit]
            chain[-1] = (hit, solver.edges[hit][created])
            chain.append((created, None))
            hit = created
        if concrete:
            return make(
                Tier.REACHABLE,
                f"{_node_label(solver, hit)} is reached from an entry point",
                path=_frames(context, chain),
                evidence=evidence,
            )
        reason = f"{_node_label(solver, hit)} may be reached through "
        reason += _potential_reason(context, chain)
        if wildcard is not None:
            reason += f"; besides, {gap}"
        return make(Tier.UNKNOWN, reason, path=_frames(context, chain), evidence=evidence)
    by_name = _by_name_hit(context, resolutions)
    if by_name is not None:
        name, chain = by_name
        return make(
            Tier.UNKNOWN,
            f"`.{name}` is used on an object of unresolved type while the vulnerable class is "
            "instantiated",
            path=_frames(context, chain),
            evidence=evidence,
        )
    if wildcard is not None or opaque is not None:
        frames = _wildcard_frames(context, wildcard) if wildcard is not None else ()
        return make(Tier.UNKNOWN, gap, path=frames, evidence=evidence)
    if imported_any is not None and imported_concrete is None:
        chain = context.graph.path(imported_any, concrete=False)
        return make(
            Tier.UNKNOWN,
            f"{dist.name} is imported only through {_potential_reason(context, chain)}",
            path=_frames(context, chain),
            evidence=evidence,
        )
    blind = [r for r in resolutions if r.status == "opaque"]
    if blind:
        evidence["unresolved"] = [r.detail for r in blind]
        return make(
            Tier.UNKNOWN,
            f"{blind[0].symbol.text} is in code the analysis cannot read",
            evidence=evidence,
        )
    if resolutions and all(r.status in ("not-found", "module-absent") for r in resolutions):
        evidence["absent_symbols"] = [r.detail for r in resolutions]
        return make(
            Tier.SYMBOL_NOT_REFERENCED,
            f"none of the vulnerable symbols exists in the installed {dist.name}",
            justification="vulnerable_code_not_present",
            evidence=evidence,
        )
    references = _outside_references(context, resolutions, dist)
    if references:
        evidence["references"] = references[:10]
        return make(
            Tier.NO_CALL_PATH,
            f"a vulnerable symbol is referenced ({references[0]}) but no call path leads to it "
            "from an entry point",
            justification="vulnerable_code_not_in_execute_path",
            evidence=evidence,
        )
    return make(
        Tier.SYMBOL_NOT_REFERENCED,
        f"{dist.name} is imported, but no vulnerable or derived symbol is referenced",
        justification="vulnerable_code_not_in_execute_path",
        evidence=evidence,
    )


def _target_nodes(solver: Solver, resolutions: list[Resolution]) -> tuple[set[Any], set[Any]]:
    """The call-graph nodes whose reaching means reaching the vulnerable code: the listed
    symbols themselves, and the methods derived from a listed class.

    A function or method symbol is its node. A class symbol is reached when it is
    instantiated or any of its methods runs, except when the symbol data also
    names methods of that class (``URLValidator`` with ``URLValidator.__call__``):
    then only those methods count, since creating the object runs none of the
    vulnerable code (Django instantiates its validators at import time).
    """
    method_owners: set[int] = set()
    for resolution in resolutions:
        for fid in resolution.fids:
            mod, rec = solver.scopes[fid]
            if rec[KIND] == "F" and rec[PARENT] >= 0 and "." in resolution.symbol.name:
                method_owners.add(mod.base + rec[PARENT])
    nodes: set[Any] = set()
    derived: set[Any] = set()
    for resolution in resolutions:
        for fid in resolution.fids:
            if solver.scopes[fid][1][KIND] == "C":
                if fid in method_owners:
                    continue
                nodes.add(("new", fid))
                for fids in solver.class_methods(fid).values():
                    derived.update(fids)
            else:
                nodes.add(fid)
    primary = _with_clones(solver, nodes)
    return primary, _with_clones(solver, derived) - primary


def _instantiation_proxies(
    solver: Solver, resolutions: list[Resolution], dist: Distribution
) -> dict[Any, Any]:
    """Scopes that instantiate a class symbol whose methods are also listed, other than the
    package's own import-time code: scope -> the class's instantiation node.

    ``SandboxedEnvironment`` is listed with ``SandboxedEnvironment.call``: an
    application creating one uses the vulnerable class even when the method is only
    reached through compiled templates. Django creating ``URLValidator()`` in a class
    body at import time does not run the validator.
    """
    owners: set[int] = set()
    classes: set[int] = set()
    for resolution in resolutions:
        for fid in resolution.fids:
            mod, rec = solver.scopes[fid]
            if rec[KIND] == "C":
                classes.add(fid)
            elif rec[PARENT] >= 0 and "." in resolution.symbol.name:
                owners.add(mod.base + rec[PARENT])
    weak = classes & owners
    if not weak:
        return {}
    created: set[Any] = set()
    for cls in weak:
        created.add(("new", cls))
        created.update(("new", c) for c in solver.clones_of.get(cls, ()))
    proxies: dict[Any, Any] = {}
    for src, targets in solver.edges.items():
        if not isinstance(src, int):
            continue
        mod, rec = solver.scopes[src]
        if rec[KIND] in ("M", "C") and mod.dist == dist.key:
            continue  # the package's own import-time code
        for node in created & targets.keys():
            proxies.setdefault(src, node)
    return proxies


def _with_clones(solver: Solver, nodes: set[Any]) -> set[Any]:
    """Target nodes plus their copies (functions analysed once per callable argument)."""
    out = set(nodes)
    for node in nodes:
        if isinstance(node, int):
            out.update(solver.clones_of.get(node, ()))
        elif node[0] == "new":
            out.update(("new", c) for c in solver.clones_of.get(node[1], ()))
    return out


def _tops(dist: Distribution, package: AffectedPackage) -> set[str]:
    tops = set(dist.top_level)
    tops |= {s.module.partition(".")[0] for s in package.symbols}
    tops |= {r.module.partition(".")[0] for readings in package.candidates for r in readings}
    return tops


def _gap_reason(
    context: _Context,
    wildcard: tuple[Any, int, str, str] | None,
    opaque: tuple[Any, int, str] | None,
) -> str:
    if wildcard is not None:
        fid, line, kind, description = wildcard
        where = _where(context, fid, line)
        more = len(context.wildcards) - 1
        extra = f" (and {more} more such sites)" if more > 0 else ""
        if kind in ("entry", "unparseable"):
            return f"code the analysis cannot read runs: {description}{extra}"
        return f"a dynamic feature that could reach any code is reachable: {description} at {where}{extra}"
    if opaque is None:
        return "no dynamic feature or outside code on the way"
    _node, line, why = opaque
    return f"code outside the artifact runs and may use this package: {why}"


def _where(context: _Context, node: Any, line: int) -> str:
    if isinstance(node, int):
        mod, _ = context.solver.scopes[node]
        file = (mod.file.path if mod.file is not None else None) or mod.name
        return f"{file}:{line}" if line else file
    return str(node)


def _definition(solver: Solver, node: Any) -> tuple[str, int, str]:
    """(file, line, label) of a node, for stable ordering."""
    if isinstance(node, int):
        mod, rec = solver.scopes[node]
        return (
            (mod.file.path if mod.file else None) or "",
            rec[LINE] or 0,
            solver.scope_name(node),
        )
    name, file, line = _node_text(solver, node)
    return (file or "", line or 0, name)


def _node_label(solver: Solver, node: Any) -> str:
    if isinstance(node, int):
        return solver.scope_name(node)
    name, _, _ = _node_text(solver, node)
    return name


def _absent_verdict(
    context: _Context,
    dist: Distribution,
    package: AffectedPackage,
    make: Callable[..., Finding],
    evidence: dict[str, JsonValue],
    imported_any: Any,
    gap: str,
) -> Finding:
    """A pinned package whose code is not in the artifact: match calls by name."""
    solver = context.solver
    symbols = list(package.symbols) + [r for readings in package.candidates for r in readings]
    matches = []
    for node in _all_nodes(solver):
        if not (isinstance(node, tuple) and node[0] == "ext"):
            continue
        if any(_external_matches(node[1], symbol) for symbol in symbols):
            matches.append(node)
    hit = _first_reached(context, matches, concrete=True)
    if hit is not None:
        return make(
            Tier.REACHABLE,
            f"{hit[1]} is called (the code of {dist.name} is not in the artifact)",
            path=_frames(context, context.graph.path(hit, concrete=True)),
            evidence=evidence,
        )
    hit = _first_reached(context, matches, concrete=False)
    if hit is not None:
        return make(
            Tier.UNKNOWN,
            f"{hit[1]} may be called (the code of {dist.name} is not in the artifact)",
            path=_frames(context, context.graph.path(hit, concrete=False)),
            evidence=evidence,
        )
    if imported_any is not None:
        return make(
            Tier.UNKNOWN,
            f"{dist.name} is imported but its code is not in the artifact, so calls into it "
            "cannot be followed",
            path=_frames(context, context.graph.path(imported_any, concrete=False)),
            evidence=evidence,
        )
    return make(Tier.UNKNOWN, gap, evidence=evidence)


def _all_nodes(solver: Solver) -> set[Any]:
    nodes: set[Any] = set()
    for targets in solver.edges.values():
        nodes.update(targets)
    return nodes


def _external_matches(qual: str, symbol: Symbol) -> bool:
    if qual == f"{symbol.module}.{symbol.name}":
        return True
    top = symbol.module.partition(".")[0]
    return qual.startswith(top + ".") and qual.endswith("." + symbol.name)


def _by_name_hit(
    context: _Context, resolutions: list[Resolution]
) -> tuple[str, list[tuple[Any, Edge | None]]] | None:
    """A vulnerable method name used on an unresolved object while its class is instantiated."""
    solver = context.solver
    for resolution in resolutions:
        if "." not in resolution.symbol.name:
            continue
        method = resolution.symbol.name.rpartition(".")[2]
        hub = ("hub", method)
        if hub not in context.graph.anything:
            continue
        owners = set()
        for fid in resolution.fids:
            mod, rec = solver.scopes[fid]
            if rec[KIND] == "F" and rec[PARENT] >= 0:
                owners.add(mod.base + rec[PARENT])
        for cls in solver.instantiated:
            order, _ = solver.mro(cls)
            if owners & {solver.origin.get(k, k) for k in order}:
                return method, context.graph.path(hub, concrete=False)
    return None


def _outside_references(
    context: _Context, resolutions: list[Resolution], dist: Distribution
) -> list[str]:
    solver = context.solver
    found: list[str] = []
    for resolution in resolutions:
        for fid in resolution.fids:
            for scope, line in sorted(solver.refs.get(fid, ())):
                mod, _ = solver.scopes[scope]
                if mod.dist == dist.key or mod.kind == "entry":
                    continue
                found.append(f"{solver.scope_name(scope)} at {_where(context, scope, line)}")
    return sorted(dict.fromkeys(found))


def _priority(severity: Severity, tier: Tier) -> str:
    if tier.not_affected:
        return "none"
    score = nominal_score(severity)
    levels = ["low", "medium", "high", "critical"]
    if score is None:
        level = 2
    elif score >= 9.0:
        level = 3
    elif score >= 7.0:
        level = 2
    elif score >= 4.0:
        level = 1
    else:
        level = 0
    if tier is Tier.UNKNOWN:
        level = max(0, level - 1)
    return levels[level]


def stdlib_module(name: str) -> bool:
    """Whether ``name`` is a standard-library module (re-exported for the renderers)."""
    return is_stdlib(name)
