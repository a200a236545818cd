import pytest
from pydantic import ValidationError

from pypes.components.filters import DropDocument, Match
from pypes.components.registry import Registry
from pypes.errors import GraphError
from pypes.graph import Graph
from pypes.testing import run_component, run_graph


def test_drop_document_drops_equal_values_and_keeps_the_rest():
    drop = DropDocument(params={"field": "status", "equals": "spam"})
    sinks = run_component(drop, [{"status": "spam"}, {"status": "ham"}, {"other": 1}])
    assert sinks["out"].docs == [{"status": "ham"}, {"other": 1}]
    assert sinks["dropped"].docs == [{"status": "spam"}]


@pytest.mark.parametrize("equals, kept, dropped", [
    (None, [{"x": 1}, {"x": True}, {}], [{"x": None}]),
    (1, [{"x": None}, {"x": True}, {}], [{"x": 1}]),
    (True, [{"x": None}, {"x": 1}, {}], [{"x": True}]),
])
def test_drop_document_compares_json_values_not_python_truthiness(equals, kept, dropped):
    drop = DropDocument(params={"field": "x", "equals": equals})
    sinks = run_component(drop, [{"x": None}, {"x": 1}, {"x": True}, {}])
    assert sinks["out"].docs == kept and sinks["dropped"].docs == dropped


def test_drop_document_compares_objects():
    drop = DropDocument(params={"field": "x", "equals": {"a": [1, 2]}})
    sinks = run_component(drop, [{"x": {"a": [1, 2]}}, {"x": {"a": [2, 1]}}])
    assert sinks["out"].docs == [{"x": {"a": [2, 1]}}]


def test_match_keeps_documents_whose_field_matches():
    match = Match(params={"field": "text", "pattern": r"\bpypes\b"})
    docs = [{"text": "about pypes here"}, {"text": "pypesx"}, {"text": ["no", "pypes"]},
            {"text": 5}, {}]
    sinks = run_component(match, docs)
    assert sinks["out"].docs == [{"text": "about pypes here"}, {"text": ["no", "pypes"]}]
    assert len(sinks["dropped"].docs) == 3


def test_match_inverted_ignoring_case_and_numbers():
    match = Match(params={"field": "t", "pattern": "^SPAM", "invert": True, "ignore_case": True})
    assert run_component(match, [{"t": "spam!"}, {"t": "ham"}])["out"].docs == [{"t": "ham"}]
    number = Match(params={"field": "n", "pattern": r"^4\d\d$"})
    assert run_component(number, [{"n": 404}, {"n": 200}])["out"].docs == [{"n": 404}]


def test_a_bad_regex_is_a_validation_error_naming_the_pattern():
    with pytest.raises(ValidationError) as info:
        Match(params={"field": "t", "pattern": "(unclosed"})
    [error] = info.value.errors()
    assert error["loc"] == ("pattern",) and "not a valid regular expression" in error["msg"]
    graph = Graph.load({"pypes": 1, "components": [
        {"id": "m", "class": "Match", "params": {"field": "t", "pattern": "[a-"}}]})
    with pytest.raises(GraphError) as graph_info:
        graph.check(Registry.discover())
    message = str(graph_info.value)
    assert "'m'" in message and "'pattern'" in message and "regular expression" in message


def test_filters_in_a_running_graph():
    graph = {
        "pypes": 1,
        "components": [
            {"id": "in", "class": "JsonReader"},
            {"id": "drop", "class": "DropDocument", "params": {"field": "lang", "equals": "de"}},
            {"id": "match", "class": "Match", "params": {"field": "title", "pattern": "^A"}},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [
            {"from": ["in", "out"], "to": ["drop", "in"]},
            {"from": ["drop", "out"], "to": ["match", "in"]},
            {"from": ["match", "out"], "to": ["out", "in"]},
        ],
    }
    docs = [{"title": "Apple", "lang": "en"}, {"title": "Apfel", "lang": "de"},
            {"title": "Pear", "lang": "en"}]
    assert run_graph(graph, docs).results == [{"title": "Apple", "lang": "en"}]
