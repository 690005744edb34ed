"""``pipewarden rules [RULE]``: list every rule, or explain one."""

from __future__ import annotations

import argparse
import importlib
import json
import textwrap
from typing import TYPE_CHECKING, Any

from pipewarden.cli._io import Context, emit, resolve_rule

if TYPE_CHECKING:
    from pipewarden.rules._api import Rule

__all__ = ["add_parser", "examples", "run"]

_EXAMPLES_MODULE = "pipewarden.rules._examples"


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register the ``rules`` sub-command."""
    parser = sub.add_parser(
        "rules",
        help="list the rules, or explain one",
        description="List every rule, or explain one rule given its id (PW104) or slug.",
    )
    parser.add_argument("rule", metavar="RULE", nargs="?", help="rule id or slug to explain")
    parser.add_argument(
        "-f", "--format", choices=("table", "json"), default="table", help="output format"
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="debug logging"
    )
    parser.set_defaults(command=run)


def examples(slug: str) -> tuple[str, str] | None:
    """The (failing, passing) example of a rule, when the examples are installed."""
    try:
        module = importlib.import_module(_EXAMPLES_MODULE)
    except ImportError:
        return None
    finder = getattr(module, "examples_for", None)
    if not callable(finder):
        return None
    found = finder(slug)
    if (
        isinstance(found, tuple)
        and len(found) == 2
        and isinstance(found[0], str)
        and isinstance(found[1], str)
    ):
        return found[0], found[1]
    return None


def _summary(rule: Rule) -> dict[str, Any]:
    from pipewarden.report._common import docs_url

    meta = rule.meta
    return {
        "id": meta.id,
        "slug": meta.slug,
        "title": meta.title,
        "severity": str(meta.severity),
        "cicd_sec": [sec.code for sec in meta.cicd_sec],
        "fsbp": list(meta.fsbp),
        "references": list(meta.references),
        "help_uri": docs_url(meta.slug),
    }


def _details(rule: Rule) -> dict[str, Any]:
    from pipewarden.report._common import rule_text

    text = rule_text(rule)
    example = examples(rule.meta.slug)
    return {
        **_summary(rule),
        "owasp": [
            {"id": sec.code, "title": sec.title, "url": sec.url} for sec in rule.meta.cicd_sec
        ],
        "summary": text.summary,
        "rationale": text.rationale,
        "remediation": text.remediation,
        "examples": None if example is None else {"fail": example[0], "pass": example[1]},
    }


def _list_text(rules: list[Rule]) -> str:
    header = ("ID", "SLUG", "SEVERITY", "TITLE")
    rows = [(r.meta.id, r.meta.slug, str(r.meta.severity), r.meta.title) for r in rules]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row))
        for row in (header, *rows)
    ]
    lines.append(f"\n{len(rules)} rules; `pipewarden rules <ID>` explains one.")
    return "\n".join(lines) + "\n"


def _block(title: str, body: str) -> list[str]:
    text = body.strip() or "(none)"
    return ["", title, textwrap.indent(text, "  ")]


def _explain_text(rule: Rule) -> str:
    from pipewarden.report._common import docs_url, rule_text

    meta = rule.meta
    text = rule_text(rule)
    out = [f"{meta.id} {meta.slug}: {meta.title}", ""]
    out.append(f"  severity:   {meta.severity}")
    for i, sec in enumerate(meta.cicd_sec):
        label = "CICD-SEC:" if i == 0 else ""
        out.append(f"  {label:<11} {sec.code} {sec.title} <{sec.url}>")
    out.append(f"  FSBP:       {', '.join(meta.fsbp) or 'none'}")
    out.append(f"  docs:       {docs_url(meta.slug)}")
    if text.summary:
        out += ["", text.summary]
    out += _block("Rationale", text.rationale)
    out += _block("Remediation", text.remediation)
    out += _block("References", "\n".join(f"- {ref}" for ref in meta.references))
    example = examples(meta.slug)
    if example is None:
        out += ["", "Examples", "  (no example)"]
    else:
        out += _block("Failing example", example[0])
        out += _block("Passing example", example[1])
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace, ctx: Context) -> int:
    """List or explain rules; returns the exit code."""
    if args.rule is not None:
        rule = resolve_rule(args.rule, ctx.rules)
        if args.format == "json":
            emit(ctx.stdout, json.dumps(_details(rule), indent=2, ensure_ascii=False) + "\n")
        else:
            emit(ctx.stdout, _explain_text(rule))
        return 0
    rules = sorted(ctx.rules, key=lambda r: r.meta.id)
    if args.format == "json":
        document = {"rules": [_summary(r) for r in rules]}
        emit(ctx.stdout, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        emit(ctx.stdout, _list_text(rules))
    return 0
