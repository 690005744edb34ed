"""Small hand-written artifacts for the reachability unit tests.

An artifact is a directory holding application code plus a tiny installed
distribution (``fakepkg``: sources, ``fakepkg-1.0.dist-info/METADATA`` and
``RECORD``); an OSV record, written beside the artifact, names the
distribution's vulnerable symbols (``ecosystem_specific.imports``).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pipewarden.reach.analysis import analyze
from pipewarden.reach.model import Finding, ReachReport

VULN_ID: Final = "TEST-2024-0001"


def dist_files(
    name: str,
    version: str,
    modules: Mapping[str, str],
    *,
    requires: Sequence[str] = (),
    entry_points: str | None = None,
) -> dict[str, str]:
    """The files of an installed distribution: its modules, METADATA, RECORD and, when
    given, ``entry_points.txt``."""
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    files = {path: textwrap.dedent(text) for path, text in modules.items()}
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files[f"{info}/METADATA"] = meta
    if entry_points is not None:
        files[f"{info}/entry_points.txt"] = textwrap.dedent(entry_points)
    record = [*files, f"{info}/RECORD"]
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in record)
    return files


def fakepkg(modules: Mapping[str, str], *, version: str = "1.0") -> dict[str, str]:
    """The fake vulnerable distribution ``fakepkg`` with ``modules`` (paths under the root)."""
    return dist_files("fakepkg", version, {"fakepkg/__init__.py": "", **modules})


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def osv_record(
    path: Path,
    symbols: Mapping[str, Sequence[str]],
    *,
    package: str = "fakepkg",
    fixed: str = "2.0",
    vuln_id: str = VULN_ID,
) -> Path:
    """An OSV record: ``package`` before ``fixed`` is affected, through ``symbols``
    (module -> names, methods as ``Class.method``)."""
    record = {
        "schema_version": "1.6.0",
        "id": vuln_id,
        "summary": f"test vulnerability in {package}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}
                ],
                "ecosystem_specific": {
                    "imports": [
                        {"path": module, "symbols": list(names)}
                        for module, names in symbols.items()
                    ]
                },
            }
        ],
    }
    path.write_text(json.dumps(record, indent=1))
    return path


@dataclass
class Lab:
    """Builds artifacts under ``root`` and analyses them with a shared parse cache."""

    root: Path
    cache: Path
    count: int = 0

    def artifact(self, files: Mapping[str, str]) -> Path:
        self.count += 1
        return write_tree(self.root / f"artifact-{self.count}", files)

    def report(
        self,
        files: Mapping[str, str],
        symbols: Mapping[str, Sequence[str]],
        *,
        entries: Sequence[str] = ("app:handler",),
        templates: Sequence[Path] = (),
    ) -> ReachReport:
        """Analyse an artifact made of ``files`` against a record listing ``symbols``."""
        artifact = self.artifact(files)
        osv = osv_record(self.root / f"osv-{self.count}.json", symbols)
        return analyze(
            artifact,
            [osv],
            entries=entries,
            templates=templates,
            cache_dir=self.cache,
            jobs=1,
        )

    def finding(
        self,
        files: Mapping[str, str],
        symbols: Mapping[str, Sequence[str]],
        *,
        entries: Sequence[str] = ("app:handler",),
    ) -> Finding:
        """The one finding of :meth:`report` for :data:`VULN_ID`."""
        report = self.report(files, symbols, entries=entries)
        found = [f for f in report.findings if f.vulnerability == VULN_ID]
        assert len(found) == 1, report.findings
        return found[0]
