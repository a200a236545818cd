"""HTTP throughput: the reference graph behind ``POST /docs?wait=true`` vs. the same work
on a bare Starlette+orjson endpoint, both under uvicorn, measured in one run.

wrk (``bench/loadgen.py``) posts 1000-document batches on 4 connections, plain and gzip,
alternating between the two servers, best of N rounds. Goal: Pypes >= 0.7 of the bare
endpoint.
Run: .venv/bin/python -m bench.http [--seconds S] [--rounds N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import orjson

from bench.loadgen import post_rate
from bench.workload import BATCH, GRAPH, documents
from pypes.testing import ServerProcess, free_port, wait_for

HERE = Path(__file__).resolve().parent


def answers(url: str) -> bool:
    try:
        httpx.get(url)
    except httpx.TransportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    body = orjson.dumps(documents(BATCH))
    bodies = {
        "json": (body, {"content-type": "application/json"}),
        "gzip": (gzip.compress(body, 5), {"content-type": "application/json",
                                          "content-encoding": "gzip"}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        graph_file = Path(tmp) / "graph.json"
        graph_file.write_text(json.dumps(GRAPH))
        port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port),
             "--log-level", "warning", "--no-access-log"], cwd=HERE.parent)
        try:
            with ServerProcess(Path(tmp), "--graph", str(graph_file),
                               "--log-level", "warning") as pypes:
                wait_for(lambda: answers(f"http://127.0.0.1:{port}/"),
                         message="the bare endpoint to answer")
                targets = {"bare": f"http://127.0.0.1:{port}/docs",
                           "pypes": f"{pypes.url}/docs?wait=true"}
                best: dict[tuple[str, str], float] = {}
                for _ in range(args.rounds):
                    for kind, (data, headers) in bodies.items():
                        for name, url in targets.items():
                            rate = post_rate(url, data, headers, documents=BATCH,
                                             seconds=args.seconds,
                                             connections=args.connections)
                            best[(name, kind)] = max(best.get((name, kind), 0), rate)
        finally:
            bare.terminate()
            bare.wait()
    print(f"POST {BATCH}-document batches with wrk, {args.connections} connections, "
          f"{args.seconds} s per run, best of {args.rounds}")
    print(f"{'body':<6}{'bare docs/s':>14}{'pypes docs/s':>14}{'pypes/bare':>12}")
    for kind in bodies:
        b, p = best[("bare", kind)], best[("pypes", kind)]
        print(f"{kind:<6}{b:>14,.0f}{p:>14,.0f}{p / b:>12.2f}")


if __name__ == "__main__":
    main()
