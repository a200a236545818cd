"""A real ``pypes serve`` master on a loopback port, for the local-provider tests, and
helpers to watch its composites and their worker processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from pypes.testing import wait_for

SERVING = re.compile(r"Pypes serving graph .* on (http://\S+)")




def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie of ours counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Master:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.lines: list[str] = []
        self.api = httpx.Client(base_url=url, timeout=60)

    def logs(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        return self.process.wait(timeout)

    # the API

    def put_graph(self, graph: dict[str, Any]) -> dict[str, Any]:
        response = self.api.put("/graph", json=graph)
        assert response.status_code == 200, response.text
        return response.json()

    def component(self, cid: str) -> dict[str, Any]:
        return self.api.get("/stats").json()["components"][cid]

    def workers(self) -> list[dict[str, Any]]:
        return self.api.get("/workers").json()

    def wait_state(self, cid: str, state: str, timeout: float = 30) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            found = self.component(cid)
            if found["state"] == "failed" and state != "failed":
                raise AssertionError(f"composite failed: {found.get('reason')}")
            return found if found["state"] == state else None
        return wait_for(reached, timeout, message=f"{cid} to be {state}")  # type: ignore[no-any-return]


@contextmanager
def pypes_master(config: Path) -> Iterator[Master]:
    """``pypes serve --port 0 --config DIR`` as a subprocess; stopped by its own pid."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pypes", "serve", "--port", "0", "--config", str(config),
         "--log-level", "warning"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    url = None
    for line in process.stderr:
        lines.append(line)
        found = SERVING.search(line)
        if found:
            url = found.group(1)
            break
    if url is None:
        process.wait(10)
        raise AssertionError("the master did not start:\n" + "".join(lines))
    master = Master(process, url)
    master.lines = lines
    threading.Thread(target=lambda: master.lines.extend(process.stderr),  # type: ignore[arg-type]
                     daemon=True).start()
    try:
        yield master
    finally:
        master.api.close()
        if process.poll() is None:
            master.stop(signal.SIGTERM)
