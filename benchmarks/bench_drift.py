"""Benchmark: drift check of N pipelines against their baselines, and the warm
event-to-finding latency of the drift handler.

Builds N get-pipeline declarations in memory (the generator of bench_scan.py),
approves them as baselines in a fresh SQLite store, changes one in ten (a
weakening or a rename), then times, best of ``--repeat``:

(a) the floor: normalising and hashing every current declaration;
(b) the drift check: loading every baseline from the store, normalising,
    classifying every pair and building the report results;
(c) the handler: one ``UpdatePipeline`` EventBridge event judged against the
    store (warm: after a first call), median of 20.

Printed: seconds, the ratio (b)/(a), and (b) at N/2 vs N. Goals (issue 6):
10,000 pipelines in under 5 s; one event in under 1 s warm. Never asserted.

Usage: ``python benchmarks/bench_drift.py [--pipelines N]``.
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

from pipewarden.drift.lambda_handler import handle_event
from pipewarden.drift.normalise import canonical, declaration_hash
from pipewarden.drift.results import drift_result, pipeline_key
from pipewarden.model import KeyStyle, Loc, Pipeline
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


def check(store: Store, pipelines: Sequence[Pipeline]) -> int:
    keys = [pipeline_key(p) for p in pipelines]
    baselines = store.baselines(keys)
    pairs = [(p, baselines[k].declaration) for p, k in zip(pipelines, keys, strict=True)]
    return len(drift_result(pairs).results)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="drift check and event handler timings")
    parser.add_argument("--pipelines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    docs = [make_pipeline(i, args.seed) for i in range(args.pipelines)]
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        store = open_store(db)
        base = [_pipeline(d) for d in docs]
        store.approve([(pipeline_key(p), canonical(p)) for p in base], by="bench", reason="bench")
        current = [_pipeline(_changed(d, i)) for i, d in enumerate(docs)]
        timings = {}
        for n in (args.pipelines // 2, args.pipelines):
            floor, _ = best(
                args.repeat, lambda n=n: [declaration_hash(canonical(p)) for p in current[:n]]
            )
            full, results = best(args.repeat, lambda n=n: check(store, current[:n]))
            timings[n] = full
            print(
                f"{n:>6} pipelines: normalise+hash {floor:.3f} s, drift check {full:.3f} s "
                f"(x{full / floor:.1f} the floor, {full / n * 1e6:.0f} us/pipeline, {results} results)"
            )
        half, whole = timings[args.pipelines // 2], timings[args.pipelines]
        print(
            f"scaling time(N)/time(N/2) = {whole / half:.2f} (2.0 = linear); goal: 10,000 in < 5 s"
        )
        store.close()
        event = {
            "source": "aws.codepipeline",
            "detail-type": "AWS API Call via CloudTrail",
            "account": "111122223333",
            "region": "us-east-1",
            "detail": {
                "eventName": "UpdatePipeline",
                "eventSource": "codepipeline.amazonaws.com",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/b"},
                "requestParameters": {"pipeline": _changed(docs[0], 0)["pipeline"]},
            },
        }
        handle_event(event, db=db)  # warm
        lat = []
        for _ in range(20):
            start = time.perf_counter()
            handle_event(event, db=db)
            lat.append(time.perf_counter() - start)
        print(
            f"event-to-finding (warm, median of 20): {statistics.median(lat) * 1000:.1f} ms; goal < 1 s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
