"""The engine thread: hot reload, revisions, persistence, idempotency, the entry queue."""

import pytest

from pypes.errors import GraphError, NotFound, Overloaded, StaleRevision
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine
from pypes.store import GraphStore
from tests.plugins import chain, registry


@pytest.fixture
def engine(tmp_path):
    eng = Engine(registry(), data_dir=tmp_path, store=GraphStore(tmp_path / "graph.json"))
    eng.start(Graph.load(chain("Upper")))
    yield eng
    eng.stop()


def docs(*texts):
    return [Packet({"text": t}) for t in texts]


def test_change_bumps_rev_persists_and_keeps_unchanged_components(engine, tmp_path):
    engine.ingest(docs("a")).result()
    collect = engine.components["out"]

    def add_mark(g: Graph) -> None:
        g.add_component("Mark", "m")
        g.remove_wire("w2")
        g.add_wire(("c0", "out"), ("m", "in"))
        g.add_wire(("m", "out"), ("out", "in"))

    new = engine.change(add_mark).result()
    assert new.rev == 1
    assert engine.components["out"] is collect and len(collect.sink) == 1
    receipt = engine.ingest(docs("b"), wait=True).result()
    assert receipt.results == [{"text": "B", "mark": 1}]
    assert GraphStore(tmp_path / "graph.json").load().rev == 1


def test_a_bad_change_leaves_the_running_graph_alone(engine):
    with pytest.raises(GraphError, match="unknown class 'Nope'"):
        engine.change(lambda g: g.add_component("Nope") and None).result()
    assert engine.graph.rev == 0
    assert engine.ingest(docs("a"), wait=True).result().results == [{"text": "A"}]


def test_stale_if_match_is_refused(engine):
    engine.change(lambda g: None).result()
    with pytest.raises(StaleRevision):
        engine.change(lambda g: None, if_match=0).result()
    assert engine.change(lambda g: None, if_match=1).result().rev == 2


def test_params_change_replaces_component_and_takes_effect(engine):
    engine.change(lambda g: g.update_component("c0", {}) and None).result()
    engine.change(lambda g: None).result()
    assert engine.ingest(docs("q"), wait=True).result().results == [{"text": "Q"}]


def test_idempotency_key_is_answered_once(engine):
    first = engine.ingest(docs("a"), key="k1").result()
    again = engine.ingest(docs("a"), key="k1").result()
    assert again.duplicate and again.batch == first.batch
    assert len(engine.components["out"].sink) == 1


def test_waited_results_are_answered_not_also_kept_in_the_sink(engine):
    assert engine.ingest(docs("a"), wait=True).result().results == [{"text": "A"}]
    engine.ingest(docs("b")).result()
    assert engine.components["out"].sink.read()[0] == [{"text": "B"}]


def test_route_without_adapter_is_not_found(engine):
    with pytest.raises(NotFound, match="/docs/news"):
        engine.ingest(docs("a"), "news")


def test_entry_queue_limit_answers_overloaded(tmp_path):
    eng = Engine(registry(), data_dir=tmp_path, queue_limit=5)
    eng.start(Graph.load(chain("Upper")))
    try:
        with pytest.raises(Overloaded):
            eng.ingest(docs(*"abcdefg"))
    finally:
        eng.stop()


def test_removed_component_with_queued_documents_dead_letters_them(engine):
    engine.components["c0"]._inbox["in"].append(Packet({"text": "held"}))
    engine.change(lambda g: g.remove_component("c0")).result()
    assert [d["document"] for d in engine.dead_letters.list()] == [{"text": "held"}]


def test_a_params_change_hands_queued_documents_to_the_new_instance(tmp_path):
    eng = Engine(registry(), data_dir=tmp_path)
    eng.start(Graph.load(chain("Mark")))
    try:
        old = eng.components["c0"]
        old._inbox["in"].append(Packet({"text": "held"}))
        # an edit may return what it changed rather than the graph
        eng.change(lambda g: g.update_component("c0", {"value": 2})).result()
        assert eng.components["c0"] is not old and len(eng.dead_letters) == 0
        eng.trigger().result()  # a pass after the change
        assert eng.components["out"].sink.read()[0] == [{"text": "held", "mark": 2}]
    finally:
        eng.stop()
