"""Entry points: where the deployed code starts, found in the artifact or named with --entry.

Each test builds a small artifact whose vulnerable function (``fakepkg.core:vulnerable``)
is reached only from the entry point under test, so the verdict shows that the
entry point was found and followed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _apps import Lab, dist_files, fakepkg, osv_record

from pipewarden.cli.main import main
from pipewarden.errors import ConfigError
from pipewarden.reach.analysis import analyze
from pipewarden.reach.model import ReachReport, Tier

CORE = """
def vulnerable(data):
    return ("unsafe", data)


def safe(data):
    return ("safe", data)
"""
FUNCTION = {"fakepkg.core": ["vulnerable"]}
PKG = fakepkg({"fakepkg/core.py": CORE})
CALLS_VULNERABLE = """
from fakepkg.core import vulnerable


def main():
    return vulnerable("argv")
"""
CALLS_SAFE = """
from fakepkg.core import safe


def main():
    return safe("argv")
"""


@pytest.fixture
def lab(tmp_path: Path, parse_cache: Path) -> Lab:
    return Lab(tmp_path, parse_cache)


def _verdict(report: ReachReport) -> Tier:
    (finding,) = [f for f in report.findings if f.package == "fakepkg"]
    return finding.tier


def _path(report: ReachReport) -> list[tuple[str, str | None, int | None]]:
    (finding,) = [f for f in report.findings if f.package == "fakepkg"]
    return [(f.function, f.file, f.line) for f in finding.path]


# -- console scripts ------------------------------------------------------------------------


def _installed_app(main_module: str) -> dict[str, str]:
    """An artifact made with ``pip install --target``: the application's own distribution
    (console script ``orders``) and fakepkg, which has a console script of its own."""
    app = dist_files(
        "orders",
        "1.0",
        {"orders/__init__.py": "", "orders/cli.py": main_module},
        requires=("fakepkg",),
        entry_points="""
            [console_scripts]
            orders = orders.cli:main
        """,
    )
    admin = """
        from fakepkg.core import vulnerable

        def main():
            return vulnerable("admin")
    """
    pkg = dist_files(
        "fakepkg",
        "1.0",
        {"fakepkg/__init__.py": "", "fakepkg/core.py": CORE, "fakepkg/admin.py": admin},
        entry_points="""
            [console_scripts]
            fakepkg-admin = fakepkg.admin:main
        """,
    )
    return {**app, **pkg}


def test_console_script_of_the_application_distribution(lab: Lab) -> None:
    report = lab.report(_installed_app(CALLS_VULNERABLE), FUNCTION, entries=())
    assert report.entry_points == ("console-script: orders.cli:main (orders:orders)",)
    assert not report.whole_application
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report) == [
        ("entry point orders.cli:main", "orders/cli.py", None),
        ("orders.cli:main", "orders/cli.py", 6),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2),
    ]


def test_console_scripts_of_dependencies_are_not_entry_points(lab: Lab) -> None:
    # fakepkg-admin reaches the vulnerable function, but fakepkg is a dependency of the
    # application: its scripts are not how the deployed code starts.
    report = lab.report(_installed_app(CALLS_SAFE), FUNCTION, entries=())
    assert report.entry_points == ("console-script: orders.cli:main (orders:orders)",)
    assert _verdict(report) is Tier.SYMBOL_NOT_REFERENCED


def test_console_scripts_ignored_beside_loose_application_code(lab: Lab) -> None:
    files = {
        **_installed_app(CALLS_VULNERABLE),
        "lambda_function.py": """
            from fakepkg.core import safe

            def lambda_handler(event, context):
                return safe(event)
        """,
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == ("lambda: lambda_function:lambda_handler (default handler name)",)
    assert any("console scripts of orders not used as entry points" in n for n in report.notes)
    assert _verdict(report) is Tier.SYMBOL_NOT_REFERENCED


@pytest.mark.parametrize(
    ("pyproject", "source"),
    [
        ('[project]\nname = "orders"\n[project.scripts]\norders = "orders.cli:main"\n', "orders"),
        (
            '[project]\nname = "orders"\n[project.gui-scripts]\norders-gui = "orders.cli:main"\n',
            "orders-gui",
        ),
        ('[tool.poetry]\nname = "orders"\n[tool.poetry.scripts]\nrun = "orders.cli:main"\n', "run"),
    ],
    ids=["project-scripts", "gui-scripts", "poetry-scripts"],
)
def test_pyproject_scripts(lab: Lab, pyproject: str, source: str) -> None:
    files = {
        **PKG,
        "pyproject.toml": pyproject,
        "src/orders/__init__.py": "",
        "src/orders/cli.py": CALLS_VULNERABLE,
        "src/orders/unused.py": "def helper():\n    return 1\n",
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == (f"console-script: orders.cli:main (pyproject.toml:{source})",)
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report)[1] == ("orders.cli:main", "src/orders/cli.py", 6)


def test_unreadable_pyproject_is_noted(lab: Lab) -> None:
    files = {**PKG, "pyproject.toml": "[project\nname=", "app.py": CALLS_SAFE}
    report = lab.report(files, FUNCTION, entries=("app:main",))
    assert any(n.startswith("pyproject.toml not read:") for n in report.notes)
    assert _verdict(report) is Tier.SYMBOL_NOT_REFERENCED


# -- __main__ ----------------------------------------------------------------------------------


def test_main_module(lab: Lab) -> None:
    files = {
        **PKG,
        "orders/__init__.py": "",
        "orders/tool.py": CALLS_VULNERABLE,
        "orders/__main__.py": """
            from orders.tool import main

            if __name__ == "__main__":
                main()
        """,
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == ("main: orders.__main__ (orders/__main__.py)",)
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report) == [
        ("entry point orders.__main__", "orders/__main__.py", None),
        ("orders.__main__:<main>", "orders/__main__.py", 5),
        ("orders.tool:main", "orders/tool.py", 6),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2),
    ]


# -- AWS Lambda handlers from templates ------------------------------------------------------

SAM = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: orders/
      Handler: handlers.api.handle
  ReportsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: reports/
      Handler: main.lambda_handler
  WebFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: web/
      Handler: index.handler
      Runtime: nodejs20.x
  Queue:
    Type: AWS::SQS::Queue
"""
ORDERS_HANDLER = """
from fakepkg.core import vulnerable


def handle(event, context):
    return vulnerable(event["body"])
"""
REPORTS_HANDLER = """
from fakepkg.core import safe


def lambda_handler(event, context):
    return safe(event)
"""


def _sam_files(template: str, orders: str = ORDERS_HANDLER) -> dict[str, str]:
    return {
        **PKG,
        "template.yaml": template,
        "orders/handlers/__init__.py": "",
        "orders/handlers/api.py": orders,
        "reports/main.py": REPORTS_HANDLER,
        "web/index.js": "exports.handler = async () => 1;\n",
    }


def test_sam_template_handlers(lab: Lab) -> None:
    report = lab.report(_sam_files(SAM), FUNCTION, entries=())
    assert report.entry_points == (
        "lambda: handlers.api:handle (template.yaml#OrdersFunction)",
        "lambda: main:lambda_handler (template.yaml#ReportsFunction)",
    )
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report) == [
        ("entry point handlers.api:handle", "orders/handlers/api.py", None),
        ("handlers.api:handle", "orders/handlers/api.py", 6),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2),
    ]


def test_sam_template_handlers_that_do_not_reach(lab: Lab) -> None:
    safe_orders = REPORTS_HANDLER.replace("lambda_handler", "handle")
    report = lab.report(_sam_files(SAM, orders=safe_orders), FUNCTION, entries=())
    assert len(report.entry_points) == 2
    assert _verdict(report) is Tier.SYMBOL_NOT_REFERENCED


def test_cloudformation_lambda_function_with_local_code(lab: Lab) -> None:
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Code": "functions/orders",
                    "Handler": "app.handler",
                    "Runtime": "python3.11",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                },
            }
        }
    }
    files = {
        **PKG,
        "stack.template.json": json.dumps(template),
        "functions/orders/app.py": ORDERS_HANDLER.replace("def handle", "def handler"),
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == ("lambda: app:handler (stack.template.json#Fn)",)
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report)[1] == ("app:handler", "functions/orders/app.py", 6)


def test_template_given_outside_the_artifact(lab: Lab, tmp_path: Path) -> None:
    template = tmp_path / "deploy.yaml"
    template.write_text(SAM)
    artifact = lab.artifact({**PKG, "handlers/__init__.py": "", "handlers/api.py": ORDERS_HANDLER})
    report = analyze(
        artifact,
        [osv_record(tmp_path / "osv.json", FUNCTION)],
        templates=[template],
        cache_dir=lab.cache,
        jobs=1,
    )
    assert "lambda: handlers.api:handle (" in report.entry_points[0]
    assert _verdict(report) is Tier.REACHABLE


def test_template_handler_missing_from_the_artifact_is_unknown(lab: Lab) -> None:
    template = SAM.replace("handlers.api.handle", "handlers.missing.handle")
    report = lab.report(_sam_files(template), FUNCTION, entries=())
    assert any("module handlers.missing is not in the artifact" in n for n in report.notes)
    (finding,) = report.findings
    assert finding.tier is Tier.UNKNOWN
    assert "handlers.missing" in finding.reason


def test_default_lambda_handler_without_a_template(lab: Lab) -> None:
    files = {**PKG, "lambda_function.py": ORDERS_HANDLER.replace("handle", "lambda_handler")}
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == ("lambda: lambda_function:lambda_handler (default handler name)",)
    assert _verdict(report) is Tier.REACHABLE


# -- WSGI / ASGI application objects ---------------------------------------------------------

FRAMEWORK = """
from fakepkg.core import safe, vulnerable


class WSGIHandler:
    def __call__(self, environ, start_response):
        start_response("200 OK", [])
        return [vulnerable(environ["QUERY_STRING"])]


def get_wsgi_application():
    return WSGIHandler()


class Router:
    async def __call__(self, scope, receive, send):
        await send(safe(scope))
"""


def test_django_style_wsgi_application(lab: Lab) -> None:
    files = {
        **fakepkg({"fakepkg/core.py": CORE, "fakepkg/wsgi.py": FRAMEWORK}),
        "mysite/__init__.py": "",
        "mysite/settings.py": 'SECRET_KEY = "test"\n',
        "mysite/wsgi.py": """
            import os

            from fakepkg.wsgi import get_wsgi_application

            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
            application = get_wsgi_application()
        """,
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == ("wsgi-asgi: mysite.wsgi:application (mysite/wsgi.py)",)
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report) == [
        ("entry point mysite.wsgi:application", "mysite/wsgi.py", None),
        ("fakepkg.wsgi:WSGIHandler.__call__", "fakepkg/wsgi.py", 8),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2),
    ]


def test_asgi_app_object(lab: Lab) -> None:
    files = {
        **fakepkg({"fakepkg/core.py": CORE, "fakepkg/wsgi.py": FRAMEWORK}),
        "service.py": """
            from fakepkg.wsgi import Router

            app = Router()
        """,
        "tests/test_service.py": """
            from fakepkg.core import vulnerable

            app = vulnerable
        """,
    }
    report = lab.report(files, FUNCTION, entries=())
    # The test module's `app` is not an entry point: tests do not run in production.
    assert report.entry_points == ("wsgi-asgi: service:app (service.py)",)
    assert _verdict(report) is Tier.SYMBOL_NOT_REFERENCED


def test_framework_outside_the_artifact_is_unknown(lab: Lab) -> None:
    # A Flask app whose framework is not in the artifact: the application object is
    # code the analysis cannot see, so nothing may be cleared.
    files = {
        **PKG,
        "web.py": """
            from flask import Flask
            from fakepkg.core import safe

            app = Flask(__name__)

            @app.route("/")
            def index():
                return safe("index")
        """,
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.entry_points == ("wsgi-asgi: web:app (web.py)",)
    (finding,) = report.findings
    assert finding.tier is Tier.UNKNOWN
    assert not finding.not_affected


# -- --entry ------------------------------------------------------------------------------------

EXPLICIT_APP = {
    **PKG,
    "jobs.py": """
        from fakepkg.core import safe, vulnerable

        def nightly(event, context):
            return vulnerable(event)

        def hourly(event, context):
            return safe(event)

        class Worker:
            def __init__(self, name):
                self.name = name

            def run(self, payload):
                return self.process(payload)

            def process(self, payload):
                return vulnerable(payload)

        if __name__ == "__main__":
            hourly({}, None)
    """,
}


@pytest.mark.parametrize(
    ("entry", "tier"),
    [
        ("jobs:nightly", Tier.REACHABLE),
        # nightly refers to the vulnerable function but does not run:
        ("jobs:hourly", Tier.NO_CALL_PATH),
        ("jobs", Tier.NO_CALL_PATH),
        ("jobs:Worker.run", Tier.REACHABLE),
    ],
)
def test_explicit_entry(lab: Lab, entry: str, tier: Tier) -> None:
    report = lab.report(EXPLICIT_APP, FUNCTION, entries=(entry,))
    assert report.entry_points == (f"explicit: {entry} (--entry)",)
    assert not report.whole_application
    assert _verdict(report) is tier


def test_explicit_method_entry_path(lab: Lab) -> None:
    report = lab.report(EXPLICIT_APP, FUNCTION, entries=("jobs:Worker.run",))
    assert _path(report) == [
        ("entry point jobs:Worker.run", "jobs.py", None),
        ("jobs:Worker.run", "jobs.py", 15),
        ("jobs:Worker.process", "jobs.py", 18),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2),
    ]


def test_explicit_entries_add_to_discovered_ones(lab: Lab) -> None:
    files = {**EXPLICIT_APP, "lambda_function.py": REPORTS_HANDLER}
    report = lab.report(files, FUNCTION, entries=("jobs:hourly",))
    assert report.entry_points == (
        "explicit: jobs:hourly (--entry)",
        "lambda: lambda_function:lambda_handler (default handler name)",
    )
    assert _verdict(report) is Tier.NO_CALL_PATH


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("missing:main", "--entry missing:main: module missing is not in the artifact"),
        ("jobs:nigthly", "--entry jobs:nigthly: module jobs defines no nigthly"),
    ],
)
def test_explicit_entry_naming_absent_code_is_an_error(
    lab: Lab, tmp_path: Path, entry: str, message: str
) -> None:
    # Analysing nothing would clear every vulnerability: a typo must not pass silently.
    with pytest.raises(ConfigError) as info:
        lab.report(EXPLICIT_APP, FUNCTION, entries=(entry,))
    assert str(info.value) == message


# -- no entry point ---------------------------------------------------------------------------


def test_whole_application_without_entry_points(lab: Lab) -> None:
    files = {
        **PKG,
        "tools/__init__.py": "",
        "tools/cleanup.py": """
            from fakepkg.core import vulnerable

            def purge(path):
                return vulnerable(path)
        """,
    }
    report = lab.report(files, FUNCTION, entries=())
    assert report.whole_application
    assert report.entry_points == ("whole application: no entry point found",)
    assert any(n.startswith("no entry point found") for n in report.notes)
    assert _verdict(report) is Tier.REACHABLE
    assert _path(report) == [
        ("tools.cleanup:purge", "tools/cleanup.py", 5),
        ("fakepkg.core:vulnerable", "fakepkg/core.py", 2),
    ]


def test_whole_application_clears_unreferenced_code(lab: Lab) -> None:
    files = {**PKG, "tools.py": CALLS_SAFE}
    report = lab.report(files, FUNCTION, entries=())
    assert report.whole_application
    assert _verdict(report) is Tier.SYMBOL_NOT_REFERENCED


# -- bad --entry text -----------------------------------------------------------------------

BAD_ENTRIES = [
    "",
    "   ",
    "app:",
    ":main",
    "app:main:extra",
    "my-app:main",
    "../app:main",
    "app/handlers:main",
    "app:main()",
    "app main",
    "app:\nmain",
    "1app:main",
    "app." + "x" * 400,
]


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_bad_entry_text_is_a_one_line_error(
    lab: Lab, tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str
) -> None:
    artifact = lab.artifact({**PKG, "app.py": CALLS_SAFE})
    osv = osv_record(tmp_path / "osv.json", FUNCTION)
    code = main(["reach", str(artifact), "--osv", str(osv), "--entry", entry, "--no-cache"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pipewarden: error: --entry ")
    assert "expected MODULE or MODULE:FUNCTION" in lines[0]
    assert len(lines[0]) < 200


@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_bad_entry_text_raises_before_analysis(tmp_path: Path, entry: str) -> None:
    with pytest.raises(ConfigError, match="expected MODULE or MODULE:FUNCTION"):
        analyze(tmp_path / "does-not-exist", [], entries=[entry])
