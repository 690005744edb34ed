"""Dynamic features force ``unknown``, never a not-affected tier.

Each application reaches nothing vulnerable by a static reference; what it may
call is decided at run time (a computed name, computed code, a plugin, a
registry keyed by request data, a template). The analysis cannot see which
function runs, so the verdict is ``unknown`` and its reason names the feature
and where it is. The controls use the same shapes with constant names and are
resolved precisely; a dynamic feature in code that never runs changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from _apps import Lab, fakepkg

from pipewarden.reach.model import Tier

CORE = """
def vulnerable(data):
    return ("unsafe", data)


def safe(data):
    return ("safe", data)


class Parser:
    def unsafe_load(self, data):
        return vulnerable(data)

    def load(self, data):
        return safe(data)
"""
FUNCTION = {"fakepkg.core": ["vulnerable"]}
METHOD = {"fakepkg.core": ["Parser.unsafe_load"]}
FORMATS = {
    "fakepkg/formats/__init__.py": "",
    "fakepkg/formats/yaml.py": """
        def load(data):
            return ("yaml", data)
    """,
    "fakepkg/formats/json.py": """
        def load(data):
            return ("json", data)
    """,
}
REGISTRY = """
from fakepkg import core

HANDLERS = {}


def register(kind):
    def decorate(func):
        HANDLERS[kind] = func
        return func

    return decorate


@register("pickle")
def load_pickle(data):
    return core.vulnerable(data)


@register("json")
def load_json(data):
    return core.safe(data)


def dispatch(kind, data):
    return HANDLERS[kind](data)
"""
TEMPLATE = """
import re

from fakepkg import helpers

_CALL = re.compile(r"{{\\s*(\\w+)\\((\\w+)\\)\\s*}}")


class Template:
    \"\"\"Compiles ``{{ helper(name) }}`` placeholders to Python, as Jinja2 does.\"\"\"

    def __init__(self, source):
        self.source = source

    def render(self, **context):
        code = "def root(ctx):\\n    out = []\\n"
        for helper, name in _CALL.findall(self.source):
            code += f"    out.append({helper}(ctx[{name!r}]))\\n"
        code += "    return out\\n"
        namespace = {name: getattr(helpers, name) for name in dir(helpers)}
        exec(compile(code, "<template>", "exec"), namespace)
        return "".join(str(part) for part in namespace["root"](context))
"""
FILTERS = """
from fakepkg import helpers


def render(source, value):
    \"\"\"``{{ value|filter }}``: the filter is found by name at render time.\"\"\"
    name = source.split("|", 1)[1].strip(" }")
    return getattr(helpers, name)(value)
"""
HELPERS = """
from fakepkg.core import safe, vulnerable

upper = safe
"""


@pytest.fixture
def lab(tmp_path: Path, parse_cache: Path) -> Lab:
    return Lab(tmp_path, parse_cache)


def _files(app: str, **modules: str) -> dict[str, str]:
    return {"app.py": app, **fakepkg({"fakepkg/core.py": CORE, **modules})}


DYNAMIC: dict[str, tuple[dict[str, str], Mapping[str, list[str]], str]] = {
    "getattr-on-module": (
        _files(
            """
            from fakepkg import core

            def handler(event, context):
                return getattr(core, event["op"])(event["body"])
            """
        ),
        FUNCTION,
        "getattr with a computed name at app.py:5",
    ),
    "getattr-on-instance": (
        _files(
            """
            from fakepkg.core import Parser

            def handler(event, context):
                parser = Parser()
                return getattr(parser, event["method"])(event["body"])
            """
        ),
        METHOD,
        "getattr with a computed name at app.py:6",
    ),
    "getattr-on-instance-attributes": (
        _files(
            """
            from fakepkg.core import safe, vulnerable

            class Actions:
                def __init__(self):
                    self.run = safe
                    self.debug = vulnerable

            def handler(event, context):
                return getattr(Actions(), event["action"])(event["body"])
            """
        ),
        FUNCTION,
        "getattr with a computed name at app.py:10",
    ),
    "getattr-after-lazy-import": (
        _files(
            """
            def handler(event, context):
                from fakepkg import core
                return getattr(core, event["op"])(event["body"])
            """
        ),
        FUNCTION,
        "getattr with a computed name at app.py:4",
    ),
    "importlib-import-module": (
        _files(
            """
            import importlib

            def handler(event, context):
                plugin = importlib.import_module(event["plugin"])
                return plugin.run(event["body"])
            """
        ),
        FUNCTION,
        "importlib.import_module of a computed module name at app.py:5",
    ),
    "importlib-import-module-prefix": (
        _files(
            """
            from importlib import import_module

            def handler(event, context):
                codec = import_module(f"fakepkg.formats.{event['format']}")
                return codec.load(event["body"])
            """,
            **FORMATS,
        ),
        {"fakepkg.formats.yaml": ["load"]},
        "importlib.import_module of a computed name starting 'fakepkg.formats.' at app.py:6",
    ),
    "dunder-import": (
        _files(
            """
            def handler(event, context):
                module = __import__(event["module"], fromlist=["run"])
                return module.run(event["body"])
            """
        ),
        FUNCTION,
        "__import__ of a computed module name at app.py:3",
    ),
    "eval": (
        _files(
            """
            import fakepkg.core

            def handler(event, context):
                return eval(event["expression"])
            """
        ),
        FUNCTION,
        "eval/exec/compile of computed code at app.py:5",
    ),
    "exec": (
        _files(
            """
            from fakepkg import core

            def handler(event, context):
                scope = {"core": core}
                exec("result = core." + event["op"] + "(1)", scope)
                return scope["result"]
            """
        ),
        FUNCTION,
        "eval/exec/compile of computed code at app.py:6",
    ),
    "globals-indexing": (
        _files(
            """
            from fakepkg.core import *

            def handler(event, context):
                return globals()[event["op"]](event["body"])
            """
        ),
        FUNCTION,
        "globals() indexed with a computed key at app.py:5",
    ),
    "vars-of-module": (
        _files(
            """
            from fakepkg import core

            def handler(event, context):
                return vars(core)[event["op"]](event["body"])
            """
        ),
        FUNCTION,
        "vars() or __dict__ indexed with a computed key at app.py:5",
    ),
    "locals-indexing": (
        _files(
            """
            from fakepkg import core

            def handler(event, context):
                run, check = core.safe, core.vulnerable
                return locals()[event["op"]](event["body"])
            """
        ),
        FUNCTION,
        "locals() indexed with a computed key at app.py:6",
    ),
    "sys-modules": (
        _files(
            """
            import sys
            import fakepkg.core

            def handler(event, context):
                return sys.modules[event["module"]].vulnerable(event["body"])
            """
        ),
        FUNCTION,
        "sys.modules indexed with a computed key at app.py:6",
    ),
    "setattr-then-read": (
        _files(
            """
            from fakepkg import core

            class Box:
                pass

            def handler(event, context):
                box = Box()
                setattr(box, event["slot"], core.vulnerable)
                return box.run(event["body"])
            """
        ),
        FUNCTION,
        "an attribute stored under a computed name (setattr) at app.py:10",
    ),
    "entry-points-importlib-metadata": (
        _files(
            """
            from importlib.metadata import entry_points

            def handler(event, context):
                for plugin in entry_points(group="fakepkg.codecs"):
                    plugin.load()(event["body"])
            """
        ),
        FUNCTION,
        "loads a plugin through an entry point at app.py:6",
    ),
    "entry-points-by-group-key": (
        _files(
            """
            import importlib.metadata

            def handler(event, context):
                for plugin in importlib.metadata.entry_points()["fakepkg.codecs"]:
                    plugin.load()(event["body"])
            """
        ),
        FUNCTION,
        "loads a plugin through an entry point at app.py:6",
    ),
    "entry-points-pkg-resources": (
        _files(
            """
            import pkg_resources

            def handler(event, context):
                for plugin in pkg_resources.iter_entry_points("fakepkg.codecs"):
                    plugin.load()(event["body"])
            """
        ),
        FUNCTION,
        "loads a plugin through an entry point at app.py:6",
    ),
    "registry-in-dependency": (
        _files(
            """
            from fakepkg.registry import dispatch

            def handler(event, context):
                return dispatch(event["kind"], event["body"])
            """,
            **{"fakepkg/registry.py": REGISTRY},
        ),
        FUNCTION,
        "a registry lookup keyed by run-time data at fakepkg/registry.py:26",
    ),
    "registry-in-application": (
        _files(
            """
            from fakepkg import core

            ROUTES = {}

            def route(name):
                def register(view):
                    ROUTES[name] = view
                    return view
                return register

            @route("export")
            def export(body):
                return core.safe(body)

            @route("debug")
            def debug(body):
                return core.vulnerable(body)

            def handler(event, context):
                view = ROUTES.get(event["path"])
                return view(event["body"])
            """
        ),
        FUNCTION,
        "a registry lookup keyed by run-time data at app.py:22",
    ),
    "template-compiled-to-code": (
        _files(
            """
            from fakepkg.template import Template

            PAGE = Template("<p>{{ upper(name) }}</p>")

            def handler(event, context):
                return PAGE.render(name=event["name"])
            """,
            **{"fakepkg/template.py": TEMPLATE, "fakepkg/helpers.py": HELPERS},
        ),
        FUNCTION,
        "eval/exec/compile of computed code at fakepkg/template.py:21",
    ),
    "template-filter-by-name": (
        _files(
            """
            from fakepkg.filters import render

            def handler(event, context):
                return render(event["template"], event["value"])
            """,
            **{"fakepkg/filters.py": FILTERS, "fakepkg/helpers.py": HELPERS},
        ),
        FUNCTION,
        "getattr with a computed name at fakepkg/filters.py:8",
    ),
}


@pytest.mark.parametrize("case", sorted(DYNAMIC))
def test_dynamic_feature_forces_unknown(lab: Lab, case: str) -> None:
    files, symbols, where = DYNAMIC[case]
    finding = lab.finding(files, symbols)
    assert finding.tier is Tier.UNKNOWN, finding.reason
    assert not finding.not_affected
    assert finding.justification is None
    assert where in finding.reason, finding.reason
    # The path shows how the entry point gets to the feature.
    assert finding.path
    assert finding.path[0].function == "entry point app:handler"
    feature_file, _, feature_line = where.rpartition(" at ")[2].partition(":")
    assert any(f.file == feature_file and f.line == int(feature_line) for f in finding.path), (
        finding.path
    )


def test_potential_path_goes_through_the_feature_to_the_symbol(lab: Lab) -> None:
    files, symbols, _ = DYNAMIC["getattr-on-module"]
    finding = lab.finding(files, symbols)
    frames = [(f.function, f.file, f.line, f.edge) for f in finding.path]
    assert frames == [
        ("entry point app:handler", "app.py", None, "entry"),
        ("app:handler", "app.py", 5, "dynamic (potential)"),
        ("<any function of module fakepkg.core>", "fakepkg/core.py", None, "escape (potential)"),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2, None),
    ]


def test_an_unbounded_feature_is_the_last_frame(lab: Lab) -> None:
    files, symbols, _ = DYNAMIC["eval"]
    finding = lab.finding(files, symbols)
    assert finding.reason.startswith("a dynamic feature that could reach any code is reachable")
    assert [(f.function, f.file, f.line, f.edge) for f in finding.path] == [
        ("entry point app:handler", "app.py", None, "entry"),
        ("app:handler", "app.py", 5, "dynamic: eval"),
    ]


# -- controls: the same shapes with constant names resolve precisely ------------------------


CONSTANT: dict[str, tuple[str, Mapping[str, list[str]], Tier, str | None]] = {
    "getattr-module-vulnerable": (
        """
        from fakepkg import core

        def handler(event, context):
            return getattr(core, "vulnerable")(event["body"])
        """,
        FUNCTION,
        Tier.REACHABLE,
        "fakepkg.core:vulnerable",
    ),
    "getattr-module-safe": (
        """
        from fakepkg import core

        def handler(event, context):
            return getattr(core, "safe")(event["body"])
        """,
        FUNCTION,
        Tier.SYMBOL_NOT_REFERENCED,
        None,
    ),
    "getattr-instance-vulnerable": (
        """
        from fakepkg.core import Parser

        def handler(event, context):
            return getattr(Parser(), "unsafe_load")(event["body"])
        """,
        METHOD,
        Tier.REACHABLE,
        "fakepkg.core:Parser.unsafe_load",
    ),
    "getattr-instance-safe": (
        """
        from fakepkg.core import Parser

        def handler(event, context):
            return getattr(Parser(), "load")(event["body"])
        """,
        METHOD,
        Tier.SYMBOL_NOT_REFERENCED,
        None,
    ),
    "getattr-constant-through-variable": (
        """
        from fakepkg import core

        OPERATION = "safe"

        def handler(event, context):
            return getattr(core, OPERATION)(event["body"])
        """,
        FUNCTION,
        Tier.SYMBOL_NOT_REFERENCED,
        None,
    ),
    "globals-constant-key": (
        """
        from fakepkg.core import *

        def handler(event, context):
            return globals()["safe"](event["body"])
        """,
        FUNCTION,
        Tier.SYMBOL_NOT_REFERENCED,
        None,
    ),
    "import-module-constant": (
        """
        import importlib

        def handler(event, context):
            return importlib.import_module("fakepkg.core").vulnerable(event["body"])
        """,
        FUNCTION,
        Tier.REACHABLE,
        "fakepkg.core:vulnerable",
    ),
    "exec-constant-code": (
        """
        from fakepkg import core

        def handler(event, context):
            exec("core.safe(1)")
        """,
        FUNCTION,
        Tier.SYMBOL_NOT_REFERENCED,
        None,
    ),
    "registry-constant-key": (
        """
        from fakepkg import core

        ROUTES = {}

        def route(name):
            def register(view):
                ROUTES[name] = view
                return view
            return register

        @route("debug")
        def debug(body):
            return core.vulnerable(body)

        def handler(event, context):
            return ROUTES["debug"](event["body"])
        """,
        FUNCTION,
        Tier.REACHABLE,
        "fakepkg.core:vulnerable",
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTANT))
def test_constant_names_resolve_precisely(lab: Lab, case: str) -> None:
    app, symbols, tier, end = CONSTANT[case]
    finding = lab.finding(_files(app), symbols)
    assert finding.tier is tier, finding.reason
    if end is None:
        assert finding.justification == "vulnerable_code_not_in_execute_path"
        assert finding.path == ()
    else:
        assert finding.path[0].function == "entry point app:handler"
        assert finding.path[1].function == "app:handler"
        assert finding.path[-1].function == end
        assert all(not (f.edge or "").endswith("(potential)") for f in finding.path)


# -- precision: where the feature is matters ----------------------------------------------


def test_dynamic_features_in_code_that_never_runs_change_nothing(lab: Lab) -> None:
    files = _files(
        """
        import importlib
        from fakepkg import core

        def handler(event, context):
            return core.safe(event["body"])

        def maintenance(command):
            eval(command)
            exec(command)
            importlib.import_module(command)
            __import__(command)
            globals()[command]()
            return getattr(core, command)()
        """,
        **{
            "tools.py": """
                import importlib.metadata

                def load_plugins(group):
                    for plugin in importlib.metadata.entry_points(group=group):
                        plugin.load()()
                """,
        },
    )
    finding = lab.finding(files, FUNCTION)
    assert finding.tier is Tier.SYMBOL_NOT_REFERENCED, finding.reason
    assert finding.justification == "vulnerable_code_not_in_execute_path"


def test_dynamic_feature_in_a_dependency_off_the_path_changes_nothing(lab: Lab) -> None:
    files = _files(
        """
        from fakepkg import api

        def handler(event, context):
            return api.checked(event["body"])
        """,
        **{
            "fakepkg/api.py": """
                from fakepkg import core

                def checked(data):
                    return core.safe(data)

                def call(name, data):
                    return getattr(core, name)(data)

                def evaluate(text):
                    return eval(text)
                """,
        },
    )
    finding = lab.finding(files, FUNCTION)
    assert finding.tier is Tier.SYMBOL_NOT_REFERENCED, finding.reason


def test_dynamic_feature_in_a_dependency_on_the_path_forces_unknown(lab: Lab) -> None:
    files = _files(
        """
        from fakepkg import api

        def handler(event, context):
            return api.call(event["op"], event["body"])
        """,
        **{
            "fakepkg/api.py": """
                from fakepkg import core

                def call(name, data):
                    return getattr(core, name)(data)
                """,
        },
    )
    finding = lab.finding(files, FUNCTION)
    assert finding.tier is Tier.UNKNOWN, finding.reason
    assert "getattr with a computed name at fakepkg/api.py:5" in finding.reason
    assert [f.function for f in finding.path][:3] == [
        "entry point app:handler",
        "app:handler",
        "fakepkg.api:call",
    ]


def test_unbounded_feature_in_a_dependency_on_the_path_forces_unknown(lab: Lab) -> None:
    files = _files(
        """
        from fakepkg import api

        def handler(event, context):
            return api.evaluate(event["expression"])
        """,
        **{
            "fakepkg/api.py": """
                def evaluate(text):
                    return eval(text, {})
                """,
        },
    )
    finding = lab.finding(files, FUNCTION)
    assert finding.tier is Tier.UNKNOWN, finding.reason
    assert "eval/exec/compile of computed code at fakepkg/api.py:3" in finding.reason


def test_unbounded_feature_makes_every_package_unknown_even_unimported(lab: Lab) -> None:
    # eval of request data can import anything: not even "not imported" can be claimed.
    files = _files(
        """
        def handler(event, context):
            return eval(event["expression"])
        """
    )
    finding = lab.finding(files, FUNCTION)
    assert finding.tier is Tier.UNKNOWN, finding.reason
    assert "eval/exec/compile of computed code at app.py:3" in finding.reason


def test_lookup_by_computed_name_of_unrelated_module_keeps_precision(lab: Lab) -> None:
    # getattr with a computed name on the application's own module: only its functions
    # may run, and none of them reaches the vulnerable code.
    files = _files(
        """
        import sys
        from fakepkg import core

        def ping(body):
            return core.safe(body)

        def handler(event, context):
            return getattr(sys.modules[__name__], "ping")(event["body"])

        def dispatch(event):
            return getattr(Commands(), event["command"])()

        class Commands:
            def status(self):
                return "ok"
        """
    )
    finding = lab.finding(files, FUNCTION, entries=("app:handler", "app:dispatch"))
    assert finding.tier is Tier.SYMBOL_NOT_REFERENCED, finding.reason
