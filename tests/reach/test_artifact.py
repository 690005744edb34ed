"""Reading an artifact: layouts, installed versions, pins, and hostile directories and archives.

Every distribution here is written by hand (a ``*.dist-info`` with METADATA and a
RECORD whose hashes are real), so nothing is installed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from pipewarden.cli import main
from pipewarden.errors import InputError, ParseError
from pipewarden.reach._artifact import MAX_METADATA_BYTES, Artifact, Distribution, load_artifact
from pipewarden.reach._fs import DirFS, ZipFS, open_artifact
from pipewarden.reach._pins import Pin, read_pins


def _hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write(root: Path, files: Mapping[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")


def install(
    site: Path,
    name: str,
    version: str,
    modules: Mapping[str, str],
    *,
    record: bool = True,
    metadata: bytes | None = None,
    recorded: Mapping[str, str] | None = None,
) -> str:
    """A distribution as pip installs it into ``site``; returns its dist-info directory name.

    ``recorded`` overrides the module texts the RECORD hashes (a stale record).
    """
    info = f"{name.replace('-', '_')}-{version}.dist-info"
    _write(site, modules)
    meta = metadata or f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    _write(site, {f"{info}/METADATA": meta})
    if record:
        lines = []
        for rel, text in {**modules, **(recorded or {})}.items():
            data = textwrap.dedent(text).encode()
            lines.append(f"{rel},{_hash(data)},{len(data)}")
        lines += [f"{info}/METADATA,{_hash(meta)},{len(meta)}", f"{info}/RECORD,,"]
        _write(site, {f"{info}/RECORD": "\n".join(lines) + "\n"})
    return info


def _zip(root: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return target


def _load(path: Path) -> Artifact:
    return load_artifact(open_artifact(path))


def _versions(artifact: Artifact) -> dict[str, tuple[str | None, bool]]:
    return {d.key: (d.version, d.installed) for d in artifact.distributions}


_DEMO = {
    "demo/__init__.py": "from demo.core import run\n",
    "demo/core.py": "def run():\n    return 1\n",
}
_APP = {"app.py": "import demo\n\ndef handler(event, context):\n    return demo.run()\n"}


# -- layouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("packed", [False, True], ids=["directory", "zip"])
def test_pip_target_layout(tmp_path: Path, packed: bool) -> None:
    # pip install --target build/ ...; the Lambda deployment package is that directory zipped.
    root = tmp_path / "build"
    info = install(root, "Demo", "1.2", _DEMO)
    _write(root, _APP)
    artifact = _load(_zip(root, tmp_path / "lambda.zip") if packed else root)
    (dist,) = artifact.distributions
    assert dist == Distribution(
        name="Demo",
        key="demo",
        version="1.2",
        source=f"{info}/METADATA",
        installed=True,
        root="",
        top_level=("demo",),
        requires=(),
        has_record=True,
    )
    assert dist.purl == "pkg:pypi/demo@1.2"
    core = artifact.find_module("demo.core")
    assert core is not None
    assert (core.path, core.dist) == ("demo/core.py", "demo")
    assert [m.name for m in artifact.app_modules()] == ["app"]


@pytest.mark.parametrize("packed", [False, True], ids=["directory", "zip"])
def test_virtualenv_site_packages(tmp_path: Path, packed: bool) -> None:
    root = tmp_path / "bundle"
    site = root / "venv" / "lib" / "python3.11" / "site-packages"
    install(site, "demo", "2.0", _DEMO)
    _write(site, {"_virtualenv.py": "", "distutils-precedence.pth": ""})
    _write(root, {"venv/pyvenv.cfg": "home = /usr/bin\n", "venv/bin/activate": "", **_APP})
    artifact = _load(_zip(root, tmp_path / "bundle.zip") if packed else root)
    prefix = "venv/lib/python3.11/site-packages"
    assert artifact.site_roots == [prefix]
    assert _versions(artifact) == {"demo": ("2.0", True)}
    core = artifact.find_module("demo.core")
    assert core is not None
    assert (core.path, core.dist) == (f"{prefix}/demo/core.py", "demo")
    # Unowned files inside site-packages are not application code.
    assert [m.name for m in artifact.app_modules()] == ["app"]


def test_lambda_layer_zip(tmp_path: Path) -> None:
    root = tmp_path / "layer"
    install(root / "python" / "lib" / "python3.12" / "site-packages", "demo", "3.0", _DEMO)
    artifact = _load(_zip(root, tmp_path / "layer.zip"))
    assert artifact.site_roots == ["python/lib/python3.12/site-packages"]
    assert _versions(artifact) == {"demo": ("3.0", True)}


def test_egg_info_is_read(tmp_path: Path) -> None:
    root = tmp_path / "build"
    _write(
        root,
        {
            "legacy/__init__.py": "def f():\n    return 1\n",
            "legacy-0.9-py3.11.egg-info/PKG-INFO": "Metadata-Version: 1.1\nName: legacy\nVersion: 0.9\n",
            "legacy-0.9-py3.11.egg-info/installed-files.txt": "../legacy/__init__.py\nPKG-INFO\n",
            "legacy-0.9-py3.11.egg-info/top_level.txt": "legacy\n",
        },
    )
    artifact = _load(root)
    (dist,) = artifact.distributions
    assert (dist.key, dist.version, dist.installed) == ("legacy", "0.9", True)
    assert dist.source == "legacy-0.9-py3.11.egg-info/PKG-INFO"
    module = artifact.find_module("legacy")
    assert module is not None
    assert module.dist == "legacy"


def test_metadata_that_is_not_utf8_still_names_the_package(tmp_path: Path) -> None:
    root = tmp_path / "build"
    meta = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nSummary: caf\xe9 \xff\xfe\nAuthor: J\xf6rg\n"
    install(root, "demo", "1.0", _DEMO, metadata=meta)
    artifact = _load(root)
    assert _versions(artifact) == {"demo": ("1.0", True)}


def test_oversized_metadata_falls_back_to_the_directory_name(tmp_path: Path) -> None:
    root = tmp_path / "build"
    info = install(root, "demo", "1.0", _DEMO)
    with (root / info / "METADATA").open("r+b") as fh:
        fh.truncate(MAX_METADATA_BYTES + 1)
    artifact = _load(root)
    # Skipping the package would hide its vulnerabilities: its name and version stand.
    assert _versions(artifact) == {"demo": ("1.0", True)}
    assert any("over the" in n and "directory name" in n for n in artifact.notes)


def test_metadata_without_headers_uses_the_directory_name(tmp_path: Path) -> None:
    root = tmp_path / "build"
    install(root, "demo", "1.0", _DEMO, metadata=b"Metadata-Version: 2.1\nSummary: x\n")
    artifact = _load(root)
    assert _versions(artifact) == {"demo": ("1.0", True)}
    assert any("no Version header" in n for n in artifact.notes)


# -- pins ---------------------------------------------------------------------------------------

_REQUIREMENTS = """\
# production pins
-r base.txt
--index-url https://pypi.example.com/simple
-e .
requests==2.31.0  # pinned
urllib3>=1.26,<2
PyYAML==6.0.1 \\
    --hash=sha256:aaaa \\
    --hash=sha256:bbbb
jinja2[i18n]==3.1.2 ; python_version >= "3.8"
flask @ https://example.com/flask-3.0.0-py3-none-any.whl
Django==4.2.*
six
./vendor/local-pkg
https://example.com/pkg.whl
not a requirement ===
"""


def test_requirements_file_pins() -> None:
    notes: list[str] = []
    pins = read_pins("requirements.txt", _REQUIREMENTS, notes)
    assert [(p.key, p.version) for p in pins] == [
        ("requests", "2.31.0"),
        ("urllib3", None),  # a range: the version in use is unknown
        ("pyyaml", "6.0.1"),
        ("jinja2", "3.1.2"),
        ("flask", None),  # a URL names the package, not its version
        ("django", None),  # a wildcard is not exact
        ("six", None),
    ]
    assert pins[0].source == "requirements.txt:5"
    assert len(notes) == 3
    assert all(n.startswith("requirements.txt:") and "skipped" in n for n in notes)


def test_lock_file_pins() -> None:
    poetry = """
        [[package]]
        name = "Requests"
        version = "2.31.0"
        [package.dependencies]
        urllib3 = ">=1.21.1,<3"
        charset_normalizer = ">=2,<4"

        [[package]]
        name = "urllib3"
        version = "2.0.7"
    """
    uv = """
        version = 1
        [[package]]
        name = "requests"
        version = "2.32.3"
        dependencies = [{ name = "urllib3" }, { name = "Charset-Normalizer" }]
    """
    pipfile = """{
        "_meta": {"hash": {"sha256": "x"}},
        "default": {"requests": {"version": "==2.31.0"}, "idna": {"version": ">=3"}},
        "develop": {"pytest": {"version": "==8.0.0"}}
    }"""
    notes: list[str] = []
    assert read_pins("poetry.lock", textwrap.dedent(poetry), notes) == [
        Pin("Requests", "requests", "2.31.0", "poetry.lock", ("charset-normalizer", "urllib3")),
        Pin("urllib3", "urllib3", "2.0.7", "poetry.lock", ()),
    ]
    assert read_pins("sub/uv.lock", textwrap.dedent(uv), notes) == [
        Pin("requests", "requests", "2.32.3", "sub/uv.lock", ("charset-normalizer", "urllib3"))
    ]
    assert read_pins("Pipfile.lock", pipfile, notes) == [
        Pin("requests", "requests", "2.31.0", "Pipfile.lock"),
        Pin("idna", "idna", None, "Pipfile.lock"),
    ]
    assert notes == ["Pipfile.lock: `develop` packages are not deployed and were not read"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("poetry.lock", "[[package]\nname = 1", "invalid TOML"),
        ("uv.lock", "package = 3", "not a list"),
        ("Pipfile.lock", "{nope", "invalid JSON"),
        ("Pipfile.lock", "[]", "not a JSON object"),
    ],
)
def test_broken_lock_files_are_one_line_errors(name: str, text: str, message: str) -> None:
    with pytest.raises(ParseError) as exc:
        read_pins(name, text, [])
    assert message in exc.value.diagnostics()
    assert "\n" not in exc.value.diagnostics()


def test_installed_versions_come_before_pins(tmp_path: Path) -> None:
    root = tmp_path / "build"
    install(root, "demo", "1.2", _DEMO)
    _write(
        root,
        {
            **_APP,
            "requirements.txt": "demo==1.0\nrequests==2.19.1\nurllib3\n",
            "poetry.lock": '[[package]]\nname = "urllib3"\nversion = "1.23"\n',
        },
    )
    artifact = _load(root)
    assert _versions(artifact) == {
        "demo": ("1.2", True),  # METADATA wins over the requirement
        "requests": ("2.19.1", False),
        "urllib3": ("1.23", False),  # the exact lock pin wins over the bare name
    }
    requests = next(d for d in artifact.distributions if d.key == "requests")
    assert requests.source == "requirements.txt:2"
    assert requests.top_level == ("requests",)


def test_conflicting_pins_are_all_kept(tmp_path: Path) -> None:
    root = tmp_path / "build"
    _write(
        root,
        {
            "requirements.txt": "urllib3==1.26.5\n",
            "poetry.lock": '[[package]]\nname = "urllib3"\nversion = "2.0.7"\n',
        },
    )
    artifact = _load(root)
    assert sorted(d.version or "" for d in artifact.distributions) == ["1.26.5", "2.0.7"]
    assert any("urllib3 is pinned to different versions" in n for n in artifact.notes)


def test_pin_files_shipped_inside_packages_are_not_read(tmp_path: Path) -> None:
    root = tmp_path / "build"
    install(root, "demo", "1.0", {**_DEMO, "demo/requirements.txt": "leftpad==0.1\n"})
    venv_site = root / "venv" / "lib" / "python3.11" / "site-packages"
    install(venv_site, "other", "1.0", {"other/__init__.py": ""})
    _write(venv_site, {"requirements.txt": "stray==1.0\n"})
    _write(root, {"requirements/prod.txt": "requests==2.31.0\n"})
    assert _versions(_load(root)) == {
        "demo": ("1.0", True),
        "other": ("1.0", True),
        "requests": ("2.31.0", False),
    }


# -- one package installed twice ----------------------------------------------------------------

_V1 = {"demo/__init__.py": "VERSION = 1\n"}
_V2 = {"demo/__init__.py": "VERSION = 2\n"}


def test_duplicate_the_copy_whose_record_matches_the_code_wins(tmp_path: Path) -> None:
    # pip install --target --upgrade replaces demo/ but leaves demo-1.0.dist-info behind.
    root = tmp_path / "build"
    install(root, "demo", "1.0", _V1)
    install(root, "demo", "2.0", _V2)
    artifact = _load(root)
    assert _versions(artifact) == {"demo": ("2.0", True)}
    (note,) = [n for n in artifact.notes if "installed 2 times" in n]
    assert "using 2.0 (demo-2.0.dist-info/METADATA) over 1.0" in note
    assert "its RECORD matches the installed files" in note


def test_duplicate_a_stale_record_loses_even_when_it_sorts_first(tmp_path: Path) -> None:
    root = tmp_path / "build"
    install(root, "demo", "10.0", _V2)
    install(root, "demo", "9.0", _V2, recorded=_V1)  # hashes of code no longer there
    assert _versions(_load(root)) == {"demo": ("10.0", True)}


def test_duplicate_first_on_the_import_path_wins(tmp_path: Path) -> None:
    root = tmp_path / "bundle"
    install(root, "demo", "2.0", _V2)
    install(root / "venv" / "lib" / "python3.11" / "site-packages", "demo", "1.0", _V1)
    artifact = _load(root)
    assert _versions(artifact) == {"demo": ("2.0", True)}
    assert any("comes first on the import path" in n for n in artifact.notes)


def test_duplicate_without_evidence_keeps_the_lowest_version(tmp_path: Path) -> None:
    root = tmp_path / "build"
    install(root, "demo", "2.0", _V2, record=False)
    install(root, "demo", "1.0", _V1, record=False)
    artifact = _load(root)
    assert _versions(artifact) == {"demo": ("1.0", True)}
    assert any("the lowest version is used" in n for n in artifact.notes)


# -- hostile directories ------------------------------------------------------------------------


def test_links_leaving_the_directory_are_skipped(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, {"secret.py": "TOKEN = 'x'\n", "pkg/__init__.py": ""})
    root = tmp_path / "build"
    _write(root, {**_APP, "real.py": "X = 1\n"})
    (root / "secret.py").symlink_to(outside / "secret.py")
    (root / "pkg").symlink_to(outside / "pkg")
    (root / "alias.py").symlink_to(root / "real.py")
    (root / "loop").symlink_to(root)
    fs = open_artifact(root)
    assert fs.files() == ["alias.py", "app.py", "real.py"]
    assert sorted(fs.notes) == [
        "skipped link leaving the artifact: pkg",
        "skipped link leaving the artifact: secret.py",
    ]
    assert fs.read("alias.py", limit=100) == b"X = 1\n"
    for path in ("secret.py", "pkg/__init__.py", "../outside/secret.py", "/etc/passwd"):
        with pytest.raises(InputError):
            fs.read(path, limit=100)


def test_special_files_are_never_read(tmp_path: Path) -> None:
    root = tmp_path / "build"
    _write(root, _APP)
    os.mkfifo(root / "requirements.txt")
    fs = DirFS(root)
    assert fs.files() == ["app.py"]
    with pytest.raises(InputError, match="not a regular file"):
        fs.read("requirements.txt", limit=100)  # returns at once: no blocking open
    assert _versions(load_artifact(fs)) == {}


def test_huge_files_are_read_only_up_to_the_limit(tmp_path: Path) -> None:
    root = tmp_path / "build"
    _write(root, _APP)
    with (root / "blob.py").open("wb") as fh:
        fh.truncate(512 * 1024 * 1024)  # sparse
    fs = DirFS(root)
    assert fs.size("blob.py") == 512 * 1024 * 1024
    with pytest.raises(InputError, match="over the 1024-byte limit"):
        fs.read("blob.py", limit=1024)


# -- hostile archives ---------------------------------------------------------------------------


def _zip_with(target: Path, members: Mapping[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", _APP["app.py"])
        for name, data in members.items():
            archive.writestr(name, data)
    return target


@pytest.mark.parametrize(
    "name",
    ["../escape.py", "pkg/../../escape.py", "/etc/cron.d/job", "..\\escape.py", "C:/Windows/x.py"],
)
def test_archive_members_escaping_the_root_are_refused(tmp_path: Path, name: str) -> None:
    archive = _zip_with(tmp_path / "evil.zip", {name: b"import os\n"})
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InputError) as exc:
        open_artifact(archive)
    assert "escapes the root" in exc.value.diagnostics()
    assert "\n" not in exc.value.diagnostics()
    assert sorted(tmp_path.rglob("*")) == before  # nothing was written anywhere


def test_archive_symlink_members_are_skipped(tmp_path: Path) -> None:
    target = tmp_path / "links.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("app.py", _APP["app.py"])
        link = zipfile.ZipInfo("passwd.py")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    fs = open_artifact(target)
    assert fs.files() == ["app.py"]
    assert fs.notes == ["skipped symbolic link in archive: passwd.py"]
    with pytest.raises(InputError):
        fs.read("passwd.py", limit=100)


def test_archive_duplicate_members_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "twice.zip"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("app.py", "A = 1\n")
        archive.writestr("./app.py", "A = 2\n")  # the same file once normalised
        with pytest.warns(UserWarning, match="Duplicate"):
            archive.writestr("app.py", "A = 3\n")
    with pytest.raises(InputError, match="appears twice"):
        open_artifact(target)


def test_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    target = _zip_with(tmp_path / "bomb.zip", {"data/zeros.bin": bytes(8 * 1024 * 1024)})
    assert target.stat().st_size < 64 * 1024
    with pytest.raises(InputError, match="decompression bomb"):
        open_artifact(target)


def test_archive_member_over_the_read_limit(tmp_path: Path) -> None:
    noise = os.urandom(300_000)  # incompressible: not a bomb, just big
    fs = open_artifact(_zip_with(tmp_path / "big.zip", {"big.py": noise}))
    assert fs.size("big.py") == 300_000
    with pytest.raises(InputError, match="over the 1000-byte limit"):
        fs.read("big.py", limit=1000)
    assert fs.read("big.py", limit=300_000) == noise


def test_archive_declared_sizes_cap_inflation(tmp_path: Path) -> None:
    # A member that says it holds 100 bytes but inflates to 2 MB.
    target = _zip_with(tmp_path / "liar.zip", {"liar.py": b"A" * 2_000_000})
    raw = bytearray(target.read_bytes())
    patched = 0
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := raw.find(signature, start)) >= 0:
            name_length = int.from_bytes(raw[at + offset + 4 : at + offset + 6], "little")
            header = 30 if signature == b"PK\x03\x04" else 46
            if raw[at + header : at + header + name_length] == b"liar.py":
                raw[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
                patched += 1
            start = at + 4
    assert patched == 2
    target.write_bytes(bytes(raw))
    fs = open_artifact(target)
    assert fs.size("liar.py") == 100
    # Inflation stops at the declared size, and the truncated data fails its checksum.
    with pytest.raises(InputError, match="cannot inflate: Bad CRC-32"):
        fs.read("liar.py", limit=10_000_000)


def test_corrupt_and_foreign_files_are_input_errors(tmp_path: Path) -> None:
    good = _zip_with(tmp_path / "good.zip", {})
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:-30])
    text = tmp_path / "notes.txt"
    text.write_text("hello", encoding="utf-8")
    for path, message in (
        (truncated, "not a directory or a zip archive"),
        (text, "not a directory or a zip archive"),
        (tmp_path / "absent", "no such file or directory"),
    ):
        with pytest.raises(InputError, match=message):
            open_artifact(path)


def test_zip_and_directory_give_the_same_artifact(tmp_path: Path) -> None:
    root = tmp_path / "build"
    install(root, "demo", "1.2", _DEMO)
    _write(root, {**_APP, "requirements.txt": "requests==2.31.0\n"})
    from_dir = _load(root)
    from_zip = _load(_zip(root, tmp_path / "build.zip"))
    assert from_zip.distributions == from_dir.distributions
    assert from_zip.files == from_dir.files
    assert from_zip.module_names() == from_dir.module_names()
    assert isinstance(from_zip.fs, ZipFS)


# -- through the command line: a hostile artifact is exit 2 with one line -------------------------


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"../../escape.py": b"x"}, "escapes the root"),
        ({"zeros.bin": bytes(8 * 1024 * 1024)}, "decompression bomb"),
    ],
    ids=["zip-slip", "zip-bomb"],
)
def test_cli_hostile_archive_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    members: dict[str, bytes],
    message: str,
) -> None:
    archive = _zip_with(tmp_path / "artifact.zip", members)
    osv = tmp_path / "osv.json"
    osv.write_text('{"id": "TEST-1", "affected": []}', encoding="utf-8")
    before = sorted(tmp_path.rglob("*"))
    code = main(["reach", str(archive), "--osv", str(osv), "--no-cache"], environ={})
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pipewarden: error: ")
    assert message in lines[0]
    assert sorted(tmp_path.rglob("*")) == before
