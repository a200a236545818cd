import pytest
from pydantic import ValidationError

from pypes.components.extractors import EmailExtractor, RegexExtractor, WordCount
from pypes.testing import run_component


def out(component, *docs):
    return run_component(component, docs)["out"].docs


def test_email_extractor_lists_each_address_once_in_order():
    text = ("Write to ada@example.com or grace.hopper+navy@mail.example.org. "
            "Again: ada@example.com, not ada@ or @example.com or a@b.")
    [doc] = out(EmailExtractor(), {"text": text})
    assert doc["emails"] == ["ada@example.com", "grace.hopper+navy@mail.example.org"]


def test_email_extractor_field_target_and_missing_text():
    extractor = EmailExtractor(params={"field": "body", "target": "found"})
    assert out(extractor, {"body": "x@y.io"}, {"body": 7}, {}) == [
        {"body": "x@y.io", "found": ["x@y.io"]}, {"body": 7, "found": []}, {"found": []}]


def test_regex_extractor_all_matches_a_group_or_the_first():
    doc = {"t": "order 12 and order 345"}
    numbers = RegexExtractor(params={"field": "t", "pattern": r"order (\d+)", "target": "n",
                                     "group": 1})
    assert out(numbers, dict(doc))[0]["n"] == ["12", "345"]
    whole = RegexExtractor(params={"field": "t", "pattern": r"\d+", "target": "n"})
    assert out(whole, dict(doc))[0]["n"] == ["12", "345"]
    named = RegexExtractor(params={"field": "t", "pattern": r"order (?P<id>\d+)",
                                   "target": "n", "group": "id", "all": False})
    assert out(named, dict(doc), {"t": "none"}, {}) == [
        {**doc, "n": "12"}, {"t": "none", "n": None}, {"n": None}]


def test_regex_extractor_ignore_case():
    extractor = RegexExtractor(params={"field": "t", "pattern": "pypes", "target": "m",
                                       "ignore_case": True})
    assert out(extractor, {"t": "PyPes pypes"})[0]["m"] == ["PyPes", "pypes"]


@pytest.mark.parametrize("params, field, words", [
    ({"pattern": "(a"}, "pattern", "not a valid regular expression"),
    ({"pattern": "(a)", "group": 2}, None, "group 2 is not in the pattern"),
    ({"pattern": "(a)", "group": "name"}, None, "'name' is not a named group"),
    ({"pattern": "a", "target": ""}, "target", "at least 1 character"),
])
def test_regex_extractor_bad_params(params, field, words):
    full = {"field": "t", "target": "m", **params}
    with pytest.raises(ValidationError) as info:
        RegexExtractor(params=full)
    [error] = info.value.errors()
    assert words in error["msg"]
    if field:
        assert error["loc"] == (field,)


def test_word_count_counts_whitespace_separated_words():
    counter = WordCount()
    assert out(counter, {"text": "  one two\tthree\nfour "}, {"text": ""}, {"text": None}) == [
        {"text": "  one two\tthree\nfour ", "words": 4}, {"text": "", "words": 0},
        {"text": None, "words": 0}]
    custom = WordCount(params={"field": "body", "target": "n"})
    assert out(custom, {"body": "a b"}) == [{"body": "a b", "n": 2}]
    with pytest.raises(ValidationError) as info:
        WordCount(params={"field": "body", "taget": "n"})
    assert info.value.errors()[0]["loc"] == ("taget",)
