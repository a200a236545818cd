"""A/B: this checkout's `pypes serve` against another revision's, side by side.

Both servers run the reference graph; wrk posts to them in alternating runs, so the
machine's noise hits both alike. Prints docs/s and the server's CPU per request (from
/proc) for each side, and their ratios. The other revision is checked out into a
temporary git worktree and run with this checkout's virtualenv.

Run: .venv/bin/python -m bench.ab REVISION [--rounds N] [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import orjson

from bench.loadgen import post_rate
from bench.procfs import cpu_seconds
from bench.workload import BATCH, GRAPH, documents
from pypes.testing import ServerProcess

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("revision", help="the git revision to compare this checkout with")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    body = orjson.dumps(documents(BATCH))
    headers = {"content-type": "application/json"}
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q",
                        str(other), args.revision], check=True)
        try:
            graph = Path(tmp) / "graph.json"
            graph.write_text(json.dumps(GRAPH))
            sides = {"this": ROOT, args.revision: other}
            totals = {name: [0.0, 0.0, 0.0] for name in sides}  # docs/s, CPU s, requests
            servers = {}
            for n, (name, checkout) in enumerate(sides.items()):
                servers[name] = ServerProcess(Path(tmp) / f"config-{n}", "--graph", str(graph),
                                              "--log-level", "warning", cwd=checkout).start()
            try:
                for _ in range(args.rounds):
                    for name, server in servers.items():
                        assert server.process is not None
                        cpu = cpu_seconds(server.process.pid)
                        rate = post_rate(f"{server.url}/docs?wait=true", body, headers,
                                         documents=BATCH, seconds=args.seconds)
                        totals[name][0] += rate / args.rounds
                        totals[name][1] += cpu_seconds(server.process.pid) - cpu
                        totals[name][2] += rate * args.seconds / BATCH + 1  # + the check
            finally:
                for server in servers.values():
                    server.stop()
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(other)], check=False)
    print(f"{args.rounds} alternating rounds of {args.seconds} s, wrk, 4 connections, "
          f"{BATCH}-document batches to /docs?wait=true")
    print(f"{'side':<16}{'docs/s':>12}{'CPU ms/request':>16}")
    figures = {}
    for name, (rate, cpu, requests) in totals.items():
        figures[name] = (rate, cpu / requests * 1000)
        print(f"{name:<16}{rate:>12,.0f}{figures[name][1]:>16.3f}")
    (this_rate, this_cpu), (other_rate, other_cpu) = figures.values()
    print(f"this / {args.revision}: docs/s {this_rate / other_rate:.2f}, "
          f"CPU per request {this_cpu / other_cpu:.2f}")


if __name__ == "__main__":
    main()
