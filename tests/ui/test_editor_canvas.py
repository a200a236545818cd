"""Building a graph on the canvas: every gesture reaches the server."""

from __future__ import annotations

import httpx
from editor import connect, create, node, open_editor, wait_until
from playwright.sync_api import Page, expect
from ui_server import browser_test_marks

pytestmark = browser_test_marks()


def test_dragging_a_palette_class_creates_a_component(page: Page, api: httpx.Client) -> None:
    open_editor(page)
    page.get_by_test_id("palette-JsonReader").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": 400, "y": 250}
    )
    drawn = page.locator(".react-flow__node")
    expect(drawn).to_have_count(1)
    component_id = drawn.get_attribute("data-id")
    assert component_id
    expect(drawn).to_contain_text("JsonReader")

    response = api.get(f"/filters/{component_id}")
    assert response.status_code == 200
    assert response.json()["class"] == "JsonReader"
    assert [c["id"] for c in api.get("/graph").json()["components"]] == [component_id]


def test_a_class_with_required_params_asks_for_them_when_dropped(
    page: Page, api: httpx.Client
) -> None:
    open_editor(page)
    page.get_by_test_id("palette-CaseNormalizer").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": 400, "y": 250}
    )
    dialog = page.get_by_test_id("new-component-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("new-id").fill("lower")
    dialog.get_by_test_id("param-fields").fill("text, title")
    dialog.get_by_test_id("new-component-create").click()

    expect(dialog).to_have_count(0)
    expect(node(page, "lower")).to_contain_text("CaseNormalizer")
    created = api.get("/filters/lower").json()
    assert created["params"]["fields"] == ["text", "title"]


def test_nodes_show_their_ports_as_handles(page: Page, api: httpx.Client) -> None:
    create(api, "CaseNormalizer", "lower", (100, 100), fields=["text"])
    create(api, "Collect", "out", (400, 100))
    open_editor(page)
    lower = node(page, "lower")
    expect(lower.locator('.react-flow__handle.target[data-handleid="in"]')).to_have_count(1)
    expect(lower.locator('.react-flow__handle.source[data-handleid="out"]')).to_have_count(1)
    expect(lower.locator('.react-flow__handle.source[data-handleid="error"]')).to_have_count(1)
    expect(node(page, "out").locator(".react-flow__handle.source")).to_have_count(1)  # error only


def test_connecting_two_ports_creates_a_wire(page: Page, api: httpx.Client) -> None:
    create(api, "JsonReader", "reader", (0, 100))
    create(api, "CaseNormalizer", "lower", (350, 100), fields=["text"])
    open_editor(page)

    connect(page, ("reader", "out"), ("lower", "in"))

    expect(page.locator(".react-flow__edge")).to_have_count(1)
    wires = api.get("/wires").json()
    assert [(w["from"], w["to"]) for w in wires] == [(["reader", "out"], ["lower", "in"])]


def test_a_refused_wire_shows_the_servers_message_and_leaves_no_wire(
    page: Page, api: httpx.Client
) -> None:
    create(api, "CaseNormalizer", "a", (0, 100), fields=["text"])
    create(api, "CaseNormalizer", "b", (350, 100), fields=["text"])
    assert api.post("/wires", json={"from": ["a", "out"], "to": ["b", "in"]}).status_code == 201
    open_editor(page)
    expect(page.locator(".react-flow__edge")).to_have_count(1)

    connect(page, ("b", "out"), ("a", "in"))  # would close a cycle

    banner = page.get_by_test_id("error-banner")
    expect(banner).to_be_visible()
    refusal = api.post("/wires", json={"from": ["b", "out"], "to": ["a", "in"]})
    assert 400 <= refusal.status_code < 500
    expect(banner).to_contain_text(refusal.json()["error"])
    expect(page.locator(".react-flow__edge")).to_have_count(1)
    assert len(api.get("/wires").json()) == 1


def test_delete_key_removes_a_component_and_its_wires(page: Page, api: httpx.Client) -> None:
    create(api, "JsonReader", "reader", (0, 100))
    create(api, "Collect", "out", (350, 100))
    api.post("/wires", json={"from": ["reader", "out"], "to": ["out", "in"]})
    open_editor(page)

    node(page, "out").click()
    expect(page.get_by_test_id("inspector")).to_be_visible()
    page.keyboard.press("Delete")

    expect(node(page, "out")).to_have_count(0)
    expect(page.locator(".react-flow__edge")).to_have_count(0)
    wait_until(page, lambda: api.get("/filters/out").status_code == 404)
    assert api.get("/wires").json() == []


def test_deleting_a_wire_from_the_inspector(page: Page, api: httpx.Client) -> None:
    create(api, "JsonReader", "reader", (0, 0))
    create(api, "Collect", "out", (350, 200))  # not level, so the wire has a clickable middle
    api.post("/wires", json={"from": ["reader", "out"], "to": ["out", "in"]})
    open_editor(page)

    page.locator(".react-flow__edge").click()
    page.get_by_test_id("delete-wire").click()

    expect(page.locator(".react-flow__edge")).to_have_count(0)
    wait_until(page, lambda: api.get("/wires").json() == [])
    assert api.get("/filters/out").status_code == 200


def test_moving_a_node_saves_its_position(page: Page, api: httpx.Client) -> None:
    create(api, "JsonReader", "reader", (0, 0))
    create(api, "Collect", "out", (400, 300))
    open_editor(page)
    header = node(page, "reader").locator(".node-header")
    box = header.bounding_box()
    assert box
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 80, steps=10)
    page.mouse.up()

    def moved() -> bool:
        x, y = api.get("/filters/reader").json()["position"]
        return x > 20 and y > 20

    wait_until(page, moved)


def test_a_change_made_elsewhere_appears_without_reloading(page: Page, api: httpx.Client) -> None:
    open_editor(page)
    create(api, "SetField", "tagger", (100, 100), field="tag", value="x")
    expect(node(page, "tagger")).to_be_visible()
    api.delete("/filters/tagger")
    expect(node(page, "tagger")).to_have_count(0)


def test_reloading_shows_what_the_server_holds(page: Page, api: httpx.Client) -> None:
    open_editor(page)
    page.get_by_test_id("palette-JsonReader").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": 300, "y": 200}
    )
    expect(page.locator(".react-flow__node")).to_have_count(1)
    page.reload()
    expect(page.locator(".react-flow__node")).to_have_count(1)
    ids = [c["id"] for c in api.get("/graph").json()["components"]]
    expect(page.locator(".react-flow__node")).to_have_attribute("data-id", ids[0])
