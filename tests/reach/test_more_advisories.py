"""Advisories outside the dev set: real distributions at vulnerable versions, OSV
records written here, and for each an application reaching the vulnerable code
through framework-style usage and one that imports the package without reaching it.

A reaching application must never be cleared (no not-affected tier); where the
analysis finds the path it must end at a symbol of the advisory. A quiet
application must never be reported reachable.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import _dists
import pytest

from pipewarden.reach.analysis import analyze
from pipewarden.reach.model import ReachReport, Tier


def _record(
    cve: str, package: str, events: list[dict[str, str]], imports: Mapping[str, list[str]]
) -> dict[str, Any]:
    return {
        "schema_version": "1.6.0",
        "id": cve,
        "modified": "2026-11-25T00:00:00Z",
        "summary": f"{package} {cve}",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": package},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "ecosystem_specific": {
                    "imports": [
                        {"path": path, "symbols": symbols} for path, symbols in imports.items()
                    ]
                },
            }
        ],
    }


def _fixed(version: str, introduced: str = "0") -> list[dict[str, str]]:
    return [{"introduced": introduced}, {"fixed": version}]


RECORDS: Final[tuple[dict[str, Any], ...]] = (
    # PyJWT: algorithm confusion when decoding with every default algorithm enabled.
    _record(
        "CVE-2022-29217",
        "pyjwt",
        _fixed("2.4.0", "1.5.0"),
        {
            "jwt.api_jwt": ["PyJWT.decode", "PyJWT.decode_complete", "decode"],
            "jwt.api_jws": ["PyJWS.decode", "PyJWS.decode_complete", "decode"],
            "jwt": ["decode"],
        },
    ),
    # Babel: locale identifiers with path traversal load arbitrary pickled .dat files.
    _record(
        "CVE-2021-42771",
        "babel",
        _fixed("2.9.1"),
        {"babel.localedata": ["load"], "babel.core": ["Locale.parse"]},
    ),
    # Mako: ReDoS in the lexer's tag-start regular expression.
    _record(
        "CVE-2022-40023",
        "mako",
        _fixed("1.2.2"),
        {"mako.lexer": ["Lexer.match_tag_start", "Lexer.parse"], "mako.template": ["Template"]},
    ),
    # Flask: permanent session cookie sent without Vary: Cookie.
    _record(
        "CVE-2023-30861",
        "flask",
        _fixed("2.2.5"),
        {"flask.sessions": ["SecureCookieSessionInterface.save_session"]},
    ),
    # jsonpickle: decoding untrusted input runs arbitrary code.
    _record(
        "CVE-2020-22083",
        "jsonpickle",
        [{"introduced": "0"}, {"last_affected": "1.4.1"}],
        {
            "jsonpickle.unpickler": ["Unpickler.restore", "decode"],
            "jsonpickle": ["decode"],
        },
    ),
    # Tornado: quadratic cookie parsing.
    _record(
        "CVE-2024-52804",
        "tornado",
        _fixed("6.4.2"),
        {
            "tornado.httputil": ["parse_cookie"],
            "tornado.web": ["RequestHandler.get_cookie", "RequestHandler.cookies"],
        },
    ),
    # setuptools: ReDoS in package_index link scanning.
    _record(
        "CVE-2022-40897",
        "setuptools",
        _fixed("65.5.1"),
        {"setuptools.package_index": ["find_external_links", "PackageIndex.process_url"]},
    ),
    # sqlparse: deeply nested statements exhaust the recursion limit while grouping.
    _record(
        "CVE-2024-4340",
        "sqlparse",
        _fixed("0.5.0"),
        {
            "sqlparse.engine.grouping": ["group"],
            "sqlparse": ["parse", "parsestream", "format"],
        },
    ),
)


@dataclass(frozen=True)
class App:
    dists: tuple[str, ...]
    files: Mapping[str, str]
    entries: tuple[str, ...] = ("app:handler",)


@dataclass(frozen=True)
class Case:
    advisory: str
    reaching: App
    quiet: App
    concrete: bool = True
    """Whether the analysis must find the whole path (else ``unknown`` is the right answer)."""


_FLASK: Final = (
    "flask-2.2.4",
    "werkzeug-2.2.2",
    "jinja2-3.1.2",
    "markupsafe-2.1.5",
    "itsdangerous-2.1.2",
    "click-8.1.3",
)

CASES: Final[tuple[Case, ...]] = (
    Case(
        "CVE-2022-29217",
        App(
            ("pyjwt-2.3.0",),
            {
                "auth.py": """
                import jwt
                from jwt.algorithms import get_default_algorithms

                class TokenVerifier:
                    def __init__(self, key):
                        self.key = key
                        self.codec = jwt.PyJWT()

                    def claims(self, token):
                        allowed = list(get_default_algorithms())
                        return self.codec.decode(token, self.key, algorithms=allowed)
                """,
                "app.py": """
                import os

                from auth import TokenVerifier

                VERIFIER = TokenVerifier(os.environ["PUBLIC_KEY"])

                def handler(event, context):
                    return VERIFIER.claims(event["headers"]["authorization"])
                """,
            },
        ),
        App(
            ("pyjwt-2.3.0",),
            {
                "app.py": """
                import jwt

                def handler(event, context):
                    return jwt.get_unverified_header(event["token"])["kid"]
                """
            },
        ),
    ),
    Case(
        "CVE-2021-42771",
        App(
            ("babel-2.9.0",),
            {
                "app.py": """
                from functools import lru_cache

                from babel import Locale

                @lru_cache(maxsize=64)
                def locale_for(tag):
                    return Locale.parse(tag, sep="-")

                def handler(event, context):
                    locale = locale_for(event["headers"]["accept-language"])
                    return {"name": locale.display_name}
                """
            },
        ),
        App(
            ("babel-2.9.0",),
            {
                "app.py": """
                from babel.plural import PluralRule

                RULE = PluralRule({"one": "n is 1"})

                def handler(event, context):
                    return RULE(int(event["count"]))
                """
            },
        ),
    ),
    Case(
        "CVE-2022-40023",
        App(
            ("mako-1.2.1", "markupsafe-2.1.5"),
            {
                "app.py": """
                from mako.template import Template as Page

                class Renderer:
                    page_class = Page

                    def render(self, source, **context):
                        return self.page_class(source).render(**context)

                RENDERER = Renderer()

                def handler(event, context):
                    return RENDERER.render(event["template"], user=event["user"])
                """
            },
        ),
        App(
            ("mako-1.2.1", "markupsafe-2.1.5"),
            {
                "app.py": """
                from mako.filters import html_escape

                def handler(event, context):
                    return html_escape(event["text"])
                """
            },
        ),
    ),
    Case(
        "CVE-2023-30861",
        App(
            _FLASK,
            {
                "app.py": """
                from flask import Flask, request, session

                app = Flask(__name__)
                app.secret_key = "not-a-real-key"

                def remember(user):
                    session.permanent = True
                    session["user"] = user

                @app.route("/login", methods=["POST"])
                def login():
                    remember(request.form["user"])
                    return "ok"
                """
            },
            entries=(),
        ),
        App(
            _FLASK,
            {
                "app.py": """
                from flask.json.provider import DefaultJSONProvider

                def handler(event, context):
                    return DefaultJSONProvider.default(event["when"])
                """
            },
        ),
    ),
    Case(
        "CVE-2020-22083",
        App(
            ("jsonpickle-1.4.1",),
            {
                "app.py": """
                import jsonpickle

                class Cache:
                    loads = staticmethod(jsonpickle.decode)

                    def get(self, blob):
                        return self.loads(blob)

                def handler(event, context):
                    return Cache().get(event["body"])
                """
            },
        ),
        App(
            ("jsonpickle-1.4.1",),
            {
                "app.py": """
                import jsonpickle

                def handler(event, context):
                    return jsonpickle.encode({"id": event["id"]}, unpicklable=False)
                """
            },
        ),
    ),
    Case(
        "CVE-2024-52804",
        App(
            ("tornado-6.4.1",),
            {
                "app.py": """
                import tornado.ioloop
                import tornado.web

                class Preferences(tornado.web.RequestHandler):
                    def get(self):
                        theme = self.get_cookie("theme", "light")
                        self.write({"theme": theme})

                def make_app():
                    return tornado.web.Application([(r"/prefs", Preferences)])

                def main():
                    make_app().listen(8888)
                    tornado.ioloop.IOLoop.current().start()

                if __name__ == "__main__":
                    main()
                """
            },
            entries=("app:main",),
        ),
        App(
            ("tornado-6.4.1",),
            {
                "app.py": """
                from tornado.escape import url_escape

                def handler(event, context):
                    return url_escape(event["q"])
                """
            },
        ),
        # Tornado calls the handler's get() as getattr(self, method.lower()): a computed
        # name, so the path is only potential.
        concrete=False,
    ),
    Case(
        "CVE-2022-40897",
        App(
            ("setuptools-65.5.0",),
            {
                "app.py": """
                from setuptools.package_index import PackageIndex

                def crawl(index, url):
                    index.process_url(url, retrieve=True)
                    return sorted(index.scanned_urls)

                def handler(event, context):
                    return crawl(PackageIndex(index_url=event["index"]), event["url"])
                """
            },
        ),
        App(
            ("setuptools-65.5.0",),
            {
                "app.py": """
                from setuptools import find_packages

                def handler(event, context):
                    return find_packages(where=event["root"])
                """
            },
        ),
    ),
    Case(
        "CVE-2024-4340",
        App(
            ("sqlparse-0.4.4",),
            {
                "app.py": """
                import functools

                import sqlparse

                pretty = functools.partial(sqlparse.format, reindent=True, keyword_case="upper")

                def handler(event, context):
                    return pretty(event["sql"])
                """
            },
        ),
        App(
            ("sqlparse-0.4.4",),
            {
                "app.py": """
                from sqlparse.utils import split_unquoted_newlines

                def handler(event, context):
                    return split_unquoted_newlines(event["sql"])
                """
            },
        ),
    ),
)


_JWT: Final = ("pyjwt-2.3.0",)
EXTRA: Final[dict[str, tuple[str, App, bool]]] = {
    # A subclass statement runs before the module defining its base is analysed: the
    # lookups made along the first MRO must be redone when the base appears.
    "jwt-subclass-super": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "app.py": """
                import jwt

                class StrictJWT(jwt.PyJWT):
                    def decode(self, token, key, **options):
                        options.setdefault("algorithms", ["HS256", "RS256"])
                        return super().decode(token, key, **options)

                def handler(event, context):
                    return StrictJWT().decode(event["token"], event["key"])
                """
            },
        ),
        True,
    ),
    "jwt-subclass-self": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "tokens.py": """
                import jwt

                class Tokens(jwt.PyJWT):
                    def claims(self, token, key):
                        return self.decode(token, key, algorithms=["HS256"])
                """,
                "app.py": """
                from tokens import Tokens

                def handler(event, context):
                    return Tokens().claims(event["token"], event["key"])
                """,
            },
        ),
        True,
    ),
    # The __init__ dataclasses generate calls __post_init__.
    "jwt-dataclass-post-init": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "app.py": """
                from dataclasses import dataclass, field

                import jwt

                @dataclass(frozen=False)
                class Request:
                    token: str
                    claims: dict = field(default_factory=dict)

                    def __post_init__(self):
                        self.claims = jwt.decode(self.token, "key", algorithms=["HS256"])

                def handler(event, context):
                    return Request(event["token"]).claims
                """
            },
        ),
        True,
    ),
    # ... and stores its arguments in attributes the analysis does not see assigned.
    "jwt-dataclass-field": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "app.py": """
                from dataclasses import dataclass
                from typing import Any

                import jwt

                @dataclass(frozen=True)
                class Verifier:
                    codec: Any

                    def run(self, token):
                        return self.codec.decode(token, "key", algorithms=["HS256"])

                def handler(event, context):
                    return Verifier(codec=jwt.PyJWT()).run(event["token"])
                """
            },
        ),
        False,
    ),
    # A bare @dataclass (no brackets) returns the class itself.
    "jwt-bare-dataclass": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "app.py": """
                from dataclasses import dataclass
                from typing import Any

                import jwt

                @dataclass
                class Verifier:
                    codec: Any

                    def run(self, token):
                        return self.codec.decode(token, "key", algorithms=["HS256"])

                def handler(event, context):
                    return Verifier(codec=jwt.PyJWT()).run(event["token"])
                """
            },
        ),
        False,
    ),
    # singledispatch's register stores the function where the analysis does not look.
    "jwt-singledispatch": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "app.py": """
                import functools

                import jwt

                @functools.singledispatch
                def verify(credential):
                    raise TypeError(type(credential))

                @verify.register
                def _(credential: str):
                    return jwt.decode(credential, "key", algorithms=["HS256"])

                def handler(event, context):
                    return verify(event["token"])
                """
            },
        ),
        False,
    ),
    "jwt-wraps": (
        "CVE-2022-29217",
        App(
            _JWT,
            {
                "app.py": """
                import functools

                import jwt

                def authenticated(view):
                    @functools.wraps(view)
                    def inner(event, context):
                        event["claims"] = jwt.decode(event["t"], "k", algorithms=["HS256"])
                        return view(event, context)
                    return inner

                @authenticated
                def handler(event, context):
                    return event["claims"]
                """
            },
        ),
        True,
    ),
    "babel-property": (
        "CVE-2021-42771",
        App(
            ("babel-2.9.0",),
            {
                "app.py": """
                from babel.core import Locale

                def handler(event, context):
                    return Locale(event["lang"]).display_name
                """
            },
        ),
        True,
    ),
    "mako-lookup": (
        "CVE-2022-40023",
        App(
            ("mako-1.2.1", "markupsafe-2.1.5"),
            {
                "app.py": """
                from mako.lookup import TemplateLookup

                LOOKUP = TemplateLookup(directories=["templates"])

                def handler(event, context):
                    return LOOKUP.get_template(event["page"]).render(user=event["user"])
                """
            },
        ),
        True,
    ),
    "jsonpickle-unpickler": (
        "CVE-2020-22083",
        App(
            ("jsonpickle-1.4.1",),
            {
                "app.py": """
                import json

                from jsonpickle.unpickler import Unpickler

                def handler(event, context):
                    return Unpickler().restore(json.loads(event["body"]))
                """
            },
        ),
        True,
    ),
    "sqlparse-filter-stack": (
        "CVE-2024-4340",
        App(
            ("sqlparse-0.4.4",),
            {
                "app.py": """
                from sqlparse.engine import FilterStack

                def handler(event, context):
                    stack = FilterStack()
                    stack.enable_grouping()
                    return [str(statement) for statement in stack.run(event["sql"])]
                """
            },
        ),
        True,
    ),
    "setuptools-subclass": (
        "CVE-2022-40897",
        App(
            ("setuptools-65.5.0",),
            {
                "app.py": """
                from setuptools import package_index

                class Mirror(package_index.PackageIndex):
                    def scan(self, url):
                        self.scan_url(url)

                def handler(event, context):
                    Mirror().scan(event["url"])
                """
            },
        ),
        True,
    ),
}

_SYMBOLS: Final[dict[str, set[str]]] = {
    record["id"]: {
        f"{item['path']}:{name}"
        for affected in record["affected"]
        for item in affected["ecosystem_specific"]["imports"]
        for name in item["symbols"]
    }
    for record in RECORDS
}


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture(scope="session")
def more_reports(
    parse_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, str], ReachReport]:
    """Every application analysed once against the records above, two at a time."""
    apps = [app for case in CASES for app in (case.reaching, case.quiet)]
    apps += [app for _, app, _ in EXTRA.values()]
    wanted = sorted({name for app in apps for name in app.dists})
    installed = _dists.install_all(wanted)
    root = tmp_path_factory.mktemp("more-advisories")
    osv = root / "records.json"
    osv.write_text(json.dumps(list(RECORDS)))
    jobs: list[tuple[tuple[str, str], Path, tuple[str, ...]]] = []
    for case in CASES:
        for kind, app in (("reaching", case.reaching), ("quiet", case.quiet)):
            target = root / f"{case.advisory}-{kind}"
            target.mkdir()
            _dists.populate(target, [installed[n] for n in app.dists])
            _write(target, app.files)
            jobs.append(((case.advisory, kind), target, app.entries))
    for name, (_, app, _) in EXTRA.items():
        target = root / name
        target.mkdir()
        _dists.populate(target, [installed[n] for n in app.dists])
        _write(target, app.files)
        jobs.append(((name, "extra"), target, app.entries))

    def one(job: tuple[tuple[str, str], Path, tuple[str, ...]]) -> ReachReport:
        _, path, entries = job
        return analyze(path, [osv], entries=entries, cache_dir=parse_cache, jobs=1)

    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(one, jobs))
    return {job[0]: report for job, report in zip(jobs, reports, strict=True)}


def _finding(report: ReachReport, advisory: str):  # type: ignore[no-untyped-def]
    found = [f for f in report.findings if f.vulnerability == advisory]
    assert len(found) == 1, [f.vulnerability for f in report.findings]
    return found[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.advisory)
def test_reaching_app_is_reachable_with_its_path(case: Case, more_reports) -> None:  # type: ignore[no-untyped-def]
    finding = _finding(more_reports[(case.advisory, "reaching")], case.advisory)
    assert finding.version_matched
    assert not finding.not_affected, (finding.tier, finding.reason)
    if not case.concrete:
        assert finding.tier is Tier.UNKNOWN, finding.reason
        return
    assert finding.tier is Tier.REACHABLE, finding.reason
    path = finding.path
    assert path[0].function.startswith("entry point app:")
    assert path[-1].function in _SYMBOLS[case.advisory], path[-1].function


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.advisory)
def test_quiet_app_is_not_reported_reachable(case: Case, more_reports) -> None:  # type: ignore[no-untyped-def]
    finding = _finding(more_reports[(case.advisory, "quiet")], case.advisory)
    assert finding.version_matched
    assert finding.tier is not Tier.REACHABLE, [frame.function for frame in finding.path]


@pytest.mark.parametrize("name", EXTRA)
def test_more_ways_of_reaching_are_never_cleared(name: str, more_reports) -> None:  # type: ignore[no-untyped-def]
    advisory, _, concrete = EXTRA[name]
    finding = _finding(more_reports[(name, "extra")], advisory)
    assert not finding.not_affected, (finding.tier, finding.reason)
    if not concrete:
        assert finding.tier is Tier.UNKNOWN, finding.reason
        return
    assert finding.tier is Tier.REACHABLE, finding.reason
    assert finding.path[0].function.startswith("entry point app:")
    assert finding.path[-1].function in _SYMBOLS[advisory], finding.path[-1].function
