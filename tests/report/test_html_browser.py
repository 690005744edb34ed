"""The HTML report opened in a real browser: hostile names stay inert text.

Headless Chromium loads the report from disk and dumps the DOM it built. A
name that tried to inject markup must appear as text, with no script, image
or event-handler attribute created from it, and no script may have run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipewarden.cli import main

HOSTILE = '<script>document.title="pwned"</script><img src=x onerror="document.title=\'pwned\'">'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.handlers: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.handlers.extend(name for name, _ in attrs if name.startswith("on"))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _hostile_pipeline() -> dict[str, object]:
    role = f"arn:aws:iam::111122223333:role/{HOSTILE}"
    return {
        "pipeline": {
            "name": f"shop{HOSTILE}",
            "roleArn": role,
            "artifactStore": {"type": "S3", "location": "shop-artifacts"},
            "stages": [
                {
                    "name": f"Source{HOSTILE}",
                    "actions": [
                        {
                            "name": "Src",
                            "actionTypeId": {
                                "category": "Source",
                                "owner": "ThirdParty",
                                "provider": "GitHub",
                                "version": "1",
                            },
                            "configuration": {"Owner": "o", "Repo": "r", "Branch": "main"},
                            "outputArtifacts": [{"name": "Out"}],
                        }
                    ],
                },
                {
                    "name": "Deploy",
                    "actions": [
                        {
                            "name": "Ship",
                            "actionTypeId": {
                                "category": "Deploy",
                                "owner": "AWS",
                                "provider": "S3",
                                "version": "1",
                            },
                            "configuration": {"BucketName": "web", "Extract": "true"},
                            "inputArtifacts": [{"name": "Out"}],
                            "roleArn": role,
                        }
                    ],
                },
            ],
        },
        "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-1:111122223333:shop"},
    }


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="needs chromium (`.ci/run` installs it; in CI its absence fails the test)",
)
def test_hostile_names_render_as_text_in_a_browser(tmp_path: Path) -> None:
    source = tmp_path / "hostile.json"
    source.write_text(json.dumps(_hostile_pipeline()))
    report = tmp_path / "report.html"
    code = main(["scan", str(source), "--format", "html", "-o", str(report), "--fail-on", "none"])
    assert code == 0
    assert CHROMIUM is not None
    dom = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    parsed = _Elements()
    parsed.feed(dom)
    assert "html" in parsed.tags  # the browser built the page
    assert "table" in parsed.tags
    assert "script" not in parsed.tags
    assert "img" not in parsed.tags
    assert parsed.handlers == []
    assert "pwned" not in parsed.title
    # The hostile text is shown, as text, where the names are.
    assert dom.count("&lt;script&gt;document.title") >= 3
