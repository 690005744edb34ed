"""Benchmark: ``pipewarden attest`` and ``verify-handoff`` against ``sha256sum`` on one file.

Writes a temporary artifact of ``--size-mib`` MiB (default 1024), then times,
best of ``--repeat`` runs, each as its own process (start-up included):

(a) ``sha256sum ARTIFACT``: the baseline;
(b) ``pipewarden attest ARTIFACT --key ed25519.pem -o att.jsonl``;
(c) ``pipewarden verify-handoff ARTIFACT --attestation att.jsonl --public-key ...``;

and, in this process, the library's streaming hash alone
(``pipewarden.attest.statement.digest_artifact``). For each it prints MB/s
and the ratio to ``sha256sum`` (goal: at least 0.80), and the peak resident
memory of each process (VmHWM from /proc, Linux). The commands are also run on a
1 MiB artifact: equal peak memory at both sizes shows that memory does not
grow with the artifact. The page cache is warmed first, so every command
reads the file from memory. The temporary directory is deleted at the end.
Timings are printed, never asserted: the exit status is 0 whatever they are.

Usage: ``python benchmarks/bench_attest.py [--size-mib N] [--repeat R] [--dir DIR]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from pipewarden.attest.statement import digest_artifact

PIPELINE = "arn:aws:codepipeline:us-east-1:111122223333:bench"
_CLI = ("-c", "import sys; from pipewarden.cli import main; sys.exit(main())")


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float


def _write_artifact(path: Path, size_mib: int) -> None:
    block = os.urandom(16 << 20)
    remaining = size_mib << 20
    with path.open("wb") as fh:
        while remaining:
            chunk = block[: min(len(block), remaining)]
            fh.write(chunk)
            remaining -= len(chunk)


def _write_keys(directory: Path) -> tuple[Path, Path]:
    key = ed25519.Ed25519PrivateKey.generate()
    private, public = directory / "key.pem", directory / "pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _hwm_mib(pid: int) -> float | None:
    """The process's peak resident memory so far (VmHWM), or None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _run(argv: list[str]) -> Run:
    """Run one process; its wall time and peak RSS.

    The peak is read from /proc (VmHWM, reset by exec) while the process runs:
    rusage's ru_maxrss would also count the memory of this (forking) process.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        hwm = _hwm_mib(proc.pid)
        if hwm is not None:
            peak = max(peak, hwm)
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {stderr.strip()}")
    return Run(elapsed, peak)


def _best(argv: list[str], repeat: int) -> Run:
    runs = [_run(argv) for _ in range(repeat)]
    return Run(min(r.seconds for r in runs), max(r.peak_rss_mib for r in runs))


def _commands(artifact: Path, key: Path, public: Path, out: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "sha256sum": ["sha256sum", str(artifact)],
        "pipewarden attest": [
            python,
            *_CLI,
            "attest",
            str(artifact),
            "--key",
            str(key),
            "--pipeline-arn",
            PIPELINE,
            "-o",
            str(out),
        ],
        "pipewarden verify-handoff": [
            python,
            *_CLI,
            "verify-handoff",
            str(artifact),
            "--attestation",
            str(out),
            "--public-key",
            str(public),
            "--expect-pipeline",
            PIPELINE,
        ],
    }


def _in_process_hash(artifact: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        digest_artifact(artifact)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    """Run the benchmark; always 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="artifact size (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (best is kept)")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the artifact")
    args = parser.parse_args()
    if shutil.which("sha256sum") is None:
        print("sha256sum is not installed: no baseline to compare with")
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="pipewarden-bench-", dir=args.dir))
    try:
        key, public = _write_keys(workdir)
        small = workdir / "small.bin"
        _write_artifact(small, 1)
        big = workdir / "artifact.bin"
        print(f"writing a {args.size_mib} MiB artifact under {workdir} ...")
        _write_artifact(big, args.size_mib)
        size = big.stat().st_size

        small_cmds = _commands(small, key, public, workdir / "small.jsonl")
        big_cmds = _commands(big, key, public, workdir / "att.jsonl")
        _run(big_cmds["sha256sum"])  # warm the page cache
        small_runs = {name: _best(argv, 1) for name, argv in small_cmds.items()}
        big_runs = {name: _best(argv, args.repeat) for name, argv in big_cmds.items()}
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        in_process = _in_process_hash(big, args.repeat)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        baseline = size / 1e6 / big_runs["sha256sum"].seconds
        print(
            f"\nartifact {size / (1 << 20):.0f} MiB, best of {args.repeat}, "
            f"page cache warm, {os.cpu_count()} CPUs\n"
        )
        header = (
            f"{'command':<28}{'seconds':>9}{'MB/s':>9}{'vs sha256sum':>14}"
            f"{'peak RSS MiB':>14}{'(1 MiB file)':>14}"
        )
        print(header)
        print("-" * len(header))
        for name, run in big_runs.items():
            rate = size / 1e6 / run.seconds
            print(
                f"{name:<28}{run.seconds:>9.3f}{rate:>9.0f}{rate / baseline:>14.2f}"
                f"{run.peak_rss_mib:>14.1f}{small_runs[name].peak_rss_mib:>14.1f}"
            )
        rate = size / 1e6 / in_process
        print(
            f"{'digest_artifact (library)':<28}{in_process:>9.3f}{rate:>9.0f}"
            f"{rate / baseline:>14.2f}{rss_after:>14.1f}{rss_before:>14.1f}"
        )
        print(
            "\n(library row: peak RSS of this process after hashing, and before it in the last "
            "column)"
        )
        worst = min(size / 1e6 / big_runs[n].seconds for n in big_runs if n != "sha256sum")
        verdict = "met" if worst / baseline >= 0.8 else "NOT met"
        print(
            f"goal >= 0.80 of sha256sum throughput for attest and verify-handoff: {verdict} "
            f"(worst {worst / baseline:.2f})"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
