"""``pypes serve`` as a user runs it: a real uvicorn process on a loopback port."""

import socket
import subprocess
import sys
from collections import Counter
from urllib.parse import urlsplit

import httpx
import orjson

from pypes.testing import ServerProcess, wait_for

DEMO = {
    "pypes": 1, "name": "two", "components": [
        {"id": "reader", "class": "JsonReader"},
        {"id": "out", "class": "Collect"}],
    "wires": [{"from": ["reader", "out"], "to": ["out", "in"]}]}


def test_serve_apply_restart_and_come_back_with_the_same_graph(tmp_path):
    (tmp_path / "g.json").write_bytes(orjson.dumps(DEMO))
    with ServerProcess(tmp_path, "--graph", str(tmp_path / "g.json")) as server:
        api = httpx.Client(base_url=server.url)
        assert api.post("/filters", json={"class": "CaseNormalizer", "id": "lower",
                                          "params": {"fields": ["text"]}}).status_code == 201
        api.delete("/wires/w1")
        api.post("/wires", json={"from": ["reader", "out"], "to": ["lower", "in"]})
        api.post("/wires", json={"from": ["lower", "out"], "to": ["out", "in"]})
        r = api.post("/docs?wait=true", json=[{"text": "ABC"}])
        assert r.json()["results"] == [{"text": "abc"}]
        exported = api.get("/graph").json()
    with ServerProcess(tmp_path) as again:
        assert httpx.get(f"{again.url}/graph").json() == exported
        r = httpx.post(f"{again.url}/docs?wait=true", json={"text": "XY"})
        assert r.json()["results"] == [{"text": "xy"}]


def test_demo_graph_from_the_config_dir(tmp_path):
    (tmp_path / "demo.json").write_bytes(open("config/demo.json", "rb").read())
    with ServerProcess(tmp_path) as server:
        r = httpx.post(f"{server.url}/docs?wait=true",
                       json=[{"text": "Mail Ann@Example.org now"}])
        assert r.json()["results"] == [{"text": "mail ann@example.org now",
                                         "emails": ["ann@example.org"]}]
        page = httpx.get(f"{server.url}/").text
        assert "Pypes" in page


def test_events_stream_sends_stats(tmp_path):
    (tmp_path / "g.json").write_bytes(orjson.dumps(DEMO))
    with ServerProcess(tmp_path, "--graph", str(tmp_path / "g.json")) as server:
        with httpx.stream("GET", f"{server.url}/events", timeout=10) as events:
            lines = events.iter_lines()
            data = next(line for line in lines if line.startswith("data: "))
            assert orjson.loads(data[6:])["components"]["out"]["class"] == "Collect"
            httpx.post(f"{server.url}/filters", json={"class": "Null"})
            assert next(line for line in lines if line.startswith("event: ")) == "event: graph"


def test_refuses_a_public_address_without_a_token(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pypes", "serve", "--host", "0.0.0.0",
                           "--port", "0", "--config", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "refusing to listen on 0.0.0.0 without a token" in done.stderr
    assert "Traceback" not in done.stderr


def test_workers_share_the_port_and_follow_graph_changes(tmp_path):
    (tmp_path / "g.json").write_bytes(orjson.dumps(DEMO))
    with ServerProcess(tmp_path, "--graph", str(tmp_path / "g.json"), "--workers", "2") as srv:
        for n in range(6):  # each request may land on either process; none is lost
            made = httpx.post(f"{srv.url}/filters", json={"class": "Null", "id": f"n{n}"})
            assert made.status_code == 201, made.text

        def every_process_has_all() -> bool:
            graphs = [httpx.get(f"{srv.url}/graph").json() for _ in range(8)]
            return all(len(g["components"]) == 8 and g["rev"] == 6 for g in graphs)

        wait_for(every_process_has_all, 10, message="every process on rev 6")
    assert srv.process.returncode is not None


def test_workers_all_listen_before_the_server_says_it_is_serving(tmp_path):
    """Connections opened at once right after the announcement (a proxy filling its
    keep-alive pool) reach every process, not only the first one up."""
    (tmp_path / "g.json").write_bytes(orjson.dumps(DEMO))
    with ServerProcess(tmp_path, "--graph", str(tmp_path / "g.json"), "--workers", "2") as srv:
        address = urlsplit(srv.url)
        conns = [socket.create_connection((address.hostname, address.port), timeout=10)
                 for _ in range(32)]
        answered: Counter[int] = Counter()
        for conn in conns:
            conn.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for conn in conns:
            with conn, conn.makefile("rb") as reply:
                body = reply.read().split(b"\r\n\r\n", 1)[1]
                answered[orjson.loads(body)["pid"]] += 1
    assert len(answered) == 2 and min(answered.values()) >= 4, answered
