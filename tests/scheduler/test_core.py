"""The pass: process-style and tasklet-style components, errors, back-pressure, fan-out."""

from pypes.component import Component
from pypes.packet import Packet
from pypes.testing import run_component, run_graph
from tests.plugins import Crashy, FailOn, PairUp, chain, registry

REG = registry()


def test_process_components_run_in_order():
    receipt = run_graph(chain("Upper", "Mark"), [{"text": "a"}, {"text": "b"}], registry=REG)
    assert receipt.results == [{"text": "A", "mark": 1}, {"text": "B", "mark": 1}]


def test_tasklet_resumes_where_it_yielded_across_batches():
    comp = PairUp("pairs")
    first = run_component(comp, [{"n": 1}])
    assert first["out"].docs == []
    second = run_component(comp, [{"n": 2}, {"n": 3}])
    assert second["out"].docs == [{"pair": [{"n": 1}, {"n": 2}]}]


def test_failure_goes_to_the_error_port_when_wired():
    sinks = run_component(FailOn("f"), [{"n": 1}, {"n": 2}])
    assert sinks["out"].docs == [{"n": 2}]
    failed = sinks["error"].packets
    assert [p.data for p in failed] == [{"n": 1}]
    assert failed[0].meta["error"]["error"] == "ComponentError: odd number 1"


def test_failure_goes_to_dead_letters_when_not_wired_and_the_graph_goes_on():
    receipt = run_graph(chain("FailOn"), [{"n": n} for n in range(6)], registry=REG)
    assert receipt.errors == 3
    assert [d["n"] for d in receipt.results] == [0, 2, 4]


def test_a_tasklet_that_raises_is_restarted():
    comp = Crashy("c")
    first = run_component(comp, [{"n": 1}, {"crash": True}, {"n": 2}])
    assert first["out"].docs == [{"n": 1}, {"n": 2}]
    assert comp.counters.errors == 1 and "boom" in comp.counters.last_error
    again = run_component(comp, [{"n": 3}])
    assert again["out"].docs == [{"n": 3}]


def test_await_parks_a_tasklet_and_it_resumes_with_the_result():
    receipt = run_graph(chain("Sleepy", "Upper"), [{"text": "x"}], registry=REG)
    assert receipt.results == [{"text": "X", "slept": True}]


def test_fan_out_copies_for_second_receiver_only():
    graph = chain("Upper")
    graph["components"].append({"id": "side", "class": "Collect"})
    graph["wires"].append({"from": ["reader", "out"], "to": ["side", "in"]})
    receipt = run_graph(graph, [{"text": "a"}], registry=REG)
    assert sorted(d["text"] for d in receipt.results) == ["A", "a"]


def test_full_wire_holds_packets_until_there_is_room():
    class Counter(Component):
        pass

    src, dst = Counter("src"), Counter("dst")
    src.wire_capacity = dst.wire_capacity = 3
    from pypes.scheduler import Scheduler
    from pypes.scheduler.core import wire

    class W:
        from_ = ("src", "out")
        to = ("dst", "in")

    wire({"src": src, "dst": dst}, [W()])
    src._inbox["in"].extend(Packet({"n": i}) for i in range(10))
    Scheduler([src]).run_pass()
    assert len(dst._inbox["in"]) == 3 and src.queued() == 7


def test_process_batch_takes_a_pass_at_once_and_a_raise_fails_the_batch():
    class Stamp(Component):
        calls = 0

        def process_batch(self, packets):
            Stamp.calls += 1
            if any(p.data.get("bad") for p in packets):
                raise ValueError("bad batch")
            for p in packets:
                p.data["stamped"] = True
            return packets

    good = run_component(Stamp("s"), [{"n": 1}, {"n": 2}])
    assert good["out"].docs == [{"n": 1, "stamped": True}, {"n": 2, "stamped": True}]
    assert Stamp.calls == 1
    bad = run_component(Stamp("s"), [{"n": 1}, {"bad": True}])
    assert bad["out"].docs == [] and len(bad["error"].packets) == 2
