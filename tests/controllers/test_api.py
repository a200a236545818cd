"""The REST API of DESIGN.md §7, in process: shapes, status codes and error messages."""

import gzip

import orjson
import pytest

from tests.plugins import chain


def post_json(client, path, data, **headers):
    return client.post(path, content=orjson.dumps(data),
                       headers={"content-type": "application/json", **headers})


def test_palette_lists_classes_with_ports_and_schema(client):
    everything = client.get("/filters").json()
    assert {"JsonReader", "Collect", "Upper"} <= {c["class"] for c in everything}
    adapters = client.get("/filters", params={"node": "Adapter"}).json()
    assert [c["class"] for c in adapters] == ["JsonReader"]
    reader = adapters[0]
    assert reader["inputs"][0]["name"] == "in"
    assert [p["name"] for p in reader["outputs"]] == ["out", "error"]
    assert reader["params_schema"]["properties"]["route"]
    assert reader["doc"].startswith("Passes JSON documents on")


def test_build_a_graph_with_filters_and_wires(client):
    made = client.post("/filters", json={"class": "Mark", "id": "m", "params": {"value": 7},
                                         "position": [5, 6]})
    assert made.status_code == 201
    assert made.json() | {"state": None} == {
        "id": "m", "class": "Mark", "type": "Transformer", "params": {"value": 7},
        "position": [5.0, 6.0], "inputs": ["in"], "outputs": ["out", "error"], "state": None}
    assert client.delete("/wires/w2").status_code == 204
    assert client.post("/wires", json={"from": ["c0", "out"], "to": ["m", "in"]}).status_code == 201
    wire = client.post("/wires", json={"from": ["m", "out"], "to": ["out", "in"]}).json()
    assert wire["from"] == ["m", "out"] and wire["id"].startswith("w")
    result = post_json(client, "/docs?wait=true", {"text": "hi"}).json()
    assert result["results"] == [{"text": "HI", "mark": 7}]
    assert client.put("/filters/m", json={"params": {"value": 8}}).json()["params"] == {"value": 8}
    assert post_json(client, "/docs?wait=true", {"text": "x"}).json()["results"][0]["mark"] == 8
    assert client.put("/filters/m", json={"position": [1, 2]}).json()["position"] == [1.0, 2.0]
    assert client.delete("/filters/m").status_code == 204
    assert all("m" not in (w["from"][0], w["to"][0]) for w in client.get("/wires").json())
    assert client.get("/graph").json()["rev"] == 7


def test_refusals_name_what_is_wrong(client):
    r = client.post("/filters", json={"class": "os.system"})
    assert r.status_code == 422 and "unknown class 'os.system'" in r.json()["error"]
    r = client.post("/filters", json={"class": "Mark", "params": {"value": "lots"}})
    assert r.status_code == 422 and "field 'value'" in r.json()["error"]
    r = client.post("/filters", json={"class": "Mark", "colour": 1})
    assert r.status_code == 422 and "colour" in r.json()["error"]
    r = client.post("/wires", json={"from": ["c0", "sideways"], "to": ["out", "in"]})
    assert r.status_code == 422 and "no output port 'sideways'" in r.json()["error"]
    r = client.post("/wires", json={"from": ["out", "error"], "to": ["c0", "in"]})
    assert r.status_code == 422 and "cycle through components c0 -> out -> c0" in r.json()["error"]
    assert client.get("/filters/ghost").status_code == 404
    assert client.delete("/wires/w99").json()["error"] == "no wire 'w99'"
    assert client.put("/filters/c0", json={"params": {"x": 1}}).status_code == 422
    assert client.get("/graph").json()["rev"] == 0


def test_put_graph_if_match_and_validate(client):
    graph = client.get("/graph").json()
    assert client.get("/graph").headers["etag"] == '"0"'
    graph["name"] = "renamed"
    ok = client.put("/graph", content=orjson.dumps(graph), headers={"If-Match": "0"})
    assert ok.status_code == 200 and ok.json()["rev"] == 1 and ok.json()["name"] == "renamed"
    stale = client.put("/graph", content=orjson.dumps(graph), headers={"If-Match": "0"})
    assert stale.status_code == 409 and "revision 1" in stale.json()["error"]
    graph["components"][0]["class"] = "Nope"
    bad = client.post("/graph/validate", content=orjson.dumps(graph))
    assert bad.status_code == 422 and bad.json()["detail"] == [
        "component 'reader': unknown class 'Nope'"]
    assert client.put("/graph", content=b"{").status_code == 422
    assert client.post("/graph/validate", content=orjson.dumps(
        client.get("/graph").json())).json()["valid"] is True


def test_docs_accepts_object_array_ndjson_and_gzip(client):
    assert post_json(client, "/docs", {"text": "a"}).json()["accepted"] == 1
    assert post_json(client, "/docs", [{"text": "b"}, {"text": "c"}]).status_code == 202
    nd = client.post("/docs?wait=true", content=b'{"text":"d"}\n\n{"text":"e"}\n',
                     headers={"content-type": "application/x-ndjson"})
    assert nd.json()["results"] == [{"text": "D"}, {"text": "E"}]
    gz = client.post("/docs?wait=true", content=gzip.compress(orjson.dumps([{"text": "f"}])),
                     headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert gz.json() | {"batch": None} == {"accepted": 1, "batch": None, "processed": 1,
                                           "errors": 0, "results": [{"text": "F"}],
                                           "failed": []}
    raw = client.post("/docs?wait=true", content=b'{"text": "g"}',
                      headers={"content-type": "application/octet-stream"})
    assert raw.json()["results"] == [{"text": "G"}]
    sink = client.get("/sinks/out").json()  # waited-for results were answered, not kept
    assert [d["text"] for d in sink["items"]] == list("ABC") and sink["cursor"] == 3


@pytest.mark.parametrize("body, headers, status, message", [
    (b"{", {}, 400, "body is not valid JSON"),
    (b"\xff\xfe", {}, 400, "body is not valid JSON"),
    (b"42", {}, 400, "must be an object"),
    (b"[1]", {}, 400, "element 1 is not a JSON object"),
    (b'{"a":1}\n{oops\n', {"content-type": "application/x-ndjson"}, 400, "line 2"),
    (b"not gzip", {"content-encoding": "gzip"}, 400, "not valid gzip"),
    (gzip.compress(b'{"a":1}')[:-6], {"content-encoding": "gzip"}, 400, "gzip"),
    (b"{}", {"content-encoding": "br"}, 400, "not supported"),
    (b'{"a":' * 100 + b"1" + b"}" * 100, {}, 400, "nested deeper"),
])
def test_bad_bodies_get_a_clear_4xx(client, body, headers, status, message):
    r = client.post("/docs", content=body, headers={"content-type": "application/json", **headers})
    assert r.status_code == status and message in r.json()["error"]
    assert client.get("/health").json()["status"] == "ok"


def test_wait_must_be_a_boolean(client):
    r = client.post("/docs?wait=maybe", content=b'{"text": "a"}')
    assert r.status_code == 422 and "wait" in r.json()["error"]
    assert client.get("/sinks/out").json()["items"] == []  # refused, so nothing was taken
    r = client.post("/docs?wait=yes", content=b'{"text": "b"}')
    assert r.status_code == 200 and r.json()["results"] == [{"text": "B"}]
    assert client.post("/docs?wait=0", content=b'{"text": "c"}').status_code == 202


def test_delta_answers_changes_to_the_posted_documents(client):
    long = "x" * 3000
    r = post_json(client, "/docs?wait=true&delta=true", [{"text": "a", "n": long}, {"text": "b"}])
    assert r.status_code == 200 and r.json()["results"] == [[0, {"text": "A"}, []],
                                                           [1, {"text": "B"}, []]]
    r = post_json(client, "/docs?wait=true&delta=true", [{"text": "d"}])  # small: whole
    assert r.json()["results"] == [{"text": "D"}]
    raw = client.post("/docs?wait=true&delta=true", content=b'{"text": "c"}',
                      headers={"content-type": "application/octet-stream"})
    assert raw.json()["results"] == [{"text": "C"}]  # parsed by the graph: a new document
    r = client.post("/docs?delta=true", content=b'{"text": "c"}')  # without wait: no results
    assert r.status_code == 202 and "results" not in r.json()


def test_documents_with_integer_keys_are_answered(make_client):
    client = make_client(chain("Lengths"))
    r = client.post("/docs?wait=true", content=b'{"text": "a bb cc"}')
    assert r.status_code == 200 and r.json()["results"] == [
        {"text": "a bb cc", "lengths": {"1": 1, "2": 2}}]


def test_limits_answer_413(make_client):
    client = make_client(max_body_bytes=2000, max_inflated_bytes=10_000, max_documents=3)
    big = orjson.dumps([{"text": "x" * 100}] * 30)
    assert client.post("/docs", content=big).status_code == 413
    bomb = gzip.compress(b'{"text": "' + b"a" * 1_000_000 + b'"}')
    r = client.post("/docs", content=bomb, headers={"content-encoding": "gzip"})
    assert r.status_code == 413 and "decompressed" in r.json()["error"]
    r = post_json(client, "/docs", [{"text": "a"}] * 4)
    assert r.status_code == 413 and "more than 3 documents" in r.json()["error"]


def test_full_entry_queue_answers_429_with_retry_after(make_client):
    client = make_client(queue_limit=2)
    r = post_json(client, "/docs", [{"text": "a"}] * 3)
    assert r.status_code == 429 and r.headers["retry-after"] == "1"


def test_sinks_page_long_poll_and_acknowledge(client):
    post_json(client, "/docs", [{"text": str(i)} for i in range(5)])
    page = client.get("/sinks/out", params={"limit": 2}).json()
    assert page["cursor"] == 2 and page["more"] is True
    rest = client.get("/sinks/out", params={"after": 2}).json()
    assert [d["text"] for d in rest["items"]] == ["2", "3", "4"]
    assert client.delete("/sinks/out", params={"upto": 3}).json() == {"acknowledged": 3}
    assert [d["text"] for d in client.get("/sinks/out").json()["items"]] == ["3", "4"]
    empty = client.get("/sinks/out", params={"after": 5, "wait": 0.05}).json()
    assert empty["items"] == [] and empty["cursor"] == 5
    assert client.get("/sinks/c0").status_code == 404
    assert client.get("/sinks/nothing").status_code == 404


def test_dead_letters_list_clear_and_replay(make_client):
    from tests.plugins import chain

    client = make_client(chain("FailOn"))
    r = post_json(client, "/docs?wait=true", [{"n": 1}, {"n": 2}]).json()
    assert r["errors"] == 1 and r["results"] == [{"n": 2}]
    assert r["failed"] == [{"component": "c0", "error": "ComponentError: odd number 1",
                            "document": {"n": 1}}]
    items = client.get("/deadletters").json()["items"]
    assert items[0]["component"] == "c0" and items[0]["document"] == {"n": 1}
    assert "odd number 1" in items[0]["error"]
    assert client.post("/deadletters/replay").json()["replayed"] == 1
    assert client.get("/deadletters").json()["count"] == 1
    assert client.delete("/deadletters").json() == {"cleared": 1}


def test_stats_metrics_health_and_openapi(client):
    post_json(client, "/docs?wait=true", [{"text": "a"}, {"text": "b"}])
    stats = client.get("/stats").json()
    assert stats["components"]["c0"] | {"last_error": None} == {
        "class": "Upper", "type": "Transformer", "state": "ready", "in": 2, "out": 2,
        "errors": 0, "queued": 0, "last_error": None}
    assert stats["wires"]["w1"] == {"queued": 0, "capacity": 10_000}
    metrics = client.get("/metrics").text
    assert 'pypes_component_received_total{component="c0",class="Upper"} 2' in metrics
    assert client.get("/health").json()["status"] == "ok"
    spec = client.get("/api/openapi.json").json()
    assert "/docs" in spec["paths"] and "/filters/{component_id}" in spec["paths"]
    assert client.get("/api/docs").status_code == 200


def test_tokens_and_scopes(make_client):
    client = make_client(token="s3cret", tokens={"reader-token": ["read"]})
    assert client.get("/graph").status_code == 401
    assert client.get("/health").status_code == 200
    read = {"Authorization": "Bearer reader-token"}
    assert client.get("/graph", headers=read).status_code == 200
    r = post_json(client, "/docs", {"text": "a"}, **read)
    assert r.status_code == 403 and "ingest" in r.json()["error"]
    admin = {"Authorization": "Bearer s3cret"}
    assert post_json(client, "/docs", {"text": "a"}, **admin).status_code == 202
    assert client.get("/graph", headers={"Authorization": "Bearer wrong"}).status_code == 401
