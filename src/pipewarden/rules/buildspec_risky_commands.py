"""Detects build commands that run downloaded scripts, install unpinned packages or disable TLS checks.

## Rationale
Three habits hand a build to whoever controls a network location:

* piping a download into a shell (`curl … | sh`, `wget -O- … | bash`,
  `iwr … | iex`) runs whatever the server returns today, with the build's
  role and secrets;
* installing packages without a version (`pip install requests`,
  `npm install -g serverless`, `gem install bundler`, `go install …@latest`)
  takes whatever was published last, including a hijacked release;
* disabling TLS verification (`curl -k`, `wget --no-check-certificate`,
  `pip --trusted-host`, `npm config set strict-ssl false`,
  `git -c http.sslVerify=false`, `NODE_TLS_REJECT_UNAUTHORIZED=0`,
  `PYTHONHTTPSVERIFY=0`) lets anyone on the path substitute the download.

The rule reads inline project buildspecs, inline `BuildspecOverride` values
and the `commands` of Commands actions and rules. A buildspec kept in the
source repository (the default `buildspec.yml`) or in S3 is not visible to
PipeWarden, so for those the result is unknown, not pass.

## Remediation
Download installers to a file, check a published checksum or signature, then
run them; better, bake tools into a build image pinned by digest (PW505).
Pin every package (`pip install requests==2.32.3`, or `pip install
--require-hashes -r requirements.txt`; `npm install -g serverless@3.39.0`;
`gem install bundler -v 2.5.22`; `go install example.com/tool@v1.4.2`).
Never disable certificate checks: add the private CA to the trust store
instead.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from functools import lru_cache
from typing import Final

from pipewarden.model import Finding, Severity
from pipewarden.rules._api import CicdSec, Rule, RuleContext, RuleMeta, fail
from pipewarden.rules._build import scripts

META = RuleMeta(
    id="PW704",
    slug="buildspec-risky-commands",
    title="Build pipes downloads to a shell, installs unpinned packages or skips TLS checks",
    severity=Severity.MEDIUM,
    cicd_sec=(CicdSec.SEC_3,),
    references=(
        "https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html",
        "https://pip.pypa.io/en/stable/topics/secure-installs/",
    ),
    needs=frozenset({"codebuild-project"}),
)

_DOWNLOADER: Final = r"(curl|wget|iwr|irm|Invoke-WebRequest|Invoke-RestMethod)"
_SHELL: Final = r"(?:sudo\s+(?:-\S+\s+)*)?((?:ba|z|da|k|fi)?sh|python[0-9.]*|perl|ruby|node|iex|Invoke-Expression|pwsh|powershell)"
_PIPE_TO_SHELL: Final = (
    re.compile(rf"\b{_DOWNLOADER}\b[^\n]*?(?<!\|)\|(?!\|)\s*{_SHELL}(?![\w.-])", re.IGNORECASE),
    re.compile(rf"\b((?:ba|z)?sh)\s+<\(\s*{_DOWNLOADER}\b", re.IGNORECASE),
    re.compile(rf"\b((?:ba|z)?sh)\s+-c\s+[\"']?\$\(\s*{_DOWNLOADER}\b", re.IGNORECASE),
    re.compile(
        r"\b(iex|Invoke-Expression)\s*[\(\s]*\(?\s*(iwr|irm|Invoke-WebRequest|Invoke-RestMethod|New-Object\s+Net\.WebClient)",
        re.IGNORECASE,
    ),
)

_TLS_OFF: Final = (
    (re.compile(r"\bcurl\b[^\n|;&]*?\s(?:--insecure\b|-[A-Za-z]*k[A-Za-z]*(?=\s|$))"), "`curl -k`"),
    (re.compile(r"\bwget\b[^\n|;&]*?--no-check-certificate\b"), "`wget --no-check-certificate`"),
    (re.compile(r"\bpip[0-9.]*\b[^\n|;&]*?--trusted-host\b"), "`pip --trusted-host`"),
    (
        re.compile(r"\b(?:npm|yarn|pnpm)\s+config\s+set\s+strict-ssl\s+false\b"),
        "`strict-ssl false`",
    ),
    (re.compile(r"--strict-ssl(?:=|\s+)false\b"), "`--strict-ssl=false`"),
    (
        re.compile(r"http\.sslVerify\s*[= ]\s*[\"']?false\b", re.IGNORECASE),
        "`http.sslVerify=false`",
    ),
    (
        re.compile(r"\bGIT_SSL_NO_VERIFY\s*[=:]\s*[\"']?(?:1|true)\b", re.IGNORECASE),
        "`GIT_SSL_NO_VERIFY`",
    ),
    (
        re.compile(r"\bNODE_TLS_REJECT_UNAUTHORIZED\s*[=:]\s*[\"']?0\b"),
        "`NODE_TLS_REJECT_UNAUTHORIZED=0`",
    ),
    (re.compile(r"\bPYTHONHTTPSVERIFY\s*[=:]\s*[\"']?0\b"), "`PYTHONHTTPSVERIFY=0`"),
    (re.compile(r"\s--no-verify-ssl\b"), "`--no-verify-ssl`"),
    (re.compile(r"\s--insecure-skip-tls-verify\b(?!\s*=\s*false)"), "`--insecure-skip-tls-verify`"),
)

_SEGMENT_END: Final = re.compile(r"&&|\|\||[;|]")
_PIP: Final = re.compile(r"\b(?:pip[0-9.]*|python[0-9.]*\s+-m\s+pip)\s+install\b")
_NPM: Final = re.compile(
    r"\b(?:npm\s+(?:install|i|add)|pnpm\s+(?:add|install|i)|yarn\s+global\s+add)\b"
)
_GEM: Final = re.compile(r"\bgem\s+install\b")
_GO: Final = re.compile(r"\bgo\s+install\b")

_PIP_VALUE_FLAGS: Final = frozenset(
    {
        "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links",
        "--trusted-host", "-t", "--target", "--prefix", "--root", "--src", "--platform",
        "--python-version", "--implementation", "--abi", "--only-binary", "--no-binary",
        "--progress-bar", "--cache-dir", "--log", "--proxy", "--retries", "--timeout",
        "--exists-action", "--cert", "--client-cert", "--upgrade-strategy", "--global-option",
        "--config-settings", "-C", "--report",
    }
)  # fmt: skip
_PIP_FILE_FLAGS: Final = frozenset({"-r", "--requirement", "-e", "--editable"})
_NPM_VALUE_FLAGS: Final = frozenset(
    {"--prefix", "--registry", "--cache", "--tag", "-w", "--workspace"}
)
_GEM_VALUE_FLAGS: Final = frozenset(
    {"-i", "--install-dir", "-n", "--bindir", "--source", "-s", "-P", "--trust-policy"}
)
_FLOATING_GO: Final = frozenset({"latest", "master", "main", "head", "upgrade", "patch"})
_FLOATING_NPM: Final = frozenset({"latest", "next", "*", "x", ""})


def _args(line: str, match: re.Match[str]) -> list[str]:
    rest = line[match.end() :]
    end = _SEGMENT_END.search(rest)
    if end:
        rest = rest[: end.start()]
    try:
        return shlex.split(rest, comments=False)
    except ValueError:
        return rest.split()


def _positionals(args: list[str], value_flags: frozenset[str]) -> Iterator[tuple[str, str | None]]:
    """(argument, the flag it belongs to or None for a positional)."""
    pending: str | None = None
    for arg in args:
        if pending is not None:
            yield arg, pending
            pending = None
            continue
        if arg.startswith("-"):
            if "=" not in arg and arg in value_flags:
                pending = arg
            else:
                yield arg, "*flag*"
            continue
        yield arg, None


def _local_or_variable(arg: str) -> bool:
    return (
        arg.startswith((".", "/", "~", "$", "%", "#{"))
        or arg.endswith((".whl", ".tar.gz", ".zip", ".tgz", ".gem"))
        or "://" in arg
        or "${" in arg
    )


def _pip(args: list[str]) -> list[str]:
    value_flags = _PIP_VALUE_FLAGS | _PIP_FILE_FLAGS
    if "--require-hashes" in args:
        return []
    out = []
    for arg, flag in _positionals(args, value_flags):
        if flag is not None or _local_or_variable(arg):
            continue
        if "==" not in arg and "@" not in arg:
            out.append(arg)
    return out


def _npm(args: list[str], always_global: bool) -> list[str]:
    if not always_global and not ({"-g", "--global", "--location=global"} & set(args)):
        return []
    out = []
    for arg, flag in _positionals(args, _NPM_VALUE_FLAGS):
        if flag is not None or _local_or_variable(arg):
            continue
        name = arg[1:] if arg.startswith("@") else arg
        version = name.split("@", 1)[1] if "@" in name else ""
        if version.lower() in _FLOATING_NPM or version.startswith(("^", "~", ">", "<")):
            out.append(arg)
    return out


def _gem(args: list[str]) -> list[str]:
    if {"-v", "--version"} & set(args) or any(a.startswith("--version=") for a in args):
        return []
    return [
        arg
        for arg, flag in _positionals(args, _GEM_VALUE_FLAGS | {"-v", "--version"})
        if flag is None and not _local_or_variable(arg) and ":" not in arg
    ]


def _go(args: list[str]) -> list[str]:
    out = []
    for arg, flag in _positionals(args, frozenset({"-o", "-modfile", "-tags"})):
        if flag is None and "@" in arg and arg.rsplit("@", 1)[1].lower() in _FLOATING_GO:
            out.append(arg)
    return out


def _unpinned(line: str) -> list[str]:
    found: list[str] = []
    for match in _PIP.finditer(line):
        found.extend(f"`pip install {name}`" for name in _pip(_args(line, match)))
    for match in _NPM.finditer(line):
        always_global = match.group(0).startswith("yarn")
        verb = "yarn global add" if always_global else f"{match.group(0).split()[0]} install -g"
        found.extend(f"`{verb} {name}`" for name in _npm(_args(line, match), always_global))
    for match in _GEM.finditer(line):
        found.extend(f"`gem install {name}`" for name in _gem(_args(line, match)))
    for match in _GO.finditer(line):
        found.extend(f"`go install {name}`" for name in _go(_args(line, match)))
    return found


@lru_cache(maxsize=4096)
def _risks(text: str) -> tuple[str, ...]:
    return tuple(risks(text))


def risks(text: str) -> list[str]:
    """Descriptions of the risky commands in a script or buildspec (empty when none)."""
    piped: list[str] = []
    unpinned: list[str] = []
    tls: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for pattern in _PIPE_TO_SHELL:
            match = pattern.search(line)
            if match:
                first, second = match.group(1), match.group(2)
                source, sink = (
                    (second, first) if pattern is not _PIPE_TO_SHELL[0] else (first, second)
                )
                piped.append(f"`{source.split()[0]} … | {sink}`")
                break
        unpinned.extend(_unpinned(line))
        tls.extend(label for pattern, label in _TLS_OFF if pattern.search(line))
    out = []
    if piped:
        out.append("pipes a download into a shell (" + ", ".join(dict.fromkeys(piped)) + ")")
    if unpinned:
        out.append("installs unpinned packages (" + ", ".join(dict.fromkeys(unpinned)) + ")")
    if tls:
        out.append("disables TLS verification (" + ", ".join(dict.fromkeys(tls)) + ")")
    return out


def check(ctx: RuleContext) -> Iterator[Finding]:
    found, gaps = scripts(ctx)
    for script in found:
        problems = _risks(script.text)
        if problems:
            yield fail(
                script.loc,
                f"{script.label} " + "; ".join(problems),
                stage=script.stage,
                action=script.action,
            )
    yield from gaps


RULE = Rule(META, check, __doc__ or "")
