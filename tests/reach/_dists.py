"""Real distributions at vulnerable versions, installed once into a stable cache directory.

Every distribution is installed with ``pip install --target DIR --no-deps`` from
PyPI (binary wheels only, so no build tools are needed; wheels for older
Pythons or other platforms are fine: the analysis only reads the sources).
The cache directory is ``$PIPEWARDEN_TEST_DISTS`` or
``~/.cache/pipewarden-tests/dists``; a finished install leaves a marker, so later
runs (and CI runs with a restored cache) install nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

_WIN38 = ("--platform", "win_amd64", "--python-version", "3.8", "--implementation", "cp")
_WIN37 = ("--platform", "win_amd64", "--python-version", "3.7", "--implementation", "cp")
_LINUX39 = (
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.9",
    "--implementation",
    "cp",
)

DISTS: Final[dict[str, tuple[str, ...]]] = {
    "pyyaml-5.3.1": (*_WIN38, "pyyaml==5.3.1"),
    "pyyaml-3.13": (*_WIN37, "pyyaml==3.13"),
    "jinja2-2.8": ("jinja2==2.8",),
    "jinja2-2.10": ("jinja2==2.10",),
    "jinja2-3.1.2": ("jinja2==3.1.2",),
    "jinja2-3.1.3": ("jinja2==3.1.3",),
    "markupsafe-2.1.5": ("markupsafe==2.1.5",),
    "urllib3-1.26.16": ("urllib3==1.26.16",),
    "urllib3-1.23": ("urllib3==1.23",),
    "requests-2.30.0": ("requests==2.30.0",),
    "requests-2.19.1": ("requests==2.19.1",),
    "idna-3.4": ("idna==3.4",),
    "idna-2.7": ("idna==2.7",),
    "charset-normalizer-3.1.0": ("charset-normalizer==3.1.0",),
    "chardet-3.0.4": ("chardet==3.0.4",),
    "certifi-2023.5.7": ("certifi==2023.5.7",),
    "pillow-9.5.0": (*_LINUX39, "pillow==9.5.0"),
    "pillow-8.1.2": (*_LINUX39, "pillow==8.1.2"),
    "cryptography-39.0.0": (*_LINUX39, "cryptography==39.0.0"),
    "cryptography-3.3.1": (*_LINUX39, "cryptography==3.3.1"),
    "werkzeug-2.2.2": ("werkzeug==2.2.2",),
    "django-4.2.2": ("django==4.2.2",),
    "django-4.0.3": ("django==4.0.3",),
    "asgiref-3.7.2": ("asgiref==3.7.2",),
    "sqlparse-0.4.4": ("sqlparse==0.4.4",),
    "six-1.16.0": ("six==1.16.0",),
    "pyjwt-2.3.0": ("pyjwt==2.3.0",),
    "babel-2.9.0": ("babel==2.9.0",),
    "mako-1.2.1": ("mako==1.2.1",),
    "flask-2.2.4": ("flask==2.2.4",),
    "itsdangerous-2.1.2": ("itsdangerous==2.1.2",),
    "click-8.1.3": ("click==8.1.3",),
    "jsonpickle-1.4.1": ("jsonpickle==1.4.1",),
    "tornado-6.4.1": (*_LINUX39, "tornado==6.4.1"),
    "setuptools-65.5.0": ("setuptools==65.5.0",),
}


def cache_root() -> Path:
    explicit = os.environ.get("PIPEWARDEN_TEST_DISTS")
    if explicit:
        return Path(explicit)
    return Path.home() / ".cache" / "pipewarden-tests" / "dists"


def _install(name: str, root: Path) -> Path:
    target = root / name
    marker = target / ".installed"
    if marker.exists():
        return target
    staging = root / f".{name}.tmp{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
        str(staging),
        *DISTS[name],
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"pip could not install {name}: {proc.stderr.strip()[-2000:]}")
    shutil.rmtree(staging / "bin", ignore_errors=True)
    (staging / ".installed").write_text("ok\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return target


def install_all(names: list[str] | None = None) -> dict[str, Path]:
    """Install (or find in the cache) every distribution, four at a time."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    wanted = names or list(DISTS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(lambda n: _install(n, root), wanted))
    return dict(zip(wanted, paths, strict=True))


def populate(app: Path, dists: list[Path]) -> None:
    """Copy installed distributions into ``app`` (hard links when the filesystem allows)."""
    for dist in dists:
        for item in dist.iterdir():
            if item.name == ".installed":
                continue
            dest = app / item.name
            if item.is_dir():
                try:
                    shutil.copytree(item, dest, copy_function=os.link, dirs_exist_ok=True)
                except OSError:
                    shutil.copytree(item, dest, dirs_exist_ok=True)
            else:
                try:
                    os.link(item, dest)
                except OSError:
                    shutil.copy2(item, dest)
