"""HTTP throughput: the reference graph behind ``POST /docs?wait=true`` vs. the same work
on a bare Starlette+orjson endpoint, both under uvicorn, measured in one run.

A concurrent client (4 connections) posts 1000-document batches, plain and gzip.
Goal: Pypes >= 0.7 of the bare endpoint.
Run: .venv/bin/python -m bench.http [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

HERE = Path(__file__).resolve().parent
from bench.workload import BATCH, GRAPH, documents  # noqa: E402
from pypes.testing import ServerProcess  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, body: bytes, headers: dict[str, str], requests: int,
               connections: int) -> float:
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(requests):
            queue.put_nowait(n)

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                r = await client.post(url, content=body, headers=headers)
                assert r.status_code == 200 and len(r.json()["results"]) == BATCH, r.text[:200]

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return requests * BATCH / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
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
                for _ in range(100):
                    try:
                        httpx.get(f"http://127.0.0.1:{port}/")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                targets = {"bare": f"http://127.0.0.1:{port}/docs",
                           "pypes": f"{pypes.url}/docs?wait=true"}
                best: dict[tuple[str, str], float] = {}
                for _ in range(args.rounds):
                    for kind, (data, headers) in bodies.items():
                        for name, url in targets.items():
                            rate = asyncio.run(load(url, data, headers, args.requests,
                                                    args.connections))
                            best[(name, kind)] = max(best.get((name, kind), 0), rate)
        finally:
            bare.terminate()
            bare.wait()
    print(f"POST {BATCH}-document batches, {args.connections} connections, "
          f"{args.requests} requests, best of {args.rounds}")
    print(f"{'body':<6}{'bare docs/s':>14}{'pypes docs/s':>14}{'pypes/bare':>12}")
    for kind in bodies:
        b, p = best[("bare", kind)], best[("pypes", kind)]
        print(f"{kind:<6}{b:>14,.0f}{p:>14,.0f}{p / b:>12.2f}")


if __name__ == "__main__":
    main()
