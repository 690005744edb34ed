"""Fixtures for the reachability tests: real distributions, app builders, one analysis per app."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _dists
import cases

from pipewarden.reach.analysis import analyze
from pipewarden.reach.model import ReachReport

AppBuilder = Callable[..., Path]


@pytest.fixture(scope="session")
def dists() -> dict[str, Path]:
    """Every test distribution, installed once (see ``_dists.py``)."""
    return _dists.install_all()


@pytest.fixture(scope="session")
def parse_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One parse cache for the session: each distribution is parsed once."""
    return tmp_path_factory.mktemp("parse-cache")


def write_files(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def build_app(tmp_path: Path, dists: dict[str, Path]) -> AppBuilder:
    """``build_app(files, dists=(...))``: an artifact directory with those distributions."""

    def build(files: Mapping[str, str], installed: Sequence[str] = (), name: str = "app") -> Path:
        root = tmp_path / name
        root.mkdir()
        _dists.populate(root, [dists[n] for n in installed])
        write_files(root, files)
        return root

    return build


@pytest.fixture
def run(parse_cache: Path) -> Callable[..., ReachReport]:
    """``run(artifact, entries=..., osv=...)`` with the session's parse cache."""

    def analyse(
        artifact: Path,
        *,
        entries: Sequence[str] = ("app:handler",),
        osv: Sequence[Path] | None = None,
    ) -> ReachReport:
        return analyze(
            artifact,
            list(osv) if osv is not None else [cases.DEV_SYMBOLS],
            entries=entries,
            cache_dir=parse_cache,
            jobs=1,
        )

    return analyse


@pytest.fixture(scope="session")
def advisory_reports(
    dists: dict[str, Path], parse_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], ReachReport]:
    """Every dev advisory's two applications, analysed once, two at a time."""
    root = tmp_path_factory.mktemp("advisory-apps")
    jobs: list[tuple[tuple[str, str], Path, tuple[str, ...], bool]] = []
    for case in cases.CASES:
        for kind, app in (("reaching", case.reaching), ("quiet", case.quiet)):
            target = root / f"{case.advisory}-{kind}"
            target.mkdir()
            _dists.populate(target, [dists[n] for n in app.dists])
            write_files(target, app.code())
            slow = any(d.startswith("django") for d in app.dists)
            jobs.append(((case.advisory, kind), target, app.entries, slow))

    def one(job: tuple[tuple[str, str], Path, tuple[str, ...], bool]) -> ReachReport:
        _, path, entries, _ = job
        return analyze(
            path, [cases.OSV_DIR, cases.DEV_SYMBOLS], entries=entries, cache_dir=parse_cache, jobs=1
        )

    # Django apps take longest: start them first so the two workers finish together.
    jobs.sort(key=lambda job: not job[3])
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(one, jobs))
    return {job[0]: report for job, report in zip(jobs, reports, strict=True)}
