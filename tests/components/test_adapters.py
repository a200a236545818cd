import codecs

import pytest
from pydantic import ValidationError

from pypes.components.adapters import CsvReader, HtmlReader, JsonReader, TextReader, XmlReader
from pypes.components.registry import Registry
from pypes.graph import Graph
from pypes.ingest import parse_body
from pypes.packet import Packet
from pypes.scheduler import Engine
from pypes.testing import run_component, run_graph


def raw(body: bytes | str, mimetype: str = "text/plain") -> Packet:
    data = body.encode() if isinstance(body, str) else body
    return Packet(meta={"mimetype": mimetype}, raw=data, batch="b1")


def docs_of(component, *bodies, docs=None):
    sinks = run_component(component, docs, packets=[raw(b) for b in bodies])
    return sinks["out"].docs, sinks["error"].packets


@pytest.mark.parametrize("cls", [JsonReader, CsvReader, TextReader, HtmlReader, XmlReader])
def test_a_parsed_document_passes_through_unchanged(cls):
    out, errors = docs_of(cls(), docs=[{"a": 1}])
    assert out == [{"a": 1}] and errors == []


def test_json_reader_parses_ndjson_and_rejects_garbage():
    out, errors = docs_of(JsonReader(), b'{"a": 1}\n{"a": 2}\n', b"{nope")
    assert out == [{"a": 1}, {"a": 2}]
    assert len(errors) == 1 and "not valid JSON" in errors[0].meta["error"]["error"]


def test_adapters_take_only_their_route():
    graph = {
        "pypes": 1,
        "components": [
            {"id": "a", "class": "JsonReader", "params": {"route": "a"}},
            {"id": "b", "class": "JsonReader", "params": {"route": "b"}},
            {"id": "mark", "class": "SetField", "params": {"field": "via", "value": "b"}},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [
            {"from": ["a", "out"], "to": ["out", "in"]},
            {"from": ["b", "out"], "to": ["mark", "in"]},
            {"from": ["mark", "out"], "to": ["out", "in"]},
        ],
    }
    assert run_graph(graph, [{"n": 1}], route="b").results == [{"n": 1, "via": "b"}]
    assert run_graph(graph, [{"n": 1}], route="a").results == [{"n": 1}]


def test_csv_reader_makes_one_document_per_row_keeping_the_metadata():
    body = 'name,city\nAda,London\n"Grace, Rear Adm.",Arlington\n\nLinus,"Hel\nsinki"\n'
    sinks = run_component(CsvReader(), packets=[raw(body, "text/csv")])
    assert sinks["out"].docs == [
        {"name": "Ada", "city": "London"},
        {"name": "Grace, Rear Adm.", "city": "Arlington"},
        {"name": "Linus", "city": "Hel\nsinki"},
    ]
    assert all(p.batch == "b1" and p.raw is None for p in sinks["out"].packets)


def test_csv_reader_delimiter_byte_order_mark_and_short_rows():
    body = codecs.BOM_UTF8 + b"a;b;c\n1;2;3\n4;5\n"
    out, _ = docs_of(CsvReader(params={"delimiter": ";"}), body)
    assert out == [{"a": "1", "b": "2", "c": "3"}, {"a": "4", "b": "5"}]


def test_csv_reader_without_header_names_columns():
    out, _ = docs_of(CsvReader(params={"header": False}), "1,2\n3,4,5\n")
    assert out == [{"col1": "1", "col2": "2"}, {"col1": "3", "col2": "4", "col3": "5"}]
    out, _ = docs_of(CsvReader(params={"header": False, "fields": ["x", "y"]}), "1,2\n")
    assert out == [{"x": "1", "y": "2"}]


def test_csv_row_with_too_many_values_fails_alone():
    out, errors = docs_of(CsvReader(), "a,b\n1,2\n1,2,3\n4,5\n")
    assert out == [{"a": "1", "b": "2"}, {"a": "4", "b": "5"}]
    assert [e.data for e in errors] == [{"line": 3, "row": ["1", "2", "3"]}]
    assert "CSV line 3 has 3 values but 2 field names" in errors[0].meta["error"]["error"]


def test_undecodable_body_is_an_error_naming_the_encoding():
    out, errors = docs_of(CsvReader(), b"a\n\xff\xfe\xfa\n")
    assert out == [] and "not valid utf-8" in errors[0].meta["error"]["error"]
    out, _ = docs_of(CsvReader(params={"encoding": "latin-1"}), b"a\ncaf\xe9\n")
    assert out == [{"a": "café"}]


@pytest.mark.parametrize("params, field", [
    ({"delimiter": ";;"}, "delimiter"),
    ({"encoding": "klingon"}, "encoding"),
    ({"header": True, "sep": ","}, "sep"),
])
def test_csv_reader_bad_params_name_the_field(params, field):
    with pytest.raises(ValidationError) as info:
        CsvReader(params=params)
    assert info.value.errors()[0]["loc"] == (field,)


def test_text_reader_whole_body_or_one_document_per_line():
    assert docs_of(TextReader(), "hello\nworld\n")[0] == [{"text": "hello\nworld\n"}]
    out, _ = docs_of(TextReader(params={"split_lines": True, "field": "line"}),
                     "hello\r\n\n  \nworld")
    assert out == [{"line": "hello"}, {"line": "world"}]


def test_text_reader_honours_a_utf16_byte_order_mark():
    out, _ = docs_of(TextReader(), "naïve".encode("utf-16"))
    assert out == [{"text": "naïve"}]


PAGE = """<!DOCTYPE html><html><head><title>  Pypes &amp; pipes </title>
<style>body { color: red }</style><script>var hidden = "no";</script></head>
<body><h1>Welcome</h1><p>Documents   flow
through <b>boxes</b>.</p><ul><li>one</li><li>two</li></ul>
<noscript>enable js</noscript><p>caf&eacute; &#8364;5</p><pre>a
  b</pre></body></html>"""


def test_html_reader_gives_title_and_visible_text():
    out, errors = docs_of(HtmlReader(), PAGE)
    assert errors == []
    assert out == [{
        "title": "Pypes & pipes",
        "text": "Welcome\nDocuments flow through boxes.\none\ntwo\ncafé €5\na\nb",
    }]


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Feed</title>
<item><title>First</title><link>http://example.com/1</link>
<pubDate>Tue, 14 Sep 2010 10:00:00 +0000</pubDate>
<guid isPermaLink="false">id-1</guid><category>a</category><category>b</category>
<dc:creator>Ada</dc:creator></item>
<item><title>Second &amp; last</title><category>c</category></item>
</channel></rss>"""


def test_xml_reader_reads_rss_items():
    out, errors = docs_of(XmlReader(params={"path": ".//item"}), RSS)
    assert errors == []
    assert out == [
        {"title": "First", "link": "http://example.com/1",
         "pubDate": "Tue, 14 Sep 2010 10:00:00 +0000",
         "guid": {"isPermaLink": "false", "text": "id-1"},
         "category": ["a", "b"], "creator": "Ada"},
        {"title": "Second & last", "category": "c"},
    ]


def test_xml_reader_ignores_namespaces_so_atom_entries_are_found():
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>e1</id>
    <link href="http://example.com/e1"/></entry></feed>"""
    out, _ = docs_of(XmlReader(params={"path": ".//entry"}), atom)
    assert out == [{"id": "e1", "link": {"href": "http://example.com/e1"}}]


def test_xml_reader_paths_and_attributes():
    body = b'<list><item id="1" kind="x">one</item><item id="2"><n>2</n></item></list>'
    expected = [{"id": "1", "kind": "x", "text": "one"}, {"id": "2", "n": "2"}]
    for path in ("./item", "item", "/list/item", "./*"):
        assert docs_of(XmlReader(params={"path": path}), body)[0] == expected, path
    assert docs_of(XmlReader(params={"path": "/other/item"}), body)[0] == []


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>',
    b'<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>',
    b'<!doctype r><r/>',
    '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<r>&x;</r>'.encode("utf-16"),
])
def test_xml_reader_refuses_dtds_and_entities(body):
    out, errors = docs_of(XmlReader(), body)
    assert out == []
    assert "DTD or entity declarations" in errors[0].meta["error"]["error"]


def test_xml_reader_rejects_malformed_xml_and_bad_paths():
    out, errors = docs_of(XmlReader(), b"<r><a></r>", b"<r>&undefined;</r>", b"")
    assert out == [] and len(errors) == 3
    assert all("not well-formed XML" in e.meta["error"]["error"] for e in errors)
    with pytest.raises(ValidationError) as info:
        XmlReader(params={"path": "./item[@a="})
    assert info.value.errors()[0]["loc"] == ("path",)


def test_xml_reader_refuses_elements_nested_too_deep():
    deep = b"<r><item>" + b"<a>" * 100 + b"x" + b"</a>" * 100 + b"</item></r>"
    out, errors = docs_of(XmlReader(), deep)
    assert out == [] and "nested deeper than 64 levels" in errors[0].meta["error"]["error"]
    fine = b"<r><item>" + b"<a>" * 10 + b"x" + b"</a>" * 10 + b"</item></r>"
    assert len(docs_of(XmlReader(), fine)[0]) == 1


def test_an_rss_feed_posted_raw_becomes_dated_documents_in_a_running_graph(tmp_path):
    graph = Graph.load({
        "pypes": 1,
        "components": [
            {"id": "rss", "class": "XmlReader", "params": {"path": ".//item"}},
            {"id": "date", "class": "DateNormalizer", "params": {"field": "pubDate"}},
            {"id": "keep", "class": "DeleteField", "params": {"fields": ["guid", "creator"]}},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [
            {"from": ["rss", "out"], "to": ["date", "in"]},
            {"from": ["date", "out"], "to": ["keep", "in"]},
            {"from": ["keep", "out"], "to": ["out", "in"]},
        ],
    })
    with Engine(Registry.discover(), data_dir=tmp_path) as engine:
        engine.start(graph)
        receipt = engine.ingest(parse_body(RSS, "application/rss+xml"), wait=True).result(10)
    assert receipt.errors == 0
    assert receipt.results == [
        {"title": "First", "link": "http://example.com/1",
         "pubDate": "2010-09-14T10:00:00+00:00", "category": ["a", "b"]},
        {"title": "Second & last", "category": "c"},
    ]
