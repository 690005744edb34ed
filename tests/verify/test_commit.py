"""``pipewarden verify-commit`` against real git, ssh-keygen and gpg in temporary directories."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
import subprocess
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipewarden.cli.main import main
from pipewarden.verify._evidence import dump_record, evidence_context, utc_now_iso
from pipewarden.verify.commit import verify_commit

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("git", "gpg", "gpgconf", "ssh-keygen")),
    reason="needs git, gpg and ssh-keygen",
)

SSH_FP = re.compile(r"\ASHA256:[A-Za-z0-9+/]{43}\Z")
GPG_FPR = re.compile(r"\A[0-9A-F]{40}\Z")
GPG_LONG_ID = re.compile(r"\A[0-9A-F]{16}\Z")
SHA1 = re.compile(r"\A[0-9a-f]{40}\Z")


def run(argv: list[str], *, env: Mapping[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(argv, env=dict(env), cwd=cwd, capture_output=True, check=False)
    assert done.returncode == 0, (argv, done.stderr.decode(errors="replace"))
    return done.stdout.decode()


@dataclass
class World:
    """One repository with every kind of commit, and the trust files to check them with."""

    root: Path
    repo: Path
    env: dict[str, str]
    allowed_signers: Path
    trusted_keys: Path  # exported public keys of alice, old, rev + rev's revocation
    trusted_home: Path  # a GnuPG home holding the same
    alice_ssh_fp: str
    mallory_ssh_fp: str
    fpr: dict[str, str]
    commits: dict[str, str]

    def git(self, *args: str, repo: Path | None = None) -> str:
        return run(["git", "-C", str(repo or self.repo), *args], env=self.env).strip()


def _ssh_key(root: Path, name: str, env: Mapping[str, str]) -> tuple[Path, str]:
    key = root / name
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], env=env)
    listing = run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"], env=env)
    return key, listing.split()[1]


def _gpg_key(env: Mapping[str, str], uid: str, *extra: str, expiry: str = "never") -> str:
    run(
        [
            "gpg",
            "--batch",
            "--passphrase",
            "",
            *extra,
            "--quick-gen-key",
            uid,
            "ed25519",
            "sign",
            expiry,
        ],
        env=env,
    )
    listing = run(["gpg", "--batch", "--with-colons", "--list-keys", uid], env=env)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def _commit(world_env: Mapping[str, str], repo: Path, message: str, *config: str) -> str:
    """A commit, signed (-S) when ``config`` names a signing key."""
    base = ["git", "-C", str(repo), "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    sign = ["-S"] if config else []
    run([*base, *config, "commit", "-q", "--allow-empty", *sign, "-m", message], env=world_env)
    return run(["git", "-C", str(repo), "rev-parse", "HEAD"], env=world_env).strip()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("vc")
    signer_home = root / "signer-gnupg"
    signer_home.mkdir(mode=0o700)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "GNUPGHOME": str(signer_home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LC_ALL": "C",
    }
    try:
        alice, alice_fp = _ssh_key(root, "alice", env)
        mallory, mallory_fp = _ssh_key(root, "mallory", env)
        allowed = root / "allowed_signers"
        alice_pub = (root / "alice.pub").read_text().strip()
        allowed.write_text(f'alice@example.com namespaces="git" {alice_pub}\n')

        fpr = {
            "alice": _gpg_key(env, "Alice <alice@example.com>"),
            "eve": _gpg_key(env, "Eve <eve@example.com>"),
            # Made and used in 2020, expired at the end of that year.
            "old": _gpg_key(
                env, "Old <old@example.com>", "--faked-system-time", "20200101T000000!", expiry="1y"
            ),
            "rev": _gpg_key(env, "Rev <rev@example.com>"),
        }
        old_gpg = root / "old-gpg"
        old_gpg.write_text('#!/bin/sh\nexec gpg --faked-system-time 20200601T000000! "$@"\n')
        old_gpg.chmod(old_gpg.stat().st_mode | stat.S_IXUSR)

        repo = root / "repo"
        run(["git", "init", "-q", "-b", "main", str(repo)], env=env)
        ssh_as = ("-c", "gpg.format=ssh", "-c")
        commits = {
            "unsigned": _commit(env, repo, "unsigned"),
            "ssh_mallory": _commit(env, repo, "mallory", *ssh_as, f"user.signingkey={mallory}"),
            "gpg_eve": _commit(env, repo, "eve", "-c", f"user.signingkey={fpr['eve']}"),
            "gpg_old": _commit(
                env,
                repo,
                "old",
                "-c",
                f"user.signingkey={fpr['old']}",
                "-c",
                f"gpg.program={old_gpg}",
            ),
            "gpg_rev": _commit(env, repo, "rev", "-c", f"user.signingkey={fpr['rev']}"),
            "gpg_good": _commit(env, repo, "gpg", "-c", f"user.signingkey={fpr['alice']}"),
            "ssh_good": _commit(env, repo, "ssh", *ssh_as, f"user.signingkey={alice}"),
        }
        run(["git", "-C", str(repo), "switch", "-q", "-c", "feature"], env=env)
        commits["ssh_feature"] = _commit(env, repo, "feature", *ssh_as, f"user.signingkey={alice}")
        run(["git", "-C", str(repo), "switch", "-q", "main"], env=env)

        # What the verifier trusts: alice, old and rev (revoked), never eve.
        trusted = root / "trusted.asc"
        exported = run(
            ["gpg", "--batch", "--armor", "--export", fpr["alice"], fpr["old"], fpr["rev"]],
            env=env,
        )
        revocation = (signer_home / "openpgp-revocs.d" / f"{fpr['rev']}.rev").read_text()
        trusted.write_text(exported + revocation.replace(":-----BEGIN", "-----BEGIN"))
        trusted_home = root / "trusted-gnupg"
        trusted_home.mkdir(mode=0o700)
        run(
            ["gpg", "--batch", "--import", str(trusted)],
            env={**env, "GNUPGHOME": str(trusted_home)},
        )
        yield World(
            root=root,
            repo=repo,
            env=env,
            allowed_signers=allowed,
            trusted_keys=trusted,
            trusted_home=trusted_home,
            alice_ssh_fp=alice_fp,
            mallory_ssh_fp=mallory_fp,
            fpr=fpr,
            commits=commits,
        )
    finally:
        for home in (signer_home, root / "trusted-gnupg"):
            if home.is_dir():
                subprocess.run(
                    ["gpgconf", "--kill", "all"],
                    env={**env, "GNUPGHOME": str(home)},
                    capture_output=True,
                    check=False,
                )


def verify(
    capsys: pytest.CaptureFixture[str],
    world: World,
    rev: str,
    *extra: str,
    repo: Path | None = None,
    trust: tuple[str, ...] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    if trust is None:
        trust = (
            "--allowed-signers",
            str(world.allowed_signers),
            "--gpg-keyring",
            str(world.trusted_keys),
        )
    argv = ["verify-commit", "--repo", str(repo or world.repo), f"--commit={rev}", *trust, *extra]
    code = main(argv, environ=environ if environ is not None else {"PATH": os.environ["PATH"]})
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, out  # exactly one evidence record
    return code, json.loads(lines[0])


def assert_rejected(code: int, record: dict[str, Any], reason: str) -> None:
    assert code == 1
    assert record["verified"] is False
    assert reason in record["reason"], record["reason"]


# ---- SSH


def test_ssh_signature_by_allowed_signer_is_verified(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record = verify(capsys, world, "main")
    assert code == 0
    assert record["verified"] is True
    assert record["commit"] == world.commits["ssh_good"]
    assert record["tree"] == world.git("rev-parse", "main^{tree}")
    assert record["signature_type"] == "ssh"
    assert SSH_FP.match(record["key_id"])
    assert record["key_id"] == world.alice_ssh_fp
    assert record["signer"] == "alice@example.com"
    assert record["verifier"] == "verify-commit"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", record["verified_at"])


def test_ssh_signer_not_in_allowed_signers_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record = verify(capsys, world, world.commits["ssh_mallory"])
    assert_rejected(code, record, "is not in the allowed signers file")
    assert record["signature_type"] == "ssh"
    assert record["key_id"] == world.mallory_ssh_fp
    assert record["signer"] is None


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ('namespaces="git",valid-before="20200101"', "outside its validity window"),
        ('namespaces="file"', "is not allowed to sign git commits"),
    ],
)
def test_ssh_key_restricted_by_the_allowed_signers_file_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path, options: str, reason: str
) -> None:
    alice_pub = (world.root / "alice.pub").read_text().strip()
    restricted = tmp_path / "allowed"
    restricted.write_text(f"alice@example.com {options} {alice_pub}\n")
    code, record = verify(
        capsys, world, world.commits["ssh_good"], trust=("--allowed-signers", str(restricted))
    )
    assert_rejected(code, record, reason)
    assert record["key_id"] == world.alice_ssh_fp


def test_sha256_repository_is_verified(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    repo = tmp_path / "sha256"
    run(["git", "init", "-q", "--object-format=sha256", str(repo)], env=world.env)
    signing = ("-c", "gpg.format=ssh", "-c", f"user.signingkey={world.root / 'alice'}")
    commit = _commit(world.env, repo, "sha256", *signing)
    assert len(commit) == 64
    code, record = verify(capsys, world, "HEAD", repo=repo)
    assert code == 0, record
    assert record["commit"] == commit
    assert record["key_id"] == world.alice_ssh_fp


def test_ssh_signature_without_allowed_signers_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record = verify(capsys, world, "main", trust=("--gpg-keyring", str(world.trusted_keys)))
    assert_rejected(code, record, "no allowed signers file was given")


def test_unsigned_commit_is_rejected(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, record = verify(capsys, world, world.commits["unsigned"])
    assert_rejected(code, record, "commit is not signed")
    assert record["signature_type"] == "none"
    assert record["key_id"] is None
    assert record["signer"] is None
    assert record["commit"] == world.commits["unsigned"]


# ---- OpenPGP


@pytest.mark.parametrize("keyring", ["file", "home"])
def test_gpg_signature_by_trusted_key_is_verified(
    world: World, capsys: pytest.CaptureFixture[str], keyring: str
) -> None:
    path = world.trusted_keys if keyring == "file" else world.trusted_home
    code, record = verify(
        capsys, world, world.commits["gpg_good"], trust=("--gpg-keyring", str(path))
    )
    assert code == 0, record
    assert record["verified"] is True
    assert record["signature_type"] == "gpg"
    assert GPG_FPR.match(record["key_id"])
    assert record["key_id"] == world.fpr["alice"]
    assert record["signer"] == "Alice <alice@example.com>"


def test_gpg_unknown_key_is_rejected(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, record = verify(capsys, world, world.commits["gpg_eve"])
    assert_rejected(code, record, "is not in the keyring")
    assert GPG_LONG_ID.match(record["key_id"])
    assert world.fpr["eve"].endswith(record["key_id"])


def test_gpg_expired_key_is_rejected(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, record = verify(capsys, world, world.commits["gpg_old"])
    assert_rejected(code, record, "has expired")
    assert record["key_id"] == world.fpr["old"]
    assert record["signer"] == "Old <old@example.com>"


def test_gpg_revoked_key_is_rejected(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code, record = verify(capsys, world, world.commits["gpg_rev"])
    assert_rejected(code, record, "is revoked")
    assert record["key_id"] == world.fpr["rev"]


def test_gpg_keyring_without_public_keys_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, record = verify(
        capsys, world, world.commits["gpg_good"], trust=("--gpg-keyring", str(tmp_path))
    )
    assert_rejected(code, record, "has no public keyring")


def test_gpg_signature_without_keyring_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record = verify(
        capsys,
        world,
        world.commits["gpg_good"],
        trust=("--allowed-signers", str(world.allowed_signers)),
    )
    assert_rejected(code, record, "no GPG keyring was given")


# ---- altered objects, shallow clones, revisions


@pytest.mark.parametrize("name", ["ssh_good", "gpg_good"])
def test_altered_commit_with_old_signature_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    original = world.git("cat-file", "commit", world.commits[name])
    assert "gpgsig" in original
    altered = tmp_path / "altered"
    altered.write_text(original.replace("\n\nssh" if name == "ssh_good" else "\n\ngpg", "\n\nevil"))
    forged = world.git("hash-object", "-t", "commit", "-w", str(altered))
    code, record = verify(capsys, world, forged)
    assert_rejected(code, record, "bad signature")
    assert record["commit"] == forged
    if name == "ssh_good":
        assert record["key_id"] == world.alice_ssh_fp  # the key the signature claims
    else:
        assert world.fpr["alice"].endswith(record["key_id"])


def test_commit_object_altered_in_place_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(world.repo, clone)  # loose objects, as the commits wrote them
    commit = world.commits["unsigned"]
    # Swap in the content of a validly signed commit under the unsigned commit's id.
    body = world.git("cat-file", "commit", world.commits["ssh_good"]).encode() + b"\n"
    loose = clone / ".git" / "objects" / commit[:2] / commit[2:]
    assert loose.is_file()
    loose.unlink()
    loose.write_bytes(zlib.compress(b"commit %d\0" % len(body) + body))
    code, record = verify(capsys, world, commit, repo=clone)
    assert_rejected(code, record, "does not hash to its id")


def test_shallow_clone_missing_the_commit_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    shallow = tmp_path / "shallow"
    run(["git", "clone", "-q", "--depth", "1", f"file://{world.repo}", str(shallow)], env=world.env)
    code, record = verify(capsys, world, world.commits["gpg_good"], repo=shallow)
    assert_rejected(code, record, "shallow clone")
    assert record["commit"] is None
    # The tip itself is there and still verifies.
    code, record = verify(capsys, world, "HEAD", repo=shallow)
    assert code == 0, record


@pytest.mark.parametrize("rev", ["no-such-branch", "0" * 40, "--output=/tmp/x", "HEAD^{tree}"])
def test_revision_that_does_not_resolve_to_a_commit_is_rejected(
    world: World, capsys: pytest.CaptureFixture[str], rev: str
) -> None:
    code, record = verify(capsys, world, rev)
    assert code == 1
    assert record["verified"] is False
    assert record["commit"] is None
    assert record["revision"] == rev


def test_x509_signature_is_reported_and_rejected(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tree = world.git("rev-parse", "main^{tree}")
    body = (
        f"tree {tree}\nauthor A <a@example.com> 1700000000 +0000\n"
        "committer A <a@example.com> 1700000000 +0000\n"
        "gpgsig -----BEGIN SIGNED MESSAGE-----\n MIIB\n -----END SIGNED MESSAGE-----\n\nx509\n"
    )
    path = tmp_path / "x509"
    path.write_text(body)
    commit = world.git("hash-object", "-t", "commit", "-w", str(path))
    code, record = verify(capsys, world, commit)
    assert_rejected(code, record, "X.509")
    assert record["signature_type"] == "x509"


# ---- branch requirement


def test_require_branch_accepts_a_commit_on_the_branch(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record = verify(capsys, world, world.commits["ssh_good"], "--require-branch", "main")
    assert code == 0, record
    assert record["branch"] == "main"
    assert record["branch_ref"] == "refs/heads/main"
    code, record = verify(
        capsys, world, world.commits["ssh_feature"], "--require-branch", "refs/heads/feature"
    )
    assert code == 0, record


def test_require_branch_rejects_a_commit_not_on_the_branch(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, record = verify(capsys, world, world.commits["ssh_feature"], "--require-branch", "main")
    assert_rejected(code, record, "is not reachable from refs/heads/main")
    assert record["signer"] == "alice@example.com"  # the signature itself was good
    code, record = verify(capsys, world, "main", "--require-branch", "release")
    assert_rejected(code, record, "branch 'release' not found")


def test_require_branch_prefers_the_remote_tracking_branch(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(world.repo), str(clone)], env=world.env)
    # A local branch named like the protected one, pointing at the unmerged commit.
    world.git("update-ref", "refs/heads/main", world.commits["ssh_feature"], repo=clone)
    code, record = verify(
        capsys, world, world.commits["ssh_feature"], "--require-branch", "main", repo=clone
    )
    assert_rejected(code, record, "refs/remotes/origin/main")
    code, record = verify(capsys, world, "origin/main", "--require-branch", "main", repo=clone)
    assert code == 0, record
    assert record["branch_ref"] == "refs/remotes/origin/main"


# ---- isolation and failing closed


def test_repository_configuration_cannot_change_the_verdict(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(world.repo), str(clone)], env=world.env)
    permissive = tmp_path / "everyone"
    mallory_pub = (world.root / "mallory.pub").read_text().strip()
    permissive.write_text(f"* {mallory_pub}\n")
    with (clone / ".git" / "config").open("a") as fh:
        fh.write(
            f'[gpg "ssh"]\n\tallowedSignersFile = {permissive}\n'
            "[gpg]\n\tprogram = /nonexistent/gpg\n\tminTrustLevel = ultimate\n"
        )
    code, record = verify(capsys, world, world.commits["ssh_mallory"], repo=clone)
    assert_rejected(code, record, "not in the allowed signers file")
    code, record = verify(capsys, world, world.commits["gpg_good"], repo=clone)
    assert code == 0, record


def test_git_missing_fails_closed(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, record = verify(capsys, world, "main", environ={"PATH": str(tmp_path)})
    assert_rejected(code, record, "git is not installed")


def test_git_timeout_fails_closed(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slow = tmp_path / "git"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    code, record = verify(
        capsys, world, "main", "--timeout", "0.3", environ={"PATH": f"{tmp_path}:{os.defpath}"}
    )
    assert_rejected(code, record, "did not finish within 0.3s")


def test_missing_trust_is_a_usage_error(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify-commit", "--repo", str(world.repo), "--commit", "main"])
    assert code == 2
    assert "--allowed-signers" in capsys.readouterr().err


def test_missing_allowed_signers_file_fails_closed(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, record = verify(
        capsys, world, "main", trust=("--allowed-signers", str(tmp_path / "absent"))
    )
    assert_rejected(code, record, "does not exist")


def test_not_a_repository_fails_closed(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, record = verify(capsys, world, "HEAD", repo=tmp_path)
    assert_rejected(code, record, "not a git repository")


# ---- evidence record


def test_record_carries_the_execution_context(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {
        "PATH": os.environ["PATH"],
        "CODEBUILD_BUILD_ARN": "arn:aws:codebuild:eu-west-1:111122223333:build/verify:1",
        "CODEBUILD_BUILD_ID": "verify:1",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": world.commits["ssh_good"],
        "CODEPIPELINE_EXECUTION_ID": "3f2b1c9e-0000-4000-8000-000000000000",
        "CODEBUILD_INITIATOR": "",
    }
    code, record = verify(capsys, world, "main", environ=environ)
    assert code == 0
    assert record["context"] == {
        "codebuild_build_arn": environ["CODEBUILD_BUILD_ARN"],
        "codebuild_build_id": "verify:1",
        "codebuild_resolved_source_version": world.commits["ssh_good"],
        "pipeline_execution_id": environ["CODEPIPELINE_EXECUTION_ID"],
    }


def test_library_result_matches_the_record(world: World) -> None:
    outcome = verify_commit(
        world.repo, "main", allowed_signers=world.allowed_signers, environ=os.environ
    )
    assert outcome.verified
    assert SHA1.match(outcome.commit or "")
    record = outcome.record(verified_at="2030-01-01T00:00:00Z", context={})
    assert json.loads(dump_record(record)) == record


def test_utc_now_iso_uses_the_injected_clock() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    assert utc_now_iso(lambda: dt.datetime(2030, 5, 1, 14, 0, 7, 999, tzinfo=paris)) == (
        "2030-05-01T12:00:07Z"
    )
    with pytest.raises(ValueError, match="naive"):
        utc_now_iso(lambda: dt.datetime(2030, 5, 1))  # noqa: DTZ001 - the error case


def test_evidence_context_keeps_only_present_values_and_truncates() -> None:
    context = evidence_context({"CODEBUILD_BUILD_ID": "x" * 5000, "UNRELATED": "1"})
    assert list(context) == ["codebuild_build_id"]
    assert len(context["codebuild_build_id"]) == 2048 + 3
    assert evidence_context({}) == {}
