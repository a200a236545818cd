"""Fuzzing: schemathesis against the app's own OpenAPI (no 5xx, ever), and hypothesis
properties for the parsers of untrusted input (each input parses or raises our error)."""

from __future__ import annotations

import gzip
import re
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from pypes.errors import BadInput, GraphError, TooLarge
from pypes.graph import Graph
from pypes.ingest import Limits, inflate, parse_body
from pypes.scheduler import Engine
from pypes.server import create_app
from pypes.settings import Settings
from tests.reliability.conftest import chain
from tests.reliability.plugins import registry

CASES: Counter[str] = Counter()
API_EXAMPLES = 40
FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
GRAPH = chain(("JsonReader", {}), ("CaseNormalizer", {"fields": ["text"]}), ("Collect", {}))


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(f"\nfuzz cases run: {dict(CASES)} (total {sum(CASES.values())})")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    config = tmp_path_factory.mktemp("fuzz")
    app_settings = Settings(config=config, max_body_bytes=1 << 20, max_documents=1000)
    engine = Engine(registry(), data_dir=config / "data", queue_limit=10_000)
    engine.start(Graph.load(GRAPH))
    app = create_app(engine, app_settings, stop_engine=False)
    # /events is an endless stream by design; every other path is fuzzed
    yield schemathesis.openapi.from_asgi("/api/openapi.json", app).exclude(path="/events")
    engine.stop()


def test_api_never_answers_5xx(api: Any) -> None:
    """Every operation, ``API_EXAMPLES`` generated requests each (the pytest plugin's
    ``parametrize`` is not used: it does not run under this pytest)."""
    failures = []
    for found in api.get_all_operations():
        operation = found.ok()

        @settings(max_examples=API_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(operation.as_strategy())
        def run(case: Any) -> None:
            CASES["api"] += 1
            if case.path.startswith("/sinks") and case.query and "wait" in case.query:
                case.query["wait"] = 0  # a long poll is correct behaviour, just slow
            case.call_and_validate(checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)
graph_like = st.fixed_dictionaries(
    {},
    optional={
        "pypes": st.sampled_from([1, 2, "1", None]),
        "name": json_values,
        "rev": json_values,
        "components": st.lists(st.fixed_dictionaries(
            {}, optional={"id": st.sampled_from(["a", "b", "", "a b", 3]),
                          "class": st.sampled_from(["JsonReader", "Collect", "Delay", "os.system",
                                                    "pypes.cli.main", "", None]),
                          "params": json_values, "position": json_values,
                          "extra": json_values}), max_size=4),
        "wires": st.lists(st.fixed_dictionaries(
            {}, optional={"id": json_values,
                          "from": st.lists(st.sampled_from(["a", "b", "out", "in", 1]),
                                           max_size=3),
                          "to": st.lists(st.sampled_from(["a", "b", "out", "in", None]),
                                         max_size=3)}), max_size=4),
    },
)


def _load_and_check(source: Any) -> None:
    try:
        Graph.load(source).check(registry())
    except GraphError:
        pass


@FAST
@given(st.binary(max_size=300))
def test_graph_load_takes_any_bytes(data: bytes) -> None:
    CASES["graph-bytes"] += 1
    _load_and_check(data)


@FAST
@given(json_values)
def test_graph_load_takes_any_json(value: Any) -> None:
    CASES["graph-json"] += 1
    _load_and_check(orjson.dumps(value))
    _load_and_check(value if isinstance(value, dict) else {"pypes": 1, "components": value})


@FAST
@given(graph_like)
def test_graph_load_takes_any_graph_shaped_json(value: dict[str, Any]) -> None:
    CASES["graph-shaped"] += 1
    _load_and_check(orjson.dumps(value))


SMALL = Limits(body_bytes=4096, inflated_bytes=4096, documents=20, depth=5)


@FAST
@given(st.binary(max_size=400) | json_values.map(orjson.dumps),
       st.sampled_from(["application/json", "application/x-ndjson", "text/plain", "",
                        "application/json; charset=latin-1", "APPLICATION/JSON"]))
def test_parse_body_parses_or_raises_bad_input(body: bytes, content_type: str) -> None:
    CASES["parse_body"] += 1
    try:
        parse_body(body, content_type, SMALL)
    except (BadInput, TooLarge):
        pass


def nesting(value: Any) -> int:
    """Levels of containers in ``value`` (a flat document is 1)."""
    if isinstance(value, dict):
        value = list(value.values())
    elif not isinstance(value, list):
        return 0
    return 1 + max(map(nesting, value), default=0)


def wrapped(value: Any, levels: int, in_list: bool) -> Any:
    for _ in range(levels):
        value = [value] if in_list else {"k": value}
    return value


deep_values = st.builds(wrapped, json_values, st.integers(0, 8), st.booleans())
documents = st.dictionaries(st.text(max_size=4), json_values | deep_values, max_size=3)


@FAST
@given(documents | st.lists(documents, max_size=5), st.booleans())
def test_nesting_limit_is_exact(value: Any, as_ndjson: bool) -> None:
    """A body is refused for nesting exactly when a document in it is nested deeper than
    the limit: the shortcut for flat bodies never lets a deep one through."""
    CASES["nesting"] += 1
    docs = value if isinstance(value, list) else [value]
    if as_ndjson:
        body, content_type = b"\n".join(map(orjson.dumps, docs)), "application/x-ndjson"
    else:
        body, content_type = orjson.dumps(value), "application/json"
    too_deep = any(nesting(doc) > SMALL.depth for doc in docs)
    try:
        parse_body(body, content_type, SMALL)
    except BadInput as exc:
        assert too_deep and "nested deeper" in exc.message, exc.message
        return
    assert not too_deep


@FAST
@given(st.binary(max_size=400), st.integers(0, 5000), st.booleans())
def test_inflate_inflates_or_raises_bad_input(data: bytes, limit: int, wrap: bool) -> None:
    CASES["inflate"] += 1
    body = gzip.compress(data) if wrap else data
    if wrap and len(body) > 4:  # also truncated and bit-flipped streams
        body = body[: len(body) - limit % 4] if limit % 3 else \
            body[:10] + bytes([body[10 % len(body)] ^ 1]) + body[11:]
    try:
        out = inflate(body, limit)
    except (BadInput, TooLarge):
        return
    assert len(out) <= limit


def test_schemathesis_cli_all_checks_and_stateful_links(tmp_path: Any) -> None:
    """The schemathesis CLI against a real server: every check, every phase (examples,
    coverage, fuzzing, stateful links). Left out: ``positive_data_acceptance``, which
    expects every schema-valid request to succeed, but a graph's rules (a class's required
    params, wires between existing components, an Adapter on the route) are checked
    beyond what a JSON Schema can say, and refused with a 422 naming the problem."""
    import shutil
    import subprocess
    from pathlib import Path

    from pypes.testing import ServerProcess

    shutil.copy(Path(__file__).parents[2] / "config" / "demo.json", tmp_path / "demo.json")
    cli = Path(sys.executable).parent / "schemathesis"
    with ServerProcess(tmp_path, "--log-level", "warning") as server:
        done = subprocess.run(
            [str(cli), "run", f"{server.url}/api/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--exclude-path", "/events",
             "--max-examples", "25", "--seed", "20261124", "--no-color"],
            capture_output=True, text=True, timeout=300,
        )
    generated = re.search(r"(\d+) generated", done.stdout)
    CASES["schemathesis cli"] += int(generated.group(1)) if generated else 0
    assert done.returncode == 0, done.stdout[-4000:]
