"""CodeBuild projects a pipeline runs: their approved state and what weakens it. Pure.

A project is part of what a pipeline runs but not of its declaration, and
``codebuild:UpdateProject`` changes it without touching the pipeline. The
state kept for a project is what decides what its builds do and as whom:
the buildspec (where it comes from, and its text when inline), the image,
the service role, privileged mode, and the environment variables (name,
type and value, secrets sealed).

:func:`project_changes` compares an approved state with a new one, which may
be partial (``UpdateProject`` sends only the fields it sets). Weakening
(PW901): the buildspec moved into the project (inline), privileged mode
turned on, the service role changed, a plaintext environment variable added.
Any other difference is PW902.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from pipewarden.drift.diff import UNREVIEWED, WEAKENING, Change
from pipewarden.model import CodeBuildProject, Gap, Inventory, Pipeline, Unresolved, Value
from pipewarden.model.location import escape_token

if TYPE_CHECKING:
    from pipewarden.drift.secrets import Sealer

__all__ = [
    "BASELINED_FIELDS",
    "ProjectUse",
    "project_changes",
    "project_key",
    "project_state",
    "projects_used",
    "request_state",
    "seal_project",
]

BASELINED_FIELDS: Final = (
    "buildspec",
    "image",
    "serviceRole",
    "privilegedMode",
    "environmentVariables",
)
_UNRESOLVED: Final = "$unresolved"
_OTHER: Final = "other"
_HIDDEN: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
# Members that every UpdateProject of ``source``/``environment`` re-sends (required,
# or structural): not worth a PW902 each time. Other members are reported when set.
_RESENT: Final = frozenset({"type", "computeType", "location", "imagePullCredentialsType"})


def _v(value: Value | None) -> Any:
    return {_UNRESOLVED: value.expr} if isinstance(value, Unresolved) else value


def _is_inline(text: str) -> bool:
    from pipewarden.rules._api import is_inline_buildspec

    return is_inline_buildspec(text)


def _buildspec(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {"origin": "default"}
    if isinstance(value, str):
        return {"origin": "inline" if _is_inline(value) else "file", "value": value}
    return {"origin": "unresolved", "value": value}


def _variables(items: Sequence[tuple[str, Any, str]]) -> list[dict[str, Any]]:
    out = [
        {"name": name, "type": (kind or "PLAINTEXT").upper(), "value": value}
        for name, value, kind in items
    ]
    return sorted(out, key=lambda v: str(v["name"]))


def project_state(project: CodeBuildProject) -> dict[str, Any]:
    """The baselined state of a project read from any input."""
    return {
        "name": project.name,
        "buildspec": _buildspec(_v(project.buildspec)),
        "image": _v(project.image),
        "serviceRole": _v(project.service_role),
        "privilegedMode": project.privileged,
        "environmentVariables": _variables(
            [(e.name, _v(e.value), e.type) for e in project.environment_variables]
        ),
    }


def request_state(request: Mapping[str, Any]) -> dict[str, Any]:
    """The state an ``UpdateProject`` call sets (only the fields it sends; ``source``
    and ``environment`` replace the whole structure, so what they omit is reset)."""
    out: dict[str, Any] = {}
    other: dict[str, Any] = {}
    for key, value in request.items():
        if key == "name":
            continue
        if key == "source" and isinstance(value, Mapping):
            out["buildspec"] = _buildspec(value.get("buildspec"))
            rest = _set_members(value, {"buildspec"})
            if rest:
                other["source"] = rest
        elif key == "environment" and isinstance(value, Mapping):
            out["image"] = value.get("image")
            out["privilegedMode"] = bool(value.get("privilegedMode", False))
            variables = value.get("environmentVariables") or []
            out["environmentVariables"] = _variables(
                [
                    (str(v.get("name", "")), v.get("value"), str(v.get("type") or "PLAINTEXT"))
                    for v in variables
                    if isinstance(v, Mapping)
                ]
            )
            rest = _set_members(value, {"image", "privilegedMode", "environmentVariables"})
            if rest:
                other["environment"] = rest
        elif key == "serviceRole":
            out["serviceRole"] = value
        else:
            other[key] = value
    if other:
        out[_OTHER] = other
    return out


def _set_members(structure: Mapping[str, Any], baselined: set[str]) -> dict[str, Any]:
    """Members of ``structure`` outside the baseline that say something: not the
    re-sent structural ones, not false, empty or absent."""
    return {
        k: v
        for k, v in structure.items()
        if k not in baselined and k not in _RESENT and v not in (None, False, "", [], {}, 0)
    }


def seal_project(state: Mapping[str, Any], sealer: Sealer) -> dict[str, Any]:
    """``state`` with its secrets sealed: plaintext variable values, an inline
    buildspec holding one, and any other value whose text holds one."""
    out = dict(state)
    variables = state.get("environmentVariables")
    if isinstance(variables, list):
        out["environmentVariables"] = [
            {**v, "value": sealer.value(str(v.get("name", "")), v.get("value"))}
            if isinstance(v, Mapping) and v.get("type") == "PLAINTEXT" and v.get("value") != _HIDDEN
            else v
            for v in variables
        ]
    spec = state.get("buildspec")
    if isinstance(spec, Mapping) and isinstance(spec.get("value"), str):
        out["buildspec"] = {**spec, "value": sealer.text(spec["value"])}
    other = state.get(_OTHER)
    if isinstance(other, Mapping):
        sealed_other: dict[str, Any] = {}
        for key, value in other.items():
            text = json.dumps(value, sort_keys=True)
            sealed = sealer.text(text)
            sealed_other[key] = value if sealed == text else sealed
        out[_OTHER] = sealed_other
    return out


def project_key(name: str, *, arn: str | None, account: str | None, region: str | None) -> str:
    """The key a project's baseline is stored under: its ARN when known."""
    if arn:
        return arn
    if account and region:
        return f"arn:aws:codebuild:{region}:{account}:project/{name}"
    return name


class ProjectUse:
    """A project and the keys of the pipelines that run it."""

    __slots__ = ("key", "pipelines", "project")

    def __init__(self, key: str, project: CodeBuildProject) -> None:
        self.key = key
        self.project = project
        self.pipelines: list[str] = []


def projects_used(
    inventories: Sequence[Inventory], key_of: Any
) -> tuple[dict[str, ProjectUse], list[tuple[str, str]]]:
    """The CodeBuild projects the pipelines of ``inventories`` run (by project key),
    and the (pipeline key, project name) pairs whose project the input lacks.
    ``key_of`` gives a pipeline's key."""
    used: dict[str, ProjectUse] = {}
    missing: list[tuple[str, str]] = []
    for inventory in inventories:
        for pipeline in inventory.pipelines:
            inv = inventory.for_pipeline(pipeline)
            pkey = str(key_of(pipeline))
            for name in _project_names(pipeline):
                project = inv.codebuild_project(name)
                if isinstance(project, Gap):
                    missing.append((pkey, name))
                    continue
                key = project_key(
                    project.name,
                    arn=project.arn,
                    account=project.account or pipeline.account,
                    region=pipeline.region,
                )
                use = used.setdefault(key, ProjectUse(key, project))
                if pkey not in use.pipelines:
                    use.pipelines.append(pkey)
    return used, missing


def _project_names(pipeline: Pipeline) -> Iterator[str]:
    seen: set[str] = set()
    for action in pipeline.actions():
        if action.provider != "CodeBuild":
            continue
        name = action.config("ProjectName")
        if isinstance(name, str) and name and name not in seen:
            seen.add(name)
            yield name


def project_changes(
    name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> list[Change]:
    """Changes from the approved state ``old`` (None: none approved) to ``new``
    (possibly partial), weakenings first. Pointers are ``/codebuild/<name>/<field>``."""
    base = f"/codebuild/{escape_token(name)}"
    before: Mapping[str, Any] = old or {}
    unbaselined = "" if old is not None else f" (no approved baseline of project `{name}`)"
    weak: list[Change] = []
    rest: list[Change] = []

    def add(change: Change) -> None:
        (weak if change.rule_id == WEAKENING else rest).append(change)

    if "buildspec" in new and new["buildspec"] != before.get("buildspec"):
        was, now = before.get("buildspec") or {}, new["buildspec"]
        moved_inline = now.get("origin") == "inline" and was.get("origin") != "inline"
        add(
            Change(
                f"{base}/buildspec",
                was or None,
                now,
                WEAKENING if moved_inline else UNREVIEWED,
                (
                    f"buildspec of project `{name}` is now inline: its commands no longer come "
                    "from reviewed source, whoever can update the project writes them"
                    if moved_inline
                    else f"buildspec of project `{name}` changed"
                )
                + unbaselined,
            )
        )
    if "privilegedMode" in new and new["privilegedMode"] != before.get("privilegedMode"):
        on = new["privilegedMode"] is True and before.get("privilegedMode") is not True
        add(
            Change(
                f"{base}/privilegedMode",
                before.get("privilegedMode"),
                new["privilegedMode"],
                WEAKENING if on else UNREVIEWED,
                (
                    f"builds of project `{name}` now run privileged (Docker daemon, root on "
                    "the build host)"
                    if on
                    else f"privileged mode of project `{name}` changed"
                )
                + unbaselined,
            )
        )
    if "serviceRole" in new and new["serviceRole"] != before.get("serviceRole"):
        add(
            Change(
                f"{base}/serviceRole",
                before.get("serviceRole"),
                new["serviceRole"],
                WEAKENING,
                f"service role of project `{name}` changed: its builds now run as a principal "
                "the baseline did not approve" + unbaselined,
            )
        )
    if "image" in new and new["image"] != before.get("image"):
        add(
            Change(
                f"{base}/image",
                before.get("image"),
                new["image"],
                UNREVIEWED,
                f"build image of project `{name}` changed" + unbaselined,
            )
        )
    if "environmentVariables" in new:
        _variable_changes(name, base, before.get("environmentVariables"), new, add, unbaselined)
    for key, value in sorted((new.get(_OTHER) or {}).items()):
        add(
            Change(
                f"{base}/{escape_token(key)}",
                None,
                value,
                UNREVIEWED,
                f"project `{name}` setting `{key}` set (not part of the baseline)",
            )
        )
    return weak + rest


def _variable_changes(
    name: str,
    base: str,
    old_vars: Any,
    new: Mapping[str, Any],
    add: Any,
    unbaselined: str,
) -> None:
    def by_name(items: Any) -> dict[str, Mapping[str, Any]]:
        return {
            str(v.get("name")): v for v in items or [] if isinstance(v, Mapping) and v.get("name")
        }

    was, now = by_name(old_vars), by_name(new["environmentVariables"])
    for var_name in sorted(set(was) | set(now)):
        o, n = was.get(var_name), now.get(var_name)
        pointer = f"{base}/environmentVariables/{escape_token(var_name)}"
        if n is None:
            add(Change(pointer, o, None, UNREVIEWED, f"variable `{var_name}` of `{name}` removed"))
            continue
        plaintext = n.get("type") == "PLAINTEXT"
        if o is None or (plaintext and o.get("type") != "PLAINTEXT"):
            what = "added" if o is None else "turned plaintext"
            add(
                Change(
                    pointer,
                    o,
                    n,
                    WEAKENING if plaintext else UNREVIEWED,
                    (
                        f"plaintext environment variable `{var_name}` {what} in project `{name}`: "
                        "its value is readable by anyone who can read the project"
                        if plaintext
                        else f"variable `{var_name}` added to project `{name}`"
                    )
                    + unbaselined,
                )
            )
            continue
        hidden = _HIDDEN in (o.get("value"), n.get("value"))
        if o.get("type") != n.get("type") or (not hidden and o.get("value") != n.get("value")):
            add(Change(pointer, o, n, UNREVIEWED, f"variable `{var_name}` of `{name}` changed"))
