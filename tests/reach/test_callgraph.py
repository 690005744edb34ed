"""Call-graph construction: non-trivial paths to a vulnerable function, resolved precisely.

Every application reaches ``fakepkg.core:vulnerable`` (or not) through one
language feature; the reported path is checked frame by frame (function, file,
line: where each frame calls the next, and for the last where the symbol is
defined). The controls use the same feature in a way that must not reach.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from _apps import Lab, dist_files, fakepkg

from pipewarden.reach.model import Finding, Tier

CORE = """
def vulnerable(data):
    return ("unsafe", data)


def safe(data):
    return ("safe", data)
"""
FUNCTION = {"fakepkg.core": ["vulnerable"]}
VULNERABLE = ("fakepkg.core:vulnerable", "fakepkg/core.py", 2)
ENTRY = ("entry point app:handler", "app.py", None)

Frames = list[tuple[str, str | None, int | None]]


@pytest.fixture
def lab(tmp_path: Path, parse_cache: Path) -> Lab:
    return Lab(tmp_path, parse_cache)


def _finding(lab: Lab, app: str, extra: Mapping[str, str] | None = None) -> Finding:
    files = {"app.py": app, **fakepkg({"fakepkg/core.py": CORE}), **(extra or {})}
    return lab.finding(files, FUNCTION)


def _frames(finding: Finding) -> Frames:
    return [(f.function, f.file, f.line) for f in finding.path]


def _assert_path(finding: Finding, frames: Frames) -> None:
    assert finding.tier is Tier.REACHABLE, finding.reason
    assert finding.reason == "fakepkg.core:vulnerable is reached from an entry point"
    assert _frames(finding) == frames
    # Every step is a resolved edge, none a potential one.
    assert all(not (f.edge or "").endswith("(potential)") for f in finding.path)


PATHS: dict[str, tuple[str, Frames]] = {
    "import-alias": (
        """
        from fakepkg.core import vulnerable as parse

        def handler(event, context):
            return parse(event["body"])
        """,
        [ENTRY, ("app:handler", "app.py", 5), VULNERABLE],
    ),
    "module-alias-and-variable": (
        """
        import fakepkg.core as engine

        PARSE = engine.vulnerable
        parse = PARSE

        def handler(event, context):
            return parse(event["body"])
        """,
        [ENTRY, ("app:handler", "app.py", 8), VULNERABLE],
    ),
    "instance-method": (
        """
        from fakepkg import core

        class Decoder:
            def __init__(self, strict):
                self.strict = strict

            def decode(self, text):
                return core.vulnerable(text) if not self.strict else core.safe(text)

        def handler(event, context):
            decoder = Decoder(strict=False)
            return decoder.decode(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 13),
            ("app:Decoder.decode", "app.py", 9),
            VULNERABLE,
        ],
    ),
    "instance-held-in-attribute": (
        """
        from fakepkg import core

        class Codec:
            def load(self, text):
                return core.vulnerable(text)

        class Service:
            def __init__(self):
                self.codec = Codec()

            def handle(self, body):
                return self.codec.load(body)

        def handler(event, context):
            return Service().handle(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 16),
            ("app:Service.handle", "app.py", 13),
            ("app:Codec.load", "app.py", 6),
            VULNERABLE,
        ],
    ),
    "diamond-c3-mro": (
        """
        from fakepkg import core

        class Base:
            def process(self, data):
                return core.safe(data)

        class Left(Base):
            pass

        class Right(Base):
            def process(self, data):
                return core.vulnerable(data)

        class Both(Left, Right):
            pass

        def handler(event, context):
            return Both().process(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 19),
            ("app:Right.process", "app.py", 13),
            VULNERABLE,
        ],
    ),
    "functools-wraps-decorator": (
        """
        import functools
        from fakepkg import core

        def logged(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)
            return wrapper

        @logged
        def parse(text):
            return core.vulnerable(text)

        @logged
        def render(text):
            return core.safe(text)

        def handler(event, context):
            return parse(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 20),
            ("app:logged.<locals>.wrapper", "app.py", 8),
            ("app:parse", "app.py", 13),
            VULNERABLE,
        ],
    ),
    "class-attribute-holding-a-function": (
        """
        from fakepkg import core

        class Importer:
            parser = staticmethod(core.vulnerable)

            def run(self, text):
                return self.parser(text)

        def handler(event, context):
            return Importer().run(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 11),
            ("app:Importer.run", "app.py", 8),
            VULNERABLE,
        ],
    ),
    "class-attribute-holding-a-class": (
        """
        from fakepkg import core

        class Loader:
            def __init__(self, text):
                self.result = core.vulnerable(text)

        class Pipeline:
            loader_class = Loader

            def run(self, text):
                return self.loader_class(text).result

        def handler(event, context):
            return Pipeline().run(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 15),
            ("app:Pipeline.run", "app.py", 12),
            ("app:Loader", "app.py", 12),  # instantiated at line 12, which runs __init__
            ("app:Loader.__init__", "app.py", 6),
            VULNERABLE,
        ],
    ),
    "closure": (
        """
        from fakepkg import core

        def make_parser(strict):
            def parse(text):
                if strict:
                    return core.safe(text)
                return core.vulnerable(text)
            return parse

        def handler(event, context):
            parser = make_parser(False)
            return parser(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 13),
            ("app:make_parser.<locals>.parse", "app.py", 8),
            VULNERABLE,
        ],
    ),
    "lambda-in-a-dict": (
        """
        from fakepkg import core

        ACTIONS = {"parse": lambda body: core.vulnerable(body)}

        def handler(event, context):
            return ACTIONS["parse"](event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 7),
            ("app:<lambda>", "app.py", 4),
            VULNERABLE,
        ],
    ),
    "property": (
        """
        from fakepkg import core

        class Upload:
            def __init__(self, body):
                self.body = body

            @property
            def parsed(self):
                return core.vulnerable(self.body)

        def handler(event, context):
            return Upload(event["body"]).parsed
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 13),
            ("app:Upload.parsed", "app.py", 10),
            VULNERABLE,
        ],
    ),
    "cached-property": (
        """
        from functools import cached_property
        from fakepkg import core

        class Upload:
            def __init__(self, body):
                self.body = body

            @cached_property
            def parsed(self):
                return core.vulnerable(self.body)

        def handler(event, context):
            upload = Upload(event["body"])
            return upload.parsed
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 15),
            ("app:Upload.parsed", "app.py", 11),
            VULNERABLE,
        ],
    ),
    "dunder-call": (
        """
        from fakepkg import core

        class Validator:
            def __call__(self, value):
                return core.vulnerable(value)

        check = Validator()

        def handler(event, context):
            return check(event["body"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 11),
            ("app:Validator.__call__", "app.py", 6),
            VULNERABLE,
        ],
    ),
    "super": (
        """
        from fakepkg import core

        class Store:
            def save(self, record):
                return core.vulnerable(record)

        class AuditedStore(Store):
            def save(self, record):
                record = dict(record, audited=True)
                return super().save(record)

        def handler(event, context):
            return AuditedStore().save(event)
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 14),
            ("app:AuditedStore.save", "app.py", 11),
            ("app:Store.save", "app.py", 6),
            VULNERABLE,
        ],
    ),
    "classmethod-factory": (
        """
        from fakepkg import core

        class Report:
            def __init__(self, rows):
                self.rows = rows

            @classmethod
            def from_text(cls, text):
                return cls(core.vulnerable(text))

        def handler(event, context):
            return Report.from_text(event["body"]).rows
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 13),
            ("app:Report.from_text", "app.py", 10),
            VULNERABLE,
        ],
    ),
    "callback-argument": (
        """
        from fakepkg import core

        def apply(func, items):
            return [func(item) for item in items]

        def handler(event, context):
            return apply(core.vulnerable, event["items"])
        """,
        [
            ENTRY,
            ("app:handler", "app.py", 8),
            ("app:apply", "app.py", 5),
            VULNERABLE,
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(PATHS))
def test_path_is_resolved(lab: Lab, case: str) -> None:
    app, frames = PATHS[case]
    _assert_path(_finding(lab, app), frames)


def test_calls_inside_dependencies_are_followed(lab: Lab) -> None:
    # app -> fetchkit (a dependency) -> fakepkg (the vulnerable package).
    fetchkit = dist_files(
        "fetchkit",
        "0.3",
        {
            "fetchkit/__init__.py": "from fetchkit.client import Client\n",
            "fetchkit/client.py": """
                from fakepkg import core

                class Client:
                    def __init__(self, base):
                        self.base = base

                    def fetch(self, path):
                        return self._decode(self.base + path)

                    def _decode(self, payload):
                        return core.vulnerable(payload)
                """,
        },
        requires=("fakepkg",),
    )
    app = """
        import fetchkit

        def handler(event, context):
            return fetchkit.Client("https://api").fetch(event["path"])
        """
    finding = _finding(lab, app, fetchkit)
    _assert_path(
        finding,
        [
            ENTRY,
            ("app:handler", "app.py", 5),
            ("fetchkit.client:Client.fetch", "fetchkit/client.py", 9),
            ("fetchkit.client:Client._decode", "fetchkit/client.py", 12),
            VULNERABLE,
        ],
    )


def test_calls_inside_the_vulnerable_package_are_followed(lab: Lab) -> None:
    api = """
        from fakepkg import core

        def load(text, strict=True):
            return _parse(text) if not strict else core.safe(text)

        def _parse(text):
            return core.vulnerable(text)
        """
    finding = lab.finding(
        {
            "app.py": """
                from fakepkg.api import load

                def handler(event, context):
                    return load(event["body"], strict=False)
                """,
            **fakepkg({"fakepkg/core.py": CORE, "fakepkg/api.py": api}),
        },
        FUNCTION,
    )
    _assert_path(
        finding,
        [
            ENTRY,
            ("app:handler", "app.py", 5),
            ("fakepkg.api:load", "fakepkg/api.py", 5),
            ("fakepkg.api:_parse", "fakepkg/api.py", 8),
            VULNERABLE,
        ],
    )


# -- controls: the same features, not reaching -------------------------------------------------

CONTROLS: dict[str, tuple[str, Tier]] = {
    # C3 picks Right.process (safe); a depth-first order would pick Base.process.
    "diamond-c3-mro": (
        """
        from fakepkg import core

        class Base:
            def process(self, data):
                return core.vulnerable(data)

        class Left(Base):
            pass

        class Right(Base):
            def process(self, data):
                return core.safe(data)

        class Both(Left, Right):
            pass

        def handler(event, context):
            return Both().process(event["body"])
        """,
        Tier.NO_CALL_PATH,
    ),
    # Only the function given to each call of the decorator flows through its wrapper.
    "decorator-keeps-functions-apart": (
        """
        import functools
        from fakepkg import core

        def logged(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)
            return wrapper

        @logged
        def parse(text):
            return core.vulnerable(text)

        @logged
        def render(text):
            return core.safe(text)

        def handler(event, context):
            return render(event["body"])
        """,
        Tier.NO_CALL_PATH,
    ),
    # An override that is never called through the instance's class.
    "override-not-used": (
        """
        from fakepkg import core

        class Store:
            def save(self, record):
                return core.safe(record)

        class DebugStore(Store):
            def save(self, record):
                return core.vulnerable(record)

        def handler(event, context):
            return Store().save(event)
        """,
        Tier.NO_CALL_PATH,
    ),
    # The closure that would call the vulnerable function is created but never called.
    "closure-not-called": (
        """
        from fakepkg import core

        def make(unsafe):
            def run(text):
                return core.vulnerable(text)
            def check(text):
                return core.safe(text)
            return run if unsafe else check

        def handler(event, context):
            make(False)
            return core.safe(event)
        """,
        Tier.NO_CALL_PATH,
    ),
    # A property defined but never read.
    "property-not-read": (
        """
        from fakepkg import core

        class Upload:
            @property
            def parsed(self):
                return core.vulnerable(self)

            def size(self):
                return 0

        def handler(event, context):
            return Upload().size()
        """,
        Tier.NO_CALL_PATH,
    ),
    "no-reference-at-all": (
        """
        from fakepkg import core

        def handler(event, context):
            return core.safe(event["body"])
        """,
        Tier.SYMBOL_NOT_REFERENCED,
    ),
}


@pytest.mark.parametrize("case", sorted(CONTROLS))
def test_control_does_not_reach(lab: Lab, case: str) -> None:
    app, tier = CONTROLS[case]
    finding = _finding(lab, app)
    assert finding.tier is tier, finding.reason
    assert finding.justification == "vulnerable_code_not_in_execute_path"
    assert finding.path == ()
