"""The dashboard in real headless Chromium against `flux up` (daphne + a worker
process): runs started from the form stream their events live, two pages see the
same log, a dropped websocket catches up with no gap and no duplicate, bulk cancel
works from the list, anonymous visitors go to the login page. Every wait is on
page state (data-status, data-seq), never a sleep."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.browser.conftest import OUTPUT, ROOT, screenshot

pytestmark = pytest.mark.browser
EVENTS = 'tbody[data-testid="events"] tr[data-seq]'
BADGE = '#summary .badge[data-status]'


def start_from_form(page, workflow: str, value: object) -> str:
    """Fill the Run form, submit, land on the new execution's page; its id."""
    page.goto(f"/workflows/{workflow}/")
    page.fill('[data-testid="run-input"]', json.dumps(value))
    page.click('[data-testid="run-submit"]')
    try:
        page.wait_for_url(re.compile(r"/executions/[0-9a-f]{32}/$"))
    except Exception:
        pytest.fail(f"the run form did not start {workflow}: {page.url}\n"
                    + page.inner_text("main"))
    return page.url.rstrip("/").rsplit("/", 1)[1]


def shown_seqs(page) -> list[int]:
    return page.eval_on_selector_all(EVENTS, "rows => rows.map(r => Number(r.dataset.seq))")


def server_seqs(page, execution_id: str) -> list[int]:
    response = page.request.get(f"/executions/{execution_id}/events.json")
    return [e["seq"] for e in response.json()]


def wait_status(page, status: str) -> None:
    page.wait_for_selector(f'{BADGE.replace("[data-status]", "")}[data-status="{status}"]')


def test_an_anonymous_visitor_is_sent_to_the_login_page(context):
    page = context.new_page()
    page.goto("/executions/")
    assert "/accounts/login/?next=/executions/" in page.url
    screenshot(page, "login")


def test_a_run_started_from_the_form_streams_live_to_two_pages(page, context):
    execution_id = start_from_form(page, "browser_steps", {"steps": 8, "delay": 0.12})
    page.evaluate("window.__notReloaded = true")
    page.wait_for_selector('[data-live-indicator][data-live-status="live"]')
    second = context.new_page()
    second.goto(f"/executions/{execution_id}/")
    wait_status(page, "completed")
    wait_status(second, "completed")
    total = server_seqs(page, execution_id)
    assert total == list(range(1, len(total) + 1)) and len(total) >= 18
    for p in (page, second):
        p.wait_for_selector(f'{EVENTS}[data-seq="{len(total)}"]')
        assert shown_seqs(p) == total
    assert page.evaluate("window.__notReloaded") is True  # it all arrived without a reload
    page.wait_for_selector('[data-testid="output"]')
    assert page.get_attribute('[data-testid="progress"]', "aria-valuenow") == "100"
    assert page.locator(".gantt-row").count() == 8
    screenshot(page, "execution", full_page=True)
    second.close()


SNAPSHOT = """() => ({
  menu: [...document.querySelectorAll('select[name="task"] option')]
    .map(o => [o.value, o.textContent]),
  rows: [...document.querySelectorAll('tbody[data-testid="events"] tr')].map(r => [
    r.dataset.seq, r.dataset.type, r.dataset.source,
    r.className.replace(' live-event--new', ''),
    r.querySelector('time')?.getAttribute('datetime'),
    ...[...r.cells].map(c => c.textContent)]),
  gantt: [...document.querySelectorAll('[data-gantt] .gantt-row')].map(g => [
    g.dataset.task, g.dataset.state, g.querySelector('.gantt-name').innerHTML,
    g.querySelector('.gantt-time').textContent]),
  progress: [document.querySelector('[data-progress-text]').textContent,
    document.querySelector('[data-testid="progress"]').getAttribute('aria-valuenow')],
})"""


def test_the_live_page_converges_to_what_a_fresh_load_shows(page):
    """Tasks that start after the page loaded join the Task menu (and the log, the
    timeline, the progress) exactly as a reload shows them."""
    execution_id = start_from_form(page, "browser_steps", {"steps": 6, "delay": 0.2})
    at_load = page.evaluate(SNAPSHOT)
    page.wait_for_selector('[data-live-indicator][data-live-status="live"]')
    wait_status(page, "completed")
    total = server_seqs(page, execution_id)
    page.wait_for_selector(f'{EVENTS}[data-seq="{len(total)}"]')
    page.wait_for_function("() => document.querySelectorAll('.gantt-row').length === 6"
                           " && !document.querySelector('.gantt-row[data-state=running]')")
    page.wait_for_selector('[data-testid="progress"][aria-valuenow="100"]')
    live = page.evaluate(SNAPSHOT)
    assert len(at_load["menu"]) < 7 == len(live["menu"])  # "all" and six tasks
    page.reload()
    fresh = page.evaluate(SNAPSHOT)
    assert live == fresh
    # Choosing a task that started after load filters the log to it.
    task = live["menu"][-1][0]
    page.reload()
    page.select_option('select[name="task"]', task)
    page.wait_for_url(re.compile(rf"task={task}"))
    assert {r[2] for r in page.evaluate(SNAPSHOT)["rows"]} == {task}


def test_a_dropped_websocket_catches_up_without_gap_or_duplicate(page):
    execution_id = start_from_form(page, "browser_steps", {"steps": 14, "delay": 0.15})
    page.wait_for_selector('[data-live-indicator][data-live-status="live"]')
    page.wait_for_selector(f'{EVENTS}[data-seq="3"]')
    # Drop the socket and hold every reconnect until released.
    page.evaluate("""() => {
      window.__realWebSocket = window.WebSocket;
      window.__held = [];
      window.WebSocket = function () {
        const s = { send() {}, close() {}, onopen: null, onclose: null, onerror: null,
                    onmessage: null };
        window.__held.push(s);
        return s;
      };
      window.fluxweb.stream.socket.close();
    }""")
    page.wait_for_selector('[data-live-indicator][data-live-status="reconnecting"]')
    before = shown_seqs(page)
    # Wait for the server to get ahead of the page (page state: the JSON download).
    page.wait_for_function("""async ([url, n]) => {
      const events = await (await fetch(url)).json();
      return events.length >= n + 4;
    }""", arg=[f"/executions/{execution_id}/events.json", len(before)], polling=100)
    assert shown_seqs(page) == before  # nothing arrived while the socket was down
    page.evaluate("""() => {
      window.WebSocket = window.__realWebSocket;
      for (const s of window.__held) s.onclose && s.onclose({});
    }""")
    page.wait_for_selector('[data-live-indicator][data-live-status="live"]')
    wait_status(page, "completed")
    total = server_seqs(page, execution_id)
    page.wait_for_selector(f'{EVENTS}[data-seq="{len(total)}"]')
    assert shown_seqs(page) == total == list(range(1, len(total) + 1))


def test_bulk_cancel_from_the_list(page):
    ids = [start_from_form(page, "browser_wait", None) for _ in range(3)]
    for execution_id in ids:
        page.goto(f"/executions/{execution_id}/")
        wait_status(page, "paused")
    page.goto("/executions/?workflow=browser_wait&status=paused")
    page.wait_for_selector('[data-live-indicator][data-live-status="live"]')
    for execution_id in ids:
        page.check(f'input[name="ids"][value="{execution_id}"]')
    screenshot(page, "executions")
    page.click('[data-testid="bulk-cancel"]')
    page.wait_for_selector(".msg-success")
    assert "Cancelled 3 runs." in page.inner_text(".messages")
    page.goto("/executions/?workflow=browser_wait")
    for execution_id in ids:
        page.wait_for_selector(f'.badge[data-execution-id="{execution_id}"]'
                               '[data-status="cancelled"]')


def test_screenshots_of_each_page(page, context, browser, fluxweb_server):
    start_from_form(page, "demo_failure", {})
    wait_status(page, "failed")
    screenshot(page, "execution-failed", full_page=True)
    for path, name in (("/", "overview"), ("/workflows/", "workflows"),
                       ("/workflows/browser_steps/", "workflow"),
                       ("/executions/", "executions-all")):
        page.goto(path)
        page.wait_for_selector('[data-live-indicator][data-live-status="live"]'
                               if path != "/workflows/" else "main")
        screenshot(page, name, full_page=True)
    page.goto("/executions/?status=bogus")
    assert "Unknown status" in page.inner_text('[data-testid="filter-error"]')
    page.goto("/executions/no-such-id/")
    assert "Not found" in page.inner_text("main")
    screenshot(page, "not-found")
    dark = browser.new_context(base_url=fluxweb_server, color_scheme="dark",
                               viewport={"width": 1280, "height": 900},
                               storage_state=context.storage_state())
    phone = browser.new_context(base_url=fluxweb_server, viewport={"width": 390, "height": 844},
                                device_scale_factor=2, is_mobile=True, has_touch=True,
                                storage_state=context.storage_state())
    for ctx, name in ((dark, "overview-dark"), (phone, "overview-phone")):
        p = ctx.new_page()
        p.goto("/")
        p.wait_for_selector('[data-live-indicator][data-live-status="live"]')
        screenshot(p, name, full_page=True)
        ctx.close()
    if (OUTPUT / "execution.png").exists():
        docs = ROOT / "docs" / "screenshots"
        docs.mkdir(exist_ok=True)
        for name in ("overview", "executions", "execution", "overview-dark", "overview-phone"):
            if (OUTPUT / f"{name}.png").exists() and not (docs / f"{name}.png").exists():
                shutil.copy(OUTPUT / f"{name}.png", docs / f"{name}.png")
