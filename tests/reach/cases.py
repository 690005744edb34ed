"""The dev advisories' application pairs: one app that reaches the vulnerable code through
a non-trivial path, one that installs or imports the package without reaching it.

Shared by ``test_advisories.py`` and ``benchmarks/bench_reach.py``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

DEV_SYMBOLS: Final = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "osv-python-symbols-dev.json"
)
OSV_DIR: Final = Path(__file__).resolve().parents[3] / "shared" / "data" / "osv"


def fake_dist(
    name: str, version: str, modules: Mapping[str, str], requires: tuple[str, ...] = ()
) -> dict[str, str]:
    """Files of a small installed distribution (dist-info with METADATA and RECORD)."""
    info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {path: textwrap.dedent(text) for path, text in modules.items()}
    record = "".join(f"{path},,\n" for path in files) + f"{info}/METADATA,,\n{info}/RECORD,,\n"
    files[f"{info}/METADATA"] = meta
    files[f"{info}/RECORD"] = record
    return files


@dataclass(frozen=True)
class App:
    """A test application: installed distributions plus its own files."""

    dists: tuple[str, ...]
    files: Mapping[str, str]
    entries: tuple[str, ...] = ("app:handler",)
    technique: str = ""

    def code(self) -> dict[str, str]:
        return {path: textwrap.dedent(text) for path, text in self.files.items()}


@dataclass(frozen=True)
class Case:
    advisory: str
    reaching: App
    reaches: str
    """The function name the reported path must end at (a vulnerable or derived symbol)."""
    quiet: App
    quiet_tier: str
    extra: Mapping[str, App] = field(default_factory=dict)


_YAML5 = ("pyyaml-5.3.1",)
_YAML3 = ("pyyaml-3.13",)
_REQ230 = (
    "requests-2.30.0",
    "urllib3-1.26.16",
    "idna-3.4",
    "charset-normalizer-3.1.0",
    "certifi-2023.5.7",
)
_REQ219 = ("requests-2.19.1", "urllib3-1.23", "idna-2.7", "chardet-3.0.4", "certifi-2023.5.7")
_DJ42 = ("django-4.2.2", "asgiref-3.7.2", "sqlparse-0.4.4")
_DJ40 = ("django-4.0.3", "asgiref-3.7.2", "sqlparse-0.4.4")

_DJ_CRYPTO = """
from django.utils.crypto import constant_time_compare, salted_hmac

def handler(event, context):
    digest = salted_hmac("orders", event["body"], secret=event["secret"]).hexdigest()
    return {"ok": constant_time_compare(digest, event["signature"])}
"""
_DJ42_QUIET = App(_DJ42, {"app.py": _DJ_CRYPTO})

CASES: Final[tuple[Case, ...]] = (
    Case(
        "PYSEC-2021-142",
        App(
            _YAML5,
            {
                "app.py": """
                from yaml import full_load as parse_config

                def handler(event, context):
                    return parse_config(event["body"])
                """
            },
            technique="an alias (from yaml import full_load as parse_config)",
        ),
        "yaml:full_load",
        App(
            _YAML5,
            {
                "app.py": """
                import yaml

                def handler(event, context):
                    return yaml.safe_dump({"id": event["id"]})
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2018-49",
        App(
            _YAML3,
            {
                "app.py": """
                import yaml

                class Codec:
                    def decode(self, text):
                        return yaml.load(text)

                class Store:
                    def __init__(self):
                        self.codec = Codec()

                    def read(self, text):
                        return self.codec.decode(text)

                def handler(event, context):
                    return Store().read(event["body"])
                """
            },
            technique="a method on an instance held in an attribute",
        ),
        "yaml:load",
        App(
            _YAML3,
            {
                "app.py": """
                import yaml

                def handler(event, context):
                    return yaml.dump({"id": event["id"]}, default_flow_style=False)
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2019-217",
        App(
            ("jinja2-2.10", "markupsafe-2.1.5"),
            {
                "app.py": """
                from jinja2.sandbox import SandboxedEnvironment

                def sandboxed(func):
                    def wrapper(source, **context):
                        env = SandboxedEnvironment()
                        return env.from_string(func(source)).render(**context)
                    return wrapper

                @sandboxed
                def user_template(source):
                    return source.strip()

                def handler(event, context):
                    return user_template(event["template"], name=event["name"])
                """
            },
            technique="a decorator",
        ),
        "jinja2.sandbox:SandboxedEnvironment",
        App(
            ("jinja2-2.10", "markupsafe-2.1.5"),
            {
                "app.py": """
                from jinja2.utils import urlize

                def handler(event, context):
                    return urlize(event["text"])
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2019-220",
        App(
            ("jinja2-2.8", "markupsafe-2.1.5"),
            {
                "app.py": """
                import jinja2.sandbox

                class Renderer:
                    environment_class = jinja2.sandbox.ImmutableSandboxedEnvironment

                    def render(self, source, **context):
                        env = self.environment_class()
                        return env.from_string(source).render(**context)

                def handler(event, context):
                    return Renderer().render(event["template"])
                """
            },
            technique="a class attribute",
        ),
        "jinja2.sandbox:ImmutableSandboxedEnvironment",
        App(
            ("jinja2-2.8", "markupsafe-2.1.5"),
            {
                "app.py": """
                from jinja2.utils import urlize

                def handler(event, context):
                    return urlize(event["text"])
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "GHSA-h5c8-rqwp-cp95",
        App(
            ("jinja2-3.1.2", "markupsafe-2.1.5"),
            {
                **fake_dist(
                    "htmlkit",
                    "1.0",
                    {
                        "htmlkit/__init__.py": """
                        from jinja2.filters import do_xmlattr
                        from jinja2.nodes import EvalContext

                        def attributes(environment, mapping):
                            return do_xmlattr(EvalContext(environment), mapping)
                        """
                    },
                    ("jinja2",),
                ),
                "app.py": """
                import htmlkit
                from jinja2 import Environment

                ENV = Environment(autoescape=True)

                def handler(event, context):
                    return str(htmlkit.attributes(ENV, event["attrs"]))
                """,
            },
            technique="a call inside a dependency (htmlkit calls jinja2)",
        ),
        "jinja2.filters:do_xmlattr",
        App(
            ("jinja2-3.1.2", "markupsafe-2.1.5"),
            {
                "app.py": """
                from jinja2.utils import urlize

                def handler(event, context):
                    return urlize(event["text"])
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "GHSA-h75v-3vvj-5mfj",
        App(
            ("jinja2-3.1.3", "markupsafe-2.1.5"),
            {
                "app.py": """
                from jinja2 import filters as F
                from jinja2.nodes import EvalContext
                from jinja2 import Environment

                render_attrs = F.do_xmlattr

                def handler(event, context):
                    return str(render_attrs(EvalContext(Environment()), event["attrs"]))
                """
            },
            technique="an alias held in a module variable",
        ),
        "jinja2.filters:do_xmlattr",
        App(
            ("jinja2-3.1.3", "markupsafe-2.1.5"),
            {
                "app.py": """
                from jinja2.utils import urlize

                def handler(event, context):
                    return urlize(event["text"])
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-192",
        App(
            ("urllib3-1.26.16",),
            {
                "app.py": """
                import urllib3

                class Client:
                    def __init__(self):
                        self.http = urllib3.PoolManager()

                    def fetch(self, url, cookie):
                        return self.http.request("GET", url, headers={"Cookie": cookie})

                def handler(event, context):
                    return Client().fetch(event["url"], event["cookie"]).status
                """
            },
            technique="a method on an instance (PoolManager.request -> urlopen)",
        ),
        "urllib3.poolmanager:PoolManager.urlopen",
        App(
            ("urllib3-1.26.16",),
            {
                "app.py": """
                from urllib3.util import parse_url

                def handler(event, context):
                    return parse_url(event["url"]).host
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-212",
        App(
            ("urllib3-1.26.16",),
            {
                "app.py": """
                import urllib3

                def pooled(func):
                    pool = urllib3.HTTPSConnectionPool("api.example.com")
                    def inner(path, body):
                        return func(pool, path, body)
                    return inner

                @pooled
                def post(pool, path, body):
                    return pool.urlopen("POST", path, body=body, redirect=True)

                def handler(event, context):
                    return post(event["path"], event["body"]).status
                """
            },
            technique="a decorator passing a connection pool",
        ),
        "urllib3.connectionpool:HTTPConnectionPool.urlopen",
        App(
            ("urllib3-1.26.16",),
            {
                "app.py": """
                from urllib3.util import parse_url

                def handler(event, context):
                    return parse_url(event["url"]).host
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "GHSA-34jh-p97f-mpxf",
        App(
            ("urllib3-1.26.16",),
            {
                **fake_dist(
                    "fetchkit",
                    "2.0",
                    {
                        "fetchkit/__init__.py": """
                        import urllib3

                        _POOL = urllib3.PoolManager(num_pools=4)

                        def get(url, headers):
                            return _POOL.request("GET", url, headers=headers)
                        """
                    },
                    ("urllib3",),
                ),
                "app.py": """
                import fetchkit

                def handler(event, context):
                    return fetchkit.get(event["url"], {"Proxy-Authorization": event["token"]}).status
                """,
            },
            technique="a call inside a dependency (fetchkit calls urllib3)",
        ),
        "urllib3.poolmanager:PoolManager.urlopen",
        App(
            ("urllib3-1.26.16",),
            {
                "app.py": """
                from urllib3.exceptions import HTTPError

                def handler(event, context):
                    try:
                        return int(event["n"])
                    except HTTPError:
                        return 0
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-74",
        App(
            _REQ230,
            {
                "app.py": """
                from requests import get as http_get

                def handler(event, context):
                    return http_get(event["url"], proxies={"https": event["proxy"]}).status_code
                """
            },
            technique="an alias (from requests import get as http_get)",
        ),
        "requests.sessions:Session.send",
        App(
            _REQ230,
            {
                "app.py": """
                from requests.structures import CaseInsensitiveDict

                def handler(event, context):
                    return dict(CaseInsensitiveDict(event["headers"]))
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2018-28",
        App(
            _REQ219,
            {
                "app.py": """
                import requests

                class Client:
                    session_factory = requests.Session

                    def fetch(self, url):
                        session = self.session_factory()
                        return session.get(url, auth=("user", "secret"))

                def handler(event, context):
                    return Client().fetch(event["url"]).status_code
                """
            },
            technique="a class attribute holding the session class",
        ),
        "requests.sessions:SessionRedirectMixin.resolve_redirects",
        App(
            _REQ219,
            {
                "app.py": """
                from requests.structures import CaseInsensitiveDict

                def handler(event, context):
                    return dict(CaseInsensitiveDict(event["headers"]))
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "GHSA-9wx4-h78v-vm56",
        App(
            _REQ230,
            {
                "app.py": """
                import requests

                class Api:
                    def __init__(self):
                        self.session = requests.Session()

                    def ping(self, url):
                        return self.session.get(url, verify=False)

                def handler(event, context):
                    return Api().ping(event["url"]).status_code
                """
            },
            technique="a method on an instance held in an attribute",
        ),
        "requests.adapters:HTTPAdapter.send",
        App(
            _REQ230,
            {
                "app.py": """
                from requests.structures import CaseInsensitiveDict

                def handler(event, context):
                    return dict(CaseInsensitiveDict(event["headers"]))
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-227",
        App(
            ("pillow-9.5.0",),
            {
                "app.py": """
                from PIL import ImageFont as fonts

                def handler(event, context):
                    font = fonts.truetype("/opt/fonts/DejaVuSans.ttf", 12)
                    return font.getlength(event["text"])
                """
            },
            technique="a module alias (from PIL import ImageFont as fonts)",
        ),
        "PIL.ImageFont:FreeTypeFont.getlength",
        App(
            ("pillow-9.5.0",),
            {
                "app.py": """
                from PIL import Image

                def handler(event, context):
                    return Image.new("RGB", (event["w"], event["h"])).size
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2021-139",
        App(
            ("pillow-8.1.2",),
            {
                "app.py": """
                import functools
                from PIL import Image

                @functools.lru_cache(maxsize=32)
                def thumbnail(path):
                    image = Image.open(path)
                    image.thumbnail((64, 64))
                    return image

                def handler(event, context):
                    return thumbnail(event["path"]).size
                """
            },
            technique="a decorator (functools.lru_cache)",
        ),
        "PIL.Image:open",
        App(
            ("pillow-8.1.2",),
            {
                "app.py": """
                from PIL import Image

                def handler(event, context):
                    return Image.new("RGB", (event["w"], event["h"])).size
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-11",
        App(
            ("cryptography-39.0.0",),
            {
                "app.py": """
                from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

                class Box:
                    def __init__(self, key, iv):
                        self.cipher = Cipher(algorithms.AES(key), modes.CBC(iv))

                    def seal(self, data, out):
                        encryptor = self.cipher.encryptor()
                        return encryptor.update_into(data, out)

                def handler(event, context):
                    return Box(event["key"], event["iv"]).seal(event["data"], bytearray(64))
                """
            },
            technique="a method on an instance (Cipher(...).encryptor().update_into)",
        ),
        "cryptography.hazmat.primitives.ciphers.base:_CipherContext.update_into",
        App(
            ("cryptography-39.0.0",),
            {
                "app.py": """
                from cryptography.hazmat.primitives import hashes

                def handler(event, context):
                    digest = hashes.Hash(hashes.SHA256())
                    digest.update(event["data"])
                    return digest.finalize().hex()
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2021-63",
        App(
            ("cryptography-3.3.1", "six-1.16.0"),
            {
                **fake_dist(
                    "vaultlib",
                    "0.3",
                    {
                        "vaultlib/__init__.py": """
                        from cryptography.fernet import Fernet

                        class Vault:
                            def __init__(self, key):
                                self._fernet = Fernet(key)

                            def seal(self, data):
                                return self._fernet.encrypt(data)
                        """
                    },
                    ("cryptography",),
                ),
                "app.py": """
                from vaultlib import Vault

                def handler(event, context):
                    return Vault(event["key"]).seal(event["data"])
                """,
            },
            technique="a call inside a dependency (vaultlib calls Fernet.encrypt)",
        ),
        "cryptography.fernet:Fernet.encrypt",
        App(
            ("cryptography-3.3.1", "six-1.16.0"),
            {
                "app.py": """
                from cryptography.hazmat.primitives import hashes
                from cryptography.hazmat.backends import default_backend

                def handler(event, context):
                    digest = hashes.Hash(hashes.SHA256(), backend=default_backend())
                    digest.update(event["data"])
                    return digest.finalize().hex()
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-58",
        App(
            ("werkzeug-2.2.2", "markupsafe-2.1.5"),
            {
                "app.py": """
                from werkzeug.wrappers import Request, Response

                @Request.application
                def application(request):
                    upload = request.files.get("document")
                    return Response(upload.filename if upload else "none")
                """
            },
            entries=(),
            technique="a WSGI app through a decorator, reading a property",
        ),
        "werkzeug.wrappers.request:Request.files",
        App(
            ("werkzeug-2.2.2", "markupsafe-2.1.5"),
            {
                "app.py": """
                from werkzeug.utils import secure_filename

                def handler(event, context):
                    return secure_filename(event["name"])
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "GHSA-2g68-c3qc-8985",
        App(
            ("werkzeug-2.2.2", "markupsafe-2.1.5"),
            {
                "app.py": """
                from werkzeug.debug import DebuggedApplication as Debugger

                def simple_app(environ, start_response):
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [b"ok"]

                application = Debugger(simple_app, evalex=True)
                """
            },
            entries=(),
            technique="an alias wrapping the WSGI application",
        ),
        "werkzeug.debug:DebuggedApplication",
        App(
            ("werkzeug-2.2.2", "markupsafe-2.1.5"),
            {
                "app.py": """
                from werkzeug.utils import secure_filename

                def handler(event, context):
                    return secure_filename(event["name"])
                """
            },
        ),
        "symbol-not-referenced",
    ),
    Case(
        "PYSEC-2023-100",
        App(
            _DJ42,
            {
                "app.py": """
                from django.core.validators import EmailValidator

                class SignupForm:
                    def __init__(self):
                        self.check_email = EmailValidator(message="bad address")

                    def clean(self, value):
                        self.check_email(value)
                        return value

                def handler(event, context):
                    return SignupForm().clean(event["email"])
                """
            },
            technique="a callable instance held in an attribute",
        ),
        "django.core.validators:EmailValidator.__call__",
        _DJ42_QUIET,
        "unknown",  # Django: lazy settings and metaclasses leave objects of unresolved type
    ),
    Case(
        "PYSEC-2022-213",
        App(
            _DJ40,
            {
                "app.py": """
                from django.db.models.functions import Trunc

                def audited(func):
                    def wrapper(*args, **kwargs):
                        return func(*args, **kwargs)
                    return wrapper

                @audited
                def bucket(kind):
                    return Trunc("created", kind)

                def handler(event, context):
                    return str(bucket(event["kind"]))
                """
            },
            technique="a decorator",
        ),
        "django.db.models.functions.datetime:Trunc",
        App(_DJ40, {"app.py": _DJ_CRYPTO}),
        "unknown",  # Django: lazy settings and metaclasses leave objects of unresolved type
    ),
    Case(
        "PYSEC-2022-190",
        App(
            _DJ40,
            {
                "app.py": """
                from django.db.models import Count
                from django.db.models.query import QuerySet

                def report(queryset, aliases):
                    return queryset.annotate(**{alias: Count("id") for alias in aliases})

                def handler(event, context):
                    return report(QuerySet(), event["columns"]).query
                """
            },
            technique="a method on an instance passed as an argument",
        ),
        "django.db.models.query:QuerySet.annotate",
        App(_DJ40, {"app.py": _DJ_CRYPTO}),
        "unknown",  # Django: lazy settings and metaclasses leave objects of unresolved type
    ),
    Case(
        "PYSEC-2023-226",
        App(
            _DJ42,
            {
                "app.py": """
                from django.utils.text import Truncator as T

                def preview(html):
                    return T(html).chars(80, html=True)

                def handler(event, context):
                    return preview(event["body"])
                """
            },
            technique="an alias and a method on an instance",
        ),
        "django.utils.text:Truncator.chars",
        _DJ42_QUIET,
        "unknown",  # Django: lazy settings and metaclasses leave objects of unresolved type
    ),
)
