"""``pypes serve --durable``: nothing accepted is lost to kill -9, a damaged journal is
reported and survived, and a journal that cannot be written turns documents away (503)."""

from __future__ import annotations

import base64
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson

from pypes.journal import Journal
from pypes.packet import Packet
from pypes.testing import wait_for
from tests.reliability.conftest import SERVE, ServerProcess, chain, client

PIPELINE = chain(("JsonReader", {}), ("Delay", {"ms": 20}),
                 ("JsonLinesWriter", {"path": "out.jsonl"}))
KILLS = 3


def ids_written(config: Path) -> list[int]:
    """Ids of the complete ``{"id": n}`` lines (a kill can tear the last write)."""
    path = config / "data" / "out.jsonl"
    text = path.read_bytes() if path.exists() else b""
    return [int(n) for n in re.findall(rb'\{"id":(\d+)\}', text)]


def wait_until_drained(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with client(url) as http:
        while time.monotonic() < deadline:
            stats = http.get("/stats").json()
            if stats["journal"]["batches"] == 0 and stats["queued"] == 0:
                return
            time.sleep(0.05)
    raise AssertionError(f"the journal did not drain: {stats['journal']}")


class Stream:
    """Threads posting batches of uniquely numbered documents until told to stop."""

    def __init__(self, url: str, start: int, threads: int = 2) -> None:
        self.url = url
        self.next = start  # ids are 0, 1, 2 … across the rounds: each sent once
        self.sent = 0
        self.accepted: set[int] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.post, args=(seed,)) for seed in
                        range(threads)]

    def post(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=self.url, timeout=10) as http:
            while not self.stopping.is_set():
                with self.lock:
                    size = rng.randint(1, 20)
                    ids = list(range(self.next, self.next + size))
                    self.next += size
                    self.sent += size
                try:
                    answer = http.post("/docs", content=orjson.dumps([{"id": i} for i in ids]),
                                       headers={"Content-Type": "application/json"})
                except httpx.TransportError:
                    continue  # killed mid-request: not accepted
                if answer.status_code == 202:
                    with self.lock:
                        self.accepted.update(ids)

    def __enter__(self) -> Stream:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join()


def test_no_accepted_document_is_lost_to_sigkill(tmp_path, servers):
    config = tmp_path / "config"
    rng = random.Random(7)
    sent, accepted, replayed = 0, set(), []
    for _ in range(KILLS):
        server = servers(config, PIPELINE, "--durable").start()
        replayed += [int(n) for n in re.findall(r"replayed (\d+) documents", server.log)]
        with Stream(server.url, start=sent) as stream:
            time.sleep(rng.uniform(0.3, 1.0))
            server.kill()
        sent += stream.sent
        accepted |= stream.accepted
    server = servers(config, PIPELINE, "--durable").start()
    wait_until_drained(server.url)
    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a clean shutdown
    replayed += [int(n) for n in re.findall(r"replayed (\d+) documents", server.log)]
    found = set(ids_written(config))
    print(f"\nsent {sent}, accepted {len(accepted)}, found {len(accepted & found)} after "
          f"{KILLS} kills; replayed {replayed}; written {len(ids_written(config))} lines")
    assert accepted and not accepted - found
    assert sum(replayed) > 0, "no kill left anything to replay: the test did not test"


def test_serve_workers_durable_loses_nothing(tmp_path, servers):
    """``serve --workers 2 --durable``: each process journals what it accepts.
    A crash of all of them: a single server started next takes over both journals.
    SIGKILL of the parent alone: its processes notice and stop by themselves."""
    config = tmp_path / "config"
    accepted: set[int] = set()
    sent = 0

    def stream_then(kill: Callable[[ServerProcess], None]) -> list[int]:
        nonlocal sent
        server = servers(config, PIPELINE, "--durable", "--workers", "2").start()
        assert server.process is not None
        pid = server.process.pid
        children = [int(c) for c in
                    Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        with Stream(server.url, start=sent) as stream:
            time.sleep(1.0)
            kill(server)
        sent += stream.sent
        accepted.update(stream.accepted)
        return children

    def take_over() -> list[int]:
        single = servers(config, PIPELINE, "--durable").start()
        wait_until_drained(single.url)
        single.stop()
        assert not list(config.glob("journal-*.sqlite3"))  # taken over, then removed
        return [int(n) for n in re.findall(r"took over (\d+) documents", single.log)]

    stream_then(lambda server: os.killpg(server.process.pid, signal.SIGKILL))
    taken = take_over()
    assert len(taken) == 2 and sum(taken) > 0, "the crash left nothing to take over"
    children = stream_then(lambda server: server.kill())  # the parent only
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), 20,
             message="the processes of the killed server to stop")
    take_over()
    assert accepted and not accepted - set(ids_written(config))


def _journal_with(config: Path, batches: int) -> None:
    journal = Journal(config / "journal.sqlite3")
    for n in range(batches):  # incompressible padding spreads the rows over many pages
        pad = base64.b64encode(os.urandom(600)).decode()
        journal.append([Packet({"id": n}, {"pad": pad})])
    journal.close()


def test_damaged_pages_are_dropped_reported_and_the_rest_replayed(tmp_path, servers):
    config = tmp_path / "config"
    config.mkdir()
    _journal_with(config, 200)
    path = config / "journal.sqlite3"
    page = 4096
    pages = path.stat().st_size // page
    with path.open("r+b") as file:  # a torn write in the middle of the file
        file.seek(page * (pages // 2))
        file.write(os.urandom(page))
    server = servers(config, PIPELINE, "--durable").start()
    wait_until_drained(server.url)
    server.stop()
    assert "journal" in server.log and "damaged" in server.log
    found = set(ids_written(config))
    assert 0 < len(found) < 200 and found <= set(range(200))
    assert list(config.glob("journal.sqlite3.damaged-*")), "the damaged file is kept"


def test_a_record_with_a_bad_checksum_is_dropped_and_reported(tmp_path, servers):
    config = tmp_path / "config"
    config.mkdir()
    _journal_with(config, 5)
    with sqlite3.connect(config / "journal.sqlite3") as db:  # bit rot in one row's body
        body = db.execute("SELECT body FROM batches WHERE id = 3").fetchone()[0]
        db.execute("UPDATE batches SET body = ? WHERE id = 3",
                   (body[:10] + bytes([body[10] ^ 0xFF]) + body[11:],))
    server = servers(config, PIPELINE, "--durable").start()
    wait_until_drained(server.url)
    with client(server.url) as http:
        assert http.get("/stats").json()["journal"]["dropped"] == 1
    server.stop()
    assert "dropped damaged batch 3" in server.log
    assert "replayed 4 documents from the journal" in server.log
    assert sorted(ids_written(config)) == [0, 1, 3, 4]


def test_a_journal_that_is_not_a_database_is_set_aside(tmp_path, servers):
    config = tmp_path / "config"
    config.mkdir()
    (config / "journal.sqlite3").write_bytes(b"garbage, not sqlite" * 100)
    server = servers(config, PIPELINE, "--durable").start()
    with client(server.url) as http:
        assert http.post("/docs", json={"id": 1}).status_code == 202
    wait_until_drained(server.url)
    server.stop()
    assert "damaged" in server.log and ids_written(config) == [1]


def test_a_full_journal_answers_503_and_keeps_serving(tmp_path, servers):
    config = tmp_path / "config"
    held = chain(("JsonReader", {}), ("Delay", {"ms": 600_000}), ("Null", {}))
    server = servers(config, held, "--durable",
                     env={"PYPES_JOURNAL_MAX_BYTES": "131072"}).start()
    statuses = []
    with client(server.url) as http:
        for n in range(200):
            pad = base64.b64encode(os.urandom(3000)).decode()
            answer = http.post("/docs", json={"id": n, "pad": pad})
            statuses.append(answer.status_code)
            if answer.status_code != 202:
                break
        assert answer.status_code == 503, statuses
        assert "journal" in answer.json()["error"]
        assert set(statuses[:-1]) == {202} and len(statuses) > 5
        assert http.get("/health").json()["status"] == "ok"


def test_an_unwritable_journal_refuses_to_start(tmp_path):
    config = tmp_path / "config"
    (config / "journal.sqlite3").mkdir(parents=True)  # not a file sqlite can open
    done = subprocess.run([sys.executable, str(SERVE), "serve", "--port", "0", "--durable",
                           "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "cannot open the journal" in done.stderr


def test_a_full_disk_answers_503_not_2xx(tmp_path, servers):
    """A real write failure: the file-size limit (RLIMIT_FSIZE) makes the kernel refuse to
    grow the journal, as a full disk would."""

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    held = chain(("JsonReader", {}), ("Delay", {"ms": 600_000}), ("Null", {}))
    server = servers(tmp_path / "config", held, "--durable", preexec=small_files).start()
    with client(server.url) as http:
        for n in range(400):
            pad = base64.b64encode(os.urandom(3000)).decode()
            answer = http.post("/docs", json={"id": n, "pad": pad})
            if answer.status_code != 202:
                break
        assert answer.status_code == 503 and "journal" in answer.json()["error"]
        assert http.get("/health").status_code == 200


def test_a_finished_batch_leaves_the_journal_while_later_ones_are_still_held(tmp_path):
    """Under continuous load the graph is never quiet: a batch must leave the journal as
    soon as none of its documents is queued or held, not when everything has drained."""
    from pypes.components.registry import Registry
    from pypes.graph import Graph
    from pypes.journal import Journal
    from pypes.packet import Packet
    from pypes.scheduler import Engine

    journal = Journal(tmp_path / "journal.sqlite3")
    engine = Engine(Registry.discover(), data_dir=tmp_path, journal=journal)
    engine.start(Graph.load({
        "pypes": 1, "name": "held",
        "components": [{"id": "in", "class": "JsonReader"},
                       {"id": "slow", "class": "Delay", "params": {"ms": 1500}},
                       {"id": "out", "class": "Collect"}],
        "wires": [{"from": ["in", "out"], "to": ["slow", "in"]},
                  {"from": ["slow", "out"], "to": ["out", "in"]}]}))
    try:
        engine.ingest([Packet({"n": 1})]).result()
        engine.ingest([Packet({"n": 2})]).result()  # waits behind the first in the Delay
        sink = engine.components["out"].sink

        wait_for(lambda: len(sink) == 1, message="the first document out of the Delay")
        # the second is held for 1.5 s more: its batch alone may stay in the journal
        wait_for(lambda: len(journal) == 1, timeout=1.0, message="the first batch retired")
        assert [p.data for e in journal.pending() for p in e.packets] == [{"n": 2}]
        assert len(sink) == 1
        wait_for(lambda: len(journal) == 0, message="the second batch retired")
    finally:
        engine.stop()
        journal.close()
