"""Export and import: a graph file goes in through PUT /graph and comes back out the same."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import httpx
from editor import open_editor
from playwright.sync_api import Page, expect
from ui_server import DEMO_GRAPH, browser_test_marks

pytestmark = browser_test_marks()


def test_import_then_export_round_trips(page: Page, api: httpx.Client, tmp_path: Path) -> None:
    source = tmp_path / "demo.json"
    source.write_text(json.dumps(DEMO_GRAPH))
    open_editor(page)

    page.get_by_test_id("import-file").set_input_files(str(source))

    expect(page.locator(".react-flow__node")).to_have_count(len(DEMO_GRAPH["components"]))
    expect(page.locator(".react-flow__edge")).to_have_count(len(DEMO_GRAPH["wires"]))
    for component in DEMO_GRAPH["components"]:
        expect(page.locator(f'.react-flow__node[data-id="{component["id"]}"]')).to_contain_text(
            component["class"]
        )

    with page.expect_download() as download_info:
        page.get_by_test_id("export-button").click()
    exported = json.loads(Path(download_info.value.path()).read_text())

    assert exported == api.get("/graph").json()
    assert exported["name"] == DEMO_GRAPH["name"]
    assert _shape(exported) == _shape(DEMO_GRAPH)


def test_importing_a_bad_file_shows_why_and_keeps_the_graph(
    page: Page, api: httpx.Client, tmp_path: Path
) -> None:
    bad = copy.deepcopy(DEMO_GRAPH)
    bad["components"][1]["class"] = "NoSuchComponent"
    source = tmp_path / "bad.json"
    source.write_text(json.dumps(bad))
    open_editor(page)

    page.get_by_test_id("import-file").set_input_files(str(source))

    expect(page.get_by_test_id("error-banner")).to_contain_text("NoSuchComponent")
    assert api.get("/graph").json()["components"] == []


def _shape(graph: dict) -> tuple:  # type: ignore[type-arg]
    """What an import must keep: ids, classes, the params given, positions and wiring."""
    components = sorted(
        (c["id"], c["class"], json.dumps(c["params"], sort_keys=True), tuple(c["position"]))
        for c in graph["components"]
    )
    wires = sorted((tuple(w["from"]), tuple(w["to"])) for w in graph["wires"])
    return components, wires
