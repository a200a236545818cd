"""Back-pressure: a saturated graph turns documents away with 429 + Retry-After (by
count and by bytes), shows the fill of each wire, and never stops answering /health."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson

from tests.reliability.conftest import chain, client

SLOW = chain(("JsonReader", {}), ("Delay", {"ms": 400}), ("Null", {}))


def post_many(url: str, bodies: list[bytes]) -> list[httpx.Response]:
    def post(body: bytes) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=30) as http:
            return http.post("/docs", content=body, headers={"Content-Type": "application/json"})

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def batch(start: int, size: int, pad: str = "") -> bytes:
    return orjson.dumps([{"n": n, "pad": pad} for n in range(start, start + size)])


def test_a_full_entry_queue_answers_429_with_retry_after(live):
    server = live(SLOW, wire_capacity=10, queue_limit=20)
    answers = post_many(server.url, [batch(n * 10, 10) for n in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert 202 in codes and 429 in codes, codes
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert "entry queue is full" in refused.json()["error"]
    with client(server.url) as http:
        wires = http.get("/stats").json()["wires"]
    assert set(wires) == {"w1", "w2"}
    assert all(w["capacity"] == 10 and 0 <= w["queued"] <= 10 for w in wires.values())


def test_the_entry_queue_is_bounded_by_bytes_too(live):
    server = live(SLOW, wire_capacity=10, queue_bytes=3000)
    pad = "x" * 150
    answers = post_many(server.url, [batch(n * 10, 10, pad) for n in range(6)])
    refused = [a for a in answers if a.status_code == 429]
    assert refused and "bytes" in refused[0].json()["error"]
    assert {a.status_code for a in answers} == {202, 429}


def test_health_answers_while_a_pass_holds_the_engine(live):
    held = chain(("JsonReader", {}), ("Hold", {"seconds": 2}), ("Null", {}))
    server = live(held, stall_seconds=0.3)
    posting = threading.Thread(target=post_many, args=(server.url, [batch(0, 1)]))
    posting.start()
    seen = []
    with client(server.url) as http:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            health = http.get("/health").json()
            seen.append(health["status"])
            if health["status"] == "degraded":
                assert health["stalled"][0]["component"] == "c1"
                assert http.get("/stats").json()["stalled"][0]["component"] == "c1"
                break
            time.sleep(0.05)
        posting.join()
        assert "degraded" in seen
        assert http.get("/health").json() | {"uptime": 0} == \
            {"status": "ok", "rev": 0, "uptime": 0, "stalled": [], "pid": os.getpid()}
