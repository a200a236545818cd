"""Scale and memory: ``pypes serve --workers N`` for N = 1 and 2 on a CPU-heavy graph, and
the resident memory of one server idle and after many documents.

wrk holds 16 connections: the kernel spreads connections over the processes (each listens
with SO_REUSEPORT), so with only 4 one process would often get 3 of them.

Run: .venv/bin/python -m bench.scale [--seconds S] [--connections C] [--documents N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import httpx
import orjson

from bench.loadgen import post_rate
from bench.procfs import peak_rss_mb
from bench.workload import BATCH, GRAPH, documents
from pypes.testing import ServerProcess

HEAVY = {
    "pypes": 1,
    "name": "heavy",
    "components": [
        {"id": "reader", "class": "JsonReader"},
        {"id": "words", "class": "RegexExtractor",
         "params": {"field": "text", "pattern": r"\b(\w+)\s+\1\b|\b\w*(?:ow|ed|er)\w*\b",
                    "target": "found"}},
        {"id": "out", "class": "Collect"},
    ],
    "wires": [{"from": ["reader", "out"], "to": ["words", "in"]},
              {"from": ["words", "out"], "to": ["out", "in"]}],
}


def throughput(workers: int, body: bytes, seconds: int, connections: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "g.json"
        graph.write_text(json.dumps(HEAVY))
        with ServerProcess(Path(tmp), "--graph", str(graph), "--workers", str(workers),
                           "--log-level", "warning") as server:
            return post_rate(f"{server.url}/docs?wait=true", body,
                             {"content-type": "application/json"}, documents=BATCH,
                             seconds=seconds, connections=connections)


def memory(total_documents: int) -> tuple[float, float, float]:
    body = orjson.dumps(documents(BATCH))
    with tempfile.TemporaryDirectory() as tmp:
        graph = Path(tmp) / "g.json"
        graph.write_text(json.dumps(GRAPH))
        with ServerProcess(Path(tmp), "--graph", str(graph), "--log-level", "warning") as srv:
            pid = srv.process.pid
            idle = peak_rss_mb(pid)
            with httpx.Client(base_url=srv.url, timeout=60) as client:
                marks = []
                for n in range(total_documents // BATCH):
                    client.post("/docs?wait=true", content=body,
                                headers={"content-type": "application/json"})
                    if n + 1 in (max(1, total_documents // BATCH // 10), total_documents // BATCH):
                        marks.append(peak_rss_mb(pid))
            return idle, marks[0], marks[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--documents", type=int, default=1_000_000)
    args = parser.parse_args()
    long_docs = [{"id": d["id"], "text": " ".join([d["text"]] * 10)} for d in documents(BATCH)]
    body = orjson.dumps(long_docs)
    one = throughput(1, body, args.seconds, args.connections)
    two = throughput(2, body, args.seconds, args.connections)
    print(f"CPU-heavy graph (RegexExtractor over 200-word texts), {BATCH}-document batches")
    print(f"{'processes':<12}{'docs/s':>12}{'ratio':>8}")
    print(f"{'1':<12}{one:>12,.0f}{1:>8.2f}")
    print(f"{'2':<12}{two:>12,.0f}{two / one:>8.2f}")
    idle, early, late = memory(args.documents)
    print("\npeak resident memory of one `pypes serve` (reference graph, ?wait=true batches)")
    print(f"idle {idle:.0f} MB; after {args.documents // 10:,} documents {early:.0f} MB; "
          f"after {args.documents:,} documents {late:.0f} MB")


if __name__ == "__main__":
    main()
