"""The inbox in real Chromium against `manage.py flux up` (daphne + a worker) on a
temporary SQLite database: a run pauses and its item appears without reloading; the
approver fills the generated form (the server refuses bad input, shown at its field)
and the run completes on the worker with that input; "Edit as JSON" swaps the form for
the JSON box and back, carrying the value; another is rejected with the keyboard and
the workflow handles the RejectedError; a viewer sees nothing to decide and gets 403
from the API."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import ROOT, live_fluxweb, log_in as sign_in, users_setup

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
SETUP = users_setup(PASSWORD, {"alice": "approver", "carol": "viewer"})
SCHEMA = {"type": "object", "required": ["carrier", "note"],
          "properties": {"carrier": {"type": "string", "enum": ["ups", "dhl"]},
                         "express": {"type": "boolean"},
                         "note": {"type": "string", "minLength": 3}}}


class Server:
    def __init__(self, base: str, env: dict, db: Path) -> None:
        self.base, self.env, self.db = base, env, db

    def start(self, pause: dict) -> str:
        code = ("from executions.core import commands\n"
                f"ex = commands.start('inbox_order', {{'items': ['a', 'b'], "
                f"'pause': {pause!r}}}, actor=commands.Actor.system('olive'))\n"
                "print('@@' + ex.id)\n")
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
                              env=self.env, cwd=ROOT, capture_output=True, text=True, check=True)
        return [x for x in done.stdout.splitlines() if x.startswith("@@")][-1][2:]

    def execution(self, execution_id: str, timeout: float = 20) -> dict:
        """Wait until the execution finished; its status and output."""
        deadline = time.monotonic() + timeout
        with sqlite3.connect(self.db, timeout=30) as conn:
            while True:
                status, output = conn.execute(
                    "SELECT status, output FROM executions_execution WHERE id = ?",
                    (execution_id,)).fetchone()
                if status in ("completed", "failed", "cancelled"):
                    return {"status": status, "output": json.loads(output or "null")}
                assert time.monotonic() < deadline, f"still {status}"
                time.sleep(0.05)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with live_fluxweb(tmp_path_factory.mktemp("inbox-browser"),
                      modules="tests.inbox.workflows", setup=SETUP) as site:
        yield Server(site.base, site.env, site.db)


def log_in(browser, base: str, username: str):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(15_000)
    sign_in(page, base, username, PASSWORD)
    return page


def new_item(page, before: set[str]) -> str:
    """Wait for an approval card that was not on the page; its id."""
    page.wait_for_function("ids => [...document.querySelectorAll('.approval')]"
                           ".some(a => !ids.includes(a.dataset.approvalId))", arg=sorted(before))
    now = page.eval_on_selector_all(".approval", "els => els.map(e => e.dataset.approvalId)")
    return next(i for i in now if i not in before)


def test_approve_and_reject_from_the_inbox(server, browser):
    page = log_in(browser, server.base, "alice")
    page.goto(f"{server.base}/inbox/")
    page.wait_for_selector("#inbox[data-live-status=live], #inbox[data-live-status=polling]")
    assert page.get_by_test_id("inbox-empty").is_visible()

    # A run pauses: its item appears without a reload, with what the run produced.
    execution_id = server.start({"title": "Ship the order?", "description": "Total **20**",
                                 "schema": SCHEMA})
    item = new_item(page, set())
    card = page.get_by_test_id(f"approval-{item}")
    assert "Ship the order?" in card.inner_text()
    assert card.locator(".approval-description strong").inner_text() == "20"
    assert '"total": 20' in page.get_by_test_id(f"output-{item}").inner_text()
    assert page.get_by_test_id("inbox-count").inner_text() == "1"

    # The generated form: the browser refuses a note that is too short.
    page.get_by_test_id(f"field-{item}-carrier").select_option(label="dhl")
    page.get_by_test_id(f"field-{item}-express").check()
    page.get_by_test_id(f"field-{item}-note").fill("ok")
    page.get_by_test_id(f"approve-{item}").click()
    error = page.get_by_test_id(f"error-{item}")
    page.wait_for_function("el => el.textContent.includes('note')", arg=error.element_handle())
    assert page.get_by_test_id(f"field-{item}-note").get_attribute("aria-invalid") == "true"
    page.get_by_test_id(f"field-{item}-note").fill("fragile")
    page.get_by_test_id(f"comment-{item}").fill("ship it")
    page.get_by_test_id(f"approve-{item}").click()
    card.wait_for(state="detached")
    done = server.execution(execution_id)
    assert done == {"status": "completed", "output": {
        "shipped": {"carrier": "dhl", "express": True, "note": "fragile"}, "total": 20}}

    # Another one, rejected with the keyboard: the workflow handles RejectedError.
    execution_id = server.start({"title": "Refund?"})
    item = new_item(page, set())
    page.get_by_test_id(f"approval-{item}").locator("p.muted").first.click()
    page.keyboard.press("r")
    page.get_by_test_id(f"approval-{item}").wait_for(state="detached")
    assert server.execution(execution_id)["output"] == {"rejected": True, "comment": None,
                                                        "by": "alice"}
    assert page.get_by_test_id("inbox-empty").is_visible()
    page.close()


def test_an_item_shows_the_form_or_the_json_box_and_carries_the_value(server, browser):
    page = log_in(browser, server.base, "alice")
    page.goto(f"{server.base}/inbox/")
    page.wait_for_selector("#inbox[data-live-status=live], #inbox[data-live-status=polling]")
    before = set(page.eval_on_selector_all(".approval",
                                           "els => els.map(e => e.dataset.approvalId)"))
    execution_id = server.start({"title": "Ship by JSON?", "schema": SCHEMA})
    item = new_item(page, before)
    fields = page.get_by_test_id(f"schema-fields-{item}")
    raw = page.get_by_test_id(f"raw-input-{item}")
    toggle = page.get_by_test_id(f"json-toggle-{item}")
    assert fields.is_visible() and raw.is_hidden() and toggle.is_visible()  # the live card
    page.reload()  # the server-rendered card gets the same form
    assert fields.is_visible() and raw.is_hidden()
    page.get_by_test_id(f"field-{item}-carrier").select_option(label="dhl")
    page.get_by_test_id(f"field-{item}-note").fill("by form")
    toggle.click()
    assert fields.is_hidden() and raw.is_visible()
    assert json.loads(raw.input_value()) == {"carrier": "dhl", "express": False, "note": "by form"}
    raw.fill('{"carrier": "ups", "express": true, "note": "typed"}')
    toggle.click()
    assert fields.is_visible() and raw.is_hidden()
    assert page.get_by_test_id(f"field-{item}-note").input_value() == "typed"
    assert page.get_by_test_id(f"field-{item}-express").is_checked()
    toggle.click()
    raw.fill('{"carrier": "ups", "note": "no"}')  # the server's schema check answers
    page.get_by_test_id(f"approve-{item}").click()
    error = page.get_by_test_id(f"error-{item}")
    page.wait_for_function("el => el.textContent.includes('note')", arg=error.element_handle())
    assert raw.get_attribute("aria-invalid") == "true"
    raw.fill('{"carrier": "ups", "note": "sent as JSON"}')
    page.get_by_test_id(f"approve-{item}").click()
    page.get_by_test_id(f"approval-{item}").wait_for(state="detached")
    assert server.execution(execution_id)["output"]["shipped"] == {"carrier": "ups",
                                                                   "note": "sent as JSON"}
    page.close()


def test_a_viewer_sees_nothing_to_decide_and_gets_403(server, browser):
    server.start({"title": "Not for Carol"})
    page = log_in(browser, server.base, "carol")
    page.goto(f"{server.base}/inbox/")
    assert page.get_by_test_id("inbox-no-permission").is_visible()
    assert page.locator(".approval").count() == 0 and page.locator(".decide-form").count() == 0
    assert page.get_by_test_id("inbox-count").is_hidden()
    answer = page.request.get(f"{server.base}/api/approvals/?status=pending")
    assert answer.status == 403 and answer.json()["code"] == "permission_denied"
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    answer = page.request.post(f"{server.base}/api/approvals/1/approve", data={"input": None},
                               headers={"X-CSRFToken": csrf})
    assert answer.status == 403
    page.close()


#: A pause whose schema generates every kind of field the inbox makes.
EVERY_FIELD = {"type": "object", "required": ["carrier", "amount"], "properties": {
    "carrier": {"type": "string", "enum": ["ups", "dhl"]},
    "amount": {"type": "number", "title": "Amount"},
    "boxes": {"type": "integer"},
    "note": {"type": "string"},
    "contact": {"type": "string", "format": "email"},
    "ship_on": {"type": "string", "format": "date"},
    "tags": {"type": "array", "items": {"type": "string"}},
    "express": {"type": "boolean"}}}
#: The look every text-like control shares (the CSS's one rule for form controls).
LOOK = ["backgroundColor", "color", "borderTopColor", "borderTopWidth", "borderRadius",
        "fontSize", "fontFamily", "colorScheme"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_generated_fields_look_like_the_textarea_and_times_read_as_everywhere(server, browser,
                                                                             scheme):
    """The form generated from a pause's schema: number, email, date, select and text
    fields share the textarea's look in both themes, at desktop and phone widths, and the
    card's times are <time datetime=ISO> in the clock format. Screenshots:
    tests/output/inbox-fields-<scheme>-<width>.png."""
    server.start({"title": "Every field", "schema": EVERY_FIELD, "deadline": 3600})
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      color_scheme=scheme)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, server.base, "alice", PASSWORD)
        page.goto(f"{server.base}/inbox/")
        card = page.locator(".approval", has_text="Every field").first
        item = card.get_attribute("data-approval-id")
        card.get_by_test_id(f"field-{item}-amount").wait_for()
        looks = card.evaluate("""(card, props) => {
            const look = (el) => { const s = getComputedStyle(el);
                                   return Object.fromEntries(props.map((p) => [p, s[p]])); };
            const out = {};
            for (const el of card.querySelectorAll('.schema-fields input:not([type=checkbox]),'
                                                   + ' .schema-fields select, textarea')) {
                out[el.dataset.field ?? el.name] = look(el);
            }
            return out;
        }""", LOOK)
        comment, raw = looks.pop("comment"), looks.pop("input")  # input: the JSON box
        assert set(looks) == {"carrier", "amount", "boxes", "note", "contact", "ship_on",
                              "tags"}, looks
        assert {**raw, "fontFamily": "", "fontSize": ""} == {  # the JSON box is monospace
            **comment, "fontFamily": "", "fontSize": ""}
        for name, look in looks.items():
            assert look == comment, (scheme, width, name, look, comment)
        assert comment["colorScheme"] == scheme
        times = card.locator("time").evaluate_all(
            "els => els.map((t) => [t.getAttribute('datetime'), t.textContent])")
        assert len(times) == 2, times
        for iso, text in times:
            assert iso.endswith("+00:00") and text == iso[:19].replace("T", " "), times
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        card.scroll_into_view_if_needed()
        OUTPUT = ROOT / "tests" / "output"
        OUTPUT.mkdir(parents=True, exist_ok=True)
        card.screenshot(path=str(OUTPUT / f"inbox-fields-{scheme}-{width}.png"))
        context.close()
