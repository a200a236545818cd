"""Fixtures for the reliability and security tests: real server processes (stopped by
their own pid) and in-process servers on a loopback port."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn

from pypes.graph import Graph
from pypes.scheduler import Engine
from pypes.server import bind, create_app
from pypes.settings import Settings
from tests.reliability.plugins import registry

SERVE = Path(__file__).with_name("serve.py")


def chain(*specs: tuple[str, dict[str, Any]], name: str = "t") -> dict[str, Any]:
    """A graph running its components one after the other: ``("JsonReader", {}), …``."""
    components = [{"id": f"c{n}", "class": cls, "params": params}
                  for n, (cls, params) in enumerate(specs)]
    wires = [{"from": [f"c{n}", "out"], "to": [f"c{n + 1}", "in"]}
             for n in range(len(specs) - 1)]
    return {"pypes": 1, "name": name, "components": components, "wires": wires}


class ServerProcess:
    """``pypes serve`` (with the test plugins) in a subprocess on a free loopback port."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None,
                 preexec: Callable[[], None] | None = None) -> None:
        self.config = config
        self.argv = [sys.executable, str(SERVE), "serve", "--port", "0",
                     "--config", str(config), *args]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.preexec = preexec
        self.url = ""
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.url = ""
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=self.env, start_new_session=True, preexec_fn=self.preexec)
        found = threading.Event()
        process = self.process

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                self.lines.append(line)
                match = re.search(r" on (http://\S+)$", line.strip())
                if match:
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        found.wait(timeout)
        if not self.url:
            self.stop()
            raise RuntimeError("pypes did not start:\n" + self.log)
        return self

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode


@pytest.fixture
def servers() -> Iterator[Callable[..., ServerProcess]]:
    """Make ``ServerProcess``es; every one is stopped (by its pid) at the end."""
    made: list[ServerProcess] = []

    def make(config: Path, graph: dict[str, Any] | None = None, *args: str,
             **kw: Any) -> ServerProcess:
        config.mkdir(parents=True, exist_ok=True)
        extra = list(args)
        if graph is not None:
            path = config / "start-graph.json"
            path.write_bytes(orjson.dumps(graph))
            extra += ["--graph", str(path)]
        server = ServerProcess(config, *extra, **kw)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


class LiveServer:
    """The real app on a real uvicorn, in this process, on a free loopback port."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.app = create_app(engine, settings)
        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.engine.stop()
        self.sock.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """``live(graph, **settings)`` → a started ``LiveServer``; all are stopped at the end."""
    made: list[LiveServer] = []

    def make(graph: dict[str, Any] | None = None, **options: Any) -> LiveServer:
        settings = Settings(config=tmp_path / "config", **options)
        engine = Engine(registry(), data_dir=settings.data_dir,
                        wire_capacity=settings.wire_capacity,
                        queue_limit=settings.queue_limit, queue_bytes=settings.queue_bytes,
                        dead_letter_limit=settings.dead_letter_limit,
                        stall_seconds=settings.stall_seconds, services={"settings": settings})
        engine.start(Graph.load(graph) if graph is not None else None)
        server = LiveServer(engine, settings).start()
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


def client(url: str, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=timeout)
