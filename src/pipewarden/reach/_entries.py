"""Entry points: where the deployed code starts running.

Sources, all of which are used together:

* ``--entry MODULE[:ATTR]`` given by the user;
* ``console_scripts`` / ``gui_scripts`` of the application's own
  distributions (installed distributions no other installed distribution
  requires, when the artifact has no loose application code), and the
  ``[project.scripts]`` / ``[project.gui-scripts]`` (or Poetry's
  ``[tool.poetry.scripts]``) of a ``pyproject.toml`` at the artifact's root;
* ``__main__`` modules of the application;
* AWS Lambda handlers named by a SAM or CloudFormation template in the
  artifact (``template.yaml`` and friends) or given with ``--template``; a
  function's ``CodeUri`` (SAM) or local ``Code`` path (``aws cloudformation
  package``) directory becomes an import root; without a
  template, ``lambda_function.lambda_handler`` (the console's default) when
  present;
* WSGI/ASGI application objects: module-level ``application`` or ``app`` in
  application modules.

With none of these, every application module and function is an entry point
(whole-application mode): without knowing where execution starts, nothing in
the application may be assumed dead.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pipewarden.errors import ConfigError, InputError
from pipewarden.reach._artifact import Artifact

__all__ = ["EntryPoint", "discover_entries", "parse_entry"]

_TEMPLATE_NAMES: Final = re.compile(
    r"(^|/)(template|sam-template|samtemplate|cloudformation|serverless-template)\.(ya?ml|json)$"
    r"|\.template\.(ya?ml|json)$",
    re.IGNORECASE,
)
_MAX_TEMPLATE_BYTES: Final = 20 * 1024 * 1024
_MAX_PYPROJECT_BYTES: Final = 1024 * 1024
_MAX_ENTRY_TEXT: Final = 300
_DOTTED: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_APP_NAMES: Final = ("application", "app")


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """One place execution starts: ``module`` imported, then ``attr`` called (when set)."""

    kind: str  # explicit | console-script | main | lambda | wsgi-asgi | module
    module: str
    attr: str | None
    source: str

    @property
    def text(self) -> str:
        return f"{self.module}:{self.attr}" if self.attr else self.module


def parse_entry(text: str) -> EntryPoint:
    """``MODULE`` or ``MODULE:FUNCTION`` (``MODULE:obj.method`` allowed)."""
    module, colon, attr = text.strip().partition(":")
    if (
        len(text) > _MAX_ENTRY_TEXT
        or not _DOTTED.match(module)
        or (colon and not _DOTTED.match(attr))
    ):
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise ConfigError(
            f"--entry {shown!r}: expected MODULE or MODULE:FUNCTION "
            "(dotted Python names, e.g. app.handlers:lambda_handler)"
        )
    return EntryPoint("explicit", module, attr or None, "--entry")


def _script_target(value: str) -> tuple[str, str | None] | None:
    target = value.split("[", 1)[0].strip()
    module, _, attr = target.partition(":")
    module, attr = module.strip(), attr.strip()
    if not _DOTTED.match(module) or (attr and not _DOTTED.match(attr)):
        return None
    return module, attr or None


def discover_entries(
    artifact: Artifact,
    explicit: Sequence[EntryPoint],
    templates: Sequence[Path],
    app_globals: Any,
    notes: list[str],
) -> list[EntryPoint]:
    """Every entry point of the artifact. ``app_globals(module)`` gives a module's global names."""
    entries: list[EntryPoint] = list(explicit)
    entries += _lambda_entries(artifact, templates, notes)
    app_modules = artifact.app_modules()
    loose = [m for m in app_modules if not _is_test(m.name)]
    installed = [d for d in artifact.distributions if d.installed]
    required = {r for d in installed for r in (d.requires or ())}
    entries += _pyproject_entries(artifact, notes)
    for dist in installed:
        if dist.key in required or not dist.console_scripts:
            continue
        if loose:
            notes.append(
                f"console scripts of {dist.name} not used as entry points: the artifact has its own "
                "application code (name them with --entry if they run in production)"
            )
            continue
        for name, value in dist.console_scripts:
            target = _script_target(value)
            if target is not None:
                entries.append(
                    EntryPoint("console-script", target[0], target[1], f"{dist.name}:{name}")
                )
    for module in app_modules:
        if module.name == "__main__" or module.name.endswith(".__main__"):
            entries.append(EntryPoint("main", module.name, None, module.path or module.name))
    if not any(e.kind == "lambda" for e in entries):
        found = artifact.find_module("lambda_function")
        if (
            found is not None
            and found.dist is None
            and "lambda_handler" in app_globals("lambda_function")
        ):
            entries.append(
                EntryPoint("lambda", "lambda_function", "lambda_handler", "default handler name")
            )
    for module in loose:
        names = app_globals(module.name)
        for name in _APP_NAMES:
            if name in names:
                entries.append(
                    EntryPoint("wsgi-asgi", module.name, name, module.path or module.name)
                )
                break
    unique: dict[tuple[str, str, str | None], EntryPoint] = {}
    for entry in entries:
        unique.setdefault((entry.kind, entry.module, entry.attr), entry)
    return list(unique.values())


def _pyproject_entries(artifact: Artifact, notes: list[str]) -> list[EntryPoint]:
    """Scripts declared by a ``pyproject.toml`` at the artifact's root."""
    import tomllib

    if "pyproject.toml" not in artifact.files:
        return []
    try:
        text = artifact.read("pyproject.toml", limit=_MAX_PYPROJECT_BYTES).decode("utf-8")
        document = tomllib.loads(text)
    except (InputError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        notes.append(f"pyproject.toml not read: {exc}")
        return []
    project = document.get("project")
    tool = document.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    tables: list[tuple[str, Any]] = []
    if isinstance(project, dict):
        tables += [("project.scripts", project.get("scripts"))]
        tables += [("project.gui-scripts", project.get("gui-scripts"))]
    if isinstance(poetry, dict):
        tables += [("tool.poetry.scripts", poetry.get("scripts"))]
    out: list[EntryPoint] = []
    for table, scripts in tables:
        if not isinstance(scripts, dict):
            continue
        for name, value in scripts.items():
            if isinstance(value, dict):  # Poetry's {reference = "...", type = "file"} form
                value = value.get("reference") if value.get("type") != "file" else None
            target = _script_target(value) if isinstance(value, str) else None
            if target is None:
                notes.append(f"pyproject.toml: [{table}] {name}: not a module:function reference")
                continue
            out.append(EntryPoint("console-script", target[0], target[1], f"pyproject.toml:{name}"))
    return out


def _is_test(name: str) -> bool:
    parts = name.split(".")
    return any(
        p in ("tests", "test", "testing") or p.startswith("test_") for p in parts
    ) or name in (
        "conftest",
        "setup",
        "noxfile",
        "fabfile",
    )


def _template_files(artifact: Artifact) -> list[str]:
    out = []
    for path in artifact.files:
        if path.count("/") > 2 or not _TEMPLATE_NAMES.search(path):
            continue
        if any(root and path.startswith(root + "/") for root in artifact.site_roots):
            continue
        out.append(path)
    return out


def _load_template(text: str, source: str) -> Any:
    from pipewarden.parse._source import load_json
    from pipewarden.parse._yaml import load_yaml

    if source.lower().endswith(".json"):
        return load_json(text, source)
    data, _ = load_yaml(text, source)
    return data


def _lambda_entries(
    artifact: Artifact, templates: Sequence[Path], notes: list[str]
) -> list[EntryPoint]:
    documents: list[tuple[str, str, Any]] = []
    for path in _template_files(artifact):
        try:
            text = artifact.read(path, limit=_MAX_TEMPLATE_BYTES).decode("utf-8")
            documents.append((path, posixpath.dirname(path), _load_template(text, path)))
        except (InputError, UnicodeDecodeError) as exc:
            notes.append(f"template {path} not read: {exc}")
    for template in templates:
        from pipewarden.parse._source import read_text

        text = read_text(template, max_bytes=_MAX_TEMPLATE_BYTES)
        documents.append((str(template), "", _load_template(text, str(template))))
    entries: list[EntryPoint] = []
    for source, directory, document in documents:
        entries += _handlers(artifact, source, directory, document, notes)
    return entries


def _handlers(
    artifact: Artifact, source: str, directory: str, document: Any, notes: list[str]
) -> list[EntryPoint]:
    if not isinstance(document, dict):
        return []
    resources = document.get("Resources")
    if not isinstance(resources, dict):
        return []
    globals_ = document.get("Globals")
    function_globals = globals_.get("Function", {}) if isinstance(globals_, dict) else {}
    if not isinstance(function_globals, dict):
        function_globals = {}
    out: list[EntryPoint] = []
    for logical, resource in resources.items():
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("Type")
        if rtype not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        props = resource.get("Properties")
        if not isinstance(props, dict):
            continue
        # SAM's Globals apply to AWS::Serverless::Function resources only.
        defaults = function_globals if rtype == "AWS::Serverless::Function" else {}
        handler = props.get("Handler", defaults.get("Handler"))
        runtime = props.get("Runtime", defaults.get("Runtime"))
        if isinstance(runtime, str) and not runtime.startswith("python"):
            continue
        if props.get("PackageType") == "Image":
            continue
        if not isinstance(handler, str) or "." not in handler:
            if handler is not None:
                notes.append(f"{source}: {logical}: handler is not a plain string, not analysed")
            continue
        module_path, _, function = handler.rpartition(".")
        module = module_path.replace("/", ".")
        if not _DOTTED.match(module) or not function.isidentifier():
            notes.append(f"{source}: {logical}: handler {handler!r} is not module.function")
            continue
        code_uri = props.get("CodeUri", defaults.get("CodeUri"))
        if rtype == "AWS::Lambda::Function":
            code_uri = props.get("Code")  # a local path before `aws cloudformation package`
        if isinstance(code_uri, str) and "://" not in code_uri:
            root = posixpath.normpath(posixpath.join(directory, code_uri))
            if root in (".", ""):
                root = ""
            if (
                not root.startswith("..")
                and (not root or any(f.startswith(root + "/") for f in artifact.files))
                and root
            ):
                artifact.add_app_root(root)
        out.append(EntryPoint("lambda", module, function, f"{source}#{logical}"))
    return out


def app_global_names(names: Iterable[str]) -> set[str]:
    """The subset of ``names`` that marks a WSGI/ASGI application object."""
    return {n for n in names if n in _APP_NAMES}
