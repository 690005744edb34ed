"""Benchmark: a live scan of an AWS organisation on a local emulator with added latency.

Seeds moto's AWS emulator (in this process, on 127.0.0.1) once with an
organisation of ``--accounts`` member accounts x ``--pipelines`` pipelines
(:mod:`pipewarden.demo.seed`: weak and hardened pipelines sharing each
account's roles, buckets, key, projects and repositories), then times:

(a) **live**: ``collect(Scope(org=True, ...))`` with ``--latency-ms`` added to
    every API answer (the emulator's WSGI app sleeps before answering, so the
    delay is paid by every call whichever session or thread makes it), then
    ``parse_snapshot`` + ``engine.scan`` with every rule;
(b) **baseline, no latency**: the same collection with 0 ms added: the cost of
    the emulator and the collector alone. ``live / baseline`` shows how much of
    the latency the concurrency hides;
(c) **baseline, sequential**: ``--sequential-accounts`` accounts collected with
    ``max_workers=1`` at the same latency, extrapolated to the whole
    organisation: what a one-call-at-a-time scanner would take.

For each it prints the wall time, the API calls by operation (counted by
``count_calls``) and the calls per pipeline beyond ``ListPipelines`` and
``GetPipeline``. Goals (issue 3): the live scan of 100 accounts x 20 pipelines
at 50 ms under 60 s, and at most 1.5 calls per pipeline beyond those two.
Timings are printed, never asserted: the exit status is 0 whatever they are.

Usage: ``python benchmarks/bench_live.py [--accounts 100] [--pipelines 20]
[--latency-ms 50] [--workers W] [--sequential-accounts 5]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipewarden.collect import Scope, collect, count_calls
from pipewarden.collect.emulator import answer_missing_apis
from pipewarden.config import Config
from pipewarden.demo.seed import seed_organisation
from pipewarden.demo.server import Emulator, emulator
from pipewarden.engine import scan
from pipewarden.parse.snapshot import parse_snapshot
from pipewarden.rules import RULES

TODAY = dt.date(2026, 11, 25)
REGION = "us-east-1"
PER_PIPELINE_FREE = {("codepipeline", "ListPipelines"), ("codepipeline", "GetPipeline")}


@dataclass(frozen=True)
class Run:
    label: str
    accounts: int
    pipelines: int
    collect_s: float
    scan_s: float
    calls: Counter[tuple[str, str]]
    gaps: int
    results: int
    scanner_cpu_s: float
    emulator_cpu_s: float | None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def extra_per_pipeline(self) -> float:
        extra = sum(n for op, n in self.calls.items() if op not in PER_PIPELINE_FREE)
        return extra / max(1, self.pipelines)


def _run(
    emu: Emulator,
    label: str,
    *,
    role_name: str,
    latency_ms: float,
    workers: int,
    accounts: tuple[str, ...] | None = None,
) -> Run:
    emu.set_latency(latency_ms / 1000)
    session = emu.session()
    answer_missing_apis(session)  # what moto lacks answers at once (as in `pipewarden demo`)
    scope_args: dict[str, Any] = {
        "regions": (REGION,),
        "role_name": role_name,
        "endpoint_url": emu.endpoint_url,
        "max_workers": workers,
    }
    if accounts is None:
        scope_args["org"] = True
    else:
        scope_args["accounts"] = accounts
    emulator_cpu = _process_cpu(emu.pid) if emu.pid != os.getpid() else None
    cpu = time.process_time()
    try:
        with count_calls(session) as calls:
            started = time.perf_counter()
            snapshot = collect(Scope(**scope_args), session=session, progress=False)
            collected = time.perf_counter() - started
    finally:
        emu.set_latency(0)
    scanner_cpu = time.process_time() - cpu
    if emulator_cpu is not None:
        emulator_cpu = _process_cpu(emu.pid) - emulator_cpu
    started = time.perf_counter()
    inventory = parse_snapshot(snapshot, source="benchmark")
    result = scan([inventory], rules=RULES, config=Config(), today=TODAY)
    scanned = time.perf_counter() - started
    return Run(
        label=label,
        accounts=len(snapshot.get("accounts", [])),
        pipelines=len(result.pipelines),
        collect_s=collected,
        scan_s=scanned,
        calls=Counter(calls),
        gaps=len(snapshot.get("gaps", [])),
        results=len(result.results),
        scanner_cpu_s=scanner_cpu,
        emulator_cpu_s=emulator_cpu,
    )


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _print_run(run: Run) -> None:
    total = run.collect_s + run.scan_s
    emulator_cpu = "-" if run.emulator_cpu_s is None else f"{run.emulator_cpu_s:.1f}"
    print(
        f"{run.label:<28} {run.accounts:>8} {run.pipelines:>9} {run.collect_s:>9.1f} "
        f"{run.scan_s:>7.1f} {total:>8.1f} {run.total_calls:>8} {run.extra_per_pipeline:>11.2f} "
        f"{run.gaps:>6} {run.scanner_cpu_s:>9.1f} {emulator_cpu:>9}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=100, help="member accounts (100)")
    parser.add_argument("--pipelines", type=int, default=20, help="pipelines per account (20)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added per call (50)")
    parser.add_argument(
        "--workers", type=int, default=None, help="collector max_workers (its default)"
    )
    parser.add_argument(
        "--sequential-accounts",
        type=int,
        default=5,
        help="accounts in the sequential baseline (5; 0 to skip)",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the 0 ms baseline collection"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the emulator in this process (it then competes with the collector for "
        "the interpreter lock); default: a child process",
    )
    args = parser.parse_args(argv)
    workers = args.workers if args.workers is not None else Scope().max_workers

    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPU(s); {args.accounts} accounts x {args.pipelines} pipelines, "
        f"{args.latency_ms:g} ms per call, collector max_workers={workers}, emulator "
        f"{'in this process' if args.in_process else 'in a child process'}"
    )
    with emulator(REGION, process=not args.in_process) as emu:
        started = time.perf_counter()
        org = seed_organisation(
            emu.endpoint_url,
            session=emu.session(),
            accounts=args.accounts,
            pipelines_per_account=args.pipelines,
            region=REGION,
        )
        seeded = time.perf_counter() - started
        print(
            f"seeded {org.pipelines} pipelines in {len(org.accounts)} accounts with "
            f"{org.api_calls} API calls in {seeded:.1f} s (no latency; not part of the scan)"
        )
        print()
        header = (
            f"{'run':<28} {'accounts':>8} {'pipelines':>9} {'collect_s':>9} {'scan_s':>7} "
            f"{'total_s':>8} {'calls':>8} {'extra/pipe':>11} {'gaps':>6} {'scan_cpu':>9} "
            f"{'emu_cpu':>9}"
        )
        print(header)
        print("-" * len(header))
        runs: list[Run] = []
        live = _run(
            emu,
            f"live ({args.latency_ms:g} ms)",
            role_name=org.role_name,
            latency_ms=args.latency_ms,
            workers=workers,
        )
        runs.append(live)
        _print_run(live)
        baseline = None
        if not args.no_baseline:
            baseline = _run(
                emu, "baseline (0 ms)", role_name=org.role_name, latency_ms=0, workers=workers
            )
            _print_run(baseline)
        sequential = None
        if args.sequential_accounts > 0:
            subset = tuple(a.account_id for a in org.accounts[: args.sequential_accounts])
            sequential = _run(
                emu,
                f"sequential, {len(subset)} accounts",
                role_name=org.role_name,
                latency_ms=args.latency_ms,
                workers=1,
                accounts=subset,
            )
            _print_run(sequential)

    print()
    total = live.collect_s + live.scan_s
    verdict_time = "met" if total < 60 else "NOT met"
    verdict_calls = "met" if live.extra_per_pipeline <= 1.5 else "NOT met"
    print(f"goal: live scan under 60 s: {total:.1f} s, {verdict_time}")
    print(
        f"goal: at most 1.5 calls per pipeline beyond ListPipelines+GetPipeline: "
        f"{live.extra_per_pipeline:.2f}, {verdict_calls}"
    )
    if baseline is not None:
        print(
            f"ratio live / no-latency collection: {live.collect_s / baseline.collect_s:.2f} "
            f"(latency added {live.total_calls * args.latency_ms / 1000:.0f} s of call time "
            f"in total)"
        )
    if sequential is not None and sequential.accounts:
        estimate = sequential.collect_s * len(org.accounts) / sequential.accounts
        print(
            f"sequential estimate for {len(org.accounts)} accounts: {estimate:.0f} s; "
            f"speed-up of the concurrent collection: {estimate / live.collect_s:.1f}x"
        )
    print()
    print("API calls of the live run, by operation:")
    for (service, operation), count in sorted(live.calls.items(), key=lambda kv: (-kv[1], kv[0])):
        print(
            f"  {service:<18} {operation:<36} {count:>7}  {count / max(1, live.pipelines):>6.2f}/pipeline"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
