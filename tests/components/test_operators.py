import time
from contextlib import contextmanager

import pytest
from pydantic import ValidationError

from pypes.components.operators import Collate, Delay, Merge, Split
from pypes.components.registry import Registry
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine
from pypes.testing import run_component, run_graph


def chain(*components, extra_wires=()):
    """A graph of components wired one after the other, ``out`` to ``in``."""
    specs = [{"id": cid, "class": cls, "params": params} for cid, cls, params in components]
    wires = [{"from": [a["id"], "out"], "to": [b["id"], "in"]}
             for a, b in zip(specs, specs[1:], strict=False)]
    return {"pypes": 1, "components": specs, "wires": wires + list(extra_wires)}


@contextmanager
def running(graph, tmp_path, **options):
    engine = Engine(Registry.discover(), data_dir=tmp_path, **options)
    engine.start(Graph.load(graph))
    try:
        yield engine
    finally:
        engine.stop()


def test_split_sends_each_document_to_both_outputs_as_separate_copies():
    sinks = run_component(Split(), [{"n": 1, "tags": ["a"]}, {"n": 2, "tags": []}])
    assert sinks["out"].docs == sinks["out2"].docs == [{"n": 1, "tags": ["a"]},
                                                       {"n": 2, "tags": []}]
    sinks["out2"].docs[0]["tags"].append("changed")
    assert sinks["out"].docs[0]["tags"] == ["a"]


def test_split_and_merge_in_a_graph_send_both_branches_on():
    graph = {
        "pypes": 1,
        "components": [
            {"id": "in", "class": "JsonReader"},
            {"id": "split", "class": "Split"},
            {"id": "left", "class": "SetField", "params": {"field": "side", "value": "left"}},
            {"id": "right", "class": "SetField", "params": {"field": "side", "value": "right"}},
            {"id": "merge", "class": "Merge"},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [
            {"from": ["in", "out"], "to": ["split", "in"]},
            {"from": ["split", "out"], "to": ["left", "in"]},
            {"from": ["split", "out2"], "to": ["right", "in"]},
            {"from": ["left", "out"], "to": ["merge", "in"]},
            {"from": ["right", "out"], "to": ["merge", "in2"]},
            {"from": ["merge", "out"], "to": ["out", "in"]},
        ],
    }
    results = run_graph(graph, [{"n": 1}, {"n": 2}]).results
    assert sorted((d["n"], d["side"]) for d in results) == [
        (1, "left"), (1, "right"), (2, "left"), (2, "right")]


def test_merge_passes_on_both_inputs():
    merge = Merge()
    merge._inbox["in2"].append(Packet({"n": 2}))
    assert run_component(merge, [{"n": 1}])["out"].docs == [{"n": 1}, {"n": 2}]


def test_collate_sends_full_groups_and_holds_the_rest_across_passes():
    collate = Collate(params={"size": 2})
    sinks = run_component(collate, [{"n": 1}, {"n": 2}, {"n": 3}])
    assert sinks["out"].docs == [{"documents": [{"n": 1}, {"n": 2}]}]
    assert collate.status() == {"held": 1}
    sinks = run_component(collate, [{"n": 4}, {"n": 5}])
    assert sinks["out"].docs == [{"documents": [{"n": 3}, {"n": 4}]}]


def test_collate_groups_by_a_field():
    collate = Collate(params={"size": 2, "field": "k"})
    docs = [{"k": "a", "n": 1}, {"k": "b", "n": 2}, {"n": 3}, {"k": "a", "n": 4},
            {"k": ["x"], "n": 5}, {"n": 6}, {"k": ["x"], "n": 7}]
    assert run_component(collate, docs)["out"].docs == [
        {"k": "a", "documents": [{"k": "a", "n": 1}, {"k": "a", "n": 4}]},
        {"k": None, "documents": [{"n": 3}, {"n": 6}]},
        {"k": ["x"], "documents": [{"k": ["x"], "n": 5}, {"k": ["x"], "n": 7}]},
    ]


def test_collate_sends_a_short_group_after_max_wait():
    graph = chain(("in", "JsonReader", {}),
                  ("collate", "Collate", {"size": 10, "max_wait_ms": 100}),
                  ("out", "Collect", {}))
    started = time.monotonic()
    receipt = run_graph(graph, [{"n": 1}, {"n": 2}])
    assert time.monotonic() - started >= 0.1
    assert receipt.results == [{"documents": [{"n": 1}, {"n": 2}]}]


def test_collate_held_documents_become_dead_letters_when_it_is_removed(tmp_path):
    graph = chain(("in", "JsonReader", {}), ("collate", "Collate", {"size": 10}),
                  ("out", "Collect", {}))
    with running(graph, tmp_path) as engine:
        engine.ingest([Packet({"n": 1})], wait=True).result(timeout=10)

        def resize(graph: Graph) -> None:
            graph.update_component("collate", {"size": 3})

        engine.change(resize).result(timeout=10)
        assert len(engine.dead_letters) == 0  # a new size keeps the held group
        assert engine.component("collate").status() == {"held": 1}
        engine.change(lambda g: g.remove_component("collate")).result(timeout=10)
        deadline = time.monotonic() + 5
        while len(engine.dead_letters) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(engine.dead_letters) == 1


def test_a_smaller_size_sends_the_groups_that_are_now_full():
    collate = Collate(params={"size": 5})
    run_component(collate, [{"n": 1}, {"n": 2}, {"n": 3}])
    new = Collate.Params.model_validate({"size": 2})
    assert collate.reconfigure(new)
    collate.params = new
    assert run_component(collate)["out"].docs == [{"documents": [{"n": 1}, {"n": 2}, {"n": 3}]}]


def test_delay_holds_documents_without_stopping_the_rest_of_the_graph(tmp_path):
    graph = chain(("in", "JsonReader", {}), ("delay", "Delay", {"ms": 300}),
                  ("slow", "Collect", {}),
                  extra_wires=[{"from": ["in", "out"], "to": ["fast", "in"]}])
    graph["components"].append({"id": "fast", "class": "Collect"})
    with running(graph, tmp_path) as engine:
        engine.ingest([Packet({"n": 1}), Packet({"n": 2})]).result(timeout=10)
        # the pass that carried them is over: the fast branch has them, the slow one not yet
        assert engine.component("fast").sink.read()[0] == [{"n": 1}, {"n": 2}]
        assert len(engine.component("slow").sink) == 0
        deadline = time.monotonic() + 10
        while not len(engine.component("slow").sink) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert engine.component("slow").sink.read()[0] == [{"n": 1}, {"n": 2}]


def test_delay_respects_small_wires_and_keeps_order(tmp_path):
    graph = chain(("in", "JsonReader", {}), ("delay", "Delay", {"ms": 1}),
                  ("out", "Collect", {}))
    with running(graph, tmp_path, wire_capacity=5) as engine:
        packets = [Packet({"n": n}) for n in range(40)]
        receipt = engine.ingest(packets, wait=True).result(timeout=10)
    assert [d["n"] for d in receipt.results] == list(range(40))


def test_delay_of_zero_needs_no_event_loop():
    sinks = run_component(Delay(params={"ms": 0}), [{"n": 1}, {"n": 2}])
    assert sinks["out"].docs == [{"n": 1}, {"n": 2}]


@pytest.mark.parametrize("cls, params, field", [
    (Collate, {"size": 0}, "size"),
    (Collate, {"max_wait_ms": -1}, "max_wait_ms"),
    (Delay, {"ms": "soon"}, "ms"),
    (Delay, {"ms": -5}, "ms"),
    (Split, {"copies": 3}, "copies"),
])
def test_bad_params_name_the_field(cls, params, field):
    with pytest.raises(ValidationError) as info:
        cls(params=params)
    assert info.value.errors()[0]["loc"] == (field,)
