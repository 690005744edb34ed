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
* ``ecosystem_specific.affected_functions: ["pkg.mod.func", ...]`` (GitHub);
  the split between module and attribute is ambiguous, so every split is
  kept as a candidate and resolved against the installed code.

Version matching follows the OSV schema with PEP 440 ordering
(``packaging.version``): ``ECOSYSTEM`` (and ``SEMVER``) ranges of
``introduced`` / ``fixed`` / ``last_affected`` / ``limit`` events, plus the
explicit ``versions`` list. ``GIT`` ranges cannot be mapped to releases and
are ignored. Timestamps stay strings (the YAML loader keeps them as text).
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
    """One ``affected[]`` entry for PyPI, after merging."""

    name: str
    key: str
    ranges: tuple[tuple[Mapping[str, str], ...], ...] = ()
    versions: tuple[str, ...] = ()
    symbols: tuple[Symbol, ...] = ()
    candidates: tuple[tuple[Symbol, ...], ...] = ()
    """Dotted names whose split is unknown (GitHub ``affected_functions``): each
    tuple lists the possible readings of one name."""
    has_version_data: bool = False

    @property
    def has_symbols(self) -> bool:
        return bool(self.symbols or self.candidates)

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        """Every ``fixed`` event, in PEP 440 order (for remediation advice)."""
        found = {e["fixed"] for events in self.ranges for e in events if "fixed" in e}
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


def _in_range(version: Version, events: tuple[Mapping[str, str], ...]) -> bool | None:
    """Whether ``version`` falls in one OSV range; None when an event cannot be parsed."""
    intervals: list[tuple[Version, Version | None, bool]] = []
    ordered: list[tuple[Version, str]] = []
    for event in events:
        for kind, raw in event.items():
            if kind not in ("introduced", "fixed", "last_affected", "limit"):
                continue
            if kind == "introduced" and raw == "0":
                ordered.append((Version("0"), kind))
                continue
            parsed = _events_key(str(raw))
            if parsed is None:
                return None
            ordered.append((parsed, kind))
    ordered.sort(key=lambda pair: pair[0])
    start: Version | None = None
    limits: list[Version] = []
    for value, kind in ordered:
        if kind == "introduced":
            if start is None:
                start = value
        elif kind == "fixed":
            if start is not None:
                intervals.append((start, value, False))
                start = None
        elif kind == "last_affected":
            if start is not None:
                intervals.append((start, value, True))
                start = None
        else:
            limits.append(value)
    if start is not None:
        intervals.append((start, None, False))
    if limits and all(version >= limit for limit in limits):
        return False
    for low, high, inclusive in intervals:
        if version < low:
            continue
        if high is None or version < high or (inclusive and version == high):
            return True
    return False


def affects(package: AffectedPackage, version: str | None) -> bool | None:
    """Whether ``version`` is affected: True, False, or None when it cannot be told."""
    if version is None:
        return None
    if not package.has_version_data:
        return True
    try:
        parsed = Version(version)
    except InvalidVersion:
        return True if version in package.versions else None
    undecided = False
    for listed in package.versions:
        try:
            if Version(listed) == parsed:
                return True
        except InvalidVersion:
            if listed == version:
                return True
    for events in package.ranges:
        verdict = _in_range(parsed, events)
        if verdict is None:
            undecided = True
        elif verdict:
            return True
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
    return tuple(str(v) for v in value if isinstance(v, str | int | float))


def _symbols(entry: Mapping[str, Any]) -> tuple[list[Symbol], list[tuple[Symbol, ...]]]:
    specific = entry.get("ecosystem_specific")
    symbols: list[Symbol] = []
    candidates: list[tuple[Symbol, ...]] = []
    if not isinstance(specific, dict):
        return symbols, candidates
    imports = specific.get("imports")
    if isinstance(imports, list):
        for item in imports:
            if not isinstance(item, dict):
                continue
            path = item.get("path")
            names = item.get("symbols")
            if isinstance(path, str) and isinstance(names, list) and _SYMBOL.match(path):
                symbols.extend(
                    Symbol(path, n) for n in names if isinstance(n, str) and _SYMBOL.match(n)
                )
            attribute = item.get("attribute")
            modules = item.get("modules")
            if (
                isinstance(attribute, str)
                and isinstance(modules, list)
                and _SYMBOL.match(attribute)
            ):
                symbols.extend(
                    Symbol(m, attribute) for m in modules if isinstance(m, str) and _SYMBOL.match(m)
                )
    functions = specific.get("affected_functions")
    if isinstance(functions, list):
        for dotted in functions:
            if not isinstance(dotted, str) or not _SYMBOL.match(dotted):
                continue
            parts = dotted.split(".")
            readings = tuple(
                Symbol(".".join(parts[:cut]), ".".join(parts[cut:]))
                for cut in range(len(parts) - 1, 0, -1)
                if len(parts) - cut <= 2
            )
            if readings:
                candidates.append(readings)
    return symbols, candidates


def _pypi_entries(
    record: Mapping[str, Any], source: str, notes: list[str]
) -> list[AffectedPackage]:
    out: list[AffectedPackage] = []
    affected = record.get("affected")
    if not isinstance(affected, list):
        return out
    for entry in affected:
        if not isinstance(entry, dict):
            continue
        package = entry.get("package")
        if not isinstance(package, dict):
            continue
        ecosystem = str(package.get("ecosystem", ""))
        name = package.get("name")
        if ecosystem.split(":", 1)[0].lower() != "pypi" or not isinstance(name, str):
            continue
        ranges: list[tuple[Mapping[str, str], ...]] = []
        raw_ranges = entry.get("ranges")
        has_ranges = isinstance(raw_ranges, list) and bool(raw_ranges)
        for rng in raw_ranges if isinstance(raw_ranges, list) else []:
            if not isinstance(rng, dict) or rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            events = rng.get("events")
            if isinstance(events, list):
                ranges.append(
                    tuple(
                        {str(k): str(v) for k, v in e.items()}
                        for e in events
                        if isinstance(e, dict)
                    )
                )
        versions = _text_list(entry.get("versions"))
        symbols, candidates = _symbols(entry)
        if has_ranges and not ranges and not versions:
            notes.append(f"{source}: {record.get('id')} has only GIT ranges for {name}")
        out.append(
            AffectedPackage(
                name=name,
                key=canonicalize_name(name),
                ranges=tuple(ranges),
                versions=versions,
                symbols=tuple(dict.fromkeys(symbols)),
                candidates=tuple(dict.fromkeys(candidates)),
                has_version_data=bool(ranges or versions or has_ranges),
            )
        )
    return out


def _severity(record: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    entries: list[Any] = list(record.get("severity") or [])
    for affected in record.get("affected") or []:
        if isinstance(affected, dict):
            entries.extend(affected.get("severity") or [])
    out.extend(
        (str(item.get("type", "")), item["score"])
        for item in entries
        if isinstance(item, dict) and isinstance(item.get("score"), str)
    )
    return tuple(dict.fromkeys(out))


def _convert(source: str, record: Mapping[str, Any], notes: list[str]) -> Vulnerability | None:
    if record.get("withdrawn"):
        notes.append(f"{source}: {record.get('id')} is withdrawn, ignored")
        return None
    packages = _pypi_entries(record, source, notes)
    if not packages:
        return None
    refs = tuple(
        r["url"]
        for r in record.get("references") or []
        if isinstance(r, dict) and isinstance(r.get("url"), str)
    )
    specific = record.get("database_specific")
    label = None
    if isinstance(specific, dict) and isinstance(specific.get("severity"), str):
        label = specific["severity"]
    summary = record.get("summary") or record.get("details") or ""
    return Vulnerability(
        id=str(record["id"]),
        aliases=_text_list(record.get("aliases")),
        summary=str(summary).strip().splitlines()[0][:300] if summary else "",
        packages=tuple(packages),
        severity=_severity(record),
        severity_label=label,
        references=refs,
        sources=(source,),
        published=str(record["published"]) if record.get("published") else None,
        modified=str(record["modified"]) if record.get("modified") else None,
    )


def _merge_packages(
    first: tuple[AffectedPackage, ...], second: tuple[AffectedPackage, ...]
) -> tuple[AffectedPackage, ...]:
    merged: dict[str, AffectedPackage] = {}
    order: list[str] = []
    for package in (*first, *second):
        current = merged.get(package.key)
        if current is None:
            merged[package.key] = package
            order.append(package.key)
            continue
        merged[package.key] = replace(
            current,
            ranges=_unique(current.ranges + package.ranges),
            versions=tuple(dict.fromkeys((*current.versions, *package.versions))),
            symbols=tuple(dict.fromkeys((*current.symbols, *package.symbols))),
            candidates=tuple(dict.fromkeys((*current.candidates, *package.candidates))),
            has_version_data=current.has_version_data or package.has_version_data,
        )
    return tuple(merged[k] for k in order)


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
    by_id: dict[str, Vulnerability] = {}
    alias_of: dict[str, str] = {}
    for source, record in raw:
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
        )
        for alias in vuln.aliases:
            alias_of.setdefault(alias, target)
    return sorted(by_id.values(), key=lambda v: v.id)
