"""The ``pypes`` command as a user types it."""

import subprocess
import sys

import orjson
import pytest

GRAPH = {
    "pypes": 1, "name": "cli",
    "components": [
        {"id": "reader", "class": "JsonReader"},
        {"id": "lower", "class": "CaseNormalizer", "params": {"fields": ["text"]}},
        {"id": "date", "class": "DateNormalizer", "params": {"field": "day"}},
        {"id": "out", "class": "Collect"}],
    "wires": [
        {"from": ["reader", "out"], "to": ["lower", "in"]},
        {"from": ["lower", "out"], "to": ["date", "in"]},
        {"from": ["date", "out"], "to": ["out", "in"]}]}


def pypes(*args, stdin: bytes = b"", cwd=None):
    return subprocess.run([sys.executable, "-m", "pypes", *args], input=stdin,
                          capture_output=True, cwd=cwd, timeout=120)


@pytest.fixture
def graph_file(tmp_path):
    path = tmp_path / "graph.json"
    path.write_bytes(orjson.dumps(GRAPH))
    return path


def test_run_reads_ndjson_from_stdin_and_prints_results(graph_file):
    done = pypes("run", str(graph_file),
                 stdin=b'{"text": "HeLLo", "day": "14/09/2010"}\n{"text": "B", "day": "someday"}\n')
    assert done.returncode == 1  # the second document's date is not a date: it says so
    lines = [orjson.loads(line) for line in done.stdout.splitlines()]
    assert lines == [{"text": "hello", "day": "2010-09-14"}]
    assert b"component 'date' failed on a document" in done.stderr
    assert b"1 document(s) failed" in done.stderr
    assert b"Traceback" not in done.stderr


def test_run_reports_bad_lines_by_number_and_keeps_the_good_ones(graph_file, tmp_path):
    data = tmp_path / "in.ndjson"
    data.write_bytes(b'{"text": "A", "day": "2010-01-02"}\n{broken\n[1]\n'
                     + b'{"text": "C", "day": "2011-02-03"}\n' * 2500)
    done = pypes("run", str(graph_file), "--input", str(data))
    assert done.returncode == 1
    assert len(done.stdout.splitlines()) == 2501
    assert b"line 2: not valid JSON" in done.stderr and b"line 3: not a JSON object" in done.stderr


def test_validate_names_each_problem(graph_file, tmp_path):
    assert pypes("validate", str(graph_file)).returncode == 0
    bad = dict(GRAPH, components=[*GRAPH["components"][:3],
                                  {"id": "out", "class": "Nope", "extra": 1}])
    bad_file = tmp_path / "bad.json"
    bad_file.write_bytes(orjson.dumps(bad))
    done = pypes("validate", str(bad_file))
    assert done.returncode == 1
    assert b"component 'out' field 'extra': unknown key" in done.stderr
    missing = pypes("validate", str(tmp_path / "nothing.json"))
    assert missing.returncode == 1 and b"cannot read graph file" in missing.stderr
    assert b"Traceback" not in done.stderr + missing.stderr


def test_validate_names_a_cycle(tmp_path):
    cyclic = dict(GRAPH, wires=[*GRAPH["wires"], {"from": ["date", "out"], "to": ["lower", "in"]}])
    path = tmp_path / "cycle.json"
    path.write_bytes(orjson.dumps(cyclic))
    done = pypes("validate", str(path))
    assert done.returncode == 1
    assert b"cycle through components lower -> date -> lower" in done.stderr


def test_components_lists_the_palette():
    done = pypes("components")
    assert done.returncode == 0
    assert b"Adapter      JsonReader" in done.stdout
    assert b"Transformer  CaseNormalizer" in done.stdout
    adapters = orjson.loads(pypes("components", "--type", "Adapter", "--json").stdout)
    assert {a["type"] for a in adapters} == {"Adapter"}


def test_a_writer_in_pypes_run_writes_under_the_current_directory(tmp_path):
    graph = {"pypes": 1, "name": "w", "components": [
        {"id": "reader", "class": "JsonReader"},
        {"id": "file", "class": "JsonLinesWriter", "params": {"path": "out/docs.jsonl"}}],
        "wires": [{"from": ["reader", "out"], "to": ["file", "in"]}]}
    (tmp_path / "g.json").write_bytes(orjson.dumps(graph))
    done = pypes("run", "g.json", stdin=b'{"a": 1}\n{"a": 2}\n', cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "docs.jsonl").read_text().splitlines() == ['{"a":1}', '{"a":2}']
