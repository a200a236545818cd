import pytest

from pypes.errors import GraphError, NotFound
from pypes.graph import Graph
from tests.plugins import chain, registry

REG = registry()


def problems(source) -> list[str]:
    with pytest.raises(GraphError) as info:
        Graph.load(source).check(REG)
    return info.value.problems


def test_round_trip_keeps_positions_and_numbers_wires():
    g = Graph.load(chain("Upper"))
    g.check(REG)
    dumped = g.dump()
    assert [w["id"] for w in dumped["wires"]] == ["w1", "w2"]
    assert Graph.load(dumped).dump() == dumped
    assert g.order() == ["reader", "c0", "out"]


def test_unknown_keys_are_named():
    data = chain("Upper")
    data["colour"] = "red"
    data["components"][1]["size"] = 3
    found = problems(data)
    assert "field 'colour': unknown key" in found
    assert "component 'c0' field 'size': unknown key" in found


def test_not_json_and_not_an_object():
    assert "graph is not valid JSON" in problems(b"{nope")[0]
    assert problems(b"[1]") == ["graph must be a JSON object"]
    assert "field 'pypes'" in problems({"pypes": 2})[0]


def test_unknown_class_bad_params_and_missing_port_are_named():
    data = chain("Nope", "Mark", c1={"value": "many"})
    data["wires"].append({"from": ["c1", "sideways"], "to": ["out", "in"]})
    found = problems(data)
    assert "component 'c0': unknown class 'Nope'" in found
    assert any(p.startswith("component 'c1': field 'value'") for p in found)
    assert any("component 'c1' has no output port 'sideways' (it has: out, error)" in p
               for p in found)


def test_cycle_names_the_components_on_it():
    data = chain("Upper", "Mark")
    data["wires"].append({"from": ["c1", "out"], "to": ["c0", "in"]})
    assert problems(data) == ["cycle through components c0 -> c1 -> c0"]


def test_ids_must_be_safe_and_unique():
    data = chain("Upper")
    data["components"][1]["id"] = "../etc"
    assert "must be 1-64 letters" in problems(data)[0]
    data = chain("Upper")
    data["components"][1]["id"] = "reader"
    assert "component 'reader': id is used twice" in problems(data)


def test_edits():
    g = Graph.load(chain())
    spec = g.add_component("Upper", position=(10, 20))
    assert spec.id == "upper1"
    assert g.add_component("Upper").id == "upper2"
    with pytest.raises(GraphError, match="already taken"):
        g.add_component("Upper", "upper1")
    wire = g.add_wire(("reader", "out"), ("upper1", "in"))
    assert wire.id == "w2"
    with pytest.raises(GraphError, match="already exists"):
        g.add_wire(("reader", "out"), ("upper1", "in"))
    g.remove_component("upper1")
    assert g.wire("w2") is None and g.component("upper1") is None
    with pytest.raises(NotFound):
        g.remove_wire("w99")
    with pytest.raises(NotFound):
        g.update_component("ghost", {})
