"""Hostile input through the command line: escaping in every format, no secret in full."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli import main
from pipewarden.report import FORMATS
from pipewarden.rules import RULES
from pipewarden.rules._api import Rule

WriteJson = Callable[[str, Any], Path]
MakePipeline = Callable[..., dict[str, Any]]

SCRIPT = "<script>alert(1)</script>"
HOSTILE_NAME = f'evil{SCRIPT}"pipe'
HOSTILE_STAGE = f"Build<img src=x onerror=alert(2)>{SCRIPT}"
HOSTILE_ROLE = f"arn:aws:iam::111122223333:role/{SCRIPT}"
DOCS = "https://github.com/pipewarden/pipewarden/blob/main/docs/rules/"
SAFE_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "h1",
    "h2",
    "h3",
    "p",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "a",
    "span",
    "br",
    "code",
    "ul",
    "li",
}
SAFE_ATTRS = {
    "lang",
    "charset",
    "http-equiv",
    "content",
    "name",
    "class",
    "scope",
    "id",
    "href",
    "rel",
}


class _TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    collector = _TagCollector()
    collector.feed(page)
    collector.close()
    return collector.tags


def _scan(capsys: pytest.CaptureFixture[str], path: Path, fmt: str, rules: list[Rule]) -> str:
    code = main(["scan", str(path), "-f", fmt, "--fail-on", "none"], rules=rules, environ={})
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def hostile_file(write_json: WriteJson, make_pipeline: MakePipeline) -> Path:
    doc = make_pipeline(HOSTILE_NAME, stage=HOSTILE_STAGE, role_arn=HOSTILE_ROLE)
    doc["metadata"]["pipelineArn"] = "arn:aws:codepipeline:us-east-1:111122223333:evil"
    return write_json("hostile.json", doc)


def test_html_escapes_pipeline_stage_and_role(
    capsys: pytest.CaptureFixture[str], hostile_file: Path, fake_rules: dict[str, Rule]
) -> None:
    page = _scan(capsys, hostile_file, "html", [*RULES, fake_rules["echo"]])
    escaped_script = html.escape(SCRIPT, quote=True)
    # The hostile values are shown, escaped: the name, the stage and the role ARN.
    assert html.escape(HOSTILE_NAME, quote=True) in page
    assert html.escape(HOSTILE_STAGE, quote=True) in page
    assert html.escape(HOSTILE_ROLE, quote=True) in page
    assert page.count(escaped_script) >= 3
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    # What a browser would see: only our own tags and attributes.
    tags = _tags(page)
    names = {tag for tag, _ in tags}
    assert names <= SAFE_TAGS, names - SAFE_TAGS
    for tag, attrs in tags:
        for attr, value in attrs:
            assert attr in SAFE_ATTRS, (tag, attr, value)
            if attr == "href":
                assert value is not None
                assert value.startswith((DOCS, "#p")), value
    # Self-contained: a restrictive CSP; no script, font, image or style sheet fetched.
    csp = [
        dict(attrs)
        for tag, attrs in tags
        if tag == "meta" and ("http-equiv", "Content-Security-Policy") in attrs
    ]
    assert csp == [
        {
            "http-equiv": "Content-Security-Policy",
            "content": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
        }
    ]
    assert "@import" not in page
    assert "url(" not in page


def test_markdown_escapes_hostile_text(
    capsys: pytest.CaptureFixture[str], hostile_file: Path, fake_rules: dict[str, Rule]
) -> None:
    text = _scan(capsys, hostile_file, "markdown", [fake_rules["echo"]])
    assert "<script" not in text
    assert "<img" not in text
    assert "&lt;script&gt;" in text
    # Each failure row keeps exactly five cells: no `|` from the input opens a new one.
    rows = [line for line in text.splitlines() if line.startswith("| low |")]
    assert rows
    for row in rows:
        assert len(re.findall(r"(?<!\\)\|", row)) == 6


def test_table_shows_hostile_text_literally(
    capsys: pytest.CaptureFixture[str],
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    fake_rules: dict[str, Rule],
) -> None:
    name = "[bold red]fake[/] \x1b[2J\u202egnp.exe"
    path = write_json("p.json", make_pipeline(name))
    out = _scan(capsys, path, "table", [fake_rules["echo"]])
    assert "[bold red]fake[/]" in out
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\\x1b[2J" in out
    assert "\\u202e" in out


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_output_format_contains_a_secret_in_full(
    capsys: pytest.CaptureFixture[str],
    write_json: WriteJson,
    make_pipeline: MakePipeline,
    planted_secrets: tuple[str, str],
    fmt: str,
) -> None:
    token, aws_secret = planted_secrets
    doc = make_pipeline(
        "leaky",
        oauth_token=token,
        env_vars=[
            {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAZ7QW3ERT5YUI8OPA", "type": "PLAINTEXT"},
            {"name": "AWS_SECRET_ACCESS_KEY", "value": aws_secret, "type": "PLAINTEXT"},
        ],
    )
    path = write_json("leaky.json", doc)
    out = _scan(capsys, path, fmt, list(RULES))
    for secret in (token, aws_secret):
        assert secret not in out
        assert json.dumps(secret)[1:-1] not in out
        assert html.escape(secret) not in out
