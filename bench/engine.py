"""Engine overhead: the reference workload through Pypes vs. hand-chained functions.

Prints docs/s for (a) plain Python functions, (b) the scheduler core in-process, (c) the
engine thread (what the server uses), and the ratios b/a and c/a. Goal: c/a >= 0.8.
Run: .venv/bin/python -m bench.engine [--batches N]
"""

from __future__ import annotations

import argparse
import copy
import time

from bench.workload import BATCH, GRAPH, by_hand, documents
from pypes.components.registry import Registry
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine, Scheduler
from pypes.scheduler.core import wire
from pypes.server import tune_gc


def timed(run, batches) -> float:
    start = time.perf_counter()
    for batch in batches:
        run(batch)
    return len(batches) * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tune_gc()  # as `pypes serve` and `pypes run` do; both sides run under it
    template = documents(BATCH)
    registry = Registry.discover()
    graph = Graph.load(GRAPH)

    components = {s.id: registry[s.class_](s.id, s.params) for s in graph.components}
    wire(components, graph.wires)
    core = Scheduler([components[i] for i in graph.order()])
    sink = components["out"].sink

    def through_core(batch):
        core.feed([Packet(d) for d in batch])
        core.run_until_idle()
        sink.ack(sink.cursor)

    engine = Engine(registry)
    engine.start(graph)
    esink = engine.components["out"].sink

    def through_engine(batch):
        engine.ingest([Packet(d) for d in batch], wait=True).result()
        esink.ack(esink.cursor)

    best = {"hand": 0.0, "core": 0.0, "engine": 0.0}
    runs = {"hand": by_hand, "core": through_core, "engine": through_engine}
    for _ in range(args.rounds):  # interleaved, best of N: the machine's noise hits all alike
        for name, run in runs.items():
            batches = [copy.deepcopy(template) for _ in range(args.batches)]
            best[name] = max(best[name], timed(run, batches))
    engine.stop()

    print(f"reference workload, {args.batches} x {BATCH}-document batches, best of {args.rounds}")
    print(f"{'path':<34}{'docs/s':>12}{'ratio':>8}")
    print(f"{'(a) hand-chained functions':<34}{best['hand']:>12,.0f}{1:>8.2f}")
    print(f"{'(b) scheduler core, in-process':<34}{best['core']:>12,.0f}"
          f"{best['core'] / best['hand']:>8.2f}")
    print(f"{'(c) engine thread (server path)':<34}{best['engine']:>12,.0f}"
          f"{best['engine'] / best['hand']:>8.2f}")


if __name__ == "__main__":
    main()
