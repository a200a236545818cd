"""The ``pypes`` command: ``serve``, ``worker``, ``run``, ``validate``, ``components``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from pypes.errors import GraphError, PypesError

BATCH = 1000


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GraphError as exc:
        for problem in exc.problems:
            print(f"pypes: {problem}", file=sys.stderr)
        return 1
    except PypesError as exc:
        print(f"pypes: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pypes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server (REST API and editor)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--config", default="config", help="config dir (graph, pypes.toml)")
    serve.add_argument("--data", help="where file publishers write (default <config>/data)")
    serve.add_argument("--graph", help="start with this graph file")
    serve.add_argument("--token", help="a bearer token with every scope")
    serve.add_argument("--log-level", dest="log_level", help="debug, info, warning …")
    serve.add_argument("--workers", type=int, help="server processes sharing the port")
    serve.add_argument("--durable", action="store_true", default=None,
                       help="journal accepted documents in the config dir; replay after a crash")
    serve.set_defaults(func=cmd_serve)

    env = os.environ.get
    worker = sub.add_parser("worker", help="run a composite's subgraph for a master server")
    worker.add_argument("--master", default=env("PYPES_MASTER"), help="the master's URL")
    worker.add_argument("--token", default=env("PYPES_WORKER_TOKEN"),
                        help="the token the master gave this worker (the only one accepted)")
    worker.add_argument("--id", dest="worker_id", default=env("PYPES_WORKER_ID"),
                        help="the worker id the master gave it")
    worker.add_argument("--host", default=env("PYPES_WORKER_HOST", "127.0.0.1"))
    worker.add_argument("--port", type=int, default=int(env("PYPES_WORKER_PORT", "0")),
                        help="port (default 0: a free one)")
    worker.add_argument("--advertise", default=env("PYPES_ADVERTISE") or None,
                        help="the URL the master should use (default: the bound address)")
    worker.add_argument("--config", help="config dir (default: a temporary one)")
    worker.add_argument("--log-level", dest="log_level", default="warning")
    worker.add_argument("--exit-with-stdin", action="store_true",
                        help="exit when standard input closes (the master holds it open)")
    worker.add_argument("--master-timeout", type=float, default=60.0,
                        help="exit after the master is unreachable this many seconds")
    worker.set_defaults(func=cmd_worker)

    run = sub.add_parser("run", help="push NDJSON documents through a graph, print results")
    run.add_argument("graph", help="graph JSON file")
    run.add_argument("--input", "-i", help="NDJSON file (default: standard input)")
    run.add_argument("--route", help="feed the Adapters with this route")
    run.set_defaults(func=cmd_run)

    validate = sub.add_parser("validate", help="check a graph file")
    validate.add_argument("graph", help="graph JSON file")
    validate.set_defaults(func=cmd_validate)

    components = sub.add_parser("components", help="list the palette")
    components.add_argument("--type", help="only this type (Adapter, Transformer, …)")
    components.add_argument("--json", action="store_true", help="full descriptions as JSON")
    components.set_defaults(func=cmd_components)

    return parser


def cmd_worker(args: argparse.Namespace) -> int:
    from pypes.cloud.worker import WorkerOptions, run_worker

    missing = [f"--{n}" for n, v in (("master", args.master), ("token", args.token),
                                     ("id", args.worker_id)) if not v]
    if missing:
        raise PypesError(f"pypes worker needs {', '.join(missing)} (its master starts it)")
    return run_worker(WorkerOptions(
        master=args.master.rstrip("/"), token=args.token, worker_id=args.worker_id,
        host=args.host, port=args.port, advertise=args.advertise, config=args.config,
        log_level=args.log_level, exit_with_stdin=args.exit_with_stdin,
        master_timeout=args.master_timeout))


def cmd_serve(args: argparse.Namespace) -> int:
    from pypes.server import serve
    from pypes.settings import load_settings

    settings = load_settings(
        args.config, host=args.host, port=args.port, data=args.data, graph=args.graph,
        token=args.token, log_level=args.log_level, durable=args.durable,
        workers=args.workers,
    )
    serve(settings)
    return 0


def load_graph_file(path: str) -> Any:
    from pypes.graph import Graph

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise PypesError(f"cannot read graph file {path}: {exc.strerror}") from None
    return Graph.load(data)


def cmd_validate(args: argparse.Namespace) -> int:
    from pypes.components.registry import Registry

    graph = load_graph_file(args.graph)
    graph.check(Registry.discover())
    print(f"{args.graph}: graph {graph.name!r} is valid "
          f"({len(graph.components)} components, {len(graph.wires)} wires)")
    return 0


def cmd_components(args: argparse.Namespace) -> int:
    from pypes.components.registry import Registry

    entries = Registry.discover().describe(args.type)
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(entries, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    for entry in entries:
        summary = entry["doc"].splitlines()[0] if entry["doc"] else ""
        print(f"{entry['type']:<12} {entry['class']:<16} {summary}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pypes.components.registry import Registry
    from pypes.packet import Packet
    from pypes.scheduler import Engine
    from pypes.server import tune_gc

    graph = load_graph_file(args.graph)
    engine = Engine(Registry.discover(), data_dir=Path.cwd())
    engine.start(graph)
    tune_gc()
    out = sys.stdout.buffer
    bad_lines = failed = 0
    try:
        source = open(args.input, "rb") if args.input else sys.stdin.buffer  # noqa: SIM115
        with source:
            for batch, problems in read_ndjson(source):
                bad_lines += len(problems)
                for problem in problems:
                    print(f"pypes: {problem}", file=sys.stderr)
                if not batch:
                    continue
                receipt = engine.ingest([Packet(d) for d in batch], args.route,
                                        wait=True).result()
                failed += receipt.errors
                out.writelines(orjson.dumps(doc) + b"\n" for doc in receipt.results)
                out.flush()
                for component in engine.components.values():
                    sink = getattr(component, "sink", None)
                    if sink is not None:
                        sink.ack(sink.cursor)
    except OSError as exc:
        raise PypesError(f"cannot read {args.input}: {exc.strerror}") from None
    finally:
        engine.stop()
    for item in engine.dead_letters.list(5):
        print(f"pypes: component {item['component']!r} failed on a document: {item['error']}",
              file=sys.stderr)
    if failed:
        print(f"pypes: {failed} document(s) failed in the graph", file=sys.stderr)
    if bad_lines:
        print(f"pypes: {bad_lines} input line(s) were not valid JSON objects and were skipped",
              file=sys.stderr)
    return 1 if bad_lines or failed else 0


def read_ndjson(source: IO[bytes]) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """Batches of documents from NDJSON, with a message for each bad line."""
    batch: list[dict[str, Any]] = []
    problems: list[str] = []
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({str(exc).split(':')[0]})")
            continue
        if not isinstance(doc, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        batch.append(doc)
        if len(batch) >= BATCH:
            yield batch, problems
            batch, problems = [], []
    yield batch, problems


if __name__ == "__main__":
    sys.exit(main())
