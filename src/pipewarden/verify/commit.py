"""Verify a commit's signature with git itself, and say who signed it.

The check runs the real ``git verify-commit --raw`` in a controlled
environment and reads the status it prints; it never parses signatures
itself. What it trusts is only what it is given:

* SSH signatures: the principals and keys of an allowed-signers file
  (``gpg.ssh.allowedSignersFile``, the ``ssh-keygen -Y`` format), including its
  ``valid-after``/``valid-before`` windows and ``namespaces="git"``;
* OpenPGP signatures: the public keys of a keyring (a GnuPG home directory or an
  exported key file), copied into a private, throw-away GnuPG home so the check
  cannot change it and never reaches a key server;
* X.509 signatures (gitsign, ``gpgsm``) are reported and rejected: checking a
  gitsign certificate needs its transparency-log entry, which cannot be done
  offline from a trust root alone.

Git runs with no system or global configuration (``GIT_CONFIG_NOSYSTEM``,
``GIT_CONFIG_GLOBAL=/dev/null``, a private ``HOME``), no replace objects, the C
locale, and with the signature programs and trust options fixed on its command
line, so neither the user's nor the repository's configuration can change the
verdict. Every failure, including git missing or a timeout, is a result with
``verified=False`` and a reason; this module does not raise for them.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

__all__ = ["DEFAULT_TIMEOUT", "CommitVerification", "verify_commit"]

DEFAULT_TIMEOUT: Final = 60.0
"""Seconds any one git or gpg process may run."""

_MAX_COMMIT_OBJECT: Final = 8 * 1024 * 1024
_MAX_REVISION: Final = 256
_MAX_DETAIL: Final = 300
_HEX_ID: Final = re.compile(r"\A(?:[0-9a-f]{40}|[0-9a-f]{64})\Z")
_ARMOR: Final = {
    b"-----BEGIN PGP SIGNATURE-----": "gpg",
    b"-----BEGIN SSH SIGNATURE-----": "ssh",
    b"-----BEGIN SIGNED MESSAGE-----": "x509",
}
# ssh-keygen -Y verify, as relayed by git: the principal comes from the allowed-signers file.
_SSH_GOOD: Final = re.compile(
    r'^Good "git" signature for (?P<principal>.+) with (?P<algo>\S+) key (?P<fp>SHA256:[A-Za-z0-9+/=]+)$',
    re.MULTILINE,
)
_SSH_GOOD_UNKNOWN: Final = re.compile(
    r'^Good "git" signature with (?P<algo>\S+) key (?P<fp>SHA256:[A-Za-z0-9+/=]+)$', re.MULTILINE
)
_GPG_STATUS: Final = re.compile(
    r"^\[GNUPG:\] (?P<keyword>[A-Z_]+)(?: (?P<args>.*))?$", re.MULTILINE
)
# OpenPGP hash algorithm ids too weak to accept for a signature: MD5, SHA-1, RIPEMD-160.
_WEAK_HASHES: Final = frozenset({"1", "2", "3"})
_KEYRING_FILES: Final = ("pubring.kbx", "pubring.gpg", "trustdb.gpg")
_GPG_CONF: Final = "no-autostart\nno-auto-key-retrieve\nno-auto-key-locate\n"


@dataclass(frozen=True, slots=True)
class CommitVerification:
    """The outcome of one check: what was looked at, who signed, and the verdict."""

    revision: str
    verified: bool
    reason: str
    commit: str | None = None
    tree: str | None = None
    signature_type: str | None = None
    key_id: str | None = None
    signer: str | None = None
    branch: str | None = None
    branch_ref: str | None = None

    def record(self, *, verified_at: str, context: Mapping[str, str]) -> dict[str, Any]:
        """The evidence record (see docs/verifiers.md): one JSON object."""
        return {
            "verifier": "verify-commit",
            "revision": self.revision,
            "commit": self.commit,
            "tree": self.tree,
            "signature_type": self.signature_type,
            "key_id": self.key_id,
            "signer": self.signer,
            "branch": self.branch,
            "branch_ref": self.branch_ref,
            "verified": self.verified,
            "reason": self.reason,
            "verified_at": verified_at,
            "context": dict(context),
        }


class _Failed(Exception):
    """Stops a check: the commit is not verified, for ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _KeyFailed(_Failed):
    """A failure that still identifies the signing key."""

    def __init__(self, reason: str, key_id: str | None, signer: str | None = None) -> None:
        super().__init__(reason)
        self.key_id = key_id
        self.signer = signer


class _BranchFailed(_Failed):
    def __init__(self, reason: str, ref: str) -> None:
        super().__init__(reason)
        self.ref = ref


@dataclass(frozen=True, slots=True)
class _Done:
    returncode: int
    stdout: bytes
    stderr: bytes


def _run(argv: Sequence[str], env: Mapping[str, str], timeout: float, what: str) -> _Done:
    """Run one program without a shell; on timeout its whole process group is killed."""
    try:
        process = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: gpg/ssh-keygen die with it
        )
    except OSError as exc:
        raise _Failed(f"could not run {what}: {exc.strerror or exc}") from None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise _Failed(f"{what} did not finish within {timeout:g}s") from None
    return _Done(process.returncode, stdout, stderr)


@dataclass(frozen=True, slots=True)
class _Git:
    """Runs git in the repository with a fixed, isolated environment."""

    executable: str
    repo: Path
    env: dict[str, str]
    timeout: float

    def run(self, *args: str) -> _Done:
        command = next(
            (a for i, a in enumerate(args) if a != "-c" and (i == 0 or args[i - 1] != "-c")), ""
        )
        argv = [self.executable, "-C", str(self.repo), *args]
        return _run(argv, self.env, self.timeout, f"git {command}".strip())


def _detail(output: bytes) -> str:
    """The first meaningful line of a tool's output, short and single-line."""
    for raw in output.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line and not line.startswith("[GNUPG:]"):
            line = line.removeprefix("fatal: ").removeprefix("error: ")
            return line if len(line) <= _MAX_DETAIL else line[:_MAX_DETAIL] + "..."
    return "no output"


def _isolated_env(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """Only what git needs: PATH from the caller, everything else fixed."""
    return {
        "PATH": environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GNUPGHOME": str(home / "gnupg"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_NO_REPLACE_OBJECTS": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_OPTIONAL_LOCKS": "0",
        "GIT_PAGER": "cat",
        "LC_ALL": "C",
        "LANG": "C",
    }


def _check_revision(revision: str) -> None:
    if not revision or len(revision) > _MAX_REVISION:
        raise _Failed(f"revision must be 1 to {_MAX_REVISION} characters")
    if revision.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in revision):
        raise _Failed("revision must not start with '-' or contain control characters")


def _resolve(git: _Git, revision: str) -> str:
    done = git.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    commit = done.stdout.decode("ascii", "replace").strip()
    if done.returncode != 0 or not _HEX_ID.match(commit):
        if b"hash mismatch" in done.stderr:
            raise _Failed(
                f"the object {revision!r} names does not hash to its id (the object was altered)"
            )
        shallow = git.run("rev-parse", "--is-shallow-repository")
        if shallow.returncode != 0:
            raise _Failed(f"not a git repository: {_detail(shallow.stderr)}")
        if shallow.stdout.strip() == b"true":
            raise _Failed(
                f"revision {revision!r} does not resolve to a commit in this shallow clone "
                "(the commit may be outside the fetched history; use a full clone)"
            )
        raise _Failed(f"revision {revision!r} does not resolve to a commit")
    return commit


def _read_commit(git: _Git, commit: str) -> bytes:
    """The commit object, checked against its id (an object altered in place is caught)."""
    size = git.run("cat-file", "-s", commit)
    try:
        length = int(size.stdout.strip())
    except ValueError:
        raise _Failed(f"cannot read commit {commit}: {_detail(size.stderr)}") from None
    if length > _MAX_COMMIT_OBJECT:
        raise _Failed(f"commit object is {length} bytes, over the {_MAX_COMMIT_OBJECT} limit")
    body = git.run("cat-file", "commit", commit)
    if body.returncode != 0:
        raise _Failed(f"cannot read commit {commit}: {_detail(body.stderr)}")
    algorithm = "sha256" if len(commit) == 64 else "sha1"
    digest = hashlib.new(algorithm, b"commit %d\0" % len(body.stdout) + body.stdout).hexdigest()
    if digest != commit:
        raise _Failed(f"commit object {commit} does not hash to its id (the object was altered)")
    return body.stdout


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    """The commit header fields in order, continuation lines joined with newlines."""
    head = body.split(b"\n\n", 1)[0]
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\n"):
        if line.startswith(b" ") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\n" + line[1:])
        else:
            name, _, value = line.partition(b" ")
            fields.append((name, value))
    return fields


def _signature(fields: Sequence[tuple[bytes, bytes]], commit: str) -> tuple[str, bytes]:
    """(``none``/``ssh``/``gpg``/``x509``, armored signature) from the header git will verify."""
    wanted = b"gpgsig-sha256" if len(commit) == 64 else b"gpgsig"
    signatures = [value for name, value in fields if name == wanted]
    if not signatures:
        return "none", b""
    if len(signatures) > 1:
        raise _Failed("commit carries more than one signature header")
    first = signatures[0].split(b"\n", 1)[0].strip()
    kind = _ARMOR.get(first)
    if kind is None:
        raise _Failed("commit signature is in an unrecognised format")
    return kind, signatures[0]


def _ssh_claimed_key(armored: bytes) -> str | None:
    """The fingerprint of the public key an SSH signature *claims* (not a verdict), if readable."""
    lines = [line.strip() for line in armored.split(b"\n")]
    try:
        blob = base64.b64decode(b"".join(line for line in lines if not line.startswith(b"-----")))
    except ValueError:
        return None
    # SSHSIG: 6-byte magic, uint32 version, then the public key as a length-prefixed string.
    if len(blob) < 14 or blob[:6] != b"SSHSIG":
        return None
    size = int.from_bytes(blob[10:14], "big")
    key = blob[14 : 14 + size]
    if len(key) != size or not key:
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(key).digest()).decode("ascii").rstrip("=")


def _verify_ssh(
    git: _Git, commit: str, allowed_signers: Path, claimed: str | None
) -> tuple[str | None, str | None]:
    """(key fingerprint, principal) of a valid, allowed SSH signature; _Failed otherwise."""
    if not allowed_signers.is_file():
        raise _Failed(f"allowed signers file {allowed_signers} does not exist")
    done = git.run(
        "-c",
        f"gpg.ssh.allowedSignersFile={allowed_signers}",
        "-c",
        "gpg.ssh.program=ssh-keygen",
        "-c",
        "gpg.ssh.revocationFile=",
        "verify-commit",
        "--raw",
        commit,
    )
    text = (done.stdout + b"\n" + done.stderr).decode("utf-8", "replace")
    good = _SSH_GOOD.search(text)
    if done.returncode == 0 and good is not None:
        return good["fp"], good["principal"]
    unknown = _SSH_GOOD_UNKNOWN.search(text)
    fingerprint = good["fp"] if good else (unknown["fp"] if unknown else claimed)
    key = f"SSH key {fingerprint}" if fingerprint else "the SSH key"
    if "incorrect signature" in text:
        raise _KeyFailed(
            "bad signature: the commit content does not match its SSH signature", fingerprint
        )
    if "key has expired" in text or "key is not yet valid" in text:
        raise _KeyFailed(
            f"{key} is outside its validity window in the allowed signers file", fingerprint
        )
    if "not permitted for use in signature namespace" in text:
        raise _KeyFailed(f"{key} is not allowed to sign git commits (namespaces)", fingerprint)
    if "No principal matched" in text:
        raise _KeyFailed(f"{key} is not in the allowed signers file", fingerprint)
    raise _KeyFailed(f"SSH signature not verified: {_detail(done.stderr)}", fingerprint)


def _prepare_gnupg(home: Path, keyring: Path, git: _Git) -> None:
    """A private GnuPG home holding only the public keys (and trust) of ``keyring``."""
    gnupg = home / "gnupg"
    gnupg.mkdir(mode=0o700)
    (gnupg / "gpg.conf").write_text(_GPG_CONF, encoding="ascii")
    if keyring.is_dir():
        copied = 0
        for name in _KEYRING_FILES:
            source = keyring / name
            if source.is_file():
                shutil.copyfile(source, gnupg / name)
                copied += name != "trustdb.gpg"
        if not copied:
            raise _Failed(
                f"GnuPG home {keyring} has no public keyring (pubring.kbx or pubring.gpg)"
            )
        return
    if not keyring.is_file():
        raise _Failed(f"GPG keyring {keyring} does not exist")
    gpg = shutil.which("gpg", path=git.env["PATH"])
    if gpg is None:
        raise _Failed("gpg is not installed (not found on PATH)")
    done = _run(
        [gpg, "--batch", "--no-tty", "--import", "--", str(keyring)],
        git.env,
        git.timeout,
        "gpg --import",
    )
    if done.returncode != 0:
        raise _Failed(f"cannot import GPG keyring {keyring}: {_detail(done.stderr)}")


def _gpg_status(text: str) -> dict[str, list[list[str]]]:
    status: dict[str, list[list[str]]] = {}
    for match in _GPG_STATUS.finditer(text):
        status.setdefault(match["keyword"], []).append((match["args"] or "").split(" "))
    return status


def _verify_gpg(git: _Git, commit: str) -> tuple[str | None, str | None]:
    """(signing key fingerprint, user id) of a valid OpenPGP signature; _Failed otherwise."""
    done = git.run(
        "-c",
        "gpg.program=gpg",
        "-c",
        "gpg.minTrustLevel=undefined",
        "verify-commit",
        "--raw",
        commit,
    )
    text = (done.stdout + b"\n" + done.stderr).decode("utf-8", "replace")
    status = _gpg_status(text)

    def uid(keyword: str) -> str | None:
        args = status[keyword][0]
        return " ".join(args[1:]) or None

    validsig = status.get("VALIDSIG", [[]])[0]
    fingerprint = validsig[0] if validsig else None
    long_id = next(
        (
            status[k][0][0]
            for k in (
                "GOODSIG",
                "EXPSIG",
                "EXPKEYSIG",
                "REVKEYSIG",
                "BADSIG",
                "ERRSIG",
                "NO_PUBKEY",
            )
            if k in status and status[k][0]
        ),
        None,
    )
    key_id = fingerprint or long_id
    if len(status.get("NEWSIG", [])) > 1:
        raise _KeyFailed("commit carries more than one OpenPGP signature", key_id)
    if "BADSIG" in status:
        raise _KeyFailed(
            "bad signature: the commit content does not match its OpenPGP signature",
            key_id,
            uid("BADSIG"),
        )
    if "NO_PUBKEY" in status or "ERRSIG" in status:
        if "NO_PUBKEY" in status:
            raise _KeyFailed(f"OpenPGP key {key_id} is not in the keyring", key_id)
        raise _KeyFailed(f"OpenPGP signature could not be checked: {_detail(done.stderr)}", key_id)
    if "REVKEYSIG" in status:
        raise _KeyFailed(f"OpenPGP key {key_id} is revoked", key_id, uid("REVKEYSIG"))
    if "EXPKEYSIG" in status:
        raise _KeyFailed(f"OpenPGP key {key_id} has expired", key_id, uid("EXPKEYSIG"))
    if "EXPSIG" in status:
        raise _KeyFailed("OpenPGP signature has expired", key_id, uid("EXPSIG"))
    if "TRUST_NEVER" in status:
        raise _KeyFailed(f"OpenPGP key {key_id} is marked never-trusted in the keyring", key_id)
    if "GOODSIG" not in status or fingerprint is None:
        raise _KeyFailed(f"OpenPGP signature not verified: {_detail(done.stderr)}", key_id)
    if len(validsig) > 7 and validsig[7] in _WEAK_HASHES:
        raise _KeyFailed("OpenPGP signature uses a weak hash algorithm", key_id, uid("GOODSIG"))
    if done.returncode != 0:
        raise _KeyFailed(f"git rejected the signature: {_detail(done.stderr)}", key_id)
    return fingerprint, uid("GOODSIG")


def _branch_ref(git: _Git, name: str) -> tuple[str, str]:
    """(ref, tip commit) for ``name``: ``refs/...`` as given, else origin's branch, else local."""
    if not name or name.startswith("-") or any(ord(c) <= 0x20 or c == "\x7f" for c in name):
        raise _Failed(f"branch name {name!r} is not valid")
    if name.startswith("refs/"):
        candidates = [name]
    else:
        candidates = [f"refs/remotes/origin/{name}", f"refs/heads/{name}"]
    for ref in candidates:
        done = git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        tip = done.stdout.decode("ascii", "replace").strip()
        if done.returncode == 0 and _HEX_ID.match(tip):
            return ref, tip
    raise _Failed(f"branch {name!r} not found (looked for {', '.join(candidates)})")


def _check_branch(git: _Git, commit: str, name: str) -> str:
    ref, tip = _branch_ref(git, name)
    if tip == commit:
        return ref
    done = git.run("merge-base", "--is-ancestor", commit, tip)
    if done.returncode == 0:
        return ref
    if done.returncode == 1:
        shallow = git.run("rev-parse", "--is-shallow-repository").stdout.strip() == b"true"
        hint = (
            " (the clone is shallow: history may be missing; use a full clone)" if shallow else ""
        )
        raise _BranchFailed(f"commit is not reachable from {ref}{hint}", ref)
    raise _BranchFailed(f"cannot check reachability from {ref}: {_detail(done.stderr)}", ref)


def verify_commit(
    repo: Path,
    revision: str,
    *,
    allowed_signers: Path | None = None,
    gpg_keyring: Path | None = None,
    require_branch: str | None = None,
    environ: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> CommitVerification:
    """Check that ``revision`` in ``repo`` is a commit with a valid signature by an allowed signer.

    ``allowed_signers`` trusts SSH keys; ``gpg_keyring`` (a GnuPG home directory
    or a file of exported public keys) trusts OpenPGP keys; give one or both.
    ``require_branch`` also requires the commit to be the tip of, or reachable
    from, that branch (``refs/...`` as given; otherwise ``refs/remotes/origin/NAME``
    if it exists, else ``refs/heads/NAME``). ``environ`` supplies ``PATH``.
    """
    result = CommitVerification(revision=revision, verified=False, reason="", branch=require_branch)
    env_source = os.environ if environ is None else environ
    with tempfile.TemporaryDirectory(prefix="pw-verify-") as scratch:
        home = Path(scratch)
        env = _isolated_env(env_source, home)
        try:
            if allowed_signers is None and gpg_keyring is None:
                raise _Failed("no trust given: pass an allowed signers file or a GPG keyring")
            _check_revision(revision)
            executable = shutil.which("git", path=env["PATH"])
            if executable is None:
                raise _Failed("git is not installed (not found on PATH)")
            if not repo.is_dir():
                raise _Failed(f"repository {repo} is not a directory")
            git = _Git(executable, repo.resolve(), env, timeout)
            commit = _resolve(git, revision)
            result = replace(result, commit=commit)
            body = _read_commit(git, commit)
            fields = _headers(body)
            tree = next((v.decode("ascii", "replace") for n, v in fields if n == b"tree"), None)
            kind, armored = _signature(fields, commit)
            result = replace(result, tree=tree, signature_type=kind)
            key_id, signer = _verify_signature(
                git, home, commit, kind, armored, allowed_signers, gpg_keyring
            )
            result = replace(result, key_id=key_id, signer=signer)
            ref = None if require_branch is None else _check_branch(git, commit, require_branch)
            on_branch = f" on {ref}" if ref else ""
            return replace(
                result,
                verified=True,
                branch_ref=ref,
                reason=f"valid {kind} signature by {signer} with key {key_id}{on_branch}",
            )
        except _KeyFailed as failure:
            return replace(
                result, reason=failure.reason, key_id=failure.key_id, signer=failure.signer
            )
        except _BranchFailed as failure:
            return replace(result, reason=failure.reason, branch_ref=failure.ref)
        except _Failed as failure:
            return replace(result, reason=failure.reason)


def _verify_signature(
    git: _Git,
    home: Path,
    commit: str,
    kind: str,
    armored: bytes,
    allowed_signers: Path | None,
    gpg_keyring: Path | None,
) -> tuple[str | None, str | None]:
    if kind == "none":
        raise _Failed("commit is not signed")
    if kind == "x509":
        raise _Failed(
            "X.509 (gitsign/gpgsm) signatures are not supported: they cannot be checked "
            "offline against a trust root alone"
        )
    if kind == "ssh":
        if allowed_signers is None:
            raise _Failed("commit has an SSH signature but no allowed signers file was given")
        return _verify_ssh(git, commit, allowed_signers.resolve(), _ssh_claimed_key(armored))
    if gpg_keyring is None:
        raise _Failed("commit has an OpenPGP signature but no GPG keyring was given")
    _prepare_gnupg(home, gpg_keyring.resolve(), git)
    return _verify_gpg(git, commit)
