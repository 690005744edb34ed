"""An artifact's contents: import roots, installed distributions, pins, modules.

Versions come from ``*.dist-info/METADATA`` (or ``*.egg-info/PKG-INFO``) first;
``requirements*.txt``, ``poetry.lock``, ``uv.lock`` and ``Pipfile.lock`` pins are
used only for packages that are not installed. Installed files are attributed
to their distribution through ``RECORD`` (``top_level.txt`` when ``RECORD`` is
missing); every other Python file under an application root is application
code. Metadata is read as UTF-8 with undecodable bytes replaced: a stray
Latin-1 ``Summary`` must not hide a package's name and version.

One package installed twice (``pip install --target --upgrade`` leaves the old
``*.dist-info`` behind; two site directories may both hold it) is reported
once, with a note naming the copy used and why, decided in this order:

1. the copy whose ``RECORD`` hashes match the files present (the code that is
   actually there) over one without such evidence, over one whose hashes do
   not match (a stale record);
2. the copy in the directory that comes first on the import path (the
   artifact root, then site directories in name order), as Python would;
3. otherwise the lowest version, so that a stale record can never clear a
   vulnerability of the code that is installed.

Among pins of a package that is not installed, an exact version wins over a
bare name; two different exact versions (say ``requirements.txt`` and
``poetry.lock`` disagree) are both kept, with a note, because the version
that is deployed cannot be told.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import Final

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipewarden.errors import InputError
from pipewarden.reach._fs import ArtifactFS
from pipewarden.reach._pins import Pin, is_pin_file, read_pins

__all__ = [
    "IMPORT_NAMES",
    "Artifact",
    "Distribution",
    "ModuleFile",
    "load_artifact",
]

MAX_METADATA_BYTES: Final = 4 * 1024 * 1024
MAX_PIN_BYTES: Final = 8 * 1024 * 1024
MAX_RECORD_CHECKS: Final = 16
"""Files whose ``RECORD`` hash is checked to tell apart two copies of one package."""
_EXT_SUFFIXES: Final = (".so", ".pyd")

IMPORT_NAMES: Final[dict[str, tuple[str, ...]]] = {
    "attrs": ("attr", "attrs"),
    "beautifulsoup4": ("bs4",),
    "dnspython": ("dns",),
    "gitpython": ("git",),
    "google-api-core": ("google",),
    "grpcio": ("grpc",),
    "msgpack-python": ("msgpack",),
    "mysqlclient": ("MySQLdb",),
    "opencv-python": ("cv2",),
    "opencv-python-headless": ("cv2",),
    "pillow": ("PIL",),
    "protobuf": ("google",),
    "psycopg2-binary": ("psycopg2",),
    "pycryptodome": ("Crypto",),
    "pycryptodomex": ("Cryptodome",),
    "pyjwt": ("jwt",),
    "pyopenssl": ("OpenSSL",),
    "python-dateutil": ("dateutil",),
    "python-jose": ("jose",),
    "python-magic": ("magic",),
    "python-multipart": ("multipart", "python_multipart"),
    "pyyaml": ("yaml", "_yaml"),
    "pyzmq": ("zmq",),
    "ruamel-yaml": ("ruamel",),
    "scikit-learn": ("sklearn",),
    "setuptools": ("setuptools", "pkg_resources", "_distutils_hack"),
    "typing-extensions": ("typing_extensions",),
}
"""Distributions whose import names differ from their names (pins only)."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """One package version in the artifact: installed (code present) or pinned."""

    name: str
    key: str
    version: str | None
    source: str
    installed: bool
    root: str | None = None
    top_level: tuple[str, ...] = ()
    requires: tuple[str, ...] | None = None
    console_scripts: tuple[tuple[str, str], ...] = ()
    has_record: bool = False

    @property
    def purl(self) -> str:
        """The package URL (``pkg:pypi/name@version``)."""
        base = f"pkg:pypi/{self.key}"
        return f"{base}@{self.version}" if self.version else base


@dataclass(frozen=True, slots=True)
class ModuleFile:
    """Where a module's code is: a ``.py`` file, an extension module, or a namespace."""

    name: str
    path: str | None
    kind: str  # "py" | "ext" | "ns"
    is_package: bool
    root: str
    dist: str | None
    """Canonical name of the owning distribution, or None for application code."""


@dataclass
class Artifact:
    """Everything read from the artifact before any code is analysed."""

    fs: ArtifactFS
    files: list[str]
    app_roots: list[str]
    site_roots: list[str]
    distributions: list[Distribution]
    notes: list[str] = field(default_factory=list)
    owner: dict[str, str] = field(default_factory=dict)
    _modules: dict[str, dict[str, ModuleFile]] = field(default_factory=dict)
    _regular_top: dict[str, str] = field(default_factory=dict)
    _namespaces: set[str] = field(default_factory=set)
    _all_names: list[str] = field(default_factory=list)

    @property
    def search_roots(self) -> list[str]:
        """Import roots in search order: application roots, then site roots."""
        out: list[str] = []
        for root in (*self.app_roots, *self.site_roots):
            if root not in out:
                out.append(root)
        return out

    def add_app_root(self, root: str) -> None:
        """Make ``root`` (a directory of the artifact) an application import root."""
        if root not in self.app_roots:
            self.app_roots.append(root)
            self._index()

    def find_module(self, name: str) -> ModuleFile | None:
        """The module ``name`` as Python would import it, or None when absent."""
        top = name.partition(".")[0]
        root = self._regular_top.get(top)
        if root is not None:
            return self._modules.get(root, {}).get(name)
        if top in self._namespaces:
            for candidate in self.search_roots:
                found = self._modules.get(candidate, {}).get(name)
                if found is not None:
                    return found
        return None

    def module_names(self, prefix: str = "") -> list[str]:
        """Every importable module name starting with ``prefix`` (sorted)."""
        if not prefix:
            return list(self._all_names)
        return [n for n in self._all_names if n.startswith(prefix)]

    def app_modules(self) -> list[ModuleFile]:
        """Application modules (Python files not owned by any distribution)."""
        out: list[ModuleFile] = []
        for name in self._all_names:
            found = self.find_module(name)
            if found is not None and found.dist is None and found.kind == "py":
                out.append(found)
        return out

    def read(self, path: str, *, limit: int) -> bytes:
        return self.fs.read(path, limit=limit)

    # -- indexing ---------------------------------------------------------------

    def _index(self) -> None:
        roots = sorted(self.search_roots, key=len, reverse=True)
        modules: dict[str, dict[str, ModuleFile]] = {r: {} for r in roots}
        has_init: dict[str, set[str]] = {r: set() for r in roots}
        for path in self.files:
            if not path.endswith((".py", *_EXT_SUFFIXES)):
                continue
            root = next((r for r in roots if not r or path.startswith(r + "/")), None)
            if root is None:
                continue
            rel = path[len(root) + 1 :] if root else path
            parts = rel.split("/")
            last = parts[-1]
            if last.endswith(".py"):
                stem, kind = last[:-3], "py"
            else:
                stem, kind = last.split(".", 1)[0], "ext"
            package = stem == "__init__"
            mod_parts = parts[:-1] if package else [*parts[:-1], stem]
            if not mod_parts or not all(p.isidentifier() for p in mod_parts):
                continue
            dotted = ".".join(mod_parts)
            dist = self.owner.get(path)
            table = modules[root]
            existing = table.get(dotted)
            if existing is not None and existing.kind == "py" and kind == "ext":
                continue  # a compiled twin beside the source: keep the source
            table[dotted] = ModuleFile(dotted, path, kind, package, root, dist)
            if package:
                has_init[root].add(dotted)
            for i in range(1, len(mod_parts)):
                parent = ".".join(mod_parts[:i])
                if parent not in table:
                    table[parent] = ModuleFile(parent, None, "ns", True, root, dist)
        regular_top: dict[str, str] = {}
        namespaces: set[str] = set()
        for root in self.search_roots:
            for dotted, found in modules.get(root, {}).items():
                if "." in dotted:
                    continue
                if found.kind != "ns":
                    regular_top.setdefault(dotted, root)
                else:
                    namespaces.add(dotted)
        self._modules = modules
        self._regular_top = regular_top
        self._namespaces = namespaces - set(regular_top)
        names = {n for table in modules.values() for n in table}
        self._all_names = sorted(n for n in names if self.find_module(n) is not None)


def _dist_dirs(files: Iterable[str]) -> list[tuple[str, str, str]]:
    """(site root, metadata directory, kind) for every dist-info / egg-info directory."""
    found: dict[str, tuple[str, str, str]] = {}
    for path in files:
        directory, _, name = path.rpartition("/")
        parent, _, base = directory.rpartition("/")
        if base.endswith(".dist-info") and name == "METADATA":
            found[directory] = (parent, directory, "dist-info")
        elif base.endswith(".egg-info") and name == "PKG-INFO":
            found[directory] = (parent, directory, "egg-info")
    return sorted(found.values())


def _read_text(fs: ArtifactFS, path: str, limit: int) -> str:
    data = fs.read(path, limit=limit)
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def _requires(values: list[str]) -> tuple[str, ...]:
    names: set[str] = set()
    for value in values:
        try:
            req = Requirement(value)
        except InvalidRequirement:
            continue
        if req.marker is not None and "extra" in str(req.marker):
            continue  # installed only with an extra
        names.add(canonicalize_name(req.name))
    return tuple(sorted(names))


def _entry_points(text: str) -> tuple[tuple[str, str], ...]:
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        return ()
    out: list[tuple[str, str]] = []
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            out.extend((k.strip(), v.strip()) for k, v in parser.items(section))
    return tuple(out)


def _top_levels(paths: Iterable[str]) -> tuple[str, ...]:
    tops: set[str] = set()
    for rel in paths:
        first = rel.split("/", 1)[0]
        if first.endswith((".dist-info", ".egg-info", ".data")) or first in ("..", "__pycache__"):
            continue
        if "/" in rel:
            if first.isidentifier():
                tops.add(first)
        elif rel.endswith(".py"):
            tops.add(rel[:-3])
        elif rel.endswith(_EXT_SUFFIXES):
            tops.add(rel.split(".", 1)[0])
    return tuple(sorted(t for t in tops if t.isidentifier()))


def _name_from_directory(directory: str) -> tuple[str | None, str | None]:
    """``(name, version)`` from ``name-version.dist-info`` / ``name-version-pyX.egg-info``."""
    base = directory.rpartition("/")[2].rsplit(".", 1)[0]
    name, _, rest = base.partition("-")
    version = rest.partition("-")[0]
    return (name or None), (version or None)


def _read_installed(
    fs: ArtifactFS, root: str, directory: str, kind: str, owner: dict[str, str], notes: list[str]
) -> Distribution | None:
    meta_name = "METADATA" if kind == "dist-info" else "PKG-INFO"
    dir_name, dir_version = _name_from_directory(directory)
    try:
        text = _read_text(fs, f"{directory}/{meta_name}", MAX_METADATA_BYTES)
    except InputError as exc:
        notes.append(f"{exc.diagnostics()}; name and version taken from the directory name")
        text = ""
    headers = HeaderParser().parsestr(text)
    name = headers.get("Name") or dir_name
    version = headers.get("Version") or dir_version
    if not name:
        notes.append(f"{directory}/{meta_name}: no Name header, skipped")
        return None
    if text and not headers.get("Name") and dir_name:
        notes.append(f"{directory}/{meta_name}: no Name header; {dir_name} from the directory")
    if text and not headers.get("Version") and dir_version:
        notes.append(
            f"{directory}/{meta_name}: no Version header; {dir_version} from the directory"
        )
    key = canonicalize_name(str(name))
    record_paths: list[str] = []
    has_record = False
    record_name = "RECORD" if kind == "dist-info" else "installed-files.txt"
    base = directory if kind == "egg-info" else root
    try:
        record = _read_text(fs, f"{directory}/{record_name}", MAX_METADATA_BYTES)
        has_record = True
        for line in record.splitlines():
            rel = line.split(",", 1)[0].strip().strip('"') if kind == "dist-info" else line.strip()
            if not rel:
                continue
            if rel.startswith("/"):
                continue  # absolute: outside the artifact
            joined = posixpath.normpath(posixpath.join(base, rel) if base else rel)
            if joined.startswith("../") or joined == "..":
                continue
            record_paths.append(joined)
    except InputError:
        pass
    for path in record_paths:
        owner.setdefault(path, key)
    rel_paths = [p[len(root) + 1 :] if root else p for p in record_paths]
    top = _top_levels(rel_paths)
    try:
        listed = _read_text(fs, f"{directory}/top_level.txt", MAX_METADATA_BYTES)
        top = tuple(sorted({*top, *(t.strip() for t in listed.splitlines() if t.strip())}))
    except InputError:
        pass
    scripts: tuple[tuple[str, str], ...] = ()
    with contextlib.suppress(InputError):
        scripts = _entry_points(_read_text(fs, f"{directory}/entry_points.txt", MAX_METADATA_BYTES))
    requires = _requires(headers.get_all("Requires-Dist") or [])
    return Distribution(
        name=str(name),
        key=key,
        version=str(version) if version else None,
        source=f"{directory}/{meta_name}",
        installed=True,
        root=root,
        top_level=top,
        requires=requires,
        console_scripts=scripts,
        has_record=has_record,
    )


def load_artifact(fs: ArtifactFS) -> Artifact:
    """Discover roots, distributions, pins and modules of ``fs``."""
    files = fs.files()
    notes: list[str] = list(fs.notes)
    owner: dict[str, str] = {}
    installed: list[Distribution] = []
    site_roots: list[str] = []
    for root, directory, kind in _dist_dirs(files):
        dist = _read_installed(fs, root, directory, kind, owner, notes)
        if dist is None:
            continue
        installed.append(dist)
        if root not in site_roots:
            site_roots.append(root)
    installed = _one_copy_each(fs, installed, notes)
    # Files of distributions without RECORD: attribute by top-level name.
    by_top: dict[tuple[str, str], str] = {}
    for dist in installed:
        if not dist.has_record and dist.root is not None:
            for top in dist.top_level:
                by_top[(dist.root, top)] = dist.key
    if by_top:
        for path in files:
            for root in site_roots:
                if root and not path.startswith(root + "/"):
                    continue
                rel = path[len(root) + 1 :] if root else path
                first = rel.split("/", 1)[0].split(".", 1)[0]
                key = by_top.get((root, first))
                if key is not None:
                    owner.setdefault(path, key)
    for path in files:
        # Unowned files inside a dedicated site-packages directory are not application code.
        for root in site_roots:
            if root and path.startswith(root + "/") and path not in owner:
                owner[path] = "-unowned-"
    app_roots = [""]
    file_set = set(files)
    if "src/__init__.py" not in file_set and any(
        f.startswith("src/") and f.endswith(".py") and f not in owner for f in files
    ):
        app_roots.append("src")
    pins = _read_all_pins(fs, files, site_roots, owner, notes)
    distributions = list(installed)
    installed_keys = {d.key for d in installed}
    exact: dict[str, dict[str, str]] = {}  # key -> version -> first source
    for pin in pins:
        if pin.version is not None and pin.key not in installed_keys:
            exact.setdefault(pin.key, {}).setdefault(pin.version, pin.source)
    for key, found in sorted(exact.items()):
        if len(found) > 1:
            listed = ", ".join(f"{v} ({src})" for v, src in found.items())
            notes.append(f"{key} is pinned to different versions: {listed}; each is reported")
    seen: set[tuple[str, str | None]] = set()
    for pin in pins:
        if pin.key in installed_keys or (pin.key, pin.version) in seen:
            continue
        if pin.version is None and pin.key in exact:
            continue  # an exact pin elsewhere says more than the bare name
        seen.add((pin.key, pin.version))
        guessed = IMPORT_NAMES.get(pin.key, (pin.key.replace("-", "_"),))
        distributions.append(
            Distribution(
                name=pin.name,
                key=pin.key,
                version=pin.version,
                source=pin.source,
                installed=False,
                top_level=guessed,
                requires=pin.requires,
            )
        )
    artifact = Artifact(
        fs=fs,
        files=files,
        app_roots=app_roots,
        site_roots=sorted(site_roots),
        distributions=distributions,
        notes=notes,
        owner=owner,
    )
    artifact._index()
    return artifact


def _version_order(version: str | None) -> tuple[int, Version]:
    """Sort key: unknown or unparseable versions first (they are the least certain)."""
    if version is not None:
        with contextlib.suppress(InvalidVersion):
            return (1, Version(version))
    return (0, Version("0"))


def _record_matches(fs: ArtifactFS, dist: Distribution, present: set[str]) -> bool | None:
    """Whether ``dist``'s RECORD hashes match the files present; None without evidence."""
    if not dist.installed or dist.root is None or not dist.source.endswith("/METADATA"):
        return None
    directory = dist.source.rpartition("/")[0]
    try:
        record = _read_text(fs, f"{directory}/RECORD", MAX_METADATA_BYTES)
    except InputError:
        return None
    entries: list[tuple[str, str]] = []
    for line in record.splitlines():
        fields = line.rsplit(",", 2)
        if len(fields) != 3 or not fields[1].startswith("sha256="):
            continue
        rel = fields[0].strip().strip('"')
        if rel.startswith("/") or rel.endswith(".pyc"):
            continue
        path = posixpath.normpath(posixpath.join(dist.root, rel) if dist.root else rel)
        if path.startswith("../") or path.startswith(directory + "/"):
            continue
        entries.append((path, fields[1][len("sha256=") :]))
    entries.sort(key=lambda item: (not item[0].endswith(".py"), item[0]))
    checked = 0
    for path, expected in entries[:MAX_RECORD_CHECKS]:
        if path not in present:
            return False  # the record lists code that is not there
        try:
            data = fs.read(path, limit=MAX_METADATA_BYTES)
        except InputError:
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        if digest != expected:
            return False
        checked += 1
    return True if checked else None


def _one_copy_each(
    fs: ArtifactFS, installed: list[Distribution], notes: list[str]
) -> list[Distribution]:
    """One distribution per package: see the module docstring for which copy wins."""
    groups: dict[str, list[Distribution]] = {}
    for dist in installed:
        groups.setdefault(dist.key, []).append(dist)
    if all(len(copies) == 1 for copies in groups.values()):
        return installed
    roots = sorted({d.root or "" for d in installed}, key=lambda r: (r != "", r))
    present = set(fs.files())
    chosen: dict[str, Distribution] = {}
    for key, copies in groups.items():
        if len(copies) == 1:
            chosen[key] = copies[0]
            continue
        evidence = {id(c): _record_matches(fs, c, present) for c in copies}

        def rank(
            dist: Distribution, evidence: dict[int, bool | None] = evidence
        ) -> tuple[int, int, tuple[int, Version]]:
            verdict = evidence[id(dist)]
            return (
                0 if verdict is True else 1 if verdict is None else 2,
                roots.index(dist.root or ""),
                _version_order(dist.version),
            )

        ordered = sorted(copies, key=rank)
        winner, runner = ordered[0], ordered[1]
        if rank(winner)[0] != rank(runner)[0]:
            why = (
                "its RECORD matches the installed files"
                if evidence[id(winner)] is True
                else "the RECORD of the other copies does not match the installed files"
            )
        elif rank(winner)[1] != rank(runner)[1]:
            why = "its directory comes first on the import path"
        else:
            why = (
                "nothing shows which copy the installed code belongs to, so the lowest "
                "version is used (a stale record must not clear a vulnerability)"
            )
        others = ", ".join(f"{d.version} ({d.source})" for d in ordered[1:])
        notes.append(
            f"{winner.name} is installed {len(copies)} times: using {winner.version} "
            f"({winner.source}) over {others}: {why}"
        )
        chosen[key] = winner
    return [d for d in installed if chosen[d.key] is d]


def _read_all_pins(
    fs: ArtifactFS,
    files: list[str],
    site_roots: list[str],
    owner: dict[str, str],
    notes: list[str],
) -> list[Pin]:
    pins: list[Pin] = []
    for path in files:
        if path.count("/") > 2 or not is_pin_file(path):
            continue
        if any(root and path.startswith(root + "/") for root in site_roots):
            continue
        if path in owner:
            continue  # shipped inside an installed distribution: not this build's pins
        try:
            text = _read_text(fs, path, MAX_PIN_BYTES)
        except InputError as exc:
            notes.append(exc.diagnostics())
            continue
        pins.extend(read_pins(path, text, notes))
    return pins
