"""Nothing let in: scoped bearer tokens, the loopback-only default, secret params kept
secret, no class loading by name, file writers confined to the data directory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pypes.controllers import common
from pypes.settings import load_settings
from tests.reliability.conftest import SERVE, chain, client

TOKENS = {"read-tok": ["read"], "ingest-tok": ["ingest"], "both-tok": ["read", "ingest"],
          "admin-tok": ["admin"]}
PIPE = chain(("JsonReader", {}), ("Collect", {}))


def test_tokens_and_scopes(live):
    server = live(PIPE, tokens=TOKENS)
    url = server.url
    with client(url) as anonymous:
        refused = anonymous.get("/stats")
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
        assert refused.json()["error"] == "a valid bearer token is required"
        assert anonymous.post("/docs", json={}).status_code == 401
        assert anonymous.get("/health").status_code == 200  # liveness stays open
    with client(url, "not-a-token") as wrong, client(url, "read-tok"[:-1]) as prefix:
        assert wrong.get("/stats").status_code == 401
        assert prefix.get("/stats").status_code == 401
    with client(url, "read-tok") as reader:
        assert reader.get("/graph").status_code == 200
        forbidden = reader.post("/docs", json={"a": 1})
        assert forbidden.status_code == 403 and "ingest" in forbidden.json()["error"]
        assert reader.put("/graph", json=PIPE).status_code == 403
    with client(url, "ingest-tok") as ingester:
        assert ingester.post("/docs", json={"a": 1}).status_code == 202
        assert ingester.get("/graph").status_code == 403
        assert ingester.delete("/deadletters").status_code == 403
    with client(url, "both-tok") as both:
        assert both.get("/stats").status_code == 200
        assert both.post("/docs", json={"a": 1}).status_code == 202
        assert both.post("/filters", json={"class": "Null"}).status_code == 403
    with client(url, "admin-tok") as admin:
        assert admin.post("/filters", json={"class": "Null", "id": "n"}).status_code == 201
        assert admin.get("/stats").status_code == 200
        assert admin.post("/docs", json={"a": 1}).status_code == 202


def test_tokens_are_compared_in_constant_time(live, monkeypatch):
    calls = []
    real = common.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(common.hmac, "compare_digest", spy)
    server = live(PIPE, tokens=TOKENS)
    with client(server.url, "admin-tok") as admin:
        assert admin.get("/stats").status_code == 200
    assert (b"admin-tok", b"admin-tok") in calls
    assert len(calls) == len(TOKENS)  # every token is compared: no early exit on a match


def test_scoped_tokens_from_pypes_toml(tmp_path, servers):
    config = tmp_path / "config"
    config.mkdir()
    (config / "pypes.toml").write_text(
        '[tokens]\nreader = ["read"]\nfeeder = ["ingest"]\n')
    assert load_settings(config).scopes_for() == {"reader": {"read"}, "feeder": {"ingest"}}
    server = servers(config, PIPE).start()
    with client(server.url) as anonymous, client(server.url, "reader") as reader, \
            client(server.url, "feeder") as feeder:
        assert anonymous.get("/graph").status_code == 401
        assert reader.get("/graph").status_code == 200
        assert reader.post("/docs", json={}).status_code == 403
        assert feeder.post("/docs", json={"a": 1}).status_code == 202


def test_an_unknown_scope_in_pypes_toml_refuses_to_start(tmp_path):
    (tmp_path / "pypes.toml").write_text('[tokens]\nt = ["root"]\n')
    done = subprocess.run([sys.executable, str(SERVE), "serve", "--port", "0",
                           "--config", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "unknown scopes ['root']" in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_binding_beyond_loopback_without_a_token_refuses_to_start(tmp_path, host):
    done = subprocess.run([sys.executable, "-m", "pypes", "serve", "--host", host, "--port", "0",
                           "--config", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"refusing to listen on {host} without a token" in done.stderr
    assert "Traceback" not in done.stderr


def test_binding_beyond_loopback_with_a_token_starts(tmp_path, servers):
    server = servers(tmp_path / "config", PIPE, "--host", "0.0.0.0", "--token", "t0k").start()
    url = server.url.replace("0.0.0.0", "127.0.0.1")
    with client(url) as anonymous, client(url, "t0k") as admin:
        assert anonymous.get("/graph").status_code == 401
        assert admin.get("/graph").status_code == 200


def test_secret_params_are_never_returned(live):
    server = live(PIPE)
    secret = "s3cret-value-1234"
    with client(server.url) as http:
        created = http.post("/filters", json={"class": "HttpPublisher", "id": "pub", "params": {
            "url": "http://127.0.0.1:9/in", "token": secret}})
        assert created.status_code == 201
        assert created.json()["params"]["has_token"] is True
        for path in ("/filters/pub", "/graph", "/stats", "/filters", "/metrics"):
            body = http.get(path).text
            assert secret not in body, path
        assert http.get("/filters/pub").json()["params"]["has_token"] is True
        # an update that leaves the secret out keeps it; an export re-imported keeps it too
        assert http.put("/filters/pub", json={"params": {"url": "http://127.0.0.1:9/x"}}
                        ).json()["params"]["has_token"] is True
        exported = http.get("/graph").json()
        assert http.put("/graph", json=exported).status_code == 200
    assert server.engine.components["pub"].params.token.get_secret_value() == secret


@pytest.mark.parametrize("name", ["os.system", "pypes.cli.main", "__import__('os').system('id')",
                                  "subprocess.Popen", "builtins.eval", "Component"])
def test_class_names_are_looked_up_never_imported(live, name):
    server = live(PIPE)
    graph = {"pypes": 1, "name": "x", "components": [{"id": "a", "class": name}], "wires": []}
    with client(server.url) as http:
        created = http.post("/filters", json={"class": name, "id": "x1"})
        assert created.status_code == 422 and "unknown class" in created.json()["error"]
        assert http.put("/graph", json=graph).status_code == 422
        assert http.post("/graph/validate", json=graph).status_code == 422
        assert http.get("/graph").json()["rev"] == 0


@pytest.mark.parametrize("path", ["../../etc/x", "/etc/x", "a/../../x", "..\\..\\x", "C:/x"])
def test_file_writers_cannot_leave_the_data_dir(live, path):
    server = live(PIPE)
    with client(server.url) as http:
        answer = http.post("/filters", json={"class": "JsonLinesWriter",
                                             "params": {"path": path}})
        assert answer.status_code == 422 and "path" in answer.json()["error"]


def test_a_symlink_out_of_the_data_dir_is_refused(live, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    graph = chain(("JsonReader", {}), ("JsonLinesWriter", {"path": "link/out.jsonl"}))
    server = live(graph)
    data = server.engine.context.data_dir
    data.mkdir(parents=True, exist_ok=True)
    (data / "link").symlink_to(outside)
    with client(server.url) as http:
        assert http.post("/docs?wait=true", json={"a": 1}).json()["errors"] == 1
        dead = http.get("/deadletters").json()["items"]
    assert "outside the data directory" in dead[0]["error"]
    assert not list(outside.iterdir())
