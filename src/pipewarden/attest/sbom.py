"""A CycloneDX 1.6 SBOM for a build output: what Python and npm packages it declares or holds.

The output is a directory or a zip archive (a Lambda bundle, a CodeBuild
artifact). Inside it, these files are read (nothing is executed, nothing
fetched):

* ``requirements*.txt``: pinned lines (``name==version``), with their
  ``--hash=sha256:...`` options; unpinned lines are not components;
* ``poetry.lock``, ``uv.lock``, ``Pipfile.lock``: every locked package with the
  hashes of its files; local projects (editable, virtual, path sources) are
  left out;
* ``*.dist-info/METADATA`` and ``*.egg-info/PKG-INFO``: installed packages;
* ``package-lock.json``, ``npm-shrinkwrap.json``, ``node_modules/.package-lock.json``
  (lockfile versions 1 to 3): every installed package, ``integrity`` as the hash;
  development dependencies get scope ``optional``.

Each package becomes one component (deduplicated by package URL) with its
purl, its hashes and, as evidence, every place it was found. The document is
deterministic: components are sorted, the timestamp comes from the injected
clock and the serial number is derived from the content unless given.

A zip is read in memory, member by member, never extracted. It is rejected
as a whole (:class:`~pipewarden.errors.InputError`) when any member name is
absolute or climbs out with ``..``, a member is a symbolic link, two members
share a name, or the sizes look like a decompression bomb.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import stat
import tomllib
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Final

from pipewarden.errors import InputError, ParseError

if TYPE_CHECKING:
    import datetime as dt

    from cyclonedx.model.bom import Bom

__all__ = [
    "LIMITS",
    "Limits",
    "Package",
    "build_sbom",
    "find_packages",
]


@dataclass(frozen=True, slots=True)
class Limits:
    """What a build output may hold before it is refused."""

    max_entries: int = 500_000
    """Files (directory) or members (zip) at most."""
    max_manifest_bytes: int = 64 * 1024 * 1024
    """Size of one manifest (lock file, METADATA) read."""
    max_total_read: int = 512 * 1024 * 1024
    """Bytes of manifests read in all."""
    max_unpacked: int = 8 * 1024 * 1024 * 1024
    """Declared uncompressed size of a whole zip."""
    max_ratio: int = 200
    """Compression ratio of any zip member larger than ``ratio_floor``."""
    ratio_floor: int = 1024 * 1024
    max_depth: int = 64
    """Directory nesting."""


LIMITS: Final = Limits()

_PYPI_NAME: Final = re.compile(r"\A[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
_NPM_NAME: Final = re.compile(r"\A(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9._~][a-z0-9._~-]*\Z", re.I)
_VERSION: Final = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9.+!_*-]{0,127}\Z")
_HEX_LENGTH: Final = {"SHA-1": 40, "SHA-256": 64, "SHA-384": 96, "SHA-512": 128}
_HASH_NAMES: Final = {
    "sha1": "SHA-1",
    "sha256": "SHA-256",
    "sha384": "SHA-384",
    "sha512": "SHA-512",
}
_REQ_HASH: Final = re.compile(r"--hash(?:=|\s+)(\w+):([0-9A-Fa-f]+)")
_REQ_OPTION: Final = re.compile(r"(?:^|\s)--?[A-Za-z][\w-]*(?:[=\s]+\S+)?")
_REQ_PIN: Final = re.compile(
    r"\A(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*(?P<version>[^\s*,;]+)\s*\Z"
)
_NPM_LOCKS: Final = frozenset({"package-lock.json", "npm-shrinkwrap.json"})
_SKIP_DIRS: Final = frozenset({".git", ".hg", ".svn"})


@dataclass(frozen=True, slots=True)
class Package:
    """One package seen in the output: what, where, and its hashes (algorithm, hex)."""

    ecosystem: str  # "pypi" | "npm"
    name: str
    version: str
    location: str
    line: int | None = None
    hashes: tuple[tuple[str, str], ...] = ()
    development: bool = False
    qualifiers: tuple[tuple[str, str], ...] = ()


# ---------------------------------------------------------------- reading the output


@dataclass(slots=True)
class _Budget:
    limits: Limits
    source: str
    read: int = 0

    def take(self, size: int, where: str) -> None:
        if size > self.limits.max_manifest_bytes:
            raise InputError(
                self.source,
                f"{where} is {size} bytes, over the {self.limits.max_manifest_bytes} byte limit",
            )
        self.read += size
        if self.read > self.limits.max_total_read:
            raise InputError(
                self.source, f"manifests add up to over {self.limits.max_total_read} bytes"
            )


def _manifest_kind(path: PurePosixPath) -> str | None:
    name = path.name
    parent = path.parent.name
    if name in _NPM_LOCKS or (name == ".package-lock.json" and parent == "node_modules"):
        return "npm"
    if name == "poetry.lock":
        return "poetry"
    if name == "uv.lock":
        return "uv"
    if name == "Pipfile.lock":
        return "pipfile"
    if name == "METADATA" and parent.endswith(".dist-info"):
        return "metadata"
    if name == "PKG-INFO" and parent.endswith(".egg-info"):
        return "metadata"
    if name.endswith(".txt") and (name.startswith("requirements") or parent == "requirements"):
        return "requirements"
    return None


def _directory_manifests(root: Path, limits: Limits) -> Iterator[tuple[str, str, bytes]]:
    """(relative path, kind, content) of every manifest under ``root``; symlinks are not followed."""
    budget = _Budget(limits, str(root))
    seen = 0
    stack: list[tuple[Path, int]] = [(root, 0)]
    found: list[tuple[str, str, Path]] = []
    while stack:
        directory, depth = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            raise InputError(str(directory), f"cannot list: {exc.strerror or exc}") from None
        seen += len(entries)
        if seen > limits.max_entries:
            raise InputError(str(root), f"more than {limits.max_entries} files")
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name in _SKIP_DIRS:
                    continue
                if depth + 1 > limits.max_depth:
                    raise InputError(str(root), f"directories nest deeper than {limits.max_depth}")
                stack.append((Path(entry.path), depth + 1))
            elif entry.is_file(follow_symlinks=False):
                posix = PurePosixPath(Path(entry.path).relative_to(root).as_posix())
                kind = _manifest_kind(posix)
                if kind is not None:
                    found.append((str(posix), kind, Path(entry.path)))
    for relative, kind, path in sorted(found):
        try:
            budget.take(path.stat().st_size, relative)
            with path.open("rb") as fh:
                data = fh.read(limits.max_manifest_bytes + 1)
        except OSError as exc:
            raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
        budget.take(len(data), relative)
        yield relative, kind, data


def _single_manifest(path: Path, kind: str, limits: Limits) -> Iterator[tuple[str, str, bytes]]:
    """The one manifest named on the command line (``pipewarden sbom poetry.lock``)."""
    budget = _Budget(limits, str(path))
    try:
        with path.open("rb") as fh:
            data = fh.read(limits.max_manifest_bytes + 1)
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    budget.take(len(data), path.name)
    yield path.name, kind, data


def _unsafe_member(name: str) -> str | None:
    """Why a zip member name is refused, or None."""
    if not name or "\x00" in name:
        return "an empty or NUL-containing name"
    if name.startswith(("/", "\\")) or re.match(r"\A[A-Za-z]:", name):
        return "an absolute path"
    if ".." in re.split(r"[/\\]", name):
        return "a '..' component (path traversal)"
    return None


def _zip_manifests(path: Path, limits: Limits) -> Iterator[tuple[str, str, bytes]]:
    """(member name, kind, content) of every manifest in the zip, after checking every member."""
    source = str(path)
    budget = _Budget(limits, source)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        raise InputError(source, f"not a readable zip archive: {exc}") from None
    except OSError as exc:
        raise InputError(source, f"cannot read: {exc.strerror or exc}") from None
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_entries:
            raise InputError(source, f"more than {limits.max_entries} members")
        names: set[str] = set()
        unpacked = 0
        wanted: list[tuple[str, str, zipfile.ZipInfo]] = []
        for info in members:
            name = info.filename
            why = _unsafe_member(name)
            if why is not None:
                raise InputError(source, f"member {name!r} has {why}")
            if name in names:
                raise InputError(source, f"member {name!r} appears more than once")
            names.add(name)
            if info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16):
                raise InputError(source, f"member {name!r} is a symbolic link")
            unpacked += info.file_size
            if unpacked > limits.max_unpacked:
                raise InputError(
                    source, f"unpacks to over {limits.max_unpacked} bytes (decompression bomb?)"
                )
            if info.file_size > limits.ratio_floor and (
                info.compress_size == 0 or info.file_size / info.compress_size > limits.max_ratio
            ):
                raise InputError(
                    source,
                    f"member {name!r} expands {info.file_size} bytes from {info.compress_size} "
                    f"(over {limits.max_ratio}:1, decompression bomb?)",
                )
            if info.is_dir():
                continue
            kind = _manifest_kind(PurePosixPath(name.replace("\\", "/")))
            if kind is not None:
                wanted.append((name, kind, info))
        for name, kind, info in sorted(wanted, key=lambda item: item[0]):
            budget.take(info.file_size, name)
            try:
                with archive.open(info) as member:
                    data = member.read(limits.max_manifest_bytes + 1)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
                raise InputError(source, f"member {name!r} cannot be read: {exc}") from None
            budget.take(len(data), name)
            yield name, kind, data


# ---------------------------------------------------------------- parsing manifests


def _hash(where: str, algorithm: str, value: str) -> tuple[str, str]:
    alg = _HASH_NAMES.get(algorithm.lower())
    digest = value.lower()
    if alg is None:
        raise ParseError(where, f"unsupported hash algorithm {algorithm!r}")
    if len(digest) != _HEX_LENGTH[alg] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise ParseError(where, f"malformed {algorithm} hash")
    return alg, digest


def _prefixed_hash(where: str, text: object) -> tuple[str, str]:
    """``sha256:<hex>`` as in poetry.lock, uv.lock and Pipfile.lock."""
    if not isinstance(text, str) or ":" not in text:
        raise ParseError(where, f"malformed hash {str(text)[:80]!r}")
    algorithm, _, value = text.partition(":")
    return _hash(where, algorithm, value)


def _package(
    where: str,
    ecosystem: str,
    name: object,
    version: object,
    *,
    line: int | None = None,
    hashes: Iterable[tuple[str, str]] = (),
    development: bool = False,
    qualifiers: Iterable[tuple[str, str]] = (),
) -> Package:
    pattern = _PYPI_NAME if ecosystem == "pypi" else _NPM_NAME
    if not isinstance(name, str) or len(name) > 214 or not pattern.match(name):
        raise ParseError(where, f"invalid {ecosystem} package name {str(name)[:80]!r}")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise ParseError(where, f"invalid version {str(version)[:80]!r} for {name}")
    return Package(
        ecosystem=ecosystem,
        name=name,
        version=version,
        location=where,
        line=line,
        hashes=tuple(sorted(set(hashes))),
        development=development,
        qualifiers=tuple(sorted(qualifiers)),
    )


def _text(where: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ParseError(where, "not UTF-8 text") from None


def _json(where: str, data: bytes) -> Any:
    try:
        return json.loads(_text(where, data))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(where, f"not valid JSON: {exc}") from None


def _toml(where: str, data: bytes) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(where, data))
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ParseError(where, f"not valid TOML: {exc}") from None


def _mapping(where: str, value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(where, f"{what} is not a table/object")
    return value


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first physical line number, logical line): backslash continuations joined."""
    start, parts = 0, list[str]()
    for number, physical in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if physical.endswith("\\"):
            parts.append(physical[:-1])
            continue
        parts.append(physical)
        yield start, " ".join(parts)
        parts = []
    if parts:
        yield start, " ".join(parts)


def _requirements(where: str, data: bytes) -> list[Package]:
    found: list[Package] = []
    for number, raw in _logical_lines(_text(where, data)):
        line = re.sub(r"(?:^|\s)#.*", "", raw).strip()
        if not line or line.startswith("-"):
            continue  # blank, comment, or an option line (-r, -c, -e, --index-url, ...)
        at = f"{where}:{number}"
        hashes = [_hash(at, alg, value) for alg, value in _REQ_HASH.findall(line)]
        spec = _REQ_OPTION.sub(" ", _REQ_HASH.sub(" ", line)).split(";", 1)[0].strip()
        pin = _REQ_PIN.match(spec)
        if pin is None:
            continue  # not pinned to one version (a range, a URL, a path): not a component
        found.append(
            _package(where, "pypi", pin["name"], pin["version"], line=number, hashes=hashes)
        )
    return found


def _poetry(where: str, data: bytes) -> list[Package]:
    document = _toml(where, data)
    legacy = _mapping(where, document.get("metadata", {}), "[metadata]").get("files", {})
    found: list[Package] = []
    for entry in document.get("package", []):
        item = _mapping(where, entry, "[[package]]")
        source = item.get("source") or {}
        kind = source.get("type") if isinstance(source, dict) else None
        if kind in {"directory", "file"}:
            continue  # a local project, not a published package
        files = item.get("files") or (legacy.get(item.get("name"), []) if legacy else [])
        hashes = [_prefixed_hash(where, f.get("hash")) for f in files if isinstance(f, dict)]
        qualifiers = []
        if kind == "git" and isinstance(source.get("url"), str):
            revision = source.get("resolved_reference") or source.get("reference") or ""
            qualifiers.append(("vcs_url", f"git+{source['url']}@{revision}".rstrip("@")))
        found.append(
            _package(
                where,
                "pypi",
                item.get("name"),
                item.get("version"),
                hashes=hashes,
                qualifiers=qualifiers,
            )
        )
    return found


def _uv(where: str, data: bytes) -> list[Package]:
    document = _toml(where, data)
    found: list[Package] = []
    for entry in document.get("package", []):
        item = _mapping(where, entry, "[[package]]")
        source = _mapping(where, item.get("source", {}), "source")
        if any(key in source for key in ("editable", "virtual", "path", "directory")):
            continue  # the workspace's own projects and local paths
        artifacts = [item["sdist"]] if isinstance(item.get("sdist"), dict) else []
        artifacts += [w for w in item.get("wheels", []) if isinstance(w, dict)]
        hashes = [_prefixed_hash(where, a["hash"]) for a in artifacts if "hash" in a]
        qualifiers = []
        if isinstance(source.get("git"), str):
            qualifiers.append(("vcs_url", f"git+{source['git']}"))
        found.append(
            _package(
                where,
                "pypi",
                item.get("name"),
                item.get("version"),
                hashes=hashes,
                qualifiers=qualifiers,
            )
        )
    return found


def _pipfile(where: str, data: bytes) -> list[Package]:
    document = _mapping(where, _json(where, data), "Pipfile.lock")
    found: list[Package] = []
    for section, development in (("default", False), ("develop", True)):
        for name, entry in sorted(_mapping(where, document.get(section, {}), section).items()):
            item = _mapping(where, entry, name)
            version = item.get("version")
            if not isinstance(version, str) or not version.startswith("=="):
                continue  # editable, VCS or path entries carry no version
            hashes = [_prefixed_hash(where, h) for h in item.get("hashes", [])]
            found.append(
                _package(where, "pypi", name, version[2:], hashes=hashes, development=development)
            )
    return found


def _metadata(where: str, data: bytes) -> list[Package]:
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    headers = BytesHeaderParser(policy=compat32).parsebytes(head)
    name, version = headers.get("Name"), headers.get("Version")
    if name is None or version is None:
        raise ParseError(where, "package metadata without Name and Version")
    return [_package(where, "pypi", str(name).strip(), str(version).strip())]


def _integrity(where: str, value: object) -> list[tuple[str, str]]:
    """npm's Subresource Integrity strings: ``sha512-<base64>`` (space-separated)."""
    if value is None:
        return []
    if not isinstance(value, str):
        raise ParseError(where, "integrity is not a string")
    hashes = []
    for token in value.split():
        algorithm, _, encoded = token.partition("-")
        try:
            digest = base64.b64decode(encoded.split("?", 1)[0], validate=True).hex()
        except (binascii.Error, ValueError):
            raise ParseError(where, f"malformed integrity {token[:80]!r}") from None
        hashes.append(_hash(where, algorithm, digest))
    return hashes


def _npm(where: str, data: bytes) -> list[Package]:
    document = _mapping(where, _json(where, data), "package-lock.json")
    found: list[Package] = []
    packages = document.get("packages")
    if packages is not None:  # lockfileVersion 2 and 3
        for key, entry in sorted(_mapping(where, packages, "packages").items()):
            item = _mapping(where, entry, key)
            if not key or item.get("link") or "node_modules/" not in f"/{key}":
                continue  # the root project, workspace links and workspace folders
            name = item.get("name") or key.rsplit("node_modules/", 1)[1]
            if "version" not in item:
                continue  # a declared but uninstalled (optional) dependency
            found.append(
                _package(
                    where,
                    "npm",
                    name,
                    item.get("version"),
                    hashes=_integrity(where, item.get("integrity")),
                    development=bool(item.get("dev")),
                )
            )
        return found
    # lockfileVersion 1: nested "dependencies"
    stack = [_mapping(where, document.get("dependencies", {}), "dependencies")]
    depth = 0
    while stack:
        depth += 1
        if depth > 100_000:
            raise ParseError(where, "dependencies too deeply nested")
        level = stack.pop()
        for name, entry in sorted(level.items()):
            item = _mapping(where, entry, name)
            version = item.get("version")
            if isinstance(version, str) and _VERSION.match(version):
                found.append(
                    _package(
                        where,
                        "npm",
                        name,
                        version,
                        hashes=_integrity(where, item.get("integrity")),
                        development=bool(item.get("dev")),
                    )
                )
            if isinstance(item.get("dependencies"), dict):
                stack.append(item["dependencies"])
    return found


_PARSERS: Final[dict[str, Callable[[str, bytes], list[Package]]]] = {
    "requirements": _requirements,
    "poetry": _poetry,
    "uv": _uv,
    "pipfile": _pipfile,
    "metadata": _metadata,
    "npm": _npm,
}


def find_packages(path: Path, *, limits: Limits = LIMITS) -> list[Package]:
    """Every package declared or installed in the build output at ``path``.

    ``path`` is a directory, a zip archive, or one manifest file (by its name).

    Raises :class:`~pipewarden.errors.InputError` for an unreadable or unsafe
    output and :class:`~pipewarden.errors.ParseError` for a malformed manifest.
    """
    single = _manifest_kind(PurePosixPath(path.parent.name, path.name))
    if path.is_dir():
        manifests = _directory_manifests(path, limits)
    elif path.is_file() and single is not None:
        manifests = _single_manifest(path, single, limits)
    elif path.is_file():
        manifests = _zip_manifests(path, limits)
    else:
        raise InputError(str(path), "no such file or directory")
    found: list[Package] = []
    for where, kind, data in manifests:
        found.extend(_PARSERS[kind](where, data))
    return found


# ---------------------------------------------------------------- the document


@dataclass(slots=True)
class _Merged:
    ecosystem: str
    name: str
    version: str
    qualifiers: tuple[tuple[str, str], ...]
    hashes: set[tuple[str, str]] = field(default_factory=set)
    locations: set[tuple[str, int]] = field(default_factory=set)
    development: bool = True


def _pypi_normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _purl_text(
    ecosystem: str, name: str, version: str, qualifiers: Iterable[tuple[str, str]]
) -> str:
    from packageurl import PackageURL

    if ecosystem == "npm" and name.startswith("@"):
        namespace, _, short = name.partition("/")
        purl = PackageURL(
            type="npm",
            namespace=namespace,
            name=short,
            version=version,
            qualifiers=dict(qualifiers),
        )
    else:
        purl = PackageURL(type=ecosystem, name=name, version=version, qualifiers=dict(qualifiers))
    return str(purl.to_string())


def _merge(packages: Iterable[Package]) -> dict[str, _Merged]:
    merged: dict[str, _Merged] = {}
    for package in packages:
        name = _pypi_normal(package.name) if package.ecosystem == "pypi" else package.name.lower()
        key = _purl_text(package.ecosystem, name, package.version, package.qualifiers)
        entry = merged.setdefault(
            key, _Merged(package.ecosystem, name, package.version, package.qualifiers)
        )
        entry.hashes.update(package.hashes)
        entry.locations.add((package.location, package.line or 0))
        entry.development = entry.development and package.development
    return merged


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def build_sbom(
    path: Path,
    *,
    clock: Callable[[], dt.datetime],
    serial_number: uuid.UUID | None = None,
    limits: Limits = LIMITS,
) -> tuple[str, int]:
    """(CycloneDX 1.6 JSON text, number of components) for the build output at ``path``.

    ``clock`` gives the document's timestamp (timezone-aware). ``serial_number``
    defaults to a UUID derived from the content, so the same output at the
    same time gives the same document byte for byte.
    """
    bom = _make_bom(path, clock=clock, serial_number=serial_number, limits=limits)
    return _serialize(bom), len(bom.components)


def _make_bom(
    path: Path,
    *,
    clock: Callable[[], dt.datetime],
    serial_number: uuid.UUID | None,
    limits: Limits,
) -> Bom:
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentScope, ComponentType
    from cyclonedx.model.component_evidence import ComponentEvidence, Occurrence
    from cyclonedx.model.dependency import Dependency
    from packageurl import PackageURL

    from pipewarden import __version__

    merged = _merge(find_packages(path, limits=limits))
    root_hashes = []
    if path.is_file():
        try:
            root_hashes.append(HashType(alg=HashAlgorithm.SHA_256, content=_sha256_file(path)))
        except OSError as exc:
            raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    root = Component(
        type=ComponentType.FILE if path.is_file() else ComponentType.APPLICATION,
        name=path.resolve().name or str(path),
        bom_ref="build-output",
        hashes=root_hashes,
    )
    components = []
    for purl, entry in sorted(merged.items()):
        group, name = None, entry.name
        if entry.ecosystem == "npm" and entry.name.startswith("@"):
            group, _, name = entry.name.partition("/")  # CycloneDX: an npm scope is the group
        components.append(
            Component(
                type=ComponentType.LIBRARY,
                group=group,
                name=name,
                version=entry.version,
                purl=PackageURL.from_string(purl),
                bom_ref=purl,
                scope=ComponentScope.OPTIONAL if entry.development else ComponentScope.REQUIRED,
                hashes=[
                    HashType(alg=HashAlgorithm(alg), content=digest)
                    for alg, digest in sorted(entry.hashes)
                ],
                evidence=ComponentEvidence(
                    occurrences=[
                        Occurrence(location=where, line=line or None)
                        for where, line in sorted(entry.locations)
                    ]
                ),
            )
        )
    tool = Component(
        type=ComponentType.APPLICATION, name="pipewarden", version=__version__, bom_ref="pipewarden"
    )
    metadata = BomMetaData(component=root, timestamp=_aware(clock()))
    metadata.tools.components.add(tool)
    if serial_number is None:
        identity = json.dumps(
            [
                root.name,
                [h.content for h in root_hashes],
                sorted((k, sorted(v.hashes), sorted(v.locations)) for k, v in merged.items()),
            ],
            sort_keys=True,
        )
        serial_number = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pipewarden:sbom:" + identity)
    bom = Bom(components=components, metadata=metadata, serial_number=serial_number)
    bom.dependencies.add(
        Dependency(ref=root.bom_ref, dependencies=[Dependency(ref=c.bom_ref) for c in components])
    )
    for component in components:
        bom.dependencies.add(Dependency(ref=component.bom_ref))
    return bom


_SCHEMA_URI: Final = "http://cyclonedx.org/schema/bom-1.6.schema.json"


def _serialize(bom: Bom) -> str:
    """The CycloneDX 1.6 JSON of ``bom``, as ``JsonV1Dot6(bom).output_as_string(indent=2)``.

    Done by hand with the library's own serializer and normalizers because the
    library's output step first runs ``Bom.validate()``, whose dependency check
    takes quadratic time (minutes for an npm lock of 20,000 packages). It only
    re-registers dependencies that :func:`_make_bom` has already registered.
    A test compares this with the library's output.
    """
    from cyclonedx.contrib.bom.utils import BomDependencyGraphFlatMerger, BomRefDiscriminator
    from cyclonedx.schema.schema import SchemaVersion1Dot6

    with BomRefDiscriminator.from_bom(bom), BomDependencyGraphFlatMerger(bom):
        document = json.loads(bom.as_json(view_=SchemaVersion1Dot6))  # type: ignore[attr-defined]
    document.update({"$schema": _SCHEMA_URI, "bomFormat": "CycloneDX", "specVersion": "1.6"})
    return json.dumps(document, indent=2) + "\n"


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the clock returned a naive datetime; it must be timezone-aware")
    return moment
