"""Benchmark: ``pipewarden reach`` noise cut, soundness and speed.

1. Dev pairs: for every advisory of ``../shared/data/osv-python-symbols-dev.json``
   the two applications of ``tests/reach/cases.py`` (one reaches the vulnerable
   code, one only installs or imports the package), built from real
   distributions at vulnerable versions (``pip install --target``, cached under
   ``~/.cache/pipewarden-tests/dists``), analysed against all 30 OSV records
   plus the symbol overlay. Printed per advisory: the tier for each app; then

   - **soundness**: reaching applications marked not affected (must be 0);
   - **noise cut**: the share of version-matched findings marked not affected,
     over every finding of every app, and over the non-reaching apps only.

2. Large application: a Django project with Django REST framework, requests,
   Jinja2, PyYAML, Pillow, cryptography and Werkzeug installed with
   ``pip install --target`` under ``benchmarks/.data/reach-app/`` (once), its
   entry point the WSGI ``application``. Printed: Python lines in the artifact
   and in the modules the analysis loaded, and the analysis time with a cold
   parse cache and a warm one, on ``--jobs`` cores (default 2). The goal is
   under 30 s. Timings are printed, never asserted.

Usage: ``python benchmarks/bench_reach.py [--skip-pairs] [--skip-large] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "reach"))

import _dists  # noqa: E402
import cases  # noqa: E402

from pipewarden.reach.analysis import analyze  # noqa: E402

DATA = HERE / ".data" / "reach-app"
LARGE_PACKAGES = (
    "django==4.2.2",
    "djangorestframework==3.14.0",
    "asgiref==3.7.2",
    "sqlparse==0.4.4",
    "requests==2.30.0",
    "urllib3==1.26.16",
    "idna==3.4",
    "charset-normalizer==3.1.0",
    "certifi==2023.5.7",
    "jinja2==3.1.2",
    "markupsafe==2.1.5",
    "pyyaml==6.0.1",
    "werkzeug==2.2.2",
    "pillow==9.5.0",
    "cryptography==39.0.0",
    "cffi==1.15.1",
    "pycparser==2.21",
    "pytz==2023.3",
)
PROJECT = {
    "shop/__init__.py": "",
    "shop/settings.py": """
        SECRET_KEY = "bench"
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "shop.orders"]
        ROOT_URLCONF = "shop.urls"
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
    """,
    "shop/wsgi.py": """
        import os
        from django.core.wsgi import get_wsgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
        application = get_wsgi_application()
    """,
    "shop/urls.py": """
        from django.urls import path
        from shop.orders import views

        urlpatterns = [path("orders/", views.OrderList.as_view()), path("import/", views.import_orders)]
    """,
    "shop/orders/__init__.py": "",
    "shop/orders/models.py": """
        from django.db import models

        class Order(models.Model):
            email = models.EmailField()
            total = models.DecimalField(max_digits=9, decimal_places=2)
            created = models.DateTimeField(auto_now_add=True)
    """,
    "shop/orders/views.py": """
        import requests
        import yaml
        from django.http import JsonResponse
        from rest_framework import generics, serializers
        from PIL import Image
        from jinja2 import Environment

        from shop.orders.models import Order

        class OrderSerializer(serializers.ModelSerializer):
            class Meta:
                model = Order
                fields = ["id", "email", "total", "created"]

        class OrderList(generics.ListCreateAPIView):
            queryset = Order.objects.all()
            serializer_class = OrderSerializer

        def import_orders(request):
            config = yaml.safe_load(request.body)
            feed = requests.get(config["feed"], timeout=10).json()
            thumb = Image.new("RGB", (32, 32))
            html = Environment(autoescape=True).from_string("{{ n }} orders").render(n=len(feed))
            return JsonResponse({"html": html, "size": thumb.size})
    """,
}


def _lines(root: Path) -> int:
    return sum(p.read_bytes().count(b"\n") for p in root.rglob("*.py"))


def bench_pairs(jobs: int) -> None:
    print("== dev pairs (tests/reach/cases.py) ==")
    dists = _dists.install_all()
    osv = [cases.OSV_DIR, cases.DEV_SYMBOLS]
    matched = 0
    cleared = 0
    quiet_matched = 0
    quiet_cleared = 0
    unsound = []
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        for case in cases.CASES:
            row = [case.advisory]
            for kind, app in (("reaching", case.reaching), ("quiet", case.quiet)):
                root = Path(tmp) / f"{case.advisory}-{kind}"
                root.mkdir()
                _dists.populate(root, [dists[n] for n in app.dists])
                for rel, text in app.code().items():
                    path = root / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
                report = analyze(root, osv, entries=app.entries, cache_dir=Path(cache), jobs=jobs)
                for finding in report.findings:
                    if not finding.version_matched:
                        continue
                    matched += 1
                    cleared += finding.not_affected
                    if kind == "quiet":
                        quiet_matched += 1
                        quiet_cleared += finding.not_affected
                own = next(f for f in report.findings if f.vulnerability == case.advisory)
                if kind == "reaching" and own.not_affected:
                    unsound.append(case.advisory)
                row.append(f"{kind}={own.tier.value}")
            print("  " + "  ".join(f"{c:34}" for c in row))
    print(f"soundness: {len(unsound)} reaching app(s) marked not affected {unsound or ''}")
    print(
        f"noise cut, all apps: {cleared}/{matched} version-matched findings marked not affected "
        f"({100 * cleared / max(matched, 1):.1f}%)"
    )
    print(
        f"noise cut, non-reaching apps: {quiet_cleared}/{quiet_matched} "
        f"({100 * quiet_cleared / max(quiet_matched, 1):.1f}%)"
    )


def _install_large() -> Path:
    marker = DATA / ".installed"
    site = DATA / "artifact"
    if marker.exists():
        return site
    shutil.rmtree(DATA, ignore_errors=True)
    site.mkdir(parents=True)
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--only-binary=:all:", "--target", str(site), *LARGE_PACKAGES,
    ]  # fmt: skip
    subprocess.run(cmd, check=True)
    for rel, text in PROJECT.items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    marker.write_text("ok\n")
    return site


def bench_large(jobs: int) -> None:
    print("== large application (Django + DRF + requests + Jinja2 + PyYAML + Pillow + ...) ==")
    site = _install_large()
    total = _lines(site)
    osv = [cases.OSV_DIR, cases.DEV_SYMBOLS]
    with tempfile.TemporaryDirectory() as cache:
        timings = []
        report = None
        for label in ("cold cache", "warm cache"):
            started = time.perf_counter()
            report = analyze(site, osv, cache_dir=Path(cache), jobs=jobs)
            timings.append((label, time.perf_counter() - started))
    if report is None:
        return
    stats = report.stats
    print(f"artifact: {total:,} lines of Python; entry points: {', '.join(report.entry_points)}")
    print(
        f"analysed: {stats['modules_loaded']} modules loaded, {stats['functions_reached']} "
        f"functions reached, {stats['evaluations']} scope evaluations"
    )
    for label, seconds in timings:
        print(f"{label}: {seconds:.1f} s on {jobs} core(s) (goal < 30 s)")
    counts = report.counts()
    print("findings: " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip-pairs", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_pairs:
        bench_pairs(args.jobs)
    if not args.skip_large:
        bench_large(args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
