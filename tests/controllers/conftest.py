import pytest
from fastapi.testclient import TestClient

from pypes.graph import Graph
from pypes.scheduler import Engine
from pypes.server import create_app
from pypes.settings import load_settings
from pypes.store import GraphStore
from tests.plugins import chain, registry


@pytest.fixture
def make_client(tmp_path):
    """An in-process client for an app over a real engine with the test plugins."""
    clients = []

    def make(graph=None, **settings):
        cfg = load_settings(tmp_path, **settings)
        engine = Engine(registry(), data_dir=cfg.data_dir,
                        store=GraphStore(tmp_path / "graph.json"), queue_limit=cfg.queue_limit)
        engine.start(Graph.load(graph or chain("Upper")))
        client = TestClient(create_app(engine, cfg), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()
