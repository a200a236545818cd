"""Helpers for testing components and graphs, used by Pypes' own tests too.

``run_graph(graph, docs)`` runs documents through a graph on a real engine and returns
what reached its ``Collect`` publishers; ``run_component`` drives one component without a
graph; ``ServerProcess`` runs a real ``pypes serve`` on a free loopback port; ``wait_for``
polls until something is true.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pypes.component import Component
from pypes.components.registry import Registry
from pypes.graph import Graph
from pypes.packet import Packet
from pypes.scheduler import Engine, Receipt, Scheduler
from pypes.scheduler.core import wire


def run_graph(
    graph: Graph | Mapping[str, Any] | str | bytes,
    docs: Iterable[dict[str, Any]],
    *,
    registry: Registry | None = None,
    route: str | None = None,
    data_dir: Path | None = None,
) -> Receipt:
    """Run ``docs`` through ``graph`` and wait until it is done with them.

    Returns the receipt: ``results`` holds the documents that reached ``Collect``
    publishers, ``errors`` how many documents failed.
    """
    if not isinstance(graph, Graph):
        graph = Graph.load(graph)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(registry or Registry.discover(), data_dir=data_dir or Path(tmp))
        engine.start(graph)
        try:
            packets = [Packet(dict(d)) for d in docs]
            return engine.ingest(packets, route, wait=True).result(timeout=120)
        finally:
            engine.stop()


class ListSource(Component):
    """Emits the documents it was given, once, on ``out``."""

    type = "Adapter"
    inputs = {}

    def __init__(self, docs: Iterable[dict[str, Any]], id: str = "source") -> None:
        super().__init__(id)
        self._pending = [Packet(dict(d)) for d in docs]

    def drain(self, limit: int | None = None) -> int:
        packets, self._pending = self._pending, []
        self.emit("out", packets)
        return len(packets)

    def queued(self) -> int:
        return len(self._pending)


class CollectingSink(Component):
    """Keeps every packet it receives, on any of its input ports, in ``packets``."""

    type = "Publisher"
    outputs = {}

    def __init__(self, id: str = "sink", ports: Iterable[str] = ("in",)) -> None:
        self.inputs = {p: p for p in ports}  # type: ignore[misc]
        super().__init__(id)
        self.packets: list[Packet] = []

    def process(self, packet: Packet) -> None:
        self.packets.append(packet)
        return None

    @property
    def docs(self) -> list[dict[str, Any]]:
        return [p.data for p in self.packets]


def run_component(
    component: Component,
    docs: Iterable[dict[str, Any]] | None = None,
    *,
    packets: Iterable[Packet] | None = None,
    port: str = "in",
    outputs: Iterable[str] | None = None,
) -> dict[str, CollectingSink]:
    """Feed one component and return a sink per output port (``error`` included).

    Runs without an engine thread: the component's tasklet, if any, is stepped by a
    bare scheduler until nothing moves.
    """
    feed = list(packets or []) + [Packet(dict(d)) for d in docs or []]
    component._inbox[port].extend(feed)
    sinks = {name: CollectingSink(f"sink-{name}") for name in outputs or component.all_outputs()}
    nodes: dict[str, Component] = {component.id: component}
    nodes.update({s.id: s for s in sinks.values()})
    wire(nodes, [_Wire((component.id, name), (s.id, "in")) for name, s in sinks.items()])
    Scheduler([component, *sinks.values()]).run_until_idle()
    return sinks


class _Wire:
    def __init__(self, src: tuple[str, str], dst: tuple[str, str]) -> None:
        self.from_, self.to = src, dst


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server that cannot be given port 0."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05,
             message: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy, and return that; after
    ``timeout`` seconds raise AssertionError naming ``message``. For waiting on a server or
    a worker in a test: the test asserts an outcome, never a duration."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


class ServerProcess:
    """A ``pypes serve`` subprocess on a free loopback port, stopped by its own pid.

    ``with ServerProcess(config_dir, "--graph", "g.json") as server: server.url``
    """

    def __init__(self, config: Path, *args: str, env: Mapping[str, str] | None = None,
                 command: str = "serve", timeout: float = 30.0,
                 cwd: Path | None = None) -> None:
        self.config = Path(config)
        self.cwd = cwd  # where ``python -m pypes`` runs: another checkout's pypes, if any
        self.args = [sys.executable, "-m", "pypes", command, "--port", "0",
                     "--config", str(self.config), *args]
        self.env = {**os.environ, **(env or {})}
        self.timeout = timeout
        self.url = ""
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        self.process = subprocess.Popen(
            self.args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env=self.env, start_new_session=True, cwd=self.cwd,
        )
        found = threading.Event()

        def read() -> None:
            assert self.process is not None and self.process.stderr is not None
            for line in self.process.stderr:
                self.output.append(line)
                match = re.search(r" on (http://\S+)$", line.strip())
                if match and not self.url:
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        found.wait(self.timeout)
        if not self.url:
            self.stop()
            raise RuntimeError("pypes did not start:\n" + "".join(self.output))
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Send ``sig`` to the server process and wait for it; SIGKILL if it lingers."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return "".join(self.output)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
