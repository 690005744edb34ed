"""The registry, the catalogue (RULES.md), the rule modules and the fixtures agree.

Stops the drift between the places a rule is described: its module, the
explicit ``RULES`` tuple, the catalogue in ``../shared/RULES.md``, its
fixtures and their goldens. The docs pages are checked in ``test_docs.py``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest

import pipewarden.rules
from pipewarden.model import Severity
from pipewarden.model.location import split_pointer
from pipewarden.rules import RULES, Rule, rule_by_key
from pipewarden.rules._api import CicdSec
from pipewarden.rules._examples import rule_doc

REPO = Path(__file__).resolve().parents[2]
RULES_MD = REPO / ".." / "shared" / "RULES.md"
FIXTURES = REPO / "tests" / "rules" / "fixtures"

ID_RE = re.compile(r"^PW[1-9]\d\d$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SINCE_RE = re.compile(r"^\d+\.\d+\.\d+$")
FIXTURE_RE = re.compile(r"^(fail|pass|unknown)_[a-z0-9_]+\.(json|yaml|yml|template|tf)$")
# PW9xx need a baseline or history and belong to a later issue.
DEFERRED_FAMILIES = ("PW9",)


# -- the catalogue ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """One row of a RULES.md table."""

    id: str
    slug: str
    severity: str
    cicd: tuple[int, ...]
    fsbp: tuple[str, ...]


def _expand_fsbp(cell: str) -> tuple[str, ...]:
    """``SecretsManager.1/.4`` -> (``SecretsManager.1``, ``SecretsManager.4``); ``—`` -> ()."""
    cell = cell.strip()
    if cell in ("", "\u2014", "-"):
        return ()
    controls: list[str] = []
    prefix = ""
    for part in (p.strip() for p in cell.split("/")):
        if part.startswith(".") and prefix:
            controls.append(prefix + part)
        else:
            controls.append(part)
            prefix = part.rsplit(".", 1)[0]
    return tuple(controls)


def read_catalogue(text: str) -> dict[str, CatalogueRow]:
    """Every rule row of the RULES.md tables, by id."""
    rows: dict[str, CatalogueRow] = {}
    header: list[str] | None = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0].lower() == "id":
            header = [c.lower() for c in cells]
            continue
        if header is None or not ID_RE.match(cells[0]):
            continue
        # The last column ("fails when") is prose and may hold anything.
        row = dict(zip(header[:-1], cells[: len(header) - 1], strict=True))
        rows[row["id"]] = CatalogueRow(
            id=row["id"],
            slug=row["slug"].strip("`"),
            severity=row["sev"],
            cicd=tuple(int(c) for c in row["cicd"].split(",")),
            fsbp=_expand_fsbp(row.get("fsbp", "")),
        )
    return rows


def _catalogue() -> dict[str, CatalogueRow]:
    if not RULES_MD.is_file():
        return {}
    everything = read_catalogue(RULES_MD.read_text(encoding="utf-8"))
    return {k: v for k, v in everything.items() if not k.startswith(DEFERRED_FAMILIES)}


CATALOGUE = _catalogue()
BY_ID = {rule.meta.id: rule for rule in RULES}


def test_catalogue_is_readable() -> None:
    assert RULES_MD.is_file(), f"{RULES_MD} is missing"
    # A parser that silently read nothing would make every check below vacuous.
    assert {"PW101", "PW401", "PW601", "PW802"} <= CATALOGUE.keys()
    assert CATALOGUE["PW603"].fsbp == ("SecretsManager.1", "SecretsManager.4")
    assert CATALOGUE["PW102"].cicd == (2, 8)
    assert CATALOGUE["PW101"] == CatalogueRow("PW101", "source-oauth-token", "critical", (6,), ())


def test_catalogue_table_parser() -> None:
    text = (
        "| id | slug | sev | CICD | FSBP | fails when |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| PW777 | some-rule | low | 3,9 | Foo.2/.5 | a `|` in prose |\n"
        "| PW778 | other-rule | high | 1 | — | x |\n"
        "\n"
        "| not | a rule table |\n"
        "| PW779 | ignored | low |\n"
    )
    rows = read_catalogue(text)
    assert rows == {
        "PW777": CatalogueRow("PW777", "some-rule", "low", (3, 9), ("Foo.2", "Foo.5")),
        "PW778": CatalogueRow("PW778", "other-rule", "high", (1,), ()),
    }


@pytest.mark.parametrize("rule_id", sorted(CATALOGUE))
def test_catalogue_rule_is_implemented_as_catalogued(rule_id: str) -> None:
    row = CATALOGUE[rule_id]
    rule = BY_ID.get(rule_id)
    assert rule is not None, f"{rule_id} {row.slug} is in RULES.md but not in RULES"
    meta = rule.meta
    assert meta.slug == row.slug
    assert str(meta.severity) == row.severity
    assert sorted(int(s) for s in meta.cicd_sec) == sorted(row.cicd), (
        "cicd_sec differs from RULES.md"
    )
    assert tuple(meta.fsbp) == row.fsbp, "fsbp differs from the FSBP column of RULES.md"


def test_no_rule_outside_the_catalogue() -> None:
    extra = sorted(set(BY_ID) - set(CATALOGUE))
    assert not extra, f"rules not in RULES.md (PW101..PW802): {extra}"


# -- the registry and the modules ---------------------------------------------


def _rule_modules() -> dict[str, ModuleType]:
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(pipewarden.rules.__path__)
        if not info.name.startswith("_") and not info.ispkg
    )
    return {name: importlib.import_module(f"pipewarden.rules.{name}") for name in names}


def test_modules_and_registry_correspond_one_to_one() -> None:
    modules = _rule_modules()
    expected = {rule.meta.slug.replace("-", "_"): rule for rule in RULES}
    assert sorted(modules) == sorted(expected), (
        f"modules without a registered rule: {sorted(set(modules) - set(expected))}; "
        f"rules without a module of their slug: {sorted(set(expected) - set(modules))}"
    )
    for name, module in modules.items():
        rule = expected[name]
        assert getattr(module, "RULE", None) is rule, f"{name}.RULE is not the registered rule"
        assert getattr(module, "META", None) is rule.meta, f"{name}.META is not RULE.meta"
        assert rule.check.__module__ == module.__name__, f"{rule.id}: check lives elsewhere"


def test_registry_is_sorted_and_unique() -> None:
    ids = [rule.meta.id for rule in RULES]
    assert ids == sorted(ids), "RULES is not sorted by id"
    assert len(set(ids)) == len(ids), "duplicate rule ids"
    keys = [rule.meta.slug for rule in RULES] + [a for rule in RULES for a in rule.meta.aliases]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"slugs/aliases used twice: {duplicates}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.meta.id)
def test_rule_metadata(rule: Rule) -> None:
    meta = rule.meta
    assert ID_RE.match(meta.id), meta.id
    for slug in (meta.slug, *meta.aliases):
        assert SLUG_RE.match(slug), f"{slug!r} is not kebab-case"
        assert len(slug) <= 40, f"{slug!r} is longer than 40 characters"
    assert meta.title, "title is empty"
    assert meta.title.strip() == meta.title, "title is padded"
    assert len(meta.title) <= 80, f"title is {len(meta.title)} characters: {meta.title!r}"
    assert not meta.title.lower().startswith("ensure"), "a title states the problem"
    assert isinstance(meta.severity, Severity)
    assert meta.cicd_sec, "cicd_sec is empty"
    assert all(isinstance(sec, CicdSec) for sec in meta.cicd_sec)
    assert len(set(meta.cicd_sec)) == len(meta.cicd_sec), "cicd_sec repeats an item"
    for url in meta.references:
        parts = urlsplit(url)
        assert parts.scheme == "https", f"reference is not https: {url!r}"
        assert parts.netloc, f"reference has no host: {url!r}"
    assert SINCE_RE.match(meta.since), f"since is not a version: {meta.since!r}"
    assert all(meta.needs), "an empty string in needs"
    assert rule_by_key(meta.id) is rule
    assert rule_by_key(meta.slug) is rule


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.meta.id)
def test_rule_docstring_sections(rule: Rule) -> None:
    doc = rule_doc(rule)
    assert doc.summary, f"{rule.id}: the docstring has no summary line"
    for section in ("Rationale", "Remediation"):
        body = doc.section(section)
        assert body is not None, f"{rule.id}: the docstring has no '## {section}' section"
        assert body.strip(), f"{rule.id}: '## {section}' is empty"


# -- fixtures and goldens -----------------------------------------------------


def _fixture_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith((".golden.json", ".config.toml"))
    )


def _golden(path: Path) -> Path:
    return path.with_name(path.name.split(".", 1)[0] + ".golden.json")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.meta.id)
def test_rule_has_fixtures_with_goldens(rule: Rule) -> None:
    directory = FIXTURES / rule.meta.slug
    assert directory.is_dir(), f"{rule.id}: no fixture directory {directory.relative_to(REPO)}"
    files = _fixture_files(directory)
    kinds = {p.name.split("_", 1)[0] for p in files}
    assert "fail" in kinds, f"{rule.id}: no fail_ fixture"
    assert "pass" in kinds, f"{rule.id}: no pass_ fixture"
    for path in files:
        assert FIXTURE_RE.match(path.name), f"{path.name}: not <fail|pass|unknown>_<case>.<ext>"
        assert _golden(path).is_file(), f"{path.name} has no golden {_golden(path).name}"
    stems = {p.name.split(".", 1)[0] for p in files}
    for golden in directory.glob("*.golden.json"):
        assert golden.name.removesuffix(".golden.json") in stems, f"orphan golden {golden.name}"


def test_every_fixture_directory_names_a_rule() -> None:
    slugs = {rule.meta.slug for rule in RULES}
    orphans = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and p.name not in slugs)
    assert not orphans, f"fixture directories naming no rule: {orphans}"


def resolve(doc: Any, pointer: str) -> Any:
    """Follow an RFC 6901 pointer; KeyError/IndexError when it does not resolve."""
    node = doc
    for token in split_pointer(pointer):
        if isinstance(node, dict):
            if token not in node:
                raise KeyError(f"{pointer}: no member {token!r}")
            node = node[token]
        elif isinstance(node, list):
            if not re.fullmatch(r"0|[1-9]\d*", token) or int(token) >= len(node):
                raise IndexError(f"{pointer}: no element {token!r} of {len(node)}")
            node = node[int(token)]
        else:
            raise KeyError(f"{pointer}: {token!r} under a scalar")
    return node


def test_resolve() -> None:
    doc = {"a": [{"b/c": 1, "m~n": 2}], "": 3}
    assert resolve(doc, "") is doc
    assert resolve(doc, "/a/0/b~1c") == 1
    assert resolve(doc, "/a/0/m~0n") == 2
    assert resolve(doc, "/") == 3
    for bad in ("/a/1", "/a/01", "/a/-", "/x", "/a/0/b~1c/d"):
        with pytest.raises((KeyError, IndexError)):
            resolve(doc, bad)


def _yaml_loader() -> ModuleType | None:
    try:
        return importlib.import_module("pipewarden.parse._yaml")
    except ModuleNotFoundError as exc:
        if exc.name != "pipewarden.parse._yaml":
            raise
        return None


def load_document(path: Path) -> Any:
    """The fixture document as pipewarden reads it (pointers address this)."""
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix == ".template" and text.lstrip().startswith("{")):
        return json.loads(text)
    if suffix in (".yaml", ".yml", ".template"):
        module = _yaml_loader()
        if module is None:
            pytest.skip("pipewarden.parse._yaml does not exist yet: YAML pointers not checked")
        doc, _positions = module.load_yaml(text, str(path))
        return doc
    pytest.skip(f"no pointer check for {suffix} fixtures")


def is_snapshot(doc: Any) -> bool:
    """A PipeWarden snapshot: its locations are live-style, ``<pipeline ARN>#<pointer>``."""
    return isinstance(doc, dict) and doc.get("format") == "pipewarden-snapshot"


def get_pipeline_responses(doc: Any, name: str) -> list[Any]:
    """The recorded ``GetPipeline`` responses of the pipeline ``name`` inside a snapshot."""
    found: list[Any] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            response = node.get("GetPipeline")
            if isinstance(response, dict):
                declaration = response.get("pipeline")
                if isinstance(declaration, dict) and declaration.get("name") == name:
                    found.append(response)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def test_get_pipeline_responses() -> None:
    response = {"pipeline": {"name": "app", "stages": []}}
    doc = {"format": "pipewarden-snapshot", "accounts": [{"p": {"arn": {"GetPipeline": response}}}]}
    assert is_snapshot(doc)
    assert get_pipeline_responses(doc, "app") == [response]
    assert get_pipeline_responses(doc, "other") == []


FIXTURE_FILES = sorted(
    p for d in sorted(FIXTURES.iterdir()) if d.is_dir() for p in _fixture_files(d)
)


def _check_hcl_pointers(path: Path, rows: list[Any]) -> None:
    """HCL pointers address blocks and attributes as the HCL reader indexes them."""
    from pipewarden.parse._terraform_hcl import _load

    _data, positions = _load(path.read_text(encoding="utf-8"), str(path))
    for row in rows:
        assert row["pointer"] in positions, (
            f"{path.name}: no block or attribute at {row['pointer']}"
        )


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_pointers_resolve_in_fixture(path: Path) -> None:
    golden = _golden(path)
    if not golden.is_file():
        pytest.fail(f"{path.name} has no golden")
    rows = json.loads(golden.read_text(encoding="utf-8"))
    assert isinstance(rows, list), f"{golden.name} is not a list of results"
    assert rows, f"{golden.name} holds no results"
    rule = rule_by_key(path.parent.name)
    assert rule is not None, f"{path.parent.name} names no rule"
    if path.suffix == ".tf":
        _check_hcl_pointers(path, rows)
        return
    doc = load_document(path)
    for row in rows:
        assert row["rule_id"] == rule.id, f"{golden.name}: row of another rule: {row}"
        pointer = row["pointer"]
        assert isinstance(pointer, str), row
        assert pointer == "" or pointer.startswith("/"), f"not a JSON pointer: {pointer!r}"
        if is_snapshot(doc):
            # Live-style: the pointer addresses the pipeline's GetPipeline response.
            targets = get_pipeline_responses(doc, str(row["pipeline"]))
            assert targets, f"{path.name} records no GetPipeline of `{row['pipeline']}`"
        else:
            targets = [doc]
        errors: list[str] = []
        for target in targets:
            try:
                resolve(target, pointer)
            except (KeyError, IndexError) as exc:
                errors.append(str(exc))
        if len(errors) == len(targets):
            pytest.fail(f"{golden.name}: pointer does not resolve in {path.name}: {errors[0]}")
