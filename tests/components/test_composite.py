"""Composite: validation of its subgraph, the inline provider, and a local composite on an
engine without a server (``pypes run``, ``run_graph``) and when its workers cannot start."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from pypes.cloud import subgraph as subgraphs
from pypes.component import Component
from pypes.components.registry import Registry
from pypes.errors import GraphError
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine
from pypes.testing import run_graph

TAG = {"id": "tag", "class": "SetField", "params": {"field": "seen", "value": True}}
UPPER = {"id": "up", "class": "CaseNormalizer", "params": {"fields": ["text"], "case": "upper"}}


def inner(*steps: dict[str, Any], collect: bool = True) -> dict[str, Any]:
    components = [*steps] + ([{"id": "inner_out", "class": "Collect"}] if collect else [])
    wires = [{"from": [a["id"], "out"], "to": [b["id"], "in"]}
             for a, b in zip(components, components[1:], strict=False)]
    return {"pypes": 1, "name": "inner", "components": components, "wires": wires}


def outer(subgraph: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {
        "pypes": 1, "name": "outer",
        "components": [
            {"id": "reader", "class": "JsonReader"},
            {"id": "remote", "class": "Composite",
             "params": {"provider": "inline", "graph": subgraph, **params}},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [{"from": ["reader", "out"], "to": ["remote", "in"]},
                  {"from": ["remote", "out"], "to": ["out", "in"]}],
    }


def problems(graph: dict[str, Any]) -> list[str]:
    with pytest.raises(GraphError) as caught:
        Graph.load(graph).check(Registry.discover())
    return caught.value.problems


def test_nested_problems_name_the_component_inside_the_subgraph() -> None:
    bad = inner({"id": "x", "class": "Nope"}, {**UPPER, "params": {"case": "sideways"}})
    found = problems(outer(bad))
    assert len(found) == 1
    assert found[0].startswith("component 'remote': graph: component 'x': unknown class 'Nope'")
    assert "component 'up': field 'case'" in found[0]


def test_a_subgraph_without_a_collect_or_an_entry_is_refused() -> None:
    assert "no Collect publisher" in problems(outer(inner(TAG, collect=False)))[0]
    classes = Registry.discover()
    classes.add(Ticker)
    no_entry = {"pypes": 1, "components": [{"id": "t", "class": "Ticker"},
                                           {"id": "c", "class": "Collect"}],
                "wires": [{"from": ["t", "out"], "to": ["c", "in"]}]}
    assert subgraphs.problems(no_entry, classes) == [
        "it has no entry: add an Adapter (JsonReader) or leave a component's 'in' port unwired"]


class Ticker(Component):
    """A source with no input port."""

    inputs: dict[str, str] = {}


def test_an_empty_composite_can_be_placed_and_says_what_it_needs() -> None:
    graph = outer({"pypes": 1, "components": [], "wires": []})
    Graph.load(graph).check(Registry.discover())
    with Engine(Registry.discover()) as engine:
        engine.start(Graph.load(graph))
        receipt = engine.ingest([Packet({"id": 1})], wait=True).result(10)
        assert receipt.errors == 1
        stats = engine.stats()["components"]["remote"]
        assert stats["state"] == "failed" and "empty" in stats["reason"]


def test_inline_runs_the_subgraph_and_keeps_documents_attributed() -> None:
    receipt = run_graph(outer(inner(UPPER, TAG)), [{"id": i, "text": "ab"} for i in range(5)])
    assert receipt.errors == 0
    assert receipt.results == [{"id": i, "text": "AB", "seen": True} for i in range(5)]


def test_a_subgraph_without_an_adapter_takes_documents_at_its_free_in_ports() -> None:
    prepared = subgraphs.prepare(inner(TAG))
    entry = prepared.graph.component("entry")
    assert entry is not None and entry.class_ == "JsonReader"
    assert prepared.collects == ["inner_out"]


def test_inline_failures_are_the_composites_and_reach_the_dead_letters() -> None:
    dates = {"id": "dates", "class": "DateNormalizer", "params": {"field": "when"}}
    with Engine(Registry.discover()) as engine:
        engine.start(Graph.load(outer(inner(dates))))
        receipt = engine.ingest([Packet({"when": "2010-09-14"}), Packet({"when": "soon"})],
                                wait=True).result(10)
        assert receipt.results == [{"when": "2010-09-14"}]
        assert receipt.errors == 1
        [letter] = engine.dead_letters.list(10)
        assert letter["component"] == "remote/dates" and "soon" in letter["error"]
        remote = engine.stats()["components"]["remote"]
        assert remote["errors"] == 1 and "dates" in remote["last_error"]


def test_a_composite_inside_a_composite_inline() -> None:
    deeper = {"id": "deeper", "class": "Composite",
              "params": {"provider": "inline", "graph": inner(UPPER)}}
    receipt = run_graph(outer(inner(TAG, deeper)), [{"id": 1, "text": "x"}])
    assert receipt.results == [{"id": 1, "text": "X", "seen": True}]


def test_a_local_composite_runs_on_an_engine_without_a_server() -> None:
    receipt = run_graph(outer(inner(TAG), provider="local", instances=2, batch_size=10,
                              linger_ms=5), [{"id": i} for i in range(45)])
    assert sorted(receipt.results, key=lambda d: d["id"]) == [
        {"id": i, "seen": True} for i in range(45)]


class Rawify(Component):
    """Turns a document with ``raw`` into an unparsed body, as a plugin might."""

    def process(self, packet: Packet) -> Packet:
        if not packet.data.get("raw"):
            return packet
        return Packet(None, {"mimetype": "text/csv"}, b"a,b\n1,2\n", packet.batch)


def test_a_raw_body_is_refused_by_a_remote_composite_not_sent_as_nothing() -> None:
    graph = outer(inner(TAG), provider="local", linger_ms=5)
    graph["components"].insert(1, {"id": "rawify", "class": "Rawify"})
    graph["wires"][0] = {"from": ["reader", "out"], "to": ["rawify", "in"]}
    graph["wires"].insert(1, {"from": ["rawify", "out"], "to": ["remote", "in"]})
    registry = Registry.discover()
    registry.add(Rawify)
    receipt = run_graph(graph, [{"id": 1}, {"id": 2, "raw": True}], registry=registry)
    assert receipt.results == [{"id": 1, "seen": True}]
    [failed] = receipt.failed
    assert failed["component"] == "remote" and "Adapter" in failed["error"]


def test_pypes_run_with_a_local_composite(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    graph.write_bytes(orjson.dumps(outer(inner(TAG), provider="local", linger_ms=5)))
    docs = b"".join(orjson.dumps({"id": i}) + b"\n" for i in range(20))
    done = subprocess.run([sys.executable, "-m", "pypes", "run", str(graph)], input=docs,
                          capture_output=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    results = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert sorted(r["id"] for r in results) == list(range(20))
    assert all(r["seen"] is True for r in results)


class Shout(Component):
    """A class the master has and its workers do not (a plugin installed on one side)."""


def wait_state(engine: Engine, state: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = engine.stats()["components"]["remote"]
        if found["state"] == state:
            return found  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"composite never became {state}: {found}")


def test_a_subgraph_the_worker_refuses_fails_the_composite_with_its_words(
        monkeypatch: pytest.MonkeyPatch) -> None:
    classes = Registry.discover()
    classes.add(Shout)
    monkeypatch.setattr(subgraphs, "installed_classes", lambda: classes)
    graph = outer(inner({"id": "shout", "class": "Shout"}), provider="local")
    with Engine(classes) as engine:
        engine.start(Graph.load(graph))
        failed = wait_state(engine, "failed")
        assert "refused the subgraph" in failed["reason"]
        assert "component 'shout': unknown class 'Shout'" in failed["reason"]
        receipt = engine.ingest([Packet({"id": 1})], wait=True).result(10)
        assert receipt.errors == 1  # failed to the dead letters, not hung
        assert len(engine.dead_letters) == 1
    assert engine.stats()["components"]["remote"]["workers"] == []


def test_a_worker_that_does_not_register_in_time_fails_the_composite() -> None:
    graph = outer(inner(TAG), provider="local", startup_timeout=0.01)
    with Engine(Registry.discover()) as engine:
        engine.start(Graph.load(graph))
        failed = wait_state(engine, "failed")
        assert "did not register within 0.01 s" in failed["reason"]
