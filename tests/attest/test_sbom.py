"""``pipewarden sbom``: real lock files and installed packages in, schema-valid CycloneDX 1.6 out."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from pipewarden.attest.sbom import Limits, build_sbom, find_packages
from pipewarden.cli.main import main
from pipewarden.errors import InputError

CLOCK = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sri(data: bytes) -> tuple[str, str]:
    """(npm integrity string, the same digest in hex)."""
    digest = hashlib.sha512(data).digest()
    return "sha512-" + base64.b64encode(digest).decode(), digest.hex()


H1, H2, H3, H4 = (sha256(bytes([n])) for n in range(4))
LODASH_SRI, LODASH_HEX = sri(b"lodash")
TYPES_SRI, TYPES_HEX = sri(b"@types/node")

REQUIREMENTS = f"""\
# pinned with hashes (pip-compile --generate-hashes style)
--index-url https://pypi.org/simple
Flask==3.0.3 \\
    --hash=sha256:{H1} \\
    --hash=sha256:{H2}
    # via -r requirements.in
Zope.Interface[test]==6.4 ; python_version >= "3.8"
requests>=2.0
-e ./local-package
git+https://example.com/repo.git#egg=vcs
attrs == 23.2.0  # trailing comment
"""

POETRY_LOCK = f"""\
[[package]]
name = "certifi"
version = "2024.2.2"
description = "Mozilla's CA bundle"
optional = false
python-versions = ">=3.6"
files = [
    {{file = "certifi-2024.2.2-py3-none-any.whl", hash = "sha256:{H3}"}},
    {{file = "certifi-2024.2.2.tar.gz", hash = "sha256:{H4}"}},
]

[[package]]
name = "internal-lib"
version = "0.1.0"
description = ""
optional = false
python-versions = "*"
files = []

[package.source]
type = "git"
url = "https://example.com/internal-lib.git"
reference = "main"
resolved_reference = "0123456789abcdef0123456789abcdef01234567"

[[package]]
name = "my-app"
version = "1.0.0"
description = ""
optional = false
python-versions = "*"
files = []
develop = true

[package.source]
type = "directory"
url = "."

[metadata]
lock-version = "2.0"
python-versions = "^3.11"
content-hash = "{H1}"
"""

UV_LOCK = f"""\
version = 1
requires-python = ">=3.11"

[[package]]
name = "idna"
version = "3.7"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.example/idna-3.7.tar.gz", hash = "sha256:{H1}", size = 189575 }}
wheels = [
    {{ url = "https://files.example/idna-3.7-py3-none-any.whl", hash = "sha256:{H2}", size = 66836 }},
]

[[package]]
name = "service"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [{{ name = "idna" }}]

[[package]]
name = "tools"
version = "0.1.0"
source = {{ virtual = "tools" }}
"""

PIPFILE_LOCK = {
    "_meta": {"hash": {"sha256": H1}, "pipfile-spec": 6},
    "default": {
        "urllib3": {"hashes": [f"sha256:{H3}"], "version": "==2.2.1", "index": "pypi"},
        "local": {"editable": True, "path": "."},
    },
    "develop": {"pytest": {"hashes": [f"sha256:{H4}"], "version": "==8.1.1"}},
}

PACKAGE_LOCK = {
    "name": "web",
    "version": "1.0.0",
    "lockfileVersion": 3,
    "requires": True,
    "packages": {
        "": {"name": "web", "version": "1.0.0", "dependencies": {"lodash": "^4.17.21"}},
        "node_modules/lodash": {
            "version": "4.17.21",
            "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz",
            "integrity": LODASH_SRI,
        },
        "node_modules/@types/node": {
            "version": "20.11.30",
            "resolved": "https://registry.npmjs.org/@types/node/-/node-20.11.30.tgz",
            "integrity": TYPES_SRI,
            "dev": True,
        },
        "node_modules/shared": {"resolved": "packages/shared", "link": True},
        "packages/shared": {"name": "shared", "version": "0.0.1"},
    },
}

PACKAGE_LOCK_V1 = {
    "name": "old",
    "version": "1.0.0",
    "lockfileVersion": 1,
    "dependencies": {
        "left-pad": {
            "version": "1.3.0",
            "integrity": LODASH_SRI,
            "dependencies": {"inner": {"version": "2.0.0"}},
        }
    },
}


def write_output(root: Path) -> Path:
    """A realistic build output: every supported manifest, hand-written."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "requirements.txt").write_text(REQUIREMENTS)
    (root / "poetry.lock").write_text(POETRY_LOCK)
    (root / "svc").mkdir()
    (root / "svc" / "uv.lock").write_text(UV_LOCK)
    (root / "Pipfile.lock").write_text(json.dumps(PIPFILE_LOCK))
    (root / "web").mkdir()
    (root / "web" / "package-lock.json").write_text(json.dumps(PACKAGE_LOCK))
    (root / "legacy").mkdir()
    (root / "legacy" / "npm-shrinkwrap.json").write_text(json.dumps(PACKAGE_LOCK_V1))
    dist = root / "python" / "six-1.16.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nSummary: py2/3\n\nLong text\n"
    )
    return root


def components(text: str) -> dict[str, dict[str, Any]]:
    return {c["purl"]: c for c in json.loads(text)["components"]}


def hashes(component: dict[str, Any]) -> set[tuple[str, str]]:
    return {(h["alg"], h["content"]) for h in component.get("hashes", [])}


def assert_valid(text: str) -> None:
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error


EXPECTED = {
    "pkg:pypi/flask@3.0.3",
    "pkg:pypi/zope-interface@6.4",
    "pkg:pypi/attrs@23.2.0",
    "pkg:pypi/certifi@2024.2.2",
    "pkg:pypi/internal-lib@0.1.0?vcs_url=git%2Bhttps://example.com/internal-lib.git%400123456789abcdef0123456789abcdef01234567",
    "pkg:pypi/idna@3.7",
    "pkg:pypi/urllib3@2.2.1",
    "pkg:pypi/pytest@8.1.1",
    "pkg:pypi/six@1.16.0",
    "pkg:npm/lodash@4.17.21",
    "pkg:npm/%40types/node@20.11.30",
    "pkg:npm/left-pad@1.3.0",
    "pkg:npm/inner@2.0.0",
}


def test_directory_sbom_lists_every_manifest_with_purls_and_hashes(tmp_path: Path) -> None:
    out = write_output(tmp_path / "out")
    text, count = build_sbom(out, clock=lambda: CLOCK)
    assert_valid(text)
    found = components(text)
    assert set(found) == EXPECTED
    assert count == len(EXPECTED)
    assert hashes(found["pkg:pypi/flask@3.0.3"]) == {("SHA-256", H1), ("SHA-256", H2)}
    assert hashes(found["pkg:pypi/certifi@2024.2.2"]) == {("SHA-256", H3), ("SHA-256", H4)}
    assert hashes(found["pkg:pypi/idna@3.7"]) == {("SHA-256", H1), ("SHA-256", H2)}
    assert hashes(found["pkg:pypi/urllib3@2.2.1"]) == {("SHA-256", H3)}
    assert hashes(found["pkg:npm/lodash@4.17.21"]) == {("SHA-512", LODASH_HEX)}
    assert hashes(found["pkg:npm/%40types/node@20.11.30"]) == {("SHA-512", TYPES_HEX)}
    assert found["pkg:npm/%40types/node@20.11.30"]["scope"] == "optional"
    assert found["pkg:pypi/pytest@8.1.1"]["scope"] == "optional"
    assert found["pkg:npm/lodash@4.17.21"]["scope"] == "required"
    assert found["pkg:pypi/flask@3.0.3"]["evidence"]["occurrences"] == [
        {"location": "requirements.txt", "line": 3}
    ]
    assert found["pkg:pypi/attrs@23.2.0"]["evidence"]["occurrences"][0]["line"] == 11
    assert found["pkg:pypi/idna@3.7"]["evidence"]["occurrences"] == [{"location": "svc/uv.lock"}]
    document = json.loads(text)
    assert document["specVersion"] == "1.6"
    assert document["metadata"]["timestamp"] == "2030-01-02T03:04:05+00:00"
    assert document["metadata"]["component"]["name"] == "out"
    root_deps = next(d for d in document["dependencies"] if d["ref"] == "build-output")
    assert set(root_deps["dependsOn"]) == {c["bom-ref"] for c in document["components"]}


def test_fast_serializer_matches_the_library_output(tmp_path: Path) -> None:
    from cyclonedx.output.json import JsonV1Dot6

    from pipewarden.attest.sbom import LIMITS, _make_bom, _serialize

    out = write_output(tmp_path / "out")
    bom = _make_bom(out, clock=lambda: CLOCK, serial_number=None, limits=LIMITS)
    ours = _serialize(bom)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the library finds nothing to complain about either
        theirs = JsonV1Dot6(bom).output_as_string(indent=2)
    assert ours == theirs + "\n"


def test_npm_scope_is_the_component_group(tmp_path: Path) -> None:
    out = write_output(tmp_path / "out")
    text, _ = build_sbom(out, clock=lambda: CLOCK)
    scoped = components(text)["pkg:npm/%40types/node@20.11.30"]
    assert (scoped["group"], scoped["name"]) == ("@types", "node")


def test_same_package_from_two_manifests_is_one_component(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "requirements.txt").write_text(f"six==1.16.0 --hash=sha256:{H1}\n")
    dist = out / "lib" / "six-1.16.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: Six\nVersion: 1.16.0\n")
    text, count = build_sbom(out, clock=lambda: CLOCK)
    assert count == 1
    (six,) = components(text).values()
    assert hashes(six) == {("SHA-256", H1)}
    assert {o["location"] for o in six["evidence"]["occurrences"]} == {
        "requirements.txt",
        "lib/six-1.16.0.dist-info/METADATA",
    }


def _wheel(path: Path, name: str, version: str) -> Path:
    """A minimal, valid pure-Python wheel built by hand (no build backend, no network)."""
    wheel = path / f"{name}-{version}-py3-none-any.whl"
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"VALUE = 1\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(
        f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()},{len(d)}\n"
        for n, d in files.items()
    )
    files[f"{dist}/RECORD"] = (record + f"{dist}/RECORD,,\n").encode()
    with zipfile.ZipFile(wheel, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return wheel


def test_packages_installed_by_pip_are_found(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "tinypkg", "0.3.1")
    target = tmp_path / "lambda"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        capture_output=True,
        check=False,
        env={**os.environ, "PIP_NO_INPUT": "1"},
    )
    assert done.returncode == 0, done.stderr.decode()
    assert (target / "tinypkg-0.3.1.dist-info" / "INSTALLER").is_file()  # really installed
    text, _ = build_sbom(target, clock=lambda: CLOCK)
    assert_valid(text)
    assert set(components(text)) == {"pkg:pypi/tinypkg@0.3.1"}


def test_zip_output_matches_the_directory_and_carries_its_hash(tmp_path: Path) -> None:
    out = write_output(tmp_path / "out")
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(out.rglob("*")):
            zf.write(path, path.relative_to(out).as_posix())
    text, _ = build_sbom(bundle, clock=lambda: CLOCK)
    assert_valid(text)
    assert set(components(text)) == EXPECTED
    root = json.loads(text)["metadata"]["component"]
    assert root["type"] == "file"
    assert root["hashes"] == [{"alg": "SHA-256", "content": sha256(bundle.read_bytes())}]


def test_one_lock_file_can_be_given_directly(tmp_path: Path) -> None:
    lock = tmp_path / "poetry.lock"
    lock.write_text(POETRY_LOCK)
    text, count = build_sbom(lock, clock=lambda: CLOCK)
    assert_valid(text)
    assert count == 2
    root = json.loads(text)["metadata"]["component"]
    assert (root["name"], root["type"]) == ("poetry.lock", "file")


def test_output_is_deterministic_and_the_serial_follows_the_content(tmp_path: Path) -> None:
    out = write_output(tmp_path / "out")
    first, _ = build_sbom(out, clock=lambda: CLOCK)
    again, _ = build_sbom(out, clock=lambda: CLOCK)
    assert first == again
    (out / "requirements.txt").write_text("flask==3.0.4\n")
    changed, _ = build_sbom(out, clock=lambda: CLOCK)
    assert json.loads(changed)["serialNumber"] != json.loads(first)["serialNumber"]
    fixed = uuid.UUID("12345678-1234-5678-1234-567812345678")
    given, _ = build_sbom(out, clock=lambda: CLOCK, serial_number=fixed)
    assert json.loads(given)["serialNumber"] == f"urn:uuid:{fixed}"


def test_symlinks_in_a_directory_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "requirements.txt").write_text("secret-internal==1.0\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "requirements.txt").write_text("six==1.16.0\n")
    (out / "linked").symlink_to(outside, target_is_directory=True)
    (out / "requirements-dev.txt").symlink_to(outside / "requirements.txt")
    text, _ = build_sbom(out, clock=lambda: CLOCK)
    assert set(components(text)) == {"pkg:pypi/six@1.16.0"}


# ---- the command line


def test_cli_writes_the_sbom_to_stdout_reproducibly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = write_output(tmp_path / "out")
    env = {"SOURCE_DATE_EPOCH": "1893456000"}
    assert main(["sbom", str(out)], environ=env) == 0
    first = capsys.readouterr().out
    assert main(["sbom", str(out)], environ=env) == 0
    assert capsys.readouterr().out == first
    assert_valid(first)
    assert json.loads(first)["metadata"]["timestamp"] == "2030-01-01T00:00:00+00:00"


def test_cli_writes_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = write_output(tmp_path / "out")
    target = tmp_path / "sbom.cdx.json"
    assert main(["sbom", str(out), "-o", str(target)], environ={}) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{len(EXPECTED)} components" in captured.err
    assert_valid(target.read_text())


def run_cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(argv, environ={})
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err  # one line, no traceback
    return lines[0]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../../etc/requirements.txt", "path traversal"),
        ("lib/../../requirements.txt", "path traversal"),
        ("..\\evil\\requirements.txt", "path traversal"),
        ("/etc/requirements.txt", "absolute path"),
        ("C:/Windows/requirements.txt", "absolute path"),
    ],
)
def test_zip_with_escaping_member_names_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    bundle = _zip(tmp_path / "evil.zip", {"ok.txt": b"x", name: b"six==1.16.0\n"})
    line = run_cli_error(["sbom", str(bundle)], capsys)
    assert message in line
    assert str(bundle) in line


def test_zip_with_a_symlink_member_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "link.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        info = zipfile.ZipInfo("requirements.txt")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    assert "symbolic link" in run_cli_error(["sbom", str(bundle)], capsys)


def test_zip_with_duplicate_member_names_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "dup.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("requirements.txt", "six==1.16.0\n")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("requirements.txt", "evil==6.6.6\n")
    assert "more than once" in run_cli_error(["sbom", str(bundle)], capsys)


def test_zip_decompression_bomb_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("requirements.txt", b"six==1.16.0\n")
        zf.writestr("padding.bin", bytes(32 * 1024 * 1024))  # 32 MiB of zeros, ~1000:1
    assert bundle.stat().st_size < 200_000
    assert "decompression bomb" in run_cli_error(["sbom", str(bundle)], capsys)


def test_zip_limits_on_total_size_entries_and_manifest_size(tmp_path: Path) -> None:
    bundle = _zip(
        tmp_path / "big.zip",
        {"requirements.txt": b"six==1.16.0\n" * 100, "a.bin": os.urandom(4096)},
    )
    with pytest.raises(InputError, match="unpacks to over"):
        find_packages(bundle, limits=Limits(max_unpacked=4096))
    with pytest.raises(InputError, match="more than 1 members"):
        find_packages(bundle, limits=Limits(max_entries=1))
    with pytest.raises(InputError, match="over the 100 byte limit"):
        find_packages(bundle, limits=Limits(max_manifest_bytes=100))


def test_malformed_manifest_is_a_one_line_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    (out / "web").mkdir(parents=True)
    (out / "web" / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {')
    line = run_cli_error(["sbom", str(out)], capsys)
    assert "web/package-lock.json" in line
    assert "not valid JSON" in line


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("requirements.txt", "six==1.16.0 --hash=sha256:abc\n", "malformed sha256 hash"),
        ("requirements.txt", "six==1.16.0 --hash=md5:" + "0" * 32 + "\n", "unsupported hash"),
        ("poetry.lock", "[[package]]\nname = 'x'\n", "invalid version"),
        ("uv.lock", "[[package]\n", "not valid TOML"),
        ("Pipfile.lock", '{"default": {"x y": {"version": "==1"}}}', "invalid pypi package name"),
        (
            "package-lock.json",
            '{"packages": {"node_modules/a": {"version": "1", "integrity": "sha512-!!"}}}',
            "malformed integrity",
        ),
    ],
)
def test_bad_manifest_content_is_rejected(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / name).write_text(content)
    with pytest.raises(InputError, match=message):
        find_packages(out)


def test_missing_path_and_non_zip_file_are_input_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "no such file" in run_cli_error(["sbom", str(tmp_path / "absent")], capsys)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert "not a readable zip" in run_cli_error(["sbom", str(text)], capsys)


def test_bad_source_date_epoch_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = write_output(tmp_path / "out")
    code = main(["sbom", str(out)], environ={"SOURCE_DATE_EPOCH": "yesterday"})
    assert code == 2
    assert "SOURCE_DATE_EPOCH" in capsys.readouterr().err
