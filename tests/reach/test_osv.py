"""OSV records: loading every accepted shape, merging overlays, and PEP 440 range matching.

Real records come from ``../shared/data/osv`` (30 published PyPI advisories) and
``osv-python-symbols-dev.json`` (symbol overlays for 22 of them); hand-written
records cover the corners of the OSV schema the real ones do not reach.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cases import DEV_SYMBOLS, OSV_DIR

from pipewarden.cli import main
from pipewarden.errors import InputError, ParseError
from pipewarden.reach._osv import (
    MAX_OSV_BYTES,
    AffectedPackage,
    Symbol,
    Vulnerability,
    affects,
    load_osv,
)

Record = dict[str, Any]


def _record(ident: str = "TEST-1", *, name: str = "demo", **affected: Any) -> Record:
    return {
        "id": ident,
        "modified": "2026-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": name}, **affected}],
    }


def _ecosystem(*events: dict[str, str], kind: str = "ECOSYSTEM") -> dict[str, Any]:
    return {"type": kind, "events": list(events)}


def _load(tmp_path: Path, *records: Record, notes: list[str] | None = None) -> list[Vulnerability]:
    path = tmp_path / f"records-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps(list(records)), encoding="utf-8")
    return load_osv([path], [] if notes is None else notes)


def _package(tmp_path: Path, **affected: Any) -> AffectedPackage:
    (vuln,) = _load(tmp_path, _record(**affected))
    (package,) = vuln.packages
    return package


def _by_id(vulns: list[Vulnerability]) -> dict[str, Vulnerability]:
    return {v.id: v for v in vulns}


# -- loading: every accepted shape --------------------------------------------------------------


def test_real_records_directory_loads_all_thirty() -> None:
    notes: list[str] = []
    vulns = load_osv([OSV_DIR], notes)
    expected = {p.stem for p in OSV_DIR.iterdir() if p.suffix in (".json", ".yaml")}
    assert len(expected) == 30
    assert {v.id for v in vulns} == expected
    assert notes == []
    pyyaml = _by_id(vulns)["PYSEC-2021-142"]
    assert pyyaml.aliases == ("CVE-2020-14343", "GHSA-8q59-q68h-6hv4")
    assert [p.key for p in pyyaml.packages] == ["pyyaml"]
    # Unquoted YAML timestamps stay the text the record holds (RFC 3339), not datetimes.
    assert pyyaml.published == "2021-02-09T21:15:00Z"
    assert pyyaml.modified == "2021-08-27T03:22:18.913334Z"
    assert pyyaml.summary.startswith("A vulnerability was discovered in the PyYAML library")
    assert pyyaml.sources == (str(OSV_DIR / "PYSEC-2021-142.yaml"),)


@pytest.mark.parametrize("shape", ["json-record", "json-list", "yaml-record", "yaml-list"])
def test_a_file_holds_one_record_or_a_list(tmp_path: Path, shape: str) -> None:
    first = _record("TEST-1", ranges=[_ecosystem({"introduced": "0"}, {"fixed": "2.0"})])
    second = _record("TEST-2", name="other", versions=["1.0"])
    records: Any = first if shape.endswith("record") else [first, second]
    if shape.startswith("json"):
        path = tmp_path / "osv.json"
        path.write_text(json.dumps(records), encoding="utf-8")
    else:
        import yaml

        path = tmp_path / "osv.yaml"
        path.write_text(yaml.safe_dump(records), encoding="utf-8")
    vulns = load_osv([path], [])
    assert [v.id for v in vulns] == (
        ["TEST-1"] if shape.endswith("record") else ["TEST-1", "TEST-2"]
    )
    assert affects(vulns[0].packages[0], "1.9") is True
    assert affects(vulns[0].packages[0], "2.0") is False


def test_directory_walk_reads_json_and_yaml_and_skips_the_rest(tmp_path: Path) -> None:
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "a.json").write_text(json.dumps(_record("TEST-A")), encoding="utf-8")
    (tmp_path / "nested" / "b.yml").write_text(
        "id: TEST-B\naffected:\n- package: {ecosystem: PyPI, name: b}\n  versions: ['1.0']\n",
        encoding="utf-8",
    )
    (tmp_path / "nested" / "deeper" / "c.YAML").write_text(
        json.dumps(_record("TEST-C")), encoding="utf-8"
    )
    # In a directory, documents that are not records (a schema, a manifest) are skipped.
    (tmp_path / "nested" / "schema.json").write_text('{"$schema": "x"}', encoding="utf-8")
    (tmp_path / "README.md").write_text("not a record", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("{not json", encoding="utf-8")
    assert [v.id for v in load_osv([tmp_path], [])] == ["TEST-A", "TEST-B", "TEST-C"]


def test_zip_export_is_read_like_a_directory(tmp_path: Path) -> None:
    export = tmp_path / "all.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(OSV_DIR.iterdir()):
            archive.write(path, path.name)
        archive.writestr("index/", "")
        archive.writestr("index/manifest.json", '{"count": 30}')
    vulns = load_osv([export], [])
    assert {v.id for v in vulns} == {v.id for v in load_osv([OSV_DIR], [])}
    assert _by_id(vulns)["PYSEC-2021-142"].sources == (f"{export}!PYSEC-2021-142.yaml",)


def test_a_file_given_explicitly_must_be_a_record(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('[{"id": "TEST-1"}, {"no": "id"}]', encoding="utf-8")
    with pytest.raises(ParseError, match="not an OSV record"):
        load_osv([path], [])


def test_missing_path_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        load_osv([tmp_path / "absent.json"], [])


def test_only_pypi_entries_are_kept(tmp_path: Path) -> None:
    mixed = {
        "id": "TEST-MIXED",
        "affected": [
            {"package": {"ecosystem": "npm", "name": "demo"}, "versions": ["1.0"]},
            {"package": {"ecosystem": "Root:PyPI", "name": "demo"}, "versions": ["1.0"]},
            {"package": {"ecosystem": "PyPI", "name": "Demo.Lib"}, "versions": ["1.0"]},
            {"package": {"ecosystem": "Go", "name": "example.com/demo"}},
        ],
    }
    go_only = {"id": "TEST-GO", "affected": [{"package": {"ecosystem": "Go", "name": "x"}}]}
    vulns = _load(tmp_path, mixed, go_only)
    assert [v.id for v in vulns] == ["TEST-MIXED"]
    assert [(p.name, p.key) for p in vulns[0].packages] == [("Demo.Lib", "demo-lib")]


@pytest.mark.parametrize(
    ("name", "key"),
    [("Jinja2", "jinja2"), ("ruamel.yaml", "ruamel-yaml"), ("Foo__Bar-baz", "foo-bar-baz")],
)
def test_package_names_are_pep503_normalised(tmp_path: Path, name: str, key: str) -> None:
    assert _package(tmp_path, name=name, versions=["1.0"]).key == key


def test_withdrawn_record_is_dropped_with_its_overlay(tmp_path: Path) -> None:
    published = _record("TEST-W", ranges=[_ecosystem({"introduced": "0"})])
    published["withdrawn"] = "2026-02-01T00:00:00Z"
    overlay = _record(
        "TEST-W", ecosystem_specific={"imports": [{"path": "demo", "symbols": ["f"]}]}
    )
    notes: list[str] = []
    assert _load(tmp_path, published, overlay, notes=notes) == []
    assert any("TEST-W is withdrawn" in note for note in notes)


def test_entries_for_one_package_are_merged_into_one(tmp_path: Path) -> None:
    # GHSA-34jh-p97f-mpxf lists urllib3 twice, one entry per release line.
    (vuln,) = [v for v in load_osv([OSV_DIR], []) if v.id == "GHSA-34jh-p97f-mpxf"]
    (package,) = vuln.packages
    verdicts = {v: affects(package, v) for v in ("1.26.18", "1.26.19", "2.0.0", "2.2.1", "2.2.2")}
    assert verdicts == {
        "1.26.18": True,
        "1.26.19": False,
        "2.0.0": True,
        "2.2.1": True,
        "2.2.2": False,
    }
    assert package.fixed_versions == ("1.26.19", "2.2.2")


# -- range matching with PEP 440 semantics ------------------------------------------------------

_FIXED = [_ecosystem({"introduced": "0"}, {"fixed": "1.2"})]
_LAST = [_ecosystem({"introduced": "1.0"}, {"last_affected": "1.4"})]
_LIMIT = [_ecosystem({"introduced": "1.0"}, {"limit": "2.0"})]
_STAR = [_ecosystem({"introduced": "1.0"}, {"limit": "*"})]
# Django-style: several introduced/fixed pairs in one range, not in order.
_PAIRS = [
    _ecosystem(
        {"introduced": "4.0"},
        {"fixed": "4.0.4"},
        {"introduced": "3.2"},
        {"fixed": "3.2.13"},
        {"introduced": "2.2"},
        {"fixed": "2.2.28"},
    )
]
_TWO_RANGES = [
    _ecosystem({"introduced": "1.0"}, {"fixed": "1.5"}),
    _ecosystem({"introduced": "2.0"}, {"fixed": "2.3"}),
]
_EPOCH = [_ecosystem({"introduced": "1!0"}, {"fixed": "1!2.0"})]


@pytest.mark.parametrize(
    ("ranges", "version", "expected"),
    [
        (_FIXED, "1.1", True),
        (_FIXED, "1.2", False),
        (_FIXED, "1.3", False),
        (_FIXED, "1.2rc1", True),  # a pre-release of the fix precedes it
        (_FIXED, "1.2.dev3", True),
        (_FIXED, "1.1.post2", True),  # a post-release of an affected version
        (_FIXED, "1.2.post1", False),
        (_FIXED, "0.0.dev1", True),  # "introduced: 0" precedes every version
        (_FIXED, "0a1", True),
        (_FIXED, "1.1+ubuntu1", True),  # local labels do not move a version past a bound
        (_FIXED, "1.2+ubuntu1", False),
        (_FIXED, "1!0.5", False),  # epoch 1 sorts after every epoch-0 version
        (_FIXED, "0!1.1", True),
        (_FIXED, "01.01", True),  # normalised: 1.1
        (_LAST, "1.0", True),
        (_LAST, "1.4", True),
        (_LAST, "1.4+local.7", True),
        (_LAST, "1.4.post1", False),
        (_LAST, "1.4.1", False),
        (_LAST, "1.0rc1", False),
        (_LAST, "0.9", False),
        (_LIMIT, "1.5", True),
        (_LIMIT, "2.0", False),
        (_LIMIT, "0.9", False),
        (_STAR, "99.0", True),
        (_PAIRS, "4.0.3", True),
        (_PAIRS, "4.0.4", False),
        (_PAIRS, "3.2.12", True),
        (_PAIRS, "3.2.13", False),
        (_PAIRS, "3.1", False),
        (_PAIRS, "2.2.27", True),
        (_PAIRS, "2.1", False),
        (_PAIRS, "4.1", False),
        (_TWO_RANGES, "1.4", True),
        (_TWO_RANGES, "1.7", False),
        (_TWO_RANGES, "2.2", True),
        (_TWO_RANGES, "2.3", False),
        (_EPOCH, "5.0", False),
        (_EPOCH, "1!1.9", True),
        (_EPOCH, "1!2.0", False),
    ],
)
def test_ecosystem_ranges(
    tmp_path: Path, ranges: list[dict[str, Any]], version: str, expected: bool
) -> None:
    assert affects(_package(tmp_path, ranges=ranges), version) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0", True), ("1.0.0", True), ("1.0+cpu", True), ("1.1", False), ("2.0b1", True)],
)
def test_explicit_versions_list(tmp_path: Path, version: str, expected: bool) -> None:
    package = _package(tmp_path, versions=["1.0", "2.0b1", "2.0b1"])
    assert package.versions == ("1.0", "2.0b1")
    assert affects(package, version) is expected


def test_versions_list_and_ranges_are_alternatives(tmp_path: Path) -> None:
    package = _package(
        tmp_path, versions=["0.9"], ranges=[_ecosystem({"introduced": "1.0"}, {"fixed": "1.1"})]
    )
    assert [affects(package, v) for v in ("0.9", "1.0", "1.1", "0.8")] == [True, True, False, False]


@pytest.mark.parametrize(
    ("affected", "version", "expected"),
    [
        # The installed version cannot be parsed: only a verbatim listing decides.
        ({"ranges": _FIXED}, "not a version", None),
        ({"ranges": _FIXED, "versions": ["weird-1"]}, "weird-1", True),
        # An event that cannot be parsed leaves that range undecided ...
        ({"ranges": [_ecosystem({"introduced": "0"}, {"fixed": "1.x.y"})]}, "1.0", None),
        # ... unless another range or the versions list decides.
        (
            {"ranges": [_ecosystem({"introduced": "0"}, {"fixed": "1.x.y"}), *_LAST]},
            "1.2",
            True,
        ),
        (
            {"ranges": [_ecosystem({"introduced": "0"}, {"fixed": "1.x.y"})], "versions": ["1.0"]},
            "1.0",
            True,
        ),
        # A range without an introduced event says nothing (the schema requires one).
        ({"ranges": [_ecosystem({"fixed": "2.0"})]}, "1.0", None),
        ({"ranges": [_ecosystem()]}, "1.0", None),
        # Unknown version: never "not installed".
        ({"ranges": _FIXED}, None, None),
    ],
)
def test_what_cannot_be_compared_is_unknown(
    tmp_path: Path, affected: dict[str, Any], version: str | None, expected: bool | None
) -> None:
    assert affects(_package(tmp_path, **affected), version) is expected


def test_git_ranges_are_not_release_ranges(tmp_path: Path) -> None:
    git = {
        "type": "GIT",
        "repo": "https://github.com/x/demo",
        "events": [{"introduced": "0"}, {"fixed": "a" * 40}],
    }
    notes: list[str] = []
    (vuln,) = _load(tmp_path, _record(ranges=[git]), notes=notes)
    only_git = vuln.packages[0]
    assert only_git.opaque_ranges == ("GIT",)
    # Only a GIT range and no versions list: no release can be cleared or matched.
    assert affects(only_git, "1.0") is None
    assert any("only GIT ranges for demo" in note for note in notes)
    # With the enumerated versions list the schema requires alongside GIT ranges, it decides.
    listed = _package(tmp_path, ranges=[git], versions=["1.0"])
    assert (affects(listed, "1.0"), affects(listed, "1.1")) == (True, False)
    # A GIT range beside an ECOSYSTEM range: the ECOSYSTEM range decides.
    both = _package(tmp_path, ranges=[git, *_FIXED])
    assert (affects(both, "1.1"), affects(both, "1.2")) == (True, False)


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.0.0", False), ("2.0.0-rc.1", True), ("2.0.0", True), ("2.1.0", False)],
)
def test_semver_ranges_use_pep440_ordering(tmp_path: Path, version: str, expected: bool) -> None:
    package = _package(
        tmp_path,
        ranges=[_ecosystem({"introduced": "2.0.0-rc.1"}, {"fixed": "2.1.0"}, kind="SEMVER")],
    )
    assert affects(package, version) is expected


def test_semver_only_versions_are_undecided(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        ranges=[_ecosystem({"introduced": "0"}, {"fixed": "1.0.0-alpha.beta"}, kind="SEMVER")],
    )
    assert affects(package, "0.5") is None


def test_real_records_versions(tmp_path: Path) -> None:
    vulns = _by_id(load_osv([OSV_DIR], []))

    def check(ident: str, expected: dict[str, bool]) -> None:
        (package,) = vulns[ident].packages
        assert {v: affects(package, v) for v in expected} == expected, ident

    # GIT + ECOSYSTEM ranges + versions list.
    check("PYSEC-2018-28", {"2.19.1": True, "2.20.0rc1": True, "2.20.0": False})
    check(
        "PYSEC-2022-190",
        {
            "4.0.3": True,
            "4.0.4": False,
            "3.2.12": True,
            "3.2.13": False,
            "3.1": False,
            "2.2.27": True,
        },
    )
    # Pre-releases of the fix are affected; 3.13 is listed verbatim.
    check(
        "PYSEC-2021-142", {"5.3.1": True, "5.4b2": True, "5.4": False, "6.0": False, "3.13": True}
    )
    check("PYSEC-2021-63", {"3.0": False, "3.1": True, "3.3.1": True, "3.3.2": False})
    # A GitHub record naming the package "Jinja2".
    check("GHSA-h75v-3vvj-5mfj", {"2.8": True, "3.1.3": True, "3.1.4": False})
    check("PYSEC-2024-60", {"0.0.1": False, "0.1": True, "3.6": True, "3.7": False})


def test_yaml_numbers_are_not_trusted_as_versions(tmp_path: Path) -> None:
    # Unquoted, ``1.10`` is the float 1.1: the record cannot be read exactly.
    path = tmp_path / "numbers.yaml"
    path.write_text(
        "id: TEST-NUM\n"
        "affected:\n"
        "- package: {ecosystem: PyPI, name: demo}\n"
        "  ranges:\n"
        "  - type: ECOSYSTEM\n"
        "    events:\n"
        "    - introduced: 0\n"
        "    - fixed: 1.10\n"
        "- package: {ecosystem: PyPI, name: listed}\n"
        "  versions: [1.10, '2.0']\n",
        encoding="utf-8",
    )
    notes: list[str] = []
    (vuln,) = load_osv([path], notes)
    demo, listed = vuln.packages
    assert affects(demo, "1.5") is None  # 1.5 < 1.10 but > 1.1: cannot be told
    assert demo.fixed_versions == ()  # no made-up advice either
    assert affects(listed, "2.0") is True
    assert affects(listed, "3.0") is None  # "1.10" was lost: 3.0 is not provably unaffected
    assert listed.inexact_versions
    assert any("not text" in note for note in notes)


def test_no_version_data_means_every_version(tmp_path: Path) -> None:
    package = _package(
        tmp_path, ecosystem_specific={"imports": [{"path": "demo", "symbols": ["f"]}]}
    )
    assert not package.has_version_data
    assert affects(package, "0.1") is True
    assert affects(package, "garbage") is True
    assert affects(package, None) is None


# -- symbol data and overlays -------------------------------------------------------------------


def test_overlay_adds_symbols_to_published_records() -> None:
    published = _by_id(load_osv([OSV_DIR], []))
    overlay_ids = {r["id"] for r in json.loads(DEV_SYMBOLS.read_text(encoding="utf-8"))}
    assert len(overlay_ids) == 22
    for order in ([OSV_DIR, DEV_SYMBOLS], [DEV_SYMBOLS, OSV_DIR]):
        merged = _by_id(load_osv(order, []))
        assert set(merged) == set(published)
        with_symbols = {i for i, v in merged.items() if any(p.has_symbols for p in v.packages)}
        assert with_symbols == overlay_ids
        pyyaml = merged["PYSEC-2021-142"]
        (package,) = pyyaml.packages
        assert {Symbol("yaml.constructor", "FullConstructor"), Symbol("yaml", "full_load")} <= set(
            package.symbols
        )
        assert len(pyyaml.sources) == 2
        # Version data is the union of both; the verdicts of the published record stand.
        assert affects(package, "5.3.1") is True
        assert affects(package, "5.4") is False


def test_overlay_keyed_by_an_alias_merges_into_the_record(tmp_path: Path) -> None:
    overlay = _record(
        "GHSA-8q59-q68h-6hv4",
        name="PyYAML",
        ecosystem_specific={"imports": [{"path": "yaml", "symbols": ["full_load"]}]},
    )
    path = tmp_path / "overlay.json"
    path.write_text(json.dumps(overlay), encoding="utf-8")
    vulns = _by_id(load_osv([OSV_DIR, path], []))
    assert "GHSA-8q59-q68h-6hv4" not in vulns
    (package,) = vulns["PYSEC-2021-142"].packages
    assert package.symbols == (Symbol("yaml", "full_load"),)
    assert affects(package, "5.4") is False


def test_three_symbol_shapes(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        ecosystem_specific={
            "imports": [
                {"path": "demo.loader", "symbols": ["load", "Loader.construct"]},
                {"attribute": "dump", "modules": ["demo", "demo.dumper"]},
            ],
            "affected_functions": ["demo.parser.Parser.parse"],
        },
        database_specific={"affected_functions": ["demo.render"]},
    )
    assert package.symbols == (
        Symbol("demo.loader", "load"),
        Symbol("demo.loader", "Loader.construct"),
        Symbol("demo", "dump"),
        Symbol("demo.dumper", "dump"),
    )
    # A dotted name's split is unknown: every reading with a function or a method is kept.
    assert package.candidates == (
        (Symbol("demo.parser.Parser", "parse"), Symbol("demo.parser", "Parser.parse")),
        (Symbol("demo", "render"),),
    )
    assert package.has_symbols


@pytest.mark.parametrize(
    "imports",
    [
        [{"path": "demo", "symbols": ["f"]}, {"path": "demo.io"}],  # the whole of demo.io
        [{"path": "demo", "symbols": ["f", "not valid()"]}],
        [{"path": "demo/x.py", "symbols": ["f"]}],
        [{"path": "demo", "symbols": ["f"]}, "demo.g"],
    ],
)
def test_unusable_symbol_entries_fall_back_to_the_package(
    tmp_path: Path, imports: list[Any]
) -> None:
    # A partial symbol list would clear code the record calls vulnerable.
    notes: list[str] = []
    (vuln,) = _load(tmp_path, _record(ecosystem_specific={"imports": imports}), notes=notes)
    (package,) = vuln.packages
    assert package.symbol_gaps
    assert not package.has_symbols
    assert any("symbol data for demo not used" in note for note in notes)


# -- hostile and malformed input ----------------------------------------------------------------


def _one_line(exc: pytest.ExceptionInfo[InputError]) -> str:
    text = exc.value.diagnostics()
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", b'{"id": "X", ', "invalid JSON"),
        ("bad.json", b"[" * 5000 + b"]" * 5000, "nesting deeper than"),
        ("bad.yaml", b"id: [unclosed\n", "invalid YAML"),
        ("bad.yaml", b"id: X\nid: Y\n", "duplicate key"),
        ("bad.yaml", b"id: !!python/object:os.system x\n", "tag"),
        ("bad.json", b'{"id": "caf\xe9"}', "not UTF-8"),
    ],
    ids=["truncated-json", "deep-json", "broken-yaml", "duplicate-key", "python-tag", "latin-1"],
)
def test_malformed_files_are_one_line_errors(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as exc:
        load_osv([path], [])
    assert message in _one_line(exc)


_ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(ord('b') + i)}: &{chr(ord('b') + i)} [{', '.join(['*' + chr(ord('a') + i)] * 10)}]\n"
        for i in range(8)
    )
    + "id: *i\n"
)


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_ALIAS_BOMB, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(ParseError) as exc:
        load_osv([path], [])
    assert "aliases expand" in _one_line(exc)
    assert time.perf_counter() - started < 30  # expanded, it would be 10**9 nodes


def test_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:
        fh.truncate(MAX_OSV_BYTES + 1)  # sparse: costs no disk
    with pytest.raises(InputError) as exc:
        load_osv([path], [])
    assert "over the" in _one_line(exc)


def test_zip_member_inflating_past_the_limit_is_refused(tmp_path: Path) -> None:
    export = tmp_path / "bomb.zip"
    with zipfile.ZipFile(export, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("PYSEC-1.json", json.dumps(_record("TEST-OK")))
        archive.writestr("big.json", b" " * (MAX_OSV_BYTES + 1))
    assert export.stat().st_size < 100_000
    with pytest.raises(InputError) as exc:
        load_osv([export], [])
    assert "size limit" in _one_line(exc)


def test_zip_member_names_never_reach_the_filesystem(tmp_path: Path) -> None:
    export = tmp_path / "export" / "evil.zip"
    export.parent.mkdir()
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("../../escaped.json", json.dumps(_record("TEST-UP")))
        archive.writestr(str(tmp_path / "absolute.json"), json.dumps(_record("TEST-ABS")))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    vulns = load_osv([export], [])
    assert [v.id for v in vulns] == ["TEST-ABS", "TEST-UP"]
    # Nothing is extracted: the names are only labels.
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    "extra",
    [
        {"severity": 5},
        {"severity": "CVSS:3.1/AV:N"},
        {"summary": "   \n  ", "details": ["x"]},
        {"summary": 42},
        {"references": "https://example.com"},
        {"references": [{"url": 7}, "x"]},
        {"aliases": "CVE-1"},
        {"published": 20260101, "modified": None},
        {"database_specific": {"severity": ["HIGH"]}},
    ],
)
def test_fields_of_the_wrong_type_do_not_crash(tmp_path: Path, extra: dict[str, Any]) -> None:
    record = {**_record(ranges=_FIXED), **extra}
    (vuln,) = _load(tmp_path, record)
    assert vuln.id == "TEST-1"
    assert isinstance(vuln.summary, str)
    assert affects(vuln.packages[0], "1.0") is True


@pytest.mark.parametrize(
    "affected",
    [
        {"affected": {"package": {"ecosystem": "PyPI", "name": "demo"}}},
        {"affected": [None, 3, {"package": "PyPI/demo"}]},
        {"affected": [{"package": {"ecosystem": "PyPI", "name": ["demo"]}}]},
        {"affected": [{"package": {"ecosystem": ["PyPI"], "name": "demo"}}]},
        {"affected": [{"package": {"ecosystem": "PyPI", "name": "  "}}]},
    ],
)
def test_records_without_a_usable_pypi_entry_are_skipped(
    tmp_path: Path, affected: dict[str, Any]
) -> None:
    assert _load(tmp_path, {"id": "TEST-X", **affected}) == []


def test_malformed_ranges_and_events_do_not_crash(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        ranges=[
            "ECOSYSTEM",
            {"type": "ECOSYSTEM", "events": "introduced 0"},
            {"type": "ECOSYSTEM", "events": [None, {"introduced": {"v": 1}}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": True}, {"fixed": 2}]},
        ],
        versions="1.0",
    )
    assert affects(package, "1.0") is None


# -- through the command line: a bad OSV input is exit 2 with one line ----------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", b'[{"id": "TEST-1",', "invalid JSON"),
        ("bomb.yaml", _ALIAS_BOMB.encode(), "aliases expand"),
        ("latin1.json", b'{"id": "caf\xe9"}', "not UTF-8"),
        ("deep.json", b"[" * 100_000, "nesting deeper than"),
    ],
    ids=["invalid-json", "alias-bomb", "latin-1", "deep-json"],
)
def test_cli_bad_osv_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, message: str
) -> None:
    artifact = tmp_path / "app"
    artifact.mkdir()
    (artifact / "app.py").write_text("def handler(event, context):\n    return 1\n")
    bad = tmp_path / name
    bad.write_bytes(content)
    code = main(["reach", str(artifact), "--osv", str(bad), "--no-cache"], environ={})
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pipewarden: error: ")
    assert message in lines[0]


def test_cli_odd_record_fields_are_not_an_internal_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = tmp_path / "app"
    artifact.mkdir()
    (artifact / "app.py").write_text("def handler(event, context):\n    return 1\n")
    osv = tmp_path / "odd.json"
    osv.write_text(
        json.dumps([{**_record(ranges=_FIXED), "severity": 5, "summary": "  ", "references": 1}]),
        encoding="utf-8",
    )
    code = main(["reach", str(artifact), "--osv", str(osv), "--no-cache"], environ={})
    _, err = capsys.readouterr()
    assert code == 0, err
