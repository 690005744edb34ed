"""OSV records: loading (file, directory, zip export), merging overlays, matching versions.

A record may come as one JSON or YAML document holding a record or a list of
records; a directory is walked for ``*.json``, ``*.yaml`` and ``*.yml``; a zip
is read like a directory (the OSV ``all.zip`` export). Records that share an
id, or whose id is an alias of another, are merged: that is how a local
overlay adds symbol data to a published record. An overlay entry that names a
package but carries neither ``ranges`` nor ``versions`` contributes symbols
only; a merged entry with no version data at all affects every version.

Symbol data, per affected package, in three accepted shapes:

* ``ecosystem_specific.imports: [{path, symbols}]`` (the Go vulndb
  convention; methods as ``Class.method``);
* ``ecosystem_specific.imports: [{attribute, modules}]`` (PyPA's form);
* ``affected_functions: ["pkg.mod.func", ...]`` (GitHub), under
  ``ecosystem_specific`` or ``database_specific``; the split between module
  and attribute is ambiguous, so every split is kept as a candidate and
  resolved against the installed code.

Symbol data that cannot be used as such (an ``imports`` entry naming a module
but no symbols, i.e. the whole module, or a name that is not a dotted Python
identifier) is recorded as a gap, and the package is then judged at package
level: a partial symbol list would clear code the record says is vulnerable.

Version matching follows the OSV schema's evaluation algorithm with PEP 440
ordering (``packaging.version``): ``ECOSYSTEM`` (and ``SEMVER``) ranges of
``introduced`` / ``fixed`` / ``last_affected`` / ``limit`` events, plus the
explicit ``versions`` list; a version is affected when it is listed or falls
in any range. ``introduced: "0"`` sorts before every version (pre-releases
of 0 included) and a ``limit`` containing ``*`` is no limit. A local version
label (``1.4+ubuntu1``) is ignored when compared with a bound that has none:
OSV records name upstream releases. ``GIT`` ranges (and types this module
does not know) cannot be mapped to releases: when the package has neither
an ``ECOSYSTEM`` range nor a ``versions`` list, the answer is "cannot be
told", never "not affected". So is any comparison with a version
``packaging`` cannot parse, a range without an ``introduced`` event, or a
version written as a YAML number (``1.10`` reads as 1.1; quote versions).
Timestamps stay strings (the YAML loader keeps them as text).

Records whose ``withdrawn`` is set are dropped together with every other
record carrying the same id (an overlay for a withdrawn advisory must not
resurrect it). Several ``affected[]`` entries for one package are merged: a
version is affected when any of them says so.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipewarden.errors import InputError, ParseError

__all__ = [
    "MAX_OSV_BYTES",
    "MAX_OSV_FILES",
    "AffectedPackage",
    "Symbol",
    "Vulnerability",
    "affects",
    "load_osv",
]

MAX_OSV_FILES: Final = 100_000
MAX_OSV_BYTES: Final = 20 * 1024 * 1024
MAX_OSV_ZIP_TOTAL: Final = 2 * 1024 * 1024 * 1024
_SUFFIXES: Final = (".json", ".yaml", ".yml")
_SYMBOL: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class Symbol:
    """A vulnerable or derived symbol: ``module`` and a name (``Class.method`` allowed)."""

    module: str
    name: str

    @property
    def text(self) -> str:
        return f"{self.module}:{self.name}"


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One package of a record (its ``affected[]`` entries for PyPI, merged)."""

    name: str
    key: str
    ranges: tuple[tuple[Mapping[str, str], ...], ...] = ()
    versions: tuple[str, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    candidates: tuple[tuple[Symbol, ...], ...] = ()
    """Dotted names whose split is unknown (GitHub ``affected_functions``): each
    tuple lists the possible readings of one name."""
    has_version_data: bool = False
    opaque_ranges: tuple[str, ...] = ()
    """Types of the ranges that cannot be evaluated against releases (``GIT``)."""
    inexact_versions: bool = False
    """A ``versions`` entry was a number, not text (YAML ``1.10`` reads as 1.1)."""
    symbol_gaps: tuple[str, ...] = ()
    """Symbol entries that could not be used; any gap means package-level verdicts."""

    @property
    def has_symbols(self) -> bool:
        """Whether usable symbol data exists (complete: no entry was unusable)."""
        return bool(self.symbols or self.candidates) and not self.symbol_gaps

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        """Every ``fixed`` event, in PEP 440 order (for remediation advice)."""
        found = {
            e["fixed"]
            for events in self.ranges
            for e in events
            if "fixed" in e and not e["fixed"].startswith("<")  # not a lost YAML number
        }
        return tuple(sorted(found, key=lambda v: _events_key(v) or Version("0")))


@dataclass(frozen=True, slots=True)
class Vulnerability:
    """An OSV record reduced to what reachability needs."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    packages: tuple[AffectedPackage, ...]
    severity: tuple[tuple[str, str], ...] = ()
    """(type, score) pairs from ``severity[]`` and ``affected[].severity[]``."""
    severity_label: str | None = None
    """A textual severity (``database_specific.severity``) when no score exists."""
    references: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    published: str | None = None
    modified: str | None = None


def _events_key(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def _seen_as(version: Version, bound: Version) -> Version:
    """``version`` as compared with ``bound``: without its local label when ``bound`` has none."""
    if version.local is not None and bound.local is None:
        return Version(version.public)
    return version


def _in_range(version: Version, events: tuple[Mapping[str, str], ...]) -> bool | None:
    """Whether ``version`` falls in one OSV range; None when the range cannot be evaluated."""
    timeline: list[tuple[Version | None, str]] = []  # None: before every version
    limits: list[Version] = []
    for event in events:
        for kind, raw in event.items():
            if kind == "limit":
                if "*" in raw:
                    continue  # "*" is infinity: no limit
                bound = _events_key(raw)
                if bound is None:
                    return None
                limits.append(bound)
            elif kind in ("introduced", "fixed", "last_affected"):
                if kind == "introduced" and raw == "0":
                    timeline.append((None, kind))
                    continue
                bound = _events_key(raw)
                if bound is None:
                    return None
                timeline.append((bound, kind))
    if not any(kind == "introduced" for _, kind in timeline):
        return None  # the schema requires one; without it the range says nothing
    if limits and not any(_seen_as(version, limit) < limit for limit in limits):
        return False
    timeline.sort(key=lambda item: (item[0] is not None, item[0] or _ZERO))
    affected = False
    for bound, kind in timeline:
        if bound is None:
            affected = True
            continue
        seen = _seen_as(version, bound)
        if kind == "introduced":
            if seen >= bound:
                affected = True
        elif kind == "fixed":
            if seen >= bound:
                affected = False
        elif seen > bound:  # last_affected
            affected = False
    return affected


_ZERO: Final = Version("0")


def _listed(version: Version, listed: str) -> bool:
    parsed = _events_key(listed)
    return parsed is not None and _seen_as(version, parsed) == parsed


def affects(package: AffectedPackage, version: str | None) -> bool | None:
    """Whether ``version`` is affected: True, False, or None when it cannot be told."""
    if version is None:
        return None
    if not package.has_version_data:
        return True
    if version in package.versions:
        return True
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None  # not listed verbatim, and cannot be placed in a range
    if any(_listed(parsed, listed) for listed in package.versions):
        return True
    undecided = package.inexact_versions
    for events in package.ranges:
        verdict = _in_range(parsed, events)
        if verdict is None:
            undecided = True
        elif verdict:
            return True
    if package.opaque_ranges and not package.versions and not package.ranges:
        undecided = True  # e.g. GIT ranges only: nothing that speaks of releases
    return None if undecided else False


# -- loading -------------------------------------------------------------------


def load_osv(paths: Iterable[Path], notes: list[str]) -> list[Vulnerability]:
    """Every PyPI record in ``paths`` (files, directories, zip exports), merged by id."""
    raw: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        raw.extend(_documents(path, notes))
    return _merge(raw, notes)


def _documents(path: Path, notes: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    if path.is_dir():
        count = 0
        for child in sorted(path.rglob("*")):
            if child.is_symlink() or not child.is_file() or child.suffix.lower() not in _SUFFIXES:
                continue
            count += 1
            if count > MAX_OSV_FILES:
                raise InputError(str(path), f"more than {MAX_OSV_FILES} OSV files")
            yield from _file_records(str(child), _read_file(child), notes, skip_unknown=True)
        return
    if not path.is_file():
        raise InputError(str(path), "no such file or directory")
    if zipfile.is_zipfile(path):
        yield from _zip_records(path, notes)
        return
    yield from _file_records(str(path), _read_file(path), notes, skip_unknown=False)


def _read_file(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_OSV_BYTES:
            raise InputError(
                str(path), f"file is {size} bytes, over the {MAX_OSV_BYTES}-byte limit"
            )
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from exc


def _zip_records(path: Path, notes: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(str(path), f"not a readable zip archive: {exc}") from exc
    with archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir() and i.filename.lower().endswith(_SUFFIXES)
        ]
        if len(infos) > MAX_OSV_FILES:
            raise InputError(str(path), f"more than {MAX_OSV_FILES} OSV files")
        total = 0
        for info in infos:
            total += info.file_size
            if total > MAX_OSV_ZIP_TOTAL or info.file_size > MAX_OSV_BYTES:
                raise InputError(str(path), "archive inflates past the OSV size limits")
            with archive.open(info) as fh:
                data = fh.read(MAX_OSV_BYTES + 1)
            if len(data) > MAX_OSV_BYTES:
                raise InputError(f"{path}!{info.filename}", "inflates past the size limit")
            yield from _file_records(f"{path}!{info.filename}", data, notes, skip_unknown=True)


def _file_records(
    source: str, data: bytes, notes: list[str], *, skip_unknown: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    from pipewarden.parse._source import check_depth, load_json

    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InputError(source, f"not UTF-8 text (byte {exc.start})") from exc
    if source.lower().endswith((".yaml", ".yml")):
        from pipewarden.parse._yaml import load_yaml

        document, _ = load_yaml(text, source)
    else:
        document = load_json(text, source)
    check_depth(document, source)
    records = document if isinstance(document, list) else [document]
    for i, record in enumerate(records):
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            yield source if len(records) == 1 else f"{source}#{i}", record
        elif not skip_unknown:
            raise ParseError(source, "not an OSV record (an object with an `id`) or a list of them")


def _text_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _version_text(value: Any) -> str:
    """An event or listed version as text; a number whose text is lost becomes unparseable."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # integers keep their digits (``introduced: 0``)
    return f"<{type(value).__name__} {value!r}>"  # never a valid version


def _symbols(
    entry: Mapping[str, Any],
) -> tuple[list[Symbol], list[tuple[Symbol, ...]], list[str]]:
    symbols: list[Symbol] = []
    candidates: list[tuple[Symbol, ...]] = []
    gaps: list[str] = []
    functions: list[Any] = []
    for field in ("ecosystem_specific", "database_specific"):
        specific = entry.get(field)
        if not isinstance(specific, dict):
            continue
        listed = specific.get("affected_functions")
        if isinstance(listed, list):
            functions.extend(listed)
        if field != "ecosystem_specific":
            continue
        imports = specific.get("imports")
        for item in imports if isinstance(imports, list) else ():
            if not isinstance(item, dict):
                gaps.append(f"imports entry {item!r:.60}")
            elif "path" in item:
                path = item.get("path")
                names = item.get("symbols")
                if not isinstance(path, str) or not _SYMBOL.match(path):
                    gaps.append(f"imports path {path!r:.60}")
                elif not isinstance(names, list) or not names:
                    gaps.append(f"module {path} (no symbols: the whole module)")
                else:
                    for name in names:
                        if isinstance(name, str) and _SYMBOL.match(name):
                            symbols.append(Symbol(path, name))
                        else:
                            gaps.append(f"symbol {name!r:.60} of {path}")
            elif "attribute" in item:
                attribute = item.get("attribute")
                modules = item.get("modules")
                if not isinstance(attribute, str) or not _SYMBOL.match(attribute):
                    gaps.append(f"imports attribute {attribute!r:.60}")
                elif not isinstance(modules, list) or not modules:
                    gaps.append(f"attribute {attribute} without modules")
                else:
                    for module in modules:
                        if isinstance(module, str) and _SYMBOL.match(module):
                            symbols.append(Symbol(module, attribute))
                        else:
                            gaps.append(f"module {module!r:.60} of {attribute}")
            else:
                gaps.append(f"imports entry {item!r:.60}")
    for dotted in functions:
        if not isinstance(dotted, str) or not _SYMBOL.match(dotted) or "." not in dotted:
            gaps.append(f"affected function {dotted!r:.60}")
            continue
        parts = dotted.split(".")
        candidates.append(
            tuple(
                Symbol(".".join(parts[:cut]), ".".join(parts[cut:]))
                for cut in range(len(parts) - 1, 0, -1)
                if len(parts) - cut <= 2
            )
        )
    return symbols, candidates, gaps


def _pypi_entries(
    record: Mapping[str, Any], source: str, notes: list[str]
) -> tuple[AffectedPackage, ...]:
    out: list[AffectedPackage] = []
    for entry in _items(record.get("affected")):
        if not isinstance(entry, dict):
            continue
        package = entry.get("package")
        if not isinstance(package, dict):
            continue
        ecosystem = package.get("ecosystem")
        name = package.get("name")
        if not isinstance(ecosystem, str) or ecosystem.split(":", 1)[0].lower() != "pypi":
            continue
        if not isinstance(name, str) or not name.strip():
            continue
        ranges: list[tuple[Mapping[str, str], ...]] = []
        opaque: list[str] = []
        raw_ranges = entry.get("ranges")
        for rng in raw_ranges if isinstance(raw_ranges, list) else []:
            if not isinstance(rng, dict):
                continue
            kind = rng.get("type")
            if kind not in ("ECOSYSTEM", "SEMVER"):
                opaque.append(str(kind)[:40])
                continue
            events = rng.get("events")
            ranges.append(
                tuple(
                    {str(k): _version_text(v) for k, v in e.items()}
                    for e in (events if isinstance(events, list) else [])
                    if isinstance(e, dict)
                )
            )
        raw_versions = entry.get("versions")
        versions = tuple(dict.fromkeys(_text_list(raw_versions)))
        inexact = any(not isinstance(v, str) for v in _items(raw_versions))
        symbols, candidates, gaps = _symbols(entry)
        if opaque and not ranges and not versions and not inexact:
            notes.append(
                f"{source}: {record.get('id')} has only {'/'.join(sorted(set(opaque)))} ranges "
                f"for {name}: affected versions cannot be told"
            )
        if inexact:
            notes.append(
                f"{source}: {record.get('id')} lists versions of {name} that are not text "
                "(quote them): versions outside its ranges cannot be cleared"
            )
        if gaps:
            notes.append(
                f"{source}: {record.get('id')}: symbol data for {name} not used "
                f"({gaps[0]}{'' if len(gaps) == 1 else f' and {len(gaps) - 1} more'})"
            )
        out.append(
            AffectedPackage(
                name=name,
                key=canonicalize_name(name),
                ranges=tuple(ranges),
                versions=versions,
                symbols=tuple(dict.fromkeys(symbols)),
                candidates=tuple(dict.fromkeys(candidates)),
                has_version_data=bool(ranges or opaque or versions or inexact),
                opaque_ranges=tuple(dict.fromkeys(opaque)),
                inexact_versions=inexact,
                symbol_gaps=tuple(dict.fromkeys(gaps)),
            )
        )
    return _merge_packages((), tuple(out))


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _severity(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    entries: list[Any] = list(_items(record.get("severity")))
    for affected in _items(record.get("affected")):
        if isinstance(affected, dict):
            entries.extend(_items(affected.get("severity")))
    return tuple(
        dict.fromkeys(
            (str(item.get("type", "")), item["score"])
            for item in entries
            if isinstance(item, dict) and isinstance(item.get("score"), str)
        )
    )


def _first_line(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    for line in value.strip().splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def _convert(source: str, record: Mapping[str, Any], notes: list[str]) -> Vulnerability | None:
    packages = _pypi_entries(record, source, notes)
    if not packages:
        return None
    refs = tuple(
        r["url"]
        for r in _items(record.get("references"))
        if isinstance(r, dict) and isinstance(r.get("url"), str)
    )
    specific = record.get("database_specific")
    label = None
    if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
        label = specific["severity"]
    published = record.get("published")
    modified = record.get("modified")
    return Vulnerability(
        id=str(record["id"]),
        aliases=_text_list(record.get("aliases")),
        summary=_first_line(record.get("summary")) or _first_line(record.get("details")),
        packages=packages,
        severity=_severity(record),
        severity_label=label,
        references=refs,
        sources=(source,),
        published=published if isinstance(published, str) else None,
        modified=modified if isinstance(modified, str) else None,
    )


def _merge_packages(
    first: tuple[AffectedPackage, ...], second: tuple[AffectedPackage, ...]
) -> tuple[AffectedPackage, ...]:
    merged: dict[str, AffectedPackage] = {}
    for package in (*first, *second):
        current = merged.get(package.key)
        if current is None:
            merged[package.key] = package
            continue
        merged[package.key] = replace(
            current,
            ranges=_unique(current.ranges + package.ranges),
            versions=tuple(dict.fromkeys((*current.versions, *package.versions))),
            symbols=tuple(dict.fromkeys((*current.symbols, *package.symbols))),
            candidates=tuple(dict.fromkeys((*current.candidates, *package.candidates))),
            has_version_data=current.has_version_data or package.has_version_data,
            opaque_ranges=tuple(dict.fromkeys((*current.opaque_ranges, *package.opaque_ranges))),
            inexact_versions=current.inexact_versions or package.inexact_versions,
            symbol_gaps=tuple(dict.fromkeys((*current.symbol_gaps, *package.symbol_gaps))),
        )
    return tuple(merged.values())


def _unique(
    ranges: tuple[tuple[Mapping[str, str], ...], ...],
) -> tuple[tuple[Mapping[str, str], ...], ...]:
    seen: set[str] = set()
    out: list[tuple[Mapping[str, str], ...]] = []
    for events in ranges:
        key = json.dumps(events, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(events)
    return tuple(out)


def _merge(raw: list[tuple[str, dict[str, Any]]], notes: list[str]) -> list[Vulnerability]:
    withdrawn: set[str] = set()
    for source, record in raw:
        if record.get("withdrawn"):
            withdrawn.add(str(record["id"]))
            notes.append(f"{source}: {record['id']} is withdrawn, ignored")
    by_id: dict[str, Vulnerability] = {}
    alias_of: dict[str, str] = {}
    for source, record in raw:
        if str(record["id"]) in withdrawn:
            continue
        vuln = _convert(source, record, notes)
        if vuln is None:
            continue
        target = vuln.id if vuln.id in by_id else alias_of.get(vuln.id)
        if target is None:
            target = next((alias_of[a] for a in vuln.aliases if a in alias_of), None)
        if target is None:
            target = next((a for a in vuln.aliases if a in by_id), None)
        if target is None:
            by_id[vuln.id] = vuln
            for alias in vuln.aliases:
                alias_of.setdefault(alias, vuln.id)
            continue
        base = by_id[target]
        by_id[target] = replace(
            base,
            aliases=tuple(
                dict.fromkeys(a for a in (*base.aliases, *vuln.aliases, vuln.id) if a != base.id)
            ),
            summary=base.summary or vuln.summary,
            packages=_merge_packages(base.packages, vuln.packages),
            severity=tuple(dict.fromkeys((*base.severity, *vuln.severity))),
            severity_label=base.severity_label or vuln.severity_label,
            references=tuple(dict.fromkeys((*base.references, *vuln.references))),
            sources=(*base.sources, *vuln.sources),
            published=base.published or vuln.published,
            modified=base.modified or vuln.modified,
        )
        for alias in vuln.aliases:
            alias_of.setdefault(alias, target)
    return sorted(by_id.values(), key=lambda v: v.id)
