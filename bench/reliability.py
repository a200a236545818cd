"""Reliability figures, measured on real ``pypes serve`` processes in one run:

* /health latency (p50/p99) idle vs. while a flood saturates the graph — the ratio shows
  whether the server stalls behind a long pass;
* under the flood: documents accepted vs. refused with 429, the entry-queue fill at the
  first 429, and the server's peak resident memory (VmHWM);
* the cost of ``--durable``: /docs throughput with and without the journal.

Run: .venv/bin/python -m bench.reliability [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.procfs import peak_rss_mb  # noqa: E402
from tests.reliability.conftest import ServerProcess, chain  # noqa: E402

SATURATED = chain(("JsonReader", {}), ("Delay", {"ms": 100}), ("Null", {}))
PLAIN = chain(("JsonReader", {}), ("Null", {}))
BATCH = 100
FLOOD_ENV = {"PYPES_QUEUE_LIMIT": "1000", "PYPES_WIRE_CAPACITY": "1000"}


def body(start: int) -> bytes:
    docs = [{"n": n, "text": "lorem ipsum " * 40} for n in range(start, start + BATCH)]
    return orjson.dumps(docs)


async def health_latencies(url: str, stop: asyncio.Event) -> list[float]:
    out = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while not stop.is_set():
            t = time.perf_counter()
            (await http.get("/health")).raise_for_status()
            out.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.01)
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else float("nan")


async def flood(url: str, seconds: float, clients: int = 16) -> dict[str, object]:
    counts = {"sent": 0, "accepted": 0, "refused": 0, "other": 0}
    first_429_queue: list[int] = []
    stop = asyncio.Event()

    async def client(k: int) -> None:
        n = k * 10_000_000
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while not stop.is_set():
                answer = await http.post("/docs", content=body(n),
                                         headers={"Content-Type": "application/json"})
                n += BATCH
                counts["sent"] += BATCH
                if answer.status_code == 202:
                    counts["accepted"] += BATCH
                elif answer.status_code == 429:
                    counts["refused"] += BATCH
                    if not first_429_queue:
                        first_429_queue.append((await http.get("/stats")).json()["queued"])
                    await asyncio.sleep(float(answer.headers.get("Retry-After", 1)) / 10)
                else:
                    counts["other"] += BATCH

    health_stop = asyncio.Event()
    health = asyncio.create_task(health_latencies(url, health_stop))
    tasks = [asyncio.create_task(client(k)) for k in range(clients)]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    health_stop.set()
    latencies = await health
    return {**counts, "queued_at_first_429": first_429_queue[:1], "health": latencies}


async def idle_health(url: str, seconds: float) -> list[float]:
    stop = asyncio.Event()
    task = asyncio.create_task(health_latencies(url, stop))
    await asyncio.sleep(seconds)
    stop.set()
    return await task


async def throughput(url: str, seconds: float) -> float:
    done = 0
    end = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            while time.monotonic() < end:
                r = await http.post("/docs", content=body(0),
                                    headers={"Content-Type": "application/json"})
                r.raise_for_status()
                done += BATCH

    await asyncio.gather(*(client() for _ in range(4)))
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sat"
        config.mkdir()
        (config / "g.json").write_bytes(orjson.dumps(SATURATED))
        server = ServerProcess(config, "--graph", str(config / "g.json"), "--log-level",
                               "warning", env=FLOOD_ENV).start()
        try:
            idle = asyncio.run(idle_health(server.url, 2))
            result = asyncio.run(flood(server.url, args.seconds))
            peak = peak_rss_mb(server.process.pid)  # type: ignore[union-attr]
        finally:
            server.stop()
        busy = result.pop("health")
        print(f"flood ({args.seconds:.0f} s, 16 clients, {BATCH}-doc batches of ~500 B docs, "
              f"queue_limit 1000, wire_capacity 1000, Delay 100 ms): {result}")
        print(f"server peak RSS under flood: {peak:.0f} MB")
        print(f"/health p50/p99 idle: {pct(idle, 50):.2f}/{pct(idle, 99):.2f} ms; "
              f"under flood: {pct(busy, 50):.2f}/{pct(busy, 99):.2f} ms "
              f"({len(busy)} probes); p99 ratio {pct(busy, 99) / pct(idle, 99):.1f}x")
        rates = {}
        for name, extra in (("plain", ()), ("durable", ("--durable",)),
                            ("durable+full", ("--durable",))):
            cfg = Path(tmp) / name.replace("+", "-")
            cfg.mkdir()
            (cfg / "g.json").write_bytes(orjson.dumps(PLAIN))
            env = {"PYPES_JOURNAL_SYNC": "full"} if name == "durable+full" else {}
            server = ServerProcess(cfg, "--graph", str(cfg / "g.json"), "--log-level",
                                   "warning", *extra, env=env).start()
            try:
                rates[name] = asyncio.run(throughput(server.url, 3))
            finally:
                server.stop()
        print("/docs docs/s: " + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items())
              + f"; durable/plain {rates['durable'] / rates['plain']:.2f}, "
              f"full/plain {rates['durable+full'] / rates['plain']:.2f}")


if __name__ == "__main__":
    main()
