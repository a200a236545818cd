"""The local provider end to end: a real ``pypes serve`` master, real ``pypes worker``
processes on loopback, documents through them, and what happens when things die."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("local_master")
from local_master import Master, alive, pypes_master  # noqa: E402, I001
from pypes.testing import wait_for  # noqa: E402


def inner(*steps: dict[str, Any]) -> dict[str, Any]:
    """A subgraph: the given components in a chain, ending in a Collect."""
    components = [*steps, {"id": "inner_out", "class": "Collect", "params": {}}]
    wires = [{"from": [a["id"], "out"], "to": [b["id"], "in"]}
             for a, b in zip(components, components[1:], strict=False)]
    return {"pypes": 1, "name": "inner", "components": components, "wires": wires}


TAG = {"id": "tag", "class": "SetField", "params": {"field": "seen", "value": True}}


def outer(subgraph: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {
        "pypes": 1, "name": "outer",
        "components": [
            {"id": "reader", "class": "JsonReader", "params": {}},
            {"id": "remote", "class": "Composite",
             "params": {"provider": "local", "graph": subgraph, "linger_ms": 10, **params}},
            {"id": "out", "class": "Collect", "params": {}},
        ],
        "wires": [{"from": ["reader", "out"], "to": ["remote", "in"]},
                  {"from": ["remote", "out"], "to": ["out", "in"]}],
    }


@pytest.fixture
def master(tmp_path: Path) -> Iterator[Master]:
    with pypes_master(tmp_path / "config") as started:
        yield started


def sink(master: Master, cid: str = "out", expect: int = 0, timeout: float = 30) -> list[Any]:
    """Everything the master's Collect holds, waiting until there are ``expect``."""
    items: list[Any] = []
    cursor = 0

    def more() -> bool:
        nonlocal cursor
        page = master.api.get(f"/sinks/{cid}", params={"after": cursor, "wait": 0.5,
                                                      "limit": 100_000}).json()
        items.extend(page["items"])
        cursor = page["cursor"]
        return len(items) >= expect

    wait_for(more, timeout, interval=0, message=f"{expect} documents in {cid}")
    return items


def test_results_come_back_complete_and_in_their_own_form(master: Master) -> None:
    master.put_graph(outer(inner(TAG), instances=2, batch_size=25))
    docs = [{"id": i, "text": "Grüße ✓", "nested": {"list": [i, None, 1.5], "ok": True}}
            for i in range(300)]
    # posted while the workers are still being provisioned: they wait, then flow
    answer = master.api.post("/docs?wait=true", json=docs)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["errors"] == 0
    results = sorted(body["results"], key=lambda d: d["id"])
    assert results == [{**d, "seen": True} for d in docs]
    # the first worker ready may have done all the work; the second comes up meanwhile
    wait_for(lambda: {w["state"] for w in master.workers()} == {"ready"}, message="2 ready")
    workers = master.workers()
    assert len(workers) == 2
    assert all(alive(w["pid"]) and w["url"].startswith("http://127.0.0.1:") for w in workers)
    stats = master.component("remote")
    assert stats["state"] == "ready" and stats["provider"] == "local"
    assert stats["in"] == 300 and stats["out"] == 300
    assert stats["waiting"] == 0 and stats["in_flight"] == 0


def test_documents_wait_while_provisioning(master: Master) -> None:
    master.put_graph(outer(inner(TAG)))
    accepted = master.api.post("/docs", json=[{"id": i} for i in range(50)])
    assert accepted.status_code == 202
    first = master.component("remote")
    assert first["state"] in ("provisioning", "configuring")
    assert first["waiting"] == 50
    assert sorted(d["id"] for d in sink(master, expect=50)) == list(range(50))


def test_kill_9_of_a_worker_mid_stream_loses_nothing(master: Master) -> None:
    delay = {"id": "slow", "class": "Delay", "params": {"ms": 40}}
    master.put_graph(outer(inner(delay, TAG), instances=2, batch_size=20))
    master.wait_state("remote", "ready")
    wait_for(lambda: len([w for w in master.workers() if w["state"] == "ready"]) == 2,
             message="two ready workers")
    total = 2000
    for start in range(0, total, 100):
        posted = master.api.post("/docs", json=[{"id": i} for i in range(start, start + 100)])
        assert posted.status_code == 202
    busy = wait_for(lambda: [w for w in master.workers() if w["in_flight"]],
                    message="a worker with batches in flight")
    victim = busy[0]["pid"]
    os.kill(victim, signal.SIGKILL)
    results = sink(master, expect=total, timeout=60)
    ids = [d["id"] for d in results]
    assert sorted(set(ids)) == list(range(total))  # nothing lost
    assert len(ids) == total  # and the re-sent batches were not counted twice
    workers = wait_for(lambda: [w for w in master.workers() if w["state"] == "ready"]
                       if len(master.workers()) == 2 else None, message="the replacement")
    assert victim not in {w["pid"] for w in workers}
    assert master.component("remote")["state"] == "ready"


def test_deleting_the_composite_stops_its_workers(master: Master) -> None:
    master.put_graph(outer(inner(TAG), instances=2))
    master.wait_state("remote", "ready")
    pids = wait_for(lambda: [w["pid"] for w in master.workers() if w["pid"]]
                    if len(master.workers()) == 2 else None, message="two workers")
    assert master.api.delete("/filters/remote").status_code == 204
    wait_for(lambda: not any(alive(pid) for pid in pids), 15, message="workers to exit")
    wait_for(lambda: master.workers() == [], 5, message="no workers listed")


def test_replacing_the_graph_stops_the_old_workers(master: Master) -> None:
    master.put_graph(outer(inner(TAG)))
    master.wait_state("remote", "ready")
    pid = wait_for(lambda: master.workers() and master.workers()[0]["pid"])
    master.put_graph({"pypes": 1, "name": "plain", "components": [], "wires": []})
    wait_for(lambda: not alive(pid), 15, message="the worker to exit")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_no_worker_outlives_its_master(master: Master, sig: int) -> None:
    master.put_graph(outer(inner(TAG), instances=2))
    master.wait_state("remote", "ready")
    pids = wait_for(lambda: [w["pid"] for w in master.workers()]
                    if len(master.workers()) == 2 else None, message="two workers")
    master.stop(sig)
    wait_for(lambda: not any(alive(pid) for pid in pids), 15, message="workers to exit")


def test_changing_the_subgraph_reconfigures_the_running_workers(master: Master) -> None:
    master.put_graph(outer(inner(TAG)))
    first = master.api.post("/docs?wait=true", json={"id": 1}).json()["results"]
    assert first == [{"id": 1, "seen": True}]
    pid = master.workers()[0]["pid"]
    changed = {**TAG, "params": {"field": "seen", "value": "twice"}}
    update = master.api.put("/filters/remote", json={"params": {
        "provider": "local", "linger_ms": 10, "graph": inner(changed)}})
    assert update.status_code == 200, update.text
    second = master.api.post("/docs?wait=true", json={"id": 2}).json()["results"]
    assert second == [{"id": 2, "seen": "twice"}]
    assert [w["pid"] for w in master.workers()] == [pid]  # the same process, reconfigured


def test_changing_instances_scales_the_running_composite(master: Master) -> None:
    """Up: a second worker joins the first. Down: the newer one finishes its batches and
    stops; the first is never replaced, and no document is lost or doubled."""
    delay = {"id": "slow", "class": "Delay", "params": {"ms": 20}}
    master.put_graph(outer(inner(delay, TAG), batch_size=20))
    master.wait_state("remote", "ready")
    first = wait_for(lambda: master.workers() and master.workers()[0]["pid"])

    def set_instances(n: int) -> None:
        update = master.api.put("/filters/remote", json={"params": {
            "provider": "local", "linger_ms": 10, "batch_size": 20, "instances": n,
            "graph": inner(delay, TAG)}})
        assert update.status_code == 200, update.text

    def post(start: int) -> None:
        assert master.api.post("/docs", json=[{"id": i} for i in range(start, start + 200)]
                               ).status_code == 202

    post(0)
    set_instances(2)
    post(200)
    def ready() -> list[int]:
        return [w["pid"] for w in master.workers() if w["state"] == "ready"]

    both = wait_for(lambda: len(ready()) == 2 and ready(), message="a second worker")
    assert first in both
    post(400)
    set_instances(1)
    post(600)
    ids = [d["id"] for d in sink(master, expect=800, timeout=60)]
    assert sorted(ids) == list(range(800))
    wait_for(lambda: [w["pid"] for w in master.workers()] == [first], 15,
             message="only the first worker left")
    assert not alive(next(pid for pid in both if pid != first))
    assert master.component("remote")["state"] == "ready"


def test_a_composite_inside_a_composite(master: Master) -> None:
    nested = {"id": "deeper", "class": "Composite", "params": {
        "provider": "local", "linger_ms": 10,
        "graph": inner({"id": "up", "class": "CaseNormalizer",
                        "params": {"fields": ["text"], "case": "upper"}})}}
    master.put_graph(outer(inner(TAG, nested)))
    answer = master.api.post("/docs?wait=true", json=[{"id": 1, "text": "abc"},
                                                      {"id": 2, "text": "def"}])
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["results"], key=lambda d: d["id"]) == [
        {"id": 1, "text": "ABC", "seen": True}, {"id": 2, "text": "DEF", "seen": True}]


def test_registration_needs_the_token_the_master_issued(master: Master) -> None:
    master.put_graph(outer(inner(TAG)))
    master.wait_state("remote", "ready")
    worker = master.workers()[0]
    forged = master.api.post("/workers/register", json={
        "id": worker["id"], "url": "http://127.0.0.1:9", "token": "guess"})
    assert forged.status_code == 403
    unknown = master.api.post("/workers/register", json={
        "id": "nobody", "url": "http://127.0.0.1:9", "token": "guess"})
    assert unknown.status_code == 404
    bad_url = master.api.post("/workers/register", json={
        "id": worker["id"], "url": "file:///etc/passwd", "token": "guess"})
    assert bad_url.status_code == 422
    # and a worker only accepts its master's token
    refused = httpx.put(f"{worker['url']}/graph", json={"pypes": 1, "components": []})
    assert refused.status_code == 401


def test_the_worker_token_is_not_on_the_command_line():
    from pypes.cloud.local import LocalProvider
    from pypes.cloud.provider import WorkerSpec

    spec = WorkerSpec("w-1", "t0ken-s3cret", "http://127.0.0.1:1", "remote")
    command = LocalProvider().command(spec, Path("/tmp/x"))
    assert not any("t0ken-s3cret" in part for part in command)


def test_documents_that_fail_in_the_subgraph_come_home_as_dead_letters(master: Master) -> None:
    dates = {"id": "dates", "class": "DateNormalizer", "params": {"field": "day"}}
    master.put_graph(outer(inner(dates)))
    docs = [{"id": 1, "day": "2010-09-14"}, {"id": 2, "day": "someday"}]
    answer = master.api.post("/docs?wait=true", json=docs).json()
    assert [d["id"] for d in answer["results"]] == [1]
    assert answer["errors"] == 1
    letters = master.api.get("/deadletters").json()["items"]
    assert [(d["component"], d["document"]["id"]) for d in letters] == [("remote", 2)]
    assert "component 'dates' in the subgraph" in letters[0]["error"]
    assert "someday" in letters[0]["error"]
