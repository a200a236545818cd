"""``pypes worker``: a Pypes server that runs a composite's subgraph for its master.

It is ``pypes serve`` with three differences: it accepts only the token its master gave
it (as its admin token); once listening it registers with ``POST {master}/workers/register``
``{"id", "url", "token"}``; and it exits when its master is gone. Gone means: the master
answers a heartbeat (``POST {master}/workers/{id}/heartbeat``, every few seconds) with
403/404, or cannot be reached for ``--master-timeout`` seconds, or (``--exit-with-stdin``,
which the local provider uses) the master's end of the worker's standard input closes,
which happens however the master process ends, ``kill -9`` included.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HEARTBEAT = 5.0


@dataclass
class WorkerOptions:
    master: str
    token: str
    worker_id: str
    host: str = "127.0.0.1"
    port: int = 0
    advertise: str | None = None
    config: str | None = None
    log_level: str = "warning"
    exit_with_stdin: bool = False
    master_timeout: float = 60.0


def say(message: str) -> None:
    print(f"pypes: {message}", file=sys.stderr, flush=True)


class Lifeline:
    """Registers the worker, then watches its master; asks the server to stop when the
    master is gone (``stop`` sends this process SIGTERM, which uvicorn handles)."""

    def __init__(self, options: WorkerOptions, stop: Callable[[], None] | None = None) -> None:
        self.options = options
        self.error: str | None = None
        self._stop = stop or (lambda: os.kill(os.getpid(), signal.SIGTERM))
        self._done = threading.Event()

    def start(self, url: str) -> None:
        threading.Thread(target=self._run, args=(url,), name="pypes-lifeline",
                         daemon=True).start()
        if self.options.exit_with_stdin:
            threading.Thread(target=self._watch_stdin, name="pypes-stdin", daemon=True).start()

    def close(self) -> None:
        self._done.set()

    def _quit(self, message: str, error: bool) -> None:
        if self._done.is_set():
            return
        self._done.set()
        if error:
            self.error = message
        say(message)
        self._stop()

    def _watch_stdin(self) -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except (OSError, ValueError):
            pass
        self._quit("the master closed the worker's standard input; exiting", False)

    def _run(self, url: str) -> None:
        opts = self.options
        with httpx.Client(timeout=10.0, trust_env=False) as http:
            if not self._wait_serving(http, url):
                return
            if not self._register(http, opts.advertise or url):
                return
            failing_since: float | None = None
            while not self._done.wait(HEARTBEAT):
                try:
                    r = http.post(f"{opts.master}/workers/{opts.worker_id}/heartbeat",
                                  headers={"Authorization": f"Bearer {opts.token}"})
                except httpx.HTTPError as exc:
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > opts.master_timeout:
                        self._quit(f"the master {opts.master} has been unreachable for "
                                   f"{opts.master_timeout:.0f} s ({exc}); exiting", False)
                    continue
                failing_since = None
                if r.status_code in (401, 403, 404):
                    self._quit("the master no longer wants this worker "
                               f"(HTTP {r.status_code}); exiting", False)

    def _wait_serving(self, http: httpx.Client, url: str) -> bool:
        for _ in range(600):
            if self._done.is_set():
                return False
            try:
                if http.get(f"{url}/health").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self._quit(f"the worker's own server at {url} never answered", True)
        return False

    def _register(self, http: httpx.Client, url: str) -> bool:
        opts = self.options
        body = {"id": opts.worker_id, "url": url, "token": opts.token}
        deadline = time.monotonic() + max(10.0, min(opts.master_timeout, 120.0))
        while True:
            try:
                r = http.post(f"{opts.master}/workers/register", json=body)
            except httpx.HTTPError as exc:
                if time.monotonic() > deadline or self._done.is_set():
                    self._quit(f"cannot reach the master at {opts.master}: {exc}", True)
                    return False
                time.sleep(0.5)
                continue
            if r.status_code == 200:
                return True
            try:
                reason = r.json().get("error") or r.text
            except ValueError:
                reason = r.text
            self._quit(f"the master refused to register worker {opts.worker_id!r} "
                       f"(HTTP {r.status_code}): {reason}", True)
            return False


def run_worker(options: WorkerOptions) -> int:
    """Serve until the master is gone or a signal arrives; non-zero if it never got going."""
    from pypes.server import serve
    from pypes.settings import load_settings

    # the web thread hands every batch to the engine thread and back: with the default
    # 5 ms switch interval each hand-over can wait that long while the other thread runs
    sys.setswitchinterval(0.0005)
    own_config = options.config is None
    config = Path(options.config or tempfile.mkdtemp(prefix="pypes-worker-"))
    settings = load_settings(config, host=options.host, port=options.port,
                             token=options.token, log_level=options.log_level)
    lifeline = Lifeline(options)

    def on_listen(url: str, engine: Any, app: Any) -> None:
        # a worker is asked the same batch again only right after a failed call
        engine.receipts.keep_keys = 1000
        lifeline.start(url)

    try:
        serve(settings, on_listen=on_listen)
    finally:
        lifeline.close()
        if own_config:
            shutil.rmtree(config, ignore_errors=True)
    return 1 if lifeline.error else 0
