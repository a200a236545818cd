"""The palette: the server's classes grouped by type, searchable, with their docstrings."""

from __future__ import annotations

import httpx
from editor import open_editor
from playwright.sync_api import Page, expect
from ui_server import browser_test_marks

pytestmark = browser_test_marks()


def test_the_palette_groups_every_class_by_type(page: Page, api: httpx.Client) -> None:
    open_editor(page)
    for cls in api.get("/filters").json():
        group = page.get_by_test_id(f"palette-group-{cls['type']}")
        expect(group.get_by_test_id(f"palette-{cls['class']}")).to_have_count(1)


def test_search_narrows_the_palette_and_hover_shows_the_docstring(
    page: Page, api: httpx.Client
) -> None:
    open_editor(page)
    page.get_by_test_id("palette-search").fill("emailextr")
    expect(page.get_by_test_id("palette-EmailExtractor")).to_be_visible()
    expect(page.get_by_test_id("palette-JsonReader")).to_have_count(0)

    page.get_by_test_id("palette-EmailExtractor").hover()
    doc = api.get("/filters?node=Extractor").json()
    first_line = next(c for c in doc if c["class"] == "EmailExtractor")["doc"].splitlines()[0]
    expect(page.get_by_test_id("palette-doc")).to_contain_text(first_line)
