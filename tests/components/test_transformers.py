import pytest
from pydantic import ValidationError

from pypes.components.transformers import (
    CaseNormalizer,
    CopyField,
    DateNormalizer,
    DeleteField,
    RenameField,
    SetField,
)
from pypes.testing import run_component, run_graph


def out(component, *docs):
    return run_component(component, docs)["out"].docs


def test_case_normalizer_changes_text_and_lists_and_keeps_the_rest():
    docs = [{"a": "MiXed", "b": ["X", 1], "c": 5, "d": "Keep"}, {"other": "A"}]
    lower = CaseNormalizer(params={"fields": ["a", "b", "c", "missing"]})
    assert out(lower, *docs) == [{"a": "mixed", "b": ["x", 1], "c": 5, "d": "Keep"},
                                 {"other": "A"}]
    upper = CaseNormalizer(params={"fields": ["a"], "case": "upper"})
    assert out(upper, {"a": "straße"}) == [{"a": "STRASSE"}]


@pytest.mark.parametrize("cls, params, field", [
    (CaseNormalizer, {"fields": ["a"], "case": "title"}, "case"),
    (CaseNormalizer, {"fields": []}, "fields"),
    (SetField, {"field": "a"}, "value"),
    (SetField, {"field": "a", "value": {1, 2}}, "value"),
    (CopyField, {"source": "a"}, "target"),
    (RenameField, {"source": "", "target": "b"}, "source"),
    (DeleteField, {"fields": "a,b"}, "fields"),
    (DateNormalizer, {"field": "d", "dayfirst": "sometimes"}, "dayfirst"),
])
def test_bad_params_name_the_field(cls, params, field):
    with pytest.raises(ValidationError) as info:
        cls(params=params)
    assert info.value.errors()[0]["loc"][0] == field


def test_set_field_sets_any_json_and_each_document_gets_its_own_copy():
    assert out(SetField(params={"field": "n", "value": None}), {"n": 1}) == [{"n": None}]
    sinks = run_component(SetField(params={"field": "tags", "value": ["x"]}), [{}, {}])
    first, second = sinks["out"].docs
    first["tags"].append("changed")
    assert second == {"tags": ["x"]}


def test_copy_field_copies_deeply_and_skips_missing_fields():
    sinks = run_component(CopyField(params={"source": "a", "target": "b"}),
                          [{"a": {"x": 1}}, {"c": 1}])
    first, second = sinks["out"].docs
    first["a"]["x"] = 2
    assert first["b"] == {"x": 1} and second == {"c": 1}


def test_rename_field_replaces_the_target_and_skips_missing_fields():
    rename = RenameField(params={"source": "a", "target": "b"})
    assert out(rename, {"a": 1, "b": 2}, {"b": 3}) == [{"b": 1}, {"b": 3}]
    same = RenameField(params={"source": "a", "target": "a"})
    assert out(same, {"a": 1}) == [{"a": 1}]


def test_delete_field_removes_fields():
    delete = DeleteField(params={"fields": ["a", "b"]})
    assert out(delete, {"a": 1, "b": 2, "c": 3}, {"c": 4}) == [{"c": 3}, {"c": 4}]


@pytest.mark.parametrize("value, iso", [
    ("2010-09-14", "2010-09-14"),
    ("20100914", "2010-09-14"),
    ("2010-09-14T10:00:00Z", "2010-09-14T10:00:00+00:00"),
    ("2010-09-14 10:00", "2010-09-14T10:00:00"),
    ("Tue, 14 Sep 2010 10:00:00 +0200", "2010-09-14T10:00:00+02:00"),
    ("14 Sep 2010 10:00:00 GMT", "2010-09-14T10:00:00+00:00"),
    ("14/09/2010", "2010-09-14"),
    ("09/14/2010", "2010-09-14"),
    ("14.09.2010", "2010-09-14"),
    ("2010/09/14", "2010-09-14"),
    ("Sep 14, 2010", "2010-09-14"),
    ("September 14, 2010", "2010-09-14"),
    ("14 September 2010", "2010-09-14"),
    ("14/09/2010 10:30", "2010-09-14T10:30:00"),
    (1284458400, "2010-09-14T10:00:00+00:00"),
    ("1284458400", "2010-09-14T10:00:00+00:00"),
    (1284458400.5, "2010-09-14T10:00:00.500000+00:00"),
])
def test_date_normalizer_reads_common_forms(value, iso):
    assert out(DateNormalizer(params={"field": "d"}), {"d": value}) == [{"d": iso}]


def test_date_normalizer_day_first_or_month_first():
    month_first = DateNormalizer(params={"field": "d", "dayfirst": False})
    assert out(month_first, {"d": "01/02/2010"}) == [{"d": "2010-01-02"}]
    assert out(DateNormalizer(params={"field": "d"}), {"d": "01/02/2010"}) == [
        {"d": "2010-02-01"}]


def test_date_normalizer_writes_to_a_target_and_skips_missing_dates():
    normalizer = DateNormalizer(params={"field": "d", "target": "iso"})
    assert out(normalizer, {"d": "Sep 14, 2010"}, {"x": 1}, {"d": None}) == [
        {"d": "Sep 14, 2010", "iso": "2010-09-14"}, {"x": 1}, {"d": None}]


@pytest.mark.parametrize("value", ["next tuesday", "31/31/2010", True, [2010], 1e20])
def test_an_unreadable_date_fails_that_document_naming_the_value(value):
    normalizer = DateNormalizer(params={"field": "d"})
    sinks = run_component(normalizer, [{"d": value}, {"d": "2010-09-14"}])
    assert sinks["out"].docs == [{"d": "2010-09-14"}]
    [failed] = sinks["error"].packets
    assert failed.data == {"d": value}
    message = failed.meta["error"]["error"]
    assert f"cannot read {value!r} as a date" in message and "'d'" in message


def test_unreadable_dates_reach_the_dead_letters_in_a_running_graph():
    graph = {
        "pypes": 1,
        "components": [
            {"id": "in", "class": "JsonReader"},
            {"id": "lower", "class": "CaseNormalizer", "params": {"fields": ["text"]}},
            {"id": "date", "class": "DateNormalizer", "params": {"field": "when"}},
            {"id": "tag", "class": "SetField", "params": {"field": "seen", "value": True}},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [
            {"from": ["in", "out"], "to": ["lower", "in"]},
            {"from": ["lower", "out"], "to": ["date", "in"]},
            {"from": ["date", "out"], "to": ["tag", "in"]},
            {"from": ["tag", "out"], "to": ["out", "in"]},
        ],
    }
    receipt = run_graph(graph, [{"text": "Hello", "when": "Sep 14, 2010"},
                                {"text": "Bad", "when": "someday"}])
    assert receipt.results == [{"text": "hello", "when": "2010-09-14", "seen": True}]
    assert receipt.errors == 1
