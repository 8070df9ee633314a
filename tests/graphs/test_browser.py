"""The editor in real Chromium against a live server and worker (`manage.py flux up`):
draw a three-node graph with a conditional edge by dragging and connecting, see the
cycle error, fix it, undo and redo, save, run, watch the nodes complete live, open a
node's output; a viewer sees the graph read-only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.live_server import live_fluxweb, log_in as sign_in, users_setup

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
SETUP = users_setup(PASSWORD, {"erin": "editor", "vic": "viewer"})


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """`flux up` (daphne + one worker) on a fresh SQLite database; its base URL."""
    with live_fluxweb(tmp_path_factory.mktemp("graphs-browser"), modules="tests.graphs.tasks",
                      setup=SETUP) as site:
        yield site.base


def log_in(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(10_000)
    sign_in(page, base, username, PASSWORD)
    return page


def connect(page, source: str, target: str) -> None:
    """Drag from the source node's bottom handle to the target node's top handle.

    On a loaded machine the browser can miss a fast drag's end (no edge appears), as a
    person's quick drag sometimes does: then drag again, more slowly."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    start = page.get_by_test_id(f"node-{source}").locator(".react-flow__handle-bottom")
    end = page.get_by_test_id(f"node-{target}").locator(".react-flow__handle-top")
    edge = page.get_by_test_id(f"edge-{source}-{target}")
    for attempt in range(3):
        a, b = start.bounding_box(), end.bounding_box()
        page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
        page.mouse.down()
        page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2,
                        steps=12 * (attempt + 1))
        page.mouse.up()
        try:
            edge.wait_for(state="attached", timeout=4_000)
            return
        except PlaywrightTimeout:
            continue
    edge.wait_for(state="attached")


def click_edge(page, source: str, target: str) -> None:
    """Click the middle of an edge's path (an SVG edge has no box of its own to click)."""
    point = page.get_by_test_id(f"edge-{source}-{target}").locator("path").first.evaluate(
        """path => {
            const p = path.getPointAtLength(path.getTotalLength() / 2);
            const m = path.getScreenCTM();
            return {x: p.x * m.a + p.y * m.c + m.e, y: p.x * m.b + p.y * m.d + m.f};
        }""")
    page.mouse.click(point["x"], point["y"])


def test_draw_validate_save_run_and_watch(server, browser):
    from playwright.sync_api import expect

    page = log_in(browser, server, "erin")
    page.goto(f"{server}/graphs/new/")
    editor = page.get_by_test_id("graph-editor")
    expect(editor).to_have_attribute("data-mode", "edit")
    canvas = page.get_by_test_id("canvas")
    box = canvas.bounding_box()
    for task, (x, y) in {"gt_double": (0.5, 0.15), "gt_label": (0.25, 0.55),
                         "gt_negate": (0.75, 0.55)}.items():
        page.get_by_test_id(f"palette-item-{task}").drag_to(
            canvas, target_position={"x": box["width"] * x, "y": box["height"] * y})
        page.get_by_test_id(f"node-{task}").wait_for()
    expect(page.get_by_test_id("start-marker-gt_double")).to_be_visible()

    page.get_by_test_id("canvas").click(position={"x": 30, "y": 30})  # the graph inspector
    page.get_by_test_id("graph-name-input").fill("browser_graph")
    page.get_by_test_id("graph-name-input").press("Enter")

    connect(page, "gt_double", "gt_label")
    connect(page, "gt_double", "gt_negate")
    page.get_by_test_id("layout-button").click()  # top to bottom, edges clear of nodes
    click_edge(page, "gt_double", "gt_label")
    page.get_by_test_id("condition-input").fill("result > 10")
    page.get_by_test_id("condition-input").press("Enter")
    expect(page.get_by_test_id("edge-label-gt_double-gt_label")).to_contain_text("result > 10")
    for node in ("gt_label", "gt_negate"):
        page.get_by_test_id(f"node-{node}").click()
        page.get_by_test_id("node-end-toggle").check()

    # A cycle: label -> negate -> label.
    connect(page, "gt_label", "gt_negate")
    connect(page, "gt_negate", "gt_label")
    expect(page.get_by_test_id("problem").filter(has_text="cycle").first).to_be_visible()
    expect(page.get_by_test_id("node-error-gt_label")).to_be_visible()
    # Fix it: delete the closing edge; undo brings it back, redo removes it again.
    click_edge(page, "gt_negate", "gt_label")
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("edge-gt_negate-gt_label")).to_have_count(0)
    page.get_by_test_id("undo-button").click()
    expect(page.get_by_test_id("edge-gt_negate-gt_label")).to_have_count(1)
    page.get_by_test_id("redo-button").click()
    expect(page.get_by_test_id("edge-gt_negate-gt_label")).to_have_count(0)
    click_edge(page, "gt_label", "gt_negate")
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("problem")).to_have_count(0)
    status = page.get_by_test_id("validation-status")
    expect(status).to_have_attribute("data-valid", "true")

    page.get_by_test_id("save-button").click()
    expect(page.get_by_test_id("graph-version")).to_contain_text("version 1")
    page.wait_for_url("**/graphs/*/edit/")
    graph_url = page.url

    page.get_by_test_id("run-button").click()
    page.get_by_test_id("run-input").fill("7")
    page.get_by_test_id("run-submit").click()
    expect(editor).to_have_attribute("data-mode", "live")
    for node in ("gt_double", "gt_label", "gt_negate"):
        expect(page.get_by_test_id(f"node-{node}")).to_have_attribute(
            "data-state", "completed", timeout=20_000)
    page.get_by_test_id("node-gt_label").click()
    expect(page.get_by_test_id("node-panel-output")).to_contain_text("n=14")

    viewer = log_in(browser, server, "vic")
    viewer.goto(graph_url)
    expect(viewer.get_by_test_id("graph-editor")).to_have_attribute("data-mode", "read-only")
    expect(viewer.get_by_test_id("node-gt_label")).to_be_visible()
    expect(viewer.get_by_test_id("palette")).to_have_count(0)
    expect(viewer.get_by_test_id("save-button")).to_have_count(0)
    expect(viewer.get_by_test_id("run-button")).to_have_count(0)
