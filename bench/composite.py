"""Composite: what running a subgraph on worker processes costs and buys, side by side.

* CPU-heavy subgraph (a RegexExtractor over long texts): inline vs local with 2 instances
  (the speed-up; the machine's cores are the limit);
* trivial subgraph (one SetField): inline vs local with 1 instance (the overhead of the
  remote hop: batching, gzip, HTTP, JSON both ways).

Each run uses an in-process engine (as ``pypes run`` does); the local workers are real
``pypes worker`` processes, started and ready before the clock starts.

Run: .venv/bin/python -m bench.composite [--heavy N] [--trivial N]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Any

from pypes.components.registry import Registry
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine
from pypes.server import tune_gc

HEAVY_STEP = {"id": "words", "class": "RegexExtractor",
              "params": {"field": "text", "pattern": r"\b(\w+)\s+\1\b|\b\w*(?:ow|ed|er)\w*\b",
                         "target": "found"}}
TRIVIAL_STEP = {"id": "tag", "class": "SetField", "params": {"field": "seen", "value": True}}
WORDS = ("the quick brown fox jumped over lazy dogs while several others watched from "
         "a shadowed meadow under cover of lowered clouds").split()


def subgraph(step: dict[str, Any]) -> dict[str, Any]:
    return {"pypes": 1, "name": "inner",
            "components": [step, {"id": "inner_out", "class": "Collect"}],
            "wires": [{"from": [step["id"], "out"], "to": ["inner_out", "in"]}]}


def outer(step: dict[str, Any], **params: Any) -> Graph:
    return Graph.load({
        "pypes": 1, "name": "bench",
        "components": [
            {"id": "reader", "class": "JsonReader"},
            {"id": "remote", "class": "Composite",
             "params": {"graph": subgraph(step), "linger_ms": 5, **params}},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [{"from": ["reader", "out"], "to": ["remote", "in"]},
                  {"from": ["remote", "out"], "to": ["out", "in"]}],
    })


def texts(n: int, words: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [{"id": i, "text": " ".join(rng.choice(WORDS) for _ in range(words))}
            for i in range(n)]


def run(graph: Graph, docs: list[dict[str, Any]], chunk: int, rounds: int = 3) -> float:
    """Documents per second through ``graph`` once its workers are ready, best of
    ``rounds`` runs (single runs of the in-process baseline vary by up to 1.5x)."""
    with Engine(Registry.discover()) as engine:
        engine.start(graph)
        deadline = time.monotonic() + 60
        while engine.components["remote"].state != "ready":
            if engine.components["remote"].state == "failed" or time.monotonic() > deadline:
                raise SystemExit(f"composite did not start: {engine.stats()['components']}")
            time.sleep(0.05)
        engine.ingest([Packet(dict(d)) for d in docs[:chunk]], wait=True).result()  # warm up
        best = 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            futures = [engine.ingest([Packet(dict(d)) for d in docs[i:i + chunk]], wait=True)
                       for i in range(0, len(docs), chunk)]
            results = sum(len(f.result().results) for f in futures)
            best = max(best, len(docs) / (time.perf_counter() - started))
            assert results == len(docs), f"{results} results for {len(docs)} documents"
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", type=int, default=2000, help="long documents")
    parser.add_argument("--words", type=int, default=3000, help="words per long document")
    parser.add_argument("--trivial", type=int, default=100_000, help="small documents")
    args = parser.parse_args()
    tune_gc()  # as `pypes serve` and `pypes run` do
    heavy = texts(args.heavy, args.words)
    small = [{"id": i, "name": f"doc {i}", "tags": ["a", "b"]} for i in range(args.trivial)]
    rows = []
    inline = run(outer(HEAVY_STEP, provider="inline"), heavy, 200)
    local2 = run(outer(HEAVY_STEP, provider="local", instances=2, batch_size=50), heavy, 200)
    rows.append(("CPU-heavy regex", "inline", inline, "local x2", local2))
    plain = run(outer(HEAVY_STEP, provider="local", instances=2, batch_size=50,
                      compress=False), heavy, 200)
    rows.append(("CPU-heavy regex", "inline", inline, "x2 no gzip", plain))
    inline = run(outer(TRIVIAL_STEP, provider="inline"), small, 5000)
    local1 = run(outer(TRIVIAL_STEP, provider="local", instances=1, batch_size=1000), small,
                 5000)
    rows.append(("trivial SetField", "inline", inline, "local x1", local1))
    print(f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the end); "
          f"{args.heavy} documents of {args.words} words; {args.trivial} small documents\n")
    print(f"{'subgraph':<18} {'baseline':<10} {'docs/s':>10}   {'remote':<10} {'docs/s':>10}"
          f"   {'ratio':>6}")
    for name, base, base_rate, other, other_rate in rows:
        print(f"{name:<18} {base:<10} {base_rate:>10,.0f}   {other:<10} {other_rate:>10,.0f}"
              f"   {other_rate / base_rate:>5.2f}x")


if __name__ == "__main__":
    main()
