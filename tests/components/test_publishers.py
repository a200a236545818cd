import csv
import gzip
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import ValidationError

from pypes.component import Context
from pypes.components.publishers import (
    CsvWriter,
    Debug,
    HttpPublisher,
    JsonLinesWriter,
    Null,
)
from pypes.components.registry import Registry
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine
from pypes.testing import run_component, run_graph, wait_for


def in_dir(component, data_dir):
    component.context = Context(data_dir=data_dir)
    return component


def publish(reader_to, params, docs, **options):
    """Run docs through JsonReader → a publisher (+ a Collect beside it) on a real engine."""
    graph = {
        "pypes": 1,
        "components": [
            {"id": "in", "class": "JsonReader"},
            {"id": "pub", "class": reader_to, "params": params},
            {"id": "out", "class": "Collect"},
        ],
        "wires": [
            {"from": ["in", "out"], "to": ["pub", "in"]},
            {"from": ["in", "out"], "to": ["out", "in"]},
        ],
    }
    return run_graph(graph, docs, **options)


def test_json_lines_writer_appends_one_line_per_document(tmp_path):
    params = {"path": "out/docs.jsonl"}
    receipt = publish("JsonLinesWriter", params, [{"n": 1, "t": "café"}, {"n": 2}],
                      data_dir=tmp_path)
    assert receipt.results == [{"n": 1, "t": "café"}, {"n": 2}]
    publish("JsonLinesWriter", params, [{"n": 3}], data_dir=tmp_path)
    lines = (tmp_path / "out" / "docs.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"n": 1, "t": "café"}, {"n": 2}, {"n": 3}]


@pytest.mark.parametrize("cls", [JsonLinesWriter, CsvWriter])
@pytest.mark.parametrize("path", ["../escape.jsonl", "/etc/passwd", "a/../../b", "C:\\x"])
def test_file_writers_refuse_paths_outside_the_data_directory(cls, path):
    with pytest.raises(ValidationError) as info:
        cls(params={"path": path, "fields": ["a"]} if cls is CsvWriter else {"path": path})
    assert info.value.errors()[0]["loc"] == ("path",)


def test_a_symlink_out_of_the_data_directory_fails_the_documents(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (data / "link").symlink_to(outside)
    writer = in_dir(JsonLinesWriter(params={"path": "link/x.jsonl"}), data)
    sinks = run_component(writer, [{"n": 1}])
    assert "outside the data directory" in sinks["error"].packets[0].meta["error"]["error"]
    assert list(outside.iterdir()) == []


def test_a_file_that_cannot_be_written_fails_the_documents(tmp_path):
    (tmp_path / "taken").mkdir()
    writer = in_dir(JsonLinesWriter(params={"path": "taken"}), tmp_path)
    sinks = run_component(writer, [{"n": 1}, {"n": 2}])
    assert sinks["error"].docs == [{"n": 1}, {"n": 2}]
    assert "IsADirectoryError" in sinks["error"].packets[0].meta["error"]["error"]


def test_csv_writer_writes_a_header_once_then_rows(tmp_path):
    params = {"path": "rows.csv", "fields": ["name", "tags", "ok", "n"]}
    run_component(in_dir(CsvWriter(params=params), tmp_path),
                  [{"name": "Ada, Countess", "tags": ["a", "b"], "ok": True, "n": 1.5, "x": 0}])
    run_component(in_dir(CsvWriter(params=params), tmp_path), [{"name": "Grace"}])
    with open(tmp_path / "rows.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [["name", "tags", "ok", "n"], ["Ada, Countess", '["a","b"]', "true", "1.5"],
                    ["Grace", "", "", ""]]


def test_csv_writer_delimiter_and_formula_escaping(tmp_path):
    params = {"path": "f.csv", "fields": ["a", "b"], "delimiter": ";", "escape_formulas": True}
    run_component(in_dir(CsvWriter(params=params), tmp_path), [{"a": "=1+1", "b": "plain"}])
    assert (tmp_path / "f.csv").read_text() == "a;b\n'=1+1;plain\n"
    with pytest.raises(ValidationError) as info:
        CsvWriter(params={"path": "f.csv", "fields": []})
    assert info.value.errors()[0]["loc"] == ("fields",)


def test_debug_logs_each_document(caplog):
    caplog.set_level(logging.INFO, logger="pypes.debug")
    run_component(Debug("dbg", {"max_chars": 20}), [{"n": 1}, {"text": "x" * 100}])
    messages = [r.getMessage() for r in caplog.records if r.name == "pypes.debug"]
    assert messages[0] == 'dbg: {"n":1}'
    assert messages[1].startswith('dbg: {"text":"xxxx') and messages[1].endswith("…")
    assert len(messages[1]) == len("dbg: ") + 21


def test_null_drops_everything():
    null = Null()
    sinks = run_component(null, [{"n": 1}, {"n": 2}])
    assert null.counters.received == 2 and null.queued() == 0
    assert sinks["error"].docs == []


def test_readers_that_only_read_share_a_fanned_out_packet():
    assert all(cls.reads_only for cls in (JsonLinesWriter, CsvWriter, Debug, Null))


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append((self.path, headers, body))  # type: ignore[attr-defined]
        time.sleep(self.server.delay)  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.requests = []  # type: ignore[attr-defined]
    httpd.status = 200  # type: ignore[attr-defined]
    httpd.delay = 0.0  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def url(server, path="/ingest"):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def test_http_publisher_posts_json_batches(server):
    docs = [{"n": n} for n in range(5)]
    receipt = publish("HttpPublisher", {"url": url(server), "batch_size": 2}, docs)
    assert receipt.errors == 0
    assert [json.loads(body) for _, _, body in server.requests] == [
        [{"n": 0}, {"n": 1}], [{"n": 2}, {"n": 3}], [{"n": 4}]]
    path, headers, _ = server.requests[0]
    assert path == "/ingest" and headers["content-type"] == "application/json"
    assert "authorization" not in headers


def test_http_publisher_gzip_token_and_headers(server):
    params = {"url": url(server), "gzip": True, "token": "s3cret",
              "headers": {"X-Source": "pypes"}}
    publish("HttpPublisher", params, [{"n": 1}])
    [(_, headers, body)] = server.requests
    assert headers["content-encoding"] == "gzip"
    assert json.loads(gzip.decompress(body)) == [{"n": 1}]
    assert headers["authorization"] == "Bearer s3cret" and headers["x-source"] == "pypes"
    assert "s3cret" not in repr(HttpPublisher(params=params).params)


def publishing_engine(server, tmp_path):
    """A running engine with JsonReader -> HttpPublisher posting to ``server``."""
    engine = Engine(Registry.discover(), data_dir=tmp_path)
    engine.start(Graph.load({
        "pypes": 1,
        "components": [
            {"id": "in", "class": "JsonReader"},
            {"id": "pub", "class": "HttpPublisher", "params": {"url": url(server)}},
        ],
        "wires": [{"from": ["in", "out"], "to": ["pub", "in"]}],
    }))
    return engine


def test_a_failed_post_sends_its_documents_to_the_error_path(server, tmp_path):
    server.status = 503
    docs = [{"n": 1}, {"n": 2}, {"n": 3}]
    engine = publishing_engine(server, tmp_path)
    try:
        receipt = engine.ingest([Packet(d) for d in docs], wait=True).result(timeout=30)
        letters = engine.dead_letters.list()
        stats = engine.stats()["components"]["pub"]
    finally:
        engine.stop()
    assert receipt.errors == 3
    assert [item["document"] for item in letters] == docs
    assert letters[0]["error"] == f"POST {url(server)} answered 503 Service Unavailable"
    assert stats["errors"] == 3 and stats["posted"] == 0


def test_documents_in_flight_when_the_engine_stops_become_dead_letters(server, tmp_path):
    server.delay = 1.0
    engine = publishing_engine(server, tmp_path)
    engine.ingest([Packet({"n": 1}), Packet({"n": 2})])
    wait_for(lambda: server.requests, message="the POST to start")
    engine.stop()
    letters = engine.dead_letters.list()
    assert [item["document"] for item in letters] == [{"n": 1}, {"n": 2}]
    assert "removed before the document was sent" in letters[0]["error"]


def test_an_unreachable_server_is_an_error_too(server):
    server.shutdown()
    server.server_close()
    graph = {
        "pypes": 1,
        "components": [
            {"id": "in", "class": "JsonReader"},
            {"id": "pub", "class": "HttpPublisher", "params": {"url": url(server)}},
            {"id": "failed", "class": "Collect"},
        ],
        "wires": [{"from": ["in", "out"], "to": ["pub", "in"]},
                  {"from": ["pub", "error"], "to": ["failed", "in"]}],
    }
    receipt = run_graph(graph, [{"n": 1}])
    assert receipt.results == [{"n": 1}]


@pytest.mark.parametrize("params, field", [
    ({"url": "ftp://example.com/x"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http://x", "batch_size": 0}, "batch_size"),
    ({"url": "http://x", "headers": {"Authorization": "Basic abc"}}, "headers"),
    ({"url": "http://x", "headers": {"X-A": "1\r\nX-B: 2"}}, "headers"),
    ({"url": "http://x", "timeout": 0}, "timeout"),
])
def test_http_publisher_bad_params_name_the_field(params, field):
    with pytest.raises(ValidationError) as info:
        HttpPublisher(params=params)
    assert info.value.errors()[0]["loc"] == (field,)


def test_a_torn_last_line_does_not_swallow_the_next_document(tmp_path):
    from pypes.component import Context
    from pypes.components.publishers import JsonLinesWriter
    from pypes.testing import run_component

    (tmp_path / "out.jsonl").write_bytes(b'{"id": 1}\n{"id": 2, "te')  # killed mid-write
    writer = JsonLinesWriter("w", {"path": "out.jsonl"})
    writer.context = Context(data_dir=tmp_path)
    run_component(writer, [{"id": 3}])
    assert (tmp_path / "out.jsonl").read_bytes().splitlines()[-1] == b'{"id":3}'
