"""Benchmark: drift check of N pipelines against their baselines, and the warm
event-to-finding latency of the drift handler.

Builds N get-pipeline declarations in memory (the generator of bench_scan.py),
approves them as baselines in a fresh SQLite store, changes one in ten (a
weakening or a rename), then times, best of ``--repeat``:

(a) the floor: normalising and hashing every current declaration;
(b) the drift check (:func:`pipewarden.drift.check.check` without recording):
    loading every baseline from the store, normalising, sealing and hashing
    every current declaration, classifying the changed pairs, building the
    report results;
(c) (b) plus what ``pipewarden drift check`` stores: the results of the run,
    the changed declarations and one drift event per changed pipeline;
(d) the handler: one ``UpdatePipeline`` EventBridge event judged against the
    store (warm: after a first call), median of 20.

(b) and (c) run at N/2 and N: ``time(N) / time(N/2)`` is 2.0 for linear cost.
``--profile`` prints the 25 most expensive functions of (c) at N (cProfile).
Goals (issue 6): 10,000 pipelines in under 5 s; one event in under 1 s warm.
Never asserted.

Usage: ``python benchmarks/bench_drift.py [--pipelines N] [--repeat R] [--profile]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import make_pipeline

from pipewarden.drift.check import check
from pipewarden.drift.lambda_handler import handle_event
from pipewarden.drift.normalise import canonical, declaration_hash
from pipewarden.drift.results import pipeline_key
from pipewarden.model import Inventory, KeyStyle, Loc, Pipeline
from pipewarden.parse.declaration import parse_declaration
from pipewarden.store import Store, open_store

_T = TypeVar("_T")


def _pipeline(doc: dict[str, Any]) -> Pipeline:
    arn = doc.get("metadata", {}).get("pipelineArn")
    return parse_declaration(
        doc["pipeline"], loc=Loc(arn or "bench", "", KeyStyle.API), source="bench", arn=arn
    )


def _changed(doc: dict[str, Any], i: int) -> dict[str, Any]:
    new = copy.deepcopy(doc)
    if i % 20 == 0:
        new["pipeline"]["roleArn"] = "arn:aws:iam::999999999999:role/other"
    elif i % 10 == 0:
        new["pipeline"]["stages"][0]["name"] += "-renamed"
    return new


def best(repeat: int, run: Callable[[], _T]) -> tuple[float, _T]:
    start = time.perf_counter()
    value = run()
    times = [time.perf_counter() - start]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        value = run()
        times.append(time.perf_counter() - start)
    return min(times), value


def run_check(store: Store, pipelines: Sequence[Pipeline], *, record: bool) -> int:
    inventory = Inventory("get-pipeline JSON", tuple(pipelines))
    outcome = check(store, [inventory], record=record, source="bench")
    return len(outcome.result.results)


def _event(decl: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": "aws.codepipeline",
        "detail-type": "AWS API Call via CloudTrail",
        "account": "111122223333",
        "region": "us-east-1",
        "detail": {
            "eventName": "UpdatePipeline",
            "eventSource": "codepipeline.amazonaws.com",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/b"},
            "requestParameters": {"pipeline": decl},
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="drift check and event handler timings")
    parser.add_argument("--pipelines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile (c) at N")
    args = parser.parse_args(argv)
    docs = [make_pipeline(i, args.seed) for i in range(args.pipelines)]
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        store = open_store(db)
        base = [_pipeline(d) for d in docs]
        store.approve([(pipeline_key(p), canonical(p)) for p in base], by="bench", reason="bench")
        current = [_pipeline(_changed(d, i)) for i, d in enumerate(docs)]
        del base
        timings: dict[tuple[str, int], float] = {}
        for n in (args.pipelines // 2, args.pipelines):
            part = current[:n]

            def floor_run(part: list[Pipeline] = part) -> list[str]:
                return [declaration_hash(canonical(p)) for p in part]

            def bare_run(part: list[Pipeline] = part) -> int:
                return run_check(store, part, record=False)

            def full_run(part: list[Pipeline] = part) -> int:
                return run_check(store, part, record=True)

            floor, _ = best(args.repeat, floor_run)
            bare, results = best(args.repeat, bare_run)
            full, _ = best(args.repeat, full_run)
            timings[("check", n)], timings[("recorded", n)] = bare, full
            print(
                f"{n:>6} pipelines: normalise+hash {floor:.3f} s; drift check {bare:.3f} s "
                f"(x{bare / floor:.1f} the floor, {bare / n * 1e6:.0f} us/pipeline, {results} "
                f"results); with recording {full:.3f} s"
            )
        half, whole = args.pipelines // 2, args.pipelines
        print(
            "scaling time(N)/time(N/2): drift check "
            f"{timings[('check', whole)] / timings[('check', half)]:.2f}, with recording "
            f"{timings[('recorded', whole)] / timings[('recorded', half)]:.2f} (2.0 = linear); "
            "goal: 10,000 in < 5 s"
        )
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            run_check(store, current, record=True)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        store.close()
        event = _event(_changed(docs[0], 0)["pipeline"])
        handle_event(event, db=db)  # warm
        latencies = []
        for _ in range(20):
            start = time.perf_counter()
            handle_event(event, db=db)
            latencies.append(time.perf_counter() - start)
        print(
            f"event-to-finding (warm, median of 20): {statistics.median(latencies) * 1000:.1f} ms; "
            "goal < 1 s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
