"""The load generator of the HTTP benchmarks: ``wrk`` (Debian's package), driven with a
Lua script that posts one body over and over on a fixed number of connections.

wrk is written in C and costs little CPU, so on this 2-core machine the server under test
gets a core to itself, as it would behind a real network. ``make bench`` installs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import httpx

SCRIPT = """\
local f = assert(io.open({body!r}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
{headers}
done = function(summary, latency, requests)
  io.write(string.format("pypes-bench %d %d %d %d %d\\n", summary.requests,
    summary.duration, summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write, summary.errors.timeout))
end
"""


class LoadError(RuntimeError):
    """The load run could not be made or was not clean (non-2xx answers, socket errors)."""


def check(url: str, body: bytes, headers: dict[str, str], documents: int) -> None:
    """Post once and make sure every document comes back, so a fast wrong answer can't
    pass for throughput."""
    answer = httpx.post(url, content=body, headers=headers, timeout=60)
    if answer.status_code != 200 or len(answer.json().get("results", [])) != documents:
        raise LoadError(f"{url} answered {answer.status_code}: {answer.text[:200]}")


def post_rate(url: str, body: bytes, headers: dict[str, str], *, documents: int,
              seconds: int = 3, connections: int = 4) -> float:
    """Documents per second while ``connections`` clients post ``body`` (holding
    ``documents`` documents) to ``url`` for ``seconds``."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise LoadError("wrk is not installed: run `make bench`, or apt-get install wrk")
    check(url, body, headers, documents)
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body"
        body_file.write_bytes(body)
        script = Path(tmp) / "post.lua"
        script.write_text(SCRIPT.format(body=str(body_file), headers="\n".join(
            f"wrk.headers[{k!r}] = {v!r}" for k, v in headers.items())))
        run = subprocess.run(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
             "-s", str(script), url], capture_output=True, text=True, check=False)
    found = re.search(r"^pypes-bench (\d+) (\d+) (\d+) (\d+) (\d+)$", run.stdout, re.M)
    if run.returncode != 0 or found is None:
        raise LoadError(f"wrk failed: {run.stderr.strip() or run.stdout.strip()}")
    requests, micros, bad_status, socket_errors, timeouts = map(int, found.groups())
    if bad_status or socket_errors or timeouts:
        raise LoadError(f"{url}: {bad_status} non-2xx answers, {socket_errors} socket "
                        f"errors, {timeouts} timeouts in {requests} requests")
    return requests * documents / (micros / 1e6)
